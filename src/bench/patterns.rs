//! `trailmap bench patterns`: sequential pattern mining over a site's
//! stored sessions, for BENCHMARKS.md. The sessions are loaded as every
//! analysis loads them; then the peak resident memory is reset, so the
//! memory figure is what mining itself adds, and the top K is mined
//! `rounds` times. The first call pays for fresh memory, later ones reuse
//! it (as a running server does): both are reported.

use std::time::Instant;

use anyhow::Result;
use serde::Serialize;

use crate::mine::patterns::{top_patterns, PatternQuery};
use crate::mine::PageSequences;
use crate::service::analysis::Analysis;
use crate::store::read::JourneyFilter;
use crate::store::Store;

#[derive(Debug, Serialize)]
pub(crate) struct PatternsReport {
    pub sessions: usize,
    pub load_seconds: f64,
    pub first_seconds: f64,
    pub median_seconds: f64,
    /// Peak resident memory added by mining, over the loaded sessions
    /// (KiB; Linux only, else null).
    pub mining_peak_kib: Option<u64>,
    /// The process's peak resident memory (KiB).
    pub process_peak_kib: Option<u64>,
    /// The patterns, as page paths, with their support.
    pub patterns: Vec<(Vec<String>, u32)>,
}

/// A field of /proc/self/status, in KiB.
fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Mines the top `top` patterns of at least `min_len` pages over `site`'s
/// sessions, repeats kept (category-level data such as MSNBC).
pub(crate) fn run(
    store: &Store,
    site: &str,
    top: usize,
    min_len: usize,
    rounds: usize,
) -> Result<PatternsReport> {
    let started = Instant::now();
    let filter = JourneyFilter {
        keep_repeats: true,
        include_bots: true,
        ..JourneyFilter::default()
    };
    let a = Analysis::load(store, &crate::engine::Engine::default(), site, &filter)?;
    let load_seconds = started.elapsed().as_secs_f64();
    let sequences = PageSequences::of(&*a.journeys);
    let seqs = sequences.slices();
    let q = PatternQuery {
        top_k: top,
        min_len,
        max_len: 10,
        min_support: 1,
    };
    // "5" resets the peak (VmHWM) to the current resident size.
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let before = status_kib("VmRSS:");
    let mut times = Vec::new();
    let mut found = Vec::new();
    for _ in 0..rounds.max(1) {
        let t = Instant::now();
        found = top_patterns(&seqs, &q);
        times.push(t.elapsed().as_secs_f64());
    }
    let peak = status_kib("VmHWM:");
    let first_seconds = times[0];
    times.sort_by(f64::total_cmp);
    Ok(PatternsReport {
        sessions: a.journeys.len(),
        load_seconds,
        first_seconds,
        median_seconds: times[times.len() / 2],
        mining_peak_kib: match (reset, before, peak) {
            (true, Some(b), Some(p)) => Some(p.saturating_sub(b)),
            _ => None,
        },
        process_peak_kib: peak,
        patterns: found
            .iter()
            .map(|p| {
                (
                    p.pages
                        .iter()
                        .map(|id| a.pages.name(*id).to_string())
                        .collect(),
                    p.support,
                )
            })
            .collect(),
    })
}
