//! The one privacy policy for what visitors send: every URL (page URLs
//! through [`UrlPolicy::page_url`]; session and event referrers and clicked
//! links' `href`s through [`UrlPolicy::clean`]; from the collector and from
//! imported access logs alike) and every piece of free text
//! (titles, link texts, custom events' string properties) passes through
//! here before it is stored, so that nothing else in the code has to
//! remember which parts of a URL or a title are safe.
//!
//! URLs:
//! - external (another host than the site's registered origins and the
//!   page's own): scheme, host and path only; no user info, query or
//!   fragment (`https://mail.example.com/reset?email=...&token=...` becomes
//!   `https://mail.example.com/reset`), and emails and long digit runs in
//!   the path masked. Other schemes keep only their name (`mailto:`), or
//!   scheme and host when they have one (`android-app://com.google.android.gm`).
//! - same-site (and relative): the page URL rule of
//!   [`crate::ingest::payload::stored_url`]: only the site's kept query
//!   parameters, utm tags and redacted paid click ids, no fragment, emails
//!   in the path masked.
//!
//! Text: emails and runs of 6 or more digits (single spaces or dashes
//! allowed between them: card, phone, account and order numbers) become
//! stars, one per character: the rule of the replay recorder in the browser
//! (tracker-js/src/replay.js `scrub`), so a title reads the same in a
//! replay and in a report.
//!
//! Paths of the site's own pages keep their digit runs: product and order
//! ids are how shops name pages, and masking them would merge different
//! pages. Emails in paths are masked everywhere.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::{Captures, Regex};
use url::Url;

use crate::ingest::payload::{limits, stored_url, truncate};

/// tracker-js/src/replay.js `scrub`, with JavaScript's ASCII `\w` and `\d`
/// spelled out (Rust's are Unicode).
static SECRETS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[A-Za-z0-9_.%+-]+@[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)+|[0-9](?:[ -]?[0-9]){5,}")
        .expect("a valid regex")
});

/// Emails in URLs, where the `@` may be percent-encoded.
static URL_EMAILS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[A-Za-z0-9_.%+-]+(?:@|%40)[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)+")
        .expect("a valid regex")
});

/// Runs of 6 or more digits in URL paths (no spaces there; dashes allowed).
static URL_DIGITS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[0-9](?:-?[0-9]){5,}").expect("a valid regex"));

fn stars(found: &Captures<'_>) -> String {
    found[0]
        .chars()
        .map(|c| if c.is_whitespace() { c } else { '*' })
        .collect()
}

/// `text` with emails and runs of 6+ digits replaced by stars.
pub fn mask_text(text: &str) -> Cow<'_, str> {
    // Nearly every title has nothing to mask: a search is cheaper than the
    // captures `replace_all` sets up for its closure.
    if !SECRETS.is_match(text) {
        return Cow::Borrowed(text);
    }
    SECRETS.replace_all(text, stars)
}

/// A page path with its emails masked (digit runs kept: see the module doc).
pub fn mask_path_emails(path: &str) -> Cow<'_, str> {
    // Nearly every path has no email: skip the regex (import's hot loop).
    if !path.contains('@') && !path.contains("%40") {
        return Cow::Borrowed(path);
    }
    URL_EMAILS.replace_all(path, stars)
}

/// Another site's path: emails and digit runs masked.
fn mask_external_path(path: &str) -> String {
    let path = URL_EMAILS.replace_all(path, stars);
    URL_DIGITS.replace_all(&path, stars).into_owned()
}

/// Stand-in origin that makes relative URLs parseable.
const RELATIVE_BASE: &str = "http://relative.invalid";

/// The URL rule for one site.
#[derive(Debug, Clone)]
pub struct UrlPolicy {
    /// The hosts of the site's registered origins, lowercase.
    site_hosts: Vec<String>,
    /// The query parameters the site keeps.
    keep: Vec<String>,
}

impl UrlPolicy {
    /// `origins` are the site's registered origins (`scheme://host[:port]`),
    /// `keep` the query parameters the site keeps.
    pub fn new(origins: &[String], keep: &[String]) -> UrlPolicy {
        let site_hosts = origins
            .iter()
            .filter_map(|o| Url::parse(o).ok()?.host_str().map(str::to_ascii_lowercase))
            .collect();
        UrlPolicy {
            site_hosts,
            keep: keep.to_vec(),
        }
    }

    /// A page URL (the page the visitor is on) as it may be stored: the
    /// page URL rule of [`stored_url`].
    pub fn page_url(&self, url: &str) -> String {
        stored_url(url, &self.keep)
    }

    /// Any other URL the visitor sent (a referrer, a link's `href`) as it
    /// may be stored, or `None` when nothing of it is worth keeping (empty,
    /// or only a query or fragment). `page_host` is the host of the page it
    /// was sent from, when known ([`host_of`] its URL once per page, not
    /// once per URL sent from it): it counts as the site's.
    pub fn clean(&self, url: &str, page_host: Option<&str>) -> Option<String> {
        let url = url.trim();
        if url.is_empty() {
            return None;
        }
        let cleaned = match Url::parse(url) {
            Ok(parsed) => self.absolute(parsed, page_host),
            Err(url::ParseError::RelativeUrlWithoutBase) if url.starts_with("//") => {
                // Protocol-relative: another host as often as not.
                match Url::parse(&format!("https:{url}")) {
                    Ok(parsed) => self.absolute(parsed, page_host),
                    Err(_) => cut_query(url),
                }
            }
            Err(url::ParseError::RelativeUrlWithoutBase) => relative(url, &self.keep),
            Err(_) => cut_query(url),
        };
        (!cleaned.is_empty()).then(|| truncate(&cleaned, limits::URL))
    }

    fn is_site_host(&self, host: &str, page_host: Option<&str>) -> bool {
        // Hosts of http(s) URLs come lowercase from the parser.
        self.site_hosts.iter().any(|h| h.eq_ignore_ascii_case(host))
            || page_host.is_some_and(|p| p.eq_ignore_ascii_case(host))
    }

    fn absolute(&self, mut url: Url, page_host: Option<&str>) -> String {
        // user:password@ is never kept.
        let _ = url.set_username("");
        let _ = url.set_password(None);
        let web = matches!(url.scheme(), "http" | "https");
        let site_host = url
            .host_str()
            .map(|host| web && self.is_site_host(host, page_host));
        match site_host {
            Some(true) => stored_url(url.as_str(), &self.keep),
            Some(false) => {
                url.set_query(None);
                url.set_fragment(None);
                let path = mask_external_path(url.path());
                url.set_path(&path);
                url.into()
            }
            // mailto:, tel:, javascript:, data: ...: the scheme says what
            // kind of link it was; the rest is the visitor's or the page's.
            None => format!("{}:", url.scheme()),
        }
    }
}

/// The host of a URL, lowercase, when it has one: what [`UrlPolicy::clean`]
/// takes as the page's host.
pub fn host_of(url: &str) -> Option<String> {
    Url::parse(url)
        .ok()?
        .host_str()
        .map(str::to_ascii_lowercase)
}

/// A relative URL (a link's `/cart?x=1`): the same-site rule, kept relative.
fn relative(url: &str, keep: &[String]) -> String {
    // Nearly every link is a plain path, which the rule keeps as it is
    // (the same test as `stored_url`'s own shortcut).
    if !url.contains(['?', '#', '@']) && !url.contains("%40") {
        return url.to_string();
    }
    let base = if url.starts_with('/') {
        RELATIVE_BASE.to_string()
    } else {
        format!("{RELATIVE_BASE}/")
    };
    let kept = stored_url(&format!("{base}{url}"), keep);
    kept.strip_prefix(&base).unwrap_or(&kept).to_string()
}

/// What cannot be parsed: only what comes before a query or fragment,
/// masked like another site's path.
fn cut_query(url: &str) -> String {
    let end = url.find(['?', '#']).unwrap_or(url.len());
    mask_external_path(&url[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(keep: &[String]) -> UrlPolicy {
        UrlPolicy::new(&["https://shop.example".to_string()], keep)
    }

    #[test]
    fn text_masking_follows_the_recorder() {
        assert_eq!(
            mask_text("Order for jane.doe+x@mail.example.com: 4111 1111-1111 1111, ref 12345"),
            "Order for ***************************: **** ********* ****, ref 12345"
        );
        assert_eq!(mask_text("call 06 12 34 56 78"), "call ** ** ** ** **");
        assert_eq!(mask_text("größe 42, 1é2"), "größe 42, 1é2");
        assert_eq!(mask_text("a@b"), "a@b", "not an email without a dot");
    }

    #[test]
    fn external_urls_keep_scheme_host_and_path() {
        let p = policy(&[]);
        assert_eq!(
            p.clean(
                "https://user:pw@mail.example.com/reset/a@b.com/12345678?email=a@b.com&token=s3cr3t#x",
                None
            )
            .unwrap(),
            "https://mail.example.com/reset/*******/********"
        );
        assert_eq!(
            p.clean("https://www.google.com/search?q=x", None).unwrap(),
            "https://www.google.com/search"
        );
        assert_eq!(
            p.clean("mailto:jane@example.com?subject=1", None).unwrap(),
            "mailto:"
        );
        assert_eq!(
            p.clean("android-app://com.google.android.gm/", None)
                .unwrap(),
            "android-app://com.google.android.gm/"
        );
        assert_eq!(
            p.clean("//cdn.other.example/x?token=1", None).unwrap(),
            "https://cdn.other.example/x"
        );
        assert_eq!(p.clean("  ", None), None);
        assert_eq!(
            p.clean("http://[bad/x?token=1", None).unwrap(),
            "http://[bad/x"
        );
    }

    #[test]
    fn same_site_urls_follow_the_kept_parameters() {
        let keep = vec!["q".to_string()];
        let p = policy(&keep);
        assert_eq!(
            p.clean(
                "https://SHOP.example/search?q=red&token=1&utm_source=n&gclid=zz#t",
                None
            )
            .unwrap(),
            "https://shop.example/search?q=red&utm_source=n&gclid=redacted"
        );
        assert_eq!(
            p.clean(
                "https://m.shop.example/a?token=1",
                host_of("https://m.shop.example/").as_deref()
            )
            .unwrap(),
            "https://m.shop.example/a",
            "the page's own host is the site's"
        );
        assert_eq!(
            p.clean("/account/jane@example.com/orders?q=1&token=2#f", None)
                .unwrap(),
            "/account/****************/orders?q=1"
        );
        assert_eq!(p.clean("cart?token=2", None).unwrap(), "cart");
        assert_eq!(p.clean("?token=2#x", None), None);
        assert_eq!(
            p.clean("/order/1234567", None).unwrap(),
            "/order/1234567",
            "the site's own ids stay"
        );
    }
}
