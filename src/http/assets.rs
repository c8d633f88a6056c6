//! Assets the binary embeds and serves: the tracker script, the error
//! capture and the replay recorder.
//!
//! The tracker is built by tracker-js (`npm run build`) into
//! tracker-js/dist/t.min.js, which is committed, so building the server never
//! needs Node. Shops paste `/t.js` once and never change the tag, so it is
//! cached for an hour and revalidated by ETag; `/t/{version}.js` names one
//! build and is cached for a year.

use hyper::body::Incoming;
use hyper::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use hyper::{Request, StatusCode};
use sha2::{Digest, Sha256};

use super::encoding::{self, Encoding};
use super::reply::{self, Reply};

/// The committed tracker build.
const TRACKER_JS: &[u8] = include_bytes!("../../tracker-js/dist/t.min.js");

/// The committed build of the replay recorder, which the tracker loads
/// from `/t/replay.js` when its tag has `data-replay`.
const REPLAY_JS: &[u8] = include_bytes!("../../tracker-js/dist/replay.min.js");

/// The committed build of the error capture, which the tracker loads from
/// `/t/errors.js` when its tag has `data-errors`.
const ERRORS_JS: &[u8] = include_bytes!("../../tracker-js/dist/errors.min.js");

pub(crate) struct Tracker {
    /// Where the build lives in the repository: its key among the assets
    /// compressed at build time.
    key: &'static str,
    body: &'static [u8],
    /// First 16 hex digits of the build's SHA-256: the versioned file name.
    version: String,
}

impl Tracker {
    pub(crate) fn embedded() -> Tracker {
        Tracker::new("tracker-js/dist/t.min.js", TRACKER_JS)
    }

    /// The replay recorder, served the same way.
    pub(crate) fn embedded_recorder() -> Tracker {
        Tracker::new("tracker-js/dist/replay.min.js", REPLAY_JS)
    }

    /// The error capture, served the same way.
    pub(crate) fn embedded_error_capture() -> Tracker {
        Tracker::new("tracker-js/dist/errors.min.js", ERRORS_JS)
    }

    pub(crate) fn new(key: &'static str, js: &'static [u8]) -> Tracker {
        let digest = Sha256::digest(js);
        let version: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        Tracker {
            key,
            body: js,
            version,
        }
    }

    /// `GET /t.js`, or `GET /t/{file}` with `file` from the path. An unknown
    /// version (a tag pinned to an older build) still gets the current
    /// script, with the short cache, rather than breaking the shop's tracking.
    pub(crate) fn serve(
        &self,
        req: &Request<Incoming>,
        versioned: Option<&str>,
        wanted: Encoding,
    ) -> Reply {
        let pinned =
            versioned.is_some_and(|f| f.strip_suffix(".js") == Some(self.version.as_str()));
        let cache = if pinned {
            "public, max-age=31536000, immutable"
        } else {
            "public, max-age=3600"
        };
        // The smallest form the browser accepts, each form its own ETag
        // (a cache must not answer a gzip request with brotli bytes).
        let (body, coding) = encoding::embedded(self.key, self.body, wanted);
        let etag = HeaderValue::from_str(&format!("\"{}{}\"", self.version, coding.etag_suffix()))
            .expect("hex is a valid header");
        let not_modified = req
            .headers()
            .get(IF_NONE_MATCH)
            .is_some_and(|v| v.as_bytes() == etag.as_bytes());
        let mut r = if not_modified {
            reply::empty(StatusCode::NOT_MODIFIED)
        } else {
            reply::text(
                StatusCode::OK,
                "application/javascript; charset=utf-8",
                body,
            )
        };
        encoding::mark(&mut r, coding);
        if not_modified {
            r.headers_mut().remove(hyper::header::CONTENT_ENCODING);
        }
        let h = r.headers_mut();
        h.insert(CACHE_CONTROL, HeaderValue::from_static(cache));
        h.insert(ETAG, etag);
        // Shops that isolate their pages (COEP) may still load it.
        h.insert(
            "cross-origin-resource-policy",
            HeaderValue::from_static("cross-origin"),
        );
        if not_modified {
            h.remove(CONTENT_TYPE);
        }
        r
    }
}
