//! What is happening now, and whether a site receives anything at all:
//! the facts behind the dashboards' install check and their realtime view.
//!
//! Both read session rows only (page views come from the packed page ids
//! and times beside them, never from event chunks), through the index on
//! (site, start), so they stay cheap however large the site: the install
//! check reads the first and the latest sessions and counts at most
//! [`COUNT_CAP`] rows; the realtime view reads the sessions started in the
//! last [`LIVE_LOOKBACK_MS`].

use rusqlite::{params, Connection};

use super::Result;
use crate::event::{unpack_pages, unpack_times, Millis, Source};

/// The install check counts sessions up to this many.
pub(crate) const COUNT_CAP: u64 = 10_000;
/// How far back a session may have started and still be active now: a
/// session ends after its inactivity timeout, so only one that kept going
/// for longer than this is missed.
pub(crate) const LIVE_LOOKBACK_MS: Millis = 12 * 3_600_000;

/// Whether and since when a site receives events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct InstallFacts {
    /// The start of the site's first session.
    pub first_ms: Option<Millis>,
    /// The latest end among its most recent sessions.
    pub last_ms: Option<Millis>,
    /// Sessions, counted up to [`COUNT_CAP`].
    pub sessions: u64,
    /// Of those, from the tracker (not imported logs).
    pub tracker_sessions: u64,
    /// There are more than [`COUNT_CAP`].
    pub more: bool,
}

/// The install facts of a site.
pub(crate) fn install_facts(conn: &Connection, site_id: i64) -> Result<InstallFacts> {
    let first_ms: Option<Millis> = conn
        .prepare_cached(
            "SELECT start_ms FROM sessions WHERE site_id = ?1 ORDER BY start_ms ASC LIMIT 1",
        )?
        .query_map([site_id], |r| r.get(0))?
        .next()
        .transpose()?;
    // A long session may end after later ones started: the latest end of
    // the last hundred is the latest activity, for any real traffic.
    let last_ms: Option<Millis> = conn
        .prepare_cached(
            "SELECT MAX(end_ms) FROM (SELECT end_ms FROM sessions WHERE site_id = ?1
             ORDER BY start_ms DESC LIMIT 100)",
        )?
        .query_row([site_id], |r| r.get(0))?;
    let (sessions, tracker): (u64, Option<u64>) = conn
        .prepare_cached(
            "SELECT COUNT(*), SUM(source = ?2) FROM (SELECT source FROM sessions
             WHERE site_id = ?1 LIMIT ?3)",
        )?
        .query_row(
            params![site_id, Source::Tracker.code(), (COUNT_CAP + 1) as i64],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
    Ok(InstallFacts {
        first_ms,
        last_ms,
        sessions: sessions.min(COUNT_CAP),
        tracker_sessions: tracker.unwrap_or(0).min(COUNT_CAP),
        more: sessions > COUNT_CAP,
    })
}

/// A session active in the realtime window, with its page views.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LiveSession {
    pub id: i64,
    pub visitor: i64,
    pub end_ms: Millis,
    /// Page views in order: page id and time.
    pub views: Vec<(u32, Millis)>,
    pub device: String,
    pub country: Option<String>,
    pub channel: String,
}

/// The sessions of a site with activity at or after `since` (bots only
/// when asked), newest activity first.
pub(crate) fn live_sessions(
    conn: &Connection,
    site_id: i64,
    since: Millis,
    include_bots: bool,
) -> Result<Vec<LiveSession>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, visitor, start_ms, end_ms, pages, page_times, device, country, channel
         FROM sessions
         WHERE site_id = ?1 AND start_ms >= ?2 AND end_ms >= ?3 AND (?4 OR is_bot = 0)",
    )?;
    let mut out = stmt
        .query_map(
            params![site_id, since - LIVE_LOOKBACK_MS, since, include_bots],
            |r| {
                let start: Millis = r.get(2)?;
                let pages: Vec<u8> = r.get(4)?;
                let times: Vec<u8> = r.get(5)?;
                let ids = unpack_pages(&pages);
                let mut at = unpack_times(start, &times);
                // Sessions stored before page times were kept have none:
                // their views are placed at the start.
                at.resize(ids.len(), start);
                Ok(LiveSession {
                    id: r.get(0)?,
                    visitor: r.get(1)?,
                    end_ms: r.get(3)?,
                    views: ids.into_iter().zip(at).collect(),
                    device: r.get(6)?,
                    country: r.get(7)?,
                    channel: r.get(8)?,
                })
            },
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    out.sort_by_key(|s| std::cmp::Reverse(s.end_ms));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_site_has_no_facts() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::Store::open(&dir.path().join("t.db")).unwrap();
        let mut conn = store.admin().unwrap();
        let site =
            crate::store::sites::add(&mut conn, "shop", &["https://s.example".into()], 1).unwrap();
        let f = install_facts(&conn, site.id).unwrap();
        assert_eq!(
            (f.first_ms, f.last_ms, f.sessions, f.more),
            (None, None, 0, false)
        );
        assert!(live_sessions(&conn, site.id, 0, true).unwrap().is_empty());
    }
}
