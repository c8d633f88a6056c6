//! Building responses: JSON, plain text and one-line errors, each with the
//! headers every answer carries.

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER};
use hyper::{Response, StatusCode};
use serde::Serialize;

pub(crate) type Reply = Response<Full<Bytes>>;

fn base(status: StatusCode, content_type: &'static str, body: Bytes) -> Reply {
    let mut r = Response::new(Full::new(body));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

pub(crate) fn json<T: Serialize>(status: StatusCode, value: &T) -> Reply {
    match serde_json::to_vec(value) {
        Ok(body) => base(status, "application/json", body.into()),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("cannot encode reply: {e}"),
        ),
    }
}

pub(crate) fn text(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> Reply {
    base(status, content_type, body.into())
}

pub(crate) fn empty(status: StatusCode) -> Reply {
    base(status, "text/plain; charset=utf-8", Bytes::new())
}

/// An error with a one-line reason, as JSON: `{"error": "..."}`.
pub(crate) fn error(status: StatusCode, reason: &str) -> Reply {
    let one_line = reason.replace(['\n', '\r'], " ");
    json(status, &serde_json::json!({ "error": one_line }))
}

/// 503 with Retry-After, for a full queue or a server shutting down.
pub(crate) fn busy(retry_after_secs: u32, reason: &str) -> Reply {
    let mut r = error(StatusCode::SERVICE_UNAVAILABLE, reason);
    r.headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from(retry_after_secs));
    r
}

/// The one answer for a service error: its status, its one-line public
/// reason, and for the server's own faults (5xx) one line in the log with
/// the cause, which the client never sees.
pub(crate) fn service_error(e: &crate::service::ServiceError) -> Reply {
    use crate::service::ServiceError as E;
    match e {
        E::NotFound(m) => error(StatusCode::NOT_FOUND, m),
        E::Invalid(m) => error(StatusCode::BAD_REQUEST, m),
        E::TooLarge(m) => error(StatusCode::PAYLOAD_TOO_LARGE, m),
        E::Conflict(m) => error(StatusCode::CONFLICT, m),
        E::Unauthorized(m) => error(StatusCode::UNAUTHORIZED, m),
        E::Forbidden(m) => error(StatusCode::FORBIDDEN, m),
        E::Gone(m) => error(StatusCode::GONE, m),
        E::Stopped(why) => busy(5, &why.to_string()),
        E::Unavailable(m) => error(StatusCode::SERVICE_UNAVAILABLE, m),
        E::Internal { .. } => {
            tracing::error!("{e}");
            error(StatusCode::INTERNAL_SERVER_ERROR, &e.public_message())
        }
    }
}

/// A table report as CSV.
pub(crate) fn csv(body: String) -> Reply {
    let mut r = text(StatusCode::OK, "text/csv; charset=utf-8", body);
    r.headers_mut().insert(
        hyper::header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment"),
    );
    r
}
