//! `trailmap import` against hostile or odd logs, through the real binary:
//! an over-long line is skipped by reason without stopping the import (and
//! without being held in memory), nginx's and Apache's escapes are stored
//! as the client sent them, and collect's status is rounded before its
//! range check.

mod common;

use common::*;

const UA: &str = "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0 Safari/537.36";

fn line(ip: &str, target: &str, referrer: &str) -> String {
    format!(
        "{ip} - - [17/May/2015:10:05:03 +0000] \"GET {target} HTTP/1.1\" 200 5 \"{referrer}\" \"{UA}\"\n"
    )
}

/// A database with site "shop" and `log` imported with `flags`.
fn import(log: &str, flags: &[&str]) -> (tempfile::TempDir, std::path::PathBuf, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    assert!(run_cli(&db, &["site", "add", SITE, "--origin", ORIGIN]).0);
    let file = dir.path().join("access.log");
    std::fs::write(&file, log).unwrap();
    let mut args = vec!["import", "--site", SITE, "--json"];
    args.extend_from_slice(flags);
    args.push(file.to_str().unwrap());
    let (ok, out, err) = run_cli(&db, &args);
    assert!(ok, "{err}");
    let summary = serde_json::from_str(&out).unwrap();
    (dir, db, summary)
}

fn paths(db: &std::path::Path) -> Vec<String> {
    let conn = open_db(db);
    let mut stmt = conn
        .prepare("SELECT path FROM pages ORDER BY path")
        .unwrap();
    let rows = stmt.query_map([], |r| r.get(0)).unwrap();
    rows.map(Result::unwrap).collect()
}

#[test]
fn an_over_long_line_is_skipped_by_reason_and_the_rest_imported() {
    let long_target = format!("/{}", "a".repeat(200_000));
    let log = [
        line("81.2.69.142", "/first", "-"),
        line("81.2.69.142", &long_target, "-"),
        line("81.2.69.142", "/last", "-"),
    ]
    .concat();
    // The default (64 KiB) skips the 200 KB line.
    let (_dir, db, s) = import(&log, &[]);
    assert_eq!(s["lines_read"], 3);
    assert_eq!(s["lines_imported"], 2);
    assert_eq!(s["skipped"]["line_too_long"], 1, "{s}");
    assert_eq!(paths(&db), ["/first", "/last"]);
    // A smaller limit by flag skips lines the default takes.
    let (_dir, _db, s) = import(&log, &["--max-line-bytes", "256"]);
    assert_eq!(s["skipped"]["line_too_long"], 1);
    let (_dir, _db, s) = import(
        &line("81.2.69.142", &"/b".repeat(200), "-"),
        &["--max-line-bytes", "256"],
    );
    assert_eq!(s["skipped"]["line_too_long"], 1, "{s}");
    assert_eq!(s["lines_imported"], 0);
}

#[test]
fn the_line_limit_is_range_checked_and_read_from_the_file_and_env() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    assert!(run_cli(&db, &["site", "add", SITE, "--origin", ORIGIN]).0);
    let log = dir.path().join("a.log");
    std::fs::write(&log, line("81.2.69.142", &"/b".repeat(200), "-")).unwrap();
    let log = log.to_str().unwrap();
    let (ok, _, err) = run_cli(
        &db,
        &["import", "--site", SITE, "--max-line-bytes", "10", log],
    );
    assert!(!ok);
    assert!(
        err.contains("max line bytes must be 256..=67108864, got 10"),
        "{err}"
    );
    assert!(!err.contains("panicked"));
    let config = dir.path().join("trailmap.toml");
    std::fs::write(&config, "[import]\nmax_line_bytes = 256\n").unwrap();
    let out = std::process::Command::new(bin())
        .args([
            "--config",
            config.to_str().unwrap(),
            "import",
            "--site",
            SITE,
            "--json",
            log,
        ])
        .arg("--db")
        .arg(&db)
        .output()
        .unwrap();
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(s["skipped"]["line_too_long"], 1, "the file's limit applies");
    let out = std::process::Command::new(bin())
        .args(["import", "--site", SITE, "--json", log])
        .arg("--db")
        .arg(dir.path().join("other.db"))
        .env("TRAILMAP_IMPORT_MAX_LINE_BYTES", "5")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("got 5"));
}

#[test]
fn logged_escapes_are_stored_as_the_client_sent_them() {
    let log = [
        // nginx: `"` and bytes outside printable ASCII as \xHH.
        line(
            "81.2.69.142",
            r"/caf\xC3\xA9/say\x22hi\x22",
            r"https://other.example/x\x22y",
        ),
        // Apache: \" and \\.
        line("89.160.20.112", r#"/q/\"a\\b\""#, "-"),
    ]
    .concat();
    let (_dir, db, s) = import(&log, &[]);
    assert_eq!(s["lines_imported"], 2, "{s}");
    assert_eq!(paths(&db), ["/café/say\"hi\"", "/q/\"a\\b\""]);
    let conn = open_db(&db);
    let referrer: String = conn
        .query_row(
            "SELECT referrer FROM sessions WHERE referrer IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(referrer, "https://other.example/x%22y");
}

#[test]
fn a_fractional_status_is_rounded_before_its_range_check() {
    let s = Server::start(&[]);
    for (status, code) in [("599.4", 202), ("99.5", 202), ("599.5", 400)] {
        let event = format!(
            r#"{{"type":"pageview","ts":{},"url":"{ORIGIN}/","status":{status}}}"#,
            now_ms()
        );
        assert_eq!(s.collect(&batch("st", &[event])).status, code, "{status}");
    }
}
