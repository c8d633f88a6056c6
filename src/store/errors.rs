//! JavaScript errors: the error capture's `$error` events, kept once per
//! page view and error in `js_errors` beside the session's events, so the
//! errors report reads a few rows per error instead of every session's
//! event chunks. Written by the pipeline in the batch's transaction; read
//! for the sessions of a report's selection (which the read engine picks
//! through the filters every report uses), merged in session order.

use std::hash::BuildHasher;

use rusqlite::{params, Connection, Transaction};
use rustc_hash::{FxBuildHasher, FxHashMap};
use serde::Serialize;

use super::read::Counted;
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

/// One error's counts while the rows stream by. Rows come in session
/// order, so a session is new to an error (or to one of its pages) when
/// it differs from the last one counted there.
struct Acc {
    key: (String, String, String, u32),
    sessions: u64,
    last_session: i64,
    views: u64,
    clicks: u64,
    first: Millis,
    last: Millis,
    /// Per page: (sessions, the last session counted).
    pages: FxHashMap<Option<u32>, (u64, i64)>,
    /// The newest sessions, at most [`EXAMPLES`] (ascending ids arrive, so
    /// the tail is the newest).
    examples: Vec<i64>,
}

/// The errors of `sessions` (ascending ids) of a site, most sessions
/// first (then most views, then by message). One pass over the site's
/// error rows in session order, merged with `sessions`; no string is
/// copied for a row whose error was seen before.
pub(crate) fn report(
    conn: &Connection,
    site_id: i64,
    sessions: &[i64],
    top: usize,
) -> Result<JsErrors> {
    let mut stmt = conn.prepare_cached(
        "SELECT kind, message, source, line, session_id, page_id, ts_ms, click
         FROM js_errors WHERE site_id = ?1 ORDER BY session_id",
    )?;
    let mut rows = stmt.query(params![site_id])?;
    let mut groups: Vec<Acc> = Vec::new();
    // The groups by the hash of their key; a list, for the rare collision.
    let mut by_hash: FxHashMap<u64, Vec<usize>> = FxHashMap::default();
    let (mut wanted, mut with_errors, mut last_with) = (sessions.iter().peekable(), 0u64, -1i64);
    while let Some(r) = rows.next()? {
        let session: i64 = r.get(4)?;
        while wanted.next_if(|w| **w < session).is_some() {}
        if wanted.peek() != Some(&&session) {
            continue;
        }
        if session != last_with {
            with_errors += 1;
            last_with = session;
        }
        // Borrowed from the row: copied only for an error seen first.
        let text = |i: usize| -> rusqlite::Result<&str> {
            r.get_ref(i)?.as_str().map_err(rusqlite::Error::from)
        };
        let (kind, message, source) = (text(0)?, text(1)?, text(2)?);
        let line: u32 = r.get(3)?;
        let slot = by_hash
            .entry(FxBuildHasher.hash_one((kind, message, source, line)))
            .or_default();
        let same =
            |a: &Acc| a.key.3 == line && a.key.1 == message && a.key.0 == kind && a.key.2 == source;
        let at = match slot.iter().copied().find(|&i| same(&groups[i])) {
            Some(i) => i,
            None => {
                let ts: Millis = r.get(6)?;
                groups.push(Acc {
                    key: (kind.into(), message.into(), source.into(), line),
                    sessions: 0,
                    last_session: -1,
                    views: 0,
                    clicks: 0,
                    first: ts,
                    last: ts,
                    pages: FxHashMap::default(),
                    examples: Vec::new(),
                });
                slot.push(groups.len() - 1);
                groups.len() - 1
            }
        };
        let (page, ts, click): (Option<u32>, Millis, bool) = (r.get(5)?, r.get(6)?, r.get(7)?);
        let acc = &mut groups[at];
        if acc.last_session != session {
            acc.sessions += 1;
            acc.last_session = session;
            if acc.examples.len() == EXAMPLES {
                acc.examples.remove(0);
            }
            acc.examples.push(session);
        }
        acc.views += 1;
        acc.clicks += u64::from(click);
        acc.first = acc.first.min(ts);
        acc.last = acc.last.max(ts);
        let p = acc.pages.entry(page).or_insert((0, -1));
        if p.1 != session {
            *p = (p.0 + 1, session);
        }
    }
    drop(rows);
    let distinct = groups.len() as u64;
    groups.sort_by(|a, b| {
        (b.sessions, b.views)
            .cmp(&(a.sessions, a.views))
            .then_with(|| a.key.cmp(&b.key))
    });
    groups.truncate(top);
    let mut errors = Vec::with_capacity(groups.len());
    for acc in groups {
        let mut pages: Vec<(Option<u32>, u64)> =
            acc.pages.iter().map(|(p, (n, _))| (*p, *n)).collect();
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
        let mut examples = acc.examples;
        examples.reverse();
        let (kind, message, source, line) = acc.key;
        errors.push(JsErrorGroup {
            kind,
            message,
            source,
            line,
            sessions: acc.sessions,
            views: acc.views,
            error_clicks: acc.clicks,
            first_ms: acc.first,
            last_ms: acc.last,
            pages,
            examples,
        });
    }
    Ok(JsErrors {
        sessions: with_errors,
        distinct,
        errors,
    })
}
