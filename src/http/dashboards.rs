//! The dashboards: static pages from dashboards/ (HTML, CSS, JS, no build
//! step), embedded in the binary and served under `/dashboard/`. The pages
//! hold no data: they sign in through `/api/session` (a name and password,
//! or a token) for an HttpOnly cookie, and fetch everything from the API,
//! so nothing here knows who is looking.
//!
//! Every reply carries a strict Content-Security-Policy: scripts and
//! styles only from this origin (no inline script, no eval), images from
//! here or blob: (charts are fetched through the API and shown as blobs),
//! no framing by other sites. Visitor-controlled strings are escaped by the
//! pages themselves; the policy is the second wall.
//!
//! The `dashboards_dir` setting (`--dashboards-dir`,
//! `TRAILMAP_DASHBOARDS_DIR`, resolved in [`crate::config`]) serves the
//! pages from a folder instead, so editing them needs no rebuild.

use std::path::PathBuf;

use bytes::Bytes;
use hyper::header::{HeaderValue, CACHE_CONTROL, LOCATION};
use hyper::StatusCode;
use include_dir::{include_dir, Dir};

use super::encoding::{self, Encoding};
use super::reply::{self, Reply};

static EMBEDDED: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/dashboards");

/// The policy of every dashboard reply.
pub(crate) const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self' blob: data:; connect-src 'self'; font-src 'self'; \
    frame-src 'self' blob:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

pub(crate) struct Dashboards {
    dir: Option<PathBuf>,
}

impl Dashboards {
    /// The pages from `dir`, or the embedded ones when it is `None`.
    pub(crate) fn new(dir: Option<PathBuf>) -> Dashboards {
        Dashboards { dir }
    }

    /// `GET /dashboard/{rest}`; an empty rest is the index page.
    /// The embedded pages go in the `wanted` form, the smallest the
    /// request accepts (made at build time, see [`super::encoding`]).
    pub(crate) fn serve(&self, rest: &[&str], wanted: Encoding) -> Reply {
        let path = if rest.is_empty() || rest == [""] {
            "index.html".to_string()
        } else {
            rest.join("/")
        };
        if path.split('/').any(|s| s.is_empty() || s.starts_with('.')) {
            return reply::error(StatusCode::NOT_FOUND, "not found");
        }
        let body: Option<(Bytes, Encoding)> = match &self.dir {
            Some(dir) => std::fs::read(dir.join(&path))
                .ok()
                .map(|b| (Bytes::from(b), Encoding::Identity)),
            None => EMBEDDED
                .get_file(&path)
                .map(|f| encoding::embedded(&format!("dashboards/{path}"), f.contents(), wanted)),
        };
        let Some((body, coding)) = body else {
            return reply::error(StatusCode::NOT_FOUND, "not found");
        };
        let mut r = reply::text(StatusCode::OK, content_type(&path), body);
        if coding != Encoding::Identity {
            encoding::mark(&mut r, coding);
        }
        let h = r.headers_mut();
        h.insert("content-security-policy", HeaderValue::from_static(CSP));
        h.insert(
            "x-content-type-options",
            HeaderValue::from_static("nosniff"),
        );
        h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
        h.insert("x-frame-options", HeaderValue::from_static("DENY"));
        h.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        r
    }
}

impl Default for Dashboards {
    /// The embedded pages.
    fn default() -> Self {
        Dashboards::new(None)
    }
}

/// `GET /`: to the dashboards.
pub(crate) fn redirect() -> Reply {
    let mut r = reply::empty(StatusCode::FOUND);
    r.headers_mut()
        .insert(LOCATION, HeaderValue::from_static("/dashboard/"));
    r
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, e)| e) {
        Some("html") => "text/html; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}
