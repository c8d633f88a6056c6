//! What was answered 202 is on disk: across SIGKILL under load, SIGTERM, a
//! full queue, and a restart in the middle of a session.

mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;

/// A running load: threads posting batches of 25 uniquely numbered custom
/// events until `stop` is set or the server goes away.
struct Load {
    stop: Arc<AtomicBool>,
    handles: Vec<std::thread::JoinHandle<()>>,
    /// The numbers of every event whose batch was answered 202.
    acked: Arc<Mutex<Vec<u64>>>,
    /// Every status seen.
    statuses: Arc<Mutex<Vec<u16>>>,
}

impl Load {
    fn start(s: &Server, threads: u64) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let acked = Arc::new(Mutex::new(Vec::new()));
        let statuses = Arc::new(Mutex::new(Vec::new()));
        let handles = (0..threads)
            .map(|t| {
                let url = s.url("/api/collect");
                let (stop, acked, statuses) = (stop.clone(), acked.clone(), statuses.clone());
                std::thread::spawn(move || post_until_stopped(&url, t, &stop, &acked, &statuses))
            })
            .collect();
        Load {
            stop,
            handles,
            acked,
            statuses,
        }
    }

    fn acked_count(&self) -> usize {
        self.acked.lock().unwrap().len()
    }

    fn saw(&self, status: u16) -> bool {
        self.statuses.lock().unwrap().contains(&status)
    }

    /// Stops the threads; returns (acknowledged numbers, statuses).
    fn finish(self) -> (Vec<u64>, Vec<u16>) {
        self.stop.store(true, Ordering::Relaxed);
        for h in self.handles {
            h.join().unwrap();
        }
        let acked = self.acked.lock().unwrap().clone();
        let statuses = self.statuses.lock().unwrap().clone();
        (acked, statuses)
    }
}

fn post_until_stopped(
    url: &str,
    thread: u64,
    stop: &AtomicBool,
    acked: &Mutex<Vec<u64>>,
    statuses: &Mutex<Vec<u16>>,
) {
    let agent = agent();
    let mut i = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let base = thread * 1_000_000_000 + i * 25;
        let ts = now_ms();
        let events: Vec<String> = (0..25).map(|j| custom(ts, "load", base + j)).collect();
        let body = batch(&format!("load{thread}x{}", i % 7), &events);
        let r = agent
            .post(url)
            .set("Content-Type", "application/json")
            .set("Origin", ORIGIN)
            .send_string(&body);
        let status = match r {
            Ok(r) => r.status(),
            Err(ureq::Error::Status(code, _)) => code,
            Err(_) => break, // the server is gone
        };
        statuses.lock().unwrap().push(status);
        if status == 202 {
            acked.lock().unwrap().extend(base..base + 25);
        }
        i += 1;
    }
}

fn stored_numbers(db: &std::path::Path) -> HashSet<u64> {
    let conn = open_db(db);
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    let mut stmt = conn
        .prepare(
            "SELECT json_extract(e.value, '$.props.n') FROM event_chunks c, json_each(c.events) e
             WHERE json_extract(e.value, '$.type') = 'custom'",
        )
        .unwrap();
    let rows = stmt.query_map([], |r| r.get::<_, i64>(0)).unwrap();
    rows.map(|n| n.unwrap() as u64).collect()
}

#[test]
fn sigkill_under_load_loses_no_acknowledged_event() {
    let mut s = Server::start(&[]);
    let load = Load::start(&s, 8);
    // Kill once a good amount is acknowledged, mid-stream.
    let started = Instant::now();
    while load.acked_count() < 20_000 && started.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(20));
    }
    s.child.kill().unwrap(); // SIGKILL
    s.child.wait().unwrap();
    let (acked, _) = load.finish();
    assert!(
        acked.len() >= 20_000,
        "load too small to prove anything: {}",
        acked.len()
    );
    let stored = stored_numbers(&s.db);
    let lost: Vec<&u64> = acked.iter().filter(|n| !stored.contains(n)).collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged events lost, e.g. {:?}",
        lost.len(),
        &lost[..lost.len().min(5)]
    );
    // The database opens cleanly for the server too, and serves.
    let again = Server::start_on(&s.db, &["--token", TOKEN]);
    let list = again.get_json("/api/sites/shop/sessions?limit=1000");
    assert!(!list["sessions"].as_array().unwrap().is_empty());
}

#[test]
fn sigterm_commits_what_was_accepted_and_exits_zero() {
    let mut s = Server::start(&[]);
    let load = Load::start(&s, 4);
    while load.acked_count() < 2_000 {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(s.terminate(), Some(0), "graceful shutdown exits 0");
    let (acked, _) = load.finish();
    let stored = stored_numbers(&s.db);
    assert!(acked.iter().all(|n| stored.contains(n)));
}

#[test]
fn a_full_queue_answers_503_with_retry_after_and_drops_nothing() {
    // A one-batch queue: concurrent posts must overflow it.
    let s = Server::start(&["--queue-capacity", "1"]);
    let load = Load::start(&s, 16);
    let started = Instant::now();
    while !load.saw(503) && started.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(10));
    }
    let (acked, statuses) = load.finish();
    assert!(
        statuses.contains(&503),
        "no 503 seen in {} requests",
        statuses.len()
    );
    assert!(
        statuses.iter().all(|c| *c == 202 || *c == 503),
        "only 202 or 503"
    );
    let metrics = s.get("/metrics").body;
    assert!(metrics.contains("trailmap_batches_rejected_total{reason=\"queue_full\"}"));
    let stored = stored_numbers(&s.db);
    assert_eq!(
        stored.len(),
        acked.len(),
        "exactly the acknowledged events are stored"
    );
    assert!(acked.iter().all(|n| stored.contains(n)));
}

#[test]
fn busy_reply_carries_retry_after() {
    let s = Server::start(&["--queue-capacity", "1"]);
    let load = Load::start(&s, 12);
    let agent = agent();
    let mut seen = None;
    for _ in 0..2000 {
        let body = batch("probe", &[custom(now_ms(), "probe", 1)]);
        let r = agent
            .post(&s.url("/api/collect"))
            .set("Content-Type", "application/json")
            .set("Origin", ORIGIN)
            .send_string(&body);
        if let Err(ureq::Error::Status(503, r)) = r {
            seen = Some((
                r.header("retry-after").map(str::to_string),
                r.header("access-control-expose-headers")
                    .map(str::to_string),
                r.into_string().unwrap(),
            ));
            break;
        }
    }
    load.finish();
    let (retry, expose, body) = seen.expect("a 503 under a one-batch queue");
    assert_eq!(retry.as_deref(), Some("1"));
    assert_eq!(expose.as_deref(), Some("retry-after"));
    assert!(body.contains("queue is full"));
}

#[test]
fn a_session_continues_across_a_restart() {
    let mut s = Server::start(&[]);
    let t = now_ms() - 60_000;
    assert_eq!(
        s.collect(&batch("tab", &[pageview(t, "/a", "")])).status,
        202
    );
    assert_eq!(s.terminate(), Some(0));
    let again = Server::start_on(&s.db, &["--token", TOKEN]);
    assert_eq!(
        again
            .collect(&batch("tab", &[pageview(t + 1000, "/b", "")]))
            .status,
        202
    );
    let list = again.get_json("/api/sites/shop/sessions");
    let sessions = list["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    assert_eq!(sessions[0]["page_count"], 2);
    assert_eq!(sessions[0]["exit_page"], "/b");
}
