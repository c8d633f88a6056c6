//! The collector on the open internet: slow and idle clients, the
//! connection cap, the header cap, the memory of unfinished uploads, and who
//! may read /metrics. Real binary, real sockets; the timeouts are set low
//! with their flags so each test takes a few seconds.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::*;

fn addr(s: &Server) -> String {
    s.base.trim_start_matches("http://").to_string()
}

fn connect(addr: &str) -> TcpStream {
    let c = TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    c.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
    c
}

/// Reads until the server closes the connection (or `within` passes);
/// returns what was read and, if it closed, after how long.
fn read_until_closed(c: &mut TcpStream, within: Duration) -> (String, Option<Duration>) {
    let start = Instant::now();
    c.set_read_timeout(Some(within)).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match c.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            // A reset is a close too.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(_) => return (String::from_utf8_lossy(&got).into_owned(), None),
        }
        if start.elapsed() > within {
            return (String::from_utf8_lossy(&got).into_owned(), None);
        }
    }
    (
        String::from_utf8_lossy(&got).into_owned(),
        Some(start.elapsed()),
    )
}

/// A counter or gauge from the server's /metrics (with the token).
fn metric(s: &Server, line_start: &str) -> f64 {
    let text = s.get("/metrics").body;
    text.lines()
        .find_map(|l| l.strip_prefix(line_start))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0)
}

fn healthz_status(base: &str) -> u16 {
    match agent().get(&format!("{base}/healthz")).call() {
        Ok(r) => r.status(),
        Err(ureq::Error::Status(c, _)) => c,
        Err(e) => panic!("healthz failed: {e}"),
    }
}

#[test]
fn half_sent_headers_are_closed_after_the_header_timeout() {
    let s = Server::start(&["--header-timeout-secs", "1", "--idle-timeout-secs", "30"]);
    let mut c = connect(&addr(&s));
    c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .unwrap();
    let (got, closed) = read_until_closed(&mut c, Duration::from_secs(6));
    let after = closed.expect("a half-sent head must be closed, not kept open");
    assert!(
        after >= Duration::from_millis(800),
        "closed too early: {after:?}"
    );
    assert!(after < Duration::from_secs(4), "closed late: {after:?}");
    assert!(!got.contains("200"), "no answer to half a request: {got}");
    // The same for the second request on a keep-alive connection: idle
    // for 30 s is allowed, but once a head has begun it has 1 s.
    let mut c = connect(&addr(&s));
    c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut first = [0u8; 12];
    c.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"HTTP/1.1 200");
    std::thread::sleep(Duration::from_millis(1500));
    c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let (got, closed) = read_until_closed(&mut c, Duration::from_secs(6));
    let after = closed.expect("a half-sent second head must be closed");
    assert!(
        after >= Duration::from_millis(800),
        "closed too early: {after:?}"
    );
    assert!(after < Duration::from_secs(4), "closed late: {after:?}");
    assert!(!got.contains("HTTP/1.1 200"), "{got}");
    assert_eq!(
        metric(
            &s,
            "trailmap_connections_closed_total{reason=\"header_timeout\"}"
        ),
        2.0
    );
}

#[test]
fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let s = Server::start(&["--idle-timeout-secs", "1", "--header-timeout-secs", "10"]);
    let mut c = connect(&addr(&s));
    // Two requests on one connection: keep-alive works...
    let mut reader = BufReader::new(c.try_clone().unwrap());
    for _ in 0..2 {
        c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let mut status = String::new();
        reader.read_line(&mut status).unwrap();
        assert!(status.starts_with("HTTP/1.1 200"), "{status}");
        let mut line = String::new();
        while reader.read_line(&mut line).unwrap() > 2 {
            line.clear();
        }
        let mut ok = [0u8; 3];
        reader.read_exact(&mut ok).unwrap();
        assert_eq!(&ok, b"ok\n");
    }
    // ...and with no request in flight it is closed after 1 s, not after
    // the 10 s header timeout.
    let (_, closed) = read_until_closed(&mut c, Duration::from_secs(8));
    let after = closed.expect("an idle connection must be closed");
    assert!(
        after >= Duration::from_millis(800),
        "closed too early: {after:?}"
    );
    assert!(after < Duration::from_secs(4), "closed late: {after:?}");
    assert_eq!(
        metric(
            &s,
            "trailmap_connections_closed_total{reason=\"idle_timeout\"}"
        ),
        1.0
    );
}

#[test]
fn a_stalled_body_is_answered_408_and_closed_after_the_body_deadline() {
    let s = Server::start(&["--body-timeout-secs", "1"]);
    let hash = "ab".repeat(32);
    let requests = [
        format!(
            "POST /api/collect HTTP/1.1\r\nHost: x\r\nOrigin: {ORIGIN}\r\n\
             Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"site\":"
        ),
        format!(
            "POST /api/replay/snapshots/{hash}?site={SITE}&url=http%3A%2F%2Fshop.test%2F&vw=1280&vh=720&dw=1280&dh=2000 HTTP/1.1\r\n\
             Host: x\r\nOrigin: {ORIGIN}\r\nContent-Length: 100000\r\n\r\ngzip-start"
        ),
    ];
    for request in requests {
        let mut c = connect(&addr(&s));
        c.write_all(request.as_bytes()).unwrap();
        let start = Instant::now();
        let (got, closed) = read_until_closed(&mut c, Duration::from_secs(6));
        assert!(got.starts_with("HTTP/1.1 408"), "{got}");
        assert!(got.contains("did not arrive within 1 s"), "{got}");
        assert!(closed.is_some(), "the connection must be closed: {got}");
        assert!(start.elapsed() < Duration::from_secs(4));
    }
    assert_eq!(
        metric(
            &s,
            "trailmap_batches_rejected_total{reason=\"body_timeout\"}"
        ),
        1.0
    );
    assert_eq!(
        metric(&s, "trailmap_bodies_refused_total{reason=\"body_timeout\"}"),
        2.0
    );
}

#[test]
fn oversized_request_headers_are_answered_431() {
    let s = Server::start(&[]);
    let mut c = connect(&addr(&s));
    let pad = "x".repeat(32 * 1024);
    c.write_all(format!("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: {pad}\r\n\r\n").as_bytes())
        .unwrap();
    let (got, closed) = read_until_closed(&mut c, Duration::from_secs(5));
    assert!(got.starts_with("HTTP/1.1 431"), "{got:?}");
    assert!(closed.is_some());
    // 8 KiB of headers, under the 16 KiB default, are fine.
    let mut c = connect(&addr(&s));
    let pad = "x".repeat(8 * 1024);
    c.write_all(
        format!("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: {pad}\r\nConnection: close\r\n\r\n")
            .as_bytes(),
    )
    .unwrap();
    let (got, _) = read_until_closed(&mut c, Duration::from_secs(5));
    assert!(got.starts_with("HTTP/1.1 200"), "{got:?}");
}

/// Opens `n` connections that send half a request head and stop.
fn slowloris(addr: &str, n: usize) -> Vec<TcpStream> {
    (0..n)
        .filter_map(|_| {
            let mut c =
                TcpStream::connect_timeout(&addr.parse().unwrap(), Duration::from_secs(2)).ok()?;
            c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").ok()?;
            Some(c)
        })
        .collect()
}

#[test]
fn at_the_connection_cap_slow_sockets_make_room_for_new_requests() {
    let s = Server::start(&["--max-connections", "50", "--header-timeout-secs", "60"]);
    let _held = slowloris(&addr(&s), 80);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(healthz_status(&s.base), 200);
    let sid = format!("cap{}", now_ms());
    let r = s.collect(&batch(&sid, &[pageview(now_ms(), "/", "")]));
    assert_eq!(r.status, 202, "{}", r.body);
    assert!(
        metric(
            &s,
            "trailmap_connections_closed_total{reason=\"evicted_head\"}"
        ) >= 30.0
    );
    assert!(metric(&s, "trailmap_connections_open") <= 50.0);
}

#[test]
fn at_the_cap_stalled_uploads_make_room_too() {
    let s = Server::start(&["--max-connections", "20", "--body-timeout-secs", "60"]);
    let head = format!(
        "POST /api/collect HTTP/1.1\r\nHost: x\r\nOrigin: {ORIGIN}\r\n\
         Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"site\":"
    );
    // Every slot holds a request waiting for its body...
    let _stalled: Vec<TcpStream> = (0..20)
        .map(|_| {
            let mut c = connect(&addr(&s));
            c.write_all(head.as_bytes()).unwrap();
            c
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    // ...and a new request still gets in, in place of the longest stalled.
    assert_eq!(healthz_status(&s.base), 200);
    let r = s.collect(&batch("stalled", &[pageview(now_ms(), "/", "")]));
    assert_eq!(r.status, 202, "{}", r.body);
    assert!(
        metric(
            &s,
            "trailmap_connections_closed_total{reason=\"evicted_body\"}"
        ) >= 1.0
    );
    assert_eq!(metric(&s, "trailmap_connections_refused_total"), 0.0);
}

/// A server started with its own limits (see `serve_with_nofile`), killed
/// when dropped.
struct Limited {
    child: std::process::Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Drop for Limited {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `trailmap serve` with a hard open-files limit of `nofile`, on a fresh
/// database with site "shop".
fn serve_with_nofile(nofile: u64) -> Limited {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    assert!(run_cli(&db, &["site", "add", SITE, "--origin", ORIGIN]).0);
    let mut cmd = Command::new(bin());
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--token", TOKEN, "--db"])
        .arg(&db)
        .env_remove("TRAILMAP_TOKEN")
        .env("TRAILMAP_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    // SAFETY: setrlimit is async-signal-safe; it only lowers this child's limit.
    unsafe {
        cmd.pre_exec(move || {
            let lim = libc::rlimit {
                rlim_cur: nofile as libc::rlim_t,
                rlim_max: nofile as libc::rlim_t,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let base = loop {
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("server starts");
        if let Some(a) = line.strip_prefix("trailmap listening on ") {
            break a.trim().to_string();
        }
    };
    Limited {
        child,
        base,
        _dir: dir,
    }
}

#[test]
fn the_default_cap_fits_the_open_files_limit_so_healthz_survives_a_flood() {
    // 400 half-open sockets against 256 descriptors: without a cap that fits
    // the limit, accept fails (EMFILE) and /healthz is never answered.
    let s = serve_with_nofile(256);
    let _held = slowloris(s.base.trim_start_matches("http://"), 400);
    std::thread::sleep(Duration::from_millis(300));
    let quick = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(5))
        .build();
    let status = match quick.get(&format!("{}/healthz", s.base)).call() {
        Ok(r) => r.status(),
        Err(ureq::Error::Status(c, _)) => c,
        Err(e) => panic!("healthz on a new connection: {e}"),
    };
    assert_eq!(status, 200);
    let collected = quick
        .post(&format!("{}/api/collect", s.base))
        .set("Origin", ORIGIN)
        .set("Content-Type", "application/json")
        .set("User-Agent", CHROME)
        .send_string(&batch("nofile", &[pageview(now_ms(), "/", "")]));
    assert_eq!(collected.map(|r| r.status()).ok(), Some(202));
    let text = quick
        .get(&format!("{}/metrics", s.base))
        .set("Authorization", &format!("Bearer {TOKEN}"))
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    let open: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("trailmap_connections_open "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(open > 0.0 && open <= 128.0, "open connections: {open}");
}

#[test]
fn unfinished_uploads_cannot_take_memory_past_the_body_budget() {
    // The defaults: a 64 MiB budget, a 15 s body deadline (longer than this test).
    let s = Server::start(&[]);
    // Warm up the allocator and the replay connection.
    assert_eq!(healthz_status(&s.base), 200);
    let before = s.status_kib("VmRSS:");
    // 300 uploads that announce 2 MiB, send 1 MiB and stop.
    let head = format!(
        "POST /api/replay/snapshots/{}?site={SITE}&url=http%3A%2F%2Fshop.test%2F&vw=1280&vh=720&dw=1280&dh=2000 HTTP/1.1\r\n\
         Host: x\r\nOrigin: {ORIGIN}\r\nContent-Length: {}\r\n\r\n",
        "cd".repeat(32),
        2 * 1024 * 1024 - 1
    );
    let target = addr(&s);
    let workers: Vec<_> = (0..6)
        .map(|_| {
            let (head, target) = (head.clone(), target.clone());
            std::thread::spawn(move || {
                let chunk = vec![b'x'; 64 * 1024];
                let mut held = vec![];
                for _ in 0..50 {
                    let Ok(mut c) = TcpStream::connect(&target) else {
                        continue;
                    };
                    c.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
                    let _ = c.write_all(head.as_bytes());
                    for _ in 0..16 {
                        // Refused uploads are closed under us: that is the point.
                        if c.write_all(&chunk).is_err() {
                            break;
                        }
                    }
                    held.push(c);
                }
                held
            })
        })
        .collect();
    let _held: Vec<TcpStream> = workers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    // Let the server read what the sockets still buffer: wait until the
    // bytes it holds stop changing.
    let mut last = -1.0;
    for _ in 0..50 {
        std::thread::sleep(Duration::from_millis(200));
        let now = metric(&s, "trailmap_body_bytes_held ");
        if now == last {
            break;
        }
        last = now;
    }
    let peak = s.status_kib("VmHWM:");
    let grew_mib = peak.saturating_sub(before) / 1024;
    eprintln!("VmRSS before {before} kB, VmHWM after {peak} kB: +{grew_mib} MiB");
    // 300 MiB sent and not finished (today's code held all of it); the
    // budget is 64 MiB, plus per-connection buffers and allocator slack.
    assert!(
        grew_mib < 128,
        "RSS grew by {grew_mib} MiB (from {before} kB to a peak of {peak} kB)"
    );
    assert!(metric(&s, "trailmap_bodies_refused_total{reason=\"body_budget\"}") > 0.0);
    let held = metric(&s, "trailmap_body_bytes_held ");
    assert!(held <= 64.0 * 1024.0 * 1024.0, "{held}");
}

#[test]
fn a_body_past_the_budget_is_answered_503_with_retry_after() {
    // Two unfinished 2 MiB bodies, each 64 bytes short of done, hold all but
    // 128 bytes of the 4 MiB budget whatever frame sizes they arrive in (the
    // reader charges its buffer's capacity, at least what has arrived); a
    // third request, a batch of some 230 bytes, finds too little left.
    let s = Server::start(&["--body-budget-mb", "4", "--max-body-bytes", "2097152"]);
    let size = 2 * 1024 * 1024;
    let head = format!(
        "POST /api/collect HTTP/1.1\r\nHost: x\r\nOrigin: {ORIGIN}\r\n\
         Content-Type: application/json\r\nContent-Length: {size}\r\n\r\n"
    );
    let held: Vec<TcpStream> = (0..2)
        .map(|_| {
            let mut c = connect(&addr(&s));
            c.write_all(head.as_bytes()).unwrap();
            c.write_all(&vec![b' '; size - 64]).unwrap();
            c
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(10);
    while metric(&s, "trailmap_body_bytes_held ") < (4 * 1024 * 1024 - 128) as f64 {
        assert!(
            Instant::now() < deadline,
            "the two bodies should hold the budget"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let r = s.collect(&batch("busy", &[pageview(now_ms(), "/", "")]));
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(r.header("retry-after"), Some("1"));
    assert!(r.body.contains("unfinished uploads"), "{}", r.body);
    assert_eq!(
        metric(
            &s,
            "trailmap_batches_rejected_total{reason=\"body_budget\"}"
        ),
        1.0
    );
    drop(held);
    let deadline = Instant::now() + Duration::from_secs(5);
    while metric(&s, "trailmap_body_bytes_held ") > 0.0 {
        assert!(Instant::now() < deadline, "the budget should come back");
        std::thread::sleep(Duration::from_millis(50));
    }
    // The budget is back: the next batch goes in.
    let r = s.collect(&batch("after", &[pageview(now_ms(), "/", "")]));
    assert_eq!(r.status, 202, "{}", r.body);
}

#[test]
fn metrics_need_the_token_except_on_the_metrics_listener() {
    let s = Server::start(&["--metrics-listen", "127.0.0.1:0"]);
    let without = agent().get(&s.url("/metrics")).call();
    assert!(
        matches!(without, Err(ureq::Error::Status(401, _))),
        "{without:?}"
    );
    let with = s.get("/metrics");
    assert_eq!(with.status, 200);
    assert!(with.body.contains("trailmap_connections_open"));
    let scrape = s
        .banner
        .iter()
        .find_map(|l| l.strip_prefix("trailmap metrics on "))
        .expect("the metrics address is printed")
        .to_string();
    let open = agent().get(&scrape).call().unwrap();
    assert_eq!(open.status(), 200);
    assert!(open
        .into_string()
        .unwrap()
        .contains("trailmap_http_requests_total"));
    // Nothing else is served there.
    let other = agent()
        .get(&scrape.replace("/metrics", "/api/sites"))
        .call();
    assert!(
        matches!(other, Err(ureq::Error::Status(404, _))),
        "{other:?}"
    );
}

#[test]
fn refused_bodies_that_stall_cannot_hold_the_connection_slots() {
    // A client over its rate is answered 429 after its body is drained; one
    // that then sends no body must not keep its slot: the drain has the body
    // deadline and counts as waiting for the client, so it is evicted first.
    let s = Server::start(&[
        "--max-connections",
        "16",
        "--rate-per-client",
        "1",
        "--rate-burst-per-client",
        "1",
        "--body-timeout-secs",
        "30",
    ]);
    let sid = format!("drain{}", now_ms());
    let body = batch(&sid, &[pageview(now_ms(), "/", "")]);
    let mut refused = 0;
    for _ in 0..5 {
        if s.collect(&body).status == 429 {
            refused += 1;
        }
    }
    assert!(
        refused >= 3,
        "the bucket should be spent: {refused} refusals"
    );
    let held: Vec<TcpStream> = (0..16)
        .map(|_| {
            let mut c = connect(&addr(&s));
            write!(
                c,
                "POST /api/collect HTTP/1.1\r\nHost: x\r\nOrigin: {ORIGIN}\r\n\
                 Content-Type: text/plain\r\nContent-Length: 60000\r\n\r\n"
            )
            .unwrap();
            c
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    let started = Instant::now();
    assert_eq!(healthz_status(&s.base), 200);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(
        metric(
            &s,
            "trailmap_connections_closed_total{reason=\"evicted_body\"}"
        ) >= 1.0
    );
    drop(held);
}
