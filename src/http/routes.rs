//! The one list of what the server answers: every path, its methods, who
//! may ask it ([`Access`], checked by [`super::auth`]), and the label
//! /metrics counts it under.
//! Paths are matched by `matchit` (the router inside axum), on the same
//! hyper server: the connection handling in [`super::conn`] and the body
//! reader in [`super::body`] stay ours, which a tower-based framework would
//! take over. A path that exists with another method is a 405 with `Allow`.

use std::sync::LazyLock;

use hyper::Method;

/// What a request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    Collect,
    ReplayUpload,
    ReplayFrame,
    DashboardRoot,
    Dashboard,
    Healthz,
    Tracker,
    Recorder,
    ErrorCapture,
    TrackerVersioned,
    Metrics,
    /// `/api/session`: sign in (POST), who am I (GET), sign out (DELETE).
    SignIn,
    Users,
    User,
    Tokens,
    Token,
    Shares,
    Share,
    /// `/s/{token}`: a share link opened in a browser.
    SharePage,
    /// `GET /api/sites`, and `POST` (an admin of every site) to add one.
    Sites,
    Install,
    Realtime,
    Annotations,
    Annotation,
    /// A site's saved funnels.
    Funnels,
    SavedFunnel,
    Sessions,
    Session,
    Rules,
    StageSettings,
    ConformanceModel,
    Layouts,
    Layout,
    Chart,
    /// `overview`, `paths`, ... (the names of [`crate::service::ReportKind`]).
    Report,
}

/// Who may ask a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// Anyone: the collector, the assets, sign-in, share links, frames
    /// (signed URLs).
    Public,
    /// Anyone signed in, share links included: `/api/sites` (filtered).
    Anyone,
    /// A user or a token, not a share link: one's own API tokens.
    Signed,
    /// Whoever sees the path's `{site}`; a write (not GET/HEAD) also needs
    /// an admin.
    Site,
    /// An admin who sees the path's `{site}`, even to read: its share links.
    SiteAdmin,
    /// An admin of every site: users, metrics.
    Admin,
}

/// One entry of the table.
pub(crate) struct Spec {
    pub path: &'static str,
    pub route: Route,
    pub methods: &'static [Method],
    pub access: Access,
    /// The `route` label of `trailmap_http_requests_total`.
    pub label: &'static str,
}

const GET: &[Method] = &[Method::GET];
const GET_HEAD: &[Method] = &[Method::GET, Method::HEAD];
const GET_PUT: &[Method] = &[Method::GET, Method::PUT];
const GET_POST: &[Method] = &[Method::GET, Method::POST];
const GET_POST_DELETE: &[Method] = &[Method::GET, Method::POST, Method::DELETE];
const DELETE: &[Method] = &[Method::DELETE];
const PUT_DELETE: &[Method] = &[Method::PUT, Method::DELETE];
const POST_OPTIONS: &[Method] = &[Method::POST, Method::OPTIONS];

const fn spec(
    path: &'static str,
    route: Route,
    methods: &'static [Method],
    access: Access,
    label: &'static str,
) -> Spec {
    Spec {
        path,
        route,
        methods,
        access,
        label,
    }
}

/// Every route. The site API's own sub-paths take precedence over
/// `{report}` (matchit prefers static segments).
pub(crate) const ROUTES: &[Spec] = &[
    spec(
        "/api/collect",
        Route::Collect,
        POST_OPTIONS,
        Access::Public,
        "collect",
    ),
    spec(
        "/api/replay/snapshots/{hash}",
        Route::ReplayUpload,
        POST_OPTIONS,
        Access::Public,
        "replay",
    ),
    spec(
        "/replay/frame/{site}/{hash}",
        Route::ReplayFrame,
        GET,
        Access::Public,
        "replay",
    ),
    spec("/", Route::DashboardRoot, GET, Access::Public, "dashboard"),
    spec(
        "/dashboard",
        Route::Dashboard,
        GET,
        Access::Public,
        "dashboard",
    ),
    spec(
        "/dashboard/{*rest}",
        Route::Dashboard,
        GET,
        Access::Public,
        "dashboard",
    ),
    spec("/healthz", Route::Healthz, GET, Access::Public, "healthz"),
    spec("/t.js", Route::Tracker, GET_HEAD, Access::Public, "tracker"),
    spec(
        "/t/replay.js",
        Route::Recorder,
        GET_HEAD,
        Access::Public,
        "tracker",
    ),
    spec(
        "/t/errors.js",
        Route::ErrorCapture,
        GET_HEAD,
        Access::Public,
        "tracker",
    ),
    spec(
        "/t/{file}",
        Route::TrackerVersioned,
        GET_HEAD,
        Access::Public,
        "tracker",
    ),
    spec("/metrics", Route::Metrics, GET, Access::Admin, "metrics"),
    spec(
        "/api/session",
        Route::SignIn,
        GET_POST_DELETE,
        Access::Public,
        "api",
    ),
    spec("/api/users", Route::Users, GET_POST, Access::Admin, "api"),
    spec(
        "/api/users/{name}",
        Route::User,
        DELETE,
        Access::Admin,
        "api",
    ),
    spec(
        "/api/tokens",
        Route::Tokens,
        GET_POST,
        Access::Signed,
        "api",
    ),
    spec(
        "/api/tokens/{id}",
        Route::Token,
        DELETE,
        Access::Signed,
        "api",
    ),
    spec(
        "/s/{token}",
        Route::SharePage,
        GET_POST,
        Access::Public,
        "share",
    ),
    spec("/api/sites", Route::Sites, GET_POST, Access::Anyone, "api"),
    spec(
        "/api/sites/{site}/install",
        Route::Install,
        GET,
        Access::Site,
        "api",
    ),
    spec(
        "/api/sites/{site}/annotations",
        Route::Annotations,
        GET_POST,
        Access::Site,
        "api",
    ),
    spec(
        "/api/sites/{site}/annotations/{id}",
        Route::Annotation,
        DELETE,
        Access::Site,
        "api",
    ),
    spec(
        "/api/sites/{site}/funnels",
        Route::Funnels,
        GET,
        Access::Site,
        "api",
    ),
    spec(
        "/api/sites/{site}/funnels/{name}",
        Route::SavedFunnel,
        PUT_DELETE,
        Access::Site,
        "api",
    ),
    spec(
        "/api/sites/{site}/realtime",
        Route::Realtime,
        GET,
        Access::Site,
        "api",
    ),
    spec(
        "/api/sites/{site}/shares",
        Route::Shares,
        GET_POST,
        Access::SiteAdmin,
        "api",
    ),
    spec(
        "/api/sites/{site}/shares/{id}",
        Route::Share,
        DELETE,
        Access::SiteAdmin,
        "api",
    ),
    spec(
        "/api/sites/{site}/sessions",
        Route::Sessions,
        GET,
        Access::Site,
        "api",
    ),
    spec(
        "/api/sites/{site}/sessions/{id}",
        Route::Session,
        GET,
        Access::Site,
        "api",
    ),
    spec(
        "/api/sites/{site}/rules",
        Route::Rules,
        GET_PUT,
        Access::Site,
        "api",
    ),
    spec(
        "/api/sites/{site}/stages/settings",
        Route::StageSettings,
        GET_PUT,
        Access::Site,
        "api",
    ),
    spec(
        "/api/sites/{site}/conformance/model",
        Route::ConformanceModel,
        GET_PUT,
        Access::Site,
        "api",
    ),
    spec(
        "/api/sites/{site}/layouts",
        Route::Layouts,
        GET,
        Access::Site,
        "api",
    ),
    spec(
        "/api/sites/{site}/layouts/{hash}",
        Route::Layout,
        GET,
        Access::Site,
        "api",
    ),
    spec(
        "/api/sites/{site}/charts/{file}",
        Route::Chart,
        GET,
        Access::Site,
        "api",
    ),
    spec(
        "/api/sites/{site}/{report}",
        Route::Report,
        GET,
        Access::Site,
        "api",
    ),
];

static ROUTER: LazyLock<matchit::Router<usize>> = LazyLock::new(|| {
    let mut router = matchit::Router::new();
    for (i, s) in ROUTES.iter().enumerate() {
        router
            .insert(s.path, i)
            .unwrap_or_else(|e| panic!("route {}: {e}", s.path));
    }
    router
});

/// A matched request: its route's entry and the path's parameters.
pub(crate) struct Matched<'p> {
    pub spec: &'static Spec,
    params: matchit::Params<'static, 'p>,
}

impl Matched<'_> {
    /// A path parameter by name (`site`, `hash`, ...); empty when absent.
    pub(crate) fn param(&self, name: &str) -> &str {
        self.params.get(name).unwrap_or("")
    }
}

/// What the table says of a method and a path.
pub(crate) enum Lookup<'p> {
    Route(Matched<'p>),
    /// The path exists, not with this method: the methods it has.
    WrongMethod(&'static [Method]),
    NotFound,
}

/// Looks `path` up (a trailing slash is ignored, as before the table).
pub(crate) fn find<'p>(method: &Method, path: &'p str) -> Lookup<'p> {
    let path = match path.strip_suffix('/') {
        Some(trimmed) if !trimmed.is_empty() => trimmed,
        _ => path,
    };
    let Ok(m) = ROUTER.at(path) else {
        return Lookup::NotFound;
    };
    let spec = &ROUTES[*m.value];
    if !spec.methods.contains(method) {
        return Lookup::WrongMethod(spec.methods);
    }
    Lookup::Route(Matched {
        spec,
        params: m.params,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(method: Method, path: &str) -> Option<(Route, String)> {
        match find(&method, path) {
            Lookup::Route(m) => Some((m.spec.route, m.param("site").to_string())),
            _ => None,
        }
    }

    #[test]
    fn every_route_is_found_and_static_segments_win() {
        assert_eq!(
            route(Method::GET, "/api/sites/shop/sessions"),
            Some((Route::Sessions, "shop".into()))
        );
        assert_eq!(
            route(Method::GET, "/api/sites/shop/paths/"),
            Some((Route::Report, "shop".into()))
        );
        assert_eq!(
            route(Method::GET, "/api/sites/shop/stages/settings"),
            Some((Route::StageSettings, "shop".into()))
        );
        assert_eq!(
            route(Method::GET, "/t/replay.js").unwrap().0,
            Route::Recorder
        );
        assert_eq!(
            route(Method::GET, "/t/errors.js").unwrap().0,
            Route::ErrorCapture
        );
        assert_eq!(
            route(Method::GET, "/t/t.1a2b.js").unwrap().0,
            Route::TrackerVersioned
        );
        assert_eq!(
            route(Method::GET, "/dashboard/").unwrap().0,
            Route::Dashboard
        );
        assert_eq!(
            route(Method::GET, "/dashboard/js/app.js").unwrap().0,
            Route::Dashboard
        );
        assert!(matches!(
            find(&Method::DELETE, "/api/collect"),
            Lookup::WrongMethod(m) if m == POST_OPTIONS
        ));
        assert!(matches!(find(&Method::GET, "/nope"), Lookup::NotFound));
        assert!(matches!(
            find(&Method::GET, "/api/sites/shop/a/b/c"),
            Lookup::NotFound
        ));
    }
}
