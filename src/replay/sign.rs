//! Signed, expiring frame URLs. A layout is shown in an iframe, which
//! cannot send the API's bearer token, so the dashboards ask the API (with
//! the token) for a URL that carries an HMAC of what it shows and until
//! when; the frame endpoint checks it. The key is the token's digest: only
//! this server knows it, and rotating the token revokes every URL.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::event::Millis;

/// How long a frame URL stays valid.
pub(crate) const VALIDITY_MS: Millis = 60 * 60 * 1000;

fn mac(key: &str, site: &str, hash: &str, expires: Millis) -> Hmac<Sha256> {
    let mut m = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("HMAC takes any key");
    m.update(format!("{site}\n{hash}\n{expires}").as_bytes());
    m
}

/// The signature of a frame URL, as hex.
pub(crate) fn signature(key: &str, site: &str, hash: &str, expires: Millis) -> String {
    mac(key, site, hash, expires)
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The path and query of the frame showing `hash` of `site`.
pub(crate) fn frame_url(key: &str, site: &str, hash: &str, now: Millis) -> String {
    let expires = now + VALIDITY_MS;
    format!(
        "/replay/frame/{site}/{hash}?expires={expires}&sig={}",
        signature(key, site, hash, expires)
    )
}

/// Whether a frame request is signed and not expired.
pub(crate) fn verify(
    key: &str,
    site: &str,
    hash: &str,
    expires: Millis,
    sig: &str,
    now: Millis,
) -> bool {
    if expires < now {
        return false;
    }
    let Some(bytes) = (0..sig.len())
        .step_by(2)
        .map(|i| {
            // from_str_radix would also take a sign ("+f"): only two hex
            // digits make a byte, so one signature has one spelling.
            sig.get(i..i + 2)
                .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect::<Option<Vec<u8>>>()
    else {
        return false;
    };
    // Constant-time comparison.
    mac(key, site, hash, expires).verify_slice(&bytes).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_verify_until_they_expire() {
        let sig = signature("k", "shop", "ab", 2_000);
        assert!(verify("k", "shop", "ab", 2_000, &sig, 1_000));
        assert!(!verify("k", "shop", "ab", 2_000, &sig, 2_001), "expired");
        assert!(
            !verify("other", "shop", "ab", 2_000, &sig, 1_000),
            "other key"
        );
        assert!(!verify("k", "blog", "ab", 2_000, &sig, 1_000), "other site");
        assert!(
            !verify("k", "shop", "ac", 2_000, &sig, 1_000),
            "other layout"
        );
        assert!(
            !verify("k", "shop", "ab", 3_000, &sig, 1_000),
            "later expiry"
        );
        assert!(!verify("k", "shop", "ab", 2_000, "zz", 1_000));
        assert!(!verify("k", "shop", "ab", 2_000, "", 1_000));
        // One spelling per signature: a byte `0x` written `+x` is refused,
        // and a multibyte character never splits.
        let pair = (0..sig.len())
            .step_by(2)
            .find(|&i| sig[i..].starts_with('0'))
            .expect("this signature has a byte below 0x10");
        let plus = format!("{}+{}", &sig[..pair], &sig[pair + 1..]);
        assert!(!verify("k", "shop", "ab", 2_000, &plus, 1_000), "{plus}");
        let wide = format!("é{}", &sig[2..]);
        assert!(!verify("k", "shop", "ab", 2_000, &wide, 1_000));
        let url = frame_url("k", "shop", "ab", 0);
        assert!(url.starts_with("/replay/frame/shop/ab?expires=3600000&sig="));
    }
}
