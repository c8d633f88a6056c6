//! Collect and read back through the real server: the happy path, sessions,
//! the read API, and every kind of bad input.

mod common;

use common::*;

#[test]
fn a_batch_is_stored_and_replayable_in_order() {
    let s = Server::start(&[]);
    let t = now_ms() - 10_000;
    let body = batch(
        "tab-1",
        &[
            pageview(
                t,
                "/product/42?utm_source=newsletter&utm_medium=email",
                "https://mail.example/",
            ),
            click(t + 1000, 640.5, 812.0, "main>div.buy>button", false),
            format!(
                r#"{{"type":"scroll","ts":{},"depth":1400,"max_depth":2100}}"#,
                t + 2000
            ),
            pageview(t + 3000, "/cart", ""),
            custom(t + 3500, "checkout_start", 1),
            format!(
                r#"{{"type":"leave","ts":{},"engaged_ms":5300,"max_depth":900}}"#,
                t + 4000
            ),
        ],
    );
    let r = s.collect(&body);
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.header("access-control-allow-origin"), Some(ORIGIN));

    let list = s.get_json("/api/sites/shop/sessions");
    let sessions = list["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 1);
    let summary = &sessions[0];
    assert_eq!(summary["entry_page"], "/product/42");
    assert_eq!(summary["exit_page"], "/cart");
    assert_eq!(summary["page_count"], 2);
    assert_eq!(summary["event_count"], 6);
    assert_eq!(summary["channel"], "email");
    assert_eq!(summary["utm_source"], "newsletter");
    assert_eq!(summary["browser"], "Chrome");
    assert_eq!(summary["device"], "desktop");
    assert_eq!(summary["is_bot"], false);
    assert_eq!(summary["source"], "tracker");
    assert_eq!(summary["duration_ms"], 4000);

    let id = summary["id"].as_i64().unwrap();
    let detail = s.get_json(&format!("/api/sites/shop/sessions/{id}"));
    assert_eq!(detail["pages"], serde_json::json!(["/product/42", "/cart"]));
    let events = detail["events"].as_array().unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["pageview", "click", "scroll", "pageview", "custom", "leave"]
    );
    let pages: Vec<&str> = events.iter().map(|e| e["page"].as_str().unwrap()).collect();
    assert_eq!(
        pages,
        [
            "/product/42",
            "/product/42",
            "/product/42",
            "/cart",
            "/cart",
            "/cart"
        ]
    );
    assert_eq!(events[1]["x"], 640.5);
    assert_eq!(events[1]["sel"], "main>div.buy>button");
    assert_eq!(events[2]["max_depth"], 2100);
    assert_eq!(events[4]["props"]["n"], 1);
    assert_eq!(events[5]["engaged_ms"], 5300);
    let seqs: Vec<i64> = events.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, [0, 1, 2, 3, 4, 5]);
}

#[test]
fn later_batches_continue_the_session_and_inactivity_starts_a_new_one() {
    let s = Server::start(&[]);
    let now = now_ms();
    let min = 60_000;
    // Fifty minutes ago, then forty-five: one session.
    assert_eq!(
        s.collect(&batch("tab", &[pageview(now - 50 * min, "/a", "")]))
            .status,
        202
    );
    assert_eq!(
        s.collect(&batch("tab", &[pageview(now - 45 * min, "/b", "")]))
            .status,
        202
    );
    // Ten minutes ago: 35 minutes of inactivity, a new session.
    assert_eq!(
        s.collect(&batch("tab", &[pageview(now - 10 * min, "/c", "")]))
            .status,
        202
    );
    // Another tab is another session.
    assert_eq!(
        s.collect(&batch("tab2", &[pageview(now - 9 * min, "/d", "")]))
            .status,
        202
    );

    let list = s.get_json("/api/sites/shop/sessions");
    let pages: Vec<(String, i64)> = list["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["entry_page"].as_str().unwrap().to_string(),
                x["page_count"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        pages,
        [("/d".into(), 1), ("/c".into(), 1), ("/a".into(), 2)]
    );
}

#[test]
fn sessions_are_listed_newest_first_across_pages() {
    let s = Server::start(&[]);
    let now = now_ms();
    for i in 0..5 {
        let r = s.collect(&batch(
            &format!("tab{i}"),
            &[pageview(now - 100_000 + i * 1000, &format!("/p{i}"), "")],
        ));
        assert_eq!(r.status, 202);
    }
    let mut seen = vec![];
    let mut path = "/api/sites/shop/sessions?limit=2".to_string();
    loop {
        let page = s.get_json(&path);
        for x in page["sessions"].as_array().unwrap() {
            seen.push(x["entry_page"].as_str().unwrap().to_string());
        }
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/api/sites/shop/sessions?limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, ["/p4", "/p3", "/p2", "/p1", "/p0"]);
    // A time window.
    let from = now - 100_000 + 1500;
    let to = now - 100_000 + 3500;
    let page = s.get_json(&format!("/api/sites/shop/sessions?from={from}&to={to}"));
    let entries: Vec<&str> = page["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["entry_page"].as_str().unwrap())
        .collect();
    assert_eq!(entries, ["/p3", "/p2"]);
    let bad = s.get("/api/sites/shop/sessions?limit=0");
    assert_eq!(bad.status, 400);
    assert!(bad.json()["error"].as_str().unwrap().contains("limit"));
    assert_eq!(s.get("/api/sites/shop/sessions?from=yesterday").status, 400);
    assert_eq!(s.get("/api/sites/shop/sessions?cursor=zzz").status, 400);
    assert_eq!(s.get("/api/sites/nope/sessions").status, 404);
    assert_eq!(s.get("/api/sites/shop/sessions/999999").status, 404);
    assert_eq!(s.get("/api/sites/shop/sessions/abc").status, 400);
}

#[test]
fn read_api_needs_the_token_and_ingest_does_not() {
    let s = Server::start(&[]);
    let no_token = ureq::get(&s.url("/api/sites")).call();
    match no_token {
        Err(ureq::Error::Status(code, r)) => {
            assert_eq!(code, 401);
            assert_eq!(r.header("www-authenticate"), Some("Bearer"));
        }
        other => panic!("expected 401, got {other:?}"),
    }
    let wrong = ureq::get(&s.url("/api/sites/shop/sessions"))
        .set("Authorization", "Bearer not-the-token-at-all")
        .call();
    assert!(matches!(wrong, Err(ureq::Error::Status(401, _))));
    let sites = s.get_json("/api/sites");
    assert_eq!(sites["sites"][0]["name"], "shop");
    assert_eq!(sites["sites"][0]["origins"][0], ORIGIN);
    // Health and metrics are public.
    assert_eq!(
        ureq::get(&s.url("/healthz"))
            .call()
            .unwrap()
            .into_string()
            .unwrap(),
        "ok\n"
    );
}

#[test]
fn sendbeacon_text_plain_is_accepted() {
    let s = Server::start(&[]);
    let body = batch("beacon", &[pageview(now_ms(), "/", "")]);
    let r = s.collect_with(body.as_bytes(), Some(ORIGIN), "text/plain;charset=UTF-8");
    assert_eq!(r.status, 202, "{}", r.body);
}

/// One bad request and what it must get back.
struct BadCase {
    name: &'static str,
    body: Vec<u8>,
    origin: Option<&'static str>,
    content_type: &'static str,
    status: u16,
    reason_contains: &'static str,
}

fn bad(
    name: &'static str,
    body: impl Into<Vec<u8>>,
    status: u16,
    reason_contains: &'static str,
) -> BadCase {
    BadCase {
        name,
        body: body.into(),
        origin: Some(ORIGIN),
        content_type: "application/json",
        status,
        reason_contains,
    }
}

#[test]
fn bad_input_gets_a_clear_4xx_and_stores_nothing() {
    let s = Server::start(&["--max-body-bytes", "4096", "--max-events-per-batch", "10"]);
    let ok_event = pageview(now_ms(), "/", "");
    let one_event = batch("t", std::slice::from_ref(&ok_event));
    let cases = vec![
        bad("malformed json", "{\"site\": ", 400, "malformed batch"),
        bad(
            "invalid utf-8",
            b"{\"site\":\"\xff\xfe\"}".to_vec(),
            400,
            "UTF-8",
        ),
        bad(
            "too large",
            format!("{{\"pad\":\"{}\"}}", "x".repeat(5000)),
            413,
            "larger than 4096",
        ),
        bad(
            "too many events",
            batch("t", &vec![ok_event.clone(); 11]),
            400,
            "limit is 10",
        ),
        bad(
            "unknown type",
            batch("t", &[format!(r#"{{"type":"hover","ts":{}}}"#, now_ms())]),
            400,
            "events[0].type",
        ),
        bad(
            "unplaceable time",
            batch("t", &[click(1_000, 1.0, 5.0, "a", false)]),
            400,
            "events[0].ts",
        ),
        bad(
            "unknown site",
            one_event.replace("\"shop\"", "\"other\""),
            403,
            "unknown site",
        ),
        BadCase {
            origin: Some("https://evil.example"),
            ..bad("wrong origin", one_event.clone(), 403, "not registered")
        },
        BadCase {
            origin: None,
            ..bad("no origin", one_event.clone(), 403, "Origin")
        },
        BadCase {
            content_type: "application/x-www-form-urlencoded",
            ..bad("form post", one_event.clone(), 415, "content type")
        },
    ];
    for case in cases {
        let r = s.collect_with(&case.body, case.origin, case.content_type);
        assert_eq!(r.status, case.status, "{}: {}", case.name, r.body);
        let reason = r.json()["error"].as_str().unwrap().to_string();
        assert!(
            reason.contains(case.reason_contains),
            "{}: {reason:?} lacks {:?}",
            case.name,
            case.reason_contains
        );
        assert!(!reason.contains('\n'), "{}: reason is one line", case.name);
    }
    // A disallowed origin gets no CORS grant.
    let r = s.collect_with(
        one_event.as_bytes(),
        Some("https://evil.example"),
        "application/json",
    );
    assert_eq!(r.header("access-control-allow-origin"), None);

    let list = s.get_json("/api/sites/shop/sessions");
    assert!(
        list["sessions"].as_array().unwrap().is_empty(),
        "nothing stored"
    );
    let metrics = s.get("/metrics").body;
    for reason in [
        "malformed_json",
        "invalid_utf8",
        "body_too_large",
        "too_many_events",
        "unknown_site",
        "origin_not_allowed",
        "missing_origin",
        "unsupported_media_type",
        "out_of_range",
    ] {
        assert!(
            metrics.contains(&format!(
                "trailmap_batches_rejected_total{{reason=\"{reason}\"}}"
            )),
            "metrics lack {reason}"
        );
    }
    assert!(metrics.contains("trailmap_events_rejected_total{reason=\"too_many_events\"} 11"));
}

#[test]
fn long_strings_are_truncated_not_rejected() {
    let s = Server::start(&[]);
    let long = "y".repeat(5000);
    let t = now_ms();
    let body = batch(
        "trunc",
        &[
            format!(r#"{{"type":"pageview","ts":{t},"url":"{ORIGIN}/p","title":"{long}"}}"#),
            format!(r#"{{"type":"click","ts":{t},"x":1,"y":1,"text":"{long}","sel":"{long}"}}"#),
        ],
    );
    assert_eq!(s.collect(&body).status, 202);
    let id = s.get_json("/api/sites/shop/sessions")["sessions"][0]["id"]
        .as_i64()
        .unwrap();
    let d = s.get_json(&format!("/api/sites/shop/sessions/{id}"));
    assert_eq!(d["events"][0]["title"].as_str().unwrap().len(), 200);
    assert_eq!(d["events"][1]["text"].as_str().unwrap().len(), 100);
    assert_eq!(d["events"][1]["sel"].as_str().unwrap().len(), 512);
}

#[test]
fn cors_preflight_is_answered_for_registered_origins_only() {
    let s = Server::start(&[]);
    let ok = agent()
        .request("OPTIONS", &s.url("/api/collect"))
        .set("Origin", ORIGIN)
        .set("Access-Control-Request-Method", "POST")
        .set("Access-Control-Request-Headers", "content-type")
        .call()
        .unwrap();
    assert_eq!(ok.status(), 204);
    assert_eq!(ok.header("access-control-allow-origin"), Some(ORIGIN));
    assert_eq!(ok.header("access-control-allow-methods"), Some("POST"));
    assert_eq!(
        ok.header("access-control-allow-headers"),
        Some("content-type")
    );
    assert_eq!(ok.header("vary"), Some("Origin"));
    let bad = agent()
        .request("OPTIONS", &s.url("/api/collect"))
        .set("Origin", "https://evil.example")
        .call();
    match bad {
        Err(ureq::Error::Status(403, r)) => {
            assert_eq!(r.header("access-control-allow-origin"), None)
        }
        other => panic!("expected 403, got {other:?}"),
    }
}

#[test]
fn a_site_added_while_serving_is_accepted_and_listed() {
    let s = Server::start(&[]);
    let body = batch("t", &[pageview(now_ms(), "/", "")]).replace("\"shop\"", "\"late\"");
    let r = s.collect_with(
        body.as_bytes(),
        Some("https://late.example"),
        "application/json",
    );
    assert_eq!(r.status, 403);
    let (ok, out, err) = run_cli(
        &s.db,
        &[
            "site",
            "add",
            "late",
            "--origin",
            "https://late.example",
            "--json",
        ],
    );
    assert!(ok, "{err}");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&out).unwrap()["origins"][0],
        "https://late.example"
    );
    // The registry reloads on a miss at most once a second.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let r = s.collect_with(
        body.as_bytes(),
        Some("https://late.example"),
        "application/json",
    );
    assert_eq!(r.status, 202, "{}", r.body);
    let (_, listed, _) = run_cli(&s.db, &["site", "list", "--json"]);
    let names: Vec<String> = serde_json::from_str::<serde_json::Value>(&listed)
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["late", "shop"]);
}

#[test]
fn a_gap_inside_one_batch_splits_it_into_two_replayable_sessions() {
    let s = Server::start(&[]);
    let now = now_ms();
    let min = 60_000;
    let body = batch(
        "offline-tab",
        &[
            pageview(now - 60 * min, "/first", ""),
            click(now - 59 * min, 10.0, 10.0, "a.one", false),
            // 40 minutes of silence, then the tab comes back.
            pageview(now - 19 * min, "/second", ""),
            click(now - 18 * min, 20.0, 20.0, "a.two", true),
        ],
    );
    assert_eq!(s.collect(&body).status, 202);
    let list = s.get_json("/api/sites/shop/sessions");
    let sessions = list["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 2);
    for (summary, page, sel, rage) in [
        (&sessions[0], "/second", "a.two", 1),
        (&sessions[1], "/first", "a.one", 0),
    ] {
        assert_eq!(summary["entry_page"], page);
        assert_eq!(summary["rage_clicks"], rage);
        let detail = s.get_json(&format!("/api/sites/shop/sessions/{}", summary["id"]));
        let events = detail["events"].as_array().unwrap();
        assert_eq!(events.len(), 2, "{detail}");
        assert_eq!(events[0]["page"], page);
        assert_eq!(events[1]["sel"], sel);
        assert_eq!(
            events[1]["page"], page,
            "the click inherits its session's page"
        );
        assert_eq!(
            (events[0]["seq"].as_i64(), events[1]["seq"].as_i64()),
            (Some(0), Some(1))
        );
    }
}

/// The dashboards' folder is a setting of `serve` like any other: the
/// flag, or `[serve] dashboards_dir` in the file; without it the pages
/// built into the binary are served; a folder that is not there stops the
/// start instead of answering 404 to every page.
#[test]
fn the_dashboards_folder_is_a_setting() {
    let dir = tempfile::tempdir().unwrap();
    let pages = dir.path().join("pages");
    std::fs::create_dir(&pages).unwrap();
    std::fs::write(pages.join("index.html"), "edited index").unwrap();
    let flag = Server::start(&["--dashboards-dir", pages.to_str().unwrap()]);
    let r = flag.get("/dashboard/");
    assert_eq!((r.status, r.body.as_str()), (200, "edited index"));

    let config = dir.path().join("trailmap.toml");
    std::fs::write(&config, format!("[serve]\ndashboards_dir = {pages:?}\n")).unwrap();
    let file = Server::start(&["--config", config.to_str().unwrap()]);
    assert_eq!(file.get("/dashboard/").body, "edited index");

    let embedded = Server::start(&[]);
    let r = embedded.get("/dashboard/");
    assert_eq!(r.status, 200);
    assert!(r.body.contains("<html"), "{}", r.body);

    let db = dir.path().join("t.db");
    let out = std::process::Command::new(bin())
        .args(["serve", "--listen", "127.0.0.1:0", "--db"])
        .arg(&db)
        .arg("--dashboards-dir")
        .arg(dir.path().join("missing"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a directory"), "{err}");
}
