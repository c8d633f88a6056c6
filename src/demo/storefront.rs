//! Serves the demo shop (examples/storefront, embedded in the binary) on its
//! own port, so that the tracker runs cross-origin as it does on a real shop.
//!
//! HTML files carry two placeholders, `{{TRAILMAP_URL}}` and
//! `{{TRAILMAP_SITE}}`, filled in as they are served. Paths under `/gifts/`
//! are the single-page app and all get its index; unknown paths get the
//! shop's 404 page with status 404.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use include_dir::{include_dir, Dir};
use tokio::net::TcpListener;

static SHOP: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/examples/storefront");

/// What the placeholders become.
pub(crate) struct Storefront {
    collector_url: String,
    site: String,
}

impl Storefront {
    pub(crate) fn new(collector_url: &str, site: &str) -> Storefront {
        Storefront {
            collector_url: collector_url.trim_end_matches('/').to_string(),
            site: site.to_string(),
        }
    }

    /// Serves on `listener` until `shutdown` resolves.
    pub(crate) async fn run(self, listener: TcpListener, shutdown: impl Future<Output = ()>) {
        let shop = Arc::new(self);
        let graceful = GracefulShutdown::new();
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let Ok((stream, _)) = accepted else { continue };
                    let shop = shop.clone();
                    let service = service_fn(move |req| {
                        let shop = shop.clone();
                        async move { Ok::<_, Infallible>(shop.respond(&req)) }
                    });
                    let conn = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
                    let watched = graceful.watch(conn);
                    tokio::spawn(async move {
                        let _ = watched.await;
                    });
                }
                _ = &mut shutdown => break,
            }
        }
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), graceful.shutdown()).await;
    }

    fn respond<B>(&self, req: &Request<B>) -> Response<Full<Bytes>> {
        let path = req.uri().path();
        match resolve(path) {
            Some(file) => self.file(StatusCode::OK, file),
            None => match SHOP.get_file("404.html") {
                Some(file) => self.file(StatusCode::NOT_FOUND, file),
                None => plain(StatusCode::NOT_FOUND, "not found"),
            },
        }
    }

    fn file(
        &self,
        status: StatusCode,
        file: &'static include_dir::File<'static>,
    ) -> Response<Full<Bytes>> {
        let name = file.path().to_string_lossy();
        let content_type = content_type(&name);
        let body = if name.ends_with(".html") {
            let html = String::from_utf8_lossy(file.contents())
                .replace("{{TRAILMAP_URL}}", &self.collector_url)
                .replace("{{TRAILMAP_SITE}}", &self.site);
            Bytes::from(html)
        } else {
            Bytes::from_static(file.contents())
        };
        let mut r = Response::new(Full::new(body));
        *r.status_mut() = status;
        r.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        r.headers_mut()
            .insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        r
    }
}

/// What the replay recorder would capture of the page at `path` as a view
/// of `variant` shows it (a 404 page for unknown paths): the page's DOM after its scripts ran, as
/// captured in Chromium ([`super::shop_layouts`]), or for a page not
/// captured its HTML with the placeholders filled; scripts removed and a
/// `<base>` naming the page. The demo's simulated visitors show these
/// layouts, so their sessions replay on real pages and heatmaps have a
/// background their clicks fit.
pub(crate) fn snapshot(
    path: &str,
    variant: super::shop_layouts::Variant,
    shop_origin: &str,
    collector_url: &str,
    site: &str,
) -> String {
    // The page is the path; the query (utm tags, a search) is not.
    let path = path.split(['?', '#']).next().unwrap_or(path);
    let html = match super::shop_layouts::layout(path, variant) {
        Some(captured) => captured.html.clone(),
        None => {
            let file = resolve(path)
                .or_else(|| SHOP.get_file("404.html"))
                .expect("the storefront has a 404 page");
            String::from_utf8_lossy(file.contents())
                .replace("{{TRAILMAP_URL}}", collector_url)
                .replace("{{TRAILMAP_SITE}}", site)
        }
    };
    crate::replay::sanitize::sanitize(
        &html,
        &format!("{shop_origin}{path}"),
        &[shop_origin.to_string()],
    )
}

/// The embedded file for a request path: `/` and directories get their
/// `index.html`, `/x` may be `x.html`, and the SPA owns `/gifts/...`.
fn resolve(path: &str) -> Option<&'static include_dir::File<'static>> {
    let rel = path.trim_start_matches('/');
    if rel.split('/').any(|seg| seg == "..") {
        return None;
    }
    if rel == "gifts" || rel.starts_with("gifts/") {
        return SHOP.get_file("gifts/index.html");
    }
    let candidates = [
        rel.to_string(),
        format!("{rel}.html"),
        format!(
            "{}index.html",
            if rel.is_empty() || rel.ends_with('/') {
                rel.to_string()
            } else {
                format!("{rel}/")
            }
        ),
    ];
    candidates.iter().find_map(|c| SHOP.get_file(c))
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("js" | "mjs") => "application/javascript; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("json") => "application/json",
        _ => "text/plain; charset=utf-8",
    }
}

fn plain(status: StatusCode, text: &'static str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *r.status_mut() = status;
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_resolve_to_embedded_files() {
        let name = |p: &str| resolve(p).map(|f| f.path().to_string_lossy().into_owned());
        assert_eq!(name("/").as_deref(), Some("index.html"));
        assert_eq!(name("/cart.html").as_deref(), Some("cart.html"));
        assert_eq!(name("/help/faq").as_deref(), Some("help/faq.html"));
        assert_eq!(name("/gifts/budget").as_deref(), Some("gifts/index.html"));
        assert_eq!(name("/gifts/").as_deref(), Some("gifts/index.html"));
        assert_eq!(name("/nope.html"), None);
        assert_eq!(name("/../Cargo.toml"), None);
    }

    #[test]
    fn placeholders_are_filled_and_unknown_paths_get_the_404_page() {
        let shop = Storefront::new("http://127.0.0.1:9/", "shop");
        let req = Request::get("/").body(()).unwrap();
        let r = shop.respond(&req);
        assert_eq!(r.status(), StatusCode::OK);
        let body = futures_body(r);
        assert!(body.contains(r#"src="http://127.0.0.1:9/t.js""#), "{body}");
        assert!(body.contains(r#"data-site="shop""#));
        assert!(!body.contains("{{"));
        let missing = shop.respond(&Request::get("/product/999.html").body(()).unwrap());
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
        assert!(futures_body(missing).contains("trailmap-status"));
    }

    fn futures_body(r: Response<Full<Bytes>>) -> String {
        use http_body_util::BodyExt;
        let bytes = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(r.into_body().collect())
            .unwrap()
            .to_bytes();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[test]
    fn snapshots_are_the_pages_without_scripts() {
        let shop = "http://127.0.0.1:9";
        let none = super::super::shop_layouts::Variant::default();
        let cart = snapshot(
            "/cart.html?utm_source=x",
            none,
            shop,
            "http://127.0.0.1:8",
            "shop",
        );
        assert!(
            cart.contains("Your cart") && !cart.contains("<script"),
            "{cart}"
        );
        assert!(cart.contains(r#"<base href="http://127.0.0.1:9/cart.html">"#));
        let search = snapshot(
            "/search.html?q=boots",
            none,
            shop,
            "http://127.0.0.1:8",
            "shop",
        );
        assert!(search.contains("search-results"), "{search}");
        let missing = snapshot("/nope", none, shop, "http://127.0.0.1:8", "shop");
        assert!(missing.contains("trail doesn"), "{missing}");
    }
}
