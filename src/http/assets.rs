//! Assets the binary embeds and serves: the tracker script and the replay
//! recorder.
//!
//! The tracker is built by tracker-js (`npm run build`) into
//! tracker-js/dist/t.min.js, which is committed, so building the server never
//! needs Node. Shops paste `/t.js` once and never change the tag, so it is
//! cached for an hour and revalidated by ETag; `/t/{version}.js` names one
//! build and is cached for a year.

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use hyper::{Request, StatusCode};
use sha2::{Digest, Sha256};

use super::reply::{self, Reply};

/// The committed tracker build.
const TRACKER_JS: &[u8] = include_bytes!("../../tracker-js/dist/t.min.js");

/// The committed build of the replay recorder, which the tracker loads
/// from `/t/replay.js` when its tag has `data-replay`.
const REPLAY_JS: &[u8] = include_bytes!("../../tracker-js/dist/replay.min.js");

pub(crate) struct Tracker {
    body: Bytes,
    /// First 16 hex digits of the build's SHA-256: the versioned file name.
    version: String,
    etag: HeaderValue,
}

impl Tracker {
    pub(crate) fn embedded() -> Tracker {
        Tracker::new(TRACKER_JS)
    }

    /// The replay recorder, served the same way.
    pub(crate) fn embedded_recorder() -> Tracker {
        Tracker::new(REPLAY_JS)
    }

    pub(crate) fn new(js: &'static [u8]) -> Tracker {
        let digest = Sha256::digest(js);
        let version: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        let etag = HeaderValue::from_str(&format!("\"{version}\"")).expect("hex is a valid header");
        Tracker {
            body: Bytes::from_static(js),
            version,
            etag,
        }
    }

    /// `GET /t.js`, or `GET /t/{file}` with `file` from the path. An unknown
    /// version (a tag pinned to an older build) still gets the current
    /// script, with the short cache, rather than breaking the shop's tracking.
    pub(crate) fn serve(&self, req: &Request<Incoming>, versioned: Option<&str>) -> Reply {
        let pinned =
            versioned.is_some_and(|f| f.strip_suffix(".js") == Some(self.version.as_str()));
        let cache = if pinned {
            "public, max-age=31536000, immutable"
        } else {
            "public, max-age=3600"
        };
        let not_modified = req
            .headers()
            .get(IF_NONE_MATCH)
            .is_some_and(|v| v.as_bytes() == self.etag.as_bytes());
        let mut r = if not_modified {
            reply::empty(StatusCode::NOT_MODIFIED)
        } else {
            reply::text(
                StatusCode::OK,
                "application/javascript; charset=utf-8",
                self.body.clone(),
            )
        };
        let h = r.headers_mut();
        h.insert(CACHE_CONTROL, HeaderValue::from_static(cache));
        h.insert(ETAG, self.etag.clone());
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
