//! The integration-test harness: starts the real `trailmap` binary on a free
//! loopback port against a real SQLite file in a temporary directory, and
//! speaks real HTTP to it.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub const TOKEN: &str = "test-token-0123456789abcdef";
pub const ORIGIN: &str = "http://shop.test";
pub const SITE: &str = "shop";
/// A real Apache combined log (see tests/fixtures/logs).
pub const LOG: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/logs/apache_combined_semicomplete_2015.log"
);

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_trailmap")
}

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Runs `trailmap ARGS --db DB` to completion; returns (success, stdout, stderr).
pub fn run_cli(db: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(bin())
        .args(args)
        .arg("--db")
        .arg(db)
        .env_remove("TRAILMAP_TOKEN")
        .output()
        .expect("run trailmap");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A running `trailmap serve`, killed when dropped.
pub struct Server {
    pub child: Child,
    pub base: String,
    pub db: PathBuf,
    /// Lines the server printed on stdout before it listened.
    pub banner: Vec<String>,
    _dir: Option<tempfile::TempDir>,
}

impl Server {
    /// A fresh database with site "shop" (origin http://shop.test) and the
    /// test token.
    pub fn start(extra: &[&str]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("trailmap.db");
        let (ok, _, err) = run_cli(&db, &["site", "add", SITE, "--origin", ORIGIN]);
        assert!(ok, "site add failed: {err}");
        let mut args = vec!["--token", TOKEN];
        args.extend_from_slice(extra);
        let mut s = Server::start_on(&db, &args);
        s._dir = Some(dir);
        s
    }

    /// Starts the server on an existing database file.
    pub fn start_on(db: &Path, extra: &[&str]) -> Server {
        let mut child = Command::new(bin())
            .arg("serve")
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--db")
            .arg(db)
            .args(extra)
            .env_remove("TRAILMAP_TOKEN")
            .env("TRAILMAP_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn trailmap serve");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut banner = vec![];
        loop {
            match rx.recv_timeout(Duration::from_secs(30)) {
                Ok(line) => {
                    if let Some(addr) = line.strip_prefix("trailmap listening on ") {
                        return Server {
                            child,
                            base: addr.trim().to_string(),
                            db: db.to_path_buf(),
                            banner,
                            _dir: None,
                        };
                    }
                    banner.push(line);
                }
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    let mut err = String::new();
                    let _ = child.stderr.take().unwrap().read_to_string(&mut err);
                    panic!("server did not start: {err}");
                }
            }
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// POST /api/collect with a body, origin and content type.
    pub fn collect_with(&self, body: &[u8], origin: Option<&str>, content_type: &str) -> Resp {
        let mut req = agent()
            .post(&self.url("/api/collect"))
            .set("Content-Type", content_type)
            .set("User-Agent", CHROME);
        if let Some(o) = origin {
            req = req.set("Origin", o);
        }
        into_resp(req.send_bytes(body))
    }

    pub fn collect(&self, body: &str) -> Resp {
        self.collect_with(body.as_bytes(), Some(ORIGIN), "application/json")
    }

    /// GET with the test token.
    pub fn get(&self, path: &str) -> Resp {
        into_resp(
            agent()
                .get(&self.url(path))
                .set("Authorization", &format!("Bearer {TOKEN}"))
                .call(),
        )
    }

    /// PUT a JSON body with the test token.
    pub fn put(&self, path: &str, body: &str) -> Resp {
        into_resp(
            agent()
                .put(&self.url(path))
                .set("Authorization", &format!("Bearer {TOKEN}"))
                .send_string(body),
        )
    }

    /// A field of the server's /proc status in KiB (`"VmRSS:"`, `"VmHWM:"`).
    pub fn status_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("{field} in {status}"))
    }

    pub fn get_json(&self, path: &str) -> serde_json::Value {
        let r = self.get(path);
        assert_eq!(r.status, 200, "GET {path}: {}", r.body);
        serde_json::from_str(&r.body).unwrap()
    }

    /// Sends SIGTERM and waits; returns the exit code.
    pub fn terminate(&mut self) -> Option<i32> {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        self.child.wait().unwrap().code()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub const CHROME: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36";

pub fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(30))
        .build()
}

/// A response, whatever its status.
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

/// Any ureq answer as a [`Resp`] (4xx and 5xx included); a transport
/// error panics.
pub fn into_resp(r: Result<ureq::Response, ureq::Error>) -> Resp {
    let resp = match r {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("transport error: {e}"),
    };
    let headers = resp
        .headers_names()
        .into_iter()
        .map(|n| {
            let v = resp.header(&n).unwrap_or("").to_string();
            (n, v)
        })
        .collect();
    let status = resp.status();
    let body = resp.into_string().unwrap_or_default();
    Resp {
        status,
        headers,
        body,
    }
}

/// A batch body for `sid` with events given as JSON object strings.
pub fn batch(sid: &str, events: &[String]) -> String {
    format!(
        r#"{{"site":"{SITE}","sid":"{sid}","now":{},"events":[{}]}}"#,
        now_ms(),
        events.join(",")
    )
}

pub fn pageview(ts: i64, path: &str, referrer: &str) -> String {
    format!(
        r#"{{"type":"pageview","ts":{ts},"url":"{ORIGIN}{path}","referrer":"{referrer}","title":"T","vw":1280,"vh":720,"dw":1280,"dh":3000}}"#
    )
}

pub fn click(ts: i64, x: f64, y: f64, sel: &str, rage: bool) -> String {
    format!(
        r#"{{"type":"click","ts":{ts},"x":{x},"y":{y},"dw":1280,"sel":"{sel}","ox":3,"oy":4,"text":"Buy","rage":{rage}}}"#
    )
}

pub fn custom(ts: i64, name: &str, n: u64) -> String {
    format!(r#"{{"type":"custom","ts":{ts},"name":"{name}","props":{{"n":{n}}}}}"#)
}

/// Uploads a layout of `path` as the recorder does (probe, then body), at
/// a desktop width.
pub fn upload_layout(s: &Server, path: &str, html: &str) {
    let hash = sha256_hex(html);
    let query = format!(
        "site=shop&url={}&vw=1280&vh=800&dw=1280&dh=2000",
        url_encode(&format!("{ORIGIN}{path}"))
    );
    let post = |body: &[u8]| {
        into_resp(
            agent()
                .post(&s.url(&format!("/api/replay/snapshots/{hash}?{query}")))
                .set("Origin", ORIGIN)
                .send_bytes(body),
        )
    };
    assert_eq!(post(b"").status, 200);
    let r = post(&gzip(html));
    assert_eq!(r.status, 201, "{}", r.body);
}

/// A sighting of a stored layout on `path` at 1280 px, as the recorder
/// makes on every page view that shows it ("do you have it?": yes).
pub fn sight_layout(s: &Server, path: &str, html: &str) {
    let query = format!(
        "site=shop&url={}&vw=1280&vh=800&dw=1280&dh=2000",
        url_encode(&format!("{ORIGIN}{path}"))
    );
    let r = into_resp(
        agent()
            .post(&s.url(&format!(
                "/api/replay/snapshots/{}?{query}",
                sha256_hex(html)
            )))
            .set("Origin", ORIGIN)
            .send_bytes(b""),
    );
    assert_eq!(r.status, 204, "{}", r.body);
}

/// Opens the server's database directly (read-only checks in tests).
pub fn open_db(db: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(db).unwrap()
}

/// A running `trailmap demo`, killed when dropped.
pub struct Demo {
    pub child: Child,
    pub collector: String,
    pub shop: String,
    pub token: String,
    pub db: PathBuf,
    /// The visits the demo says it sent (`demo traffic sent: N sessions`).
    pub sent: usize,
    _dir: tempfile::TempDir,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn start_demo(visitors: usize) -> Demo {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(bin())
        .args([
            "demo",
            "--listen",
            "127.0.0.1:0",
            "--visitors",
            &visitors.to_string(),
            "--db",
        ])
        .arg(dir.path().join("demo.db"))
        .env_remove("TRAILMAP_TOKEN")
        .env("TRAILMAP_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let (mut collector, mut shop, mut token, mut sent) = (None, None, None, 0);
    loop {
        let line = rx
            .recv_timeout(Duration::from_secs(120))
            .expect("demo output");
        if let Some(v) = line.strip_prefix("trailmap listening on ") {
            collector = Some(v.to_string());
        } else if let Some(v) = line.strip_prefix("demo shop on ") {
            shop = Some(v.to_string());
        } else if let Some(v) = line.strip_prefix("API token: ") {
            token = Some(v.to_string());
        } else if let Some(v) = line.strip_prefix("demo traffic sent: ") {
            sent = v.split(' ').next().unwrap().parse().unwrap();
        } else if line.starts_with("ready") {
            break;
        } else if line.contains("failed") {
            panic!("{line}");
        }
    }
    Demo {
        child,
        db: dir.path().join("demo.db"),
        collector: collector.unwrap(),
        shop: shop.unwrap(),
        token: token.unwrap(),
        sent,
        _dir: dir,
    }
}

pub fn demo_get_json(demo: &Demo, path: &str) -> serde_json::Value {
    let r = agent()
        .get(&format!("{}{path}", demo.collector))
        .set("Authorization", &format!("Bearer {}", demo.token))
        .call()
        .unwrap();
    serde_json::from_str(&r.into_string().unwrap()).unwrap()
}

/// GET with the demo's token, whatever the status: (status, JSON body).
pub fn demo_get(demo: &Demo, path: &str) -> (u16, serde_json::Value) {
    let r = agent()
        .get(&format!("{}{path}", demo.collector))
        .set("Authorization", &format!("Bearer {}", demo.token))
        .call();
    let (status, body) = match r {
        Ok(r) => (r.status(), r.into_string().unwrap()),
        Err(ureq::Error::Status(c, r)) => (c, r.into_string().unwrap()),
        Err(e) => panic!("{e}"),
    };
    (status, serde_json::from_str(&body).unwrap())
}

/// A fresh database with site "blog" and the Apache log fixture imported.
pub fn imported_log() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    assert!(
        run_cli(
            &db,
            &[
                "site",
                "add",
                "blog",
                "--origin",
                "https://semicomplete.com"
            ]
        )
        .0
    );
    let (ok, _, err) = run_cli(&db, &["import", "--site", "blog", "--json", LOG]);
    assert!(ok, "{err}");
    (dir, db)
}

/// A small deterministic generator for tests' dice (xorshift).
pub struct Dice(pub u64);

impl Dice {
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// A query parameter's value, percent-encoded.
pub fn url_encode(v: &str) -> String {
    url::form_urlencoded::byte_serialize(v.as_bytes()).collect()
}

/// `s` gzipped, as the replay recorder uploads a layout.
pub fn gzip(s: &str) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(s.as_bytes()).unwrap();
    e.finish().unwrap()
}

/// The SHA-256 of `s` in lowercase hex: a layout's name.
pub fn sha256_hex(s: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
