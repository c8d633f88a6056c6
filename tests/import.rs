//! `trailmap import` through the real binary into a real SQLite file, on the
//! real Apache log of tests/fixtures/logs. The expected counts come from
//! tests/fixtures/logs/verify_counts.py, an independent implementation (a
//! plain regex parser, Python's woothee and the isbot list for bots, its own
//! 30-minute sessionizer); see its docstring for the command.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::*;
use serde_json::Value;

fn fresh_db() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let (ok, _, err) = run_cli(
        &db,
        &[
            "site",
            "add",
            "blog",
            "--origin",
            "https://semicomplete.com",
        ],
    );
    assert!(ok, "{err}");
    (dir, db)
}

fn import(db: &Path, args: &[&str]) -> Value {
    let mut all = vec!["import", "--site", "blog", "--json"];
    all.extend_from_slice(args);
    let (ok, out, err) = run_cli(db, &all);
    assert!(ok, "import failed: {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

fn count(db: &Path, sql: &str) -> i64 {
    open_db(db).query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn the_apache_log_imports_with_independently_verified_counts() {
    let (_dir, db) = fresh_db();
    let s = import(&db, &[LOG]);
    assert_eq!(s["lines_read"], 10_000);
    assert_eq!(s["lines_imported"], 1_704);
    assert_eq!(s["pageviews_created"], 1_704);
    assert_eq!(s["lines_skipped"], 10_000 - 1_704);
    let skipped = &s["skipped"];
    assert_eq!(skipped["unclosed_quote"], 1, "line 8899");
    assert_eq!(skipped["not_page_view"], 48);
    assert_eq!(skipped["redirect"], 163);
    assert_eq!(skipped["static_asset"], 5_702);
    assert_eq!(skipped["bot"], 2_382);
    assert_eq!(s["sessions_created"], 1_132);
    assert!(s["lines_per_sec"].as_f64().unwrap() > 0.0);
    assert_eq!(s["inputs"][0]["status"], "imported");

    assert_eq!(count(&db, "SELECT COUNT(*) FROM sessions"), 1_132);
    assert_eq!(
        count(&db, "SELECT COUNT(DISTINCT visitor) FROM sessions"),
        969
    );
    assert_eq!(count(&db, "SELECT SUM(page_count) FROM sessions"), 1_704);
    assert_eq!(
        count(&db, "SELECT SUM(error_pages) FROM sessions"),
        31,
        "403 and 404s kept as pages"
    );
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM sessions WHERE source = 2"),
        1_132,
        "source: log"
    );
    let statuses: Vec<(i64, i64)> = {
        let conn = open_db(&db);
        let mut stmt = conn
            .prepare(
                "SELECT json_extract(e.value, '$.status') AS st, COUNT(*) FROM event_chunks c, json_each(c.events) e
                 GROUP BY st ORDER BY st",
            )
            .unwrap();
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
        rows.map(Result::unwrap).collect()
    };
    assert_eq!(statuses, [(200, 1_647), (304, 26), (403, 1), (404, 30)]);
    // No address reaches the disk.
    let bytes = std::fs::read(&db).unwrap();
    assert!(
        !String::from_utf8_lossy(&bytes).contains("83.149.9.216"),
        "first line's client"
    );
}

#[test]
fn imported_sessions_are_served_by_the_read_api_like_the_trackers() {
    let (_dir, db) = fresh_db();
    import(&db, &[LOG]);
    let s = Server::start_on(&db, &["--token", TOKEN]);
    let list = s.get_json("/api/sites/blog/sessions?limit=1000");
    let sessions = list["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 1000);
    assert!(sessions.iter().all(|x| x["source"] == "log"));
    assert!(
        sessions.iter().any(|x| x["channel"] == "organic_search"),
        "search referrers"
    );
    assert!(sessions.iter().any(|x| x["channel"] == "direct"));
    let first = &sessions[0];
    let detail = s.get_json(&format!("/api/sites/blog/sessions/{}", first["id"]));
    let events = detail["events"].as_array().unwrap();
    assert_eq!(events.len() as i64, first["page_count"].as_i64().unwrap());
    assert!(events[0]["url"]
        .as_str()
        .unwrap()
        .starts_with("https://semicomplete.com/"));
    let times: Vec<i64> = events.iter().map(|e| e["ts"].as_i64().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "in time order");
}

#[test]
fn importing_twice_adds_nothing_and_a_grown_file_resumes() {
    let (dir, db) = fresh_db();
    let text = std::fs::read_to_string(LOG).unwrap();
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let growing = dir.path().join("access.log");
    std::fs::write(&growing, lines[..6000].concat()).unwrap();
    let first = import(&db, &[growing.to_str().unwrap()]);
    assert_eq!(first["lines_read"], 6000);
    let again = import(&db, &[growing.to_str().unwrap()]);
    assert_eq!(again["inputs"][0]["status"], "already imported");
    assert_eq!(again["lines_imported"], 0);
    assert_eq!(again["skipped"]["imported_before"], 6000);
    // The log grows; the next import reads only the new lines.
    std::fs::write(&growing, text.as_bytes()).unwrap();
    let rest = import(&db, &[growing.to_str().unwrap()]);
    assert_eq!(rest["inputs"][0]["status"], "resumed");
    assert_eq!(rest["lines_read"], 10_000);
    assert_eq!(rest["skipped"]["imported_before"], 6000);
    assert_eq!(
        count(&db, "SELECT SUM(page_count) FROM sessions"),
        1_704,
        "every page view exactly once"
    );
}

#[test]
fn an_import_killed_midway_resumes_where_its_last_commit_stopped() {
    let (dir, db) = fresh_db();
    // A log big enough to kill mid-way: the fixture ten times, a day apart.
    let text = std::fs::read_to_string(LOG).unwrap();
    let big = dir.path().join("big.log");
    let mut out = std::fs::File::create(&big).unwrap();
    for day in 0..10 {
        for line in text.lines() {
            writeln!(
                out,
                "{}",
                line.replacen("/May/2015", &format!("/Jun/20{:02}", 15 + day), 1)
            )
            .unwrap();
        }
    }
    drop(out);
    let mut child = Command::new(bin())
        .args([
            "import",
            "--site",
            "blog",
            "--json",
            "--commit-every",
            "5000",
            "--db",
        ])
        .arg(&db)
        .arg(&big)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    // Wait for the first commits to land, then SIGKILL.
    let started = std::time::Instant::now();
    loop {
        let committed: i64 = rusqlite::Connection::open(&db)
            .and_then(|c| {
                c.query_row("SELECT IFNULL(MAX(lines), 0) FROM import_files", [], |r| {
                    r.get(0)
                })
            })
            .unwrap_or(0);
        if committed >= 20_000 || started.elapsed().as_secs() > 60 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let resumed = import(&db, &[big.to_str().unwrap()]);
    let before = resumed["skipped"]["imported_before"].as_i64().unwrap_or(0);
    assert!(
        before > 0 && before < 100_000,
        "resumed mid-way, after {before} lines"
    );
    assert_eq!(resumed["lines_read"], 100_000);
    // Exactly what a clean import gives.
    let (_dir2, clean) = fresh_db();
    import(&clean, &["--commit-every", "5000", big.to_str().unwrap()]);
    assert_eq!(
        count(&db, "SELECT SUM(page_count) FROM sessions"),
        count(&clean, "SELECT SUM(page_count) FROM sessions")
    );
    assert_eq!(count(&db, "SELECT SUM(page_count) FROM sessions"), 17_040);
}

#[test]
fn gzip_files_and_stdin_import_the_same() {
    let (dir, db) = fresh_db();
    let gz = dir.path().join("access.log.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::fast(),
    );
    enc.write_all(&std::fs::read(LOG).unwrap()).unwrap();
    enc.finish().unwrap();
    let s = import(&db, &[gz.to_str().unwrap()]);
    assert_eq!(s["lines_imported"], 1_704);

    let (_dir2, db2) = fresh_db();
    let mut child = Command::new(bin())
        .args(["import", "--site", "blog", "--json", "-", "--db"])
        .arg(&db2)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&std::fs::read(LOG).unwrap())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let s2: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(s2["lines_imported"], 1_704);
    assert_eq!(s2["sessions_created"], s["sessions_created"]);
}

#[test]
fn switches_change_what_is_imported() {
    let (_dir, db) = fresh_db();
    let with_bots = import(&db, &["--enable-bots", LOG]);
    assert_eq!(with_bots["lines_imported"], 1_704 + 2_382);
    let (_dir, db) = fresh_db();
    let only_blog = import(
        &db,
        &["--include-path", "^/blog/", "--exclude-path", "tags", LOG],
    );
    assert!(only_blog["skipped"]["excluded_path"].as_i64().unwrap() > 0);
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM pages WHERE path NOT LIKE '/blog/%' OR path LIKE '%tags%'"
        ),
        0
    );
}

#[test]
fn every_default_skip_can_be_switched_off() {
    let (_dir, db) = fresh_db();
    let all = import(
        &db,
        &[
            "--enable-bots",
            "--enable-static",
            "--enable-redirects",
            "--enable-all-methods",
            LOG,
        ],
    );
    assert_eq!(
        all["lines_imported"],
        10_000 - 1,
        "everything but the malformed line"
    );
}

#[test]
fn imported_sessions_get_geoip_and_channels() {
    let (dir, db) = fresh_db();
    let log = dir.path().join("geo.log");
    std::fs::write(
        &log,
        concat!(
            "81.2.69.142 - - [17/May/2015:10:05:03 +0000] \"GET /landing?utm_source=news&utm_medium=email HTTP/1.1\" 200 10 \"-\" \"Mozilla/5.0 (X11; Linux x86_64) Firefox/100.0\"\n",
            "89.160.20.112 - - [17/May/2015:10:06:03 +0000] \"GET /post HTTP/1.1\" 200 10 \"https://www.google.se/\" \"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1\"\n",
        ),
    )
    .unwrap();
    let geoip = fixture("mmdb/GeoIP2-City-Test.mmdb");
    import(
        &db,
        &["--geoip", geoip.to_str().unwrap(), log.to_str().unwrap()],
    );
    let conn = open_db(&db);
    let mut stmt = conn
        .prepare("SELECT country, city, channel, device FROM sessions ORDER BY start_ms")
        .unwrap();
    let rows: Vec<(String, String, String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        rows,
        [
            (
                "GB".into(),
                "London".into(),
                "email".into(),
                "desktop".into()
            ),
            (
                "SE".into(),
                "Linköping".into(),
                "organic_search".into(),
                "mobile".into()
            )
        ]
    );
}

#[test]
fn bad_lines_are_counted_by_reason_and_never_stop_the_import() {
    let (dir, db) = fresh_db();
    let nasty = dir.path().join("nasty.log");
    std::fs::write(
        &nasty,
        concat!(
            "1.2.3.4 - - [17/May/2015:10:05:03 +0000] \"GET /ok HTTP/1.1\" 200 10 \"-\" \"Mozilla/5.0 (X11; Linux x86_64) Firefox/100.0\"\n",
            "1.2.3.4 - - [17/May/2015:10:05:03 +0000] \"\\x16\\x03\\x01\\x00\" 400 0 \"-\" \"-\"\n",
            "1.2.3.4 - - [17/May/2015:10:05:03 +0000] \"CONNECT example.com:443 HTTP/1.1\" 200 0 \"-\" \"x\"\n",
            "1.2.3.4 - - [17/May/2015:10:05:03 +0000] \"GET /unclosed HTTP/1.1\" 200 10 \"-\" \"Mozilla\n",
            "garbage line\n",
            "\n",
            "1.2.3.4 - - [17/May/2015:10:04:00 +0000] \"GET /earlier HTTP/1.1\" 200 10 \"-\" \"Mozilla/5.0 (X11; Linux x86_64) Firefox/100.0\"\n",
        ),
    )
    .unwrap();
    let s = import(&db, &[nasty.to_str().unwrap()]);
    assert_eq!(s["lines_read"], 7);
    assert_eq!(s["lines_imported"], 2);
    assert_eq!(s["lines_skipped"], 5);
    assert_eq!(s["skipped"]["not_page_view"], 1, "CONNECT");
    // The line stepping back in time is placed first in its session.
    let conn = open_db(&db);
    let pages: Vec<u8> = conn
        .query_row("SELECT pages FROM sessions", [], |r| r.get(0))
        .unwrap();
    let entry: String = conn
        .query_row(
            "SELECT path FROM pages WHERE id = ?1",
            [u32::from_le_bytes(pages[..4].try_into().unwrap())],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(entry, "/earlier");
}

#[test]
fn the_msnbc_sequence_format_imports_one_session_per_line() {
    let (dir, db) = fresh_db();
    let seq = dir.path().join("tiny.seq");
    std::fs::write(&seq, "1 1 2 \r\n6 7 7 8 \r\n\r\n14 \r\n").unwrap();
    let s = import(&db, &["--format", "seq", seq.to_str().unwrap()]);
    assert_eq!(s["lines_imported"], 3);
    assert_eq!(s["pageviews_created"], 8);
    assert_eq!(s["sessions_created"], 3);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM pages"), 6);
}

#[test]
fn an_unknown_site_or_format_is_a_clear_error() {
    let (_dir, db) = fresh_db();
    let (ok, _, err) = run_cli(&db, &["import", "--site", "nope", LOG]);
    assert!(!ok && err.contains("unknown site"), "{err}");
    let (ok, _, err) = run_cli(&db, &["import", "--site", "blog", "--format", "%h %Q", LOG]);
    assert!(!ok && err.contains("invalid --format"), "{err}");
    let (ok, _, err) = run_cli(&db, &["import", "--site", "blog", "/no/such/file.log"]);
    assert!(!ok && err.contains("/no/such/file.log"), "{err}");
}

/// `trailmap import` follows the collector's session rule from the same
/// settings: `session_timeout_minutes` in trailmap.toml (or its variable)
/// changes the import's sessions, and the flag beats the variable, which
/// beats the file. Two page views 15 minutes apart are one session under
/// the default 30 minutes and two under 10.
#[test]
fn the_session_timeout_of_trailmap_toml_reaches_import() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let view = |time: &str, path: &str| {
        format!(
            "81.2.69.142 - - [17/May/2015:{time} +0000] \"GET {path} HTTP/1.1\" 200 5 \"-\" \"{CHROME}\"\n"
        )
    };
    std::fs::write(&log, view("10:00:00", "/") + &view("10:15:00", "/about")).unwrap();
    let toml = |name: &str, text: &str| {
        let folder = dir.path().join(name);
        std::fs::create_dir(&folder).unwrap();
        std::fs::write(folder.join("trailmap.toml"), text).unwrap();
        folder
    };
    let ten = toml("ten", "session_timeout_minutes = 10\n");
    let older_name = toml("older", "[serve]\nsession_timeout_minutes = 10\n");
    let none = dir.path().join("none");
    std::fs::create_dir(&none).unwrap();

    // (working directory with or without ./trailmap.toml, variable, flags, sessions)
    let cases: &[(&Path, Option<&str>, &[&str], i64)] = &[
        (&none, None, &[], 1),
        (&ten, None, &[], 2),
        (&older_name, None, &[], 2),
        (&ten, None, &["--session-timeout-minutes", "30"], 1),
        (&none, Some("10"), &[], 2),
        (&ten, Some("30"), &[], 1),
        (&ten, Some("30"), &["--session-timeout-minutes", "10"], 2),
    ];
    for (i, (cwd, var, flags, sessions)) in cases.iter().enumerate() {
        let db = dir.path().join(format!("{i}.db"));
        let (ok, _, err) = run_cli(&db, &["site", "add", "blog", "--origin", "https://b.test"]);
        assert!(ok, "{err}");
        let mut cmd = Command::new(bin());
        cmd.current_dir(cwd)
            .args(["import", "--site", "blog", "--json"])
            .args(*flags)
            .arg(&log)
            .arg("--db")
            .arg(&db)
            .env_remove("TRAILMAP_CONFIG")
            .env_remove("TRAILMAP_SESSION_TIMEOUT_MINUTES");
        if let Some(v) = var {
            cmd.env("TRAILMAP_SESSION_TIMEOUT_MINUTES", v);
        }
        let out = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "case {i}: {stderr}");
        let s: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(s["pageviews_created"], 2, "case {i}");
        assert_eq!(
            s["sessions_created"], *sessions,
            "case {i}: {cwd:?} {var:?} {flags:?}"
        );
        assert_eq!(count(&db, "SELECT COUNT(*) FROM sessions"), *sessions);
    }

    // The same file named by --config, and the collector's bounds.
    let db = dir.path().join("config.db");
    assert!(run_cli(&db, &["site", "add", "blog", "--origin", "https://b.test"]).0);
    let config = ten.join("trailmap.toml");
    let config = config.to_str().unwrap();
    let s = import(&db, &["--config", config, log.to_str().unwrap()]);
    assert_eq!(s["sessions_created"], 2);
    let (ok, _, err) = run_cli(
        &db,
        &[
            "import",
            "--site",
            "blog",
            "--session-timeout-minutes",
            "1441",
            LOG,
        ],
    );
    assert!(!ok && err.contains("1..=1440"), "{err}");
}
