//! Path mining over the JSON API: `/api/sites/{site}/paths`, `exits`,
//! `transitions`, `funnel`, `patterns`, `journeys` (the graph behind the
//! Sankey chart), and the site's path cleaning `rules`. Every result takes
//! the same filters as the CLI (`from`, `to`, `channel`, `device`,
//! `country`, `referrer`, `entry_page`, `include_bots`). Mining runs on the
//! blocking pool, within the analysis deadline and only while the client
//! waits (`run_analysis`).

use std::collections::HashMap;
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::{Request, StatusCode};
use serde::Deserialize;
use serde_json::{json, Value};

use super::api::parse_time;
use super::reply::{self, Reply};
use super::App;
use crate::analysis::{Analysis, AnalysisError};
use crate::mine::cancel::{Cancel, Stopped};
use crate::mine::clean::Cleaner;
use crate::mine::{graph::GraphQuery, paths::PathQuery, patterns::PatternQuery};
use crate::store::read::JourneyFilter;
use crate::store::sites;

/// Largest body of a settings PUT (rules, stages and goals).
const SETTINGS_BODY_BYTES: usize = 64 * 1024;

/// Query parameters; `step` may repeat.
pub(super) struct Params {
    single: HashMap<String, String>,
    pub steps: Vec<String>,
}

impl Params {
    pub fn parse(query: Option<&str>) -> Params {
        let mut p = Params {
            single: HashMap::new(),
            steps: vec![],
        };
        for (k, v) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()).into_owned() {
            if k == "step" {
                p.steps.push(v);
            } else {
                p.single.insert(k, v);
            }
        }
        p
    }

    pub fn get(&self, k: &str) -> Option<&str> {
        self.single.get(k).map(String::as_str)
    }

    pub fn number<T: std::str::FromStr>(
        &self,
        k: &str,
        default: T,
        ok: impl Fn(&T) -> bool,
    ) -> Result<T, String> {
        match self.get(k) {
            None => Ok(default),
            Some(v) => v
                .parse::<T>()
                .ok()
                .filter(|n| ok(n))
                .ok_or_else(|| format!("{k}: {v:?} is out of range")),
        }
    }

    pub fn filter(&self) -> Result<JourneyFilter, String> {
        let time = |k: &str| self.get(k).map(|v| parse_time(v, k)).transpose();
        let text = |k: &str| self.get(k).map(str::to_string);
        Ok(JourneyFilter {
            from: time("from")?,
            to: time("to")?,
            channel: text("channel"),
            device: text("device"),
            country: text("country"),
            referrer_domain: text("referrer"),
            entry_page: text("entry_page"),
            include_bots: self.get("include_bots") == Some("true"),
            keep_repeats: self.get("keep_repeats") == Some("true"),
        })
    }
}

/// `GET /api/sites/{site}/{kind}`.
pub async fn analysis(app: &Arc<App>, site: &str, kind: &str, query: Option<&str>) -> Reply {
    let params = Params::parse(query);
    let (site, kind) = (site.to_string(), kind.to_string());
    let result = run_analysis(app, move |app, cancel| {
        run(app, &site, &kind, &params, cancel)
    })
    .await;
    outcome(result, |value| reply::json(StatusCode::OK, &value))
}

/// Runs `work` on the blocking pool with a [`Cancel`] that stops it at the
/// analysis deadline or when this future is dropped (hyper drops it when
/// the client closes the connection), and counts such stops.
pub(super) async fn run_analysis<T: Send + 'static>(
    app: &Arc<App>,
    work: impl FnOnce(&App, Cancel) -> Result<T, Failure> + Send + 'static,
) -> Result<Result<T, Failure>, tokio::task::JoinError> {
    let cancel = Cancel::after(app.limits.analysis_timeout);
    let _abandon_when_dropped = cancel.on_drop();
    let app = app.clone();
    tokio::task::spawn_blocking(move || {
        let result = work(&app, cancel);
        if let Err(Failure::Analysis(AnalysisError::Stopped(why))) = &result {
            app.metrics.analysis_stopped(match why {
                Stopped::Deadline(_) => "deadline",
                Stopped::Abandoned => "client_gone",
            });
        }
        result
    })
    .await
}

/// The reply for a finished analysis task: `ok` for a result, a 4xx for
/// the caller's mistake, 409 for stored settings to fix, 503 for an
/// analysis stopped at its deadline, a logged 500 for the store's failure.
pub(super) fn outcome<T>(
    result: Result<Result<T, Failure>, tokio::task::JoinError>,
    ok: impl FnOnce(T) -> Reply,
) -> Reply {
    match result {
        Ok(Ok(value)) => ok(value),
        Ok(Err(Failure::BadRequest(m))) => reply::error(StatusCode::BAD_REQUEST, &m),
        Ok(Err(Failure::Analysis(AnalysisError::NotFound(m)))) => {
            reply::error(StatusCode::NOT_FOUND, &m)
        }
        Ok(Err(Failure::Analysis(AnalysisError::Invalid(m)))) => {
            reply::error(StatusCode::BAD_REQUEST, &m)
        }
        Ok(Err(Failure::Analysis(AnalysisError::Stored(m)))) => {
            reply::error(StatusCode::CONFLICT, &m)
        }
        Ok(Err(Failure::Analysis(AnalysisError::Stopped(why)))) => reply::busy(5, &why.to_string()),
        Ok(Err(Failure::Analysis(AnalysisError::Store(e)))) => {
            tracing::error!("analysis failed: {e}");
            reply::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the database read failed",
            )
        }
        Err(e) => {
            tracing::error!("analysis task failed: {e}");
            reply::error(StatusCode::INTERNAL_SERVER_ERROR, "the analysis failed")
        }
    }
}

pub(super) enum Failure {
    BadRequest(String),
    Analysis(AnalysisError),
}

impl From<String> for Failure {
    fn from(m: String) -> Self {
        Failure::BadRequest(m)
    }
}

impl From<AnalysisError> for Failure {
    fn from(e: AnalysisError) -> Self {
        Failure::Analysis(e)
    }
}

fn run(app: &App, site: &str, kind: &str, p: &Params, cancel: Cancel) -> Result<Value, Failure> {
    if kind == "overview" {
        // Plain aggregates in SQL: no journeys to load.
        let filter = p.filter()?;
        let conn = app.store.read().map_err(AnalysisError::Store)?;
        let Some(s) = sites::get(&conn, site).map_err(AnalysisError::Store)? else {
            return Err(AnalysisError::NotFound(format!("unknown site {site:?}")).into());
        };
        let top = p.number("top", 10usize, |n| (1..=1000).contains(n))?;
        let o = crate::store::read::overview(&conn, s.id, &filter, top)
            .map_err(AnalysisError::Store)?;
        return Ok(serde_json::to_value(o).expect("an overview serialises"));
    }
    let a = Analysis::load_until(&app.store, site, &p.filter()?, cancel)?;
    let page = |k: &str| p.get(k).map(|v| a.page(v)).transpose();
    let result = match kind {
        "paths" => a.paths(&PathQuery {
            steps: p.number("steps", 5usize, |n| (1..=20).contains(n))?,
            top_k: p.number("top", 10usize, |n| (1..=1000).contains(n))?,
            start: page("start")?,
            end: page("end")?,
        }),
        "funnel" => a.funnel(
            &p.steps,
            p.number("window_minutes", 60i64, |n| (1..=60 * 24 * 31).contains(n))? * 60_000,
            p.get("strict") == Some("true"),
        )?,
        "journeys" => a.graph(&graph_query(&a, p)?),
        "exits" => a.flows(),
        "stages" => a.stages()?,
        "frustration" => a.frustration(p.number("worst", 20usize, |n| (0..=1000).contains(n))?),
        "moments" => a.moments(p.number("top", 10usize, |n| (1..=1000).contains(n))?)?,
        "transitions" => {
            let Some(path) = p.get("page") else {
                return Err(Failure::BadRequest("page: required".into()));
            };
            a.transitions(
                a.page(path)?,
                p.number("top", 10usize, |n| (1..=1000).contains(n))?,
            )
        }
        "patterns" => {
            let min_support = p.number("min_support", 1u32, |n| *n >= 1)?;
            let all = p.get("all") == Some("true");
            if all && min_support < 2 {
                return Err(Failure::BadRequest(
                    "all=true needs min_support of at least 2".into(),
                ));
            }
            a.patterns(&PatternQuery {
                top_k: if all {
                    usize::MAX
                } else {
                    p.number("top", 20usize, |n| (1..=1000).contains(n))?
                },
                min_len: p.number("min_len", 2usize, |n| (1..=20).contains(n))?,
                max_len: p.number("max_len", 10usize, |n| (1..=20).contains(n))?,
                min_support,
            })?
        }
        _ => {
            return Err(Failure::Analysis(AnalysisError::NotFound(format!(
                "no analysis {kind:?}"
            ))))
        }
    };
    // A stopped mining function returns what it had: never show that.
    a.finished()?;
    Ok(result)
}

/// The journey graph's parameters: `steps`, `nodes` (per step),
/// `min_link`, `root` and `expand`.
pub(super) fn graph_query(a: &Analysis, p: &Params) -> Result<GraphQuery, Failure> {
    Ok(GraphQuery {
        steps: p.number("steps", 5usize, |n| (1..=20).contains(n))?,
        nodes_per_step: p.number("nodes", 8usize, |n| (1..=100).contains(n))?,
        min_link: p.number("min_link", 1u32, |_| true)?,
        root: p.get("root").map(|v| a.page(v)).transpose()?,
        expand: expand(a, p.get("expand"))?,
    })
}

/// `expand=STEP:PATH,STEP:PATH` (steps from 0): pages to show even where
/// they would be grouped as "other".
fn expand(a: &Analysis, spec: Option<&str>) -> Result<Vec<(usize, u32)>, Failure> {
    let Some(spec) = spec.filter(|s| !s.is_empty()) else {
        return Ok(vec![]);
    };
    spec.split(',')
        .map(|item| {
            let (step, path) = item
                .split_once(':')
                .ok_or_else(|| Failure::BadRequest(format!("expand: {item:?} is not STEP:PATH")))?;
            let step = step
                .parse()
                .map_err(|_| Failure::BadRequest(format!("expand: {step:?} is not a step")))?;
            Ok((step, a.page(path)?))
        })
        .collect()
}

/// `GET /api/sites/{site}/stages/settings`: the site's stages and goals.
pub async fn get_journey_settings(app: &Arc<App>, site: &str) -> Reply {
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
pub async fn put_journey_settings(app: &Arc<App>, site: &str, req: Request<Incoming>) -> Reply {
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
        let checked = crate::analysis::check_settings(&settings);
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
pub async fn get_rules(app: &Arc<App>, site: &str) -> Reply {
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
pub async fn put_rules(app: &Arc<App>, site: &str, req: Request<Incoming>) -> Reply {
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
