//! Session replay over HTTP.
//!
//! From the recorder (a registered origin, no token, like collect):
//! `POST /api/replay/snapshots/{hash}?site=&url=&vw=&vh=&dw=&dh=`. With an
//! empty body it asks "do you have this layout?" (204, and the page's
//! latest layout is noted, or 404); with a body it uploads the layout,
//! gzipped (201 stored, 200 already there, 4xx with the reason; 413 over
//! the size limit or the site's quota; 429 with Retry-After over a rate
//! limit: probes count as collect requests of the client, uploads against
//! the replay limits per client and per site). A full quota first makes
//! room by deleting layouts no session references.
//!
//! For the dashboards (token): `GET /api/sites/{site}/layouts/{hash}` and
//! `GET /api/sites/{site}/layouts?page=&viewport=` (the latest layout of a
//! page; `"hash": null` when there is none yet) describe a layout with a
//! signed `frame_url`; `GET
//! /replay/frame/{site}/{hash}?expires=&sig=` shows it, sanitized, under a
//! sandboxing Content-Security-Policy.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::header::{HeaderValue, ORIGIN};
use hyper::{Request, StatusCode};
use serde_json::json;

use super::api::blocking;
use super::body::BodyError;
use super::collect::{allow_origin, client_ip, header_str};
use super::ratelimit;
use super::reply::{self, Reply};
use super::App;
use crate::event::now_ms;
use crate::event::ViewportClass;
use crate::replay::{self, sanitize, sign};
use crate::service::layouts::{Upload, Uploaded};
use crate::service::request::{Params, QueryParams};
use crate::service::ServiceError;
use crate::store::layouts::Sighting;

/// `POST /api/replay/snapshots/{hash}`.
pub(crate) async fn upload(
    app: &Arc<App>,
    hash: &str,
    req: Request<Incoming>,
    peer: SocketAddr,
) -> Reply {
    let origin = header_str(req.headers(), ORIGIN).map(str::to_string);
    let mut reply = accept_upload(app, hash, req, peer, origin.as_deref())
        .await
        .unwrap_or_else(|refused| refused);
    if let Some(o) = origin.filter(|o| app.sites.origin_known(o)) {
        allow_origin(&mut reply, &o);
    }
    reply
}

/// Decodes an upload, applies the door's checks (site and origin, the
/// client's rates, the body's size and deadline), and stores it through
/// the service. `Err` holds a refusal's reply.
async fn accept_upload(
    app: &Arc<App>,
    hash: &str,
    req: Request<Incoming>,
    peer: SocketAddr,
    origin: Option<&str>,
) -> Result<Reply, Reply> {
    let bad = |m: &str| reply::service_error(&ServiceError::invalid(m));
    if !replay::valid_hash(hash) {
        return Err(bad("the layout hash must be a SHA-256 in lowercase hex"));
    }
    let q = QueryParams::parse(req.uri().query());
    let site_name = q.get("site").ok_or_else(|| bad("site: required"))?;
    let forbidden = |m: &str| reply::error(StatusCode::FORBIDDEN, m);
    let Some(site) = app.sites.site(site_name) else {
        return Err(forbidden(&format!("unknown site {site_name:?}")));
    };
    let Some(origin) = origin else {
        return Err(forbidden("missing Origin header"));
    };
    if !site.origins.iter().any(|o| o == origin) {
        return Err(forbidden(&format!(
            "origin {origin:?} is not registered for site {:?}",
            site.name
        )));
    }
    // Before the body is read: a refused upload costs nothing more.
    let probe = hyper::body::Body::size_hint(req.body()).exact() == Some(0);
    let ip = client_ip(req.headers(), peer, app.trust_proxy);
    if let Some(refusal) = check_rates(app, ip, site.id, probe) {
        app.drain_body(req.into_body(), replay::MAX_UPLOAD_BYTES)
            .await;
        return Err(refusal);
    }
    let (url, sighting) = page_of(&q, &site.keep_query).map_err(|e| reply::service_error(&e))?;
    let body = app
        .read_body(req.into_body(), replay::MAX_UPLOAD_BYTES)
        .await
        .map_err(|e| match e {
            BodyError::TooLarge { .. } => reply::service_error(&ServiceError::TooLarge(
                "the compressed layout is over 2 MiB".into(),
            )),
            e => reply::error(e.status(), &e.message()),
        })?;
    if let Some(refusal) = check_bytes(app, ip, body.len()) {
        return Err(refusal);
    }
    let upload = Upload {
        hash: hash.to_string(),
        url,
        sighting,
        body: body.bytes(),
    };
    let (site_id, quota) = (site.id, app.replay.quota_bytes);
    let stored = blocking(app, move |app| {
        // The body's share of the memory budget is held until it is stored.
        let _held = body;
        app.service.store_layout(site_id, &upload, quota, now_ms())
    })
    .await;
    Ok(match stored {
        Ok(Uploaded::Known) => reply::empty(StatusCode::NO_CONTENT),
        Ok(Uploaded::Wanted) => reply::json(
            StatusCode::OK,
            &serde_json::json!({"wanted": "the layout, gzipped, as the body of a POST to this URL"}),
        ),
        Ok(Uploaded::AlreadyStored) => reply::empty(StatusCode::OK),
        Ok(Uploaded::Created) => reply::empty(StatusCode::CREATED),
        Err(e) => reply::service_error(&e),
    })
}

/// The page an upload was captured on, from its query: the URL stored like
/// page URLs (no query parameter the site does not keep) and its sizes.
fn page_of(q: &QueryParams, keep_query: &[String]) -> Result<(String, Sighting), ServiceError> {
    let given = q
        .get("url")
        .ok_or_else(|| ServiceError::invalid("url: required"))?;
    let url = crate::ingest::payload::stored_url(given, keep_query);
    let path = crate::ingest::payload::page_path_keeping(&url, keep_query)
        .ok_or_else(|| ServiceError::invalid("url: must be an absolute http(s) URL"))?;
    let px = |k: &str| {
        q.get(k)
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|n| n.is_finite() && *n >= 0.0)
            .map(|n| n.min(1_000_000.0) as u32)
            .ok_or_else(|| ServiceError::invalid(format!("{k}: a size in pixels is required")))
    };
    let sighting = Sighting {
        path,
        viewport: ViewportClass::of_width(px("vw")?).as_str().to_string(),
        vw: px("vw")?,
        vh: px("vh")?,
        dw: px("dw")?,
        dh: px("dh")?,
    };
    Ok((url, sighting))
}

/// The rate limits of a replay request: a probe ("do you have it?") is as
/// cheap as a collect batch and counts as one of the client's; an upload
/// counts against the replay limits of the client and of the site. The
/// 429 to answer, if over one (`None`: within the limits).
fn check_rates(app: &App, ip: IpAddr, site_id: i64, probe: bool) -> Option<Reply> {
    let l = &app.limiters;
    let (client, site) = if probe {
        (l.collect.as_ref(), None)
    } else {
        (l.replay_client.as_ref(), l.replay_site.as_ref())
    };
    if let Some(Err(wait)) = client.map(|c| c.check_client(ip)) {
        return Some(ratelimit::too_many(
            wait,
            "too many replay requests from this address; retry after the Retry-After delay",
        ));
    }
    if let Some(Err(wait)) = site.map(|s| s.check(&site_id.to_le_bytes())) {
        return Some(ratelimit::too_many(
            wait,
            "too many replay uploads for this site; retry after the Retry-After delay",
        ));
    }
    None
}

/// The client's hourly byte budget for uploads, charged with `bytes` once
/// they are read: however many uploads a minute the rate allows, one
/// client cannot push more than its share through a site's quota. The 429
/// to answer, if over it.
fn check_bytes(app: &App, ip: IpAddr, bytes: usize) -> Option<Reply> {
    let limiter = app.limiters.replay_client_kib.as_ref()?;
    let kib = u32::try_from(bytes.div_ceil(1024)).unwrap_or(u32::MAX);
    let wait = limiter.check_client_cost(ip, kib).err()?;
    Some(ratelimit::too_many(
        wait,
        "this address uploaded its hour's share of replay layouts; retry after the Retry-After delay",
    ))
}

/// `GET /api/sites/{site}/layouts/{hash}` and
/// `GET /api/sites/{site}/layouts?page=&viewport=`.
pub(crate) async fn describe(
    app: &Arc<App>,
    site: &str,
    hash: Option<&str>,
    query: Option<&str>,
) -> Reply {
    let site = site.to_string();
    let now = now_ms();
    let Some(hash) = hash else {
        let q = QueryParams::parse(query);
        let (page, class) = match (q.required("page"), q.choice::<ViewportClass>("viewport")) {
            (Ok(page), Ok(class)) => (page.to_string(), class.unwrap_or(ViewportClass::Desktop)),
            (Err(e), _) | (_, Err(e)) => return reply::service_error(&e),
        };
        let found = blocking(app, move |app| {
            app.service
                .page_layout(&site, &page, class, &app.token_digest, now)
                .map(|found| (found, page))
        })
        .await;
        return match found {
            Ok((Some(view), _)) => reply::json(StatusCode::OK, &view),
            // Not an error: most pages have no layout until a visitor with
            // the recorder views them.
            Ok((None, page)) => reply::json(
                StatusCode::OK,
                &json!({
                    "hash": null, "frame_url": null,
                    "message": format!("no layout of {page:?} at {} width yet", class.as_str()),
                }),
            ),
            Err(e) => reply::service_error(&e),
        };
    };
    let hash = hash.to_string();
    match blocking(app, move |app| {
        app.service.layout(&site, &hash, &app.token_digest, now)
    })
    .await
    {
        Ok(view) => reply::json(StatusCode::OK, &view),
        Err(e) => reply::service_error(&e),
    }
}

/// `GET /replay/frame/{site}/{hash}?expires=&sig=`: the layout, sanitized,
/// under a sandboxing policy. No token: the signature is the permission.
pub(crate) async fn frame(app: &Arc<App>, site: &str, hash: &str, query: Option<&str>) -> Reply {
    let q = QueryParams::parse(query);
    let expires = q.get("expires").and_then(|v| v.parse().ok()).unwrap_or(0);
    let sig = q.get("sig").unwrap_or("");
    if !sign::verify(&app.token_digest, site, hash, expires, sig, now_ms()) {
        return reply::error(
            StatusCode::FORBIDDEN,
            "this frame link is invalid or expired: open the session again",
        );
    }
    let Some(s) = app.sites.site(site) else {
        return reply::service_error(&ServiceError::unknown_site(site));
    };
    let hash = hash.to_string();
    let origins = s.origins.clone();
    let page = blocking(app, move |app| {
        app.service.layout_html(s.id, &hash, &s.origins)
    })
    .await;
    match page {
        Ok(html) => {
            let mut r = reply::text(StatusCode::OK, "text/html; charset=utf-8", html);
            let h = r.headers_mut();
            if let Ok(v) = HeaderValue::from_str(&sanitize::frame_policy(&origins)) {
                h.insert("content-security-policy", v);
            }
            h.insert(
                "x-content-type-options",
                HeaderValue::from_static("nosniff"),
            );
            h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
            h.insert(
                "cache-control",
                HeaderValue::from_static("private, max-age=3600"),
            );
            r
        }
        Err(e) => reply::service_error(&e),
    }
}

/// Deletes layouts unused for the retention period (hourly, from the
/// server's maintenance task).
pub(crate) fn prune(app: &App) {
    let before = now_ms() - app.replay.retention.as_millis() as i64;
    match app.service.prune_layouts(before) {
        Ok(0) => {}
        Ok(n) => tracing::info!("deleted {n} replay layouts past their retention"),
        Err(e) => tracing::error!("pruning replay layouts failed: {e}"),
    }
}
