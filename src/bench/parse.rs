//! `trailmap bench parse`: access-log parsing alone, for BENCHMARKS.md. The
//! file is read into memory first, so the figure is the parser's, not the
//! disk's.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::ingest::accesslog::LogFormat;

/// What one run measured.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct ParseReport {
    pub lines: u64,
    pub parsed: u64,
    pub bytes: u64,
    pub seconds: f64,
    pub lines_per_sec: f64,
}

/// Parses every line of `path` with `format`, `rounds` times; reports the
/// fastest round (the least disturbed by the machine's other work).
pub(crate) fn run(
    path: &std::path::Path,
    format: &LogFormat,
    rounds: usize,
) -> Result<ParseReport> {
    let data = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut best = Duration::MAX;
    let (mut lines, mut parsed) = (0, 0);
    for _ in 0..rounds.max(1) {
        let started = Instant::now();
        (lines, parsed) = (0, 0);
        for line in data.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            lines += 1;
            parsed += u64::from(format.parse_line(line).is_ok());
        }
        best = best.min(started.elapsed());
    }
    let seconds = best.as_secs_f64();
    Ok(ParseReport {
        lines,
        parsed,
        bytes: data.len() as u64,
        seconds,
        lines_per_sec: lines as f64 / seconds.max(1e-9),
    })
}
