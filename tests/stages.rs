//! Journey stages, frustration and the moments that matter, through the
//! real binary: sessions posted to the collector, read back over the API
//! and the CLI, with the site's kept query parameters and stage settings
//! changed over the API.

mod common;

use common::*;
use serde_json::Value;

/// Posts one tab's session: page views `secs` seconds after `start`.
fn session(s: &Server, sid: &str, start: i64, views: &[(i64, &str)], extra: &[String]) {
    let mut events: Vec<String> = views
        .iter()
        .map(|(t, path)| pageview(start + t * 1000, path, ""))
        .collect();
    events.extend_from_slice(extra);
    let r = s.collect(&batch(sid, &events));
    assert_eq!(r.status, 202, "{}", r.body);
}

fn names(list: &Value, field: &str) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|x| x[field].as_str().unwrap().to_string())
        .collect()
}

fn column(list: &Value, field: &str) -> Vec<i64> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|x| x[field].as_i64().unwrap())
        .collect()
}

/// Five sessions: a purchase, a search with a quick back, a cart-checkout
/// loop with a rage click, a help page visit and a blog bounce.
fn shop_with_sessions() -> Server {
    let s = Server::start(&[]);
    // Keep the search term in page paths; utm_source and the rest go.
    let r = s.put(
        "/api/sites/shop/rules",
        r#"{"rules":[],"keep_query":["q"]}"#,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["keep_query"][0], "q");
    let t = now_ms() - 3_600_000;
    session(
        &s,
        "buyer",
        t,
        &[
            (0, "/"),
            (20, "/category/shoes.html"),
            (40, "/product/101.html"),
            (60, "/cart.html"),
            (80, "/checkout/address.html"),
            (100, "/thank-you.html"),
        ],
        &[],
    );
    session(
        &s,
        "searcher",
        t,
        &[
            (0, "/product/101.html"),
            (30, "/search?q=shoes&utm_source=news&email=a%40b.c"),
            (33, "/product/101.html"),
        ],
        &[],
    );
    session(
        &s,
        "looper",
        t,
        &[
            (0, "/cart.html"),
            (20, "/checkout/address.html"),
            (40, "/cart.html"),
            (60, "/checkout/address.html"),
        ],
        &[click(t + 45_000, 100.0, 200.0, "#checkout", true)],
    );
    session(&s, "helper", t, &[(0, "/help/faq.html")], &[]);
    session(&s, "reader", t, &[(0, "/blog/post.html")], &[]);
    s
}

#[test]
fn stages_reach_drop_off_and_skips() {
    let s = shop_with_sessions();
    let r = s.get_json("/api/sites/shop/stages");
    assert_eq!(r["sessions"], 5);
    assert_eq!(r["unstaged"], 0);
    let stages = &r["stages"];
    assert_eq!(
        names(stages, "stage"),
        [
            "awareness",
            "consideration",
            "decision",
            "retention",
            "advocacy"
        ]
    );
    // Deepest on the main line: reader awareness, searcher consideration,
    // buyer and looper decision. The helper only read the FAQ: retention
    // is a side stage, so it reached no stage of the main line (it used to
    // count as having passed awareness, consideration and decision).
    assert_eq!(column(stages, "deepest"), [1, 1, 2, 0, 0]);
    assert_eq!(column(stages, "reached"), [4, 3, 2, 1, 0]);
    assert_eq!(column(stages, "visited"), [2, 2, 2, 1, 0]);
    assert_eq!(stages[3]["side"], true);
    assert!(stages[2]["side"].is_null(), "main stages say nothing");
    // The searcher skipped awareness, the looper awareness and
    // consideration; a side stage is skipped by nobody.
    assert_eq!(column(stages, "skipped"), [2, 1, 0, 0, 0]);
    assert_eq!(stages[1]["conversion_from_previous"], 0.75);
    assert_eq!(stages[0]["drop_off_rate"], 0.25);
    // The headline: one of the five reached the thank-you page.
    assert_eq!(r["converted"], 1);
    assert_eq!(r["conversion_rate"], 0.2);
    let orders: Vec<Value> = r["sequences"].as_array().unwrap().clone();
    assert!(orders.contains(
        &serde_json::json!({"stages": ["awareness", "consideration", "decision"], "sessions": 1})
    ));

    // Renamed and redefined stages; two sessions fall outside them.
    let settings = r#"{"stages":[{"name":"browse","pages":["^/(category|product)/"]},
        {"name":"buy","pages":["^/(cart|checkout)"]}],"goals":["^/thank-you"]}"#;
    let r = s.put("/api/sites/shop/stages/settings", settings);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["stages"][1]["name"], "buy");
    let r = s.get_json("/api/sites/shop/stages");
    assert_eq!(names(&r["stages"], "stage"), ["browse", "buy"]);
    assert_eq!(column(&r["stages"], "reached"), [3, 2]);
    assert_eq!(r["unstaged"], 2);
    // Filters apply: the same question, for sessions entering at the cart.
    let r = s.get_json("/api/sites/shop/stages?entry_page=/cart.html");
    assert_eq!(r["sessions"], 1);
    assert_eq!(column(&r["stages"], "skipped"), [1, 0]);

    // The CLI answers the same.
    let (ok, out, err) = run_cli(&s.db, &["stages", "--site", "shop", "--json"]);
    assert!(ok, "{err}");
    let cli: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(cli, s.get_json("/api/sites/shop/stages"));

    // Bad settings are refused whole, with the reason.
    for (body, reason) in [
        (r#"{"stages":[],"goals":[]}"#, "1 to 16 stages"),
        (
            r#"{"stages":[{"name":"a","pages":["("]}],"goals":[]}"#,
            "not a valid regex",
        ),
        (
            r#"{"stages":[{"name":"a","pages":[]},{"name":"a","pages":[]}],"goals":[]}"#,
            "used twice",
        ),
        (r#"{"stages":"#, "malformed"),
    ] {
        let r = s.put("/api/sites/shop/stages/settings", body);
        assert_eq!(r.status, 400, "{body}");
        assert!(r.body.contains(reason), "{}", r.body);
    }
    assert_eq!(
        s.get_json("/api/sites/shop/stages/settings")["stages"][0]["name"],
        "browse"
    );
    let no_token = ureq::put(&s.url("/api/sites/shop/stages/settings")).send_string(settings);
    assert!(matches!(no_token, Err(ureq::Error::Status(401, _))));
}

#[test]
fn frustration_finds_quick_backs_loops_and_rage() {
    let s = shop_with_sessions();
    let r = s.get_json("/api/sites/shop/frustration");
    assert_eq!(r["sessions"], 5);
    assert_eq!(r["frustrated_sessions"], 2);
    let page = |name: &str| -> Value {
        r["pages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["page"] == name)
            .unwrap_or_else(|| panic!("no {name} in {}", r["pages"]))
            .clone()
    };
    // Only the kept parameter stays in the path; the stored URL keeps the
    // utm tag too, and the email is gone.
    let search = page("/search?q=shoes");
    let list = s.get_json("/api/sites/shop/sessions?limit=10");
    let searcher = list["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["page_count"] == 3)
        .unwrap();
    let detail = s.get_json(&format!("/api/sites/shop/sessions/{}", searcher["id"]));
    assert_eq!(
        detail["events"][1]["url"],
        "http://shop.test/search?q=shoes&utm_source=news"
    );
    assert!(!detail.to_string().contains("a%40b.c"), "{detail}");
    assert_eq!(
        (search["views"].as_i64(), search["quick_backs"].as_i64()),
        (Some(1), Some(1))
    );
    let cart = page("/cart.html");
    assert_eq!(cart["rage_clicks"], 1);
    assert_eq!(cart["loops"], 2, "both of the looper's cart views");
    assert_eq!(cart["views"], 3);
    assert_eq!(cart["frustrated_views"], 2);
    assert_eq!(page("/checkout/address.html")["loops"], 2);
    let worst = &r["worst_sessions"][0];
    assert_eq!(
        (worst["loops"].as_i64(), worst["rage_clicks"].as_i64()),
        (Some(1), Some(1))
    );
    assert_eq!(worst["score"], 2);
    let detail = s.get_json(&format!("/api/sites/shop/sessions/{}", worst["session_id"]));
    assert_eq!(detail["entry_page"], "/cart.html", "{detail}");

    let (ok, out, err) = run_cli(&s.db, &["frustration", "--site", "shop", "--json"]);
    assert!(ok, "{err}");
    assert_eq!(serde_json::from_str::<Value>(&out).unwrap(), r);
    let (ok, out, _) = run_cli(&s.db, &["frustration", "--site", "shop"]);
    assert!(ok && out.contains("/search?q=shoes"), "{out}");
}

#[test]
fn moments_that_matter_leave_goals_out() {
    let s = shop_with_sessions();
    let m = s.get_json("/api/sites/shop/moments");
    // 15 views, 5 exits.
    assert!((m["exit_rate"].as_f64().unwrap() - 5.0 / 15.0).abs() < 1e-9);
    let by_exits = names(&m["by_exits"], "page");
    assert!(
        !by_exits.iter().any(|p| p == "/thank-you.html"),
        "a goal page is a good exit: {by_exits:?}"
    );
    // One-page sessions exit where they enter: every such page is above
    // the norm.
    assert!(
        by_exits.contains(&"/help/faq.html".to_string()),
        "{by_exits:?}"
    );
    let by_frustration = names(&m["by_frustration"], "page");
    assert_eq!(by_frustration[0], "/cart.html", "{by_frustration:?}");
    let overall = m["overall"].as_array().unwrap();
    let impact: Vec<f64> = overall
        .iter()
        .map(|x| x["impact"].as_f64().unwrap())
        .collect();
    assert!(impact.windows(2).all(|w| w[0] >= w[1]), "{impact:?}");
    assert_eq!(s.get("/api/sites/shop/moments?top=0").status, 400);
}
