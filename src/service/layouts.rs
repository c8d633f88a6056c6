//! Session replay's layouts, as trailmap answers for them: storing what the
//! recorder uploads (checked, within the site's quota), finding the layout
//! to show behind a page's heatmap, describing one with its signed frame
//! link, and a layout's HTML sanitized for the player.
//!
//! The HTTP door decodes the upload and applies what only it knows (the
//! origin, the client's rates, the body's size and deadline); everything
//! that touches the stored layouts is here, with the service's one error
//! type, so an upload's 4xx and 5xx are answered like every other request's.

use std::sync::{Mutex, PoisonError};

use serde::Serialize;

use super::{find_site, Result, Service, ServiceError};
use crate::event::{Millis, ViewportClass};
use crate::mine::clean::Cleaner;
use crate::replay::content::{self, Content};
use crate::replay::{self, sanitize, sign};
use crate::store::changes::{self, ChangeStatus, Evidence};
use crate::store::layouts::{self, Layout, Sighting};
use crate::store::{read, sites};

/// One upload from the recorder, decoded by the door.
#[derive(Debug)]
pub(crate) struct Upload {
    /// The SHA-256 of the layout's HTML, in lowercase hex (checked).
    pub hash: String,
    /// The page it was captured on, stored like page URLs.
    pub url: String,
    pub sighting: Sighting,
    /// The gzipped HTML; empty for "do you have it?".
    pub body: bytes::Bytes,
}

/// What an upload did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Uploaded {
    /// An empty body, and the layout is known (its sighting noted).
    Known,
    /// An empty body, and the layout is not stored: the recorder is to
    /// send it. A success, not a "not found": a shop's developers read
    /// every 4xx in their console as a bug of their site.
    Wanted,
    /// The layout was stored already.
    AlreadyStored,
    /// The layout is stored now.
    Created,
}

/// A stored layout, with the signed link that shows it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct LayoutView {
    #[serde(flatten)]
    pub layout: Layout,
    pub frame_url: String,
    /// Where and at what size it was last seen (a page's latest layout).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seen: Option<Sighting>,
}

/// The connection uploads write through: one, opened on first use and
/// kept, so that an upload does not open a database connection.
#[derive(Default)]
pub(crate) struct LayoutWriter(Mutex<Option<rusqlite::Connection>>);

/// Sightings of a page after a change of its layout that decide whether
/// the change lasts (fewer when they tell sooner).
pub(crate) const VERDICT_SIGHTINGS: u64 = 20;

/// Whether a change lasts by these counts: the new layout (or ones nearer
/// it) seen at least three times as often as the old one (or ones nearer
/// that), and at least as often as layouts near neither.
fn lasts(new: u64, old: u64, other: u64) -> bool {
    new >= 3 * old && new >= other
}

/// The verdict on a change from the page's sightings since: [`lasts`] over
/// [`VERDICT_SIGHTINGS`] of them, told as soon as the sightings left
/// cannot change it (the new one kept: lasting; the old one back or
/// others as often: the page varies, as each visitor's cart does, or an
/// experiment runs), pending until then.
fn verdict(e: &Evidence) -> ChangeStatus {
    let left = VERDICT_SIGHTINGS.saturating_sub(e.total());
    // Each count only lowers `lasts` as it grows: the sightings left all
    // old or all other are the worst cases, all new the best.
    if lasts(e.new, e.old + left, e.other) && lasts(e.new, e.old, e.other + left) {
        ChangeStatus::Lasting
    } else if !lasts(e.new + left, e.old, e.other) {
        ChangeStatus::Varies
    } else {
        ChangeStatus::Pending
    }
}

/// Counts a sighting of layout `hash` for the page's changes waiting for
/// a verdict: of the new layout or one at most half as far from it as
/// from the old one, of the old layout or one at most half as far from
/// that, or of neither (not readable, or in between: each visitor's own
/// cart is a little nearer one side or the other as its product is more
/// like theirs, which tells nothing).
fn weigh_sighting(
    conn: &rusqlite::Connection,
    site_id: i64,
    hash: &str,
    sighting: &Sighting,
) -> Result<()> {
    for c in changes::pending(conn, site_id, &sighting.path, &sighting.viewport)? {
        let mut e = c.evidence;
        if hash == c.after_hash {
            e.new += 1;
        } else if hash == c.before_hash {
            e.old += 1;
        } else {
            let read = |h: &str| stored_content(conn, site_id, h);
            match (read(hash)?, read(&c.before_hash)?, read(&c.after_hash)?) {
                (Some(seen), Some(old), Some(new)) => {
                    let to_old = content::compare(&old, &seen).share;
                    let to_new = content::compare(&new, &seen).share;
                    if to_new * 2.0 <= to_old {
                        e.new += 1;
                    } else if to_old * 2.0 <= to_new {
                        e.old += 1;
                    } else {
                        e.other += 1;
                    }
                }
                _ => e.other += 1,
            }
        }
        changes::weigh(conn, c.id, &e, verdict(&e))?;
    }
    Ok(())
}

/// Records a change of the page's layout when the new layout `hash` (its
/// text and structure `new`) replaces another that reads or is built
/// differently (`changes`). Every difference is kept with its share; the
/// report holds them to a threshold. While a change of the page waits for
/// its verdict, a new layout is evidence for it, not another change (else
/// a page that shows each visitor their own content would record one per
/// visitor).
fn note_change(
    conn: &rusqlite::Connection,
    site_id: i64,
    hash: &str,
    new: &Content,
    sighting: &Sighting,
    now: Millis,
) -> Result<()> {
    if !changes::pending(conn, site_id, &sighting.path, &sighting.viewport)?.is_empty() {
        return Ok(());
    }
    let Some(before) = changes::latest_hash(conn, site_id, &sighting.path, &sighting.viewport)?
    else {
        return Ok(());
    };
    if before == hash {
        return Ok(());
    }
    let Some(old) = stored_content(conn, site_id, &before)? else {
        return Ok(());
    };
    let diff = content::compare(&old, new);
    if diff.share == 0.0 {
        return Ok(());
    }
    changes::insert(
        conn,
        site_id,
        &changes::LayoutChange {
            id: 0,
            path: sighting.path.clone(),
            viewport: sighting.viewport.clone(),
            at_ms: now,
            before_hash: before,
            after_hash: hash.to_string(),
            share: diff.share,
            added: diff.added,
            removed: diff.removed,
            status: ChangeStatus::Pending,
            evidence: Evidence::default(),
        },
    )?;
    Ok(())
}

/// A stored layout's text and structure: as read when it was stored, or
/// read now from its HTML for one stored before that was kept. `None`: not
/// stored (or not readable).
pub(crate) fn stored_content(
    conn: &rusqlite::Connection,
    site_id: i64,
    hash: &str,
) -> Result<Option<Content>> {
    Ok(match layouts::content(conn, site_id, hash)? {
        None => None,
        Some(Ok(json)) => serde_json::from_str(&json).ok(),
        Some(Err(gz)) => replay::inflate(&gz).map(|html| content::content(&html)),
    })
}

impl Service {
    /// Stores an upload of site `site_id` (a probe when its body is empty),
    /// making room within `quota` compressed bytes first.
    pub(crate) fn store_layout(
        &self,
        site_id: i64,
        upload: &Upload,
        quota: u64,
        now: Millis,
    ) -> Result<Uploaded> {
        let mut slot = self
            .layouts
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if slot.is_none() {
            *slot = Some(self.store.admin()?);
        }
        let conn = slot.as_ref().expect("opened above");
        let Upload {
            hash,
            url,
            sighting,
            body,
        } = upload;
        if layouts::touch(conn, site_id, hash, now)? {
            layouts::record_sighting(conn, site_id, hash, sighting, now)?;
            weigh_sighting(conn, site_id, hash, sighting)?;
            return Ok(if body.is_empty() {
                Uploaded::Known
            } else {
                Uploaded::AlreadyStored
            });
        }
        if body.is_empty() {
            return Ok(Uploaded::Wanted);
        }
        let html = replay::check_upload(body, hash).map_err(|e| match e {
            replay::UploadError::TooLarge => ServiceError::TooLarge(e.to_string()),
            e => ServiceError::invalid(e.to_string()),
        })?;
        if !layouts::make_room(conn, site_id, body.len() as u64, quota)? {
            return Err(ServiceError::TooLarge(format!(
                "the layout is larger than the site's replay quota of {} MiB",
                quota / (1024 * 1024)
            )));
        }
        // Read once here, for every report that compares layouts.
        let read = content::content(&html);
        let json = serde_json::to_string(&read).map_err(|e| ServiceError::Internal {
            context: "a layout's content could not be written",
            source: Box::new(e),
        })?;
        let layout = layouts::NewLayout {
            hash,
            url,
            html_gz: body,
            raw_bytes: html.len(),
            content: &json,
        };
        let created = layouts::insert(conn, site_id, &layout, now)?;
        if created {
            note_change(conn, site_id, hash, &read, sighting, now)?;
        }
        layouts::record_sighting(conn, site_id, hash, sighting, now)?;
        weigh_sighting(conn, site_id, hash, sighting)?;
        Ok(if created {
            Uploaded::Created
        } else {
            Uploaded::AlreadyStored
        })
    }

    /// A stored layout of `site`, with a frame link signed by the token.
    pub(crate) fn layout(
        &self,
        site: &str,
        hash: &str,
        token_digest: &str,
        now: Millis,
    ) -> Result<LayoutView> {
        let conn = self.store.read()?;
        let s = find_site(&conn, site)?;
        let (layout, _) = layouts::get(&conn, s.id, hash)?
            .ok_or_else(|| ServiceError::not_found("no such layout"))?;
        Ok(LayoutView {
            layout,
            frame_url: sign::frame_url(token_digest, &s.name, hash, now),
            seen: None,
        })
    }

    /// The latest layout seen on `page` at a viewport class: on any raw
    /// path that the site's rules clean to the same page. `None` until a
    /// visitor with the recorder has viewed it (most pages, at first).
    pub(crate) fn page_layout(
        &self,
        site: &str,
        page: &str,
        class: ViewportClass,
        token_digest: &str,
        now: Millis,
    ) -> Result<Option<LayoutView>> {
        let conn = self.store.read()?;
        let s = find_site(&conn, site)?;
        let cleaner = Cleaner::new(&sites::page_rules(&conn, s.id)?).unwrap_or_default();
        let target = cleaner.clean(page);
        let mut paths: Vec<String> = read::site_pages(&conn, s.id)?
            .into_iter()
            .map(|(_, p)| p)
            .filter(|p| cleaner.clean(p) == target)
            .collect();
        // A layout may arrive before its page view is stored.
        paths.push(page.to_string());
        let Some((hash, seen)) = layouts::latest_for_pages(&conn, s.id, &paths, class.as_str())?
        else {
            return Ok(None);
        };
        let Some((layout, _)) = layouts::get(&conn, s.id, &hash)? else {
            return Ok(None);
        };
        Ok(Some(LayoutView {
            layout,
            frame_url: sign::frame_url(token_digest, &s.name, &hash, now),
            seen: Some(seen),
        }))
    }

    /// A layout's HTML, sanitized again for the player: nothing runs, and
    /// no URL outside `origins` (the site's) is fetched.
    pub(crate) fn layout_html(
        &self,
        site_id: i64,
        hash: &str,
        origins: &[String],
    ) -> Result<String> {
        let conn = self.store.read()?;
        let (layout, gz) = layouts::get(&conn, site_id, hash)?
            .ok_or_else(|| ServiceError::not_found("no such layout"))?;
        // Stored layouts were checked at upload; one that no longer
        // inflates is as good as gone.
        let html = replay::inflate(&gz).ok_or_else(|| ServiceError::not_found("no such layout"))?;
        Ok(sanitize::sanitize(&html, &layout.url, origins))
    }

    /// Deletes layouts unused since `before`, and the changes found to
    /// vary per visitor recorded before then; how many layouts went.
    pub(crate) fn prune_layouts(&self, before: Millis) -> Result<usize> {
        let conn = self.store.admin()?;
        changes::prune_varying(&conn, before)?;
        Ok(layouts::prune(&conn, before)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every way the sightings left could go from counts `(n, o, x)`.
    fn completions(n: u64, o: u64, x: u64) -> Vec<bool> {
        let left = VERDICT_SIGHTINGS - (n + o + x);
        let mut all = Vec::new();
        for a in 0..=left {
            for b in 0..=left - a {
                all.push(lasts(n + a, o + b, x + (left - a - b)));
            }
        }
        all
    }

    #[test]
    fn a_verdict_comes_as_soon_as_the_sightings_left_cannot_change_it() {
        for n in 0..=VERDICT_SIGHTINGS {
            for o in 0..=VERDICT_SIGHTINGS - n {
                for x in 0..=VERDICT_SIGHTINGS - n - o {
                    let ends = completions(n, o, x);
                    let expected = if ends.iter().all(|l| *l) {
                        ChangeStatus::Lasting
                    } else if ends.iter().all(|l| !l) {
                        ChangeStatus::Varies
                    } else {
                        ChangeStatus::Pending
                    };
                    let e = Evidence {
                        new: n,
                        old: o,
                        other: x,
                    };
                    assert_eq!(verdict(&e), expected, "{e:?}");
                }
            }
        }
        // The new layout kept from the first sighting: lasting at 15.
        let kept = |n| Evidence {
            new: n,
            old: 0,
            other: 0,
        };
        assert_eq!(verdict(&kept(14)), ChangeStatus::Pending);
        assert_eq!(verdict(&kept(15)), ChangeStatus::Lasting);
        // Past the count, the rule itself.
        let late = Evidence {
            new: 30,
            old: 11,
            other: 0,
        };
        assert_eq!(verdict(&late), ChangeStatus::Varies);
    }
}
