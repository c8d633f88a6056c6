//! The rows the read engine ([`crate::engine`]) follows: each session's
//! journey (page ids, page times, signals) and the dimensions reports filter
//! on, read without copying the blobs, in the store's change sequence.
//!
//! The engine loads everything once (`changed <= watermark`, scanned in
//! rowid order) and then asks only for what changed since (`changed >`
//! its watermark, through the change index). Sessions are updated in place,
//! so a row read after the watermark was taken is simply read again, newer,
//! by the next catch-up: nothing can be missed or read stale.

use super::Result;
use crate::event::Millis;
use rusqlite::types::ValueRef;
use rusqlite::{params, Connection, Row};

/// One session row as the engine takes it; the blobs borrow SQLite's buffer.
pub(crate) struct JourneyRow<'r> {
    pub id: i64,
    pub site_id: i64,
    /// The visitor hash ([`crate::ingest::sessionize`]).
    pub visitor: i64,
    pub start: Millis,
    pub end: Millis,
    /// Page ids, little-endian u32 each ([`crate::event::pack_pages`]).
    pub pages: &'r [u8],
    /// Page times as u32 offsets from `start` ([`crate::event::pack_times`]).
    pub times: &'r [u8],
    /// Signals, 3 bytes each ([`crate::event::pack_signals`]).
    pub signals: &'r [u8],
    pub channel: &'r str,
    pub device: &'r str,
    pub country: Option<&'r str>,
    pub referrer_domain: Option<&'r str>,
    /// The raw id of the entry page.
    pub entry_page: Option<u32>,
    pub is_bot: bool,
    pub utm_campaign: Option<&'r str>,
    /// Custom events, as [`crate::event::pack_marks`] wrote them.
    pub marks: &'r str,
}

const COLUMNS: &str = "id, site_id, start_ms, pages, page_times, page_signals, channel, device,
    country, referrer_domain, entry_page, is_bot, visitor, end_ms, utm_campaign, marks";

/// A blob column without copying it (none for a NULL).
pub(super) fn blob<'r>(r: &'r Row<'_>, i: usize) -> rusqlite::Result<&'r [u8]> {
    Ok(match r.get_ref(i)? {
        ValueRef::Blob(b) => b,
        _ => &[],
    })
}

fn text<'r>(r: &'r Row<'_>, i: usize) -> rusqlite::Result<Option<&'r str>> {
    Ok(match r.get_ref(i)? {
        ValueRef::Text(t) => Some(std::str::from_utf8(t).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, e.into())
        })?),
        _ => None,
    })
}

fn journey_row<'r>(r: &'r Row<'_>) -> rusqlite::Result<JourneyRow<'r>> {
    Ok(JourneyRow {
        id: r.get(0)?,
        site_id: r.get(1)?,
        start: r.get(2)?,
        pages: blob(r, 3)?,
        times: blob(r, 4)?,
        signals: blob(r, 5)?,
        channel: text(r, 6)?.unwrap_or(""),
        device: text(r, 7)?.unwrap_or(""),
        country: text(r, 8)?,
        referrer_domain: text(r, 9)?,
        entry_page: r.get::<_, Option<i64>>(10)?.map(|p| p as u32),
        is_bot: r.get::<_, i64>(11)? != 0,
        visitor: r.get(12)?,
        end: r.get(13)?,
        utm_campaign: text(r, 14)?,
        marks: text(r, 15)?.unwrap_or(""),
    })
}

/// The last number of the change sequence: the latest session change, or
/// the floor a removed site left (its sessions took the latest numbers
/// with them, and the sequence must not count them again).
pub(crate) const LAST_CHANGE: &str = "MAX(
    (SELECT IFNULL(MAX(changed), 0) FROM sessions),
    IFNULL((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'change_floor'), 0))";

/// The store's change sequence now: every committed session change is at
/// or below it.
pub(crate) fn watermark(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row(&format!("SELECT {LAST_CHANGE}"), [], |r| r.get(0))?)
}

/// Hands `each` every session (of site `only`, or of every site) changed
/// after `after` and at or before `upto`. From 0 (a first load) it scans
/// the table in rowid order, which is session-id order; after that it
/// walks the change index.
pub(crate) fn each_changed(
    conn: &Connection,
    only: Option<i64>,
    after: i64,
    upto: i64,
    mut each: impl FnMut(JourneyRow<'_>),
) -> Result<()> {
    // `+changed` and `+site_id` keep SQLite off the indexes for a first
    // load: a scan in rowid order beats ten million index lookups, and
    // hands the sessions over in id order, which the engine appends.
    let site = if only.is_some() {
        " AND +site_id = ?3"
    } else {
        " AND ?3 IS NULL"
    };
    let sql = if after == 0 {
        format!("SELECT {COLUMNS} FROM sessions WHERE +changed <= ?2 AND ?1 = 0{site}")
    } else {
        format!("SELECT {COLUMNS} FROM sessions WHERE changed > ?1 AND changed <= ?2{site}")
    };
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params![after, upto, only])?;
    while let Some(r) = rows.next()? {
        each(journey_row(r)?);
    }
    Ok(())
}

/// Every site as `(id, created_ms)`, by id: the engine drops what it holds
/// for a site that is gone (or whose id a new site was given).
pub(crate) fn sites(conn: &Connection) -> Result<Vec<(i64, i64)>> {
    let mut stmt = conn.prepare_cached("SELECT id, created_ms FROM sites ORDER BY id")?;
    let ids = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(ids)
}
