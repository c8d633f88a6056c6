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

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rustc_hash::FxHashMap as HashMap;
use tokio::sync::{mpsc, oneshot};

use crate::event::{Acquisition, ClientInfo, Event, EventKind, Geo, Millis, Source};
use crate::ingest::enrich;
use crate::ingest::sessionize::{OpenSession, SessionKey, Sessionizer, VisitorIds};
use crate::metrics::Metrics;
use crate::store::writer::{encode_event, SessionOrigin, WriteTxn, Writer};
use crate::store::{self, Store, StoreError};

/// Most batches committed in one transaction.
const MAX_GROUP: usize = 1024;
/// How far back a restart looks for sessions to continue.
pub const RESTORE_WINDOW: Duration = Duration::from_secs(24 * 3600);
/// How often idle sessions are dropped from memory.
const CLOSE_IDLE_EVERY: Duration = Duration::from_secs(10);

/// A validated, enriched batch of one visitor's events.
#[derive(Debug, Clone)]
pub struct IngestBatch {
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
    pub fn encode(events: &[Event]) -> Vec<Box<str>> {
        events.iter().map(encode_event).collect()
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
pub struct SessionWriter {
    sessionizer: Sessionizer,
    /// Interned page ids by site and path.
    pages: HashMap<i64, HashMap<String, u32>>,
    /// Sessions started but not yet inserted.
    new_sessions: HashMap<i64, NewSession>,
    /// Chunks written since the last flush, by session: the flush adds them
    /// to the session's chunk list. (A session that an inactivity gap closed
    /// mid-batch is no longer reachable by then, hence the side table.)
    new_chunks: HashMap<i64, Vec<i64>>,
    /// Sessions started since load.
    sessions_started: u64,
}

impl SessionWriter {
    /// Loads the interned pages and, for continuity across restarts, the
    /// sessions still open at `now` (those that started within the last
    /// [`RESTORE_WINDOW`]; an older session ends at a restart).
    pub fn load(writer: &Writer, timeout: Duration, now: Millis) -> store::Result<SessionWriter> {
        let timeout_ms = timeout.as_millis() as Millis;
        let mut sessionizer = Sessionizer::new(timeout_ms, writer.next_session_id()?);
        let restore_since = now - RESTORE_WINDOW.as_millis() as Millis;
        for s in writer.open_sessions(restore_since, now - timeout_ms)? {
            let key = SessionKey {
                site_id: s.site_id,
                visitor: s.visitor,
                sid: s.sid.into(),
            };
            sessionizer.restore(key, OpenSession::stored(s.id, s.totals, s.current_page));
        }
        let mut pages: HashMap<i64, HashMap<String, u32>> = HashMap::default();
        for (site_id, path, id) in writer.pages()? {
            pages.entry(site_id).or_default().insert(path, id);
        }
        Ok(SessionWriter {
            sessionizer,
            pages,
            new_sessions: HashMap::default(),
            new_chunks: HashMap::default(),
            sessions_started: 0,
        })
    }

    pub fn open_sessions(&self) -> usize {
        self.sessionizer.open_count()
    }

    /// Sessions started since this writer was loaded.
    pub fn sessions_started(&self) -> u64 {
        self.sessions_started
    }

    fn intern(&mut self, txn: &mut WriteTxn<'_>, site_id: i64, path: &str) -> store::Result<u32> {
        let site_pages = self.pages.entry(site_id).or_default();
        if let Some(id) = site_pages.get(path) {
            return Ok(*id);
        }
        let id = txn.insert_page(site_id, path)?;
        site_pages.insert(path.to_string(), id);
        Ok(id)
    }

    /// Places a batch's events into sessions and writes the events. Session
    /// rows are written by [`SessionWriter::flush`], once per group.
    pub fn apply(&mut self, txn: &mut WriteTxn<'_>, batch: &IngestBatch) -> store::Result<()> {
        // Every session placed before was flushed by an earlier transaction
        // or this one, so skipping to the store's next id renumbers nothing
        // and keeps clear of what another writer stored meanwhile.
        self.sessionizer.skip_ids_below(txn.next_session_id());
        let mut chunk: Option<Chunk> = None;
        for (event, encoded) in batch.events.iter().zip(&batch.encoded) {
            let page = match &event.path {
                Some(path) => Some(self.intern(txn, batch.site_id, path)?),
                None => None,
            };
            let session =
                self.sessionizer
                    .place(batch.site_id, batch.visitor, &batch.sid, event.ts);
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
    pub fn flush(&mut self, txn: &mut WriteTxn<'_>) -> store::Result<()> {
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
        })
    }

    /// Drops sessions idle at `now` from memory.
    pub fn close_idle(&mut self, now: Millis) {
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
pub enum SubmitError {
    /// The queue is full: try again later (503).
    Busy,
    /// The pipeline has stopped (shutdown).
    Closed,
    /// The disk is full: try again later (503); nothing is stored until
    /// space is freed.
    DiskFull,
    /// The commit failed (I/O error, corruption...).
    Failed(String),
}

enum Job {
    Batch(Box<IngestBatch>, oneshot::Sender<Result<(), SubmitError>>),
    Stop,
}

/// Hands batches to the writer thread. Cheap to clone.
#[derive(Clone)]
pub struct Submitter {
    tx: mpsc::Sender<Job>,
    metrics: Arc<Metrics>,
}

impl Submitter {
    /// Queues a batch and waits until it is durably committed.
    pub async fn submit(&self, batch: IngestBatch) -> Result<(), SubmitError> {
        let (done, answer) = oneshot::channel();
        self.tx
            .try_send(Job::Batch(Box::new(batch), done))
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => SubmitError::Busy,
                mpsc::error::TrySendError::Closed(_) => SubmitError::Closed,
            })?;
        self.metrics.queue_depth.fetch_add(1, Relaxed);
        answer.await.unwrap_or(Err(SubmitError::Closed))
    }
}

/// The running writer thread.
pub struct Pipeline {
    submitter: Submitter,
    thread: Option<JoinHandle<()>>,
}

impl Pipeline {
    /// Opens the write connection, restores open sessions and starts the thread.
    pub fn start(
        store: &Store,
        fsync_every_commit: bool,
        session_timeout: Duration,
        queue_capacity: usize,
        metrics: Arc<Metrics>,
    ) -> store::Result<Pipeline> {
        let writer = store.writer(fsync_every_commit)?;
        let sessions = SessionWriter::load(&writer, session_timeout, now_ms())?;
        let (tx, rx) = mpsc::channel(queue_capacity);
        let thread_metrics = metrics.clone();
        let worker = WriterThread {
            writer,
            sessions,
            session_timeout,
            metrics: thread_metrics,
        };
        let thread = std::thread::Builder::new()
            .name("trailmap-writer".into())
            .spawn(move || worker.run(rx))
            .map_err(StoreError::Io)?;
        Ok(Pipeline {
            submitter: Submitter { tx, metrics },
            thread: Some(thread),
        })
    }

    pub fn submitter(&self) -> Submitter {
        self.submitter.clone()
    }

    /// Commits everything queued so far and stops the thread.
    pub async fn shutdown(mut self) {
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
    metrics: Arc<Metrics>,
}

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
                    Job::Batch(batch, done) => group.push((*batch, done)),
                    Job::Stop => stopping = true,
                }
                if group.len() >= MAX_GROUP {
                    break;
                }
            }
            if stopping {
                // Whatever was queued before the stop is committed too.
                while let Ok(Job::Batch(batch, done)) = rx.try_recv() {
                    let batch = *batch;
                    group.push((batch, done));
                }
            }
            self.metrics
                .queue_depth
                .fetch_sub(group.len() as i64, Relaxed);
            self.commit_group(&mut group);
            if last_close.elapsed() >= CLOSE_IDLE_EVERY {
                self.sessions.close_idle(now_ms());
                last_close = Instant::now();
            }
            self.metrics
                .open_sessions
                .store(self.sessions.open_sessions() as i64, Relaxed);
        }
        tracing::debug!("writer thread stopped");
    }

    /// Commits a group and answers every waiting handler.
    fn commit_group(
        &mut self,
        group: &mut Vec<(IngestBatch, oneshot::Sender<Result<(), SubmitError>>)>,
    ) {
        if group.is_empty() {
            return;
        }
        let batches: Vec<&IngestBatch> = group.iter().map(|(b, _)| b).collect();
        let results = match self.commit(&batches) {
            Ok(()) => {
                self.metrics.disk_full.store(false, Relaxed);
                vec![Ok(()); group.len()]
            }
            // Retrying one by one cannot help: every batch needs space.
            Err(e) if e.is_disk_full() => {
                tracing::error!(
                    "group commit of {} batches failed, the disk is full: {e}",
                    group.len()
                );
                self.metrics.disk_full.store(true, Relaxed);
                self.recover();
                vec![Err(SubmitError::DiskFull); group.len()]
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
                                SubmitError::DiskFull
                            } else {
                                SubmitError::Failed(e.to_string())
                            }
                        })
                    })
                    .collect()
            }
        };
        for ((batch, done), result) in group.drain(..).zip(results) {
            if result.is_ok() {
                self.metrics
                    .events_accepted
                    .fetch_add(batch.events.len() as u64, Relaxed);
            }
            // The handler may have gone (client disconnected); the data is stored anyway.
            let _ = done.send(result);
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
        match SessionWriter::load(&self.writer, self.session_timeout, now_ms()) {
            Ok(s) => self.sessions = s,
            Err(e) => tracing::error!("cannot reload sessions after a failed commit: {e}"),
        }
    }
}

/// The wall clock in milliseconds.
pub fn now_ms() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as Millis)
        .unwrap_or(0)
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
