//! The write side, as the pipeline drives it: one connection, one
//! transaction per group of batches, prepared statements reused across
//! groups. Nothing here decides anything; the pipeline says what to write.

use std::sync::{Arc, Condvar, Mutex};

use rusqlite::{params, Connection, OptionalExtension, Transaction};

use super::Result;
use crate::event::{
    pack_ids, pack_marks, pack_pages, pack_signals, pack_times, unpack_ids, unpack_marks,
    unpack_signals, unpack_times, Acquisition, ClientInfo, Event, Geo, SessionTotals, Source,
};

/// The pipeline's connection.
pub(crate) struct Writer {
    conn: Connection,
    gate: Arc<PauseGate>,
    _checkpointer: Checkpointer,
}

/// An event as stored inside a chunk: `{"type", "ts", ...fields}`. Request
/// handlers encode in parallel, so the single writer only concatenates.
///
/// Written as the prefix, then the detail serialized as the struct it is
/// with its opening brace turned into a comma: the same bytes as a
/// `#[serde(flatten)]` wrapper would give, without serde's flatten, which
/// serializes through a map and cost the request handlers about 2% of
/// their time (the test below holds the two to the same output).
pub(crate) fn encode_event(event: &Event) -> Box<str> {
    use std::fmt::Write;
    let mut out = String::with_capacity(160);
    let _ = write!(
        out,
        "{{\"type\":\"{}\",\"ts\":{}",
        event.kind.as_str(),
        event.ts
    );
    let at = out.len();
    let mut bytes = out.into_bytes();
    serde_json::to_writer(&mut bytes, &event.detail).expect("events serialise");
    if bytes.len() - at == 2 {
        // `{}`: nothing but type and time.
        bytes.truncate(at);
        bytes.push(b'}');
    } else {
        bytes[at] = b',';
    }
    String::from_utf8(bytes)
        .expect("serde_json writes UTF-8")
        .into_boxed_str()
}

/// Copies the WAL back into the database on its own thread and connection,
/// so that the writer's commits do not stall on it (SQLite's automatic
/// checkpoint runs inside a commit, on the writer thread).
///
/// A PASSIVE checkpoint copies without blocking anyone, but under steady
/// writes it never quite catches up, and only a checkpoint that has copied
/// every frame lets the next write restart the WAL from its beginning. So
/// once the WAL is longer than [`RESTART_AT_PAGES`], the checkpointer copies
/// the bulk, then pauses the writer between two commits (through the
/// [`PauseGate`]) while it copies the few frames written meanwhile. It also
/// fsyncs the database file after every round, so that the fsync inside the
/// pause has little left to flush. The writer waits a few milliseconds now
/// and then instead of doing the whole copy and flush inside a commit.
struct Checkpointer {
    stop: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Checkpointer {
    fn start(
        conn: Connection,
        db_path: &std::path::Path,
        gate: Arc<PauseGate>,
    ) -> std::io::Result<Checkpointer> {
        let db_file = std::fs::File::open(db_path)?;
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("trailmap-checkpoint".into())
            .spawn(move || loop {
                let done = !matches!(
                    stopped.recv_timeout(CHECKPOINT_EVERY),
                    Err(std::sync::mpsc::RecvTimeoutError::Timeout)
                );
                if let Err(e) = checkpoint(&conn, &db_file, &gate, done) {
                    tracing::warn!("checkpoint failed: {e}");
                }
                if done {
                    break;
                }
            })?;
        Ok(Checkpointer {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

/// One round. On the way out, TRUNCATE, which leaves an empty WAL.
fn checkpoint(
    conn: &Connection,
    db_file: &std::fs::File,
    gate: &PauseGate,
    last: bool,
) -> rusqlite::Result<()> {
    // Returns (frames in the WAL, frames copied).
    let passive = || {
        conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
            Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
        })
    };
    if last {
        return conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
    }
    let (frames, _) = passive()?;
    // A partial checkpoint leaves the pages it copied unsynced; the one that
    // completes would fsync them all while the writer waits. Flushing them
    // here, every round, keeps that final fsync small.
    if let Err(e) = db_file.sync_data() {
        tracing::warn!("cannot sync the database file: {e}");
    }
    if frames >= RESTART_AT_PAGES {
        let _paused = gate.pause(PAUSE_WAIT);
        passive()?;
    }
    Ok(())
}

/// Lets the checkpointer hold the writer between two transactions.
#[derive(Default)]
struct PauseGate {
    state: Mutex<GateState>,
    changed: Condvar,
}

#[derive(Default, PartialEq, Eq, Clone, Copy)]
enum GateState {
    #[default]
    Open,
    /// The checkpointer wants the writer to stop at its next transaction.
    Requested,
    /// The writer is waiting at the gate.
    Held,
}

impl PauseGate {
    /// Called by the writer before each transaction: waits while paused.
    fn pass(&self) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if *state != GateState::Requested {
            return;
        }
        *state = GateState::Held;
        self.changed.notify_all();
        while *state != GateState::Open {
            state = self.changed.wait(state).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Asks the writer to stop at its next transaction and waits up to
    /// `wait` for it (an idle writer never comes, and need not). The writer
    /// resumes when the returned guard drops.
    fn pause(&self, wait: std::time::Duration) -> PauseGuard<'_> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        *state = GateState::Requested;
        let (state, _) = self
            .changed
            .wait_timeout_while(state, wait, |s| *s == GateState::Requested)
            .unwrap_or_else(|e| e.into_inner());
        drop(state);
        PauseGuard { gate: self }
    }
}

struct PauseGuard<'a> {
    gate: &'a PauseGate,
}

impl Drop for PauseGuard<'_> {
    fn drop(&mut self) {
        *self.gate.state.lock().unwrap_or_else(|e| e.into_inner()) = GateState::Open;
        self.gate.changed.notify_all();
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(200);
/// WAL length (4 KiB pages) past which the checkpointer restarts it: 32 MiB.
const RESTART_AT_PAGES: i64 = 8192;
/// How long the checkpointer waits for a busy writer to reach the gate.
const PAUSE_WAIT: std::time::Duration = std::time::Duration::from_secs(1);
/// WAL length at which the writer checkpoints by itself: 256 MiB.
const SAFETY_CHECKPOINT_PAGES: i64 = 65536;

/// Who a new session belongs to and what is known about it at its start.
pub(crate) struct SessionOrigin<'a> {
    pub site_id: i64,
    pub source: Source,
    pub sid: &'a str,
    pub visitor: u64,
    pub acquisition: &'a Acquisition,
    pub client: &'a ClientInfo,
    pub geo: &'a Geo,
}

impl Writer {
    /// Takes the write connection and a second one for checkpoints.
    pub(super) fn new(
        conn: Connection,
        checkpoint_conn: Connection,
        db_path: &std::path::Path,
    ) -> Result<Writer> {
        // Checkpoints are the background thread's job; this is only a safety
        // net should it fall far behind.
        conn.pragma_update(None, "wal_autocheckpoint", SAFETY_CHECKPOINT_PAGES)?;
        let gate = Arc::new(PauseGate::default());
        Ok(Writer {
            conn,
            _checkpointer: Checkpointer::start(checkpoint_conn, db_path, gate.clone())
                .map_err(super::StoreError::Io)?,
            gate,
        })
    }

    /// Starts a write transaction. SQLite's IMMEDIATE mode takes the write
    /// lock now, so an admin write cannot make the commit fail half-way.
    pub(crate) fn begin(&mut self) -> Result<WriteTxn<'_>> {
        self.gate.pass();
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        // Under the write lock, so every writer (a server and an import on
        // one file) draws from one sequence, in commit order.
        let change: i64 = tx
            .prepare_cached(&format!("SELECT {} + 1", super::journeys::LAST_CHANGE))?
            .query_row([], |r| r.get(0))?;
        // Likewise the session ids: another process may have stored
        // sessions since this one last looked, so new ones start past them.
        let next_session_id: i64 = tx
            .prepare_cached("SELECT IFNULL(MAX(id), 0) + 1 FROM sessions")?
            .query_row([], |r| r.get(0))?;
        Ok(WriteTxn {
            tx,
            change,
            next_session_id,
        })
    }

    /// One past the largest session id stored.
    pub(crate) fn next_session_id(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("SELECT IFNULL(MAX(id), 0) + 1 FROM sessions", [], |r| {
                r.get(0)
            })?)
    }

    /// Sessions whose last event is at or after `active_since` and that
    /// started at or after `started_since`: those a restarted pipeline may
    /// still continue, the `limit` most recently active of them (the
    /// pipeline holds at most that many). The start bound lets the query use
    /// the start index (no index on the end time, which every batch would
    /// have to update).
    pub(crate) fn open_sessions(
        &self,
        started_since: i64,
        active_since: i64,
        limit: usize,
    ) -> Result<Vec<StoredOpenSession>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {STORED_SESSION_COLUMNS}
             FROM sites t JOIN sessions s ON s.site_id = t.id
             WHERE s.start_ms >= ?1 AND s.end_ms >= ?2
             ORDER BY s.end_ms DESC LIMIT ?3"
        ))?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt.query_map(params![started_since, active_since, limit], stored_session)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

/// The columns [`stored_session`] reads, from `sessions s`.
const STORED_SESSION_COLUMNS: &str =
    "s.id, s.site_id, s.visitor, s.sid, s.start_ms, s.end_ms, s.event_count,
     s.pages, s.rage_clicks, s.dead_clicks, s.error_pages, s.exit_page, s.chunks,
     s.page_times, s.page_signals, s.marks, s.js_errors";

fn stored_session(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredOpenSession> {
    let pages: Vec<u8> = r.get(7)?;
    let chunks: Vec<u8> = r.get(12)?;
    let times: Vec<u8> = r.get(13)?;
    let signals: Vec<u8> = r.get(14)?;
    let marks: String = r.get(15)?;
    let start: i64 = r.get(4)?;
    Ok(StoredOpenSession {
        id: r.get(0)?,
        site_id: r.get(1)?,
        visitor: r.get::<_, i64>(2)? as u64,
        sid: r.get(3)?,
        totals: SessionTotals {
            start: r.get(4)?,
            end: r.get(5)?,
            event_count: r.get(6)?,
            pages: crate::event::unpack_pages(&pages),
            rage_clicks: r.get(8)?,
            dead_clicks: r.get(9)?,
            error_pages: r.get(10)?,
            js_errors: r.get(16)?,
            chunk_ids: unpack_ids(&chunks),
            page_times: unpack_times(start, &times),
            page_signals: unpack_signals(&signals),
            marks: unpack_marks(start, &marks),
        },
        current_page: r.get(11)?,
    })
}

/// A session as stored, enough to continue it after a restart.
pub(crate) struct StoredOpenSession {
    pub id: i64,
    pub site_id: i64,
    pub visitor: u64,
    pub sid: String,
    pub totals: SessionTotals,
    pub current_page: Option<u32>,
}

/// One group commit.
pub(crate) struct WriteTxn<'c> {
    tx: Transaction<'c>,
    /// This commit's number in the sessions' change sequence: every session
    /// it writes is marked with it, so the search index can catch up on
    /// what changed after the last commit it indexed.
    change: i64,
    /// One past the largest session id stored when this transaction took
    /// the write lock: no other writer can store one until it commits.
    next_session_id: i64,
}

impl WriteTxn<'_> {
    /// The first session id free in this transaction.
    pub(crate) fn next_session_id(&self) -> i64 {
        self.next_session_id
    }

    /// Returns the id of a page path in the site's page table, adding it if
    /// needed. Another writer on the same file (an import beside a server)
    /// may have added it since this process cached the table, hence the
    /// lookup when the insert finds it there.
    pub(crate) fn insert_page(&mut self, site_id: i64, path: &str) -> Result<u32> {
        let mut insert = self
            .tx
            .prepare_cached("INSERT OR IGNORE INTO pages (site_id, path) VALUES (?1, ?2)")?;
        if insert.execute(params![site_id, path])? == 1 {
            return Ok(self.tx.last_insert_rowid() as u32);
        }
        let mut find = self
            .tx
            .prepare_cached("SELECT id FROM pages WHERE site_id = ?1 AND path = ?2")?;
        Ok(find.query_row(params![site_id, path], |r| r.get(0))?)
    }

    /// The id of a page path already interned, if it is.
    pub(crate) fn find_page(&mut self, site_id: i64, path: &str) -> Result<Option<u32>> {
        let mut stmt = self
            .tx
            .prepare_cached("SELECT id FROM pages WHERE site_id = ?1 AND path = ?2")?;
        Ok(stmt
            .query_row(params![site_id, path], |r| r.get(0))
            .optional()?)
    }

    /// A stored session, to continue it (the pipeline closed it to make
    /// room and its visitor came back).
    pub(crate) fn stored_session(&mut self, id: i64) -> Result<Option<StoredOpenSession>> {
        let mut stmt = self.tx.prepare_cached(&format!(
            "SELECT {STORED_SESSION_COLUMNS} FROM sessions s WHERE s.id = ?1"
        ))?;
        Ok(stmt.query_row([id], stored_session).optional()?)
    }

    /// Notes that a session showed replay layout `hash` (its `$layout`
    /// event), which protects the layout from quota eviction.
    pub(crate) fn reference_layout(&mut self, site_id: i64, hash: &str, ts: i64) -> Result<()> {
        super::layouts::reference(&self.tx, site_id, hash, ts)
    }

    /// Notes that page view `view` of a session showed layout `hash` (the
    /// view's last `$layout` event wins).
    pub(crate) fn record_view_layout(
        &mut self,
        site_id: i64,
        session_id: i64,
        view: u32,
        page: Option<u32>,
        hash: &str,
    ) -> Result<()> {
        super::layouts::record_view(&self.tx, site_id, session_id, view, page, hash)
    }

    /// Keeps a JavaScript error of page view `view` of a session (once per
    /// view and error: a repeat is ignored).
    pub(crate) fn record_js_error(&mut self, error: &super::errors::NewJsError<'_>) -> Result<()> {
        super::errors::insert(&self.tx, error)
    }

    /// Writes a new session with its first totals.
    pub(crate) fn insert_session(
        &mut self,
        id: i64,
        origin: &SessionOrigin<'_>,
        totals: &SessionTotals,
    ) -> Result<()> {
        let mut stmt = self.tx.prepare_cached(
            "INSERT INTO sessions (
                id, site_id, source, sid, visitor, start_ms, end_ms, entry_page, exit_page,
                page_count, event_count, referrer, referrer_domain, channel,
                utm_source, utm_medium, utm_campaign, country, region, city,
                browser, os, device, is_bot, rage_clicks, dead_clicks, error_pages, pages, chunks,
                page_times, page_signals, changed, marks, js_errors)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
                     ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31,
                     ?32, ?33, ?34)",
        )?;
        let (a, c, g) = (origin.acquisition, origin.client, origin.geo);
        stmt.execute(params![
            id,
            origin.site_id,
            origin.source.code(),
            origin.sid,
            origin.visitor as i64,
            totals.start,
            totals.end,
            totals.pages.first(),
            totals.pages.last(),
            totals.pages.len() as i64,
            totals.event_count,
            a.referrer,
            a.referrer_domain,
            a.channel.as_str(),
            a.utm_source,
            a.utm_medium,
            a.utm_campaign,
            g.country,
            g.region,
            g.city,
            c.browser,
            c.os,
            c.device.as_str(),
            c.is_bot,
            totals.rage_clicks,
            totals.dead_clicks,
            totals.error_pages,
            pack_pages(&totals.pages),
            pack_ids(&totals.chunk_ids),
            pack_times(totals.start, &totals.page_times),
            pack_signals(&totals.page_signals),
            self.change,
            pack_marks(totals.start, &totals.marks),
            totals.js_errors,
        ])?;
        Ok(())
    }

    /// Writes the new totals of a continued session.
    pub(crate) fn update_session(&mut self, id: i64, totals: &SessionTotals) -> Result<()> {
        let mut stmt = self.tx.prepare_cached(
            "UPDATE sessions SET start_ms = ?2, end_ms = ?3, entry_page = ?4, exit_page = ?5,
                page_count = ?6, event_count = ?7, rage_clicks = ?8, dead_clicks = ?9,
                error_pages = ?10, pages = ?11, chunks = ?12, page_times = ?13,
                page_signals = ?14, changed = ?15, marks = ?16, js_errors = ?17
             WHERE id = ?1",
        )?;
        stmt.execute(params![
            id,
            totals.start,
            totals.end,
            totals.pages.first(),
            totals.pages.last(),
            totals.pages.len() as i64,
            totals.event_count,
            totals.rage_clicks,
            totals.dead_clicks,
            totals.error_pages,
            pack_pages(&totals.pages),
            pack_ids(&totals.chunk_ids),
            pack_times(totals.start, &totals.page_times),
            pack_signals(&totals.page_signals),
            self.change,
            pack_marks(totals.start, &totals.marks),
            totals.js_errors,
        ])?;
        Ok(())
    }

    /// Appends a run of a session's events: `events` is a JSON array of
    /// [`encode_event`] objects, `page_ids` their pages (0 for none).
    /// Returns the chunk's id, which the session row lists.
    pub(crate) fn insert_chunk(
        &mut self,
        session_id: i64,
        first_seq: u32,
        page_ids: &[u32],
        events: &str,
    ) -> Result<i64> {
        let mut stmt = self.tx.prepare_cached(
            "INSERT INTO event_chunks (session_id, first_seq, page_ids, events)
             VALUES (?1, ?2, ?3, ?4)",
        )?;
        stmt.execute(params![session_id, first_seq, pack_pages(page_ids), events])?;
        Ok(self.tx.last_insert_rowid())
    }

    /// Records how far an import has read an input, in the same
    /// transaction as the sessions it produced: what is recorded is exactly
    /// what is stored.
    pub(crate) fn record_import(
        &mut self,
        site_id: i64,
        identity: &str,
        path: &str,
        offset: u64,
        lines: u64,
        now_ms: i64,
    ) -> Result<()> {
        let mut stmt = self.tx.prepare_cached(
            "INSERT INTO import_files (site_id, identity, path, offset, lines, updated_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (site_id, identity) DO UPDATE SET
                path = excluded.path, offset = excluded.offset,
                lines = excluded.lines, updated_ms = excluded.updated_ms",
        )?;
        stmt.execute(params![
            site_id,
            identity,
            path,
            offset as i64,
            lines as i64,
            now_ms
        ])?;
        Ok(())
    }

    /// Makes the group durable.
    pub(crate) fn commit(self) -> Result<()> {
        self.tx.commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::encode_event;
    use crate::event::{Event, EventDetail, EventKind};

    /// What `encode_event` wrote before it was written by hand.
    fn flattened(event: &Event) -> String {
        #[derive(serde::Serialize)]
        struct Stored<'a> {
            #[serde(rename = "type")]
            kind: EventKind,
            ts: i64,
            #[serde(flatten)]
            detail: &'a EventDetail,
        }
        serde_json::to_string(&Stored {
            kind: event.kind,
            ts: event.ts,
            detail: &event.detail,
        })
        .unwrap()
    }

    #[test]
    fn events_encode_as_the_flattened_form_did() {
        let full: EventDetail = serde_json::from_value(serde_json::json!({
            "url": "https://shop.test/p?q=\"x\"", "referrer": "https://g.test/",
            "title": "T\u{e9}\n", "vw": 1280, "vh": 800, "x": 1.5, "y": -2.0, "sel": "a#b",
            "rage": true, "name": "add", "props": {"n": 3, "s": "\\"},
        }))
        .unwrap();
        for (kind, detail) in [
            (EventKind::Pageview, full),
            (EventKind::Leave, EventDetail::default()),
            (
                EventKind::Click,
                EventDetail {
                    x: Some(3.25),
                    ..EventDetail::default()
                },
            ),
        ] {
            let event = Event {
                kind,
                ts: 1_700_000_000_123,
                path: Some("/p".into()),
                detail,
            };
            let encoded = encode_event(&event);
            assert_eq!(&*encoded, flattened(&event));
            let back: serde_json::Value = serde_json::from_str(&encoded).unwrap();
            assert_eq!(back["type"], kind.as_str());
        }
    }
}
