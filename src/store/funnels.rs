//! Funnels saved per site, by name, so a team asks the same funnel again
//! (`funnel?saved=checkout`) instead of retyping its steps.

use rusqlite::{params, Connection, OptionalExtension};

use super::Result;
use crate::event::Millis;

/// A saved funnel: its definition as the API's query string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SavedFunnel {
    pub name: String,
    pub query: String,
    pub created_ms: Millis,
    pub created_by: Option<String>,
}

/// Saves (or replaces) a site's funnel `name`.
pub(crate) fn save(
    conn: &Connection,
    site_id: i64,
    name: &str,
    query: &str,
    created_by: Option<&str>,
    now: Millis,
) -> Result<()> {
    conn.execute(
        "INSERT INTO funnels (site_id, name, query, created_ms, created_by)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (site_id, name) DO UPDATE SET
            query = excluded.query, created_ms = excluded.created_ms,
            created_by = excluded.created_by",
        params![site_id, name, query, now, created_by],
    )?;
    Ok(())
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<SavedFunnel> {
    Ok(SavedFunnel {
        name: r.get(0)?,
        query: r.get(1)?,
        created_ms: r.get(2)?,
        created_by: r.get(3)?,
    })
}

/// A site's saved funnels, by name.
pub(crate) fn list(conn: &Connection, site_id: i64) -> Result<Vec<SavedFunnel>> {
    Ok(conn
        .prepare_cached(
            "SELECT name, query, created_ms, created_by FROM funnels
             WHERE site_id = ?1 ORDER BY name",
        )?
        .query_map([site_id], row)?
        .collect::<rusqlite::Result<_>>()?)
}

/// One saved funnel.
pub(crate) fn get(conn: &Connection, site_id: i64, name: &str) -> Result<Option<SavedFunnel>> {
    Ok(conn
        .prepare_cached(
            "SELECT name, query, created_ms, created_by FROM funnels
             WHERE site_id = ?1 AND name = ?2",
        )?
        .query_row(params![site_id, name], row)
        .optional()?)
}

/// Removes a saved funnel; whether it was there.
pub(crate) fn remove(conn: &Connection, site_id: i64, name: &str) -> Result<bool> {
    Ok(conn.execute(
        "DELETE FROM funnels WHERE site_id = ?1 AND name = ?2",
        params![site_id, name],
    )? > 0)
}
