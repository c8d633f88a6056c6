//! The JSON read API under `/api/sites`. Every handler here runs behind the
//! bearer token (checked by the router) and reads through the store's pooled
//! read connections on the blocking pool, so slow queries never stall the
//! collector's threads.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use hyper::StatusCode;
use serde_json::{json, Value};

use super::reply::{self, Reply};
use super::App;
use crate::event::{Millis, Session};
use crate::search::{SearchError, SearchFilters, Sort};
use crate::store::read::{self, SessionQuery};
use crate::store::{sites, StoreError};

const DEFAULT_LIMIT: usize = 50;
const MAX_LIMIT: usize = 1000;

/// `GET /api/sites`
pub async fn list_sites(app: &Arc<App>) -> Reply {
    let result = blocking(app, |app| {
        let conn = app.store.read()?;
        sites::list(&conn)
    })
    .await;
    match result {
        Ok(list) => reply::json(StatusCode::OK, &json!({ "sites": list })),
        Err(r) => r,
    }
}

/// `GET /api/sites/{site}/sessions?from=&to=&limit=&cursor=`
pub async fn list_sessions(app: &Arc<App>, site: &str, query: Option<&str>) -> Reply {
    let Some(site) = app.sites.site(site) else {
        return unknown_site(site);
    };
    let params: HashMap<String, String> =
        url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    if params.contains_key("q") {
        return search_sessions(app, site.id, &params).await;
    }
    let q = match session_query(&params) {
        Ok(q) => q,
        Err(msg) => return reply::error(StatusCode::BAD_REQUEST, &msg),
    };
    let site_id = site.id;
    let limit = q.limit;
    let result = blocking(app, move |app| {
        let conn = app.store.read()?;
        read::list_sessions(&conn, site_id, &q)
    })
    .await;
    match result {
        Ok(sessions) => {
            let next = (sessions.len() == limit)
                .then(|| sessions.last().map(|s| format!("{}_{}", s.start, s.id)))
                .flatten();
            let list: Vec<Value> = sessions.iter().map(session_json).collect();
            reply::json(
                StatusCode::OK,
                &json!({ "sessions": list, "next_cursor": next }),
            )
        }
        Err(r) => r,
    }
}

/// `GET /api/sites/{site}/sessions?q=QUERY&sort=newest|longest&limit=&offset=`
/// (and `from`, `to`, `channel`, `device`, `country`, `referrer`): the sessions the search index finds, with the
/// number of all hits.
async fn search_sessions(app: &Arc<App>, site_id: i64, params: &HashMap<String, String>) -> Reply {
    let Some(index) = app.search.clone() else {
        return reply::error(
            StatusCode::SERVICE_UNAVAILABLE,
            "session search is off on this server (see its log); listing without q= works",
        );
    };
    let parsed = (|| -> Result<_, String> {
        let limit = page_limit(params)?;
        let offset = match params.get("offset") {
            None => 0,
            Some(v) => v
                .parse::<usize>()
                .ok()
                .filter(|n| *n <= 100_000)
                .ok_or("offset must be an integer from 0 to 100000")?,
        };
        let sort = match params.get("sort").map(String::as_str) {
            None | Some("newest") => Sort::Newest,
            Some("longest") => Sort::Longest,
            Some(other) => return Err(format!("sort: {other:?} is not newest or longest")),
        };
        let filters = search_filters(|key| params.get(key).map(String::as_str))?;
        let query = params.get("q").cloned().unwrap_or_default();
        Ok((query, filters, sort, offset, limit))
    })();
    let (query, filters, sort, offset, limit) = match parsed {
        Ok(p) => p,
        Err(msg) => return reply::error(StatusCode::BAD_REQUEST, &msg),
    };
    let found = tokio::task::spawn_blocking(move || {
        index.search_filtered(site_id, &query, &filters, sort, offset, limit)
    })
    .await;
    let results = match found {
        Ok(Ok(r)) => r,
        Ok(Err(SearchError::Query(msg))) => return reply::error(StatusCode::BAD_REQUEST, &msg),
        Ok(Err(e)) => {
            tracing::error!("search failed: {e}");
            return reply::error(StatusCode::INTERNAL_SERVER_ERROR, "the search failed");
        }
        Err(e) => {
            tracing::error!("search task failed: {e}");
            return reply::error(StatusCode::INTERNAL_SERVER_ERROR, "the search failed");
        }
    };
    let ids = results.session_ids.clone();
    let sessions = match blocking(app, move |app| {
        read::sessions_by_ids(&*app.store.read()?, site_id, &ids)
    })
    .await
    {
        Ok(s) => s,
        Err(r) => return r,
    };
    let list: Vec<Value> = sessions.iter().map(session_json).collect();
    reply::json(
        StatusCode::OK,
        &json!({ "total": results.total, "offset": offset, "limit": limit, "sessions": list }),
    )
}

/// The filters every view takes (`from`, `to`, `channel`, `device`,
/// `country`, `referrer`), from the API's parameters or the CLI's flags
/// alike: typed, so they narrow the search without joining its text.
pub fn search_filters<'a>(get: impl Fn(&str) -> Option<&'a str>) -> Result<SearchFilters, String> {
    let time = |key| get(key).map(|v| parse_time(v, key)).transpose();
    let text = |key| get(key).filter(|v| !v.is_empty()).map(str::to_string);
    Ok(SearchFilters {
        from: time("from")?,
        to: time("to")?,
        channel: text("channel"),
        device: text("device"),
        country: text("country"),
        referrer: text("referrer"),
    })
}

/// `GET /api/sites/{site}/sessions/{id}`: the session with its events in order.
pub async fn session(app: &Arc<App>, site: &str, id: &str) -> Reply {
    let Some(site) = app.sites.site(site) else {
        return unknown_site(site);
    };
    let Ok(id) = id.parse::<i64>() else {
        return reply::error(StatusCode::BAD_REQUEST, "session id must be an integer");
    };
    let site_id = site.id;
    let result = blocking(app, move |app| {
        let conn = app.store.read()?;
        read::session_detail(&conn, site_id, id)
    })
    .await;
    match result {
        Ok(Some(detail)) => {
            let mut body = session_json(&detail.session);
            body["pages"] = json!(detail.page_paths);
            body["events"] = json!(detail.events);
            reply::json(StatusCode::OK, &body)
        }
        Ok(None) => reply::error(
            StatusCode::NOT_FOUND,
            &format!("no session {id} in this site"),
        ),
        Err(r) => r,
    }
}

fn unknown_site(name: &str) -> Reply {
    reply::error(StatusCode::NOT_FOUND, &format!("unknown site {name:?}"))
}

/// Runs a store read on the blocking pool; store errors become 500s (the
/// client's mistakes are caught before this).
async fn blocking<T: Send + 'static>(
    app: &Arc<App>,
    f: impl FnOnce(&App) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, Reply> {
    let app = app.clone();
    match tokio::task::spawn_blocking(move || f(&app)).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => {
            tracing::error!("read failed: {e}");
            Err(reply::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the database read failed",
            ))
        }
        Err(e) => {
            tracing::error!("read task failed: {e}");
            Err(reply::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the database read failed",
            ))
        }
    }
}

/// `limit`: 1 to [`MAX_LIMIT`] sessions a page, [`DEFAULT_LIMIT`] unless given.
fn page_limit(params: &HashMap<String, String>) -> Result<usize, String> {
    match params.get("limit") {
        None => Ok(DEFAULT_LIMIT),
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| format!("limit must be an integer from 1 to {MAX_LIMIT}")),
    }
}

fn session_query(params: &HashMap<String, String>) -> Result<SessionQuery, String> {
    let limit = page_limit(params)?;
    let from = params
        .get("from")
        .map(|v| parse_time(v, "from"))
        .transpose()?;
    let to = params.get("to").map(|v| parse_time(v, "to")).transpose()?;
    let after = params.get("cursor").map(|c| parse_cursor(c)).transpose()?;
    Ok(SessionQuery {
        from,
        to,
        limit,
        after,
    })
}

/// Accepts milliseconds since the epoch, `YYYY-MM-DD` (UTC midnight) or RFC 3339.
pub fn parse_time(v: &str, name: &str) -> Result<Millis, String> {
    if let Ok(ms) = v.parse::<i64>() {
        return Ok(ms);
    }
    if let Ok(d) = NaiveDate::parse_from_str(v, "%Y-%m-%d") {
        let midnight = d.and_hms_opt(0, 0, 0).expect("valid time");
        return Ok(Utc.from_utc_datetime(&midnight).timestamp_millis());
    }
    DateTime::parse_from_rfc3339(v)
        .map(|t| t.timestamp_millis())
        .map_err(|_| {
            format!("{name}: expected milliseconds, YYYY-MM-DD or an RFC 3339 time, got {v:?}")
        })
}

fn parse_cursor(c: &str) -> Result<(Millis, i64), String> {
    let bad = || format!("cursor: {c:?} is not a cursor from a previous page");
    let (start, id) = c.split_once('_').ok_or_else(bad)?;
    Ok((
        start.parse().map_err(|_| bad())?,
        id.parse().map_err(|_| bad())?,
    ))
}

/// RFC 3339 in UTC with milliseconds.
pub fn iso(ms: Millis) -> String {
    Utc.timestamp_millis_opt(ms)
        .single()
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

/// A session's summary as the API shows it.
pub fn session_json(s: &Session) -> Value {
    let a = &s.acquisition;
    json!({
        "id": s.id,
        "source": s.source.as_str(),
        "start": iso(s.start),
        "end": iso(s.end),
        "duration_ms": s.duration_ms(),
        "entry_page": s.entry_page,
        "exit_page": s.exit_page,
        "page_count": s.page_count,
        "event_count": s.event_count,
        "referrer": a.referrer,
        "referrer_domain": a.referrer_domain,
        "channel": a.channel.as_str(),
        "utm_source": a.utm_source,
        "utm_medium": a.utm_medium,
        "utm_campaign": a.utm_campaign,
        "country": s.geo.country,
        "region": s.geo.region,
        "city": s.geo.city,
        "browser": s.client.browser,
        "os": s.client.os,
        "device": s.client.device.as_str(),
        "is_bot": s.client.is_bot,
        "rage_clicks": s.rage_clicks,
        "dead_clicks": s.dead_clicks,
        "error_pages": s.error_pages,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_cursors_parse() {
        assert_eq!(parse_time("1700000000000", "from"), Ok(1_700_000_000_000));
        assert_eq!(parse_time("1970-01-02", "from"), Ok(86_400_000));
        assert_eq!(parse_time("1970-01-01T00:00:01Z", "from"), Ok(1000));
        assert!(parse_time("yesterday", "from")
            .unwrap_err()
            .starts_with("from:"));
        assert_eq!(parse_cursor("5_7"), Ok((5, 7)));
        assert!(parse_cursor("x").is_err());
        assert_eq!(iso(0), "1970-01-01T00:00:00.000Z");
    }
}
