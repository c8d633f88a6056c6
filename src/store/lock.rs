//! The lock that makes `trailmap serve` the only server on a database.
//!
//! Two servers on one file would both believe their in-memory sessions are
//! the truth and continue the same visitors' sessions side by side; SQLite
//! cannot see that, so the second one is refused at start. The lock is an
//! advisory `flock` on `DB.lock` beside the database, held for the life of
//! the process: the OS releases it on exit, kill or crash, so a stale file
//! never blocks a restart. Other commands (import, reindex, reports) do not
//! take it: an import beside a running server is supported, the store
//! allocates ids under SQLite's write lock.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use super::{Result, StoreError};

/// Held while the server runs; dropping it (or the process ending)
/// releases the database for another server.
#[derive(Debug)]
pub(crate) struct ServeLock {
    _file: File,
    /// Where the lock is: for the tests that check it is beside the database.
    #[cfg_attr(not(test), allow(dead_code))]
    path: PathBuf,
}

impl ServeLock {
    /// The lock file's path.
    #[cfg(test)]
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

/// `DB.lock`, beside the database.
pub(crate) fn lock_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_os_string();
    name.push(".lock");
    PathBuf::from(name)
}

/// Takes the server's lock on `db`, or says which process holds it.
pub(crate) fn lock_for_serving(db: &Path) -> Result<ServeLock> {
    if let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(StoreError::Io)?;
    }
    // The lock sits beside the file itself, however it is spelled: through
    // a symlink, or a relative path, two servers must still find one lock.
    let resolved = std::fs::canonicalize(db).unwrap_or_else(|_| {
        let dir = db.parent().filter(|d| !d.as_os_str().is_empty());
        match (dir.map(std::fs::canonicalize), db.file_name()) {
            (Some(Ok(dir)), Some(name)) => dir.join(name),
            _ => db.to_path_buf(),
        }
    });
    let path = lock_path(&resolved);
    let cannot = |e: std::io::Error| {
        StoreError::Io(std::io::Error::new(
            e.kind(),
            format!("cannot open the lock file {}: {e}", path.display()),
        ))
    };
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(cannot)?;
    // SAFETY: flock only reads the descriptor, which `file` keeps open.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc != 0 {
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EWOULDBLOCK) {
            return Err(cannot(e));
        }
        let mut holder = String::new();
        let _ = file.read_to_string(&mut holder);
        let holder = match holder.trim() {
            "" => String::new(),
            pid => format!(" (process {pid})"),
        };
        return Err(StoreError::Invalid(format!(
            "another trailmap server{holder} is already serving {}: it holds the lock {}; \
             stop it first, or serve another --db (imports and reports may run beside it)",
            db.display(),
            path.display()
        )));
    }
    // For the message above, and for people looking at the file.
    let _ = file
        .set_len(0)
        .and_then(|()| file.rewind())
        .and_then(|()| writeln!(file, "{}", std::process::id()));
    Ok(ServeLock { _file: file, path })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_the_same_database_is_refused_until_the_first_drops() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("t.db");
        let first = lock_for_serving(&db).unwrap();
        assert_eq!(first.path(), dir.path().join("t.db.lock"));
        let refused = lock_for_serving(&db).unwrap_err().to_string();
        assert!(refused.contains("t.db.lock"), "{refused}");
        assert!(
            refused.contains(&std::process::id().to_string()),
            "{refused}"
        );
        drop(first);
        lock_for_serving(&db).expect("released on drop");
    }
}
