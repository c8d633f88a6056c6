//! The clicks and view depths of the pages heatmaps and scroll maps are
//! asked for, held in memory so that a map of a million clicks is drawn
//! from flat columns instead of from every event chunk of the page, read
//! and parsed from SQLite again for each question.
//!
//! A page's activity is loaded at the first map of it (every session that
//! visited it, bots included, in session-id order) and from then on
//! follows the store's change sequence as the journeys do: before each
//! answer, the sessions changed since its watermark that visited the page
//! are read again and merged in. A question's filter is not applied here:
//! each session's start and dimensions are looked up in the journeys'
//! segments taken with the same watermark ([`super::site::admitted_starts`]),
//! so that a heatmap counts exactly the sessions every report counts.
//!
//! What is held is bounded by a byte budget (`--heatmap-memory-mb`): the
//! pages asked for least recently are forgotten first, and a page larger
//! than the whole budget is read for its question and not kept.
//!
//! A page's activity is also kept in a file beside the engine's snapshots
//! ([`super::snapshot::write_activity`]) once loaded, and again when a
//! twentieth of it (at least 10,000 sessions) changed since: the first map
//! of the page after a restart (or in a CLI command) reads the file and
//! only the sessions changed since, not every event chunk of the page.

use super::site::{admitted_starts, Segment, Selector};
use super::snapshot::{self, In, Out};
use crate::event::{Millis, RecordedClick};
use crate::store::read::{self, PageActivity, ViewDepth};
use crate::store::Result;
use rustc_hash::FxHashMap;
use std::collections::HashSet;
use std::io;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// What pages' activity may take in memory unless set.
pub(crate) const DEFAULT_BUDGET_BYTES: usize = 256 << 20;

/// No selector.
const NO_SELECTOR: u32 = u32::MAX;

/// A click, with its selector coded ([`Activity::selectors`]). The
/// coordinates stay `f64`: the maps must place every click exactly where
/// the store's events say.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Click {
    x: f64,
    y: f64,
    ox: f64,
    oy: f64,
    vw: u32,
    dw: u32,
    sel: u32,
    rage: bool,
    dead: bool,
}

/// The activity on one page (the raw pages that clean to it) of every
/// session that visited it, by session id.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Activity {
    /// Ascending.
    sessions: Vec<i64>,
    /// Where each session's clicks start in `clicks`, and one past the
    /// last (one more entry than `sessions`).
    click_at: Vec<u32>,
    /// The same for `views`.
    view_at: Vec<u32>,
    clicks: Vec<Click>,
    views: Vec<ViewDepth>,
    /// By code.
    selectors: Vec<Arc<str>>,
}

impl Activity {
    /// The sessions held, ascending.
    pub(crate) fn sessions(&self) -> &[i64] {
        &self.sessions
    }

    /// Writes the columns (for [`snapshot::write_activity`]).
    pub(super) fn write_to(&self, w: &mut Out) -> io::Result<()> {
        for n in [self.sessions.len(), self.clicks.len(), self.views.len()] {
            w.u64(n as u64)?;
        }
        w.numbers(&self.sessions, |v| v.to_le_bytes())?;
        w.numbers(&self.click_at, |v| v.to_le_bytes())?;
        w.numbers(&self.view_at, |v| v.to_le_bytes())?;
        w.aligned(&self.clicks, |c| c.x.to_le_bytes())?;
        w.aligned(&self.clicks, |c| c.y.to_le_bytes())?;
        w.aligned(&self.clicks, |c| c.ox.to_le_bytes())?;
        w.aligned(&self.clicks, |c| c.oy.to_le_bytes())?;
        w.aligned(&self.clicks, |c| c.vw.to_le_bytes())?;
        w.aligned(&self.clicks, |c| c.dw.to_le_bytes())?;
        w.aligned(&self.clicks, |c| c.sel.to_le_bytes())?;
        w.array(&self.clicks, |c| [u8::from(c.rage) | u8::from(c.dead) << 1])?;
        for field in [
            |v: &ViewDepth| v.vw,
            |v: &ViewDepth| v.vh,
            |v: &ViewDepth| v.dw,
            |v: &ViewDepth| v.dh,
            |v: &ViewDepth| v.depth,
        ] {
            w.aligned(&self.views, |v| field(v).to_le_bytes())?;
        }
        w.u64(self.selectors.len() as u64)?;
        for s in &self.selectors {
            w.bytes(s.as_bytes())?;
        }
        Ok(())
    }

    /// Reads what [`Activity::write_to`] wrote, checking that it holds
    /// together (the offsets ascend within the columns, every selector
    /// code names one).
    pub(super) fn read_from(r: &mut In) -> io::Result<Activity> {
        let bad = |why: &str| io::Error::new(io::ErrorKind::InvalidData, why.to_string());
        let (n, clicks, views) = (r.len()?, r.len()?, r.len()?);
        let sessions: Vec<i64> = r.numbers(n, i64::from_le_bytes)?;
        let click_at: Vec<u32> = r.numbers(n + 1, u32::from_le_bytes)?;
        let view_at: Vec<u32> = r.numbers(n + 1, u32::from_le_bytes)?;
        let mut f64s = || r.numbers(clicks, f64::from_le_bytes);
        let (x, y, ox, oy) = (f64s()?, f64s()?, f64s()?, f64s()?);
        let mut u32s = |n: usize| r.numbers(n, u32::from_le_bytes);
        let (vw, dw, sel) = (u32s(clicks)?, u32s(clicks)?, u32s(clicks)?);
        let flags = r.array(clicks, |[b]: [u8; 1]| b)?;
        let mut depth = Vec::with_capacity(5);
        for _ in 0..5 {
            depth.push(r.numbers(views, u32::from_le_bytes)?);
        }
        let count = r.len()?;
        let mut selectors = Vec::with_capacity(count.min(1 << 16));
        for _ in 0..count {
            let name = String::from_utf8(r.bytes()?).map_err(|_| bad("a selector not UTF-8"))?;
            selectors.push(Arc::from(name));
        }
        let ascends = |at: &[u32], total: usize| {
            at.first() == Some(&0)
                && at.windows(2).all(|w| w[0] <= w[1])
                && at.last().is_some_and(|l| *l as usize == total)
        };
        if !ascends(&click_at, clicks)
            || !ascends(&view_at, views)
            || !sessions.windows(2).all(|w| w[0] < w[1])
            || sel
                .iter()
                .any(|c| *c != NO_SELECTOR && *c as usize >= selectors.len())
        {
            return Err(bad("columns that do not hold together"));
        }
        let clicks = (0..clicks)
            .map(|i| Click {
                x: x[i],
                y: y[i],
                ox: ox[i],
                oy: oy[i],
                vw: vw[i],
                dw: dw[i],
                sel: sel[i],
                rage: flags[i] & 1 != 0,
                dead: flags[i] & 2 != 0,
            })
            .collect();
        let views = (0..views)
            .map(|i| ViewDepth {
                vw: depth[0][i],
                vh: depth[1][i],
                dw: depth[2][i],
                dh: depth[3][i],
                depth: depth[4][i],
            })
            .collect();
        Ok(Activity {
            sessions,
            click_at,
            view_at,
            clicks,
            views,
            selectors,
        })
    }

    /// Bytes held (what the budget counts).
    fn bytes(&self) -> usize {
        use std::mem::size_of;
        self.sessions.len() * (size_of::<i64>() + 2 * size_of::<u32>())
            + self.clicks.len() * size_of::<Click>()
            + self.views.len() * size_of::<ViewDepth>()
            + self
                .selectors
                .iter()
                .map(|s| s.len() + 2 * size_of::<usize>())
                .sum::<usize>()
    }

    /// This activity with `changed` (sessions read again, ascending by id)
    /// in place of what it held for them.
    fn merged(&self, changed: Vec<(i64, PageActivity)>) -> Activity {
        let mut out = Builder::continuing(self);
        let mut changed = changed.into_iter().peekable();
        for k in 0..self.sessions.len() {
            let id = self.sessions[k];
            while let Some((new, activity)) = changed.next_if(|(new, _)| *new <= id) {
                out.push(new, activity);
            }
            if out.last() != Some(id) {
                out.copy(self, k);
            }
        }
        for (id, activity) in changed {
            out.push(id, activity);
        }
        out.finish()
    }

    /// The clicks and views of the sessions `starts` admits (by position
    /// in [`Activity::sessions`]), oldest session first (ties by id), as
    /// the store's filtered read hands them over.
    pub(crate) fn select(&self, starts: &[Option<Millis>]) -> PageActivity {
        let mut order: Vec<(Millis, i64, usize)> = starts
            .iter()
            .enumerate()
            .filter_map(|(k, start)| start.map(|s| (s, self.sessions[k], k)))
            .collect();
        order.sort_unstable();
        let mut out = PageActivity::default();
        for (_, session_id, k) in order {
            let clicks = &self.clicks[self.click_at[k] as usize..self.click_at[k + 1] as usize];
            out.clicks.extend(clicks.iter().map(|c| RecordedClick {
                session_id,
                x: c.x,
                y: c.y,
                vw: c.vw,
                dw: c.dw,
                sel: (c.sel != NO_SELECTOR).then(|| self.selectors[c.sel as usize].clone()),
                ox: c.ox,
                oy: c.oy,
                rage: c.rage,
                dead: c.dead,
            }));
            out.views.extend_from_slice(
                &self.views[self.view_at[k] as usize..self.view_at[k + 1] as usize],
            );
        }
        out
    }
}

/// Builds an [`Activity`] a session at a time, in id order.
struct Builder {
    out: Activity,
    codes: FxHashMap<Arc<str>, u32>,
}

impl Builder {
    fn new() -> Builder {
        Builder {
            out: Activity {
                click_at: vec![0],
                view_at: vec![0],
                ..Activity::default()
            },
            codes: FxHashMap::default(),
        }
    }

    /// A builder whose selector codes are `old`'s, so that its clicks can
    /// be copied as they are.
    fn continuing(old: &Activity) -> Builder {
        let mut b = Builder::new();
        b.out.selectors = old.selectors.clone();
        b.codes = old
            .selectors
            .iter()
            .enumerate()
            .map(|(c, s)| (s.clone(), c as u32))
            .collect();
        b
    }

    fn last(&self) -> Option<i64> {
        self.out.sessions.last().copied()
    }

    fn close(&mut self, id: i64) {
        self.out.sessions.push(id);
        self.out.click_at.push(self.out.clicks.len() as u32);
        self.out.view_at.push(self.out.views.len() as u32);
    }

    fn push(&mut self, id: i64, a: PageActivity) {
        for c in a.clicks {
            let sel = match c.sel {
                None => NO_SELECTOR,
                Some(s) => match self.codes.get(&s) {
                    Some(code) => *code,
                    None => {
                        let code = self.out.selectors.len() as u32;
                        self.codes.insert(s.clone(), code);
                        self.out.selectors.push(s);
                        code
                    }
                },
            };
            self.out.clicks.push(Click {
                x: c.x,
                y: c.y,
                ox: c.ox,
                oy: c.oy,
                vw: c.vw,
                dw: c.dw,
                sel,
                rage: c.rage,
                dead: c.dead,
            });
        }
        self.out.views.extend(a.views);
        self.close(id);
    }

    /// Copies session `k` of `old` (built with the same selector codes).
    fn copy(&mut self, old: &Activity, k: usize) {
        let clicks = old.click_at[k] as usize..old.click_at[k + 1] as usize;
        let views = old.view_at[k] as usize..old.view_at[k + 1] as usize;
        self.out.clicks.extend_from_slice(&old.clicks[clicks]);
        self.out.views.extend_from_slice(&old.views[views]);
        self.close(old.sessions[k]);
    }

    fn finish(mut self) -> Activity {
        self.out.clicks.shrink_to_fit();
        self.out.views.shrink_to_fit();
        self.out
    }
}

/// A site by id and creation time (a removed site's id can be given to a
/// new one), and the raw page ids of one cleaned page, ascending.
type Key = (i64, i64, Box<[u32]>);

/// One page's activity and the change it is current as of; `None` before
/// its first load. Locked while it is loaded or caught up, so that two
/// questions about one page read it once; other pages go on.
#[derive(Debug, Default)]
struct Slot {
    activity: Arc<Activity>,
    watermark: Option<i64>,
    /// Sessions merged in since the page's file was read or written.
    unsaved: usize,
}

#[derive(Debug)]
struct Entry {
    slot: Arc<Mutex<Slot>>,
    bytes: usize,
    used: u64,
}

/// Every page's activity held, within a byte budget.
#[derive(Debug)]
pub(crate) struct Pages {
    budget: usize,
    clock: u64,
    held: FxHashMap<Key, Entry>,
}

impl Default for Pages {
    fn default() -> Self {
        Pages {
            budget: DEFAULT_BUDGET_BYTES,
            clock: 0,
            held: FxHashMap::default(),
        }
    }
}

impl Pages {
    /// Sets the byte budget (0 keeps nothing between questions).
    pub(crate) fn set_budget(&mut self, bytes: usize) {
        self.budget = bytes;
    }

    /// Forgets the pages of sites not in `live` (id, creation time).
    pub(crate) fn forget_gone(&mut self, live: &[(i64, i64)]) {
        self.held
            .retain(|(site, created, _), _| live.contains(&(*site, *created)));
    }

    /// How many pages' activity is held (for tests).
    #[cfg(test)]
    pub(crate) fn held_pages(&self) -> usize {
        self.held.len()
    }

    /// Forgets the pages of sites not in `live`, then the least recently
    /// asked for until what is held fits the budget.
    fn evict(&mut self, live: &[(i64, i64)]) {
        self.forget_gone(live);
        let mut total: usize = self.held.values().map(|e| e.bytes).sum();
        if total <= self.budget {
            return;
        }
        let mut by_use: Vec<(u64, Key)> =
            self.held.iter().map(|(k, e)| (e.used, k.clone())).collect();
        by_use.sort_unstable_by_key(|(used, _)| *used);
        for (_, key) in by_use {
            if total <= self.budget {
                break;
            }
            if let Some(e) = self.held.remove(&key) {
                total -= e.bytes;
            }
        }
    }
}

/// A site the engine follows as [`select`] needs it: its key, the
/// journeys' segments and the change they are current as of, and every
/// site followed (whose pages may stay held).
pub(crate) struct Site<'a> {
    pub id: i64,
    pub created: i64,
    pub segments: &'a [Arc<Segment>],
    pub selector: &'a Selector,
    pub watermark: i64,
    pub live: &'a [(i64, i64)],
    /// Where the pages' files are kept ([`snapshot::write_activity`]);
    /// `None` keeps none.
    pub files: Option<&'a Path>,
}

/// The activity on `raw_pages` of the sessions of `site` its selector
/// admits, current as of its watermark; read through `conn` (the caller's,
/// so that a question past its deadline stops inside SQLite).
pub(crate) fn select(
    pages: &Mutex<Pages>,
    conn: &rusqlite::Connection,
    site: &Site<'_>,
    raw_pages: &[u32],
) -> Result<PageActivity> {
    let mut wanted: Vec<u32> = raw_pages.to_vec();
    wanted.sort_unstable();
    wanted.dedup();
    let key: Key = (site.id, site.created, wanted.into());
    let slot = {
        let mut held = pages.lock().unwrap_or_else(|e| e.into_inner());
        held.clock += 1;
        let used = held.clock;
        let entry = held.held.entry(key.clone()).or_insert_with(|| Entry {
            slot: Arc::default(),
            bytes: 0,
            used,
        });
        entry.used = used;
        entry.slot.clone()
    };
    let activity = {
        let mut slot = slot.lock().unwrap_or_else(|e| e.into_inner());
        catch_up(&mut slot, conn, site, &key.2)?;
        slot.activity.clone()
    };
    {
        let mut held = pages.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(e) = held.held.get_mut(&key) {
            e.bytes = activity.bytes();
        }
        held.evict(site.live);
    }
    let starts = admitted_starts(site.segments, site.selector, activity.sessions());
    Ok(activity.select(&starts))
}

/// Brings `slot` to the site's change: a first load reads the pages' file
/// if there is one and every session changed since, else every session of
/// the site that visited the pages; a later call those changed since. The
/// file is written after a load from the store and once enough changed.
fn catch_up(
    slot: &mut Slot,
    conn: &rusqlite::Connection,
    site: &Site<'_>,
    raw_pages: &[u32],
) -> Result<()> {
    let upto = site.watermark;
    let wanted: HashSet<u32> = raw_pages.iter().copied().collect();
    let owner = (site.id, site.created);
    if slot.watermark.is_none() {
        // A file that cannot be read is read from the store instead (and
        // written again below).
        if let Some((w, a)) = site
            .files
            .and_then(|dir| snapshot::read_activity(dir, owner, raw_pages, upto).ok())
            .flatten()
        {
            slot.activity = Arc::new(a);
            slot.watermark = Some(w);
        }
    }
    match slot.watermark {
        Some(w) if w >= upto => {}
        None => {
            let mut b = Builder::new();
            read::each_page_activity(conn, site.id, &wanted, 0, upto, |id, a| b.push(id, a))?;
            slot.activity = Arc::new(b.finish());
            slot.watermark = Some(upto);
            slot.unsaved = usize::MAX;
        }
        Some(w) => {
            let mut changed: Vec<(i64, PageActivity)> = Vec::new();
            read::each_page_activity(conn, site.id, &wanted, w, upto, |id, a| {
                changed.push((id, a))
            })?;
            if !changed.is_empty() {
                changed.sort_unstable_by_key(|(id, _)| *id);
                slot.unsaved = slot.unsaved.saturating_add(changed.len());
                slot.activity = Arc::new(slot.activity.merged(changed));
            }
            slot.watermark = Some(upto);
        }
    }
    // A twentieth of the page's sessions, and at least 10,000, as the
    // engine's snapshots.
    let stale = slot.unsaved >= (slot.activity.sessions.len() / 20).max(10_000);
    if let (Some(dir), true) = (site.files, stale) {
        // Not fatal: the next start reads the store instead.
        if let Err(e) = snapshot::write_activity(dir, owner, raw_pages, upto, &slot.activity) {
            tracing::warn!(site = site.id, error = %e, "a page's activity file was not written");
        }
        slot.unsaved = 0;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn click(session_id: i64, x: f64, sel: Option<&str>) -> RecordedClick {
        RecordedClick {
            session_id,
            x,
            y: x / 2.0,
            vw: 1280,
            dw: 1280,
            sel: sel.map(Into::into),
            ox: 1.5,
            oy: 0.5,
            rage: x > 10.0,
            dead: false,
        }
    }

    fn one(session_id: i64, xs: &[f64], sel: &str) -> PageActivity {
        PageActivity {
            clicks: xs
                .iter()
                .map(|x| click(session_id, *x, Some(sel)))
                .collect(),
            views: vec![ViewDepth {
                vw: 1280,
                vh: 700,
                dw: 1280,
                dh: 3000,
                depth: 700 + session_id as u32,
            }],
        }
    }

    fn built(sessions: &[(i64, PageActivity)]) -> Activity {
        let mut b = Builder::new();
        for (id, a) in sessions {
            b.push(*id, a.clone());
        }
        b.finish()
    }

    #[test]
    fn a_merge_replaces_changed_sessions_and_adds_new_ones_in_order() {
        let old = built(&[
            (2, one(2, &[1.0], "#a")),
            (5, one(5, &[2.0, 3.0], "#b")),
            (9, one(9, &[], "#a")),
        ]);
        let merged = old.merged(vec![
            (1, one(1, &[4.0], "#c")),
            (5, one(5, &[2.0, 3.0, 11.0], "#b")),
            (12, one(12, &[5.0], "#a")),
        ]);
        let expected = [
            (1, one(1, &[4.0], "#c")),
            (2, one(2, &[1.0], "#a")),
            (5, one(5, &[2.0, 3.0, 11.0], "#b")),
            (9, one(9, &[], "#a")),
            (12, one(12, &[5.0], "#a")),
        ];
        assert_eq!(merged.sessions(), &[1, 2, 5, 9, 12]);
        let all = merged.select(&[Some(10), Some(20), Some(30), Some(40), Some(50)]);
        let want = built(&expected).select(&[Some(10), Some(20), Some(30), Some(40), Some(50)]);
        assert_eq!(all, want);
        assert_eq!(all.clicks.len(), 6);
        assert_eq!(all.clicks[3].sel.as_deref(), Some("#b"));
    }

    #[test]
    fn a_selection_keeps_the_admitted_sessions_oldest_first() {
        let a = built(&[
            (1, one(1, &[1.0], "#a")),
            (2, one(2, &[2.0], "#a")),
            (3, one(3, &[3.0], "#b")),
        ]);
        // Session 3 started first, session 2 is not admitted.
        let picked = a.select(&[Some(50), None, Some(10)]);
        let sessions: Vec<i64> = picked.clicks.iter().map(|c| c.session_id).collect();
        assert_eq!(sessions, vec![3, 1]);
        assert_eq!(
            picked.views.iter().map(|v| v.depth).collect::<Vec<_>>(),
            vec![703, 701]
        );
    }

    #[test]
    fn the_least_recently_asked_pages_go_first_past_the_budget() {
        let mut pages = Pages::default();
        for (k, bytes) in [(1u32, 100usize), (2, 100), (3, 100)] {
            pages.held.insert(
                (7, 1, vec![k].into()),
                Entry {
                    slot: Arc::default(),
                    bytes,
                    used: u64::from(k),
                },
            );
        }
        pages.set_budget(250);
        pages.evict(&[(7, 1)]);
        let mut left: Vec<u32> = pages.held.keys().map(|k| k.2[0]).collect();
        left.sort_unstable();
        assert_eq!(left, vec![2, 3]);
        // A site that is gone (or whose id went to a new site) keeps nothing.
        pages.evict(&[(7, 2)]);
        assert!(pages.held.is_empty());
    }
}
