//! Read queries for the API and the CLI. They run on pooled read-only
//! connections and never block the writer (WAL).

use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::Serialize;

use std::collections::HashMap;

use super::{Result, StoreError};
use crate::event::{
    unpack_ids, unpack_pages, Acquisition, Channel, ClientInfo, DeviceClass, EventKind, Geo,
    Millis, Session, Source,
};

/// Which sessions to list: started in `[from, to)`, newest first, after the
/// cursor (the `(start, id)` of the last session of the previous page).
#[derive(Debug, Clone, Default)]
pub(crate) struct SessionQuery {
    pub from: Option<Millis>,
    pub to: Option<Millis>,
    pub limit: usize,
    pub after: Option<(Millis, i64)>,
    /// Bots' sessions are left out unless this is set.
    pub include_bots: bool,
}

const SESSION_COLUMNS: &str = "s.id, s.source, s.start_ms, s.end_ms, pe.path, px.path,
    s.page_count, s.event_count, s.referrer, s.referrer_domain, s.channel, s.utm_source,
    s.utm_medium, s.utm_campaign, s.country, s.region, s.city, s.browser, s.os, s.device,
    s.is_bot, s.rage_clicks, s.dead_clicks, s.error_pages, s.pages, s.marks, s.js_errors";

/// How many columns [`SESSION_COLUMNS`] is: a query's own columns after
/// it start here.
const SESSION_COLUMN_COUNT: usize = 27;

const SESSION_JOINS: &str = "FROM sessions s
    LEFT JOIN pages pe ON pe.id = s.entry_page
    LEFT JOIN pages px ON px.id = s.exit_page";

fn session_from_row(r: &Row<'_>) -> rusqlite::Result<Session> {
    let channel: String = r.get(10)?;
    let device: String = r.get(19)?;
    let pages: Vec<u8> = r.get(24)?;
    let marks: String = r.get(25)?;
    let start: Millis = r.get(2)?;
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
        js_errors: r.get(26)?,
        pages: unpack_pages(&pages),
        marks: crate::event::unpack_marks(start, &marks),
    })
}

/// A page of sessions of a site, newest first.
pub(crate) fn list_sessions(
    conn: &Connection,
    site_id: i64,
    q: &SessionQuery,
) -> Result<Vec<Session>> {
    let sql = format!(
        "SELECT {SESSION_COLUMNS} {SESSION_JOINS}
         WHERE s.site_id = ?1 AND s.start_ms >= ?2 AND s.start_ms < ?3
           AND (s.start_ms < ?4 OR (s.start_ms = ?4 AND s.id < ?5))
           AND (?7 OR s.is_bot = 0)
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
            q.limit as i64,
            q.include_bots
        ],
        session_from_row,
    )?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Sessions of a site by id, in the order of `ids` (ids of other sites
/// or gone are left out).
pub(crate) fn sessions_by_ids(
    conn: &Connection,
    site_id: i64,
    ids: &[i64],
) -> Result<Vec<Session>> {
    let sql =
        format!("SELECT {SESSION_COLUMNS} {SESSION_JOINS} WHERE s.site_id = ?1 AND s.id = ?2");
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(s) = stmt
            .query_row(params![site_id, id], session_from_row)
            .optional()?
        {
            out.push(s);
        }
    }
    Ok(out)
}

/// A session written by one commit of the change sequence.
pub(crate) struct ChangedSession {
    pub change: i64,
    pub site_id: i64,
    pub session: Session,
}

/// Up to about `limit` sessions changed after change `after`, in change
/// order, and always whole commits: the last commit of a batch is either
/// complete or left for the next call, so a reader that remembers the
/// last change it saw never misses a session.
pub(crate) fn changed_sessions(
    conn: &Connection,
    after: i64,
    limit: usize,
) -> Result<Vec<ChangedSession>> {
    let sql = format!(
        "SELECT {SESSION_COLUMNS}, s.changed, s.site_id {SESSION_JOINS}
         WHERE s.changed > ?1 ORDER BY s.changed, s.id LIMIT ?2"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let row = |r: &Row<'_>| {
        Ok(ChangedSession {
            session: session_from_row(r)?,
            change: r.get(SESSION_COLUMN_COUNT)?,
            site_id: r.get(SESSION_COLUMN_COUNT + 1)?,
        })
    };
    let mut batch: Vec<ChangedSession> = stmt
        .query_map(params![after, limit as i64], row)?
        .collect::<rusqlite::Result<_>>()?;
    if batch.len() < limit {
        return Ok(batch);
    }
    let last = batch.last().map_or(after, |c| c.change);
    if batch.first().is_some_and(|c| c.change == last) {
        // One commit larger than the limit: take all of it.
        let sql = format!(
            "SELECT {SESSION_COLUMNS}, s.changed, s.site_id {SESSION_JOINS}
             WHERE s.changed = ?1 ORDER BY s.id"
        );
        let mut whole = conn.prepare_cached(&sql)?;
        return Ok(whole
            .query_map(params![last], row)?
            .collect::<rusqlite::Result<_>>()?);
    }
    batch.retain(|c| c.change < last);
    Ok(batch)
}

/// One event of a session, as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct StoredEvent {
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
pub(crate) struct SessionDetail {
    pub session: Session,
    pub page_paths: Vec<String>,
    pub events: Vec<StoredEvent>,
}

/// One session of a site with everything needed to replay it.
pub(crate) fn session_detail(
    conn: &Connection,
    site_id: i64,
    id: i64,
) -> Result<Option<SessionDetail>> {
    let sql =
        format!("SELECT {SESSION_COLUMNS} {SESSION_JOINS} WHERE s.site_id = ?1 AND s.id = ?2");
    let session = conn
        .prepare_cached(&sql)?
        .query_row(params![site_id, id], session_from_row)
        .optional()?;
    let Some(session) = session else {
        return Ok(None);
    };
    let events = session_events(conn, id)?;
    let page_paths = page_paths(conn, &session.pages)?;
    Ok(Some(SessionDetail {
        session,
        page_paths,
        events,
    }))
}

/// A session's events in order, expanded from its chunks, with pages resolved.
fn session_events(conn: &Connection, session_id: i64) -> Result<Vec<StoredEvent>> {
    let ids: Vec<u8> = conn
        .prepare_cached("SELECT chunks FROM sessions WHERE id = ?1")?
        .query_row([session_id], |r| r.get(0))?;
    let mut stmt =
        conn.prepare_cached("SELECT first_seq, page_ids, events FROM event_chunks WHERE id = ?1")?;
    let mut chunks = Vec::new();
    for id in unpack_ids(&ids) {
        chunks.push(stmt.query_row([id], |r| {
            Ok((
                r.get::<_, u32>(0)?,
                r.get::<_, Vec<u8>>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?);
    }
    let mut paths: HashMap<u32, Option<String>> = HashMap::new();
    let mut page_stmt = conn.prepare_cached("SELECT path FROM pages WHERE id = ?1")?;
    let mut events = Vec::new();
    for (first_seq, page_ids, json) in chunks {
        let objects: Vec<serde_json::Map<String, serde_json::Value>> = serde_json::from_str(&json)
            .map_err(|e| {
                StoreError::Invalid(format!("session {session_id}: corrupt event chunk: {e}"))
            })?;
        for ((i, mut detail), page_id) in
            objects.into_iter().enumerate().zip(unpack_pages(&page_ids))
        {
            let kind = detail
                .remove("type")
                .and_then(|v| serde_json::from_value::<EventKind>(v).ok())
                .unwrap_or(EventKind::Custom);
            let ts = detail.remove("ts").and_then(|v| v.as_i64()).unwrap_or(0);
            let page = match page_id {
                0 => None,
                id => match paths.get(&id) {
                    Some(p) => p.clone(),
                    None => {
                        let p: Option<String> =
                            page_stmt.query_row([id], |r| r.get(0)).optional()?;
                        paths.insert(id, p.clone());
                        p
                    }
                },
            };
            events.push(StoredEvent {
                seq: first_seq + i as u32,
                ts,
                kind,
                page,
                detail,
            });
        }
    }
    Ok(events)
}

/// Resolves page ids to paths, in order.
pub(crate) fn page_paths(conn: &Connection, ids: &[u32]) -> Result<Vec<String>> {
    let mut stmt = conn.prepare_cached("SELECT path FROM pages WHERE id = ?1")?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let path: Option<String> = stmt.query_row([id], |r| r.get(0)).optional()?;
        out.push(path.unwrap_or_default());
    }
    Ok(out)
}

/// The path of one page id; an error when there is no such page.
pub(crate) fn page_path(conn: &Connection, id: u32) -> Result<String> {
    let mut stmt = conn.prepare_cached("SELECT path FROM pages WHERE id = ?1")?;
    Ok(stmt.query_row([id], |r| r.get(0))?)
}

/// How far earlier imports read an input of a site: (byte offset, lines).
pub(crate) fn import_progress(
    conn: &Connection,
    site_id: i64,
    identity: &str,
) -> Result<Option<(u64, u64)>> {
    Ok(conn
        .query_row(
            "SELECT offset, lines FROM import_files WHERE site_id = ?1 AND identity = ?2",
            params![site_id, identity],
            |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)),
        )
        .optional()?)
}

/// Which sessions path mining looks at. Every field narrows; `None` (and
/// `include_bots: false`) is the default.
#[derive(Debug, Clone, Default)]
pub(crate) struct JourneyFilter {
    pub from: Option<Millis>,
    pub to: Option<Millis>,
    pub channel: Option<String>,
    pub device: Option<String>,
    pub country: Option<String>,
    pub referrer_domain: Option<String>,
    /// The entry page's path, as stored (before cleaning).
    pub entry_page: Option<String>,
    pub include_bots: bool,
    /// A cleaning choice rather than a filter: keep consecutive repeats of
    /// a page (A A B) instead of collapsing them, for data where a repeat
    /// is a real step (category-level logs such as the MSNBC dataset).
    pub keep_repeats: bool,
}

/// A session's page views as stored: raw page ids, times and signals.
#[cfg(test)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoredJourney {
    pub session_id: i64,
    pub pages: Vec<u32>,
    pub times: Vec<Millis>,
    pub signals: Vec<crate::event::PageSignals>,
}

/// `FROM … WHERE …` selecting the sessions of a site that pass `f` (as
/// `s`), with its arguments.
fn filtered_sessions(site_id: i64, f: &JourneyFilter) -> (String, Vec<Box<dyn rusqlite::ToSql>>) {
    let mut sql = String::from(
        "FROM sessions s LEFT JOIN pages pe ON pe.id = s.entry_page WHERE s.site_id = ?",
    );
    let mut args: Vec<Box<dyn rusqlite::ToSql>> = vec![Box::new(site_id)];
    narrow_sessions(f, &mut sql, &mut args);
    (sql, args)
}

/// Appends to `sql` (a `WHERE` over `sessions s` joined with the entry
/// page as `pe`) the conditions of `f`, and their arguments to `args`.
fn narrow_sessions(f: &JourneyFilter, sql: &mut String, args: &mut Vec<Box<dyn rusqlite::ToSql>>) {
    let mut narrow = |clause: &str, value: Box<dyn rusqlite::ToSql>| {
        sql.push_str(clause);
        args.push(value);
    };
    if let Some(v) = f.from {
        narrow(" AND s.start_ms >= ?", Box::new(v));
    }
    if let Some(v) = f.to {
        narrow(" AND s.start_ms < ?", Box::new(v));
    }
    if let Some(v) = &f.channel {
        narrow(" AND s.channel = ?", Box::new(v.clone()));
    }
    if let Some(v) = &f.device {
        narrow(" AND s.device = ?", Box::new(v.clone()));
    }
    if let Some(v) = &f.country {
        narrow(" AND s.country = ?", Box::new(v.to_ascii_uppercase()));
    }
    if let Some(v) = &f.referrer_domain {
        narrow(
            " AND s.referrer_domain = ?",
            Box::new(v.to_ascii_lowercase()),
        );
    }
    if let Some(v) = &f.entry_page {
        narrow(" AND pe.path = ?", Box::new(v.clone()));
    }
    if !f.include_bots {
        sql.push_str(" AND s.is_bot = 0");
    }
}

/// The journeys of a site's sessions that pass `f`, oldest first: how
/// reports read them before the engine, kept to check it against.
#[cfg(test)]
pub(crate) fn load_journeys(
    conn: &Connection,
    site_id: i64,
    f: &JourneyFilter,
) -> Result<Vec<StoredJourney>> {
    let (from, args) = filtered_sessions(site_id, f);
    let sql = format!(
        "SELECT s.id, s.start_ms, s.pages, s.page_times, s.page_signals {from}
         ORDER BY s.start_ms, s.id"
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(args.iter()), |r| {
        let start: Millis = r.get(1)?;
        let pages = unpack_pages(&r.get::<_, Vec<u8>>(2)?);
        let mut times = crate::event::unpack_times(start, &r.get::<_, Vec<u8>>(3)?);
        let mut signals = crate::event::unpack_signals(&r.get::<_, Vec<u8>>(4)?);
        // Sessions written before page times existed: fill in.
        times.resize(pages.len(), times.last().copied().unwrap_or(start));
        signals.resize(pages.len(), Default::default());
        Ok(StoredJourney {
            session_id: r.get(0)?,
            pages,
            times,
            signals,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// A name with a count (a page, a channel, a country).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Counted {
    pub name: String,
    pub sessions: u64,
}

/// Sessions started in one time bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Bucket {
    /// The bucket's start (ms since the epoch).
    pub start: Millis,
    pub sessions: u64,
    pub page_views: u64,
}

/// The headline figures of a site over a selection of sessions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Overview {
    pub sessions: u64,
    /// Distinct visitor hashes. The hash's salt rotates daily, so a person
    /// who comes back on another day counts again (as in Plausible).
    pub visitors: u64,
    pub page_views: u64,
    /// Sessions of one page view / sessions.
    pub bounce_rate: f64,
    /// Mean session duration (s).
    pub mean_duration_s: f64,
    pub entry_pages: Vec<Counted>,
    pub exit_pages: Vec<Counted>,
    pub channels: Vec<Counted>,
    pub countries: Vec<Counted>,
    pub devices: Vec<Counted>,
    /// The bucket size of `series` (ms): an hour for ranges up to two
    /// days, a day otherwise.
    pub bucket_ms: Millis,
    /// What a bucket is: "hour" or "day" (and "week" or "month" when the
    /// service merges days).
    pub interval: &'static str,
    pub series: Vec<Bucket>,
}

/// The overview series' bucket (ms): `asked`, or by the range's span, an
/// hour up to two days and a day beyond. The engine's overview and this
/// one's SQL choose alike through it.
pub(crate) fn series_bucket(span: Millis, asked: Option<Millis>) -> Millis {
    const HOUR: Millis = 3_600_000;
    const DAY: Millis = 86_400_000;
    asked.unwrap_or(if span <= 2 * DAY { HOUR } else { DAY })
}

/// What a bucket of `bucket_ms` is called in the overview's `interval`.
pub(crate) fn interval_name(bucket_ms: Millis) -> &'static str {
    if bucket_ms < 86_400_000 {
        "hour"
    } else {
        "day"
    }
}

/// The overview of the sessions of a site that pass `f`; `top` bounds the
/// lists.
pub(crate) fn overview(
    conn: &Connection,
    site_id: i64,
    f: &JourneyFilter,
    top: usize,
    bucket: Option<Millis>,
) -> Result<Overview> {
    let (from, args) = filtered_sessions(site_id, f);
    let args = || rusqlite::params_from_iter(args.iter());
    let (sessions, visitors, page_views, bounces, duration, first, last): (
        i64,
        i64,
        i64,
        i64,
        f64,
        Option<i64>,
        Option<i64>,
    ) = conn.query_row(
        &format!(
            "SELECT COUNT(*), COUNT(DISTINCT s.visitor), COALESCE(SUM(s.page_count), 0),
                    COALESCE(SUM(s.page_count = 1), 0),
                    COALESCE(AVG(s.end_ms - s.start_ms), 0) / 1000.0,
                    MIN(s.start_ms), MAX(s.start_ms) {from}"
        ),
        args(),
        |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ))
        },
    )?;
    let counted = |expr: &str| -> Result<Vec<Counted>> {
        let sql = format!(
            "SELECT {expr} AS name, COUNT(*) AS n {from} GROUP BY name
             HAVING name IS NOT NULL ORDER BY n DESC, name LIMIT {top}"
        );
        let mut stmt = conn.prepare(&sql)?;
        let rows = stmt.query_map(args(), |r| {
            Ok(Counted {
                name: r.get(0)?,
                sessions: r.get::<_, i64>(1)? as u64,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    };
    let span = f.to.or(last).unwrap_or(0) - f.from.or(first).unwrap_or(0);
    let bucket_ms = series_bucket(span, bucket);
    let mut stmt = conn.prepare(&format!(
        "SELECT s.start_ms / {bucket_ms} * {bucket_ms} AS b, COUNT(*), SUM(s.page_count)
         {from} GROUP BY b ORDER BY b"
    ))?;
    let series = stmt
        .query_map(args(), |r| {
            Ok(Bucket {
                start: r.get(0)?,
                sessions: r.get::<_, i64>(1)? as u64,
                page_views: r.get::<_, i64>(2)? as u64,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(Overview {
        sessions: sessions as u64,
        visitors: visitors as u64,
        page_views: page_views as u64,
        bounce_rate: if sessions > 0 {
            bounces as f64 / sessions as f64
        } else {
            0.0
        },
        mean_duration_s: duration,
        entry_pages: counted("(SELECT path FROM pages WHERE id = s.entry_page)")?,
        exit_pages: counted("(SELECT path FROM pages WHERE id = s.exit_page)")?,
        channels: counted("s.channel")?,
        countries: counted("s.country")?,
        devices: counted("s.device")?,
        bucket_ms,
        interval: interval_name(bucket_ms),
        series,
    })
}

/// How one view of a page looked and how far down it was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct ViewDepth {
    /// Viewport width and height, document width and height (px).
    pub vw: u32,
    pub vh: u32,
    pub dw: u32,
    pub dh: u32,
    /// The deepest point seen: px from the document top to the viewport's
    /// bottom edge (at least the first screen).
    pub depth: u32,
}

/// What happened on some pages: every click, and every view's depth.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct PageActivity {
    pub clicks: Vec<crate::event::RecordedClick>,
    pub views: Vec<ViewDepth>,
}

/// The fields of stored events that heatmaps and scroll maps read.
#[derive(serde::Deserialize)]
struct ActivityEvent {
    #[serde(rename = "type")]
    kind: String,
    vw: Option<u32>,
    vh: Option<u32>,
    dw: Option<u32>,
    dh: Option<u32>,
    x: Option<f64>,
    y: Option<f64>,
    sel: Option<String>,
    ox: Option<f64>,
    oy: Option<f64>,
    #[serde(default)]
    rage: bool,
    #[serde(default)]
    dead: bool,
    max_depth: Option<u32>,
}

/// The clicks and view depths on `pages` (raw page ids) in the sessions of
/// a site that pass `f`, oldest first: how heatmaps read them before the
/// read engine held them ([`crate::engine::activity`]), kept to check it
/// against.
#[cfg(test)]
pub(crate) fn page_activity(
    conn: &Connection,
    site_id: i64,
    f: &JourneyFilter,
    pages: &std::collections::HashSet<u32>,
) -> Result<PageActivity> {
    let (from, args) = filtered_sessions(site_id, f);
    let sql = format!("SELECT s.id, s.pages, s.chunks {from} ORDER BY s.start_ms, s.id");
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query(rusqlite::params_from_iter(args.iter()))?;
    let mut out = PageActivity::default();
    let mut reader = ActivityReader::new(conn, pages)?;
    while let Some(row) = rows.next()? {
        let id: i64 = row.get(0)?;
        reader.session(
            id,
            &row.get::<_, Vec<u8>>(1)?,
            &row.get::<_, Vec<u8>>(2)?,
            &mut out,
        )?;
    }
    Ok(out)
}

/// Hands `each` the clicks and view depths on `pages` (raw page ids) of
/// every session of `site_id` that changed in `(after, upto]` and visited
/// one of them, in session-id order: what the read engine's page activity
/// ([`crate::engine::activity`]) loads once and then follows, as it
/// follows journeys.
pub(crate) fn each_page_activity(
    conn: &Connection,
    site_id: i64,
    pages: &std::collections::HashSet<u32>,
    after: i64,
    upto: i64,
    mut each: impl FnMut(i64, PageActivity),
) -> Result<()> {
    // A first load scans the table in rowid (session id) order, as the
    // engine's first load does: cheaper than a lookup per session through
    // an index. Later ones walk the change index.
    let sql = if after == 0 {
        "SELECT id, pages, chunks FROM sessions
         WHERE +site_id = ?1 AND +changed <= ?3 AND ?2 = 0 ORDER BY id"
    } else {
        "SELECT id, pages, chunks FROM sessions
         WHERE changed > ?2 AND changed <= ?3 AND +site_id = ?1 ORDER BY id"
    };
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(params![site_id, after, upto])?;
    let mut reader = ActivityReader::new(conn, pages)?;
    while let Some(row) = rows.next()? {
        let id: i64 = row.get(0)?;
        if !reader.visited(super::journeys::blob(row, 1)?) {
            continue;
        }
        let mut one = PageActivity::default();
        reader.chunks(id, &unpack_ids(super::journeys::blob(row, 2)?), &mut one)?;
        each(id, one);
    }
    Ok(())
}

/// Reads one session's activity on some pages from its event chunks.
struct ActivityReader<'c> {
    chunk: rusqlite::CachedStatement<'c>,
    pages: &'c std::collections::HashSet<u32>,
}

impl<'c> ActivityReader<'c> {
    fn new(
        conn: &'c Connection,
        pages: &'c std::collections::HashSet<u32>,
    ) -> Result<ActivityReader<'c>> {
        Ok(ActivityReader {
            chunk: conn
                .prepare_cached("SELECT page_ids, events FROM event_chunks WHERE id = ?1")?,
            pages,
        })
    }

    /// Whether a session's packed page list holds one of the pages.
    fn visited(&self, packed_pages: &[u8]) -> bool {
        packed_pages.chunks_exact(4).any(|p| {
            self.pages
                .contains(&u32::from_le_bytes([p[0], p[1], p[2], p[3]]))
        })
    }

    /// Adds the activity of the session with these packed pages and chunk
    /// ids to `out`, if it visited one of the pages.
    #[cfg(test)]
    fn session(
        &mut self,
        session_id: i64,
        packed_pages: &[u8],
        packed_chunks: &[u8],
        out: &mut PageActivity,
    ) -> Result<()> {
        if self.visited(packed_pages) {
            self.chunks(session_id, &unpack_ids(packed_chunks), out)?;
        }
        Ok(())
    }

    /// Adds the activity in a session's event chunks to `out`. Only the
    /// chunks that hold one of the pages are parsed.
    fn chunks(&mut self, session_id: i64, chunks: &[i64], out: &mut PageActivity) -> Result<()> {
        let pages = self.pages;
        // The view in progress: clicks and scrolls belong to the latest
        // page view of their page.
        let mut view: Option<ViewDepth> = None;
        for chunk in chunks {
            let (page_ids, json): (Vec<u8>, String) = self
                .chunk
                .query_row([chunk], |r| Ok((r.get(0)?, r.get(1)?)))?;
            let page_ids = unpack_pages(&page_ids);
            if !page_ids.iter().any(|p| pages.contains(p)) {
                continue;
            }
            let events: Vec<ActivityEvent> = serde_json::from_str(&json).map_err(|e| {
                StoreError::Invalid(format!("session {session_id}: corrupt event chunk: {e}"))
            })?;
            for (e, page) in events.into_iter().zip(page_ids) {
                if !pages.contains(&page) {
                    continue;
                }
                match e.kind.as_str() {
                    "pageview" => {
                        out.views.extend(view.take());
                        let vh = e.vh.unwrap_or(0);
                        view = Some(ViewDepth {
                            vw: e.vw.unwrap_or(0),
                            vh,
                            dw: e.dw.unwrap_or(0),
                            dh: e.dh.unwrap_or(0),
                            depth: vh,
                        });
                    }
                    "click" => {
                        let (Some(x), Some(y)) = (e.x, e.y) else {
                            continue;
                        };
                        out.clicks.push(crate::event::RecordedClick {
                            session_id,
                            x,
                            y,
                            vw: view.map_or(0, |v| v.vw),
                            dw: e.dw.or(view.map(|v| v.dw)).unwrap_or(0),
                            sel: e.sel.map(Into::into),
                            ox: e.ox.unwrap_or(0.0),
                            oy: e.oy.unwrap_or(0.0),
                            rage: e.rage,
                            dead: e.dead,
                        });
                    }
                    _ => {
                        if let Some(v) = view.as_mut() {
                            v.depth = v.depth.max(e.max_depth.unwrap_or(0));
                            v.dh = v.dh.max(e.dh.unwrap_or(0));
                        }
                    }
                }
            }
        }
        out.views.extend(view);
        Ok(())
    }
}

/// Every page of a site: (id, path).
pub(crate) fn site_pages(conn: &Connection, site_id: i64) -> Result<Vec<(u32, String)>> {
    let mut stmt = conn.prepare_cached("SELECT id, path FROM pages WHERE site_id = ?1")?;
    let rows = stmt.query_map([site_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
