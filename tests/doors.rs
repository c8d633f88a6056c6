//! The CLI and the API are two doors onto one service: the same request
//! gets the same bounds and the same error through either, and the same
//! answer. Each case runs through the real binary twice: as a command, and
//! as a request to a running server on the same database.

mod common;

use common::*;
use serde_json::Value;

/// (CLI arguments after the report name and `--site`, API query, the
/// reason both give).
const BAD: &[(&str, &[&str], &str, &str)] = &[
    (
        "paths",
        &["--steps", "25"],
        "steps=25",
        "steps: 25 is out of range (1 to 20)",
    ),
    (
        "paths",
        &["--top", "0"],
        "top=0",
        "top: 0 is out of range (1 to 1000)",
    ),
    (
        "paths",
        &["--start", "/no/such/page"],
        "start=/no/such/page",
        "no page \"/no/such/page\" in this site",
    ),
    (
        "funnel",
        &["--step", "^/$", "--step", ".", "--window-minutes", "-5"],
        "step=^/$&step=.&window_minutes=-5",
        "window_minutes: -5 is out of range (1 to 44640)",
    ),
    (
        "funnel",
        &["--step", "^/$"],
        "step=^/$",
        "step: a funnel needs at least two steps",
    ),
    (
        "funnel",
        &["--step", "(", "--step", "."],
        "step=(&step=.",
        "step 1 (\"(\")",
    ),
    (
        "overview",
        &["--interval", "hour"],
        "interval=hour",
        "interval: hour covers a range of at most 31 days",
    ),
    (
        "patterns",
        &["--min-len", "30"],
        "min_len=30",
        "min_len: 30 is out of range (1 to 20)",
    ),
    (
        "patterns",
        &["--all"],
        "all=true",
        "all: needs min_support of at least 2",
    ),
    (
        "patterns",
        &["--min-len", "5", "--max-len", "3"],
        "min_len=5&max_len=3",
        "min_len: 5 is above max_len (3)",
    ),
    (
        "frustration",
        &["--worst", "5000"],
        "worst=5000",
        "worst: 5000 is out of range (0 to 1000)",
    ),
    (
        "exits",
        &["--country", "Sweden"],
        "country=Sweden",
        "country: \"Sweden\" is not an ISO 3166-1 alpha-2 code",
    ),
    (
        "exits",
        &["--from", "yesterday"],
        "from=yesterday",
        "from: expected milliseconds, YYYY-MM-DD or an RFC 3339 time",
    ),
    (
        "exits",
        &["--from", "2024-02-01", "--to", "2024-01-01"],
        "from=2024-02-01&to=2024-01-01",
        "to: the end of the range is before its start",
    ),
    (
        "journeys",
        &["--nodes", "0"],
        "nodes=0",
        "nodes: 0 is out of range (1 to 100)",
    ),
    (
        "transitions",
        &["--page", "/no/such/page"],
        "page=/no/such/page",
        "no page \"/no/such/page\" in this site",
    ),
];

#[test]
fn a_bad_request_fails_alike_through_both_doors() {
    let (_dir, db) = imported_log();
    let s = Server::start_on(&db, &["--token", TOKEN]);
    for (report, args, query, reason) in BAD {
        let mut cli = vec![*report, "--site", "blog"];
        cli.extend_from_slice(args);
        let (ok, _, err) = run_cli(&db, &cli);
        assert!(!ok, "{cli:?} should fail");
        assert!(err.contains(reason), "{cli:?}: {err}");
        let r = s.get(&format!("/api/sites/blog/{report}?{}", encode(query)));
        assert!(
            (400..500).contains(&r.status),
            "{report}?{query}: {} {}",
            r.status,
            r.body
        );
        let api = r.json()["error"].as_str().unwrap_or_default().to_string();
        assert!(api.contains(reason), "{report}?{query}: {api}");
        // One message: the CLI prints what the API answers (which puts a
        // multi-line reason, such as a regex error's, on one line).
        assert!(
            err.replace(['\n', '\r'], " ").contains(&api),
            "{cli:?}: {err} vs {api}"
        );
    }
    // An unknown site, and an unknown choice: both refused, both say why.
    let (ok, _, err) = run_cli(&db, &["exits", "--site", "nope"]);
    assert!(!ok && err.contains("unknown site \"nope\""), "{err}");
    let r = s.get("/api/sites/nope/exits");
    assert_eq!(r.status, 404, "{}", r.body);
    let (ok, _, err) = run_cli(&db, &["exits", "--site", "blog", "--device", "phone"]);
    assert!(
        !ok && err.contains("phone") && err.contains("desktop"),
        "{err}"
    );
    let r = s.get("/api/sites/blog/exits?device=phone");
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.body.contains("phone") && r.body.contains("desktop"),
        "{}",
        r.body
    );
}

#[test]
fn a_good_request_answers_alike_through_both_doors() {
    let (_dir, db) = imported_log();
    let s = Server::start_on(&db, &["--token", TOKEN]);
    let cases: &[(&str, &[&str], &str)] = &[
        ("overview", &["--top", "3"], "top=3"),
        ("overview", &["--interval", "week"], "interval=week"),
        ("overview", &["--interval", "month"], "interval=month"),
        ("paths", &["--steps", "3", "--top", "7"], "steps=3&top=7"),
        ("exits", &["--channel", "direct"], "channel=direct"),
        (
            "journeys",
            &["--steps", "3", "--nodes", "4"],
            "steps=3&nodes=4",
        ),
        (
            "funnel",
            &["--step", "^/$", "--step", ".", "--window-minutes", "30"],
            "step=^/$&step=.&window_minutes=30",
        ),
        ("patterns", &["--top", "5"], "top=5"),
        ("frustration", &["--worst", "3"], "worst=3"),
    ];
    for (report, args, query) in cases {
        let mut cli = vec![*report, "--site", "blog", "--json"];
        cli.extend_from_slice(args);
        let (ok, out, err) = run_cli(&db, &cli);
        assert!(ok, "{cli:?}: {err}");
        let from_cli: Value = serde_json::from_str(&out).unwrap();
        let from_api = s.get_json(&format!("/api/sites/blog/{report}?{}", encode(query)));
        assert_eq!(from_cli, from_api, "{report}");
    }
    // CSV is the same table through both doors.
    let (ok, out, err) = run_cli(&db, &["exits", "--site", "blog", "--csv"]);
    assert!(ok, "{err}");
    let r = s.get("/api/sites/blog/exits?format=csv");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/csv; charset=utf-8"));
    assert_eq!(out, r.body);
    assert!(
        out.starts_with("page,views,entries,exits,exit rate,bounces,bounce rate\n"),
        "{out}"
    );
}

#[test]
fn text_reports_are_tables_for_people() {
    let (_dir, db) = imported_log();
    let (ok, out, err) = run_cli(&db, &["exits", "--site", "blog", "--top-rows-unknown"]);
    assert!(!ok && err.contains("--top-rows-unknown"), "{out}{err}");
    let (ok, out, err) = run_cli(&db, &["exits", "--site", "blog"]);
    assert!(ok, "{err}");
    let mut lines = out.lines();
    assert!(lines.next().unwrap().starts_with("sessions:"), "{out}");
    assert_eq!(lines.next(), Some(""));
    assert_eq!(lines.next(), Some("pages"));
    let header = lines.next().unwrap();
    assert!(header.starts_with("page "), "{header}");
    assert!(header.contains("exit rate"), "{header}");
    // Rates as percentages, in the column under their header.
    let row = lines.next().unwrap();
    assert!(row.trim_end().ends_with('%'), "{row}");
    assert_eq!(
        row.len(),
        header.len(),
        "numbers align right, to the header's end:\n{header}\n{row}"
    );
}

#[test]
fn reads_imports_and_reindex_never_create_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("typo.db");
    for cmd in [
        &["exits", "--site", "shop"][..],
        &["search", "--site", "shop", "page:/"],
        &["site", "list"],
        // An import needs a registered site, so a database `site add` made.
        &["import", "--site", "shop", "/dev/null"],
        &["reindex"],
    ] {
        let (ok, _, err) = run_cli(&missing, cmd);
        assert!(!ok, "{cmd:?}");
        assert!(
            err.contains("no database at") && err.contains("typo.db"),
            "{cmd:?}: {err}"
        );
        assert!(!missing.exists(), "{cmd:?} created {}", missing.display());
    }
}

/// A query string with its values percent-encoded.
fn encode(query: &str) -> String {
    query
        .split('&')
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            format!("{k}={}", url_encode(v))
        })
        .collect::<Vec<_>>()
        .join("&")
}

fn url_encode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
