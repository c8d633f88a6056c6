//! The collector under load and abuse, through the real binary: the
//! open-session cap under a random-sid flood (nothing lost, evicted visitors
//! continue), the queue's byte and wait bounds (503 + Retry-After), the
//! per-client rate limit (429 + Retry-After for one address, 202 for the
//! next), and replay's quota and upload limits against junk uploads.

mod common;

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use common::*;
use sha2::{Digest, Sha256};

/// POST /api/collect as a client at `xff` (honoured with --trust-proxy true).
fn collect_as(s: &Server, agent: &ureq::Agent, xff: &str, body: &str) -> Resp {
    let r = agent
        .post(&s.url("/api/collect"))
        .set("Content-Type", "application/json")
        .set("Origin", ORIGIN)
        .set("User-Agent", CHROME)
        .set("X-Forwarded-For", xff)
        .send_string(body);
    into_resp(r)
}

/// A value of the Prometheus text at /metrics (0 when absent).
fn metric(s: &Server, line_start: &str) -> f64 {
    let text = s.get("/metrics").body;
    text.lines()
        .find_map(|l| l.strip_prefix(line_start)?.trim().parse().ok())
        .unwrap_or(0.0)
}

/// Sends `per_thread` batches from each of `threads` threads (keep-alive),
/// each built by `body(thread, i)`; returns the statuses seen with counts
/// and the responses of the refused ones.
fn flood(
    s: &Server,
    threads: usize,
    per_thread: usize,
    body: impl Fn(usize, usize) -> String + Sync,
) -> (u64, Vec<Resp>) {
    let accepted = AtomicU64::new(0);
    let refused = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for t in 0..threads {
            let (accepted, refused, body) = (&accepted, &refused, &body);
            scope.spawn(move || {
                let agent = agent();
                for i in 0..per_thread {
                    let r = collect_as(s, &agent, "127.0.0.1", &body(t, i));
                    if r.status == 202 {
                        accepted.fetch_add(1, Relaxed);
                    } else {
                        refused.lock().unwrap().push(r);
                    }
                }
            });
        }
    });
    (accepted.into_inner(), refused.into_inner().unwrap())
}

fn stored_events(s: &Server) -> i64 {
    open_db(&s.db)
        .query_row(
            "SELECT IFNULL(SUM(event_count), 0) FROM sessions",
            [],
            |r| r.get(0),
        )
        .unwrap()
}

#[test]
fn a_random_sid_flood_stays_at_the_session_cap_and_loses_nothing() {
    let s = Server::start(&["--max-open-sessions", "200", "--rate-per-client", "0"]);
    let random_sids = |t: usize, i: usize| {
        let sid = format!("flood-{t}-{i}-{}", rand::random::<u64>());
        batch(&sid, &[pageview(now_ms(), &format!("/p/{i}"), "")])
    };
    let (accepted, refused) = flood(&s, 8, 250, random_sids);
    assert!(
        refused.is_empty(),
        "{:?}",
        refused.iter().map(|r| &r.body).collect::<Vec<_>>()
    );
    assert_eq!(accepted, 2000);
    // A visitor that more of the flood pushes out of memory, who comes back
    // (while its trace is among the last 4 x 200 closed).
    let r = s.collect(&batch("returning", &[pageview(now_ms(), "/first", "")]));
    assert_eq!(r.status, 202, "{}", r.body);
    let (accepted, _) = flood(&s, 8, 50, random_sids);
    assert_eq!(accepted, 400);
    let r = s.collect(&batch("returning", &[pageview(now_ms(), "/second", "")]));
    assert_eq!(r.status, 202, "{}", r.body);

    let open = metric(&s, "trailmap_open_sessions ");
    assert!((150.0..=200.0).contains(&open), "open sessions {open}");
    let closed = metric(&s, "trailmap_sessions_closed_to_make_room_total ");
    assert!(closed >= 2000.0, "closed to make room: {closed}");
    // Closed sessions were written before they left memory: every event is stored.
    assert_eq!(stored_events(&s), 2402);
    // The returning visitor continued its session from the store.
    let (sessions, events): (i64, i64) = open_db(&s.db)
        .query_row(
            "SELECT COUNT(*), SUM(event_count) FROM sessions WHERE sid = 'returning'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((sessions, events), (1, 2), "one session, both page views");
    // A debug build with 200 open sessions: far below what 2,400 would cost
    // unbounded under a longer flood, and stable.
    let rss = s.status_kib("VmRSS:");
    assert!(rss < 200 * 1024, "VmRSS {rss} KiB");
}

#[test]
fn a_full_queue_in_bytes_answers_503_with_retry_after_and_loses_nothing() {
    let s = Server::start(&["--queue-max-bytes", "4096", "--rate-per-client", "0"]);
    let t0 = now_ms();
    let (accepted, refused) = flood(&s, 16, 25, |t, i| {
        let events: Vec<String> = (0..40)
            .map(|k| click(t0 + k, 10.0, 20.0, &format!("#b{t}-{i}-{k}"), false))
            .collect();
        batch(&format!("q-{t}-{i}"), &events)
    });
    assert!(
        !refused.is_empty(),
        "a 4 KiB queue must refuse some of 16 senders"
    );
    for r in &refused {
        assert_eq!(r.status, 503, "{}", r.body);
        assert_eq!(r.header("retry-after"), Some("1"));
        assert!(r.body.contains("event bytes"), "{}", r.body);
    }
    let counted = metric(
        &s,
        "trailmap_batches_rejected_total{reason=\"queue_bytes\"} ",
    );
    assert_eq!(counted as usize, refused.len());
    // What was accepted is stored, what was refused is not.
    assert_eq!(stored_events(&s), accepted as i64 * 40);
}

#[test]
fn batches_waiting_too_long_make_collect_answer_503_until_it_catches_up() {
    let s = Server::start(&["--queue-max-wait-ms", "1", "--rate-per-client", "0"]);
    let t0 = now_ms();
    let (accepted, refused) = flood(&s, 16, 40, |t, i| {
        batch(&format!("w-{t}-{i}"), &[pageview(t0, "/w", "")])
    });
    assert!(!refused.is_empty(), "a 1 ms wait bound must refuse some");
    for r in &refused {
        assert_eq!(r.status, 503, "{}", r.body);
        assert_eq!(r.header("retry-after"), Some("1"));
        assert!(r.body.contains("wait too long"), "{}", r.body);
    }
    let counted = metric(
        &s,
        "trailmap_batches_rejected_total{reason=\"queue_wait\"} ",
    );
    assert_eq!(counted as usize, refused.len());
    assert_eq!(stored_events(&s), accepted as i64);
    // Once the flood is over the writer has caught up: accepted again.
    let r = s.collect(&batch("after", &[pageview(now_ms(), "/after", "")]));
    assert_eq!(r.status, 202, "{}", r.body);
}

#[test]
fn a_hanging_commit_refuses_new_batches_once_those_queued_waited_too_long() {
    let s = Server::start(&[
        "--queue-max-wait-ms",
        "500",
        "--busy-timeout-secs",
        "8",
        "--rate-per-client",
        "0",
    ]);
    let t0 = now_ms();
    // Another writer (an import, say) holds the database's write lock: the
    // server's next commit waits up to its busy timeout for it.
    let lock = open_db(&s.db);
    lock.execute_batch("BEGIN IMMEDIATE").unwrap();
    std::thread::scope(|scope| {
        let hanging = scope.spawn(|| s.collect(&batch("hang-1", &[pageview(t0, "/a", "")])));
        std::thread::sleep(Duration::from_millis(300));
        let queued = scope.spawn(|| s.collect(&batch("hang-2", &[pageview(t0, "/b", "")])));
        // The second batch has waited 500 ms behind the hanging commit
        // well before that commit ends: the next one is refused at once,
        // not after the 8 s busy timeout.
        std::thread::sleep(Duration::from_millis(900));
        let asked = Instant::now();
        let r = s.collect(&batch("hang-3", &[pageview(t0, "/c", "")]));
        assert!(
            asked.elapsed() < Duration::from_secs(2),
            "{:?}",
            asked.elapsed()
        );
        assert_eq!(r.status, 503, "{}", r.body);
        assert!(r.body.contains("wait too long"), "{}", r.body);
        assert!(r.header("retry-after").is_some());
        lock.execute_batch("COMMIT").unwrap();
        // What was queued is committed once the lock is gone.
        assert_eq!(hanging.join().unwrap().status, 202);
        assert_eq!(queued.join().unwrap().status, 202);
    });
    assert_eq!(stored_events(&s), 2);
    let r = s.collect(&batch("after", &[pageview(now_ms(), "/after", "")]));
    assert_eq!(
        r.status, 202,
        "accepted again once the queue is empty: {}",
        r.body
    );
}

#[test]
fn one_client_over_its_rate_gets_429_while_another_still_gets_202() {
    let s = Server::start(&[
        "--trust-proxy",
        "true",
        "--rate-per-client",
        "2",
        "--rate-burst-per-client",
        "5",
    ]);
    let agent = agent();
    let body = || batch("r", &[pageview(now_ms(), "/", "")]);
    let statuses: Vec<u16> = (0..12)
        .map(|_| collect_as(&s, &agent, "198.51.100.7", &body()).status)
        .collect();
    let ok = statuses.iter().filter(|c| **c == 202).count();
    assert!((5..=6).contains(&ok), "burst of 5 then 2/s: {statuses:?}");
    let r = collect_as(&s, &agent, "198.51.100.7", &body());
    assert_eq!(r.status, 429, "{}", r.body);
    assert!(r.body.contains("too many batches from this address"));
    assert!(!r.body.contains('\n'));
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry), "{retry}");
    // Addresses the client puts before its proxy's do not buy a new bucket:
    // the proxy appends the real one last, and that one counts.
    let r = collect_as(&s, &agent, "203.0.113.99, 198.51.100.7", &body());
    assert_eq!(r.status, 429, "{}", r.body);
    // Another address has its own bucket (a different X-Forwarded-For).
    let other = collect_as(&s, &agent, "198.51.100.8", &body());
    assert_eq!(other.status, 202, "{}", other.body);
    // An IPv6 client is one client per /64, whatever address it picks.
    for i in 0..5 {
        let r = collect_as(&s, &agent, &format!("2001:db8:7:7::{i:x}"), &body());
        assert_eq!(r.status, 202, "{}", r.body);
    }
    let r = collect_as(&s, &agent, "2001:db8:7:7:ffff::1", &body());
    assert_eq!(r.status, 429, "{}", r.body);
    let limited = metric(
        &s,
        "trailmap_batches_rejected_total{reason=\"rate_limited\"} ",
    );
    assert_eq!(limited as usize, 12 - ok + 3);
    // After the Retry-After delay the first client is served again.
    std::thread::sleep(Duration::from_secs(retry));
    let r = collect_as(&s, &agent, "198.51.100.7", &body());
    assert_eq!(r.status, 202, "{}", r.body);
}

/// A layout of `kib` KiB of random hex: it compresses to about half.
fn random_layout(kib: usize) -> (String, Vec<u8>) {
    let noise: String = (0..kib * 1024 / 16)
        .map(|_| format!("{:016x}", rand::random::<u64>()))
        .collect();
    let html = format!("<!DOCTYPE html><html><body><p>{noise}</p></body></html>");
    let hash: String = Sha256::digest(html.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(html.as_bytes()).unwrap();
    (hash, e.finish().unwrap())
}

const PAGE: &str = "site=shop&url=http%3A%2F%2Fshop.test%2Fp&vw=1280&vh=800&dw=1280&dh=2400";

fn upload(s: &Server, xff: &str, hash: &str, gz: &[u8]) -> Resp {
    let r = agent()
        .post(&s.url(&format!("/api/replay/snapshots/{hash}?{PAGE}")))
        .set("Origin", ORIGIN)
        .set("X-Forwarded-For", xff)
        .send_bytes(gz);
    into_resp(r)
}

/// A session shows layout `hash` (the recorder's `$layout` event).
fn reference(s: &Server, sid: &str, hash: &str) {
    let ts = now_ms();
    let event = format!(
        r#"{{"type":"custom","ts":{ts},"name":"$layout","props":{{"hash":"{hash}","vw":1280}}}}"#
    );
    let r = s.collect(&batch(sid, &[pageview(ts, "/p", ""), event]));
    assert_eq!(r.status, 202, "{}", r.body);
}

fn layout_stored(s: &Server, hash: &str) -> bool {
    open_db(&s.db)
        .query_row(
            "SELECT COUNT(*) FROM layouts WHERE hash = ?1",
            [hash],
            |r| r.get::<_, i64>(0),
        )
        .unwrap()
        == 1
}

#[test]
fn junk_uploads_do_not_push_out_layouts_sessions_reference() {
    let s = Server::start(&["--replay-quota-mb", "1", "--trust-proxy", "true"]);
    // Three referenced layouts fill most of the quota (~300 KiB each).
    let real: Vec<(String, Vec<u8>)> = (0..4).map(|_| random_layout(600)).collect();
    assert!(real[0].1.len() > 250 * 1024 && real[0].1.len() < 340 * 1024);
    // The recorder uploads a layout, then records it in the session.
    let r = upload(&s, "192.0.2.1", &real[0].0, &real[0].1);
    assert_eq!(r.status, 201, "{}", r.body);
    reference(&s, "visitor-0", &real[0].0);
    // A junk flood: each upload makes room by deleting older junk.
    let mut junk = vec![];
    for i in 0..6 {
        let (hash, gz) = random_layout(600);
        let r = upload(&s, &format!("192.0.2.{}", 10 + i), &hash, &gz);
        assert_eq!(r.status, 201, "junk {i}: {}", r.body);
        junk.push(hash);
    }
    assert!(layout_stored(&s, &real[0].0), "the referenced layout stays");
    // A new real layout still finds room: junk goes, not the real one.
    for (i, (hash, gz)) in real.iter().enumerate().skip(1).take(2) {
        let r = upload(&s, "192.0.2.2", hash, gz);
        assert_eq!(r.status, 201, "real {i}: {}", r.body);
        reference(&s, &format!("visitor-{i}"), hash);
    }
    assert!(real.iter().take(3).all(|(h, _)| layout_stored(&s, h)));
    assert!(!junk.iter().take(5).any(|h| layout_stored(&s, h)));
    // A reference to a layout nobody uploaded leaves no row behind.
    reference(&s, "visitor-x", &"ab".repeat(32));
    let refs: i64 = open_db(&s.db)
        .query_row(
            "SELECT COUNT(*) FROM layout_refs WHERE hash = ?1",
            [&"ab".repeat(32)],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(refs, 0);
    // Junk with forged references (a `$layout` event for each) cannot lock
    // the quota: only referenced layouts are left, so a new layout makes
    // room by deleting the least recently referenced ones, and the real
    // layouts sessions showed last stay.
    for i in 0..3 {
        let (hash, gz) = random_layout(600);
        let r = upload(&s, &format!("192.0.2.{}", 50 + i), &hash, &gz);
        assert_eq!(r.status, 201, "pinned junk {i}: {}", r.body);
        reference(&s, &format!("forger-{i}"), &hash);
    }
    let (hash, gz) = &real[3];
    let r = upload(&s, "192.0.2.3", hash, gz);
    assert_eq!(r.status, 201, "a new real layout finds room: {}", r.body);
    reference(&s, "visitor-3", hash);
    assert!(layout_stored(&s, hash));
    // A layout over the quota itself is refused.
    let (hash, gz) = random_layout(2400);
    let r = upload(&s, "192.0.2.98", &hash, &gz);
    assert_eq!(r.status, 413, "{}", r.body);
    assert!(r.body.contains("quota"), "{}", r.body);
}

#[test]
fn one_client_cannot_push_more_than_its_hourly_share_of_replay_bytes() {
    let s = Server::start(&[
        "--trust-proxy",
        "true",
        "--replay-upload-mb-per-client-hour",
        "2",
    ]);
    // ~300 KiB each: the sixth or seventh is over 2 MiB.
    let mut statuses = vec![];
    for _ in 0..9 {
        let (hash, gz) = random_layout(600);
        let r = upload(&s, "192.0.2.1", &hash, &gz);
        if r.status == 429 {
            assert!(r.body.contains("share of replay layouts"), "{}", r.body);
            let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
            assert!((1..=3600).contains(&retry), "{retry}");
            assert!(!layout_stored(&s, &hash), "a refused upload is not stored");
        }
        statuses.push(r.status);
    }
    let stored = statuses.iter().filter(|c| **c == 201).count();
    assert!((6..=7).contains(&stored), "{statuses:?}");
    assert!(statuses[stored..].iter().all(|c| *c == 429), "{statuses:?}");
    // Another address has its own share.
    let (hash, gz) = random_layout(600);
    assert_eq!(upload(&s, "192.0.2.2", &hash, &gz).status, 201);
}

#[test]
fn replay_uploads_are_rate_limited_per_client_and_per_site() {
    let s = Server::start(&[
        "--trust-proxy",
        "true",
        "--replay-uploads-per-client-minute",
        "2",
        "--replay-uploads-per-site-minute",
        "4",
    ]);
    let layouts: Vec<(String, Vec<u8>)> = (0..6).map(|_| random_layout(1)).collect();
    assert_eq!(
        upload(&s, "192.0.2.1", &layouts[0].0, &layouts[0].1).status,
        201
    );
    assert_eq!(
        upload(&s, "192.0.2.1", &layouts[1].0, &layouts[1].1).status,
        201
    );
    let r = upload(&s, "192.0.2.1", &layouts[2].0, &layouts[2].1);
    assert_eq!(r.status, 429, "{}", r.body);
    assert!(r.body.contains("from this address"), "{}", r.body);
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    // Other clients share the site's budget of 4 a minute.
    assert_eq!(
        upload(&s, "192.0.2.2", &layouts[2].0, &layouts[2].1).status,
        201
    );
    assert_eq!(
        upload(&s, "192.0.2.3", &layouts[3].0, &layouts[3].1).status,
        201
    );
    let r = upload(&s, "192.0.2.4", &layouts[4].0, &layouts[4].1);
    assert_eq!(r.status, 429, "{}", r.body);
    assert!(r.body.contains("for this site"), "{}", r.body);
    assert!(!layout_stored(&s, &layouts[4].0));
    // Probes ("do you have it?") are not uploads: still answered.
    let started = Instant::now();
    let r = upload(&s, "192.0.2.1", &layouts[0].0, b"");
    assert_eq!(r.status, 204, "{}", r.body);
    assert!(started.elapsed() < Duration::from_secs(5));
}
