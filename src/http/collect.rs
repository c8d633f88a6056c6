//! `POST /api/collect` and its CORS preflight.
//!
//! The order of checks is the order of cost: headers first (content type,
//! declared length, Origin present), then the body (size while reading, UTF-8,
//! JSON, field limits), then the site and its origins, then enrichment, and
//! only then the queue. Every refusal is a 4xx with a one-line reason and is
//! counted by reason in /metrics; a 202 is sent only after the commit.

use std::net::{IpAddr, SocketAddr};

use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_LENGTH, CONTENT_TYPE, ORIGIN, USER_AGENT, VARY};
use hyper::{HeaderMap, Request, StatusCode};

use super::body::BodyError;
use super::reply::{self, Reply};
use super::{ratelimit, App};
use crate::event::now_ms;
use crate::event::Source;
use crate::ingest::payload::{self, PayloadError};
use crate::ingest::privacy::host_of;
use crate::pipeline::{IngestBatch, SubmitError};

pub(crate) async fn collect(app: &App, req: Request<Incoming>, peer: SocketAddr) -> Reply {
    let origin = header_str(req.headers(), ORIGIN).map(str::to_string);
    let mut reply = match accept(app, req, peer, origin.as_deref()).await {
        Ok(()) => reply::empty(StatusCode::ACCEPTED),
        Err(refusal) => refusal.into_reply(app),
    };
    // Let the tracker read the answer (and Retry-After) cross-origin. A
    // refused origin gets no CORS headers.
    if let Some(o) = origin.filter(|o| app.sites.origin_known(o)) {
        allow_origin(&mut reply, &o);
    }
    reply
}

/// A refusal, with the metric label and the status.
struct Refusal {
    status: StatusCode,
    reason: &'static str,
    message: String,
    events: Option<usize>,
    /// For 429: when the client's bucket has room again.
    retry_after: Option<std::time::Duration>,
}

impl Refusal {
    fn new(status: StatusCode, reason: &'static str, message: impl Into<String>) -> Refusal {
        Refusal {
            status,
            reason,
            message: message.into(),
            events: None,
            retry_after: None,
        }
    }

    fn into_reply(self, app: &App) -> Reply {
        app.metrics.rejected(self.reason, self.events);
        match self.status {
            // Freeing space takes an operator: trackers back off longer
            // than for a full queue.
            StatusCode::SERVICE_UNAVAILABLE if self.reason == "disk_full" => {
                reply::busy(app.store_limits.disk_full_retry_after_secs, &self.message)
            }
            StatusCode::SERVICE_UNAVAILABLE => reply::busy(1, &self.message),
            StatusCode::TOO_MANY_REQUESTS => {
                ratelimit::too_many(self.retry_after.unwrap_or_default(), &self.message)
            }
            status => reply::error(status, &self.message),
        }
    }
}

impl From<PayloadError> for Refusal {
    fn from(e: PayloadError) -> Refusal {
        Refusal {
            events: e.events,
            ..Refusal::new(StatusCode::BAD_REQUEST, e.reason, e.message)
        }
    }
}

async fn accept(
    app: &App,
    req: Request<Incoming>,
    peer: SocketAddr,
    origin: Option<&str>,
) -> Result<(), Refusal> {
    let headers = req.headers();
    // First, as it is the cheapest check and the one a flood hits.
    let ip = client_ip(headers, peer, app.trust_proxy);
    if let Err(refusal) = check_rate(app, ip) {
        app.drain_body(req.into_body(), app.limits.max_body_bytes)
            .await;
        return Err(refusal);
    }
    check_content_type(headers)?;
    let limit = app.limits.max_body_bytes;
    let declared = header_str(headers, CONTENT_LENGTH).and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large(limit));
    }
    let Some(origin) = origin else {
        return Err(Refusal::new(
            StatusCode::FORBIDDEN,
            "missing_origin",
            "missing Origin header: events are accepted only from a site's registered origins",
        ));
    };
    let user_agent = header_str(headers, USER_AGENT).unwrap_or("").to_string();

    let body = app
        .read_body(req.into_body(), limit)
        .await
        .map_err(|e| match e {
            BodyError::TooLarge { .. } => too_large(limit),
            e => Refusal::new(e.status(), e.reason(), e.message()),
        })?;
    let batch = payload::parse_batch(&body, app.limits.max_events_per_batch, now_ms())?;
    let events = batch.events.len();
    let with_count = |mut r: Refusal| {
        r.events = Some(events);
        r
    };

    let Some(site) = app.sites.site(&batch.site) else {
        return Err(with_count(Refusal::new(
            StatusCode::FORBIDDEN,
            "unknown_site",
            format!(
                "unknown site {:?}: register it with `trailmap site add`",
                batch.site
            ),
        )));
    };
    if !site.origins.iter().any(|o| o == origin) {
        return Err(with_count(Refusal::new(
            StatusCode::FORBIDDEN,
            "origin_not_allowed",
            format!(
                "origin {origin:?} is not registered for site {:?}",
                site.name
            ),
        )));
    }

    let mut events = batch.events;
    // Every URL the visitor sent besides the page's own goes through the
    // one privacy policy (crate::ingest::privacy) before anything stores it.
    let policy = &site.url_policy;
    // A batch's events nearly all carry the same page URL: clean it once.
    let mut last_page: Option<CleanedPage> = None;
    for e in &mut events {
        let page = match e.detail.url.take() {
            Some(url) => match &last_page {
                Some(page) if page.raw == url => last_page.as_ref(),
                _ => {
                    let path = (!site.keep_query.is_empty())
                        .then(|| payload::page_path_keeping(&url, &site.keep_query))
                        .flatten();
                    last_page = Some(CleanedPage {
                        stored: policy.page_url(&url),
                        host: host_of(&url),
                        path,
                        raw: url,
                    });
                    last_page.as_ref()
                }
            },
            None => None,
        };
        let page_host = page.and_then(|p| p.host.as_deref());
        e.detail.referrer = e
            .detail
            .referrer
            .take()
            .and_then(|r| policy.clean(&r, page_host));
        e.detail.href = e
            .detail
            .href
            .take()
            .and_then(|h| policy.clean(&h, page_host));
        if let Some(page) = page {
            if let Some(path) = &page.path {
                e.path = Some(path.clone());
            }
            e.detail.url = Some(page.stored.clone());
        }
    }

    let first_from = (site.id, origin.to_string());
    let client = app.ua.parse(&user_agent);
    let geo = app.geo.as_ref().map(|g| g.lookup(ip)).unwrap_or_default();
    let visitor = app.hasher.visitor_ids(site.id, ip, &user_agent);
    let ingest = IngestBatch {
        site_id: site.id,
        source: Source::Tracker,
        sid: batch.sid,
        visitor,
        client,
        geo,
        encoded: IngestBatch::encode(&events),
        events,
    };
    let stored = app.submitter.submit(ingest).await.map_err(|e| {
        with_count(match e {
            SubmitError::Busy => Refusal::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "queue_full",
                "the writer queue is full; retry after the Retry-After delay",
            ),
            SubmitError::QueueBytes => Refusal::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "queue_bytes",
                "the writer queue holds its limit of event bytes; retry after the Retry-After delay",
            ),
            SubmitError::QueueWait => Refusal::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "queue_wait",
                "batches wait too long for the writer; retry after the Retry-After delay",
            ),
            SubmitError::Closed => Refusal::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "shutting_down",
                "the server is shutting down; retry shortly",
            ),
            SubmitError::DiskFull => Refusal::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "disk_full",
                "the server's disk is full; retry after the Retry-After delay",
            ),
            SubmitError::StoreBusy => Refusal::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "store_busy",
                "another writer holds the database; retry after the Retry-After delay",
            ),
            // The detail is in the server's log; the client learns only
            // that the fault is the server's.
            SubmitError::Failed(_) => Refusal::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "commit_failed",
                "the batch could not be stored (the server's log says why); retry later",
            ),
        })
    });
    if stored.is_ok() {
        note_first_event(app, first_from);
    }
    stored
}

/// Records, once per origin and process, that the collector took an
/// event from it (the install check's "first event received from"): the
/// store keeps the earliest, so a restart only repeats a no-op update.
fn note_first_event(app: &App, (site_id, origin): (i64, String)) {
    let fresh = app
        .origins_noted
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert((site_id, origin.clone()));
    if !fresh {
        return;
    }
    let store = app.store.clone();
    tokio::task::spawn_blocking(move || {
        let noted = store.admin().and_then(|conn| {
            crate::store::sites::note_first_event(&conn, site_id, &origin, now_ms())
        });
        if let Err(e) = noted {
            tracing::warn!("noting the first event from {origin} failed: {e}");
        }
    });
}

/// A page URL of a batch, cleaned once for all its events.
struct CleanedPage {
    /// As the visitor sent it.
    raw: String,
    /// As it is stored ([`crate::ingest::privacy::UrlPolicy::page_url`]).
    stored: String,
    /// Its host: the referrers and links sent from it count it as the site's.
    host: Option<String>,
    /// Its path with the site's kept query parameters, when it keeps any.
    path: Option<String>,
}

/// The client's collect rate (see [`ratelimit`]).
fn check_rate(app: &App, ip: IpAddr) -> Result<(), Refusal> {
    let Some(limiter) = &app.limiters.collect else {
        return Ok(());
    };
    limiter.check_client(ip).map_err(|wait| Refusal {
        retry_after: Some(wait),
        ..Refusal::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many batches from this address; retry after the Retry-After delay",
        )
    })
}

fn too_large(limit: usize) -> Refusal {
    Refusal::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
        format!("body larger than {limit} bytes: send fewer events per batch"),
    )
}

/// JSON, or text/plain because navigator.sendBeacon sends strings as that.
fn check_content_type(headers: &HeaderMap) -> Result<(), Refusal> {
    let ct = header_str(headers, CONTENT_TYPE).unwrap_or("");
    let mime = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if mime == "application/json" || mime == "text/plain" {
        Ok(())
    } else {
        Err(Refusal::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("content type {ct:?} not accepted: send application/json or text/plain"),
        ))
    }
}

/// The client's address: the peer, or behind a trusted proxy the first
/// address of X-Forwarded-For. Used for the visitor hash and GeoIP only;
/// never stored.
pub(super) fn client_ip(headers: &HeaderMap, peer: SocketAddr, trust_proxy: bool) -> IpAddr {
    if trust_proxy {
        // The last address is the one the trusted proxy appended (the
        // client's peer as the proxy saw it); earlier ones are whatever the
        // client sent, so trusting the first would let a client pick a new
        // rate-limit bucket and visitor id with every request.
        let forwarded = header_str(headers, "x-forwarded-for")
            .and_then(|v| v.rsplit(',').next())
            .and_then(|last| last.trim().parse::<IpAddr>().ok());
        if let Some(ip) = forwarded {
            return ip;
        }
    }
    peer.ip()
}

/// `OPTIONS /api/collect`: allowed for any registered origin.
pub(crate) fn preflight(app: &App, req: &Request<Incoming>) -> Reply {
    match header_str(req.headers(), ORIGIN) {
        Some(origin) if app.sites.origin_known(origin) => {
            let mut r = reply::empty(StatusCode::NO_CONTENT);
            allow_origin(&mut r, origin);
            let h = r.headers_mut();
            h.insert(
                "access-control-allow-methods",
                HeaderValue::from_static("POST"),
            );
            h.insert(
                "access-control-allow-headers",
                HeaderValue::from_static("content-type"),
            );
            h.insert("access-control-max-age", HeaderValue::from_static("86400"));
            r
        }
        Some(origin) => reply::error(
            StatusCode::FORBIDDEN,
            &format!("origin {origin:?} is not registered for any site"),
        ),
        None => reply::error(StatusCode::FORBIDDEN, "missing Origin header"),
    }
}

pub(super) fn allow_origin(reply: &mut Reply, origin: &str) {
    if let Ok(v) = HeaderValue::from_str(origin) {
        let h = reply.headers_mut();
        h.insert("access-control-allow-origin", v);
        h.insert(
            "access-control-expose-headers",
            HeaderValue::from_static("retry-after"),
        );
        h.append(VARY, HeaderValue::from_static("Origin"));
    }
}

pub(super) fn header_str<K: hyper::header::AsHeaderName>(
    headers: &HeaderMap,
    key: K,
) -> Option<&str> {
    headers.get(key).and_then(|v| v.to_str().ok())
}
