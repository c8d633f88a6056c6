//! Read queries for the API and the CLI. They run on pooled read-only
//! connections and never block the writer (WAL).

use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::Serialize;

use super::Result;
use crate::event::{
    unpack_pages, Acquisition, Channel, ClientInfo, DeviceClass, EventKind, Geo, Millis, Session,
    Source,
};

/// Which sessions to list: started in `[from, to)`, newest first, after the
/// cursor (the `(start, id)` of the last session of the previous page).
#[derive(Debug, Clone, Default)]
pub struct SessionQuery {
    pub from: Option<Millis>,
    pub to: Option<Millis>,
    pub limit: usize,
    pub after: Option<(Millis, i64)>,
}

const SESSION_COLUMNS: &str = "s.id, s.source, s.start_ms, s.end_ms, pe.path, px.path,
    s.page_count, s.event_count, s.referrer, s.referrer_domain, s.channel, s.utm_source,
    s.utm_medium, s.utm_campaign, s.country, s.region, s.city, s.browser, s.os, s.device,
    s.is_bot, s.rage_clicks, s.dead_clicks, s.error_pages, s.pages";

const SESSION_JOINS: &str = "FROM sessions s
    LEFT JOIN pages pe ON pe.id = s.entry_page
    LEFT JOIN pages px ON px.id = s.exit_page";

fn session_from_row(r: &Row<'_>) -> rusqlite::Result<Session> {
    let channel: String = r.get(10)?;
    let device: String = r.get(19)?;
    let pages: Vec<u8> = r.get(24)?;
    Ok(Session {
        id: r.get(0)?,
        source: Source::from_code(r.get(1)?),
        start: r.get(2)?,
        end: r.get(3)?,
        entry_page: r.get(4)?,
        exit_page: r.get(5)?,
        page_count: r.get(6)?,
        event_count: r.get(7)?,
        acquisition: Acquisition {
            referrer: r.get(8)?,
            referrer_domain: r.get(9)?,
            channel: Channel::parse(&channel).unwrap_or(Channel::Direct),
            utm_source: r.get(11)?,
            utm_medium: r.get(12)?,
            utm_campaign: r.get(13)?,
        },
        geo: Geo {
            country: r.get(14)?,
            region: r.get(15)?,
            city: r.get(16)?,
        },
        client: ClientInfo {
            browser: r.get(17)?,
            os: r.get(18)?,
            device: DeviceClass::parse(&device).unwrap_or(DeviceClass::Other),
            is_bot: r.get(20)?,
        },
        rage_clicks: r.get(21)?,
        dead_clicks: r.get(22)?,
        error_pages: r.get(23)?,
        pages: unpack_pages(&pages),
    })
}

/// A page of sessions of a site, newest first.
pub fn list_sessions(conn: &Connection, site_id: i64, q: &SessionQuery) -> Result<Vec<Session>> {
    let sql = format!(
        "SELECT {SESSION_COLUMNS} {SESSION_JOINS}
         WHERE s.site_id = ?1 AND s.start_ms >= ?2 AND s.start_ms < ?3
           AND (s.start_ms < ?4 OR (s.start_ms = ?4 AND s.id < ?5))
         ORDER BY s.start_ms DESC, s.id DESC
         LIMIT ?6"
    );
    let (after_start, after_id) = q.after.unwrap_or((i64::MAX, i64::MAX));
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(
        params![
            site_id,
            q.from.unwrap_or(i64::MIN),
            q.to.unwrap_or(i64::MAX),
            after_start,
            after_id,
            q.limit as i64
        ],
        session_from_row,
    )?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// One event of a session, as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredEvent {
    pub seq: u32,
    pub ts: Millis,
    #[serde(rename = "type")]
    pub kind: EventKind,
    pub page: Option<String>,
    #[serde(flatten)]
    pub detail: serde_json::Map<String, serde_json::Value>,
}

/// A session with its events in order and its page sequence as paths.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionDetail {
    pub session: Session,
    pub page_paths: Vec<String>,
    pub events: Vec<StoredEvent>,
}

/// One session of a site with everything needed to replay it.
pub fn session_detail(conn: &Connection, site_id: i64, id: i64) -> Result<Option<SessionDetail>> {
    let sql =
        format!("SELECT {SESSION_COLUMNS} {SESSION_JOINS} WHERE s.site_id = ?1 AND s.id = ?2");
    let session = conn
        .prepare_cached(&sql)?
        .query_row(params![site_id, id], session_from_row)
        .optional()?;
    let Some(session) = session else {
        return Ok(None);
    };
    let mut stmt = conn.prepare_cached(
        "SELECT e.seq, e.ts, e.kind, p.path, e.data FROM events e
         LEFT JOIN pages p ON p.id = e.page_id
         WHERE e.session_id = ?1 ORDER BY e.seq",
    )?;
    let events = stmt
        .query_map([id], |r| {
            let data: String = r.get(4)?;
            Ok(StoredEvent {
                seq: r.get(0)?,
                ts: r.get(1)?,
                kind: EventKind::from_code(r.get(2)?).unwrap_or(EventKind::Custom),
                page: r.get(3)?,
                detail: serde_json::from_str(&data).unwrap_or_default(),
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let page_paths = page_paths(conn, &session.pages)?;
    Ok(Some(SessionDetail {
        session,
        page_paths,
        events,
    }))
}

/// Resolves page ids to paths, in order.
pub fn page_paths(conn: &Connection, ids: &[u32]) -> Result<Vec<String>> {
    let mut stmt = conn.prepare_cached("SELECT path FROM pages WHERE id = ?1")?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let path: Option<String> = stmt.query_row([id], |r| r.get(0)).optional()?;
        out.push(path.unwrap_or_default());
    }
    Ok(out)
}

/// Row counts, for health checks and tests.
pub fn count_events(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("SELECT COUNT(*) FROM events", [], |r| r.get(0))?)
}
