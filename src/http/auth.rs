//! Bearer-token authentication for the read API. The server holds only the
//! token's SHA-256; requests are hashed and compared in constant time.

use hyper::header::AUTHORIZATION;
use hyper::HeaderMap;

use crate::store::secrets::token_digest;

/// True when the request carries `Authorization: Bearer <token>` for the
/// token whose digest is `expected_digest`.
pub(crate) fn authorized(headers: &HeaderMap, expected_digest: &str) -> bool {
    let Some(value) = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let Some(token) = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
    else {
        return false;
    };
    constant_time_eq(
        token_digest(token.trim()).as_bytes(),
        expected_digest.as_bytes(),
    )
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    #[test]
    fn only_the_right_bearer_token_passes() {
        let digest = token_digest("s3cret-token-value");
        let mut h = HeaderMap::new();
        assert!(!authorized(&h, &digest));
        h.insert(
            AUTHORIZATION,
            HeaderValue::from_static("Bearer s3cret-token-value"),
        );
        assert!(authorized(&h, &digest));
        h.insert(AUTHORIZATION, HeaderValue::from_static("Bearer wrong"));
        assert!(!authorized(&h, &digest));
        h.insert(
            AUTHORIZATION,
            HeaderValue::from_static("Basic s3cret-token-value"),
        );
        assert!(!authorized(&h, &digest));
    }
}
