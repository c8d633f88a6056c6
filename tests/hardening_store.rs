//! The store under conditions a real deployment meets: an import while the
//! server collects, a second server started by mistake on the same file, a
//! full disk, and site names that could not be used in URLs.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;

/// Page paths of the log fixture (directory-style, as the import keeps
/// them), so that the collector and the import intern the same pages.
fn log_pages() -> Vec<String> {
    let text = std::fs::read_to_string(LOG).unwrap();
    let mut seen = BTreeSet::new();
    let mut pages = Vec::new();
    for line in text.lines() {
        let Some(path) = line
            .split("\"GET ")
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
        else {
            continue;
        };
        if path.ends_with('/') && !path.contains(['?', '"', '\\']) && seen.insert(path) {
            pages.push(path.to_string());
        }
    }
    assert!(pages.len() > 50, "the fixture has pages");
    pages
}

/// Posts batches at about `per_sec` until stopped: each batch starts a new
/// tab (a new session) on the next of `pages`. Returns, per sid, the events
/// answered 202, and every status that was not 202.
struct Stream {
    stop: Arc<AtomicBool>,
    handle: std::thread::JoinHandle<(HashMap<String, u64>, Vec<String>)>,
    posted: Arc<Mutex<u64>>,
}

impl Stream {
    fn start(s: &Server, pages: Vec<String>, per_sec: u64) -> Stream {
        let stop = Arc::new(AtomicBool::new(false));
        let posted = Arc::new(Mutex::new(0));
        let url = s.url("/api/collect");
        let (stop2, posted2) = (stop.clone(), posted.clone());
        let handle = std::thread::spawn(move || {
            let agent = agent();
            let mut acked = HashMap::new();
            let mut refused = Vec::new();
            let pause = Duration::from_micros(1_000_000 / per_sec);
            let mut i = 0usize;
            while !stop2.load(Ordering::Relaxed) {
                let sid = format!("tab{i:05}");
                let t = now_ms() - 1000;
                let events = [
                    pageview(t, &pages[i % pages.len()], ""),
                    pageview(t + 10, &pages[(i * 7 + 3) % pages.len()], ""),
                ];
                let r = agent
                    .post(&url)
                    .set("Content-Type", "application/json")
                    .set("Origin", ORIGIN)
                    .set("User-Agent", CHROME)
                    .send_string(&batch(&sid, &events));
                match r {
                    Ok(r) if r.status() == 202 => {
                        acked.insert(sid, events.len() as u64);
                    }
                    Ok(r) => refused.push(format!("{}", r.status())),
                    Err(ureq::Error::Status(code, r)) => {
                        refused.push(format!("{code}: {}", r.into_string().unwrap_or_default()))
                    }
                    Err(e) => refused.push(e.to_string()),
                }
                *posted2.lock().unwrap() += 1;
                i += 1;
                std::thread::sleep(pause);
            }
            (acked, refused)
        });
        Stream {
            stop,
            handle,
            posted,
        }
    }

    fn wait_posted(&self, n: u64) {
        let started = Instant::now();
        while *self.posted.lock().unwrap() < n {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "stream stalled"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn finish(self) -> (HashMap<String, u64>, Vec<String>) {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.join().unwrap()
    }
}

/// Event counts of the stored sessions by source (1 tracker, 2 log), with
/// the tracker sessions by sid.
fn stored(db: &Path) -> (HashMap<String, u64>, u64, u64) {
    let conn = open_db(db);
    let mut stmt = conn
        .prepare("SELECT source, sid, event_count FROM sessions")
        .unwrap();
    let mut tracker = HashMap::new();
    let (mut log_sessions, mut log_events) = (0, 0);
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)? as u64,
            ))
        })
        .unwrap();
    for row in rows {
        let (source, sid, events) = row.unwrap();
        if source == 2 {
            log_sessions += 1;
            log_events += events;
        } else {
            assert!(
                tracker.insert(sid.clone(), events).is_none(),
                "one session per tab: {sid} twice"
            );
        }
    }
    (tracker, log_sessions, log_events)
}

/// Every chunk belongs to a stored session, and every session lists only
/// its own chunks, each once, with as many events as the session counts.
fn assert_chunks_consistent(db: &Path) {
    let conn = open_db(db);
    let orphans: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM event_chunks c LEFT JOIN sessions s ON s.id = c.session_id
             WHERE s.id IS NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(orphans, 0, "chunks of no session");
    let mut owner: HashMap<i64, (i64, i64)> = HashMap::new();
    let mut stmt = conn
        .prepare("SELECT id, session_id, json_array_length(events) FROM event_chunks")
        .unwrap();
    for row in stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
    {
        let (id, session, n): (i64, i64, i64) = row.unwrap();
        owner.insert(id, (session, n));
    }
    let mut listed = BTreeSet::new();
    let mut stmt = conn
        .prepare("SELECT id, chunks, event_count FROM sessions")
        .unwrap();
    for row in stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
    {
        let (id, chunks, count): (i64, Vec<u8>, i64) = row.unwrap();
        let mut events = 0;
        for c in chunks.chunks_exact(8) {
            let chunk = i64::from_le_bytes(c.try_into().unwrap());
            assert!(listed.insert(chunk), "chunk {chunk} listed twice");
            let (session, n) = owner[&chunk];
            assert_eq!(session, id, "session {id} lists chunk {chunk} of {session}");
            events += n;
        }
        assert_eq!(events, count, "session {id}: stored events");
    }
    assert_eq!(listed.len(), owner.len(), "every chunk is listed");
}

#[test]
fn an_import_while_the_server_collects_stores_both_completely() {
    // What the import stores on its own, to compare with.
    let (_ref_dir, ref_db) = {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("ref.db");
        assert!(run_cli(&db, &["site", "add", SITE, "--origin", ORIGIN]).0);
        let (ok, out, err) = run_cli(&db, &["import", "--site", SITE, "--json", LOG]);
        assert!(ok, "{err}");
        let _ = out;
        (dir, db)
    };
    let (_, ref_log_sessions, ref_log_events) = stored(&ref_db);
    assert!(ref_log_events > 1000);

    let s = Server::start(&[]);
    let stream = Stream::start(&s, log_pages(), 80);
    stream.wait_posted(40);
    let (ok, out, err) = run_cli(&s.db, &["import", "--site", SITE, "--json", LOG]);
    assert!(ok, "import beside the server failed: {err}");
    let summary: serde_json::Value = serde_json::from_str(&out).unwrap();
    // The server keeps storing after the import has committed.
    let after = *stream.posted.lock().unwrap();
    stream.wait_posted(after + 40);
    let (acked, refused) = stream.finish();
    assert!(refused.is_empty(), "collect refused: {refused:?}");

    let (tracker, log_sessions, log_events) = stored(&s.db);
    assert_eq!(tracker, acked, "every 202's events, once");
    assert_eq!(log_events, summary["pageviews_created"].as_u64().unwrap());
    assert_eq!(
        (log_sessions, log_events),
        (ref_log_sessions, ref_log_events),
        "the import stores what it stores alone"
    );
    assert_chunks_consistent(&s.db);
    // Both wrote to one page table: no path twice.
    let dupes: i64 = open_db(&s.db)
        .query_row(
            "SELECT COUNT(*) FROM (SELECT 1 FROM pages GROUP BY site_id, path HAVING COUNT(*) > 1)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(dupes, 0);
}

#[test]
fn a_second_server_on_the_same_database_is_refused() {
    let mut first = Server::start(&[]);
    let mut second = Command::new(bin())
        .args(["serve", "--listen", "127.0.0.1:0", "--token", TOKEN, "--db"])
        .arg(&first.db)
        .env("TRAILMAP_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // It must give up at once; one still running after the deadline serves.
    let started = Instant::now();
    let status = loop {
        if let Some(status) = second.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > Duration::from_secs(10) {
            second.kill().unwrap();
            second.wait().unwrap();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut second.stderr.take().unwrap(), &mut err).unwrap();
    assert!(
        status.is_some_and(|s| !s.success()),
        "a second serve started on the same db ({status:?}): {err}"
    );
    let db = first.db.display().to_string();
    assert!(err.contains(&format!("{db}.lock")), "names the lock: {err}");
    assert!(
        err.contains(&format!("serving {db}")),
        "names the db: {err}"
    );
    // The first one still works.
    let t = now_ms();
    assert_eq!(
        first.collect(&batch("one", &[pageview(t, "/", "")])).status,
        202
    );
    // A killed server leaves the lock file, but not the lock.
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    let again = Server::start_on(&first.db, &["--token", TOKEN]);
    assert_eq!(again.get("/healthz").status, 200);
}

#[test]
fn site_names_that_urls_cannot_carry_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    for bad in [".", "..", ".hidden", "_x"] {
        let (ok, _, err) = run_cli(&db, &["site", "add", bad, "--origin", ORIGIN]);
        assert!(!ok, "{bad:?} accepted");
        assert!(
            err.contains("starting with a letter or digit") && err.lines().count() <= 2,
            "{bad:?}: {err}"
        );
    }
    let (ok, _, err) = run_cli(&db, &["site", "add", "shop.v2", "--origin", ORIGIN]);
    assert!(ok, "{err}");
    let (_, out, _) = run_cli(&db, &["site", "list", "--json"]);
    let sites: serde_json::Value = serde_json::from_str(&out).unwrap();
    let names: Vec<&str> = sites
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["shop.v2"]);
}

/// A 8 MiB tmpfs, unmounted when dropped (after the server using it).
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    /// `None` (with the reason printed) where mounting is not permitted.
    fn mount() -> Option<SmallDisk> {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=8m", "tmpfs"])
            .arg(dir.path())
            .output();
        match out {
            Ok(o) if o.status.success() => Some(SmallDisk { dir }),
            Ok(o) => {
                eprintln!(
                    "SKIPPED: cannot mount a tmpfs to fill: {}",
                    String::from_utf8_lossy(&o.stderr).trim()
                );
                None
            }
            Err(e) => {
                eprintln!("SKIPPED: cannot run mount: {e}");
                None
            }
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file until the filesystem refuses more.
    fn fill(&self) -> std::path::PathBuf {
        use std::io::Write;
        let filler = self.path().join("filler");
        let mut f = std::fs::File::create(&filler).unwrap();
        let block = vec![7u8; 16 * 1024];
        loop {
            if let Err(e) = f.write_all(&block).and_then(|()| f.sync_all()) {
                assert_eq!(e.raw_os_error(), Some(28), "ENOSPC expected: {e}");
                break;
            }
        }
        filler
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

/// A batch of `n` page views on new paths, under a new sid.
fn big_batch(i: usize, n: usize) -> (String, String) {
    let sid = format!("disk{i:04}");
    let t = now_ms() - 60_000;
    let events: Vec<String> = (0..n)
        .map(|k| {
            pageview(
                t + k as i64,
                &format!("/fill/{i}/{k}/{}", "x".repeat(60)),
                "",
            )
        })
        .collect();
    let body = batch(&sid, &events);
    (sid, body)
}

#[test]
fn a_full_disk_answers_503_reports_unhealthy_and_recovers() {
    let Some(disk) = SmallDisk::mount() else {
        return;
    };
    let db = disk.path().join("trailmap.db");
    assert!(run_cli(&db, &["site", "add", SITE, "--origin", ORIGIN]).0);
    let mut s = Server::start_on(&db, &["--token", TOKEN]);
    let mut acked: HashMap<String, u64> = HashMap::new();
    let mut i = 0;
    let mut post = |s: &Server| {
        i += 1;
        let (sid, body) = big_batch(i, 120);
        let r = s.collect(&body);
        if r.status == 202 {
            acked.insert(sid, 120);
        }
        r
    };
    assert_eq!(post(&s).status, 202);
    assert_eq!(s.get("/healthz").status, 200);

    let filler = disk.fill();
    // SQLite may still have room in its WAL for a batch or two.
    let refused = (0..200)
        .map(|_| post(&s))
        .find(|r| r.status != 202)
        .expect("a full disk refuses batches");
    assert_eq!(refused.status, 503, "{}", refused.body);
    assert!(refused.body.contains("disk is full"), "{}", refused.body);
    let retry: u64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert!(retry >= 1);
    let health = s.get("/healthz");
    assert_eq!(health.status, 503);
    assert!(
        health.body.contains("writes failing: disk full"),
        "{}",
        health.body
    );
    assert!(s.get("/metrics").body.contains("trailmap_disk_full 1"));
    // Still full: still refused, never a 500, and without a commit try
    // (each failing try reloads the open sessions) for every batch.
    let failures = |s: &Server| {
        let m = s.get("/metrics").body;
        let line = m
            .lines()
            .find(|l| l.starts_with("trailmap_commit_failures_total "))
            .unwrap()
            .to_string();
        line.rsplit(' ').next().unwrap().parse::<u64>().unwrap()
    };
    let failed_before = failures(&s);
    let started = std::time::Instant::now();
    for _ in 0..30 {
        assert_eq!(post(&s).status, 503);
    }
    let tries = failures(&s) - failed_before;
    let allowed = started.elapsed().as_secs() + 2;
    assert!(
        tries <= allowed,
        "{tries} commits tried for 30 refused batches in {:?}",
        started.elapsed()
    );
    for _ in 0..5 {
        assert_eq!(s.get("/healthz").status, 503, "unhealthy while full");
    }

    std::fs::remove_file(filler).unwrap();
    assert_eq!(s.get("/healthz").status, 200, "healthy once space is back");
    for _ in 0..3 {
        let r = post(&s);
        assert_eq!(r.status, 202, "{}", r.body);
    }
    assert!(s.get("/metrics").body.contains("trailmap_disk_full 0"));
    assert_eq!(s.terminate(), Some(0));
    let (tracker, _, _) = stored(&db);
    assert_eq!(tracker, acked, "every 202 stored, nothing refused stored");
    drop(s);
}
