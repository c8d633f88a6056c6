//! Layout changes: a page's stored layout replaced by one that reads or is
//! built differently, recorded when the new layout is first stored (by
//! [`crate::service::layouts`]), weighed by the page's sightings after it
//! (does the new layout last, or does the page vary per visitor?), and
//! listed for `changes`.

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
    pub status: ChangeStatus,
    /// The page's sightings since, until the verdict.
    pub evidence: Evidence,
}

/// Whether a change lasts, as the page's sightings after it tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ChangeStatus {
    /// Too few sightings since to tell.
    Pending,
    /// The page kept showing the new layout (or ones nearer it).
    Lasting,
    /// The page went on showing the old layout or others as often: its
    /// content varies per visitor (a cart, a greeting) or by experiment.
    Varies,
}

impl ChangeStatus {
    fn as_str(self) -> &'static str {
        match self {
            ChangeStatus::Pending => "pending",
            ChangeStatus::Lasting => "lasting",
            ChangeStatus::Varies => "varies",
        }
    }

    fn parse(text: &str) -> ChangeStatus {
        match text {
            "lasting" => ChangeStatus::Lasting,
            "varies" => ChangeStatus::Varies,
            _ => ChangeStatus::Pending,
        }
    }
}

/// Sightings of a changed page after the change, by the layout seen:
/// the new one or one nearer it, the old one or one nearer it, neither.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub(crate) struct Evidence {
    pub new: u64,
    pub old: u64,
    pub other: u64,
}

impl Evidence {
    pub(crate) fn total(&self) -> u64 {
        self.new + self.old + self.other
    }
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

/// Records a change, pending; returns its id.
pub(crate) fn insert(conn: &Connection, site_id: i64, c: &LayoutChange) -> Result<i64> {
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
    Ok(conn.last_insert_rowid())
}

/// Which changes a list holds: the lasting and pending ones, or every one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Listed {
    /// Leaves out the changes of pages that vary per visitor.
    Lasting,
    All,
}

/// The columns [`change_of`] reads, in its order.
const COLUMNS: &str = "id, path, viewport, at_ms, before_hash, after_hash, share, added, \
                       removed, status, seen_new, seen_old, seen_other";

/// The changes of a site in `[from, to)` that differ by at least
/// `min_share`, newest first, at most `limit`.
pub(crate) fn list(
    conn: &Connection,
    site_id: i64,
    from: Option<Millis>,
    to: Option<Millis>,
    min_share: f64,
    listed: Listed,
    limit: usize,
) -> Result<Vec<LayoutChange>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM layout_changes
         WHERE site_id = ?1 AND at_ms >= ?2 AND at_ms < ?3 AND share >= ?4
           AND (?5 OR status != 'varies')
         ORDER BY at_ms DESC, id DESC LIMIT ?6"
    ))?;
    let rows = stmt.query_map(
        params![
            site_id,
            from.unwrap_or(i64::MIN),
            to.unwrap_or(i64::MAX),
            min_share,
            listed == Listed::All,
            i64::try_from(limit).unwrap_or(i64::MAX)
        ],
        change_of,
    )?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// How many changes of a site in `[from, to)` that differ by at least
/// `min_share` were found to vary per visitor.
pub(crate) fn count_varying(
    conn: &Connection,
    site_id: i64,
    from: Option<Millis>,
    to: Option<Millis>,
    min_share: f64,
) -> Result<u64> {
    Ok(conn
        .prepare_cached(
            "SELECT count(*) FROM layout_changes
             WHERE site_id = ?1 AND at_ms >= ?2 AND at_ms < ?3 AND share >= ?4
               AND status = 'varies'",
        )?
        .query_row(
            params![
                site_id,
                from.unwrap_or(i64::MIN),
                to.unwrap_or(i64::MAX),
                min_share
            ],
            |r| r.get::<_, i64>(0),
        )
        .map(|n| n.max(0) as u64)?)
}

/// One change of a site, by id.
pub(crate) fn get(conn: &Connection, site_id: i64, id: i64) -> Result<Option<LayoutChange>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM layout_changes WHERE site_id = ?1 AND id = ?2"
        ))?
        .query_row(params![site_id, id], change_of)
        .optional()?)
}

/// The page's changes at `viewport` still waiting for a verdict (one,
/// but for changes recorded before verdicts existed).
pub(crate) fn pending(
    conn: &Connection,
    site_id: i64,
    path: &str,
    viewport: &str,
) -> Result<Vec<LayoutChange>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM layout_changes
         WHERE site_id = ?1 AND path = ?2 AND viewport = ?3 AND status = 'pending'"
    ))?;
    let rows = stmt.query_map(params![site_id, path, viewport], change_of)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Writes a change's evidence and its status.
pub(crate) fn weigh(
    conn: &Connection,
    id: i64,
    evidence: &Evidence,
    status: ChangeStatus,
) -> Result<()> {
    conn.prepare_cached(
        "UPDATE layout_changes SET seen_new = ?2, seen_old = ?3, seen_other = ?4, status = ?5
         WHERE id = ?1",
    )?
    .execute(params![
        id,
        evidence.new as i64,
        evidence.old as i64,
        evidence.other as i64,
        status.as_str()
    ])?;
    Ok(())
}

/// Dates the changes to layout `after_hash` `at` (the demo, whose visits
/// are dated in the past while the collector records a change when the
/// layout is stored).
pub(crate) fn redate_after(conn: &Connection, after_hash: &str, at: Millis) -> Result<()> {
    conn.execute(
        "UPDATE layout_changes SET at_ms = ?2 WHERE after_hash = ?1",
        params![after_hash, at],
    )?;
    Ok(())
}

/// Forgets the changes found to vary per visitor that were recorded
/// before `before` (a page whose content is each visitor's own records
/// one now and then; pruned with the layouts).
pub(crate) fn prune_varying(conn: &Connection, before: Millis) -> Result<usize> {
    Ok(conn.execute(
        "DELETE FROM layout_changes WHERE status = 'varies' AND at_ms < ?1",
        [before],
    )?)
}

/// A `layout_changes` row, its columns as [`COLUMNS`] lists them.
fn change_of(r: &rusqlite::Row<'_>) -> rusqlite::Result<LayoutChange> {
    let lines = |text: String| serde_json::from_str::<Vec<String>>(&text).unwrap_or_default();
    let count = |i: usize| r.get::<_, i64>(i).map(|n| n.max(0) as u64);
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
        status: ChangeStatus::parse(&r.get::<_, String>(9)?),
        evidence: Evidence {
            new: count(10)?,
            old: count(11)?,
            other: count(12)?,
        },
    })
}
