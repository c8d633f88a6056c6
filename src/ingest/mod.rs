//! Turning untrusted input into validated, enriched events.
//!
//! Everything a visitor or a log file sends passes through here before it
//! reaches the pipeline: the wire format and its limits ([`payload`]), the
//! access-log line formats ([`accesslog`]), the
//! enrichment shared by every source ([`enrich`]), the visitor identity
//! and session-cutting rule ([`sessionize`]), and the one privacy policy for
//! visitors' URLs and text ([`privacy`]).

pub mod accesslog;
pub(crate) mod enrich;
pub mod payload;
pub mod privacy;
pub(crate) mod sessionize;
