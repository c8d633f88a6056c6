//! The only room that speaks SQL.
//!
//! SQLite in WAL mode: one writer connection, driven by the pipeline's single
//! thread through [`writer::WriteTxn`], and a small pool of read connections
//! for the API, which WAL lets run beside the writer without blocking it.
//! Administrative writes (sites, salts, the token) are rare and use short
//! transactions on their own connection; SQLite's busy timeout serialises
//! them with the writer.

pub(crate) mod accounts;
pub(crate) mod annotations;
pub(crate) mod changes;
pub(crate) mod errors;
pub(crate) mod funnels;
pub(crate) mod journeys;
pub(crate) mod layouts;
pub(crate) mod live;
pub(crate) mod lock;
pub(crate) mod meta;
pub(crate) mod read;
pub(crate) mod schema;
pub(crate) mod secrets;
pub(crate) mod sites;
pub(crate) mod writer;

use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

/// What can go wrong in the store.
#[derive(Debug)]
pub enum StoreError {
    Sqlite(rusqlite::Error),
    Io(std::io::Error),
    /// A request the store refuses, with a message for the user.
    Invalid(String),
    NotFound(String),
    /// A read stopped by [`interruptible`]'s `stop`.
    Interrupted,
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Sqlite(e) => write!(f, "database error: {e}"),
            StoreError::Io(e) => write!(f, "{e}"),
            StoreError::Invalid(m) | StoreError::NotFound(m) => f.write_str(m),
            StoreError::Interrupted => f.write_str("the read was stopped"),
        }
    }
}

impl std::error::Error for StoreError {}

impl StoreError {
    /// Whether the write failed for lack of space on the database's
    /// filesystem: it will keep failing until space is freed, so the
    /// collector answers 503 rather than 500, and /healthz says so.
    pub fn is_disk_full(&self) -> bool {
        match self {
            // SQLite reports a write that hit ENOSPC (or EDQUOT) as SQLITE_FULL.
            StoreError::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => {
                e.code == rusqlite::ErrorCode::DiskFull
            }
            StoreError::Io(e) => matches!(e.raw_os_error(), Some(libc::ENOSPC | libc::EDQUOT)),
            _ => false,
        }
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Sqlite(e)
    }
}

impl StoreError {
    /// Another writer held the database's write lock past the busy timeout
    /// (an import committing a long block): a passing condition, not the
    /// batch's fault.
    pub fn is_busy(&self) -> bool {
        matches!(
            self,
            StoreError::Sqlite(rusqlite::Error::SqliteFailure(e, _))
                if matches!(
                    e.code,
                    rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                )
        )
    }
}

pub(crate) type Result<T> = std::result::Result<T, StoreError>;

/// Free bytes [`Store::has_room`] asks for: enough for a group commit's WAL
/// frames.
const SPACE_PROBE_BYTES: usize = 256 * 1024;

/// Connections wait this long for a lock held by another writer, unless
/// [`Store::set_busy_timeout`] says otherwise.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// Idle read connections kept for reuse.
const READ_POOL_SIZE: usize = 8;

/// A trailmap database on disk.
#[derive(Debug)]
pub(crate) struct Store {
    path: PathBuf,
    readers: Mutex<Vec<Connection>>,
    /// How long a connection waits for another's lock before SQLITE_BUSY:
    /// a server's commit may wait this long for an import's to finish.
    busy_timeout: Duration,
}

impl Store {
    /// Opens the database at `path`, creating it and its directory on first
    /// use, and migrates it to the current schema.
    /// Opens the database at `path`, which must exist: for the commands
    /// that only read, so a mistyped `--db` is an error that names the
    /// path instead of a new empty database.
    pub(crate) fn open_existing(path: &Path) -> Result<Store> {
        if !path.is_file() {
            return Err(StoreError::NotFound(format!(
                "no database at {}: check --db (or TRAILMAP_DB); `trailmap site add` or `trailmap serve` creates one",
                path.display()
            )));
        }
        Store::open(path)
    }

    pub(crate) fn open(path: &Path) -> Result<Store> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                StoreError::Io(std::io::Error::new(
                    e.kind(),
                    format!("cannot create {}: {e}", dir.display()),
                ))
            })?;
        }
        let mut conn = open_connection(path, OpenFlags::default(), BUSY_TIMEOUT)?;
        // WAL must be set once per database file; it persists.
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Invalid(format!(
                "cannot switch {} to WAL mode (got {mode})",
                path.display()
            )));
        }
        schema::migrate(&mut conn)?;
        Ok(Store {
            path: path.to_path_buf(),
            readers: Mutex::new(vec![]),
            busy_timeout: BUSY_TIMEOUT,
        })
    }

    /// The database file.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Sets the busy timeout of the connections opened from now on.
    pub(crate) fn set_busy_timeout(&mut self, wait: Duration) {
        self.busy_timeout = wait;
    }

    /// Whether the database's filesystem has room again after it was full:
    /// at least [`SPACE_PROBE_BYTES`] free for unprivileged writers, as
    /// `statvfs` counts them. It writes nothing, so `/healthz`, which anyone
    /// may call, can ask it on every check without costing the disk a write.
    /// A filesystem that says so and still refuses (a quota it does not
    /// report) only makes the next commit fail and set the flag again.
    pub(crate) fn has_room(&self) -> bool {
        use std::os::unix::ffi::OsStrExt;
        let dir = self
            .path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let Ok(c_dir) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else {
            return false;
        };
        // SAFETY: `c_dir` is a NUL-terminated path and `st` a plain struct
        // that statvfs fills in; nothing is kept past the call.
        let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
        if unsafe { libc::statvfs(c_dir.as_ptr(), &mut st) } != 0 {
            return false;
        }
        let free = (st.f_bavail as u64).saturating_mul(st.f_frsize as u64);
        free >= SPACE_PROBE_BYTES as u64
    }

    /// Whether the database answers a query (what `/healthz` calls
    /// readable), through a pooled read connection.
    pub(crate) fn ping(&self) -> Result<()> {
        self.read()?
            .query_row("SELECT 1", [], |r| r.get::<_, i64>(0))?;
        Ok(())
    }

    /// A read-only connection from the pool; it returns there when dropped.
    pub(crate) fn read(&self) -> Result<PooledReader<'_>> {
        let pooled = self.readers.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let conn = match pooled {
            Some(c) => c,
            None => {
                let c = open_connection(&self.path, OpenFlags::default(), self.busy_timeout)?;
                c.pragma_update(None, "query_only", true)?;
                c
            }
        };
        Ok(PooledReader {
            store: self,
            conn: Some(conn),
        })
    }

    /// A connection for short administrative writes.
    pub(crate) fn admin(&self) -> Result<Connection> {
        open_connection(&self.path, OpenFlags::default(), self.busy_timeout)
    }

    /// The connection the pipeline writes through. `fsync_every_commit`
    /// chooses SQLite's synchronous=FULL (durable across power loss) over
    /// NORMAL (durable across a crash of the process).
    pub(crate) fn writer(&self, fsync_every_commit: bool) -> Result<writer::Writer> {
        let conn = open_connection(&self.path, OpenFlags::default(), self.busy_timeout)?;
        let sync = if fsync_every_commit { "FULL" } else { "NORMAL" };
        conn.pragma_update(None, "synchronous", sync)?;
        // After a checkpoint resets the WAL, keep at most 64 MiB of it on disk.
        conn.pragma_update(None, "journal_size_limit", 64 * 1024 * 1024)?;
        writer::Writer::new(
            conn,
            open_connection(&self.path, OpenFlags::default(), self.busy_timeout)?,
            &self.path,
        )
    }
}

fn open_connection(path: &Path, flags: OpenFlags, busy_timeout: Duration) -> Result<Connection> {
    let conn = Connection::open_with_flags(path, flags).map_err(|e| {
        StoreError::Invalid(format!("cannot open database {}: {e}", path.display()))
    })?;
    conn.busy_timeout(busy_timeout)?;
    conn.pragma_update(None, "foreign_keys", true)?;
    Ok(conn)
}

/// Runs `read` on `conn` so that it stops soon after `stop` says so:
/// SQLite asks `stop` every few thousand steps of its virtual machine and
/// interrupts the statement when it answers true (the error is then
/// [`StoreError::Interrupted`]). For reads that can take seconds (a
/// site's journeys, the overview's scans, a page's clicks), so that an
/// analysis past its deadline, or whose client left, stops inside SQLite
/// too.
pub(crate) fn interruptible<T>(
    conn: &Connection,
    stop: impl FnMut() -> bool + Send + 'static,
    read: impl FnOnce(&Connection) -> Result<T>,
) -> Result<T> {
    // About a millisecond of work between two looks.
    conn.progress_handler(10_000, Some(stop));
    let result = read(conn);
    // The connection goes back to the pool: without the handler.
    conn.progress_handler(0, None::<fn() -> bool>);
    result.map_err(|e| match e {
        StoreError::Sqlite(rusqlite::Error::SqliteFailure(f, _))
            if f.code == rusqlite::ErrorCode::OperationInterrupted =>
        {
            StoreError::Interrupted
        }
        other => other,
    })
}

/// A pooled read connection.
pub(crate) struct PooledReader<'a> {
    store: &'a Store,
    conn: Option<Connection>,
}

impl Deref for PooledReader<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn.as_ref().expect("present until drop")
    }
}

impl DerefMut for PooledReader<'_> {
    fn deref_mut(&mut self) -> &mut Connection {
        self.conn.as_mut().expect("present until drop")
    }
}

impl Drop for PooledReader<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            let mut pool = self.store.readers.lock().unwrap_or_else(|e| e.into_inner());
            if pool.len() < READ_POOL_SIZE {
                pool.push(conn);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(conn: &Connection) -> Result<i64> {
        Ok(conn.query_row(
            "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 200000)
             SELECT count(*) FROM n",
            [],
            |r| r.get(0),
        )?)
    }

    #[test]
    fn an_interruptible_read_stops_when_asked_and_the_connection_stays_usable() {
        let conn = Connection::open_in_memory().unwrap();
        let asked = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
        let seen = asked.clone();
        let stopped = interruptible(
            &conn,
            move || seen.fetch_add(1, std::sync::atomic::Ordering::Relaxed) >= 2,
            count,
        );
        assert!(
            matches!(stopped, Err(StoreError::Interrupted)),
            "{stopped:?}"
        );
        assert_eq!(asked.load(std::sync::atomic::Ordering::Relaxed), 3);
        // Never asked to stop: the whole answer; and no handler is left behind.
        assert_eq!(interruptible(&conn, || false, count).unwrap(), 200_000);
        assert_eq!(count(&conn).unwrap(), 200_000);
    }
}
