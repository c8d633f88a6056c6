//! JavaScript errors: the error capture's `$error` events, kept once per
//! page view and error in `js_errors` beside the session's events, so the
//! errors report reads a few rows per error instead of every session's
//! event chunks. Written by the pipeline in the batch's transaction, read
//! through the same session filters as every report.

use std::collections::{HashMap, HashSet};

use rusqlite::{params, Connection, Transaction};
use serde::Serialize;

use super::read::{narrow_sessions, Counted, JourneyFilter};
use super::Result;
use crate::event::{JsError, Millis};

/// One error of one page view, as the pipeline records it.
pub(crate) struct NewJsError<'a> {
    pub site_id: i64,
    pub session_id: i64,
    /// The page view's index in the session.
    pub view: u32,
    pub ts: Millis,
    pub page_id: Option<u32>,
    pub error: &'a JsError,
}

pub(super) fn insert(tx: &Transaction<'_>, e: &NewJsError<'_>) -> Result<()> {
    let mut stmt = tx.prepare_cached(
        "INSERT OR IGNORE INTO js_errors
            (site_id, session_id, view, ts_ms, page_id, kind, message, source, line, col, click)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?;
    stmt.execute(params![
        e.site_id,
        e.session_id,
        e.view,
        e.ts,
        e.page_id,
        e.error.kind,
        e.error.message,
        e.error.source.as_deref().unwrap_or(""),
        e.error.line.unwrap_or(0),
        e.error.col.unwrap_or(0),
        e.error.click,
    ])?;
    Ok(())
}

/// One error (kind, message, script and line) over the sessions asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct JsErrorGroup {
    pub kind: String,
    pub message: String,
    /// The script's URL, empty when the browser gave none ("Script error."
    /// from another origin's script without `crossorigin`).
    pub source: String,
    /// 0 when unknown.
    pub line: u32,
    /// Sessions that had it.
    pub sessions: u64,
    /// Page views that had it.
    pub views: u64,
    /// Of those views, how many had it less than 1 s after a click.
    pub error_clicks: u64,
    pub first_ms: Millis,
    pub last_ms: Millis,
    /// The pages it happened on, most sessions first (at most 5).
    pub pages: Vec<Counted>,
    /// The newest sessions that had it (at most 10), for the player.
    pub examples: Vec<i64>,
}

/// What the errors report reads from the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JsErrors {
    /// Sessions with at least one error.
    pub sessions: u64,
    /// Distinct errors among them.
    pub distinct: u64,
    /// The `top` errors with the most sessions.
    pub errors: Vec<JsErrorGroup>,
}

const PAGES: usize = 5;
const EXAMPLES: usize = 10;

/// The errors of the sessions of a site that pass `f`, most sessions
/// first (then most views, then by message). One pass over the site's
/// error rows in the range, aggregated here.
pub(crate) fn report(
    conn: &Connection,
    site_id: i64,
    f: &JourneyFilter,
    top: usize,
) -> Result<JsErrors> {
    // The error rows drive the join (there are far fewer of them than
    // sessions); each is checked against its session's row.
    let mut sql = String::from(
        "SELECT e.kind, e.message, e.source, e.line, e.session_id, e.page_id, e.ts_ms, e.click
         FROM js_errors e CROSS JOIN sessions s ON s.id = e.session_id
         LEFT JOIN pages pe ON pe.id = s.entry_page
         WHERE e.site_id = ? AND s.site_id = ?",
    );
    let mut args: Vec<Box<dyn rusqlite::ToSql>> = vec![Box::new(site_id), Box::new(site_id)];
    narrow_sessions(f, &mut sql, &mut args);
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query(rusqlite::params_from_iter(args.iter()))?;

    #[derive(Default)]
    struct Acc {
        sessions: HashSet<i64>,
        views: u64,
        clicks: u64,
        first: Millis,
        last: Millis,
        pages: HashMap<Option<u32>, HashSet<i64>>,
    }
    let mut groups: HashMap<(String, String, String, u32), Acc> = HashMap::new();
    let mut with_errors: HashSet<i64> = HashSet::new();
    while let Some(r) = rows.next()? {
        let key = (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?);
        let (session, page, ts, click): (i64, Option<u32>, Millis, bool) =
            (r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?);
        with_errors.insert(session);
        let acc = groups.entry(key).or_insert_with(|| Acc {
            first: ts,
            last: ts,
            ..Acc::default()
        });
        acc.sessions.insert(session);
        acc.views += 1;
        acc.clicks += u64::from(click);
        acc.first = acc.first.min(ts);
        acc.last = acc.last.max(ts);
        acc.pages.entry(page).or_default().insert(session);
    }
    drop(rows);
    let distinct = groups.len() as u64;
    let mut ranked: Vec<_> = groups.into_iter().collect();
    ranked.sort_by(|(ka, a), (kb, b)| {
        (b.sessions.len(), b.views)
            .cmp(&(a.sessions.len(), a.views))
            .then_with(|| ka.cmp(kb))
    });
    ranked.truncate(top);
    let mut errors = Vec::with_capacity(ranked.len());
    for ((kind, message, source, line), acc) in ranked {
        let mut pages: Vec<(Option<u32>, u64)> = acc
            .pages
            .iter()
            .map(|(p, s)| (*p, s.len() as u64))
            .collect();
        pages.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        pages.truncate(PAGES);
        let pages = pages
            .into_iter()
            .map(|(p, sessions)| {
                let name = match p {
                    Some(id) => super::read::page_path(conn, id)?,
                    None => String::new(),
                };
                Ok(Counted { name, sessions })
            })
            .collect::<Result<Vec<_>>>()?;
        let mut examples: Vec<i64> = acc.sessions.iter().copied().collect();
        examples.sort_unstable_by(|a, b| b.cmp(a));
        examples.truncate(EXAMPLES);
        errors.push(JsErrorGroup {
            kind,
            message,
            source,
            line,
            sessions: acc.sessions.len() as u64,
            views: acc.views,
            error_clicks: acc.clicks,
            first_ms: acc.first,
            last_ms: acc.last,
            pages,
            examples,
        });
    }
    Ok(JsErrors {
        sessions: with_errors.len() as u64,
        distinct,
        errors,
    })
}
