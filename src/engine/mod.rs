//! The read engine: every site's journeys held in memory as flat columns
//! ([`site::SiteJourneys`]), shared by all requests, so that a report
//! selects and cleans its sessions from memory instead of reading (and
//! decoding, and allocating) every SQLite row of the site again.
//!
//! SQLite stays the truth. The engine is a derived read model that follows
//! the store's change sequence, as the search index does: it loads every
//! session once (the first report after a start), then before each answer
//! takes what changed since its watermark, so an event committed before a
//! request is in its answer. Each site's columns are kept in a snapshot
//! file beside the database ([`snapshot`]), so that a restarted server (or
//! a CLI command) reads only the changes since.
//!
//! Reports reach the engine through [`Engine::journeys`] and
//! [`Engine::overview`]; heatmaps and scroll maps through
//! [`Engine::page_activity`], which holds the clicks and view depths of
//! the pages mapped lately ([`activity`]) and selects their sessions as
//! reports do. None of them reads session rows itself. A second backend
//! (ClickHouse) will sit behind the same calls.

pub(crate) mod activity;
mod column;
pub(crate) mod overview;
pub(crate) mod site;
mod snapshot;
#[cfg(test)]
mod tests;

use crate::event::Millis;
use crate::mine::{Block, JourneySet, Journeys, PageId};
use crate::store::read::{Overview, PageActivity};
use crate::store::{self, journeys as rows, Store};
use rustc_hash::FxHashMap;
use site::{Selection, SiteJourneys, Wanted};
use std::sync::{Arc, Mutex, RwLock};

/// Every site's journeys and the change they are current as of.
#[derive(Debug, Default)]
pub(crate) struct Engine {
    state: RwLock<State>,
    /// Where each site's columns are kept between processes
    /// ([`snapshot`]); `None` keeps nothing.
    snapshots: Option<std::path::PathBuf>,
    /// Held by the one request catching up, so that two do not read the
    /// same changes twice.
    catching_up: Mutex<()>,
    /// The sites a request is loading for the first time: one loads each,
    /// and who wants it meanwhile waits on `loaded`, while the sites held
    /// go on following the store and answering.
    loading: Mutex<rustc_hash::FxHashSet<i64>>,
    loaded: std::sync::Condvar,
    /// The clicks and view depths of the pages mapped lately
    /// ([`activity`]); not in [`State`], so that reading a page's events
    /// blocks no report.
    pages: Mutex<activity::Pages>,
}

#[derive(Debug, Default)]
struct State {
    /// The last change applied.
    watermark: i64,
    /// By site id: the sites followed.
    sites: FxHashMap<i64, Followed>,
}

/// Where the engine of the database at `db` keeps its files.
pub(crate) fn snapshot_dir(db: &std::path::Path) -> std::path::PathBuf {
    snapshot::dir(db)
}

/// A site the engine follows.
#[derive(Debug, Default)]
struct Followed {
    /// The site's creation time: a removed site's id can be given to a
    /// new one.
    created: i64,
    journeys: SiteJourneys,
    /// Rows applied since its snapshot was read or written.
    unsaved: u64,
}

impl Followed {
    /// Whether enough changed since the snapshot to write it again: a
    /// twentieth of the site, and at least 10,000 sessions.
    fn snapshot_is_stale(&self) -> bool {
        self.unsaved >= 10_000 && self.unsaved as usize >= self.journeys.sessions() / 20
    }
}

impl Engine {
    /// An engine that keeps nothing on disk (tests).
    #[cfg(test)]
    pub(crate) fn new() -> Engine {
        Engine::default()
    }

    /// The engine of the database at `db`, keeping its snapshots beside it.
    pub(crate) fn beside(db: &std::path::Path) -> Engine {
        Engine {
            snapshots: Some(snapshot::dir(db)),
            ..Engine::default()
        }
    }

    /// Brings the engine up to date on a thread of its own (the server
    /// calls it at start, so that the first report does not wait for the
    /// first load).
    pub(crate) fn warm_up(self: &Arc<Engine>, store: Arc<Store>) {
        let engine = self.clone();
        let spawned = std::thread::Builder::new()
            .name("trailmap-engine".into())
            .spawn(move || {
                let started = std::time::Instant::now();
                match engine.catch_up(&store, None) {
                    Ok(()) => tracing::info!(
                        seconds = started.elapsed().as_secs_f64(),
                        "the read engine holds every session"
                    ),
                    Err(e) => tracing::warn!("the read engine could not load: {e}"),
                }
                // Then it keeps the snapshots recent. The thread ends with
                // the process (nothing it writes is needed for a clean
                // stop: a torn snapshot is ignored).
                loop {
                    std::thread::sleep(SNAPSHOT_EVERY);
                    if let Err(e) = engine.keep_snapshots(&store) {
                        tracing::warn!("the read engine could not catch up: {e}");
                    }
                }
            });
        if let Err(e) = spawned {
            tracing::warn!("the read engine loads at the first report: {e}");
        }
    }

    /// Applies what the store committed since the last call to the sites
    /// followed, and starts following `wanted` (one site, or with `None`
    /// every site) if it is not yet: from its snapshot and the changes
    /// since, or else from the store's rows (then it writes the snapshot,
    /// so that the next process starts from it). A site's first load holds
    /// up only the requests for that site.
    fn catch_up(&self, store: &Store, wanted: Option<i64>) -> store::Result<()> {
        for (id, created) in self.follow(store, wanted)? {
            self.load(store, id, created)?;
        }
        Ok(())
    }

    /// Applies what the store committed since the last call to the sites
    /// followed (a short hold of the engine); returns the sites `wanted`
    /// that are not followed yet.
    fn follow(&self, store: &Store, wanted: Option<i64>) -> store::Result<Vec<(i64, i64)>> {
        let _one = self.catching_up.lock().unwrap_or_else(|e| e.into_inner());
        let conn = store.read()?;
        let upto = rows::watermark(&conn)?;
        // Sessions of a removed site are deleted with it, without a change
        // to follow: drop what is held for sites that are gone.
        let live = rows::sites(&conn)?;
        let is_live = |id: &i64, created: i64| live.binary_search(&(*id, created)).is_ok();
        let missing = |state: &State| -> Vec<(i64, i64)> {
            live.iter()
                .filter(|(id, _)| wanted.is_none_or(|w| w == *id) && !state.sites.contains_key(id))
                .copied()
                .collect()
        };
        let (after, stale, absent) = {
            let state = self.state.read().unwrap_or_else(|e| e.into_inner());
            let stale = state.sites.iter().any(|(id, f)| !is_live(id, f.created));
            (state.watermark, stale, missing(&state))
        };
        if upto == after && !stale {
            return Ok(absent);
        }
        let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
        if upto < after {
            // The sequence went back: another database file took this
            // one's place. Start again.
            tracing::warn!(
                upto,
                after,
                "the database's changes went back; the read engine reloads"
            );
            state.sites.clear();
        }
        state.sites.retain(|id, f| is_live(id, f.created));
        if stale {
            // Their pages' clicks too, now rather than at the next map.
            self.pages
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .forget_gone(&live);
        }
        apply(&conn, &mut state.sites, None, after, upto)?;
        state.watermark = upto;
        // Again under the write lock: a reload above forgot every site.
        Ok(missing(&state))
    }

    /// Starts following site `id` (created at `created`), unless another
    /// request loads it, for which it waits: reads its snapshot and the
    /// changes since (or every row of it) with no hold on the engine, then
    /// brings it to the engine's watermark and adds it.
    fn load(&self, store: &Store, id: i64, created: i64) -> store::Result<()> {
        {
            let mut loading = self.loading.lock().unwrap_or_else(|e| e.into_inner());
            loop {
                let held = {
                    let state = self.state.read().unwrap_or_else(|e| e.into_inner());
                    state.sites.contains_key(&id)
                };
                if held {
                    return Ok(());
                }
                if loading.insert(id) {
                    break;
                }
                loading = self.loaded.wait(loading).unwrap_or_else(|e| e.into_inner());
            }
        }
        let loaded = self.load_claimed(store, id, created);
        self.loading
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
        self.loaded.notify_all();
        loaded
    }

    /// [`Engine::load`]'s work, once the site is claimed.
    fn load_claimed(&self, store: &Store, id: i64, created: i64) -> store::Result<()> {
        let conn = store.read()?;
        let upto = rows::watermark(&conn)?;
        let from_snapshot = self.snapshots.as_ref().and_then(|dir| {
            snapshot::read(dir, id, created, upto)
                .map_err(|e| {
                    tracing::warn!(site = id, "the read engine's snapshot is not used: {e}")
                })
                .ok()
                .flatten()
        });
        let (since, site) = from_snapshot.unwrap_or((0, SiteJourneys::default()));
        let mut one = FxHashMap::default();
        one.insert(
            id,
            Followed {
                created,
                journeys: site,
                unsaved: 0,
            },
        );
        apply(&conn, &mut one, Some(id), since, upto)?;
        let write = since == 0 || one[&id].snapshot_is_stale();
        // Join the sites followed, at one watermark: what the store
        // committed while the site loaded is applied to it, or what it
        // loaded past the engine's watermark to the others.
        let _one = self.catching_up.lock().unwrap_or_else(|e| e.into_inner());
        let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
        let now = state.watermark;
        if now > upto {
            apply(&conn, &mut one, Some(id), upto, now)?;
        } else if now < upto {
            apply(&conn, &mut state.sites, None, now, upto)?;
            state.watermark = upto;
        }
        let live = rows::sites(&conn)?;
        if live.binary_search(&(id, created)).is_ok() {
            state.sites.extend(one);
        }
        let watermark = state.watermark;
        drop(state);
        if write {
            self.write_snapshots(&[id], watermark);
        }
        Ok(())
    }

    /// Writes the snapshots of `ids` as of change `upto`, the engine's
    /// watermark (called with the catching-up lock held, so nothing moves
    /// it meanwhile; reports go on reading).
    fn write_snapshots(&self, ids: &[i64], upto: i64) {
        let Some(dir) = &self.snapshots else { return };
        for id in ids {
            let state = self.state.read().unwrap_or_else(|e| e.into_inner());
            let Some(f) = state.sites.get(id) else {
                continue;
            };
            let started = std::time::Instant::now();
            match snapshot::write(dir, *id, f.created, upto, &f.journeys) {
                Ok(()) => {
                    tracing::info!(
                        site = id,
                        seconds = started.elapsed().as_secs_f64(),
                        "read engine snapshot written"
                    );
                    drop(state);
                    let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
                    if let Some(f) = state.sites.get_mut(id) {
                        f.unsaved = 0;
                    }
                }
                Err(e) => {
                    tracing::warn!(site = id, "the read engine's snapshot was not written: {e}")
                }
            }
        }
    }

    /// Forgets the files beside the database, then reads every site from
    /// the store's rows and writes its file again (`trailmap reindex`).
    /// Returns the sessions held.
    pub(crate) fn rebuild(store: &Store) -> store::Result<usize> {
        let engine = Engine::beside(store.path());
        if let Some(dir) = &engine.snapshots {
            match std::fs::remove_dir_all(dir) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(store::StoreError::Io(e)),
            }
        }
        engine.catch_up(store, None)?;
        let state = engine.state.read().unwrap_or_else(|e| e.into_inner());
        Ok(state.sites.values().map(|f| f.journeys.sessions()).sum())
    }

    /// Catches up and writes the snapshot of every site that changed
    /// enough since its last one (the server, every few minutes, so that a
    /// restart or a CLI command starts from a recent one).
    pub(crate) fn keep_snapshots(&self, store: &Store) -> store::Result<()> {
        self.catch_up(store, None)?;
        let _one = self.catching_up.lock().unwrap_or_else(|e| e.into_inner());
        let (stale, upto): (Vec<i64>, i64) = {
            let state = self.state.read().unwrap_or_else(|e| e.into_inner());
            let stale = state
                .sites
                .iter()
                .filter(|(_, f)| f.snapshot_is_stale())
                .map(|(id, _)| *id)
                .collect();
            (stale, state.watermark)
        };
        self.write_snapshots(&stale, upto);
        Ok(())
    }

    /// The journeys of `site_id` that `wanted` admits, current as of this
    /// call, to be walked cleaned through `clean` (indexed by raw page id)
    /// and, with `collapse`, with repeats merged. They are shared with the
    /// engine, not copied: a change applied later copies what it touches.
    pub(crate) fn journeys(
        &self,
        store: &Store,
        site_id: i64,
        wanted: &Wanted,
        clean: Vec<PageId>,
        collapse: bool,
    ) -> store::Result<Selected> {
        self.catch_up(store, Some(site_id))?;
        let (segments, selector, vocabulary, visitor_bound) = {
            let state = self.state.read().unwrap_or_else(|e| e.into_inner());
            match state.sites.get(&site_id).map(|f| &f.journeys) {
                Some(site) => (
                    site.snapshot(),
                    site.selector(wanted),
                    site.vocabulary(wanted.group),
                    site.visitor_count(),
                ),
                None => Default::default(),
            }
        };
        let page_bound = clean.iter().max().map_or(0, |m| *m as usize + 1);
        Ok(Selected {
            selection: Arc::new(Selection::new(segments, &selector)),
            clean: clean.into(),
            collapse,
            group: wanted.group,
            vocabulary: Arc::new(vocabulary),
            page_bound,
            visitor_bound,
            visitors: None,
            filtered_len: None,
            event_pages: None,
        })
    }
}

impl Engine {
    /// Sets what the pages' clicks and view depths may take in memory
    /// (0 keeps none between questions).
    pub(crate) fn set_activity_budget(&self, bytes: usize) {
        self.pages
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .set_budget(bytes);
    }

    /// The clicks and view depths on `raw_pages` (the raw pages of one
    /// cleaned page) of the sessions of `site_id` that `wanted` admits,
    /// oldest session first, current as of this call. The page's events
    /// are read through `conn` the first time it is asked for, then only
    /// those that changed.
    pub(crate) fn page_activity(
        &self,
        store: &Store,
        conn: &rusqlite::Connection,
        site_id: i64,
        wanted: &Wanted,
        raw_pages: &[u32],
    ) -> store::Result<PageActivity> {
        self.catch_up(store, Some(site_id))?;
        let (segments, selector, created, watermark, live) = {
            let state = self.state.read().unwrap_or_else(|e| e.into_inner());
            let Some(f) = state.sites.get(&site_id) else {
                return Ok(PageActivity::default());
            };
            let live: Vec<(i64, i64)> =
                state.sites.iter().map(|(id, f)| (*id, f.created)).collect();
            (
                f.journeys.snapshot(),
                f.journeys.selector(wanted),
                f.created,
                state.watermark,
                live,
            )
        };
        let site = activity::Site {
            id: site_id,
            created,
            segments: &segments,
            selector: &selector,
            watermark,
            live: &live,
            files: self.snapshots.as_deref(),
        };
        activity::select(&self.pages, conn, &site, raw_pages)
    }
}

/// Applies the rows changed in `(after, upto]` to `sites` (of `only`, or
/// of every site in it); rows of sites not in `sites` are not followed.
fn apply(
    conn: &rusqlite::Connection,
    sites: &mut FxHashMap<i64, Followed>,
    only: Option<i64>,
    after: i64,
    upto: i64,
) -> store::Result<()> {
    if after >= upto || sites.is_empty() {
        return Ok(());
    }
    let mut behind: FxHashMap<i64, Vec<site::Change>> = FxHashMap::default();
    rows::each_changed(conn, only, after, upto, |row| {
        if let Some(f) = sites.get_mut(&row.site_id) {
            f.unsaved += 1;
            if let Some(change) = f.journeys.take(&row) {
                behind.entry(row.site_id).or_default().push(change);
            }
        }
    })?;
    for (id, changes) in behind {
        if let Some(f) = sites.get_mut(&id) {
            f.journeys.merge(changes);
        }
    }
    Ok(())
}

impl Engine {
    /// The overview of the sessions of `site_id` that `wanted` admits;
    /// `pages` are the site's raw pages; `bucket` the series' bucket (ms),
    /// chosen by the range's span when `None`. `None` when the store must answer
    /// (see [`overview::overview`]).
    pub(crate) fn overview(
        &self,
        store: &Store,
        site_id: i64,
        wanted: &Wanted,
        pages: &[(u32, String)],
        top: usize,
        bucket: Option<Millis>,
    ) -> store::Result<Option<Overview>> {
        self.catch_up(store, Some(site_id))?;
        let (segments, selector, names, visitors) = {
            let state = self.state.read().unwrap_or_else(|e| e.into_inner());
            match state.sites.get(&site_id).map(|f| &f.journeys) {
                Some(site) => (
                    site.snapshot(),
                    site.selector(wanted),
                    site.names(),
                    site.visitor_count(),
                ),
                None => Default::default(),
            }
        };
        let selection = Selection::new(segments, &selector);
        let window: (Option<Millis>, Option<Millis>) = (wanted.filter.from, wanted.filter.to);
        Ok(overview::overview(
            &selection, &names, visitors, pages, window, top, bucket,
        ))
    }
}

/// A report's journeys: the engine's segments it selected from, walked a
/// segment at a time and cleaned as they are walked, so that a report over
/// ten million sessions holds a few segments' cleaned journeys at a time.
/// A walk over more than a few segments cleans them on a second thread
/// while the report mines the one before: two cores for every report,
/// without a line of the mining code knowing.
#[derive(Debug, Clone, Default)]
pub(crate) struct Selected {
    selection: Arc<Selection>,
    /// Cleaned page id by raw page id.
    clean: Arc<[PageId]>,
    collapse: bool,
    group: Option<crate::event::Dimension>,
    vocabulary: Arc<site::Vocabulary>,
    page_bound: usize,
    /// The site's visitor codes are below this.
    visitor_bound: usize,
    /// Only the journeys of some visitors (or of all but them), and how
    /// many journeys that leaves.
    visitors: Option<site::VisitorFilter>,
    filtered_len: Option<usize>,
    /// Custom events walked as page views of ids from here on.
    event_pages: Option<PageId>,
}

impl Selected {
    /// What the codes in these journeys stand for.
    pub(crate) fn vocabulary(&self) -> &site::Vocabulary {
        &self.vocabulary
    }

    /// These journeys with each custom event as a page view of its own,
    /// of page id `base` + the event's code.
    pub(crate) fn with_event_pages(&self, base: PageId) -> Selected {
        let events = self.vocabulary.events.len();
        Selected {
            event_pages: Some(base),
            page_bound: self.page_bound.max(base as usize + events),
            ..self.clone()
        }
    }

    /// These journeys in two: those of visitors with one journey here,
    /// walked as they are, and those of visitors with several, with how
    /// many those are (for `unit=visitor`, which joins only the latter).
    pub(crate) fn split_by_visitor(&self) -> (Selected, Selected, usize) {
        let (several, journeys) = self.selection.visitors_with_several(self.visitor_bound);
        let bits = Arc::new(several);
        let with = |keep_in, len| Selected {
            visitors: Some(site::VisitorFilter {
                bits: bits.clone(),
                keep_in,
            }),
            filtered_len: Some(len),
            ..self.clone()
        };
        let all = self.selection.len();
        (
            with(false, all.saturating_sub(journeys)),
            with(true, journeys),
            journeys,
        )
    }
}

/// How often a server checks whether a site's snapshot is stale.
const SNAPSHOT_EVERY: std::time::Duration = std::time::Duration::from_secs(600);

/// Segments below which a walk stays on the report's thread.
const PIPELINE_SEGMENTS: usize = 4;

impl JourneySet for Selected {
    fn len(&self) -> usize {
        self.filtered_len.unwrap_or_else(|| self.selection.len())
    }
    fn blocks(&self) -> Box<dyn Iterator<Item = Block<'_>> + '_> {
        if self.selection.segments_with_journeys() >= PIPELINE_SEGMENTS {
            let (tx, rx) = std::sync::mpsc::sync_channel(2);
            let walk = self.clone();
            let cleaner = std::thread::Builder::new()
                .name("trailmap-clean".into())
                .spawn(move || {
                    for block in walk.selection.journeys(
                        &walk.clean,
                        walk.collapse,
                        walk.group,
                        walk.visitors.as_ref(),
                        walk.event_pages,
                    ) {
                        // The report stopped early (its deadline, or it
                        // needed no more): stop too.
                        if tx.send(block).is_err() {
                            break;
                        }
                    }
                });
            if let Ok(cleaner) = cleaner {
                let blocks = Pipelined {
                    blocks: rx,
                    cleaner: Some(cleaner),
                };
                return Box::new(blocks.map(Block::Owned));
            }
        }
        Box::new(
            self.selection
                .journeys(
                    &self.clean,
                    self.collapse,
                    self.group,
                    self.visitors.as_ref(),
                    self.event_pages,
                )
                .map(Block::Owned),
        )
    }
    fn page_bound(&self) -> usize {
        self.page_bound
    }
}

/// The blocks a cleaner thread sends; its panic is the report's, never a
/// short walk taken for a whole one.
struct Pipelined {
    blocks: std::sync::mpsc::Receiver<Journeys>,
    cleaner: Option<std::thread::JoinHandle<()>>,
}

impl Iterator for Pipelined {
    type Item = Journeys;

    fn next(&mut self) -> Option<Journeys> {
        match self.blocks.recv() {
            Ok(block) => Some(block),
            Err(_) => {
                if let Some(Err(panic)) = self.cleaner.take().map(|c| c.join()) {
                    std::panic::resume_unwind(panic);
                }
                None
            }
        }
    }
}
