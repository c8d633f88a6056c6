//! Facts about the database itself rather than about any site, kept in the
//! `meta` table: today, whether `trailmap demo` created it (the API token
//! beside them is [`super::secrets`]'s).

use std::path::Path;

use rusqlite::{Connection, OptionalExtension};

use super::Result;

/// Marks the database as a demo database, so that a later `trailmap demo`
/// may replace it.
pub(crate) fn mark_demo(conn: &Connection) -> Result<()> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES ('demo', '1')
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [],
    )?;
    Ok(())
}

/// Whether the database file at `path` is one [`mark_demo`] marked. The
/// file is opened as it is, not migrated: a file that is not a trailmap
/// database (no `meta` table, not SQLite at all) is simply not a demo
/// one. An error only when the file cannot be opened.
pub(crate) fn is_demo_database(path: &Path) -> Result<bool> {
    let conn = Connection::open(path)?;
    Ok(conn
        .query_row("SELECT value FROM meta WHERE key = 'demo'", [], |r| {
            r.get::<_, String>(0)
        })
        .optional()
        .unwrap_or(None)
        .is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_marked_database_is_a_demo_one() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("t.db");
        let store = crate::store::Store::open(&db).unwrap();
        assert!(!is_demo_database(&db).unwrap());
        mark_demo(&store.admin().unwrap()).unwrap();
        mark_demo(&store.admin().unwrap()).unwrap();
        assert!(is_demo_database(&db).unwrap());
        let other = dir.path().join("not-sqlite.db");
        std::fs::write(&other, "hello").unwrap();
        assert!(!is_demo_database(&other).unwrap());
    }
}
