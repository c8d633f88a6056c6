//! Session search: a tantivy index of sessions beside the SQLite store.
//!
//! The store answers "give me the sessions of this site" well, but not
//! "sessions that saw /checkout, came from Google and did not reach
//! /thank-you, newest first" over millions of rows: that needs an inverted
//! index. This module owns that index. It is derived data: everything in it
//! can be rebuilt from the store, so it favours simple recovery (wipe and
//! reindex) over migrations.
//!
//! * [`schema`] decides what is indexed and how (fields, tokenizers, the
//!   [`SessionDoc`] → tantivy document mapping).
//! * [`syntax`] prepares the user's query text for tantivy's grammar
//!   (path values with `/`, lowercase operators, readable syntax errors).
//! * [`values`] parses typed values: durations, counts, dates, booleans.
//! * [`query`] turns tantivy's parsed AST into a query with our field
//!   semantics (exact vs word page matches, referrer domains, ranges).
//! * [`topk`] finds a sorted page of hits without reading the sort key of
//!   every hit (windows on start or duration).
//! * [`index`] is [`SearchIndex`]: open/recreate, the single writer, commits
//!   with the store's watermark, and sorted, paginated search.

mod index;
pub(crate) mod indexer;
mod query;
mod schema;
mod syntax;
mod topk;
mod values;

#[cfg(all(test, feature = "dev"))]
mod bench;
#[cfg(test)]
mod synthetic;
#[cfg(test)]
mod tests;

pub(crate) use index::SearchIndex;
pub(crate) use query::SearchFilters;

/// One session as the index sees it: what a user can filter on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SessionDoc {
    pub session_id: i64,
    pub site_id: i64,
    /// Milliseconds since the epoch.
    pub start_ms: i64,
    pub duration_s: u64,
    pub page_count: u32,
    /// Every page path visited, in order, e.g. "/checkout", "/product/42".
    pub pages: Vec<String>,
    pub entry_page: Option<String>,
    pub exit_page: Option<String>,
    /// Full referrer URL.
    pub referrer: Option<String>,
    /// E.g. "www.google.com" or "google.com"; a leading "www." is ignored.
    pub referrer_domain: Option<String>,
    /// "direct" | "organic_search" | "paid" | "social" | "email" | "referral".
    pub channel: String,
    pub utm_source: Option<String>,
    pub utm_medium: Option<String>,
    pub utm_campaign: Option<String>,
    /// ISO 3166-1 alpha-2, e.g. "SE".
    pub country: Option<String>,
    pub city: Option<String>,
    pub browser: String,
    pub os: String,
    /// "desktop" | "mobile" | "tablet" | "bot" | "other".
    pub device: String,
    pub rage: bool,
    pub dead: bool,
    pub error: bool,
    /// Had a JavaScript error (the tag's error capture).
    pub jserror: bool,
    /// Reached a goal (a page or an event).
    pub converted: bool,
    /// The names of its custom events.
    pub events: Vec<String>,
    /// Its events' properties as `key=value`.
    pub props: Vec<String>,
    /// "tracker" | "log".
    pub source: String,
}

/// Result order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sort {
    /// Latest start first.
    Newest,
    /// Longest duration first; equal durations newest first.
    Longest,
}

/// One page of hits and the number of all hits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SearchResults {
    /// Every matching session of the site, not just this page.
    pub total: usize,
    /// The page's sessions, in the requested order.
    pub session_ids: Vec<i64>,
}

/// What can go wrong, split by who is at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchError {
    /// The query text is wrong; the message is one line for the user (a 400).
    Query(String),
    /// The index failed: I/O, corruption, a lock held elsewhere (a 500).
    Index(String),
}

impl std::fmt::Display for SearchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SearchError::Query(m) => write!(f, "invalid search query: {m}"),
            SearchError::Index(m) => write!(f, "search index error: {m}"),
        }
    }
}

impl std::error::Error for SearchError {}

impl From<tantivy::TantivyError> for SearchError {
    fn from(e: tantivy::TantivyError) -> Self {
        SearchError::Index(e.to_string())
    }
}
