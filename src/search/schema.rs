//! What the index stores and how values are normalised.
//!
//! One place decides the tantivy schema, the tokenizers and the mapping from
//! [`SessionDoc`] to a tantivy document, so indexing and querying cannot
//! drift apart: the query side uses the same field handles and the same
//! normalisation helpers ([`exact`], [`domain`]).
//!
//! Nothing is STORED: a hit is turned into a session id through the
//! `session_id` fast field, and everything else lives in the SQLite store.
//! That keeps the index small and avoids the doc store's decompression on
//! the hot path.

use tantivy::schema::{
    Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::tokenizer::{
    LowerCaser, RawTokenizer, RemoveLongFilter, SimpleTokenizer, TextAnalyzer, TokenizerManager,
};
use tantivy::TantivyDocument;

use super::SessionDoc;

/// Bump whenever indexing changes in a way the schema does not show
/// (tokenizer behaviour, normalisation): `open` then rebuilds the index.
pub(crate) const INDEX_VERSION: u32 = 4;

/// Whole value, lowercased: exact matches (`page:/checkout`, `country:se`).
pub(crate) const EXACT_TOKENIZER: &str = "trailmap_exact";
/// Alphanumeric words, lowercased: word matches inside paths and URLs.
pub(crate) const WORDS_TOKENIZER: &str = "trailmap_words";

/// Longest exact value indexed, in bytes; longer ones are skipped (tantivy
/// refuses terms above 64 KiB, and nobody searches for such a path).
const MAX_EXACT_LEN: usize = 2048;
/// Longest word indexed, in bytes (tantivy's own default).
const MAX_WORD_LEN: usize = 40;

/// Field handles, resolved once from the schema.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fields {
    pub session_id: Field,
    pub site_id: Field,
    pub start_ms: Field,
    pub duration_s: Field,
    pub page_count: Field,
    pub page: Field,
    pub page_words: Field,
    pub entry: Field,
    pub entry_words: Field,
    pub exit: Field,
    pub exit_words: Field,
    pub referrer_domain: Field,
    pub referrer_words: Field,
    pub channel: Field,
    pub utm_source: Field,
    pub utm_medium: Field,
    pub utm_campaign: Field,
    pub country: Field,
    pub city: Field,
    pub browser: Field,
    pub os: Field,
    pub device: Field,
    pub source: Field,
    pub rage: Field,
    pub dead: Field,
    pub error: Field,
    pub jserror: Field,
    pub converted: Field,
    pub event: Field,
    pub prop: Field,
}

/// Column names the collectors read by name.
pub(crate) const SESSION_ID: &str = "session_id";
pub(crate) const START_MS: &str = "start_ms";
pub(crate) const DURATION_S: &str = "duration_s";

/// The schema, and its field handles.
pub(crate) fn build() -> (Schema, Fields) {
    let mut b = Schema::builder();
    // Numbers: fast columns only, except where a term lookup is needed.
    // Range queries on fast fields scan the column, which for 1M docs is
    // cheaper than a term dictionary with a term per millisecond.
    let fast = NumericOptions::default().set_fast();
    let indexed = NumericOptions::default().set_indexed();
    let session_id = b.add_i64_field(SESSION_ID, indexed.clone().set_fast()); // delete_term + hit → id
    let site_id = b.add_i64_field("site_id", indexed.clone());
    let start_ms = b.add_i64_field(START_MS, fast.clone());
    // Also indexed: `topk` takes its Longest windows from the postings,
    // as durations are random in document order (few distinct values).
    let duration_s = b.add_u64_field(DURATION_S, indexed.clone().set_fast());
    let page_count = b.add_u64_field("page_count", fast);

    // No scoring ever happens (results are sorted by fast fields), so exact
    // values need neither frequencies nor positions. Word fields keep
    // positions for quoted phrases ("thank you") and multi-word values.
    let exact = text(EXACT_TOKENIZER, IndexRecordOption::Basic);
    let words = text(WORDS_TOKENIZER, IndexRecordOption::WithFreqsAndPositions);
    let page = b.add_text_field("page", exact.clone());
    let page_words = b.add_text_field("page_words", words.clone());
    let entry = b.add_text_field("entry", exact.clone());
    let entry_words = b.add_text_field("entry_words", words.clone());
    let exit = b.add_text_field("exit", exact.clone());
    let exit_words = b.add_text_field("exit_words", words.clone());
    let referrer_domain = b.add_text_field("referrer_domain", exact.clone());
    let referrer_words = b.add_text_field("referrer_words", words);
    let channel = b.add_text_field("channel", exact.clone());
    let utm_source = b.add_text_field("utm_source", exact.clone());
    let utm_medium = b.add_text_field("utm_medium", exact.clone());
    let utm_campaign = b.add_text_field("utm_campaign", exact.clone());
    let country = b.add_text_field("country", exact.clone());
    let city = b.add_text_field("city", exact.clone());
    let browser = b.add_text_field("browser", exact.clone());
    let os = b.add_text_field("os", exact.clone());
    let device = b.add_text_field("device", exact.clone());
    let source = b.add_text_field("source", exact.clone());
    let event = b.add_text_field("event", exact.clone());
    let prop = b.add_text_field("prop", exact);

    let flag = NumericOptions::default().set_indexed();
    let rage = b.add_bool_field("rage", flag.clone());
    let dead = b.add_bool_field("dead", flag.clone());
    let error = b.add_bool_field("error", flag.clone());
    let jserror = b.add_bool_field("jserror", flag.clone());
    let converted = b.add_bool_field("converted", flag);

    let fields = Fields {
        session_id,
        site_id,
        start_ms,
        duration_s,
        page_count,
        page,
        page_words,
        entry,
        entry_words,
        exit,
        exit_words,
        referrer_domain,
        referrer_words,
        channel,
        utm_source,
        utm_medium,
        utm_campaign,
        country,
        city,
        browser,
        os,
        device,
        source,
        rage,
        dead,
        error,
        jserror,
        converted,
        event,
        prop,
    };
    (b.build(), fields)
}

fn text(tokenizer: &str, record: IndexRecordOption) -> TextOptions {
    // Field norms only feed BM25, which we never use: 1 byte/doc/field saved.
    TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(tokenizer)
            .set_index_option(record)
            .set_fieldnorms(false),
    )
}

/// Registers our tokenizers; needed on every opened `Index`, as tantivy
/// stores only their names.
pub(crate) fn register_tokenizers(manager: &TokenizerManager) {
    manager.register(
        EXACT_TOKENIZER,
        TextAnalyzer::builder(RawTokenizer::default())
            .filter(RemoveLongFilter::limit(MAX_EXACT_LEN))
            .filter(LowerCaser)
            .build(),
    );
    manager.register(WORDS_TOKENIZER, words_analyzer());
}

/// The word analyzer, also used to cut query values into words.
pub(crate) fn words_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_WORD_LEN))
        .filter(LowerCaser)
        .build()
}

/// An exact value as indexed: lowercased (what [`EXACT_TOKENIZER`] does).
pub(crate) fn exact(value: &str) -> String {
    value.to_lowercase()
}

/// A page path as indexed and queried exactly: lowercased, trailing
/// slashes dropped (but the root's), so `page:/gifts` finds `/gifts/` as
/// the reports, which merge the two ([`crate::mine::clean`]), name it.
pub(crate) fn path(value: &str) -> String {
    let trimmed = value.trim_end_matches('/');
    if trimmed.is_empty() && value.starts_with('/') {
        "/".into()
    } else {
        trimmed.to_lowercase()
    }
}

/// A referrer domain as indexed and queried: lowercased, without a leading
/// "www." or a trailing dot, so `google.com` finds `www.google.com`.
pub(crate) fn domain(value: &str) -> String {
    let lower = value.trim().trim_end_matches('.').to_lowercase();
    match lower.strip_prefix("www.") {
        Some(rest) if !rest.is_empty() => rest.to_string(),
        _ => lower,
    }
}

/// A domain and its parent domains down to two labels:
/// `news.ycombinator.com` → itself and `ycombinator.com`, so
/// `referrer:google.com` also finds `mail.google.com`.
fn domain_suffixes(domain: &str) -> impl Iterator<Item = &str> {
    let dots = domain.matches('.').count();
    std::iter::once(domain).chain(
        domain
            .match_indices('.')
            .take(dots.saturating_sub(1))
            .map(move |(i, _)| &domain[i + 1..]),
    )
}

/// The tantivy document for a session.
pub(crate) fn to_document(f: &Fields, d: &SessionDoc) -> TantivyDocument {
    let mut doc = TantivyDocument::default();
    doc.add_i64(f.session_id, d.session_id);
    doc.add_i64(f.site_id, d.site_id);
    doc.add_i64(f.start_ms, d.start_ms);
    doc.add_u64(f.duration_s, d.duration_s);
    doc.add_u64(f.page_count, u64::from(d.page_count));

    // A page visited five times matches like one visited once: index each
    // distinct path once (first-visit order), which keeps long sessions
    // that bounce between two pages cheap.
    let mut seen: Vec<&str> = Vec::with_capacity(d.pages.len());
    for p in &d.pages {
        if !seen.contains(&p.as_str()) {
            seen.push(p);
            doc.add_text(f.page, path(p));
            doc.add_text(f.page_words, p);
        }
    }
    if let Some(p) = &d.entry_page {
        doc.add_text(f.entry, path(p));
        doc.add_text(f.entry_words, p);
    }
    if let Some(p) = &d.exit_page {
        doc.add_text(f.exit, path(p));
        doc.add_text(f.exit_words, p);
    }
    if let Some(r) = &d.referrer {
        doc.add_text(f.referrer_words, r);
    }
    if let Some(r) = &d.referrer_domain {
        for suffix in domain_suffixes(&domain(r)) {
            doc.add_text(f.referrer_domain, suffix);
        }
    }
    doc.add_text(f.channel, &d.channel);
    let optional = [
        (f.utm_source, &d.utm_source),
        (f.utm_medium, &d.utm_medium),
        (f.utm_campaign, &d.utm_campaign),
        (f.country, &d.country),
        (f.city, &d.city),
    ];
    for (field, value) in optional {
        if let Some(v) = value {
            doc.add_text(field, v);
        }
    }
    doc.add_text(f.browser, &d.browser);
    doc.add_text(f.os, &d.os);
    doc.add_text(f.device, &d.device);
    doc.add_text(f.source, &d.source);
    doc.add_bool(f.rage, d.rage);
    doc.add_bool(f.dead, d.dead);
    doc.add_bool(f.error, d.error);
    doc.add_bool(f.jserror, d.jserror);
    doc.add_bool(f.converted, d.converted);
    for e in &d.events {
        doc.add_text(f.event, e);
    }
    for p in &d.props {
        doc.add_text(f.prop, p);
    }
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_match_with_or_without_a_trailing_slash() {
        assert_eq!(path("/Gifts/"), "/gifts");
        assert_eq!(path("/gifts"), "/gifts");
        assert_eq!(path("/a//"), "/a");
        assert_eq!(path("/"), "/");
        assert_eq!(path("//"), "/");
    }

    #[test]
    fn domain_ignores_www_case_and_trailing_dot() {
        assert_eq!(domain("WWW.Google.com."), "google.com");
        assert_eq!(domain("google.com"), "google.com");
        assert_eq!(domain("www."), "www");
        assert_eq!(domain("wwwx.com"), "wwwx.com");
    }

    #[test]
    fn domain_suffixes_stop_at_two_labels() {
        let all = |d| domain_suffixes(d).collect::<Vec<_>>();
        assert_eq!(
            all("news.ycombinator.com"),
            ["news.ycombinator.com", "ycombinator.com"]
        );
        assert_eq!(all("google.com"), ["google.com"]);
        assert_eq!(all("localhost"), ["localhost"]);
        assert_eq!(all("a.b.co.uk"), ["a.b.co.uk", "b.co.uk", "co.uk"]);
    }
}
