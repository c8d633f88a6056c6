//! Layout changes: a page's stored layout replaced by one that reads or is
//! built differently, recorded when the new layout is first stored (by
//! [`crate::service::layouts`]), and listed for `changes`.

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use super::Result;
use crate::event::Millis;

/// One recorded change of a page's layout at a viewport class.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct LayoutChange {
    pub id: i64,
    /// The page as the recorder saw it (before the site's path rules).
    pub path: String,
    pub viewport: String,
    /// When the new layout was first stored.
    pub at_ms: Millis,
    pub before_hash: String,
    pub after_hash: String,
    /// The share of text lines or elements not in both layouts.
    pub share: f64,
    pub added: Vec<String>,
    pub removed: Vec<String>,
}

/// The page's latest layout at `viewport`, before a new one is noted.
pub(crate) fn latest_hash(
    conn: &Connection,
    site_id: i64,
    path: &str,
    viewport: &str,
) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached(
            "SELECT hash FROM page_layouts WHERE site_id = ?1 AND path = ?2 AND viewport = ?3",
        )?
        .query_row(params![site_id, path, viewport], |r| r.get(0))
        .optional()?)
}

pub(crate) fn insert(conn: &Connection, site_id: i64, c: &LayoutChange) -> Result<()> {
    let json = |lines: &[String]| serde_json::to_string(lines).expect("strings serialize");
    conn.prepare_cached(
        "INSERT INTO layout_changes
            (site_id, path, viewport, at_ms, before_hash, after_hash, share, added, removed)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        site_id,
        c.path,
        c.viewport,
        c.at_ms,
        c.before_hash,
        c.after_hash,
        c.share,
        json(&c.added),
        json(&c.removed)
    ])?;
    Ok(())
}

/// The changes of a site in `[from, to)` that differ by at least
/// `min_share`, newest first, at most `limit`.
pub(crate) fn list(
    conn: &Connection,
    site_id: i64,
    from: Option<Millis>,
    to: Option<Millis>,
    min_share: f64,
    limit: usize,
) -> Result<Vec<LayoutChange>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, path, viewport, at_ms, before_hash, after_hash, share, added, removed
         FROM layout_changes
         WHERE site_id = ?1 AND at_ms >= ?2 AND at_ms < ?3 AND share >= ?4
         ORDER BY at_ms DESC, id DESC LIMIT ?5",
    )?;
    let rows = stmt.query_map(
        params![
            site_id,
            from.unwrap_or(i64::MIN),
            to.unwrap_or(i64::MAX),
            min_share,
            i64::try_from(limit).unwrap_or(i64::MAX)
        ],
        change_of,
    )?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// One change of a site, by id.
pub(crate) fn get(conn: &Connection, site_id: i64, id: i64) -> Result<Option<LayoutChange>> {
    Ok(conn
        .prepare_cached(
            "SELECT id, path, viewport, at_ms, before_hash, after_hash, share, added, removed
             FROM layout_changes WHERE site_id = ?1 AND id = ?2",
        )?
        .query_row(params![site_id, id], change_of)
        .optional()?)
}

/// A `layout_changes` row, its columns in the order both reads select.
fn change_of(r: &rusqlite::Row<'_>) -> rusqlite::Result<LayoutChange> {
    let lines = |text: String| serde_json::from_str::<Vec<String>>(&text).unwrap_or_default();
    Ok(LayoutChange {
        id: r.get(0)?,
        path: r.get(1)?,
        viewport: r.get(2)?,
        at_ms: r.get(3)?,
        before_hash: r.get(4)?,
        after_hash: r.get(5)?,
        share: r.get(6)?,
        added: lines(r.get(7)?),
        removed: lines(r.get(8)?),
    })
}
