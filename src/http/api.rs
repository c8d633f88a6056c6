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
