//! Path mining over the JSON API: `/api/sites/{site}/paths`, `exits`,
//! `transitions`, `funnel`, `patterns`, `journeys` (the graph behind the
//! Sankey chart), and the site's path cleaning `rules`. Every result takes
//! the same filters as the CLI (`from`, `to`, `channel`, `device`,
//! `country`, `referrer`, `entry_page`, `include_bots`). Mining runs on the
//! blocking pool, within the analysis deadline and only while the client
//! waits (`run_analysis`).

use std::sync::Arc;

use hyper::body::Incoming;
use hyper::{Request, StatusCode};
use serde::Deserialize;
use serde_json::{json, Value};

use super::reply::{self, Reply};
use super::App;
use crate::mine::cancel::{Cancel, Stopped};
use crate::mine::clean::Cleaner;
use crate::service::request::{parse_choice, Params, QueryParams};
use crate::service::{Filters, ReportKind, ReportRequest, ServiceError};
use crate::store::sites;

/// Largest body of a settings PUT (rules, stages and goals).
const SETTINGS_BODY_BYTES: usize = 64 * 1024;

/// `GET /api/sites/{site}/{kind}` (`format=csv` for the main table).
pub(crate) async fn analysis(app: &Arc<App>, site: &str, kind: &str, query: Option<&str>) -> Reply {
    let params = QueryParams::parse(query);
    let decoded = (|| {
        let kind: ReportKind = parse_choice("report", kind)
            .map_err(|_| ServiceError::not_found(format!("no analysis {kind:?}")))?;
        let csv = match params.get("format") {
            None | Some("json") => false,
            Some("csv") => true,
            Some(other) => {
                return Err(ServiceError::invalid(format!(
                    "format: {other:?} is not json or csv"
                )))
            }
        };
        Ok((
            Filters::decode(&params)?,
            ReportRequest::decode(kind, &params)?,
            csv,
        ))
    })();
    let (filters, req, csv) = match decoded {
        Ok(d) => d,
        Err(e) => return reply::service_error(&e),
    };
    let site = site.to_string();
    let result = run_analysis(app, move |app, cancel| {
        app.service.report(&site, &filters, &req, cancel)
    })
    .await;
    match result {
        Ok(report) if csv => reply::csv(report.tables().csv()),
        Ok(report) => reply::json(StatusCode::OK, &report),
        Err(e) => reply::service_error(&e),
    }
}

/// Runs `work` on the blocking pool with a [`Cancel`] that stops it at the
/// analysis deadline or when this future is dropped (hyper drops it when
/// the client closes the connection), and counts such stops.
pub(super) async fn run_analysis<T: Send + 'static>(
    app: &Arc<App>,
    work: impl FnOnce(&App, Cancel) -> Result<T, ServiceError> + Send + 'static,
) -> Result<T, ServiceError> {
    let cancel = Cancel::after(app.limits.analysis_timeout);
    let _abandon_when_dropped = cancel.on_drop();
    let app = app.clone();
    tokio::task::spawn_blocking(move || {
        let result = work(&app, cancel);
        if let Err(ServiceError::Stopped(why)) = &result {
            app.metrics.analysis_stopped(match why {
                Stopped::Deadline(_) => "deadline",
                Stopped::Abandoned => "client_gone",
            });
        }
        result
    })
    .await
    .unwrap_or_else(|e| {
        Err(ServiceError::Internal {
            context: "the analysis failed",
            source: Box::new(e),
        })
    })
}

/// `GET /api/sites/{site}/stages/settings`: the site's stages and goals.
pub(crate) async fn get_journey_settings(app: &Arc<App>, site: &str) -> Reply {
    let Some(s) = app.sites.site(site) else {
        return reply::error(StatusCode::NOT_FOUND, &format!("unknown site {site:?}"));
    };
    let store = app.store.clone();
    match tokio::task::spawn_blocking(move || sites::journey_settings(&*store.read()?, s.id)).await
    {
        Ok(Ok(settings)) => reply::json(StatusCode::OK, &settings),
        _ => reply::error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the database read failed",
        ),
    }
}

/// `PUT /api/sites/{site}/stages/settings` with `{"stages": [{"name",
/// "pages": [REGEX]}], "goals": [REGEX]}`: renames, reorders or redefines
/// the stages and goal pages.
pub(crate) async fn put_journey_settings(
    app: &Arc<App>,
    site: &str,
    req: Request<Incoming>,
) -> Reply {
    let Some(s) = app.sites.site(site) else {
        return reply::error(StatusCode::NOT_FOUND, &format!("unknown site {site:?}"));
    };
    let body = match app.read_body(req.into_body(), SETTINGS_BODY_BYTES).await {
        Ok(b) => b,
        Err(e) => return e.into_reply(),
    };
    let settings: sites::JourneySettings = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => {
            return reply::error(
                StatusCode::BAD_REQUEST,
                &format!("malformed stage settings: {e}"),
            )
        }
    };
    let (settings, checked) = match tokio::task::spawn_blocking(move || {
        let checked = crate::service::analysis::check_settings(&settings);
        (settings, checked)
    })
    .await
    {
        Ok(done) => done,
        Err(_) => {
            return reply::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the settings check failed",
            )
        }
    };
    if let Err(e) = checked {
        return reply::error(StatusCode::BAD_REQUEST, &e.to_string());
    }
    let store = app.store.clone();
    let saved = tokio::task::spawn_blocking(move || {
        sites::set_journey_settings(&store.admin()?, s.id, &settings)
    })
    .await;
    match saved {
        Ok(Ok(())) => get_journey_settings(app, site).await,
        _ => reply::error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the settings could not be saved",
        ),
    }
}

#[derive(Deserialize)]
struct RuleBody {
    pattern: String,
    replacement: String,
}

/// `GET /api/sites/{site}/rules`.
pub(crate) async fn get_rules(app: &Arc<App>, site: &str) -> Reply {
    let Some(s) = app.sites.site(site) else {
        return reply::error(StatusCode::NOT_FOUND, &format!("unknown site {site:?}"));
    };
    let (store, site_id) = (app.store.clone(), s.id);
    match tokio::task::spawn_blocking(move || sites::page_rules(&*store.read()?, site_id)).await {
        Ok(Ok(rules)) => {
            let list: Vec<Value> = rules
                .iter()
                .map(|(p, r)| json!({"pattern": p, "replacement": r}))
                .collect();
            reply::json(
                StatusCode::OK,
                &json!({ "rules": list, "keep_query": s.keep_query }),
            )
        }
        _ => reply::error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the database read failed",
        ),
    }
}

/// `PUT /api/sites/{site}/rules` with `{"rules": [{"pattern", "replacement"}],
/// "keep_query": ["q"]}`: replaces the rules, after checking that every
/// pattern compiles, and, when given, the query parameters kept in page
/// paths (from then on: paths already stored keep their form).
pub(crate) async fn put_rules(app: &Arc<App>, site: &str, req: Request<Incoming>) -> Reply {
    let Some(s) = app.sites.site(site) else {
        return reply::error(StatusCode::NOT_FOUND, &format!("unknown site {site:?}"));
    };
    let body = match app.read_body(req.into_body(), SETTINGS_BODY_BYTES).await {
        Ok(b) => b,
        Err(e) => return e.into_reply(),
    };
    #[derive(Deserialize)]
    struct Body {
        rules: Vec<RuleBody>,
        keep_query: Option<Vec<String>>,
    }
    let parsed: Body = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => return reply::error(StatusCode::BAD_REQUEST, &format!("malformed rules: {e}")),
    };
    let rules: Vec<(String, String)> = parsed
        .rules
        .into_iter()
        .map(|r| (r.pattern, r.replacement))
        .collect();
    // Compiling a set within the budget still takes a while: not on the
    // runtime's threads.
    let (rules, checked) = match tokio::task::spawn_blocking(move || {
        let checked = Cleaner::new(&rules).map(|_| ());
        (rules, checked)
    })
    .await
    {
        Ok(done) => done,
        Err(_) => return reply::error(StatusCode::INTERNAL_SERVER_ERROR, "the rules check failed"),
    };
    if let Err(e) = checked {
        return reply::error(StatusCode::BAD_REQUEST, &e);
    }
    let keep_query = parsed.keep_query;
    if let Some(bad) = keep_query
        .iter()
        .flatten()
        .find(|n| n.is_empty() || n.len() > 64)
    {
        return reply::error(
            StatusCode::BAD_REQUEST,
            &format!("keep_query: {bad:?} is not a parameter name of 1 to 64 bytes"),
        );
    }
    let store = app.store.clone();
    let saved = tokio::task::spawn_blocking(move || {
        let mut conn = store.admin()?;
        sites::set_page_rules(&mut conn, s.id, &rules)?;
        if let Some(names) = keep_query {
            sites::set_keep_query(&conn, s.id, &names)?;
        }
        Ok::<_, crate::store::StoreError>(())
    })
    .await;
    app.sites.reload();
    match saved {
        Ok(Ok(())) => get_rules(app, site).await,
        _ => reply::error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the rules could not be saved",
        ),
    }
}
