//! Session replay's page layouts: DOM snapshots the recorder uploads,
//! stored once per site and content hash (one layout serves every session
//! that saw the same page), and the latest layout of each page per
//! viewport class (heatmap backgrounds). Usage is bounded per site by a
//! quota, and layouts nobody used for the retention period are deleted.
//!
//! Anyone on a registered origin can upload, so the quota could be filled
//! with junk. Layouts that sessions reference (their `$layout` events, noted
//! by the pipeline in `layout_refs`) are what replay needs; a full quota
//! makes room by deleting unreferenced layouts first, least recently used
//! first ([`make_room`]). A reference is visitor input too (anyone can send
//! a `$layout` event for junk they uploaded), so it does not pin a layout
//! for good: when only referenced layouts are left, those referenced least
//! recently go, and a quota can never be locked against new sessions. How
//! fast one client can push bytes through is bounded by the upload limits
//! (`http::ratelimit`).

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use super::Result;
use crate::event::Millis;

/// A stored layout's description.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Layout {
    pub hash: String,
    /// The page it was captured on (relative URLs resolve against it).
    pub url: String,
    pub raw_bytes: u64,
    pub stored_bytes: u64,
    pub created_ms: Millis,
    pub used_ms: Millis,
}

/// Where and how a layout was seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Sighting {
    pub path: String,
    pub viewport: String,
    pub vw: u32,
    pub vh: u32,
    pub dw: u32,
    pub dh: u32,
}

/// Whether a site has a layout; marks it used.
pub(crate) fn touch(conn: &Connection, site_id: i64, hash: &str, now: Millis) -> Result<bool> {
    Ok(conn
        .prepare_cached("UPDATE layouts SET used_ms = ?3 WHERE site_id = ?1 AND hash = ?2")?
        .execute(params![site_id, hash, now])?
        > 0)
}

/// Records that `hash` is the latest layout of a page at a viewport class.
pub(crate) fn record_sighting(
    conn: &Connection,
    site_id: i64,
    hash: &str,
    s: &Sighting,
    now: Millis,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO page_layouts (site_id, path, viewport, hash, vw, vh, dw, dh, seen_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT (site_id, path, viewport) DO UPDATE SET hash = ?4, vw = ?5, vh = ?6,
             dw = ?7, dh = ?8, seen_ms = ?9",
    )?
    .execute(params![
        site_id, s.path, s.viewport, hash, s.vw, s.vh, s.dw, s.dh, now
    ])?;
    Ok(())
}

/// Compressed bytes a site's layouts take.
pub(crate) fn usage(conn: &Connection, site_id: i64) -> Result<u64> {
    Ok(conn.query_row(
        "SELECT IFNULL(SUM(length(html_gz)), 0) FROM layouts WHERE site_id = ?1",
        [site_id],
        |r| r.get::<_, i64>(0),
    )? as u64)
}

/// Notes that a session showed `hash` at `ts` (the pipeline, in its write
/// transaction).
pub(crate) fn reference(conn: &Connection, site_id: i64, hash: &str, ts: Millis) -> Result<()> {
    conn.prepare_cached(
        // Only layouts that exist: a reference to a hash nobody uploaded
        // would be a row any visitor could add without bound.
        "INSERT INTO layout_refs (site_id, hash, seen_ms)
         SELECT ?1, ?2, ?3 WHERE EXISTS (SELECT 1 FROM layouts WHERE site_id = ?1 AND hash = ?2)
         ON CONFLICT (site_id, hash) DO UPDATE SET seen_ms = max(seen_ms, ?3)",
    )?
    .execute(params![site_id, hash, ts])?;
    Ok(())
}

/// Makes `needed` bytes fit under a site's `quota`: deletes layouts no
/// session references, least recently used first, then, if that is not
/// enough, referenced ones, least recently referenced first. Deletes
/// nothing and returns `false` only when `needed` is over the quota itself.
pub(crate) fn make_room(conn: &Connection, site_id: i64, needed: u64, quota: u64) -> Result<bool> {
    if needed > quota {
        return Ok(false);
    }
    let used = usage(conn, site_id)?;
    if used + needed <= quota {
        return Ok(true);
    }
    let excess = used + needed - quota;
    let mut victims = Vec::new();
    let mut freed = 0u64;
    {
        let mut stmt = conn.prepare_cached(
            "SELECT l.id, length(l.html_gz) FROM layouts l
             LEFT JOIN layout_refs r ON r.site_id = l.site_id AND r.hash = l.hash
             WHERE l.site_id = ?1
             ORDER BY r.seen_ms IS NOT NULL, r.seen_ms, l.used_ms, l.id",
        )?;
        let mut rows = stmt.query([site_id])?;
        while let Some(row) = rows.next()? {
            victims.push(row.get::<_, i64>(0)?);
            freed += row.get::<_, i64>(1)? as u64;
            if freed >= excess {
                break;
            }
        }
    }
    let mut delete = conn.prepare_cached("DELETE FROM layouts WHERE id = ?1")?;
    for id in victims {
        delete.execute([id])?;
    }
    // Sightings of deleted layouts find nothing (reads join `layouts`);
    // the hourly prune removes them.
    Ok(true)
}

/// A layout to store (the caller checked it), with its text and
/// structure as JSON.
pub(crate) struct NewLayout<'a> {
    pub hash: &'a str,
    pub url: &'a str,
    pub html_gz: &'a [u8],
    pub raw_bytes: usize,
    pub content: &'a str,
}

/// Stores a layout; `false` if it was there.
pub(crate) fn insert(
    conn: &Connection,
    site_id: i64,
    layout: &NewLayout<'_>,
    now: Millis,
) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "INSERT OR IGNORE INTO layouts
                (site_id, hash, url, html_gz, raw_bytes, created_ms, used_ms, content)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7)",
        )?
        .execute(params![
            site_id,
            layout.hash,
            layout.url,
            layout.html_gz,
            layout.raw_bytes as i64,
            now,
            layout.content
        ])?
        > 0)
}

/// A stored layout's text and structure: `Some(Ok(json))` as read when it
/// was stored, `Some(Err(html_gz))` for a layout stored before that was
/// kept (the caller reads its HTML), `None` when it is not stored.
pub(crate) fn content(
    conn: &Connection,
    site_id: i64,
    hash: &str,
) -> Result<Option<std::result::Result<String, Vec<u8>>>> {
    Ok(conn
        .prepare_cached("SELECT content, html_gz FROM layouts WHERE site_id = ?1 AND hash = ?2")?
        .query_row(params![site_id, hash], |r| {
            Ok(match r.get::<_, Option<String>>(0)? {
                Some(json) => Ok(json),
                None => Err(r.get(1)?),
            })
        })
        .optional()?)
}

/// Notes that page view `view` of a session showed layout `hash`.
pub(crate) fn record_view(
    conn: &Connection,
    site_id: i64,
    session_id: i64,
    view: u32,
    page: Option<u32>,
    hash: &str,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO view_layouts (site_id, session_id, view, page_id, hash)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![site_id, session_id, view, page, hash])?;
    Ok(())
}

/// A page view's layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ViewLayout {
    /// The view's index in its session.
    pub view: u32,
    pub page_id: Option<u32>,
    pub hash: String,
}

/// The latest layout of each of the site's most recently seen pages (at
/// most `pages` of them; one viewport class each): a sample of what the
/// site shows on every page.
pub(crate) fn recent_pages(conn: &Connection, site_id: i64, pages: usize) -> Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT path, hash FROM page_layouts WHERE site_id = ?1 ORDER BY seen_ms DESC LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![site_id, (pages * 4) as i64], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })?;
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for row in rows {
        let (path, hash) = row?;
        if out.len() < pages && seen.insert(path) {
            out.push(hash);
        }
    }
    Ok(out)
}

/// Whether any page view of the site has a layout noted.
pub(crate) fn any_view(conn: &Connection, site_id: i64) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM view_layouts WHERE site_id = ?1 LIMIT 1")?
        .query_row([site_id], |_| Ok(()))
        .optional()?
        .is_some())
}

/// A session's page views with a layout, in order, and its number of page
/// views (`None`: no such session).
pub(crate) fn views_of(
    conn: &Connection,
    site_id: i64,
    session_id: i64,
) -> Result<Option<(u32, Vec<ViewLayout>)>> {
    let Some(page_count) = conn
        .prepare_cached("SELECT page_count FROM sessions WHERE id = ?1 AND site_id = ?2")?
        .query_row(params![session_id, site_id], |r| r.get::<_, u32>(0))
        .optional()?
    else {
        return Ok(None);
    };
    let views = conn
        .prepare_cached(
            "SELECT view, page_id, hash FROM view_layouts
             WHERE site_id = ?1 AND session_id = ?2 ORDER BY view",
        )?
        .query_map(params![site_id, session_id], |r| {
            Ok(ViewLayout {
                view: r.get(0)?,
                page_id: r.get(1)?,
                hash: r.get(2)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(Some((page_count, views)))
}

/// A layout's description and its compressed HTML.
pub(crate) fn get(
    conn: &Connection,
    site_id: i64,
    hash: &str,
) -> Result<Option<(Layout, Vec<u8>)>> {
    Ok(conn
        .prepare_cached(
            "SELECT hash, url, raw_bytes, length(html_gz), created_ms, used_ms, html_gz
             FROM layouts WHERE site_id = ?1 AND hash = ?2",
        )?
        .query_row(params![site_id, hash], |r| {
            Ok((
                Layout {
                    hash: r.get(0)?,
                    url: r.get(1)?,
                    raw_bytes: r.get::<_, i64>(2)? as u64,
                    stored_bytes: r.get::<_, i64>(3)? as u64,
                    created_ms: r.get(4)?,
                    used_ms: r.get(5)?,
                },
                r.get(6)?,
            ))
        })
        .optional()?)
}

/// The latest stored layout seen on any of `paths` at a viewport class.
pub(crate) fn latest_for_pages(
    conn: &Connection,
    site_id: i64,
    paths: &[String],
    viewport: &str,
) -> Result<Option<(String, Sighting)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT p.hash, p.path, p.viewport, p.vw, p.vh, p.dw, p.dh, p.seen_ms
         FROM page_layouts p JOIN layouts l ON l.site_id = p.site_id AND l.hash = p.hash
         WHERE p.site_id = ?1 AND p.path = ?2 AND p.viewport = ?3",
    )?;
    let mut best: Option<(Millis, String, Sighting)> = None;
    for path in paths {
        let row = stmt
            .query_row(params![site_id, path, viewport], |r| {
                Ok((
                    r.get::<_, Millis>(7)?,
                    r.get::<_, String>(0)?,
                    Sighting {
                        path: r.get(1)?,
                        viewport: r.get(2)?,
                        vw: r.get(3)?,
                        vh: r.get(4)?,
                        dw: r.get(5)?,
                        dh: r.get(6)?,
                    },
                ))
            })
            .optional()?;
        if let Some(row) = row {
            if best.as_ref().is_none_or(|b| row.0 > b.0) {
                best = Some(row);
            }
        }
    }
    Ok(best.map(|(_, hash, s)| (hash, s)))
}

/// Deletes layouts unused since `before`, the sightings of them, and
/// references no session made since. Returns how many layouts went.
pub(crate) fn prune(conn: &Connection, before: Millis) -> Result<usize> {
    let n = conn.execute("DELETE FROM layouts WHERE used_ms < ?1", [before])?;
    conn.execute("DELETE FROM layout_refs WHERE seen_ms < ?1", [before])?;
    conn.execute(
        "DELETE FROM page_layouts WHERE NOT EXISTS (SELECT 1 FROM layouts l
            WHERE l.site_id = page_layouts.site_id AND l.hash = page_layouts.hash)",
        [],
    )?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Stores a layout with no content read.
    fn put(
        conn: &Connection,
        site_id: i64,
        hash: &str,
        url: &str,
        html_gz: &[u8],
        raw_bytes: usize,
        now: Millis,
    ) -> Result<bool> {
        let layout = NewLayout {
            hash,
            url,
            html_gz,
            raw_bytes,
            content: "{}",
        };
        insert(conn, site_id, &layout, now)
    }
    use crate::store::{sites, Store};

    fn sighting(path: &str) -> Sighting {
        Sighting {
            path: path.into(),
            viewport: "desktop".into(),
            vw: 1280,
            vh: 800,
            dw: 1280,
            dh: 2000,
        }
    }

    #[test]
    fn unused_layouts_go_with_their_sightings_and_quota_counts_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.db")).unwrap();
        let mut conn = store.admin().unwrap();
        let site = sites::add(&mut conn, "shop", &["https://shop.example".into()], 0)
            .unwrap()
            .id;
        assert!(put(
            &conn,
            site,
            "old",
            "https://shop.example/a",
            b"12345",
            50,
            1_000
        )
        .unwrap());
        assert!(put(
            &conn,
            site,
            "new",
            "https://shop.example/b",
            b"123",
            30,
            1_000
        )
        .unwrap());
        assert!(!put(
            &conn,
            site,
            "new",
            "https://shop.example/b",
            b"123",
            30,
            1_000
        )
        .unwrap());
        assert_eq!(usage(&conn, site).unwrap(), 8);
        record_sighting(&conn, site, "old", &sighting("/a"), 1_000).unwrap();
        record_sighting(&conn, site, "new", &sighting("/b"), 1_000).unwrap();
        // "new" is used again later; "old" is not.
        assert!(touch(&conn, site, "new", 9_000).unwrap());
        assert!(!touch(&conn, site, "missing", 9_000).unwrap());
        assert_eq!(prune(&conn, 5_000).unwrap(), 1);
        assert!(get(&conn, site, "old").unwrap().is_none());
        assert!(get(&conn, site, "new").unwrap().is_some());
        let paths = ["/a".to_string(), "/b".to_string()];
        let (hash, seen) = latest_for_pages(&conn, site, &paths, "desktop")
            .unwrap()
            .unwrap();
        assert_eq!((hash.as_str(), seen.path.as_str()), ("new", "/b"));
        assert_eq!(usage(&conn, site).unwrap(), 3);
    }

    #[test]
    fn a_full_quota_deletes_unreferenced_layouts_first_then_the_least_recently_referenced() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.db")).unwrap();
        let mut conn = store.admin().unwrap();
        let site = sites::add(&mut conn, "shop", &["https://shop.example".into()], 0)
            .unwrap()
            .id;
        let url = "https://shop.example/";
        put(&conn, site, "real", url, &[0; 40], 400, 1_000).unwrap();
        reference(&conn, site, "real", 1_500).unwrap();
        put(&conn, site, "junk1", url, &[0; 30], 300, 2_000).unwrap();
        put(&conn, site, "junk2", url, &[0; 30], 300, 3_000).unwrap();
        // 100 used of 100: 30 more need junk1 (the least recently used) to go.
        assert!(make_room(&conn, site, 30, 100).unwrap());
        assert!(get(&conn, site, "junk1").unwrap().is_none());
        assert!(get(&conn, site, "junk2").unwrap().is_some());
        // Over the quota itself: refused, nothing deleted.
        assert!(!make_room(&conn, site, 101, 100).unwrap());
        assert!(get(&conn, site, "junk2").unwrap().is_some());
        // 30 more take the last unreferenced one, never a referenced one.
        reference(&conn, site, "real", 1_500).unwrap();
        put(&conn, site, "newer", url, &[0; 30], 300, 4_000).unwrap();
        reference(&conn, site, "newer", 4_500).unwrap();
        assert!(make_room(&conn, site, 30, 100).unwrap());
        assert!(get(&conn, site, "junk2").unwrap().is_none());
        assert!(get(&conn, site, "real").unwrap().is_some());
        // Only referenced ones left (forged references are references
        // too): the least recently referenced goes, so the quota cannot be
        // locked. "real" was referenced at 1.5 s, "newer" at 4.5 s.
        put(&conn, site, "next", url, &[0; 30], 300, 5_000).unwrap();
        reference(&conn, site, "next", 5_500).unwrap();
        assert!(make_room(&conn, site, 30, 100).unwrap());
        assert!(get(&conn, site, "real").unwrap().is_none());
        assert!(get(&conn, site, "newer").unwrap().is_some());
        assert!(get(&conn, site, "next").unwrap().is_some());
    }
}
