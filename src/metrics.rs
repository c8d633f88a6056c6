//! Counters that the collector, the pipeline and the connection guard bump,
//! rendered as Prometheus text at `GET /metrics` (token on the main listener,
//! open on `--metrics-listen`). Hand-rolled on atomics because the set
//! is small and fixed; a metrics framework would cost more than it gives.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds of the commit-latency histogram buckets, in seconds.
const COMMIT_BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

#[derive(Debug, Default)]
pub(crate) struct Metrics {
    requests: Mutex<BTreeMap<(&'static str, u16), u64>>,
    batches_rejected: Mutex<BTreeMap<&'static str, u64>>,
    events_rejected: Mutex<BTreeMap<&'static str, u64>>,
    /// Analyses stopped before they finished, by reason.
    analyses_stopped: Mutex<BTreeMap<&'static str, u64>>,
    pub events_accepted: AtomicU64,
    pub batches_committed: AtomicU64,
    pub commits: AtomicU64,
    pub commit_failures: AtomicU64,
    commit_buckets: [AtomicU64; COMMIT_BUCKETS.len()],
    commit_seconds_sum_us: AtomicU64,
    /// Batches waiting for the writer.
    pub queue_depth: AtomicI64,
    /// Sessions the pipeline holds open.
    pub open_sessions: AtomicI64,
    /// Sessions closed to make room under the open-session cap.
    pub sessions_closed: AtomicU64,
    /// The last commit failed for lack of disk space (cleared by the next
    /// one that succeeds, or by /healthz finding room again).
    pub disk_full: AtomicBool,
    /// Client connections open now.
    pub connections_open: AtomicI64,
    /// Connections the server closed on its own, by reason.
    connections_closed: Mutex<BTreeMap<&'static str, u64>>,
    /// Connections answered 503 at once: the cap was full of requests in flight.
    pub connections_refused: AtomicU64,
    /// Request body bytes held by unfinished requests (the body budget's use).
    pub body_bytes_held: AtomicI64,
    /// Request bodies not read, by reason (any route).
    bodies_refused: Mutex<BTreeMap<&'static str, u64>>,
}

fn bump<K: Ord>(map: &Mutex<BTreeMap<K, u64>>, key: K, by: u64) {
    *map.lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(key)
        .or_default() += by;
}

impl Metrics {
    pub(crate) fn request(&self, route: &'static str, status: u16) {
        bump(&self.requests, (route, status), 1);
    }

    /// A rejected collect request; `events` is how many events it held, when
    /// the body parsed far enough to know.
    pub(crate) fn rejected(&self, reason: &'static str, events: Option<usize>) {
        bump(&self.batches_rejected, reason, 1);
        if let Some(n) = events {
            bump(&self.events_rejected, reason, n as u64);
        }
    }

    /// An analysis stopped at its deadline or because its client went away.
    pub(crate) fn analysis_stopped(&self, reason: &'static str) {
        bump(&self.analyses_stopped, reason, 1);
    }

    /// The server closed a connection: a timeout, or evicted at the cap.
    pub(crate) fn connection_closed(&self, reason: &'static str) {
        bump(&self.connections_closed, reason, 1);
    }

    /// A request body was not read (too large, too slow, budget spent).
    pub(crate) fn body_refused(&self, reason: &'static str) {
        bump(&self.bodies_refused, reason, 1);
    }

    pub(crate) fn commit(&self, took: Duration, batches: usize, ok: bool) {
        self.commits.fetch_add(1, Relaxed);
        if ok {
            self.batches_committed.fetch_add(batches as u64, Relaxed);
        } else {
            self.commit_failures.fetch_add(1, Relaxed);
        }
        let secs = took.as_secs_f64();
        if let Some(i) = COMMIT_BUCKETS.iter().position(|b| secs <= *b) {
            self.commit_buckets[i].fetch_add(1, Relaxed);
        }
        self.commit_seconds_sum_us
            .fetch_add(took.as_micros() as u64, Relaxed);
    }

    /// The Prometheus text exposition.
    pub(crate) fn render(&self) -> String {
        let mut out = String::with_capacity(2048);
        let w = &mut out;
        header(
            w,
            "trailmap_http_requests_total",
            "counter",
            "HTTP requests by route and status.",
        );
        for ((route, status), n) in self
            .requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            let _ = writeln!(
                w,
                "trailmap_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}"
            );
        }
        header(
            w,
            "trailmap_events_accepted_total",
            "counter",
            "Events committed and answered 202.",
        );
        let _ = writeln!(
            w,
            "trailmap_events_accepted_total {}",
            self.events_accepted.load(Relaxed)
        );
        header(
            w,
            "trailmap_batches_rejected_total",
            "counter",
            "Collect requests refused, by reason.",
        );
        for (reason, n) in self
            .batches_rejected
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            let _ = writeln!(
                w,
                "trailmap_batches_rejected_total{{reason=\"{reason}\"}} {n}"
            );
        }
        header(
            w,
            "trailmap_events_rejected_total",
            "counter",
            "Events in refused requests, by reason, where countable.",
        );
        for (reason, n) in self
            .events_rejected
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            let _ = writeln!(
                w,
                "trailmap_events_rejected_total{{reason=\"{reason}\"}} {n}"
            );
        }
        header(
            w,
            "trailmap_analyses_stopped_total",
            "counter",
            "Reports stopped before they finished: deadline or client_gone.",
        );
        for (reason, n) in self
            .analyses_stopped
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            let _ = writeln!(
                w,
                "trailmap_analyses_stopped_total{{reason=\"{reason}\"}} {n}"
            );
        }
        header(
            w,
            "trailmap_commits_total",
            "counter",
            "Group commits attempted.",
        );
        let _ = writeln!(w, "trailmap_commits_total {}", self.commits.load(Relaxed));
        header(
            w,
            "trailmap_commit_failures_total",
            "counter",
            "Group commits that failed.",
        );
        let _ = writeln!(
            w,
            "trailmap_commit_failures_total {}",
            self.commit_failures.load(Relaxed)
        );
        header(
            w,
            "trailmap_batches_committed_total",
            "counter",
            "Batches made durable.",
        );
        let _ = writeln!(
            w,
            "trailmap_batches_committed_total {}",
            self.batches_committed.load(Relaxed)
        );
        header(
            w,
            "trailmap_commit_seconds",
            "histogram",
            "Latency of one group commit.",
        );
        let mut cumulative = 0;
        for (bound, count) in COMMIT_BUCKETS.iter().zip(&self.commit_buckets) {
            cumulative += count.load(Relaxed);
            let _ = writeln!(
                w,
                "trailmap_commit_seconds_bucket{{le=\"{bound}\"}} {cumulative}"
            );
        }
        let total = self.commits.load(Relaxed);
        let _ = writeln!(w, "trailmap_commit_seconds_bucket{{le=\"+Inf\"}} {total}");
        let sum = self.commit_seconds_sum_us.load(Relaxed) as f64 / 1e6;
        let _ = writeln!(w, "trailmap_commit_seconds_sum {sum}");
        let _ = writeln!(w, "trailmap_commit_seconds_count {total}");
        header(
            w,
            "trailmap_queue_depth",
            "gauge",
            "Batches waiting for the writer.",
        );
        let _ = writeln!(w, "trailmap_queue_depth {}", self.queue_depth.load(Relaxed));
        header(
            w,
            "trailmap_open_sessions",
            "gauge",
            "Sessions held open by the pipeline.",
        );
        let _ = writeln!(
            w,
            "trailmap_open_sessions {}",
            self.open_sessions.load(Relaxed)
        );
        header(
            w,
            "trailmap_sessions_closed_to_make_room_total",
            "counter",
            "Sessions closed (already stored) because the open-session cap was reached.",
        );
        let _ = writeln!(
            w,
            "trailmap_sessions_closed_to_make_room_total {}",
            self.sessions_closed.load(Relaxed)
        );
        header(
            w,
            "trailmap_disk_full",
            "gauge",
            "1 while writes fail for lack of disk space.",
        );
        let _ = writeln!(
            w,
            "trailmap_disk_full {}",
            u8::from(self.disk_full.load(Relaxed))
        );
        header(
            w,
            "trailmap_connections_open",
            "gauge",
            "Client connections open.",
        );
        let _ = writeln!(
            w,
            "trailmap_connections_open {}",
            self.connections_open.load(Relaxed)
        );
        header(
            w,
            "trailmap_connections_closed_total",
            "counter",
            "Connections the server closed: header/idle timeouts, evictions at the connection cap.",
        );
        for (reason, n) in self
            .connections_closed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            let _ = writeln!(
                w,
                "trailmap_connections_closed_total{{reason=\"{reason}\"}} {n}"
            );
        }
        header(
            w,
            "trailmap_connections_refused_total",
            "counter",
            "Connections answered 503 at once because the cap was full of requests in flight.",
        );
        let _ = writeln!(
            w,
            "trailmap_connections_refused_total {}",
            self.connections_refused.load(Relaxed)
        );
        header(
            w,
            "trailmap_body_bytes_held",
            "gauge",
            "Request body bytes held by unfinished requests (drawn from the body budget).",
        );
        let _ = writeln!(
            w,
            "trailmap_body_bytes_held {}",
            self.body_bytes_held.load(Relaxed)
        );
        header(
            w,
            "trailmap_bodies_refused_total",
            "counter",
            "Request bodies not read, by reason.",
        );
        for (reason, n) in self
            .bodies_refused
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            let _ = writeln!(
                w,
                "trailmap_bodies_refused_total{{reason=\"{reason}\"}} {n}"
            );
        }
        out
    }
}

fn header(w: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(w, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_a_cumulative_histogram() {
        let m = Metrics::default();
        m.request("collect", 202);
        m.request("collect", 202);
        m.rejected("malformed_json", None);
        m.rejected("too_many_events", Some(300));
        m.commit(Duration::from_micros(800), 3, true);
        m.commit(Duration::from_millis(30), 1, true);
        let text = m.render();
        assert!(text.contains("trailmap_http_requests_total{route=\"collect\",status=\"202\"} 2"));
        assert!(text.contains("trailmap_batches_rejected_total{reason=\"malformed_json\"} 1"));
        assert!(text.contains("trailmap_events_rejected_total{reason=\"too_many_events\"} 300"));
        assert!(text.contains("trailmap_commit_seconds_bucket{le=\"0.001\"} 1"));
        assert!(text.contains("trailmap_commit_seconds_bucket{le=\"0.05\"} 2"));
        assert!(text.contains("trailmap_commit_seconds_count 2"));
        assert!(text.contains("trailmap_batches_committed_total 4"));
    }
}
