//! Session replay's server side. The recorder (tracker-js/src/replay.js,
//! loaded only when the tag has `data-replay`) masks the page in the
//! browser, hashes it and uploads each distinct layout once per site; this
//! module checks what arrives and makes stored layouts safe to show.
//!
//! A layout is visitor-controlled HTML, so it is shown only through
//! [`frame`]: a response of its own (never the dashboard's document), with
//! scripts, event handlers, active elements and URLs outside the site's
//! registered origins removed here, and a Content-Security-Policy that
//! sandboxes it (opaque origin, no script) and lets it load images, styles
//! and fonts only from the site's origins. The dashboards put it in an
//! `<iframe sandbox>` on top of that. Frame URLs are signed and expire, so
//! the iframe needs no token.

pub mod content;
pub mod sanitize;
pub(crate) mod sign;

use std::io::Read;

use sha2::{Digest, Sha256};

/// Largest compressed upload.
pub const MAX_UPLOAD_BYTES: usize = 2 * 1024 * 1024;
/// Largest layout once decompressed.
pub const MAX_LAYOUT_BYTES: usize = 16 * 1024 * 1024;

/// Why an uploaded layout was refused: the client's mistake, one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UploadError {
    NotGzip,
    TooLarge,
    NotUtf8,
    HashMismatch,
}

impl std::fmt::Display for UploadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            UploadError::NotGzip => "the body is not gzip",
            UploadError::TooLarge => "the layout is over 16 MiB once decompressed",
            UploadError::NotUtf8 => "the layout is not UTF-8 text",
            UploadError::HashMismatch => "the layout's SHA-256 is not the hash in the URL",
        })
    }
}

/// Whether `hash` looks like a SHA-256 in lowercase hex.
pub fn valid_hash(hash: &str) -> bool {
    hash.len() == 64
        && hash
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Checks an upload: gzip that decompresses within the limit to UTF-8
/// whose SHA-256 is `hash` (so nobody can store other content under a
/// layout's name). Returns the decompressed HTML.
pub fn check_upload(gz: &[u8], hash: &str) -> Result<String, UploadError> {
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(gz)
        .take(MAX_LAYOUT_BYTES as u64 + 1)
        .read_to_end(&mut raw)
        .map_err(|_| UploadError::NotGzip)?;
    if raw.len() > MAX_LAYOUT_BYTES {
        return Err(UploadError::TooLarge);
    }
    let html = String::from_utf8(raw).map_err(|_| UploadError::NotUtf8)?;
    let digest = Sha256::digest(html.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    if hex != hash {
        return Err(UploadError::HashMismatch);
    }
    Ok(html)
}

/// Decompresses a stored layout (checked when it was stored).
pub fn inflate(gz: &[u8]) -> Option<String> {
    let mut raw = String::new();
    flate2::read::GzDecoder::new(gz)
        .take(MAX_LAYOUT_BYTES as u64)
        .read_to_string(&mut raw)
        .ok()?;
    Some(raw)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(s: &str) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(s.as_bytes()).unwrap();
        e.finish().unwrap()
    }

    fn sha(s: &str) -> String {
        Sha256::digest(s.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    #[test]
    fn uploads_must_be_the_gzip_of_their_hash() {
        let html = "<!DOCTYPE html><html><body>hi</body></html>";
        assert_eq!(check_upload(&gzip(html), &sha(html)), Ok(html.to_string()));
        assert_eq!(
            check_upload(&gzip(html), &sha("other")),
            Err(UploadError::HashMismatch)
        );
        assert_eq!(
            check_upload(html.as_bytes(), &sha(html)),
            Err(UploadError::NotGzip)
        );
        assert!(valid_hash(&sha(html)));
        assert!(!valid_hash("ABC") && !valid_hash(&sha(html).to_uppercase()));
        assert_eq!(inflate(&gzip(html)).as_deref(), Some(html));
    }

    #[test]
    fn a_gzip_bomb_stops_at_the_limit() {
        let big = "a".repeat(MAX_LAYOUT_BYTES + 10);
        let gz = gzip(&big);
        assert!(gz.len() < MAX_UPLOAD_BYTES);
        assert_eq!(check_upload(&gz, &sha(&big)), Err(UploadError::TooLarge));
    }
}
