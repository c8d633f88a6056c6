//! Why a search found nothing, when the query says enough to tell: a
//! `page:`, `entry:` or `exit:` term is an exact match on a path, and the
//! most common empty result is a path typed as a section (`/checkout`)
//! where the shop's pages live under it (`/checkout/address.html`). The
//! hint names the term that matched no page and the prefix query that
//! would, checked against the site's own pages.

use regex::Regex;
use std::sync::OnceLock;

/// At most this many page terms of one query are looked at.
const MAX_TERMS: usize = 8;

/// One line per exact page term of `query` that names no page of the
/// site (`pages`: its paths as stored), saying what would match instead.
pub(crate) fn page_hints<'a>(
    query: &str,
    pages: impl Iterator<Item = &'a str> + Clone,
) -> Vec<String> {
    static TERM: OnceLock<Regex> = OnceLock::new();
    let term = TERM.get_or_init(|| {
        Regex::new(r#"(?i)(?:^|[\s(+-])(page|entry|exit):"?(/[^\s"()]*)"?"#).expect("a valid regex")
    });
    let mut hints = Vec::new();
    for c in term.captures_iter(query).take(MAX_TERMS) {
        let (field, value) = (c[1].to_ascii_lowercase(), &c[2]);
        if value.ends_with('*') {
            continue;
        }
        let wanted = value.to_ascii_lowercase();
        let lower = |p: &str| p.to_ascii_lowercase();
        if pages.clone().any(|p| lower(p) == wanted) {
            continue;
        }
        let section = format!("{}/", wanted.trim_end_matches('/'));
        let under: Vec<&str> = pages
            .clone()
            .filter(|p| lower(p).starts_with(&section))
            .collect();
        let starting: Vec<&str> = pages
            .clone()
            .filter(|p| lower(p).starts_with(&wanted))
            .collect();
        let (suggest, matched) = if !under.is_empty() {
            (format!("{field}:{section}*"), under)
        } else if !starting.is_empty() {
            (format!("{field}:{wanted}*"), starting)
        } else {
            hints.push(format!(
                "{field}:{value} matches no page of this site, and no page starts with {value}"
            ));
            continue;
        };
        let mut examples: Vec<&str> = matched.clone();
        examples.sort_unstable();
        examples.truncate(2);
        hints.push(format!(
            "{field}:{value} matches no page exactly (a page term is a whole path); {suggest} matches {} page{} such as {}",
            matched.len(),
            if matched.len() == 1 { "" } else { "s" },
            examples.join(", ")
        ));
    }
    hints
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGES: &[&str] = &[
        "/",
        "/checkout/address.html",
        "/checkout/shipping.html",
        "/thank-you.html",
        "/cart.html",
    ];

    fn hints(q: &str) -> Vec<String> {
        page_hints(q, PAGES.iter().copied())
    }

    #[test]
    fn a_section_typed_as_a_page_gets_its_prefix() {
        let h = hints("page:/checkout AND -page:/thank-you");
        assert_eq!(h.len(), 2, "{h:?}");
        assert!(h[0].contains("page:/checkout/* matches 2 pages such as /checkout/address.html, /checkout/shipping.html"), "{h:?}");
        assert!(
            h[1].contains("page:/thank-you* matches 1 page such as /thank-you.html"),
            "{h:?}"
        );
    }

    #[test]
    fn pages_that_exist_and_prefixes_get_no_hint() {
        assert!(hints("page:/cart.html AND entry:/ AND exit:/Thank-You.html").is_empty());
        assert!(hints("page:/checkout/* OR page:checkout").is_empty());
    }

    #[test]
    fn a_path_nothing_starts_with_says_so() {
        let h = hints(r#"(exit:"/nowhere")"#);
        assert_eq!(
            h,
            ["exit:/nowhere matches no page of this site, and no page starts with /nowhere"]
        );
    }
}
