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

use super::reply::{self, Reply};
use super::App;
use crate::mine::cancel::{Cancel, Stopped};
use crate::service::request::{parse_choice, Params, QueryParams};
use crate::service::settings::{ExpectedJourney, Rules};
use crate::service::{Filters, ReportKind, ReportRequest, ServiceError};
use crate::store::sites::JourneySettings;

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
            params.choice("compare")?,
        ))
    })();
    let (filters, req, csv, compare) = match decoded {
        Ok(d) => d,
        Err(e) => return reply::service_error(&e),
    };
    let site = site.to_string();
    let result = run_analysis(app, move |app, cancel| {
        app.service
            .report_compared(&site, &filters, &req, compare, cancel)
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
    // Waiting for a turn counts against the deadline.
    let turn = tokio::time::timeout(
        app.limits.analysis_timeout,
        app.reports_running.clone().acquire_owned(),
    )
    .await;
    let Ok(Ok(permit)) = turn else {
        app.metrics.analysis_stopped("deadline");
        return Err(Stopped::Deadline(app.limits.analysis_timeout).into());
    };
    let app = app.clone();
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
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
    let site = site.to_string();
    get_settings(app, move |app| app.service.journey_settings(&site)).await
}

/// A settings `GET`: what `read` finds, off the runtime's threads, as JSON.
async fn get_settings<R: serde::Serialize + Send + 'static>(
    app: &Arc<App>,
    read: impl FnOnce(&App) -> crate::service::Result<R> + Send + 'static,
) -> Reply {
    match super::api::blocking(app, read).await {
        Ok(found) => reply::json(StatusCode::OK, &found),
        Err(e) => reply::service_error(&e),
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
    let site = site.to_string();
    put_settings(
        app,
        req,
        "stage settings",
        move |app, s: JourneySettings| app.service.set_journey_settings(&site, &s),
    )
    .await
}

/// A settings `PUT`: the JSON body, read within [`SETTINGS_BODY_BYTES`]
/// and parsed (400 "malformed WHAT: ..."), `save`d off the runtime's
/// threads (compiling patterns within the budgets still takes a while);
/// the answer is what was saved.
async fn put_settings<T, R>(
    app: &Arc<App>,
    req: Request<Incoming>,
    what: &str,
    save: impl FnOnce(&App, T) -> crate::service::Result<R> + Send + 'static,
) -> Reply
where
    T: serde::de::DeserializeOwned + Send + 'static,
    R: serde::Serialize + Send + 'static,
{
    let body = match app.read_body(req.into_body(), SETTINGS_BODY_BYTES).await {
        Ok(b) => b,
        Err(e) => return e.into_reply(),
    };
    let new: T = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => return reply::error(StatusCode::BAD_REQUEST, &format!("malformed {what}: {e}")),
    };
    match super::api::blocking(app, move |app| save(app, new)).await {
        Ok(saved) => reply::json(StatusCode::OK, &saved),
        Err(e) => reply::service_error(&e),
    }
}

/// `GET /api/sites/{site}/conformance/model`: the site's expected journey
/// (`{"steps": []}` until set).
pub(crate) async fn get_expected_journey(app: &Arc<App>, site: &str) -> Reply {
    let site = site.to_string();
    get_settings(app, move |app| app.service.expected_journey(&site)).await
}

/// `PUT /api/sites/{site}/conformance/model` with `{"steps": [{"name",
/// "target", "optional", "repeatable"}]}` (no steps: none).
pub(crate) async fn put_expected_journey(
    app: &Arc<App>,
    site: &str,
    req: Request<Incoming>,
) -> Reply {
    let site = site.to_string();
    put_settings(
        app,
        req,
        "expected journey",
        move |app, m: ExpectedJourney| app.service.set_expected_journey(&site, &m),
    )
    .await
}

/// `GET /api/sites/{site}/rules`.
pub(crate) async fn get_rules(app: &Arc<App>, site: &str) -> Reply {
    let site = site.to_string();
    get_settings(app, move |app| app.service.rules(&site)).await
}

/// `PUT /api/sites/{site}/rules` with `{"rules": [{"pattern", "replacement"}],
/// "keep_query": ["q"]}`: replaces the rules, after checking that every
/// pattern compiles within the budgets, and, when given, the query
/// parameters kept in page paths (from then on: paths already stored keep
/// their form).
pub(crate) async fn put_rules(app: &Arc<App>, site: &str, req: Request<Incoming>) -> Reply {
    let site = site.to_string();
    let saved = put_settings(app, req, "rules", move |app, new: Rules| {
        app.service.set_rules(&site, &new)
    })
    .await;
    // The collector cleans URLs with the kept parameters.
    app.sites.reload();
    saved
}
