//! Keeps the search index following the store.
//!
//! Every write transaction stamps the sessions it writes with the next
//! number of one change sequence (`sessions.changed`). The indexer reads
//! sessions changed after the last number it committed, turns them into
//! documents and commits them with that number as the index's watermark.
//! So it never touches the ingest path (it reads through its own read
//! connection, on its own thread, in batches), a crash loses nothing (on
//! start it catches up from the watermark the index holds), and
//! `trailmap reindex` is the same loop from the beginning.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use regex::RegexSet;
use rusqlite::Connection;

use super::{SearchError, SearchIndex, SessionDoc};
use crate::event::{Session, TargetSpec};
use crate::store::read::{self, ChangedSession};
use crate::store::{sites, Store, StoreError};

/// Where the index of a database lives: beside it, `trailmap.db` →
/// `trailmap.db.search/`.
pub(crate) fn index_dir(db: &std::path::Path) -> std::path::PathBuf {
    let mut dir = db.as_os_str().to_owned();
    dir.push(".search");
    dir.into()
}

/// Sessions read and indexed per batch.
const BATCH: usize = 5_000;

/// How often the background indexer looks for changes: the index lags
/// ingest by about this much.
pub(crate) const INTERVAL: Duration = Duration::from_millis(500);

/// Why indexing stopped.
#[derive(Debug)]
pub(crate) enum IndexError {
    Store(StoreError),
    Index(SearchError),
}

impl std::fmt::Display for IndexError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IndexError::Store(e) => write!(f, "reading sessions: {e}"),
            IndexError::Index(e) => write!(f, "indexing: {e}"),
        }
    }
}

impl std::error::Error for IndexError {}

impl From<StoreError> for IndexError {
    fn from(e: StoreError) -> Self {
        IndexError::Store(e)
    }
}

impl From<SearchError> for IndexError {
    fn from(e: SearchError) -> Self {
        IndexError::Index(e)
    }
}

/// What a document needs of a site: its goal pages.
struct SiteInfo {
    /// Page goals.
    goals: RegexSet,
    /// Event goals.
    events: Vec<TargetSpec>,
}

/// Page paths most indexed documents need, kept across passes: visitors
/// can invent any number of pages, so this is a bounded cache of the
/// store's page table (ids are global), and paths longer than this many
/// bytes are read from the store each time, which bounds it in bytes.
const MAX_CACHED_PATH_BYTES: usize = 256;

/// Page paths and goals by site, kept by the background indexer from one
/// pass to the next: page paths never change once interned, so a pass
/// reads only the pages it has not seen (or no longer caches); goals can
/// change, so they are read again at every pass that has sessions to index.
struct SiteCache {
    sites: HashMap<i64, SiteInfo>,
    paths: lru::LruCache<u32, Box<str>>,
    /// Sites whose goals this pass has read.
    fresh: std::collections::HashSet<i64>,
}

/// Page paths a one-off pass (`trailmap search`, `reindex`) keeps: the
/// default of the server's `--max-cached-pages`, which the server's own
/// indexer is given instead.
const ONE_OFF_MAX_PATHS: usize = 100_000;

impl SiteCache {
    /// A cache of at most `max_paths` page paths.
    fn new(max_paths: usize) -> SiteCache {
        SiteCache {
            sites: HashMap::new(),
            paths: lru::LruCache::new(
                std::num::NonZeroUsize::new(max_paths.max(1)).expect("at least 1"),
            ),
            fresh: std::collections::HashSet::new(),
        }
    }

    fn site(&mut self, conn: &Connection, site_id: i64) -> Result<&mut SiteInfo, IndexError> {
        if !self.fresh.contains(&site_id) {
            let settings = sites::journey_settings(conn, site_id)?;
            // Settings are checked when saved; a pattern that no longer
            // compiles (a regex crate change) only loses the converted flag.
            let specs: Vec<TargetSpec> = settings
                .goals
                .iter()
                .filter_map(|g| TargetSpec::parse(g).ok())
                .collect();
            let pages: Vec<&str> = specs.iter().filter_map(TargetSpec::page).collect();
            let goals = RegexSet::new(pages).unwrap_or_else(|_| RegexSet::empty());
            let events = specs.into_iter().filter(|s| s.page().is_none()).collect();
            self.sites.insert(site_id, SiteInfo { goals, events });
            self.fresh.insert(site_id);
        }
        Ok(self.sites.get_mut(&site_id).expect("inserted above"))
    }

    fn doc(
        &mut self,
        conn: &Connection,
        site_id: i64,
        s: &Session,
    ) -> Result<SessionDoc, IndexError> {
        self.site(conn, site_id)?;
        let mut pages: Vec<String> = Vec::with_capacity(s.pages.len());
        for id in &s.pages {
            if let Some(p) = self.paths.get(id) {
                pages.push(p.to_string());
                continue;
            }
            let p = read::page_path(conn, *id)?;
            if p.len() <= MAX_CACHED_PATH_BYTES {
                self.paths.put(*id, p.as_str().into());
            }
            pages.push(p);
        }
        let site = self.site(conn, site_id)?;
        let converted = pages.iter().any(|p| site.goals.is_match(p))
            || s.marks
                .iter()
                .any(|m| site.events.iter().any(|g| g.matches_mark(m)));
        let mut events: Vec<String> = s.marks.iter().map(|m| m.name.clone()).collect();
        events.sort();
        events.dedup();
        let mut props: Vec<String> = s
            .marks
            .iter()
            .flat_map(|m| m.props.iter().flatten())
            .map(|(k, v)| format!("{k}={}", crate::event::value_text(v)))
            .collect();
        props.sort();
        props.dedup();
        Ok(SessionDoc {
            session_id: s.id,
            site_id,
            start_ms: s.start,
            duration_s: (s.duration_ms().max(0) / 1000) as u64,
            page_count: s.page_count,
            pages,
            entry_page: s.entry_page.clone(),
            exit_page: s.exit_page.clone(),
            referrer: s.acquisition.referrer.clone(),
            referrer_domain: s.acquisition.referrer_domain.clone(),
            channel: s.acquisition.channel.as_str().to_string(),
            utm_source: s.acquisition.utm_source.clone(),
            utm_medium: s.acquisition.utm_medium.clone(),
            utm_campaign: s.acquisition.utm_campaign.clone(),
            country: s.geo.country.clone(),
            city: s.geo.city.clone(),
            browser: s.client.browser.clone(),
            os: s.client.os.clone(),
            device: s.client.device.as_str().to_string(),
            rage: s.rage_clicks > 0,
            dead: s.dead_clicks > 0,
            error: s.error_pages > 0,
            jserror: s.js_errors > 0,
            converted,
            events,
            props,
            source: s.source.as_str().to_string(),
        })
    }
}

/// Indexes every session changed after the index's watermark, batch by
/// batch, committing each. Returns how many sessions it indexed.
pub(crate) fn catch_up(store: &Store, index: &SearchIndex) -> Result<usize, IndexError> {
    catch_up_with(store, index, &mut SiteCache::new(ONE_OFF_MAX_PATHS))
}

/// [`catch_up`] with a cache that outlives the pass.
fn catch_up_with(
    store: &Store,
    index: &SearchIndex,
    cache: &mut SiteCache,
) -> Result<usize, IndexError> {
    let conn = store.read()?;
    cache.fresh.clear();
    let mut after = index.watermark().unwrap_or(-1);
    let mut indexed = 0;
    loop {
        let batch: Vec<ChangedSession> = read::changed_sessions(&conn, after, BATCH)?;
        let Some(last) = batch.last().map(|c| c.change) else {
            return Ok(indexed);
        };
        let docs = batch
            .iter()
            .map(|c| cache.doc(&conn, c.site_id, &c.session))
            .collect::<Result<Vec<_>, _>>()?;
        index.upsert(&docs)?;
        index.commit(last)?;
        indexed += docs.len();
        after = last;
    }
}

/// `trailmap reindex`: empties the index and indexes every session.
pub(crate) fn rebuild(store: &Store, index: &SearchIndex) -> Result<usize, IndexError> {
    index.clear()?;
    index.commit(-1)?;
    catch_up(store, index)
}

/// Makes the calling thread yield the CPU to the collector: on two cores,
/// indexing the sessions a burst of traffic just changed would otherwise
/// take a core from the handlers and the writer when they need it most.
/// The index only lags a little more under load.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: plain system calls on this thread's own id; no memory
        // is shared. On Linux, PRIO_PROCESS with a thread id sets that
        // thread's nice value. A failure only leaves the priority as is.
        unsafe {
            let tid = libc::gettid();
            libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, 10);
        }
    }
}

/// The background indexer of a running server.
pub(crate) struct Indexer {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Indexer {
    /// Catches up, then follows the store every [`INTERVAL`] until stopped.
    /// Failures are logged and retried: search lags, ingest never waits.
    /// `max_paths`: page paths cached across passes (the writer's
    /// `--max-cached-pages`).
    pub(crate) fn start(store: Arc<Store>, index: Arc<SearchIndex>, max_paths: usize) -> Indexer {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("search-indexer".into())
            .spawn(move || {
                lower_priority();
                let mut cache = SiteCache::new(max_paths);
                while !flag.load(Ordering::Relaxed) {
                    match catch_up_with(&store, &index, &mut cache) {
                        Ok(0) => {}
                        Ok(n) => tracing::debug!("indexed {n} sessions"),
                        Err(e) => tracing::error!("search indexing failed (will retry): {e}"),
                    }
                    std::thread::park_timeout(INTERVAL);
                }
            })
            .expect("spawn the search indexer");
        Indexer {
            stop,
            thread: Some(thread),
        }
    }

    /// Stops after the batch in progress.
    pub(crate) fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}

impl Drop for Indexer {
    fn drop(&mut self) {
        self.halt();
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn one_off_passes_keep_as_many_paths_as_the_server_by_default() {
        assert_eq!(
            super::ONE_OFF_MAX_PATHS,
            crate::config::PipelineLimits::default().max_cached_pages
        );
    }
}
