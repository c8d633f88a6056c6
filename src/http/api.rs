//! The JSON read API's site and session endpoints under `/api/sites`. Every
//! handler here runs behind the bearer token (checked by the router),
//! decodes its query with the service's one decoder, and calls the service
//! on the blocking pool, so slow reads never stall the collector's threads.

use std::sync::Arc;

use hyper::StatusCode;
use serde_json::json;

use super::reply::{self, Reply};
use super::App;
use crate::service::request::{bounds, Params, QueryParams, SearchRequest};
use crate::service::{Filters, Result, ServiceError};

/// `GET /api/sites`: the sites the asker sees.
pub(crate) async fn list_sites(
    app: &Arc<App>,
    who: Option<(crate::service::accounts::Principal, super::auth::Via)>,
) -> Reply {
    let Some((who, _)) = who else {
        return super::auth::unauthorized();
    };
    match blocking(app, move |app| app.service.sites_seen(&who)).await {
        Ok(list) => reply::json(StatusCode::OK, &json!({ "sites": list })),
        Err(e) => reply::service_error(&e),
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct NewSite {
    name: String,
    origins: Vec<String>,
    #[serde(default)]
    keep_query: Vec<String>,
}

/// `POST /api/sites`: registers a site, or adds origins to one (an admin
/// of every site). The collector takes it at once.
pub(crate) async fn add_site(
    app: &Arc<App>,
    req: hyper::Request<hyper::body::Incoming>,
    who: Option<(crate::service::accounts::Principal, super::auth::Via)>,
) -> Reply {
    if !who.as_ref().is_some_and(|(p, _)| p.administers()) {
        return reply::service_error(&ServiceError::Forbidden(
            "only an admin of every site can add sites".into(),
        ));
    }
    let body = match app.read_body(req.into_body(), 64 * 1024).await {
        Ok(b) => b.bytes(),
        Err(e) => return e.into_reply(),
    };
    let new: NewSite = match serde_json::from_slice(&body) {
        Ok(n) => n,
        Err(e) => return reply::error(StatusCode::BAD_REQUEST, &format!("malformed body: {e}")),
    };
    let existed = app.sites.site(&new.name).is_some();
    let added = blocking(app, move |app| {
        app.service
            .add_site(&new.name, &new.origins, &new.keep_query)
    })
    .await;
    app.sites.reload();
    match added {
        Ok(site) if existed => reply::json(StatusCode::OK, &site),
        Ok(site) => reply::json(StatusCode::CREATED, &site),
        Err(e) => reply::service_error(&e),
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct NewAnnotation {
    /// Milliseconds, YYYY-MM-DD or RFC 3339.
    at: serde_json::Value,
    text: String,
}

/// `GET /api/sites/{site}/annotations?from=&to=` (the site's notes in the
/// range) and `POST` `{"at", "text"}` (an admin adds one).
pub(crate) async fn annotations(
    app: &Arc<App>,
    site: &str,
    req: hyper::Request<hyper::body::Incoming>,
    query: Option<&str>,
    who: Option<(crate::service::accounts::Principal, super::auth::Via)>,
) -> Reply {
    let site = site.to_string();
    if req.method() == hyper::Method::GET {
        let params = QueryParams::parse(query);
        let filters = match Filters::decode(&params) {
            Ok(f) => f,
            Err(e) => return reply::service_error(&e),
        };
        let (from, to) = (
            filters.from.unwrap_or(i64::MIN),
            filters.to.unwrap_or(i64::MAX),
        );
        return match blocking(app, move |app| app.service.annotations(&site, from, to)).await {
            Ok(list) => reply::json(StatusCode::OK, &json!({ "annotations": list })),
            Err(e) => reply::service_error(&e),
        };
    }
    let body = match app.read_body(req.into_body(), 8 * 1024).await {
        Ok(b) => b.bytes(),
        Err(e) => return e.into_reply(),
    };
    let new: NewAnnotation = match serde_json::from_slice(&body) {
        Ok(n) => n,
        Err(e) => return reply::error(StatusCode::BAD_REQUEST, &format!("malformed body: {e}")),
    };
    let at = match &new.at {
        serde_json::Value::Number(n) => n
            .as_i64()
            .ok_or_else(|| ServiceError::invalid("at: not a whole number")),
        serde_json::Value::String(s) => crate::service::request::parse_time(s, "at"),
        _ => Err(ServiceError::invalid(
            "at: milliseconds, YYYY-MM-DD or an RFC 3339 time",
        )),
    };
    let at = match at {
        Ok(at) => at,
        Err(e) => return reply::service_error(&e),
    };
    let by = who.and_then(|(p, _)| p.name);
    let now = crate::event::now_ms();
    match blocking(app, move |app| {
        app.service
            .add_annotation(&site, at, &new.text, by.as_deref(), now)
    })
    .await
    {
        Ok(a) => reply::json(StatusCode::CREATED, &a),
        Err(e) => reply::service_error(&e),
    }
}

/// `DELETE /api/sites/{site}/annotations/{id}`.
pub(crate) async fn remove_annotation(app: &Arc<App>, site: &str, id: &str) -> Reply {
    let Ok(id) = id.parse::<i64>() else {
        return reply::error(StatusCode::NOT_FOUND, "no such note");
    };
    let site = site.to_string();
    match blocking(app, move |app| app.service.remove_annotation(&site, id)).await {
        Ok(()) => reply::empty(StatusCode::NO_CONTENT),
        Err(e) => reply::service_error(&e),
    }
}

/// `GET /api/sites/{site}/funnels`: the site's saved funnels.
pub(crate) async fn saved_funnels(app: &Arc<App>, site: &str) -> Reply {
    let site = site.to_string();
    match blocking(app, move |app| app.service.saved_funnels(&site)).await {
        Ok(list) => reply::json(StatusCode::OK, &json!({ "funnels": list })),
        Err(e) => reply::service_error(&e),
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct NewFunnel {
    /// The definition, as `funnel?` takes it.
    query: String,
}

/// `PUT /api/sites/{site}/funnels/{name}` `{"query": "step=...&step=..."}`:
/// an admin saves (or replaces) a funnel.
pub(crate) async fn save_funnel(
    app: &Arc<App>,
    site: &str,
    name: &str,
    req: hyper::Request<hyper::body::Incoming>,
    who: Option<(crate::service::accounts::Principal, super::auth::Via)>,
) -> Reply {
    let body = match app.read_body(req.into_body(), 16 * 1024).await {
        Ok(b) => b.bytes(),
        Err(e) => return e.into_reply(),
    };
    let new: NewFunnel = match serde_json::from_slice(&body) {
        Ok(n) => n,
        Err(e) => return reply::error(StatusCode::BAD_REQUEST, &format!("malformed body: {e}")),
    };
    let funnel =
        match crate::service::request::FunnelRequest::decode(&QueryParams::parse(Some(&new.query)))
        {
            Ok(f) => f,
            Err(e) => return reply::service_error(&e),
        };
    let (site, name) = (site.to_string(), name.to_string());
    let by = who.and_then(|(p, _)| p.name);
    let now = crate::event::now_ms();
    match blocking(app, move |app| {
        app.service
            .save_funnel(&site, &name, &funnel, by.as_deref(), now)
    })
    .await
    {
        Ok(f) => reply::json(StatusCode::OK, &f),
        Err(e) => reply::service_error(&e),
    }
}

/// `DELETE /api/sites/{site}/funnels/{name}`.
pub(crate) async fn remove_funnel(app: &Arc<App>, site: &str, name: &str) -> Reply {
    let (site, name) = (site.to_string(), name.to_string());
    match blocking(app, move |app| app.service.remove_funnel(&site, &name)).await {
        Ok(()) => reply::empty(StatusCode::NO_CONTENT),
        Err(e) => reply::service_error(&e),
    }
}

/// `GET /api/sites/{site}/install`: does the site receive events, since when.
pub(crate) async fn install(app: &Arc<App>, site: &str) -> Reply {
    let site = site.to_string();
    match blocking(app, move |app| app.service.install(&site)).await {
        Ok(v) => reply::json(StatusCode::OK, &v),
        Err(e) => reply::service_error(&e),
    }
}

/// `GET /api/sites/{site}/realtime?minutes=5&include_bots=`: the last minutes.
pub(crate) async fn realtime(app: &Arc<App>, site: &str, query: Option<&str>) -> Reply {
    let params = QueryParams::parse(query);
    let minutes = match params.get("minutes").filter(|v| !v.is_empty()) {
        None => 5,
        Some(v) => match v.trim().parse::<u32>() {
            Ok(m) => m,
            Err(_) => {
                return reply::service_error(&ServiceError::invalid(format!(
                    "minutes: {v:?} is not a whole number"
                )))
            }
        },
    };
    let include_bots = match params.flag("include_bots") {
        Ok(b) => b,
        Err(e) => return reply::service_error(&e),
    };
    let site = site.to_string();
    let now = crate::event::now_ms();
    match blocking(app, move |app| {
        app.service.realtime(&site, minutes, include_bots, now)
    })
    .await
    {
        Ok(v) => reply::json(StatusCode::OK, &v),
        Err(e) => reply::service_error(&e),
    }
}

/// `GET /api/sites/{site}/sessions?from=&to=&limit=&cursor=`, or with `q=`
/// (or any filter besides the time range: `channel`, `device`, `country`,
/// `referrer`) the sessions the search index finds, `sort=newest|longest`,
/// `limit=`, `offset=`, with the number of all hits.
pub(crate) async fn list_sessions(app: &Arc<App>, site: &str, query: Option<&str>) -> Reply {
    let params = QueryParams::parse(query);
    let filters = match Filters::decode(&params) {
        Ok(f) => f,
        Err(e) => return reply::service_error(&e),
    };
    let searched = params.get("q").is_some() || filters.beyond_time();
    let site = site.to_string();
    if searched {
        let Some(index) = app.search.clone() else {
            return reply::service_error(&ServiceError::Unavailable(
                "session search is off on this server (see its log); listing without q= works"
                    .into(),
            ));
        };
        let req = match SearchRequest::decode(&params) {
            Ok(r) => r,
            Err(e) => return reply::service_error(&e),
        };
        let found = blocking(app, move |app| {
            app.service.search(&index, &site, &filters, &req)
        })
        .await;
        return match found {
            Ok(found) => reply::json(StatusCode::OK, &found),
            Err(e) => reply::service_error(&e),
        };
    }
    let limit = match params.number(&bounds::LIMIT) {
        Ok(l) => l,
        Err(e) => return reply::service_error(&e),
    };
    let cursor = params.get("cursor").map(str::to_string);
    let listed = blocking(app, move |app| {
        app.service
            .sessions(&site, &filters, limit, cursor.as_deref())
    })
    .await;
    match listed {
        Ok(list) => reply::json(StatusCode::OK, &list),
        Err(e) => reply::service_error(&e),
    }
}

/// `GET /api/sites/{site}/sessions/{id}`: the session with its events in order.
pub(crate) async fn session(app: &Arc<App>, site: &str, id: &str) -> Reply {
    let (site, id) = (site.to_string(), id.to_string());
    match blocking(app, move |app| app.service.session(&site, &id)).await {
        Ok(detail) => reply::json(StatusCode::OK, &detail),
        Err(e) => reply::service_error(&e),
    }
}

/// Runs a service call on the blocking pool.
pub(super) async fn blocking<T: Send + 'static>(
    app: &Arc<App>,
    f: impl FnOnce(&App) -> Result<T> + Send + 'static,
) -> Result<T> {
    let app = app.clone();
    tokio::task::spawn_blocking(move || f(&app))
        .await
        .unwrap_or_else(|e| {
            Err(ServiceError::Internal {
                context: "the read failed",
                source: Box::new(e),
            })
        })
}
