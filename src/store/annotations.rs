//! Dated notes per site ("campaign launched", "new shipping prices"),
//! which the dashboards draw on every time series.

use rusqlite::{params, Connection};

use super::Result;
use crate::event::Millis;

/// A note on a site's timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Annotation {
    pub id: i64,
    pub at_ms: Millis,
    pub text: String,
    pub created_ms: Millis,
    pub created_by: Option<String>,
}

/// Adds a note; its id.
pub(crate) fn add(
    conn: &Connection,
    site_id: i64,
    at_ms: Millis,
    text: &str,
    created_by: Option<&str>,
    now: Millis,
) -> Result<i64> {
    conn.execute(
        "INSERT INTO annotations (site_id, at_ms, text, created_ms, created_by)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![site_id, at_ms, text, now, created_by],
    )?;
    Ok(conn.last_insert_rowid())
}

/// A site's notes dated in `[from, to)`, oldest first.
pub(crate) fn list(
    conn: &Connection,
    site_id: i64,
    from: Millis,
    to: Millis,
) -> Result<Vec<Annotation>> {
    Ok(conn
        .prepare_cached(
            "SELECT id, at_ms, text, created_ms, created_by FROM annotations
             WHERE site_id = ?1 AND at_ms >= ?2 AND at_ms < ?3 ORDER BY at_ms, id",
        )?
        .query_map(params![site_id, from, to], |r| {
            Ok(Annotation {
                id: r.get(0)?,
                at_ms: r.get(1)?,
                text: r.get(2)?,
                created_ms: r.get(3)?,
                created_by: r.get(4)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?)
}

/// Removes a site's note; whether it was there.
pub(crate) fn remove(conn: &Connection, site_id: i64, id: i64) -> Result<bool> {
    Ok(conn.execute(
        "DELETE FROM annotations WHERE site_id = ?1 AND id = ?2",
        params![site_id, id],
    )? > 0)
}
