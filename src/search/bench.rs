//! The search benchmark: a million synthetic sessions, then a mixed query
//! load, reporting indexing time, index size and latency percentiles.
//!
//! It is an ignored test rather than a criterion bench so it needs no
//! extra dependency and runs against the real [`SearchIndex`]. A developer
//! tool, compiled only with the `dev` feature:
//!
//! ```text
//! cargo test --release --features dev --lib -- --ignored --nocapture search::bench
//! ```
//!
//! `TRAILMAP_SEARCH_BENCH_SESSIONS` overrides the session count. The data
//! comes from [`super::synthetic`] (deterministic, shaped like a shop's).

use std::path::Path;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::synthetic::Generator;
use super::{SearchIndex, Sort};

const BATCH: usize = 10_000;
const COMMIT_EVERY: usize = 100_000;
const ROUNDS: usize = 15;

/// The mixed load: field terms, negations, ranges, booleans, free text.
const QUERIES: &[&str] = &[
    "",
    "page:/checkout",
    "page:/checkout AND referrer:google.com AND -page:/thank-you",
    "rage:true AND country:SE",
    "duration:>60",
    "device:mobile OR device:tablet",
    "-page:/thank-you",
    "pages:>=3",
    "start:>=2026-12-01",
    "duration:[10 TO 60] AND channel:organic_search",
    "checkout",
    "product",
    "page:/product/* AND converted:true",
    "entry:/ AND exit:/cart",
    "utm_campaign:black_friday",
    "referrer:facebook.com OR referrer:instagram.com",
    "country:SE AND device:mobile AND NOT converted:true",
    "error:true OR dead:true",
    "source:log AND duration:>300",
    "page:thank-you AND start:[2026-11-01 TO 2026-11-30]",
];

#[test]
#[ignore = "benchmark: a million sessions, minutes; run with --ignored --nocapture"]
fn bench_search() {
    let n: usize = std::env::var("TRAILMAP_SEARCH_BENCH_SESSIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    // A kept directory (TRAILMAP_SEARCH_BENCH_DIR) skips indexing when it
    // already holds the n sessions: for iterating on the query side.
    let temp = TempDir::new().expect("temp dir");
    let dir = std::env::var_os("TRAILMAP_SEARCH_BENCH_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| temp.path().to_path_buf());
    let index = SearchIndex::open(&dir).expect("open");
    if index.num_docs() != n as u64 {
        index.clear().expect("clear");
        build(&index, n, &dir);
    }
    // Warm the page cache and the column readers once.
    for q in QUERIES {
        for sort in [Sort::Newest, Sort::Longest] {
            index.search(1, q, sort, 0, 50).expect("warm-up");
        }
    }
    let mut all = Vec::new();
    println!(
        "{:<62} {:>9} {:>9} {:>9}",
        "query (site 1, limit 50)", "hits", "newest", "longest"
    );
    for q in QUERIES {
        let mut per_sort = Vec::new();
        let mut total = 0;
        for sort in [Sort::Newest, Sort::Longest] {
            let mut times = Vec::with_capacity(ROUNDS);
            for _ in 0..ROUNDS {
                let t = Instant::now();
                let r = index.search(1, q, sort, 0, 50).expect("search");
                times.push(t.elapsed());
                total = r.total;
            }
            times.sort();
            per_sort.push(times[times.len() / 2]);
            all.extend(times);
        }
        println!(
            "{:<62} {:>9} {:>7.2}ms {:>7.2}ms",
            format!("{q:?}"),
            total,
            ms(per_sort[0]),
            ms(per_sort[1])
        );
    }
    all.sort();
    let pct = |p: f64| all[((all.len() - 1) as f64 * p).round() as usize];
    println!(
        "{} searches: p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        all.len(),
        ms(pct(0.50)),
        ms(pct(0.90)),
        ms(pct(0.99)),
        ms(pct(1.0)),
    );
}

fn build(index: &SearchIndex, n: usize, dir: &Path) {
    let mut gen = Generator::new(0x0072_6169_6c6d_6170);
    let t = Instant::now();
    let mut batch = Vec::with_capacity(BATCH);
    for id in 0..n {
        batch.push(gen.session(id as i64, n));
        if batch.len() == BATCH {
            index.upsert(&batch).expect("upsert");
            batch.clear();
        }
        if (id + 1) % COMMIT_EVERY == 0 {
            index.commit(id as i64).expect("commit");
        }
    }
    index.upsert(&batch).expect("upsert");
    index.commit(n as i64).expect("commit");
    let index_time = t.elapsed();
    println!(
        "indexed {n} sessions in {:.1} s ({:.0} sessions/s), {} segments, {:.1} MiB on disk ({:.0} bytes/session)",
        index_time.as_secs_f64(),
        n as f64 / index_time.as_secs_f64(),
        index.num_segments(),
        dir_size(dir) as f64 / (1 << 20) as f64,
        dir_size(dir) as f64 / n as f64,
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| e.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}
