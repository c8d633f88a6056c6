//! Smaller answers for clients that accept them: `Accept-Encoding`
//! negotiation, the embedded assets in the brotli and gzip forms made at
//! build time (`build.rs`), and gzip for the API's larger dynamic answers.
//!
//! The tracker is what every visitor of a shop downloads, so its budget is
//! counted in what travels: 3.7 KB as written, 1.8 KB in brotli. The
//! assets are compressed once at their best settings; an answer made per
//! request (JSON, CSV) is compressed at a fast level, and only above
//! [`DYNAMIC_MIN_BYTES`], where it saves more than it costs.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{
    HeaderMap, HeaderValue, ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_TYPE, VARY,
};
use hyper::{Response, StatusCode};
use std::io::Write as _;

use super::reply::Reply;

/// `(path in the repository, gzip, brotli)` of every embedded text asset.
static PRECOMPRESSED: &[(&str, &[u8], &[u8])] =
    include!(concat!(env!("OUT_DIR"), "/precompressed.rs"));

/// Dynamic answers smaller than this go as they are.
pub(crate) const DYNAMIC_MIN_BYTES: usize = 1024;

/// The gzip level of dynamic answers: fast, most of the gain of the best.
const DYNAMIC_LEVEL: u32 = 3;

/// A content coding trailmap can send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    Identity,
    Gzip,
    Brotli,
}

impl Encoding {
    /// The best coding the request accepts: brotli, then gzip, by their
    /// `q` values (a tie goes to brotli); `*` stands for codings it does
    /// not name; `q=0` refuses one.
    pub(crate) fn negotiate(headers: &HeaderMap) -> Encoding {
        let (mut br, mut gzip, mut star) = (None, None, None);
        for value in headers.get_all(ACCEPT_ENCODING) {
            let Ok(value) = value.to_str() else { continue };
            for item in value.split(',') {
                let mut parts = item.split(';');
                // Asked on every request, the collector's too: no allocation.
                let name = parts.next().unwrap_or("").trim();
                let q = || {
                    parts
                        .filter_map(|p| p.trim().strip_prefix("q=").map(str::trim))
                        .find_map(|q| q.parse::<f32>().ok())
                        .unwrap_or(1.0)
                };
                if name.eq_ignore_ascii_case("br") {
                    br = Some(q());
                } else if name.eq_ignore_ascii_case("gzip") || name.eq_ignore_ascii_case("x-gzip") {
                    gzip = Some(q());
                } else if name == "*" {
                    star = Some(q());
                }
            }
        }
        let br = br.or(star).unwrap_or(0.0);
        let gzip = gzip.or(star).unwrap_or(0.0);
        if br > 0.0 && br >= gzip {
            Encoding::Brotli
        } else if gzip > 0.0 {
            Encoding::Gzip
        } else {
            Encoding::Identity
        }
    }

    /// The `Content-Encoding` value, none for identity.
    fn header(self) -> Option<HeaderValue> {
        match self {
            Encoding::Identity => None,
            Encoding::Gzip => Some(HeaderValue::from_static("gzip")),
            Encoding::Brotli => Some(HeaderValue::from_static("br")),
        }
    }

    /// A suffix that tells the forms of one asset apart in an ETag.
    pub(crate) fn etag_suffix(self) -> &'static str {
        match self {
            Encoding::Identity => "",
            Encoding::Gzip => "-gz",
            Encoding::Brotli => "-br",
        }
    }
}

/// The embedded asset at `key` (its path in the repository, e.g.
/// `dashboards/app.css`) in the form `wanted` asks for, if it was made at
/// build time; else as it is. Returns the body and the coding it is in.
pub(crate) fn embedded(key: &str, raw: &'static [u8], wanted: Encoding) -> (Bytes, Encoding) {
    let found = PRECOMPRESSED.iter().find(|(k, _, _)| *k == key);
    match (found, wanted) {
        (Some((_, _, br)), Encoding::Brotli) => (Bytes::from_static(br), Encoding::Brotli),
        (Some((_, gz, _)), Encoding::Gzip) => (Bytes::from_static(gz), Encoding::Gzip),
        _ => (Bytes::from_static(raw), Encoding::Identity),
    }
}

/// Marks `reply` as sent in `coding`, varying by `Accept-Encoding`.
pub(crate) fn mark(reply: &mut Reply, coding: Encoding) {
    let h = reply.headers_mut();
    h.insert(VARY, HeaderValue::from_static("accept-encoding"));
    if let Some(v) = coding.header() {
        h.insert(CONTENT_ENCODING, v);
    }
}

/// Whether an answer of this type is text worth compressing.
fn compressible(content_type: Option<&HeaderValue>) -> bool {
    let Some(t) = content_type.and_then(|t| t.to_str().ok()) else {
        return false;
    };
    t.starts_with("application/json")
        || t.starts_with("text/csv")
        || t.starts_with("text/html")
        || t.starts_with("text/css")
        || t.starts_with("text/javascript")
        || t.starts_with("application/javascript")
}

/// A dynamic answer (JSON, CSV, files of `--dashboards-dir`) in gzip when
/// the client takes gzip and it is at least [`DYNAMIC_MIN_BYTES`]; an
/// answer that names its coding already, or an image, is left alone.
pub(crate) async fn compress(reply: Reply, wanted: Encoding) -> Reply {
    if reply.headers().contains_key(CONTENT_ENCODING)
        || reply.status() == StatusCode::NOT_MODIFIED
        || !compressible(reply.headers().get(CONTENT_TYPE))
    {
        return reply;
    }
    let (mut parts, body) = reply.into_parts();
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(never) => match never {},
    };
    parts
        .headers
        .insert(VARY, HeaderValue::from_static("accept-encoding"));
    if body.len() < DYNAMIC_MIN_BYTES || wanted == Encoding::Identity {
        return Response::from_parts(parts, Full::new(body));
    }
    let mut e = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 4),
        flate2::Compression::new(DYNAMIC_LEVEL),
    );
    // Writing to memory cannot fail.
    let gz = e.write_all(&body).and_then(|()| e.finish());
    match gz {
        Ok(gz) => {
            parts
                .headers
                .insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            Response::from_parts(parts, Full::new(Bytes::from(gz)))
        }
        Err(_) => Response::from_parts(parts, Full::new(body)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(v: &str) -> Encoding {
        let mut h = HeaderMap::new();
        h.insert(ACCEPT_ENCODING, HeaderValue::from_str(v).unwrap());
        Encoding::negotiate(&h)
    }

    #[test]
    fn the_best_accepted_coding_is_chosen() {
        assert_eq!(accept("gzip, deflate, br, zstd"), Encoding::Brotli);
        assert_eq!(accept("gzip"), Encoding::Gzip);
        assert_eq!(accept("br;q=0, gzip"), Encoding::Gzip);
        assert_eq!(accept("br;q=0.5, gzip;q=0.8"), Encoding::Gzip);
        assert_eq!(accept("*"), Encoding::Brotli);
        assert_eq!(accept("*;q=0"), Encoding::Identity);
        assert_eq!(accept("identity"), Encoding::Identity);
        assert_eq!(Encoding::negotiate(&HeaderMap::new()), Encoding::Identity);
    }

    #[test]
    fn the_tracker_was_compressed_at_build_time() {
        let raw = include_bytes!("../../tracker-js/dist/t.min.js");
        let (br, coding) = embedded("tracker-js/dist/t.min.js", raw, Encoding::Brotli);
        assert_eq!(coding, Encoding::Brotli);
        let mut plain = Vec::new();
        brotli::BrotliDecompress(&mut &br[..], &mut plain).unwrap();
        assert_eq!(plain, raw);
        assert!(br.len() < raw.len() / 2, "{} of {}", br.len(), raw.len());
        let (gz, coding) = embedded("tracker-js/dist/t.min.js", raw, Encoding::Gzip);
        assert_eq!(coding, Encoding::Gzip);
        assert!(gz.len() > br.len());
        let (same, coding) = embedded("no/such/file.js", raw, Encoding::Brotli);
        assert_eq!((same.len(), coding), (raw.len(), Encoding::Identity));
    }
}
