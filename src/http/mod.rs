//! The hyper server: start-up, routing, and graceful shutdown.
//!
//! One tokio runtime serves HTTP/1.1 with keep-alive. Collect is public (it
//! is what shops' pages call); the read API and /metrics need the bearer
//! token (/metrics is also served without one on `--metrics-listen`, meant
//! for a private scrape network). Every connection goes through the
//! connection guard ([`conn`]: header and idle timeouts, the connection cap)
//! and every request body through [`body`] (size, deadline, memory budget). On
//! SIGTERM or ctrl-c the server stops accepting, lets in-flight requests
//! finish (their batches commit), drains the pipeline, and returns.

pub(crate) mod accounts_api;
pub(crate) mod api;
pub(crate) mod assets;
pub(crate) mod auth;
pub(crate) mod body;
pub(crate) mod charts_api;
pub(crate) mod collect;
pub(crate) mod conn;
pub(crate) mod dashboards;
pub(crate) mod encoding;
pub(crate) mod mine_api;
pub(crate) mod ratelimit;
pub(crate) mod registry;
pub(crate) mod replay_api;
pub(crate) mod reply;
pub(crate) mod routes;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, TcpStream};

use crate::config::{ConnLimits, Limits, ServeSettings, Synchronous};
use crate::event::now_ms;
use crate::ingest::enrich::{GeoIp, UaParser};
use crate::ingest::sessionize::{day_of, Salts, VisitorHasher};
use crate::metrics::Metrics;
use crate::pipeline::{Pipeline, Submitter};
use crate::search::indexer::{index_dir, Indexer};
use crate::search::SearchIndex;
use crate::store::{secrets, Store};
use body::BodyBudget;
use conn::{Admission, ConnGuard, WatchedStream};
use registry::SiteRegistry;
use reply::Reply;

/// How long in-flight requests get to finish at shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// How often the salt's day is checked.
const SALT_CHECK_EVERY: Duration = Duration::from_secs(60);

/// Everything a request handler needs, shared by all connections.
pub(crate) struct App {
    pub store: Arc<Store>,
    /// One permit per report or chart computing (`--max-concurrent-reports`).
    pub reports_running: Arc<tokio::sync::Semaphore>,
    /// What the read API answers (the same service the CLI calls).
    pub service: crate::service::Service,
    pub submitter: Submitter,
    pub hasher: VisitorHasher,
    pub ua: UaParser,
    pub geo: Option<GeoIp>,
    pub sites: SiteRegistry,
    /// SHA-256 of the read API's token.
    pub token_digest: String,
    pub limits: Limits,
    pub trust_proxy: bool,
    pub metrics: Arc<Metrics>,
    pub tracker: assets::Tracker,
    /// `/t/replay.js`, the optional replay recorder.
    pub recorder: assets::Tracker,
    /// `/t/errors.js`, the optional error capture.
    pub error_capture: assets::Tracker,
    pub dashboards: dashboards::Dashboards,
    /// The session search index; `None` when it could not be opened (the
    /// server still collects and answers everything else).
    pub search: Option<Arc<SearchIndex>>,
    /// What session replay may store.
    pub replay: crate::config::ReplayLimits,
    /// Per-client and per-site rate limits.
    pub limiters: ratelimit::Limiters,
    /// Busy timeout and disk-full Retry-After.
    pub store_limits: crate::config::StoreLimits,
    /// Timeouts and sizes per connection and request.
    pub conn: ConnLimits,
    /// Open client connections allowed (resolved from the open-files limit
    /// when not set).
    pub max_connections: usize,
    /// Body bytes all unfinished requests together may hold.
    pub body_budget: Arc<BodyBudget>,
    /// How long a dashboard sign-in lasts.
    pub sign_in_hours: u32,
    /// (site, origin) pairs whose first event this process has noted.
    pub origins_noted: std::sync::Mutex<std::collections::HashSet<(i64, String)>>,
}

impl App {
    /// Reads a request body within the server's limits: at most `limit`
    /// bytes, within the body timeout, drawing on the body budget.
    pub(crate) async fn read_body(
        &self,
        body: Incoming,
        limit: usize,
    ) -> Result<body::Body, body::BodyError> {
        body::read(body, limit, self.conn.body_timeout, &self.body_budget).await
    }

    /// Reads and drops the body of a request refused before reading it,
    /// within the body timeout (see [`body::drain`]).
    pub(crate) async fn drain_body(&self, body: Incoming, limit: usize) {
        body::drain(body, limit, self.conn.body_timeout).await
    }
}

/// A server that has opened its store and bound its address, ready to run.
pub(crate) struct Bound {
    listener: TcpListener,
    /// `--metrics-listen`: /metrics only, without a token.
    metrics_listener: Option<TcpListener>,
    app: Arc<App>,
    pipeline: Pipeline,
    indexer: Option<Indexer>,
    /// Keeps a second server off this database while this one runs.
    _serve_lock: crate::store::lock::ServeLock,
    /// The token generated on this start (first start without a configured
    /// token), to show once.
    pub generated_token: Option<String>,
}

impl Bound {
    pub(crate) fn addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("bound listener has an address")
    }

    /// The `--metrics-listen` address, when there is one.
    pub(crate) fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener
            .as_ref()
            .and_then(|l| l.local_addr().ok())
    }

    /// Serves until `shutdown` resolves, then finishes in-flight requests and
    /// commits everything accepted.
    pub(crate) async fn run(self, shutdown: impl Future<Output = ()>) -> Result<()> {
        let background = tokio::spawn(maintenance(self.app.clone()));
        accept_loop(
            self.listener,
            self.metrics_listener,
            self.app.clone(),
            shutdown,
        )
        .await;
        background.abort();
        drop(self.app);
        self.pipeline.shutdown().await;
        if let Some(indexer) = self.indexer {
            // Index what the pipeline committed last (or catch up next start).
            tokio::task::spawn_blocking(move || indexer.stop())
                .await
                .ok();
        }
        tracing::info!("stopped; every accepted batch is committed");
        Ok(())
    }
}

/// Opens the store, checks the GeoIP database, starts the pipeline and
/// binds the listener.
pub(crate) async fn bind(settings: ServeSettings) -> Result<Bound> {
    // A broken GeoIP database is a start-up error, not a silent empty column.
    let geo = settings.geoip.as_deref().map(GeoIp::open).transpose()?;
    let serve_lock = crate::store::lock::lock_for_serving(&settings.db)?;
    let mut store = Store::open(&settings.db)?;
    store.set_busy_timeout(settings.store.busy_timeout);
    let store = Arc::new(store);
    let (token_digest, generated_token) = resolve_token(&store, settings.token.as_deref())?;
    let hasher = VisitorHasher::new(current_salts(&store)?);
    let metrics = Arc::new(Metrics::default());
    let open_files = conn::raise_open_files_limit();
    let max_connections = settings
        .conn
        .max_connections
        .unwrap_or_else(|| conn::default_max_connections(open_files));
    if let Some(limit) = open_files {
        if max_connections as u64 >= limit {
            tracing::warn!(
                "max connections {max_connections} is not below the open-files limit {limit}: \
                 the server may run out of descriptors before it reaches the cap"
            );
        }
    }
    let pipeline = Pipeline::start(
        &store,
        settings.synchronous == Synchronous::Full,
        settings.session_timeout,
        settings.queue_capacity,
        settings.pipeline,
        metrics.clone(),
    )?;
    let search = match SearchIndex::open(&index_dir(&settings.db)) {
        Ok(index) => Some(Arc::new(index)),
        Err(e) => {
            tracing::error!("session search is off: {e}");
            None
        }
    };
    let indexer = search
        .clone()
        .map(|index| Indexer::start(store.clone(), index, settings.pipeline.max_cached_pages));
    let app = Arc::new(App {
        sites: SiteRegistry::load(store.clone())?,
        service: crate::service::Service::new(store.clone())
            .with_heatmap_memory(settings.limits.heatmap_memory_bytes)
            .with_insights_sample(settings.limits.insights_sample_sessions),
        store,
        submitter: pipeline.submitter(),
        hasher,
        ua: UaParser::new(),
        geo,
        token_digest,
        reports_running: Arc::new(tokio::sync::Semaphore::new(
            settings.limits.max_concurrent_reports,
        )),
        limits: settings.limits,
        trust_proxy: settings.trust_proxy,
        tracker: assets::Tracker::embedded(),
        recorder: assets::Tracker::embedded_recorder(),
        error_capture: assets::Tracker::embedded_error_capture(),
        dashboards: dashboards::Dashboards::new(settings.dashboards_dir.clone()),
        search,
        replay: settings.replay,
        limiters: ratelimit::Limiters::new(&settings.rates),
        store_limits: settings.store,
        conn: settings.conn,
        max_connections,
        body_budget: BodyBudget::new(settings.conn.body_budget_bytes, metrics.clone()),
        sign_in_hours: settings.sign_in_hours,
        origins_noted: Default::default(),
        metrics,
    });
    app.service.warm_up();
    let listener = TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("cannot listen on {}", settings.listen))?;
    tracing::info!(db = %settings.db.display(), max_connections, "serving on {}", listener.local_addr()?);
    let metrics_listener = match settings.metrics_listen {
        Some(addr) => {
            let l = TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen for metrics on {addr}"))?;
            tracing::info!("serving /metrics without a token on {}", l.local_addr()?);
            Some(l)
        }
        None => None,
    };
    Ok(Bound {
        listener,
        metrics_listener,
        app,
        pipeline,
        indexer,
        _serve_lock: serve_lock,
        generated_token,
    })
}

/// `trailmap serve`: binds, prints the token if it was generated and the
/// address, and runs until `shutdown` resolves.
pub(crate) async fn serve(
    settings: ServeSettings,
    shutdown: impl Future<Output = ()>,
) -> Result<()> {
    let bound = bind(settings).await?;
    if let Some(token) = &bound.generated_token {
        println!("trailmap: generated API token (shown once, keep it): {token}");
    }
    if let Some(addr) = bound.metrics_addr() {
        println!("trailmap metrics on http://{addr}/metrics");
    }
    println!("trailmap listening on http://{}", bound.addr());
    bound.run(shutdown).await
}

/// Which listener a connection came in on.
#[derive(Clone, Copy)]
enum Door {
    /// Everything, /metrics with the token.
    Main,
    /// `--metrics-listen`: /metrics only, no token.
    Scrape,
}

/// The most connections the metrics listener keeps (one scraper or two).
const SCRAPE_MAX_CONNECTIONS: usize = 16;

/// hyper's HTTP/1 settings: keep-alive, and the request head capped in
/// bytes (431 past it) and in header count. The header and idle timeouts
/// are the connection guard's (see [`conn`] for why not hyper's).
fn http_builder(limits: &ConnLimits) -> http1::Builder {
    let mut b = http1::Builder::new();
    b.keep_alive(true)
        .header_read_timeout(None)
        .max_header_size(limits.max_header_bytes)
        .max_headers(limits.max_headers)
        // The read buffer: hyper needs at least 8 KiB; a head larger than
        // the buffer is refused with 431 like one over max_header_size.
        .max_buf_size(limits.max_header_bytes.max(8192));
    b
}

async fn accept_loop(
    listener: TcpListener,
    metrics_listener: Option<TcpListener>,
    app: Arc<App>,
    shutdown: impl Future<Output = ()>,
) {
    let graceful = GracefulShutdown::new();
    let http = http_builder(&app.conn);
    let (header, idle) = (app.conn.header_timeout, app.conn.idle_timeout);
    let main_guard = ConnGuard::new(header, idle, app.max_connections, app.metrics.clone(), true);
    let scrape_guard = ConnGuard::new(
        header,
        idle,
        SCRAPE_MAX_CONNECTIONS,
        app.metrics.clone(),
        false,
    );
    tokio::pin!(shutdown);
    loop {
        let (accepted, guard, door) = tokio::select! {
            accepted = listener.accept() => (accepted, &main_guard, Door::Main),
            accepted = accept_if(metrics_listener.as_ref()) => (accepted, &scrape_guard, Door::Scrape),
            _ = &mut shutdown => break,
        };
        let (stream, peer) = match accepted {
            Ok(c) => c,
            Err(e) => {
                // Out of file descriptors and the like: back off, keep serving.
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        serve_connection(stream, peer, door, guard, &http, &graceful, &app);
    }
    drop(listener);
    drop(metrics_listener);
    tracing::info!("shutting down: finishing in-flight requests");
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("some connections did not finish within {SHUTDOWN_GRACE:?}");
    }
}

async fn accept_if(listener: Option<&TcpListener>) -> std::io::Result<(TcpStream, SocketAddr)> {
    match listener {
        Some(l) => l.accept().await,
        None => std::future::pending().await,
    }
}

/// Admits a connection through its guard and serves it on its own task.
fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    door: Door,
    guard: &Arc<ConnGuard>,
    http: &http1::Builder,
    graceful: &GracefulShutdown,
    app: &Arc<App>,
) {
    let registration = match guard.admit() {
        Admission::Admitted(r) => r,
        Admission::Refused => {
            tracing::debug!("a connection was refused: every slot is busy");
            return conn::refuse(stream);
        }
    };
    let _ = stream.set_nodelay(true);
    let state = registration.state.clone();
    let app = app.clone();
    let service = service_fn(move |req| {
        let (app, state) = (app.clone(), state.clone());
        async move {
            let _in_flight = state.request();
            let reply = match door {
                Door::Main => conn::handling(state.clone(), route(app, req, peer)).await,
                Door::Scrape => scrape(&app, &req),
            };
            Ok::<_, Infallible>(reply)
        }
    });
    let io = TokioIo::new(WatchedStream::new(stream, registration.state.clone()));
    let watched = graceful.watch(http.serve_connection(io, service));
    tokio::spawn(async move {
        conn::supervise(watched, &registration.state).await;
        drop(registration);
    });
}

/// The metrics listener's only route.
fn scrape(app: &App, req: &Request<Incoming>) -> Reply {
    match (req.method(), req.uri().path()) {
        (&Method::GET, "/metrics") => metrics_text(app),
        _ => reply::error(StatusCode::NOT_FOUND, "only /metrics is served here"),
    }
}

fn metrics_text(app: &App) -> Reply {
    reply::text(
        StatusCode::OK,
        "text/plain; version=0.0.4",
        app.metrics.render(),
    )
}

/// Dispatches a request through the route table ([`routes`]) and counts it.
async fn route(app: Arc<App>, req: Request<Incoming>, peer: SocketAddr) -> Reply {
    let path = req.uri().path().to_string();
    let coding = encoding::Encoding::negotiate(req.headers());
    let (label, reply) = match routes::find(req.method(), &path) {
        routes::Lookup::NotFound => ("other", reply::error(StatusCode::NOT_FOUND, "not found")),
        routes::Lookup::WrongMethod(allowed) => ("other", method_not_allowed(allowed)),
        routes::Lookup::Route(m) => (m.spec.label, admit(&app, req, peer, &m, coding).await),
    };
    app.metrics.request(label, reply.status().as_u16());
    let mut reply = reply;
    // Refused while its body was being read (too large, too slow): what was
    // drained of the rest (see `body`) was only so the client reads this
    // answer, so the connection closes after it.
    if matches!(
        reply.status(),
        StatusCode::REQUEST_TIMEOUT | StatusCode::PAYLOAD_TOO_LARGE
    ) {
        reply.headers_mut().insert(
            hyper::header::CONNECTION,
            hyper::header::HeaderValue::from_static("close"),
        );
    }
    // Every 503 says when to come back (replay uploads refused for the body
    // budget, like collect's).
    if reply.status() == StatusCode::SERVICE_UNAVAILABLE {
        reply
            .headers_mut()
            .entry(hyper::header::RETRY_AFTER)
            .or_insert(hyper::header::HeaderValue::from_static("1"));
    }
    encoding::compress(reply, coding).await
}

/// Finds who asks (where the route needs to know) and lets the request
/// through to its handler if the route allows them ([`auth::check`]).
async fn admit(
    app: &Arc<App>,
    req: Request<Incoming>,
    peer: SocketAddr,
    m: &routes::Matched<'_>,
    coding: encoding::Encoding,
) -> Reply {
    let access = m.spec.access;
    // Public routes never look at credentials, except sign-in's own.
    if access == routes::Access::Public && m.spec.route != routes::Route::SignIn {
        return dispatch(app, req, peer, m, coding, None).await;
    }
    let who = match auth::principal(app, req.headers()).await {
        Ok(who) => who,
        Err(e) => return reply::service_error(&e),
    };
    if access != routes::Access::Public {
        let Some((p, via)) = &who else {
            return auth::unauthorized();
        };
        if let Err(refused) =
            auth::check(access, req.method(), m.param("site"), p, via, req.headers())
        {
            return reply::service_error(&refused);
        }
    }
    dispatch(app, req, peer, m, coding, who).await
}

/// The handler of a matched route (who asks, where needed, is checked).
async fn dispatch(
    app: &Arc<App>,
    req: Request<Incoming>,
    peer: SocketAddr,
    m: &routes::Matched<'_>,
    coding: encoding::Encoding,
    who: Option<(crate::service::accounts::Principal, auth::Via)>,
) -> Reply {
    use routes::Route;
    let query = req.uri().query().map(str::to_string);
    let query = query.as_deref();
    let (site, put) = (m.param("site"), req.method() == Method::PUT);
    let preflight = req.method() == Method::OPTIONS;
    match m.spec.route {
        Route::Collect if preflight => collect::preflight(app, &req),
        Route::Collect => collect::collect(app, req, peer).await,
        Route::ReplayUpload if preflight => collect::preflight(app, &req),
        Route::ReplayUpload => replay_api::upload(app, m.param("hash"), req, peer).await,
        Route::ReplayFrame => replay_api::frame(app, site, m.param("hash"), query).await,
        Route::DashboardRoot => dashboards::redirect(),
        Route::Dashboard => {
            let rest: Vec<&str> = m
                .param("rest")
                .split('/')
                .filter(|s| !s.is_empty())
                .collect();
            app.dashboards.serve(&rest, coding)
        }
        Route::Healthz => health(app).await,
        Route::Tracker => app.tracker.serve(&req, None, coding),
        Route::Recorder => app.recorder.serve(&req, None, coding),
        Route::ErrorCapture => app.error_capture.serve(&req, None, coding),
        Route::TrackerVersioned => app.tracker.serve(&req, Some(m.param("file")), coding),
        Route::Metrics => metrics_text(app),
        Route::SignIn => accounts_api::sign_in(app, req, peer, who).await,
        Route::Users => accounts_api::users(app, req).await,
        Route::User => accounts_api::remove_user(app, m.param("name")).await,
        Route::Tokens => accounts_api::tokens(app, req, who).await,
        Route::Token => accounts_api::remove_token(app, m.param("id"), who).await,
        Route::Shares => accounts_api::shares(app, site, req, who).await,
        Route::Share => accounts_api::revoke_share(app, site, m.param("id")).await,
        Route::SharePage => accounts_api::share_page(app, m.param("token"), req, peer).await,
        Route::Sites if req.method() == Method::POST => api::add_site(app, req, who).await,
        Route::Sites => api::list_sites(app, who).await,
        Route::Install => api::install(app, site).await,
        Route::Realtime => api::realtime(app, site, query).await,
        Route::Annotations => api::annotations(app, site, req, query, who).await,
        Route::Annotation => api::remove_annotation(app, site, m.param("id")).await,
        Route::Funnels => api::saved_funnels(app, site).await,
        Route::SavedFunnel => {
            // A name is a path segment: "Checkout%20flow" is "Checkout flow".
            let name = percent_encoding::percent_decode_str(m.param("name")).decode_utf8_lossy();
            if put {
                api::save_funnel(app, site, &name, req, who).await
            } else {
                api::remove_funnel(app, site, &name).await
            }
        }
        Route::Sessions => api::list_sessions(app, site, query).await,
        Route::Session => api::session(app, site, m.param("id")).await,
        Route::Rules if put => mine_api::put_rules(app, site, req).await,
        Route::Rules => mine_api::get_rules(app, site).await,
        Route::StageSettings if put => mine_api::put_journey_settings(app, site, req).await,
        Route::StageSettings => mine_api::get_journey_settings(app, site).await,
        Route::ConformanceModel if put => mine_api::put_expected_journey(app, site, req).await,
        Route::ConformanceModel => mine_api::get_expected_journey(app, site).await,
        Route::Layouts => replay_api::describe(app, site, None, query).await,
        Route::Layout => replay_api::describe(app, site, Some(m.param("hash")), None).await,
        Route::Chart => charts_api::chart(app, site, m.param("file"), query).await,
        Route::Report => mine_api::analysis(app, site, m.param("report"), query).await,
    }
}

/// 405, with the methods the path has.
fn method_not_allowed(allowed: &[Method]) -> Reply {
    let mut r = reply::error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed");
    let list: Vec<&str> = allowed.iter().map(Method::as_str).collect();
    if let Ok(v) = hyper::header::HeaderValue::from_str(&list.join(", ")) {
        r.headers_mut().insert(hyper::header::ALLOW, v);
    }
    r
}

/// Healthy when the database answers and writes do not fail for lack of
/// space. While they do, each check asks the filesystem for its free space
/// (no write), so that the server reports healthy again as soon as space is
/// freed, before any collect request has to try (a balancer sends none to
/// an unhealthy node), and the writer tries its next commit at once.
async fn health(app: &Arc<App>) -> Reply {
    let store = app.store.clone();
    let metrics = app.metrics.clone();
    let (readable, disk_full) = tokio::task::spawn_blocking(move || {
        let readable = store.ping().is_ok();
        let disk_full = metrics.disk_full.load(std::sync::atomic::Ordering::Relaxed);
        if disk_full && store.has_room() {
            metrics
                .disk_full
                .store(false, std::sync::atomic::Ordering::Relaxed);
            return (readable, false);
        }
        (readable, disk_full)
    })
    .await
    .unwrap_or((false, false));
    if !readable {
        reply::error(StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
    } else if disk_full {
        reply::error(StatusCode::SERVICE_UNAVAILABLE, "writes failing: disk full")
    } else {
        reply::text(StatusCode::OK, "text/plain; charset=utf-8", "ok\n")
    }
}

/// The token's digest: from settings, or the stored one, or a new one,
/// returned as well so the caller shows it once.
fn resolve_token(store: &Store, configured: Option<&str>) -> Result<(String, Option<String>)> {
    if let Some(token) = configured {
        return Ok((secrets::token_digest(token), None));
    }
    let conn = store.admin()?;
    if let Some(digest) = secrets::token_hash(&conn)? {
        return Ok((digest, None));
    }
    let token = secrets::generate_token(&conn)?;
    Ok((secrets::token_digest(&token), Some(token)))
}

fn current_salts(store: &Store) -> Result<Salts> {
    let day = day_of(now_ms());
    let (current, previous) = secrets::rotate_salts(&mut store.admin()?, day)?;
    Ok(Salts {
        day,
        current,
        previous,
    })
}

/// Background chores: rotate the salt at UTC midnight, refresh the sites,
/// prune old layouts and expired sign-ins hourly.
async fn maintenance(app: Arc<App>) {
    let mut salt_tick = tokio::time::interval(SALT_CHECK_EVERY);
    let mut sites_tick = tokio::time::interval(registry::RELOAD_INTERVAL);
    let mut prune_tick = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        tokio::select! {
            _ = prune_tick.tick() => {
                let app = app.clone();
                let _ = tokio::task::spawn_blocking(move || {
                    replay_api::prune(&app);
                    if let Err(e) = app.service.prune_sessions(now_ms()) {
                        tracing::error!("pruning expired sign-ins failed: {e}");
                    }
                })
                .await;
            }
            _ = salt_tick.tick() => {
                if day_of(now_ms()) != app.hasher.day() {
                    let store = app.store.clone();
                    match tokio::task::spawn_blocking(move || current_salts(&store)).await {
                        Ok(Ok(salts)) => app.hasher.install(salts),
                        Ok(Err(e)) => tracing::error!("salt rotation failed: {e}"),
                        Err(e) => tracing::error!("salt rotation task failed: {e}"),
                    }
                }
            }
            _ = sites_tick.tick() => {
                let app = app.clone();
                let _ = tokio::task::spawn_blocking(move || app.sites.reload()).await;
            }
        }
    }
}

/// Resolves on ctrl-c or SIGTERM.
pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
