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

use super::body::BodyError;
use super::collect::{allow_origin, client_ip, header_str};
use super::ratelimit;
use super::reply::{self, Reply};
use super::App;
use crate::event::ViewportClass;
use crate::mine::clean::Cleaner;
use crate::pipeline::now_ms;
use crate::replay::{self, sanitize, sign};
use crate::service::request::{Params, QueryParams};
use crate::service::ServiceError;
use crate::store::layouts::{self, Sighting};
use crate::store::{read, sites, StoreError};

/// A blocking task that panicked: the server's fault, logged where answered.
fn task_failed(e: tokio::task::JoinError) -> ServiceError {
    ServiceError::Internal {
        context: "the layout read failed",
        source: Box::new(e),
    }
}

/// `POST /api/replay/snapshots/{hash}`.
pub(crate) async fn upload(
    app: &Arc<App>,
    hash: &str,
    req: Request<Incoming>,
    peer: SocketAddr,
) -> Reply {
    let origin = header_str(req.headers(), ORIGIN).map(str::to_string);
    let mut reply = match accept_upload(app, hash, req, peer, origin.as_deref()).await {
        Ok(r) => r,
        Err((status, reason)) => reply::error(status, &reason),
    };
    if let Some(o) = origin.filter(|o| app.sites.origin_known(o)) {
        allow_origin(&mut reply, &o);
    }
    reply
}

/// A refused upload: the status and a one-line reason.
type Refused = (StatusCode, String);

async fn accept_upload(
    app: &Arc<App>,
    hash: &str,
    req: Request<Incoming>,
    peer: SocketAddr,
    origin: Option<&str>,
) -> Result<Reply, Refused> {
    let bad = |m: &str| (StatusCode::BAD_REQUEST, m.to_string());
    if !replay::valid_hash(hash) {
        return Err(bad("the layout hash must be a SHA-256 in lowercase hex"));
    }
    let q = QueryParams::parse(req.uri().query());
    let site_name = q.get("site").ok_or_else(|| bad("site: required"))?;
    let forbidden = |m: String| (StatusCode::FORBIDDEN, m);
    let Some(site) = app.sites.site(site_name) else {
        return Err(forbidden(format!("unknown site {site_name:?}")));
    };
    let Some(origin) = origin else {
        return Err(forbidden("missing Origin header".into()));
    };
    if !site.origins.iter().any(|o| o == origin) {
        return Err(forbidden(format!(
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
        return Ok(refusal);
    }
    let given = q.get("url").ok_or_else(|| bad("url: required"))?;
    // Stored like page URLs: no query parameter the site does not keep.
    let url = crate::ingest::payload::stored_url(given, &site.keep_query);
    let path = crate::ingest::payload::page_path_keeping(&url, &site.keep_query)
        .ok_or_else(|| bad("url: must be an absolute http(s) URL"))?;
    let px = |k: &str| -> Result<u32, Refused> {
        q.get(k)
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|n| n.is_finite() && *n >= 0.0)
            .map(|n| n.min(1_000_000.0) as u32)
            .ok_or_else(|| bad(&format!("{k}: a size in pixels is required")))
    };
    let sighting = Sighting {
        path,
        viewport: ViewportClass::of_width(px("vw")?).as_str().to_string(),
        vw: px("vw")?,
        vh: px("vh")?,
        dw: px("dw")?,
        dh: px("dh")?,
    };
    let body = app
        .read_body(req.into_body(), replay::MAX_UPLOAD_BYTES)
        .await
        .map_err(|e| match e {
            BodyError::TooLarge { .. } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "the compressed layout is over 2 MiB".to_string(),
            ),
            e => (e.status(), e.message()),
        })?;
    if let Some(refusal) = check_bytes(app, ip, body.len()) {
        return Ok(refusal);
    }
    let (hash, site_id, quota) = (hash.to_string(), site.id, app.replay.quota_bytes);
    let app2 = app.clone();
    let outcome = tokio::task::spawn_blocking(move || -> Result<Reply, StoreError> {
        let now = now_ms();
        let mut slot = app2.replay_db.lock().unwrap_or_else(|e| e.into_inner());
        if slot.is_none() {
            *slot = Some(app2.store.admin()?);
        }
        let conn = slot.as_ref().expect("opened above");
        if body.is_empty() {
            if !layouts::touch(conn, site_id, &hash, now)? {
                return Ok(reply::error(
                    StatusCode::NOT_FOUND,
                    "unknown layout: upload it",
                ));
            }
            layouts::record_sighting(conn, site_id, &hash, &sighting, now)?;
            return Ok(reply::empty(StatusCode::NO_CONTENT));
        }
        if layouts::touch(conn, site_id, &hash, now)? {
            layouts::record_sighting(conn, site_id, &hash, &sighting, now)?;
            return Ok(reply::empty(StatusCode::OK));
        }
        let raw_bytes = match replay::check_upload(&body, &hash) {
            Ok(n) => n,
            Err(e @ replay::UploadError::TooLarge) => {
                return Ok(reply::error(StatusCode::PAYLOAD_TOO_LARGE, &e.to_string()))
            }
            Err(e) => return Ok(reply::error(StatusCode::BAD_REQUEST, &e.to_string())),
        };
        if !layouts::make_room(conn, site_id, body.len() as u64, quota)? {
            return Ok(reply::error(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!(
                    "the layout is larger than the site's replay quota of {} MiB",
                    quota / (1024 * 1024)
                ),
            ));
        }
        let stored = layouts::insert(conn, site_id, &hash, &url, &body, raw_bytes, now)?;
        layouts::record_sighting(conn, site_id, &hash, &sighting, now)?;
        Ok(reply::empty(if stored {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        }))
    })
    .await;
    match outcome {
        Ok(Ok(r)) => Ok(r),
        // A full disk or another writer's long commit passes: 503 (with
        // Retry-After, added in `route`), so the recorder tries again.
        Ok(Err(e)) if e.is_disk_full() || e.is_busy() => {
            tracing::warn!("storing a layout failed for now: {e}");
            Err((
                StatusCode::SERVICE_UNAVAILABLE,
                "the layout cannot be stored right now (disk full or database busy); retry later"
                    .into(),
            ))
        }
        Ok(Err(e)) => {
            tracing::error!("storing a layout failed: {e}");
            Err((
                StatusCode::INTERNAL_SERVER_ERROR,
                "the layout could not be stored".into(),
            ))
        }
        Err(e) => {
            tracing::error!("layout task failed: {e}");
            Err((
                StatusCode::INTERNAL_SERVER_ERROR,
                "the layout could not be stored".into(),
            ))
        }
    }
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
    let Some(s) = app.sites.site(site) else {
        return reply::error(StatusCode::NOT_FOUND, &format!("unknown site {site:?}"));
    };
    let q = QueryParams::parse(query);
    let hash = hash.map(str::to_string);
    let app2 = app.clone();
    let found = tokio::task::spawn_blocking(
        move || -> Result<Result<serde_json::Value, Reply>, StoreError> {
            let conn = app2.store.read()?;
            let (hash, sighting) = match hash {
                Some(h) => (h, None),
                None => {
                    let (page, class) = match (
                        q.required("page"),
                        q.choice::<ViewportClass>("viewport"),
                    ) {
                        (Ok(page), Ok(class)) => {
                            (page.to_string(), class.unwrap_or(ViewportClass::Desktop))
                        }
                        (Err(e), _) | (_, Err(e)) => return Ok(Err(reply::service_error(&e))),
                    };
                    let viewport = class.as_str();
                    // The page as the site's rules clean it: any raw path that
                    // cleans to the same page will do.
                    let cleaner =
                        Cleaner::new(&sites::page_rules(&conn, s.id)?).unwrap_or_default();
                    let target = cleaner.clean(&page);
                    let mut paths: Vec<String> = read::site_pages(&conn, s.id)?
                        .into_iter()
                        .map(|(_, p)| p)
                        .filter(|p| cleaner.clean(p) == target)
                        .collect();
                    // A layout may arrive before its page view is stored.
                    paths.push(page.clone());
                    match layouts::latest_for_pages(&conn, s.id, &paths, class.as_str())? {
                        Some((h, sighting)) => (h, Some(sighting)),
                        // Not an error: most pages have no layout until a
                        // visitor with the recorder views them.
                        None => {
                            return Ok(Err(reply::json(
                                StatusCode::OK,
                                &json!({
                                    "hash": null, "frame_url": null,
                                    "message": format!("no layout of {page:?} at {viewport} width yet"),
                                }),
                            )))
                        }
                    }
                }
            };
            let Some((layout, _)) = layouts::get(&conn, s.id, &hash)? else {
                return Ok(Err(reply::error(StatusCode::NOT_FOUND, "no such layout")));
            };
            let frame_url = sign::frame_url(&app2.token_digest, &s.name, &hash, now_ms());
            let mut v = serde_json::to_value(&layout).expect("a layout serialises");
            v["frame_url"] = json!(frame_url);
            if let Some(s) = sighting {
                v["seen"] = serde_json::to_value(s).expect("a sighting serialises");
            }
            Ok(Ok(v))
        },
    )
    .await;
    match found {
        Ok(Ok(Ok(v))) => reply::json(StatusCode::OK, &v),
        Ok(Ok(Err(r))) => r,
        Ok(Err(e)) => reply::service_error(&e.into()),
        Err(e) => reply::service_error(&task_failed(e)),
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
        return reply::error(StatusCode::NOT_FOUND, &format!("unknown site {site:?}"));
    };
    let hash = hash.to_string();
    let app2 = app.clone();
    let origins = s.origins.clone();
    let page = tokio::task::spawn_blocking(move || -> Result<Option<String>, StoreError> {
        let conn = app2.store.read()?;
        Ok(layouts::get(&conn, s.id, &hash)?.and_then(|(layout, gz)| {
            replay::inflate(&gz).map(|html| sanitize::sanitize(&html, &layout.url, &s.origins))
        }))
    })
    .await;
    match page {
        Ok(Ok(Some(html))) => {
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
        Ok(Ok(None)) => reply::error(StatusCode::NOT_FOUND, "no such layout"),
        Ok(Err(e)) => reply::service_error(&e.into()),
        Err(e) => reply::service_error(&task_failed(e)),
    }
}

/// Deletes layouts unused for the retention period (hourly, from the
/// server's maintenance task).
pub(crate) fn prune(app: &App) {
    let before = now_ms() - app.replay.retention.as_millis() as i64;
    match app.store.admin().and_then(|c| layouts::prune(&c, before)) {
        Ok(0) => {}
        Ok(n) => tracing::info!("deleted {n} replay layouts past their retention"),
        Err(e) => tracing::error!("pruning replay layouts failed: {e}"),
    }
}
