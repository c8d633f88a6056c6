//! Enrichment and privacy through the real server: GeoIP from the MaxMind
//! test databases, no raw address on disk, the token printed once, and
//! settings from trailmap.toml.

mod common;

use std::process::Command;

use common::*;

fn post_from(s: &Server, ip: &str, ua: &str, sid: &str) -> u16 {
    let body = batch(sid, &[pageview(now_ms(), "/", "https://www.google.com/")]);
    match agent()
        .post(&s.url("/api/collect"))
        .set("Content-Type", "application/json")
        .set("Origin", ORIGIN)
        .set("User-Agent", ua)
        .set("X-Forwarded-For", ip)
        .send_string(&body)
    {
        Ok(r) => r.status(),
        Err(ureq::Error::Status(c, _)) => c,
        Err(e) => panic!("{e}"),
    }
}

const IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
const GOOGLEBOT: &str = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";

#[test]
fn sessions_are_enriched_with_geoip_agent_and_channel() {
    let geoip = fixture("mmdb/GeoIP2-City-Test.mmdb");
    let s = Server::start(&["--geoip", geoip.to_str().unwrap(), "--trust-proxy", "true"]);
    assert_eq!(post_from(&s, "89.160.20.112", IPHONE, "se"), 202);
    assert_eq!(post_from(&s, "216.160.83.56", CHROME, "us"), 202);
    assert_eq!(post_from(&s, "127.0.0.1", GOOGLEBOT, "bot"), 202);
    // Bots are listed only when asked for.
    let list = s.get_json("/api/sites/shop/sessions?include_bots=true");
    let by_sid = |entry: usize| list["sessions"][entry].clone();
    // Newest first: bot, us, se.
    let (bot, us, se) = (by_sid(0), by_sid(1), by_sid(2));
    assert_eq!(
        (
            se["country"].as_str(),
            se["region"].as_str(),
            se["city"].as_str()
        ),
        (Some("SE"), Some("E"), Some("Linköping"))
    );
    assert_eq!(se["device"], "mobile");
    assert_eq!(se["channel"], "organic_search");
    assert_eq!(se["referrer_domain"], "google.com");
    assert_eq!(
        (
            us["country"].as_str(),
            us["region"].as_str(),
            us["city"].as_str()
        ),
        (Some("US"), Some("WA"), Some("Milton"))
    );
    assert_eq!(us["browser"], "Chrome");
    assert_eq!(bot["is_bot"], true);
    assert_eq!(bot["device"], "bot");
    assert!(bot["country"].is_null(), "loopback has no record");
}

#[test]
fn no_raw_ip_address_reaches_the_disk() {
    let s = Server::start(&["--trust-proxy", "true"]);
    for (i, ip) in ["81.2.69.142", "89.160.20.112", "2001:218::1"]
        .iter()
        .enumerate()
    {
        assert_eq!(post_from(&s, ip, CHROME, &format!("ip{i}")), 202);
    }
    let mut s = s;
    assert_eq!(s.terminate(), Some(0));
    // The database, its WAL, and the search index's files.
    let mut files = vec![];
    let mut dirs = vec![s.db.parent().unwrap().to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                files.push(path);
            }
        }
    }
    assert!(files
        .iter()
        .any(|f| f.to_string_lossy().contains(".search")));
    for path in files {
        let bytes = std::fs::read(&path).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        for ip in ["81.2.69.142", "89.160.20.112", "2001:218::1", "10.0.0.1"] {
            assert!(!text.contains(ip), "{ip} found in {}", path.display());
        }
        // Nor the binary form of the v4 address.
        assert!(
            !bytes.windows(4).any(|w| w == [81, 2, 69, 142]),
            "raw v4 bytes in {}",
            path.display()
        );
    }
}

#[test]
fn a_broken_geoip_database_stops_the_start_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    for (file, needle) in [
        ("mmdb/MaxMind-DB-test-broken-pointers-24.mmdb", "is invalid"),
        ("mmdb/does-not-exist.mmdb", "cannot open GeoIP database"),
    ] {
        let out = Command::new(bin())
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--token",
                TOKEN,
                "--geoip",
            ])
            .arg(fixture(file))
            .arg("--db")
            .arg(dir.path().join("t.db"))
            .output()
            .unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{file}: {err}");
        assert!(!err.contains("panicked"));
    }
}

#[test]
fn a_token_is_generated_on_first_start_and_printed_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    run_cli(&db, &["site", "add", "shop", "--origin", ORIGIN]);
    let first = Server::start_on(&db, &[]);
    let line = first
        .banner
        .iter()
        .find(|l| l.contains("generated API token"))
        .expect("token printed on first start");
    let token = line.rsplit(' ').next().unwrap().to_string();
    let ok = agent()
        .get(&first.url("/api/sites"))
        .set("Authorization", &format!("Bearer {token}"))
        .call()
        .unwrap();
    assert_eq!(ok.status(), 200);
    drop(first);
    let second = Server::start_on(&db, &[]);
    assert!(
        second.banner.iter().all(|l| !l.contains("token")),
        "printed only once"
    );
    let still = agent()
        .get(&second.url("/api/sites"))
        .set("Authorization", &format!("Bearer {token}"))
        .call()
        .unwrap();
    assert_eq!(still.status(), 200);
    // The database keeps only a digest.
    let conn = open_db(&db);
    let stored: String = conn
        .query_row("SELECT value FROM meta", [], |r| r.get(0))
        .unwrap();
    assert_ne!(stored, token);
}

#[test]
fn settings_come_from_trailmap_toml_and_flags_win() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("from-file.db");
    let config = dir.path().join("trailmap.toml");
    std::fs::write(
        &config,
        format!(
            "db = {:?}\n[serve]\ntoken = \"file-token-0123456789\"\nmax_events_per_batch = 2\n",
            db.to_str().unwrap()
        ),
    )
    .unwrap();
    let cfg = config.to_str().unwrap();
    let out = Command::new(bin())
        .args(["--config", cfg, "site", "add", "shop", "--origin", ORIGIN])
        .output()
        .unwrap();
    assert!(out.status.success());
    let mut child = Command::new(bin())
        .args(["--config", cfg, "serve", "--listen", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let base = line
        .trim()
        .strip_prefix("trailmap listening on ")
        .unwrap()
        .to_string();
    let three = batch("t", &vec![pageview(now_ms(), "/", ""); 3]);
    let r = agent()
        .post(&format!("{base}/api/collect"))
        .set("Content-Type", "application/json")
        .set("Origin", ORIGIN)
        .send_string(&three);
    assert!(
        matches!(r, Err(ureq::Error::Status(400, _))),
        "file's batch limit applies"
    );
    let listed = agent()
        .get(&format!("{base}/api/sites"))
        .set("Authorization", "Bearer file-token-0123456789")
        .call()
        .unwrap();
    assert_eq!(listed.status(), 200);
    let _ = child.kill();
    let _ = child.wait();
    assert!(db.exists(), "the file's db path is used");
}

/// Secrets a visitor's browser or a logged request can carry, each planted
/// in one place: none may reach the database, its WAL or the search index.
const SECRETS: &[&str] = &[
    "TOKENsessref4242",    // the session's referrer (a password-reset link)
    "jane.doe@mail.test",  // the same link's email, a title, a link text
    "TOKENeventref4242",   // a later page view's (same-site) referrer
    "TOKENhref4242",       // a clicked link to another site
    "TOKENrelhref4242",    // a clicked relative link
    "4111 1111 1111 1111", // a card number in a title
    "0612345678",          // a phone number in a custom event's prop
    "TOKENimport4242",     // an imported line's referrer
    "imp.user@mail.test",  // an imported referrer's path
];

fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = vec![];
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files
}

fn assert_no_secret_on_disk(dir: &std::path::Path) {
    let files = files_under(dir);
    assert!(files
        .iter()
        .any(|f| f.to_string_lossy().contains(".search")));
    for path in files {
        let bytes = std::fs::read(&path).unwrap();
        for secret in SECRETS {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{secret} found in {}",
                path.display()
            );
        }
    }
}

fn search_total(s: &Server, q: &str) -> u64 {
    let q: String = q
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    s.get_json(&format!("/api/sites/shop/sessions?q={q}"))["total"]
        .as_u64()
        .unwrap()
}

#[test]
fn visitor_urls_and_text_are_cleaned_before_anything_stores_them() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    assert!(run_cli(&db, &["site", "add", SITE, "--origin", ORIGIN]).0);
    // Through import: a referrer with a query and an email in its path.
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("access.log");
    std::fs::write(
        &log,
        concat!(
            r#"81.2.69.142 - - [17/May/2015:10:05:03 +0000] "GET /from-log HTTP/1.1" 200 5 "#,
            r#""https://webmail.example/u/imp.user@mail.test/view?t=TOKENimport4242#m" "#,
            r#""Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0 Safari/537.36""#,
            "\n"
        ),
    )
    .unwrap();
    let (ok, out, err) = run_cli(
        &db,
        &["import", "--site", SITE, "--json", log.to_str().unwrap()],
    );
    assert!(ok, "{err}");
    assert!(out.contains(r#""lines_imported":1"#), "{out}");

    // Through collect.
    let s = Server::start_on(&db, &["--token", TOKEN]);
    let t = now_ms() - 60_000;
    let events = [
        format!(
            r#"{{"type":"pageview","ts":{t},"url":"{ORIGIN}/reset-done","title":"Order for jane.doe@mail.test, card 4111 1111 1111 1111",
               "referrer":"https://mail.example.com/reset?email=jane.doe@mail.test&token=TOKENsessref4242#x"}}"#
        ),
        format!(
            r#"{{"type":"pageview","ts":{},"url":"{ORIGIN}/account","referrer":"{ORIGIN}/reset-done?token=TOKENeventref4242"}}"#,
            t + 1000
        ),
        format!(
            r#"{{"type":"click","ts":{},"x":1,"y":2,"sel":"a","href":"https://pay.example/go?token=TOKENhref4242","text":"Mail jane.doe@mail.test"}}"#,
            t + 2000
        ),
        format!(
            r#"{{"type":"click","ts":{},"x":1,"y":2,"sel":"a","href":"/orders?token=TOKENrelhref4242#top","text":"Orders"}}"#,
            t + 3000
        ),
        format!(
            r#"{{"type":"custom","ts":{},"name":"callback","props":{{"phone":"0612345678","plan":"pro"}}}}"#,
            t + 4000
        ),
    ];
    assert_eq!(s.collect(&batch("privacy", &events)).status, 202);

    // The index has caught up with both sessions.
    let started = std::time::Instant::now();
    while search_total(&s, "") < 2 {
        assert!(
            started.elapsed().as_secs() < 10,
            "the index did not catch up"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_no_secret_on_disk(dir.path());
    // Kept: where visitors came from, without what the link carried.
    let conn = open_db(&db);
    let mut referrers: Vec<String> = conn
        .prepare("SELECT referrer FROM sessions ORDER BY referrer")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    referrers.sort();
    assert_eq!(
        referrers,
        [
            "https://mail.example.com/reset",
            "https://webmail.example/u/******************/view"
        ]
    );
    // And of events: what the link and the text were, without the secrets.
    let events: String = conn
        .query_row(
            "SELECT group_concat(events, ' ') FROM event_chunks",
            [],
            |r| r.get(0),
        )
        .unwrap();
    for kept in [
        r#""referrer":"http://shop.test/reset-done""#,
        r#""href":"https://pay.example/go""#,
        r#""href":"/orders""#,
        r#""text":"Mail ******************""#,
        "Order for ******************, card **** **** **** ****",
        r#""phone":"**********""#,
        r#""plan":"pro""#,
    ] {
        assert!(events.contains(kept), "{kept} not in {events}");
    }
    assert_eq!(search_total(&s, "referrer:mail.example.com"), 1);
    for token in [
        "TOKENsessref4242",
        "TOKENeventref4242",
        "TOKENhref4242",
        "TOKENimport4242",
    ] {
        assert_eq!(search_total(&s, token), 0, "{token}");
    }
    let mut s = s;
    assert_eq!(s.terminate(), Some(0));
    assert_no_secret_on_disk(dir.path());
}
