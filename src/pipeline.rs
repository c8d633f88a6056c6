//! The single writer: sessionize batches and group-commit them.
//!
//! Request handlers validate and enrich in parallel, then hand their batch to
//! one OS thread through a bounded queue and wait. The thread takes every
//! batch waiting (up to a limit), places their events into sessions, writes
//! them in one SQLite transaction, commits, and only then answers each
//! handler, which answers 202. Many requests share one fsync, which is where
//! the throughput comes from; no request is answered before its events are
//! durable, which is where the guarantee comes from.
//!
//! The sessionizer's state lives in memory, in step with what is committed.
//! If a commit fails, the thread rebuilds that state from the store (the
//! truth) and retries the group one batch at a time, so one bad batch cannot
//! fail its neighbours.
//!
//! Everything held is bounded ([`PipelineLimits`]): the open sessions (the
//! least recently active close past the cap, and continue from the store if
//! their visitor comes back), the interned pages (a cache of the store), and
//! the queue, in batches, in bytes and in waiting time. A batch over a queue
//! bound is refused at submission (503), never after it was queued.

use std::hash::BuildHasher;
use std::num::NonZeroUsize;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use lru::LruCache;
use rustc_hash::FxHashMap as HashMap;
use tokio::sync::{mpsc, oneshot};

use crate::config::PipelineLimits;

use crate::event::{
    layout_shown, now_ms, Acquisition, ClientInfo, Event, EventKind, Geo, JsError, Millis, Source,
};
use crate::ingest::enrich;
use crate::ingest::sessionize::{OpenSession, SessionKey, Sessionizer, VisitorIds};
use crate::metrics::Metrics;
use crate::store::errors::NewJsError;
use crate::store::writer::{encode_event, SessionOrigin, WriteTxn, Writer};
use crate::store::{self, Store, StoreError};

/// Most batches committed in one transaction.
const MAX_GROUP: usize = 1024;
/// How far back a restart looks for sessions to continue.
pub(crate) const RESTORE_WINDOW: Duration = Duration::from_secs(24 * 3600);
/// Longest page path kept in the page cache, which bounds it in bytes.
const MAX_CACHED_PATH_BYTES: usize = 256;
/// How often idle sessions are dropped from memory.
const CLOSE_IDLE_EVERY: Duration = Duration::from_secs(10);

/// A validated, enriched batch of one visitor's events.
#[derive(Debug, Clone)]
pub(crate) struct IngestBatch {
    pub site_id: i64,
    pub source: Source,
    /// The tracker's session id; empty for sources without one.
    pub sid: String,
    pub visitor: VisitorIds,
    pub client: ClientInfo,
    pub geo: Geo,
    /// Events in time order.
    pub events: Vec<Event>,
    /// The events as stored ([`encode_event`]), same order; encoded by the
    /// request handler so the writer thread only concatenates.
    pub encoded: Vec<Box<str>>,
}

impl IngestBatch {
    /// Encodes `events` for storage.
    pub(crate) fn encode(events: &[Event]) -> Vec<Box<str>> {
        events.iter().map(encode_event).collect()
    }

    /// What the batch counts against the queue's byte bound: its encoded
    /// events (the parsed copies take about as much again).
    pub(crate) fn queued_bytes(&self) -> usize {
        self.encoded.iter().map(|e| e.len()).sum::<usize>() + self.sid.len()
    }
}

/// A run of one session's events within a batch, written as one row.
struct Chunk {
    session_id: i64,
    first_seq: u32,
    page_ids: Vec<u32>,
    json: String,
}

impl Chunk {
    fn new(session_id: i64, first_seq: u32) -> Chunk {
        Chunk {
            session_id,
            first_seq,
            page_ids: Vec::new(),
            json: String::from("["),
        }
    }

    fn push(&mut self, page: Option<u32>, encoded: &str) {
        if !self.page_ids.is_empty() {
            self.json.push(',');
        }
        self.json.push_str(encoded);
        self.page_ids.push(page.unwrap_or(0));
    }

    /// Writes the chunk and returns its id.
    fn write(mut self, txn: &mut WriteTxn<'_>) -> store::Result<(i64, i64)> {
        self.json.push(']');
        let id = txn.insert_chunk(self.session_id, self.first_seq, &self.page_ids, &self.json)?;
        Ok((self.session_id, id))
    }
}

/// What is known about a session when it starts, kept until its first write.
struct NewSession {
    site_id: i64,
    source: Source,
    sid: String,
    visitor: u64,
    client: ClientInfo,
    geo: Geo,
    acquisition: Acquisition,
}

/// Places batches into sessions and writes them into a transaction. The
/// collector's thread drives it; the log importer can drive it the same way.
pub(crate) struct SessionWriter {
    sessionizer: Sessionizer,
    /// Interned page ids: a bounded cache of the store's page table.
    pages: PageCache,
    /// Sessions started but not yet inserted.
    new_sessions: HashMap<i64, NewSession>,
    /// Chunks written since the last flush, by session: the flush adds them
    /// to the session's chunk list. (A session that an inactivity gap closed
    /// mid-batch is no longer reachable by then, hence the side table.)
    new_chunks: HashMap<i64, Vec<i64>>,
    /// Sessions started since load.
    sessions_started: u64,
    /// Sessions closed to make room, not yet counted in the metrics.
    sessions_closed: u64,
}

/// The most recently used interned pages. Keyed by a hash of (site, path)
/// so that a lookup allocates nothing; the entry keeps the path to confirm,
/// so a collision costs a lookup in the store, never a wrong page. Asked
/// for every event: a fast hasher (keyed per process), and the map keyed
/// by that hash as it is.
struct PageCache {
    entries: LruCache<u64, CachedPage, rustc_hash::FxBuildHasher>,
    hasher: foldhash::fast::RandomState,
}

struct CachedPage {
    site_id: i64,
    path: Box<str>,
    id: u32,
}

impl PageCache {
    fn new(capacity: usize) -> PageCache {
        PageCache {
            entries: LruCache::with_hasher(
                NonZeroUsize::new(capacity.max(1)).expect("at least 1"),
                rustc_hash::FxBuildHasher,
            ),
            hasher: foldhash::fast::RandomState::default(),
        }
    }

    fn key(&self, site_id: i64, path: &str) -> u64 {
        self.hasher.hash_one((site_id, path))
    }

    fn get(&mut self, site_id: i64, path: &str) -> Option<u32> {
        let key = self.key(site_id, path);
        self.entries
            .get(&key)
            .filter(|p| p.site_id == site_id && *p.path == *path)
            .map(|p| p.id)
    }

    fn put(&mut self, site_id: i64, path: &str, id: u32) {
        let key = self.key(site_id, path);
        self.entries.put(
            key,
            CachedPage {
                site_id,
                path: path.into(),
                id,
            },
        );
    }
}

impl SessionWriter {
    /// Loads the interned pages and, for continuity across restarts, the
    /// sessions still open at `now` (those that started within the last
    /// [`RESTORE_WINDOW`]; an older session ends at a restart).
    pub(crate) fn load(
        writer: &Writer,
        timeout: Duration,
        now: Millis,
    ) -> store::Result<SessionWriter> {
        Self::load_bounded(writer, timeout, now, &PipelineLimits::default())
    }

    /// [`SessionWriter::load`] within `limits`: at most
    /// `max_open_sessions` are restored (the most recently active).
    pub(crate) fn load_bounded(
        writer: &Writer,
        timeout: Duration,
        now: Millis,
        limits: &PipelineLimits,
    ) -> store::Result<SessionWriter> {
        let timeout_ms = timeout.as_millis() as Millis;
        let mut sessionizer = Sessionizer::with_memory(
            timeout_ms,
            writer.next_session_id()?,
            limits.max_open_sessions,
            limits.max_session_memory,
        );
        let restore_since = now - RESTORE_WINDOW.as_millis() as Millis;
        for s in writer.open_sessions(restore_since, now - timeout_ms, limits.max_open_sessions)? {
            let key = SessionKey {
                site_id: s.site_id,
                visitor: s.visitor,
                sid: s.sid.into(),
            };
            sessionizer.restore(key, OpenSession::stored(s.id, s.totals, s.current_page));
        }
        // Pages are looked up in the store on a cache miss, so none are
        // loaded here: a site's page table can be far larger than the cache.
        Ok(SessionWriter {
            sessionizer,
            pages: PageCache::new(limits.max_cached_pages),
            new_sessions: HashMap::default(),
            new_chunks: HashMap::default(),
            sessions_started: 0,
            sessions_closed: 0,
        })
    }

    pub(crate) fn open_sessions(&self) -> usize {
        self.sessionizer.open_count()
    }

    /// Sessions started since this writer was loaded.
    pub(crate) fn sessions_started(&self) -> u64 {
        self.sessions_started
    }

    /// Sessions closed to make room since the last call.
    pub(crate) fn take_sessions_closed(&mut self) -> u64 {
        std::mem::take(&mut self.sessions_closed)
    }

    fn intern(&mut self, txn: &mut WriteTxn<'_>, site_id: i64, path: &str) -> store::Result<u32> {
        if let Some(id) = self.pages.get(site_id, path) {
            return Ok(id);
        }
        let id = match txn.find_page(site_id, path)? {
            Some(id) => id,
            None => txn.insert_page(site_id, path)?,
        };
        // Long paths are rare in real traffic and would let invented URLs
        // make the cache big: they are looked up in the store every time.
        if path.len() <= MAX_CACHED_PATH_BYTES {
            self.pages.put(site_id, path, id);
        }
        Ok(id)
    }

    /// Continues a session closed to make room if this batch's visitor
    /// comes back within its window: its state is read back from the store.
    fn reopen(
        &mut self,
        txn: &mut WriteTxn<'_>,
        key: &SessionKey,
        batch: &IngestBatch,
    ) -> store::Result<()> {
        let Some(first) = batch.events.first() else {
            return Ok(());
        };
        if let Some(id) = self.sessionizer.reopen(key, first.ts) {
            if let Some(s) = txn.stored_session(id)? {
                self.sessionizer.restore(
                    key.clone(),
                    OpenSession::stored(s.id, s.totals, s.current_page),
                );
            }
        }
        Ok(())
    }

    /// Places a batch's events into sessions and writes the events. Session
    /// rows are written by [`SessionWriter::flush`], once per group.
    pub(crate) fn apply(
        &mut self,
        txn: &mut WriteTxn<'_>,
        batch: &IngestBatch,
    ) -> store::Result<()> {
        // Every session placed before was flushed by an earlier transaction
        // or this one, so skipping to the store's next id renumbers nothing
        // and keeps clear of what another writer stored meanwhile.
        self.sessionizer.skip_ids_below(txn.next_session_id());
        // One key for the whole batch (one visitor, one sid): placing an
        // event then hashes it but allocates nothing.
        let key = SessionKey {
            site_id: batch.site_id,
            visitor: batch.visitor.current,
            sid: batch.sid.as_str().into(),
        };
        self.reopen(txn, &key, batch)?;
        let mut chunk: Option<Chunk> = None;
        for (event, encoded) in batch.events.iter().zip(&batch.encoded) {
            let layout = layout_shown(event);
            if let Some(hash) = layout {
                txn.reference_layout(batch.site_id, hash, event.ts)?;
            }
            let page = match &event.path {
                Some(path) => Some(self.intern(txn, batch.site_id, path)?),
                None => None,
            };
            let session = self
                .sessionizer
                .place(&key, batch.visitor.previous, event.ts);
            if session.is_new && session.totals.event_count == 0 {
                self.sessions_started += 1;
                self.new_sessions.insert(
                    session.id,
                    NewSession {
                        site_id: batch.site_id,
                        source: batch.source,
                        sid: batch.sid.clone(),
                        visitor: batch.visitor.current,
                        client: batch.client.clone(),
                        geo: batch.geo.clone(),
                        acquisition: acquisition_of(event),
                    },
                );
            }
            let page = page.or(session.current_page);
            if event.kind == EventKind::Pageview {
                session.current_page = page;
            }
            let seq = session.totals.event_count;
            session.totals.record(event, page);
            if let (Some(hash), Some(view)) = (layout, session.totals.view_of(page)) {
                txn.record_view_layout(batch.site_id, session.id, view as u32, page, hash)?;
            }
            if let Some(error) = JsError::of(event) {
                let view = session.totals.view_of(page).unwrap_or(0);
                txn.record_js_error(&NewJsError {
                    site_id: batch.site_id,
                    session_id: session.id,
                    view: view as u32,
                    ts: event.ts,
                    page_id: page,
                    error: &error,
                })?;
            }
            // An inactivity gap inside the batch starts another session's run.
            if chunk.as_ref().is_some_and(|c| c.session_id != session.id) {
                let (session_id, chunk_id) = chunk.take().expect("checked").write(txn)?;
                self.new_chunks
                    .entry(session_id)
                    .or_default()
                    .push(chunk_id);
            }
            chunk
                .get_or_insert_with(|| Chunk::new(session.id, seq))
                .push(page, encoded);
        }
        if let Some(c) = chunk {
            let (session_id, chunk_id) = c.write(txn)?;
            self.new_chunks
                .entry(session_id)
                .or_default()
                .push(chunk_id);
        }
        Ok(())
    }

    /// Writes the session rows changed since the last flush.
    pub(crate) fn flush(&mut self, txn: &mut WriteTxn<'_>) -> store::Result<()> {
        let new_sessions = &mut self.new_sessions;
        let new_chunks = &mut self.new_chunks;
        self.sessionizer.flush(|s| {
            if let Some(ids) = new_chunks.remove(&s.id) {
                s.totals.chunk_ids.extend(ids);
            }
            if !s.is_new {
                return txn.update_session(s.id, &s.totals);
            }
            let info = new_sessions.remove(&s.id).ok_or_else(|| {
                StoreError::Invalid(format!("session {} started without its origin", s.id))
            })?;
            let origin = SessionOrigin {
                site_id: info.site_id,
                source: info.source,
                sid: &info.sid,
                visitor: info.visitor,
                acquisition: &info.acquisition,
                client: &info.client,
                geo: &info.geo,
            };
            txn.insert_session(s.id, &origin, &s.totals)
        })?;
        // Everything is written now, so sessions past the cap can close.
        self.sessions_closed += self.sessionizer.close_over_cap() as u64;
        Ok(())
    }

    /// Drops sessions idle at `now` from memory.
    pub(crate) fn close_idle(&mut self, now: Millis) {
        self.sessionizer.close_idle(now);
    }
}

/// How a session was acquired, from its first event: the landing page's URL
/// and referrer when it starts with a page view, else unknown (direct). A
/// referrer on the landing page's own host is internal navigation, which
/// `acquisition` already knows from the URL.
fn acquisition_of(first: &Event) -> Acquisition {
    enrich::acquisition(
        first.detail.url.as_deref(),
        first.detail.referrer.as_deref(),
        &[],
    )
}

/// Why a batch was not committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SubmitError {
    /// The queue is full: try again later (503).
    Busy,
    /// The queue holds its byte bound of events: try again later (503).
    QueueBytes,
    /// Batches wait longer than the queue's wait bound: try again later (503).
    QueueWait,
    /// The pipeline has stopped (shutdown).
    Closed,
    /// The disk is full: try again later (503); nothing is stored until
    /// space is freed.
    DiskFull,
    /// Another writer on the database (an import) held its write lock past
    /// the busy timeout: try again later (503).
    StoreBusy,
    /// The commit failed (I/O error, corruption...).
    Failed(String),
}

/// A queued batch: what it counts against the byte bound, and since when
/// it waits.
struct Queued {
    batch: Box<IngestBatch>,
    /// The answer, with the batch itself: the handler frees it, so the
    /// single writer thread does not spend its time on that (freeing a
    /// batch's events was about 6% of it).
    done: oneshot::Sender<(Result<(), SubmitError>, Box<IngestBatch>)>,
    bytes: usize,
    since: Instant,
}

enum Job {
    Batch(Queued),
    Stop,
}

/// The queue's byte and wait bounds, shared by the submitters (which check
/// them) and the writer thread (which updates them).
struct QueueBounds {
    max_bytes: usize,
    max_wait: Duration,
    /// Bytes of the batches queued or being committed.
    bytes: AtomicUsize,
    /// Set by the writer when the batches it committed waited longer than
    /// `max_wait` and more are waiting; cleared once it catches up.
    overloaded: AtomicBool,
    /// When the oldest batch still in the queue was queued, in nanoseconds
    /// since `epoch` (0: none waits). A submitter stamps it when it finds
    /// it 0; the writer clears it when it takes the queue (or stamps the
    /// time it took it, when batches stay behind, which can only
    /// understate their wait). So a commit that hangs (another writer's
    /// lock, a slow disk) refuses new batches once the batches behind it
    /// have waited `max_wait`, not only after it ends.
    oldest_queued_ns: AtomicU64,
    epoch: Instant,
}

impl QueueBounds {
    /// Takes room for `bytes`, or says which bound refuses it. An empty
    /// queue takes any batch (the body limit bounds one batch).
    fn admit(&self, bytes: usize) -> Result<(), SubmitError> {
        if self.overloaded.load(Relaxed) || self.oldest_waited() > self.max_wait {
            return Err(SubmitError::QueueWait);
        }
        let before = self.bytes.fetch_add(bytes, Relaxed);
        if before > 0 && before + bytes > self.max_bytes {
            self.bytes.fetch_sub(bytes, Relaxed);
            return Err(SubmitError::QueueBytes);
        }
        Ok(())
    }

    fn release(&self, bytes: usize) {
        self.bytes.fetch_sub(bytes, Relaxed);
    }

    fn now_ns(&self) -> u64 {
        // Never 0, which means "none waits".
        (self.epoch.elapsed().as_nanos() as u64).max(1)
    }

    /// How long the oldest batch in the queue has waited so far.
    fn oldest_waited(&self) -> Duration {
        match self.oldest_queued_ns.load(Relaxed) {
            0 => Duration::ZERO,
            since => Duration::from_nanos(self.now_ns().saturating_sub(since)),
        }
    }

    /// A batch is being queued: the oldest one, if none waits.
    fn stamp_queued(&self) {
        let _ = self
            .oldest_queued_ns
            .compare_exchange(0, self.now_ns(), Relaxed, Relaxed);
    }

    /// The writer took what was queued; `more` when some stayed behind.
    fn taken(&self, more: bool) {
        let next = if more { self.now_ns() } else { 0 };
        self.oldest_queued_ns.store(next, Relaxed);
    }
}

/// Hands batches to the writer thread. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Submitter {
    tx: mpsc::Sender<Job>,
    bounds: Arc<QueueBounds>,
    metrics: Arc<Metrics>,
}

impl Submitter {
    /// Queues a batch and waits until it is durably committed. A batch
    /// refused by a queue bound is refused here, before it is queued: once
    /// queued it is committed, whatever happens to the client.
    pub(crate) async fn submit(&self, batch: IngestBatch) -> Result<(), SubmitError> {
        let (done, answer) = oneshot::channel();
        let bytes = batch.queued_bytes();
        self.bounds.admit(bytes)?;
        self.bounds.stamp_queued();
        let job = Job::Batch(Queued {
            batch: Box::new(batch),
            done,
            bytes,
            since: Instant::now(),
        });
        if let Err(e) = self.tx.try_send(job) {
            self.bounds.release(bytes);
            return Err(match e {
                mpsc::error::TrySendError::Full(_) => SubmitError::Busy,
                mpsc::error::TrySendError::Closed(_) => SubmitError::Closed,
            });
        }
        self.metrics.queue_depth.fetch_add(1, Relaxed);
        match answer.await {
            Ok((result, _batch)) => result,
            Err(_) => Err(SubmitError::Closed),
        }
    }
}

/// The running writer thread.
pub(crate) struct Pipeline {
    submitter: Submitter,
    thread: Option<JoinHandle<()>>,
}

impl Pipeline {
    /// Opens the write connection, restores open sessions and starts the thread.
    pub(crate) fn start(
        store: &Store,
        fsync_every_commit: bool,
        session_timeout: Duration,
        queue_capacity: usize,
        limits: PipelineLimits,
        metrics: Arc<Metrics>,
    ) -> store::Result<Pipeline> {
        let writer = store.writer(fsync_every_commit)?;
        let sessions = SessionWriter::load_bounded(&writer, session_timeout, now_ms(), &limits)?;
        let (tx, rx) = mpsc::channel(queue_capacity);
        let bounds = Arc::new(QueueBounds {
            max_bytes: limits.queue_max_bytes,
            max_wait: limits.queue_max_wait,
            bytes: AtomicUsize::new(0),
            overloaded: AtomicBool::new(false),
            oldest_queued_ns: AtomicU64::new(0),
            epoch: Instant::now(),
        });
        let thread_metrics = metrics.clone();
        let worker = WriterThread {
            writer,
            sessions,
            session_timeout,
            limits,
            bounds: bounds.clone(),
            metrics: thread_metrics,
            disk_full_at: None,
        };
        let thread = std::thread::Builder::new()
            .name("trailmap-writer".into())
            .spawn(move || worker.run(rx))
            .map_err(StoreError::Io)?;
        Ok(Pipeline {
            submitter: Submitter {
                tx,
                bounds,
                metrics,
            },
            thread: Some(thread),
        })
    }

    pub(crate) fn submitter(&self) -> Submitter {
        self.submitter.clone()
    }

    /// Commits everything queued so far and stops the thread.
    pub(crate) async fn shutdown(mut self) {
        // A full queue makes this wait for room, never drop the stop.
        let _ = self.submitter.tx.send(Job::Stop).await;
        if let Some(thread) = self.thread.take() {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
    }
}

struct WriterThread {
    writer: Writer,
    sessions: SessionWriter,
    session_timeout: Duration,
    limits: PipelineLimits,
    bounds: Arc<QueueBounds>,
    metrics: Arc<Metrics>,
    /// When a commit last failed for a full disk.
    disk_full_at: Option<Instant>,
}

/// While the disk is full, a commit is tried at most this often: each try
/// that fails reloads the open sessions from the store, which under load
/// would be paid for every group. Between tries batches are refused at
/// once (503), and `/healthz` clears the flag as soon as space is back.
const DISK_FULL_RETRY: Duration = Duration::from_secs(1);

type Group = Vec<Queued>;

impl WriterThread {
    fn run(mut self, mut rx: mpsc::Receiver<Job>) {
        let mut last_close = Instant::now();
        let mut group = Vec::with_capacity(MAX_GROUP);
        let mut stopping = false;
        while !stopping {
            let Some(first) = rx.blocking_recv() else {
                break;
            };
            for job in std::iter::once(first).chain(std::iter::from_fn(|| rx.try_recv().ok())) {
                match job {
                    Job::Batch(queued) => group.push(queued),
                    Job::Stop => stopping = true,
                }
                if group.len() >= MAX_GROUP {
                    break;
                }
            }
            if stopping {
                // Whatever was queued before the stop is committed too.
                while let Ok(Job::Batch(queued)) = rx.try_recv() {
                    group.push(queued);
                }
            }
            self.bounds.taken(!rx.is_empty());
            self.metrics
                .queue_depth
                .fetch_sub(group.len() as i64, Relaxed);
            let waited = group.iter().map(|q| q.since.elapsed()).max();
            let bytes: usize = group.iter().map(|q| q.bytes).sum();
            self.commit_group(&mut group);
            self.bounds.release(bytes);
            // Refuse new batches while those committed waited too long and
            // more wait behind them; an empty queue means it caught up.
            let behind = waited.is_some_and(|w| w > self.bounds.max_wait) && !rx.is_empty();
            self.bounds.overloaded.store(behind, Relaxed);
            if last_close.elapsed() >= CLOSE_IDLE_EVERY {
                self.sessions.close_idle(now_ms());
                last_close = Instant::now();
            }
            self.metrics
                .open_sessions
                .store(self.sessions.open_sessions() as i64, Relaxed);
            self.metrics
                .sessions_closed
                .fetch_add(self.sessions.take_sessions_closed(), Relaxed);
        }
        tracing::debug!("writer thread stopped");
    }

    /// Commits a group and answers every waiting handler.
    fn commit_group(&mut self, group: &mut Group) {
        if group.is_empty() {
            return;
        }
        if self.disk_still_full() {
            // Nothing was applied, so nothing needs recovering.
            self.answer(group, vec![Err(SubmitError::DiskFull); group.len()]);
            return;
        }
        let batches: Vec<&IngestBatch> = group.iter().map(|q| &*q.batch).collect();
        let results = match self.commit(&batches) {
            Ok(()) => {
                self.metrics.disk_full.store(false, Relaxed);
                self.disk_full_at = None;
                vec![Ok(()); group.len()]
            }
            // Retrying one by one cannot help: every batch needs space.
            Err(e) if e.is_disk_full() => {
                tracing::error!(
                    "group commit of {} batches failed, the disk is full: {e}",
                    group.len()
                );
                self.metrics.disk_full.store(true, Relaxed);
                self.disk_full_at = Some(Instant::now());
                self.recover();
                vec![Err(SubmitError::DiskFull); group.len()]
            }
            // Another writer held the lock past the busy timeout: retrying
            // batch by batch would wait that long again for each.
            Err(e) if e.is_busy() => {
                tracing::warn!(
                    "group commit of {} batches waited too long for another writer: {e}",
                    group.len()
                );
                self.recover();
                vec![Err(SubmitError::StoreBusy); group.len()]
            }
            Err(e) => {
                tracing::warn!("group commit of {} batches failed: {e}", group.len());
                self.recover();
                // Retry one by one so only the batches at fault fail.
                batches
                    .iter()
                    .map(|b| {
                        self.commit(std::slice::from_ref(b)).map_err(|e| {
                            self.recover();
                            tracing::error!("batch for site {} not committed: {e}", b.site_id);
                            if e.is_disk_full() {
                                self.metrics.disk_full.store(true, Relaxed);
                                self.disk_full_at = Some(Instant::now());
                                SubmitError::DiskFull
                            } else {
                                SubmitError::Failed(e.to_string())
                            }
                        })
                    })
                    .collect()
            }
        };
        self.answer(group, results);
    }

    /// Whether a commit should not even be tried: the last one failed for
    /// a full disk less than [`DISK_FULL_RETRY`] ago, and `/healthz` has
    /// not seen space come back since.
    fn disk_still_full(&self) -> bool {
        self.metrics.disk_full.load(Relaxed)
            && self
                .disk_full_at
                .is_some_and(|at| at.elapsed() < DISK_FULL_RETRY)
    }

    /// Answers every waiting handler of `group`, which it empties.
    fn answer(&self, group: &mut Group, results: Vec<Result<(), SubmitError>>) {
        for (Queued { batch, done, .. }, result) in group.drain(..).zip(results) {
            if result.is_ok() {
                self.metrics
                    .events_accepted
                    .fetch_add(batch.events.len() as u64, Relaxed);
            }
            // The handler may have gone (client disconnected); the data is
            // stored anyway, and the batch is freed here then.
            let _ = done.send((result, batch));
        }
    }

    fn commit(&mut self, batches: &[&IngestBatch]) -> store::Result<()> {
        let started = Instant::now();
        let result = (|| {
            let mut txn = self.writer.begin()?;
            for batch in batches {
                self.sessions.apply(&mut txn, batch)?;
            }
            self.sessions.flush(&mut txn)?;
            txn.commit()
        })();
        self.metrics
            .commit(started.elapsed(), batches.len(), result.is_ok());
        result
    }

    /// Rebuilds the in-memory state from the store after a failed commit.
    fn recover(&mut self) {
        match SessionWriter::load_bounded(
            &self.writer,
            self.session_timeout,
            now_ms(),
            &self.limits,
        ) {
            Ok(s) => self.sessions = s,
            Err(e) => tracing::error!("cannot reload sessions after a failed commit: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{DeviceClass, EventDetail};
    use crate::store::sites;

    fn pageviews(site_id: i64, visitor: u64, paths: &[&str], ts: Millis) -> IngestBatch {
        let events: Vec<Event> = paths
            .iter()
            .enumerate()
            .map(|(i, p)| Event {
                kind: EventKind::Pageview,
                ts: ts + i as Millis,
                path: Some(p.to_string()),
                detail: EventDetail::default(),
            })
            .collect();
        IngestBatch {
            site_id,
            source: Source::Tracker,
            sid: "tab".into(),
            visitor: VisitorIds {
                current: visitor,
                previous: None,
            },
            client: ClientInfo {
                browser: "Chrome".into(),
                os: "Linux".into(),
                device: DeviceClass::Desktop,
                is_bot: false,
            },
            geo: Geo::default(),
            encoded: IngestBatch::encode(&events),
            events,
        }
    }

    /// Two writers on one file (a server and an import), loaded at the same
    /// moment and then taking turns at SQLite's write lock: neither reuses
    /// a session id the other stored, and a page the other interned is
    /// found rather than inserted twice.
    #[test]
    fn two_writers_on_one_database_share_ids_and_pages() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.db")).unwrap();
        let origins = ["https://shop.example".to_string()];
        let site = sites::add(&mut store.admin().unwrap(), "shop", &origins, 0).unwrap();
        let timeout = Duration::from_secs(1800);
        let now = now_ms();
        let mut writers = [store.writer(false).unwrap(), store.writer(false).unwrap()];
        let mut sessions: Vec<SessionWriter> = writers
            .iter()
            .map(|w| SessionWriter::load(w, timeout, now).unwrap())
            .collect();
        for round in 0..3u64 {
            for (k, (w, s)) in writers.iter_mut().zip(&mut sessions).enumerate() {
                let visitor = round * 10 + k as u64;
                let mut txn = w.begin().unwrap();
                s.apply(&mut txn, &pageviews(site.id, visitor, &["/", "/cart"], now))
                    .unwrap();
                s.flush(&mut txn).unwrap();
                txn.commit().unwrap();
            }
        }
        let conn = store.read().unwrap();
        let count = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap();
        assert_eq!(count("SELECT COUNT(*) FROM sessions"), 6);
        assert_eq!(count("SELECT SUM(event_count) FROM sessions"), 12);
        assert_eq!(count("SELECT COUNT(*) FROM pages"), 2);
        // One chunk per session, each under its own session.
        assert_eq!(
            count("SELECT COUNT(DISTINCT session_id) FROM event_chunks"),
            6
        );
        assert_eq!(
            count("SELECT COUNT(*) FROM event_chunks c JOIN sessions s ON s.id = c.session_id"),
            6
        );
    }
}
