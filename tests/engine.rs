//! The read engine through the real binary: an event answered 202 is in
//! the very next report (no refresh delay), a session that grows is
//! counted once with its new pages, and a restarted server starts from the
//! engine's file beside the database and still answers what the rows say.

mod common;

use common::*;
use std::time::Instant;

fn paths(s: &Server) -> serde_json::Value {
    s.get_json("/api/sites/shop/paths?steps=3&top=50")
}

fn count_of(report: &serde_json::Value, pages: &[&str]) -> i64 {
    report["paths"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| {
            p["pages"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap())
                .eq(pages.iter().copied())
        })
        .map_or(0, |p| p["sessions"].as_i64().unwrap())
}

#[test]
fn a_stored_event_is_in_the_next_report_and_a_restart_starts_from_the_file() {
    let mut s = Server::start(&[]);
    let t = now_ms() - 60_000;
    // Warm: the engine has loaded the (empty) site.
    assert_eq!(s.get_json("/api/sites/shop/overview")["sessions"], 0);
    for k in 0..20 {
        let sid = format!("fresh-{k:02}-aaaaaaaa");
        let r = s.collect(&batch(
            &sid,
            &[pageview(t + k, "/", ""), pageview(t + k + 500, "/cart", "")],
        ));
        assert_eq!(r.status, 202, "{}", r.body);
        // Asked right after the 202, without waiting: there already.
        let started = Instant::now();
        let o = s.get_json("/api/sites/shop/overview");
        assert_eq!(o["sessions"], k + 1, "after batch {k}");
        assert!(started.elapsed().as_secs_f64() < 2.0);
    }
    assert_eq!(count_of(&paths(&s), &["/", "/cart"]), 20);
    // Sessions that grow: the same sessions, one more page each.
    for k in 0..5 {
        let sid = format!("fresh-{k:02}-aaaaaaaa");
        let r = s.collect(&batch(&sid, &[pageview(t + k + 900, "/checkout", "")]));
        assert_eq!(r.status, 202, "{}", r.body);
    }
    let after = paths(&s);
    assert_eq!(after["sessions"], 20);
    assert_eq!(count_of(&after, &["/", "/cart"]), 15);
    assert_eq!(count_of(&after, &["/", "/cart", "/checkout"]), 5);
    let before_restart = s.get_json("/api/sites/shop/exits");
    let db = s.db.clone();
    s.terminate();

    // The first load wrote the engine's file; a new process reads it and
    // the changes since, and answers the same.
    let mut engine_dir = db.as_os_str().to_owned();
    engine_dir.push(".engine");
    assert!(
        std::fs::read_dir(&engine_dir).unwrap().count() >= 1,
        "no engine file"
    );
    let (ok, out, err) = run_cli(&db, &["exits", "--site", "shop", "--json"]);
    assert!(ok, "{err}");
    let cli: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(cli, before_restart);
    let mut again = Server::start_on(&db, &["--token", TOKEN]);
    assert_eq!(again.get_json("/api/sites/shop/exits"), before_restart);
    let r = again.collect(&batch(
        "fresh-late-aaaaaaaa",
        &[pageview(t + 5000, "/", "")],
    ));
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(again.get_json("/api/sites/shop/overview")["sessions"], 21);
    again.terminate();
}

fn chart_svg(s: &Server, path: &str) -> String {
    let r = s.get(path);
    assert_eq!(r.status, 200, "{path}: {}", r.body);
    r.body
}

#[test]
fn a_click_answered_202_is_in_the_next_heatmap_and_scroll_map() {
    let s = Server::start(&[]);
    let t = now_ms() - 60_000;
    let heatmap = "/api/sites/shop/charts/heatmap.svg?page=/product";
    let scrollmap = "/api/sites/shop/charts/scrollmap.svg?page=/product";
    let first = s.collect(&batch(
        "heat-one-aaaaaaaa",
        &[
            pageview(t, "/product", ""),
            click(t + 100, 200.0, 300.0, "#buy", false),
        ],
    ));
    assert_eq!(first.status, 202, "{}", first.body);
    // The first map loads the page's clicks into the engine.
    assert!(chart_svg(&s, heatmap).contains("1 click,"));
    assert!(chart_svg(&s, scrollmap).contains("1 view"));
    // More clicks in the same session and a new session: in the very next
    // maps, asked right after the 202s.
    for (sid, at) in [("heat-one-aaaaaaaa", 200), ("heat-two-aaaaaaaa", 300)] {
        let mut events = vec![click(t + at, 210.0, 310.0, "#buy", true)];
        if sid == "heat-two-aaaaaaaa" {
            events.insert(0, pageview(t + at - 50, "/product", ""));
        }
        let r = s.collect(&batch(sid, &events));
        assert_eq!(r.status, 202, "{}", r.body);
    }
    let started = Instant::now();
    assert!(chart_svg(&s, heatmap).contains("3 clicks,"));
    assert!(started.elapsed().as_secs_f64() < 2.0);
    assert!(chart_svg(&s, scrollmap).contains("2 views"));
    // A filter selects the sessions as every report does: a window that
    // ends before them counts none.
    let before = format!("{heatmap}&to={}", t - 3_600_000);
    assert!(chart_svg(&s, &before).contains("0 clicks,"));
}
