//! Path mining through the real binary: sequential patterns from the CLI
//! on real data checked against an independent implementation, and over
//! the JSON API on the demo's traffic, with the site's cleaning rules.

mod common;

use std::path::Path;

use common::*;
use serde_json::Value;

fn blog_json(db: &Path, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend_from_slice(&["--site", "blog", "--json"]);
    let (ok, out, err) = run_cli(db, &all);
    assert!(ok, "{args:?}: {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

fn sum(list: &Value, field: &str) -> i64 {
    list.as_array()
        .unwrap()
        .iter()
        .map(|x| x[field].as_i64().unwrap())
        .sum()
}

#[test]
fn exits_and_entries_add_up_to_the_sessions() {
    let (_dir, db) = imported_log();
    let r = blog_json(&db, &["exits"]);
    assert_eq!(r["sessions"], 1_132);
    let pages = &r["pages"];
    assert_eq!(sum(pages, "entries"), 1_132, "one entry per session");
    assert_eq!(sum(pages, "exits"), 1_132, "one exit per session");
    // Bounces, straight from the stored sequences: with repeats kept, the
    // sessions of one page view; cleaning (a reload, A A, is one page)
    // can only add to them.
    let conn = open_db(&db);
    let single: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM sessions WHERE page_count = 1 AND is_bot = 0",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let kept = blog_json(&db, &["exits", "--keep-repeats"]);
    assert_eq!(sum(&kept["pages"], "bounces"), single);
    assert_eq!(sum(&kept["pages"], "views"), 1_704, "every page view");
    assert!(sum(pages, "bounces") >= single);
    let first = &pages[0];
    let rate = first["exits"].as_f64().unwrap() / first["views"].as_f64().unwrap();
    assert!((first["exit_rate"].as_f64().unwrap() - rate).abs() < 1e-9);
    // Filters narrow: organic search sessions only.
    let organic = blog_json(&db, &["exits", "--channel", "organic_search"]);
    let n = organic["sessions"].as_i64().unwrap();
    assert!(n > 0 && n < 1_132, "{n}");
    let expected: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM sessions WHERE channel = 'organic_search' AND is_bot = 0",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, expected);
}

#[test]
fn transitions_account_for_every_view() {
    let (_dir, db) = imported_log();
    let top_page = blog_json(&db, &["exits"])["pages"][0]["page"]
        .as_str()
        .unwrap()
        .to_string();
    let t = blog_json(&db, &["transitions", "--page", &top_page, "--top", "3"]);
    assert_eq!(t["page"], top_page.as_str());
    let views = t["views"].as_i64().unwrap();
    let came = t["entries"].as_i64().unwrap()
        + sum(&t["previous"], "views")
        + t["previous_other"].as_i64().unwrap();
    let went =
        t["exits"].as_i64().unwrap() + sum(&t["next"], "views") + t["next_other"].as_i64().unwrap();
    assert_eq!(came, views, "every view came from somewhere");
    assert_eq!(went, views, "and went somewhere");
    assert!(t["previous"].as_array().unwrap().len() <= 3);
    assert_eq!(
        sum(&t["previous_more"], "views"),
        t["previous_other"].as_i64().unwrap(),
        "the remainder, in full"
    );
    let (ok, text, _) = run_cli(&db, &["exits", "--site", "blog"]);
    assert!(ok && text.contains("exit rate"), "{text}");
    let (ok, _, err) = run_cli(
        &db,
        &["transitions", "--site", "blog", "--page", "/no/such/page"],
    );
    assert!(!ok && err.contains("no page"), "{err}");
}

const MSNBC_50K: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/seq/msnbc-first50k.seq.gz"
);

#[test]
fn patterns_on_real_sessions_match_prefixspan() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    assert!(
        run_cli(
            &db,
            &["site", "add", "msnbc", "--origin", "https://msnbc.example"]
        )
        .0
    );
    let (ok, _, err) = run_cli(
        &db,
        &["import", "--site", "msnbc", "--format", "seq", MSNBC_50K],
    );
    assert!(ok, "{err}");
    let (ok, out, err) = run_cli(
        &db,
        &[
            "patterns",
            "--site",
            "msnbc",
            "--top",
            "10",
            "--min-len",
            "2",
            "--keep-repeats",
            "--json",
        ],
    );
    assert!(ok, "{err}");
    let r: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(r["sessions"], 50_000);
    let got: Vec<(String, i64)> = r["patterns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let pages: Vec<&str> = p["pages"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_str().unwrap())
                .collect();
            (pages.join(" "), p["sessions"].as_i64().unwrap())
        })
        .collect();
    // The PyPI package prefixspan 0.5.2 on the same sessions
    // (tests/fixtures/seq/README.md).
    let expected = [
        ("/1 /1", 9576),
        ("/1 /1 /1", 5740),
        ("/2 /2", 4376),
        ("/1 /1 /1 /1", 3870),
        ("/1 /2", 3680),
        ("/14 /14", 3615),
        ("/6 /6", 3550),
        ("/8 /8", 3344),
        ("/4 /4", 2952),
        ("/7 /7", 2908),
    ];
    let expected: Vec<(String, i64)> = expected.iter().map(|(p, n)| (p.to_string(), *n)).collect();
    assert_eq!(got, expected);
    // Every pattern in at least 3,000 sessions: the reference's top 10
    // ends at 2,908, so exactly its first eight.
    let (ok, out, err) = run_cli(
        &db,
        &[
            "patterns",
            "--site",
            "msnbc",
            "--all",
            "--min-support",
            "3000",
            "--keep-repeats",
            "--json",
        ],
    );
    assert!(ok, "{err}");
    let all: Value = serde_json::from_str(&out).unwrap();
    let supports: Vec<i64> = all["patterns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["sessions"].as_i64().unwrap())
        .collect();
    assert_eq!(supports, [9576, 5740, 4376, 3870, 3680, 3615, 3550, 3344]);
    let (ok, _, err) = run_cli(&db, &["patterns", "--site", "msnbc", "--all"]);
    assert!(!ok && err.contains("--min-support"), "{err}");
    // Without --json, the result is text for people.
    let (ok, text, _) = run_cli(&db, &["patterns", "--site", "msnbc", "--top", "3"]);
    assert!(ok && text.contains("sessions"), "{text}");
}

#[test]
fn patterns_and_rules_over_the_api() {
    let demo = start_demo(120);
    let get = |path: &str| demo_get(&demo, path);
    let (status, p) = get("/api/sites/shop/patterns?top=5&min_len=3");
    assert_eq!(status, 200, "{p}");
    let list = p["patterns"].as_array().unwrap();
    assert!(!list.is_empty());
    assert!(list
        .iter()
        .all(|x| x["pages"].as_array().unwrap().len() >= 3));
    let counts: Vec<i64> = list
        .iter()
        .map(|x| x["sessions"].as_i64().unwrap())
        .collect();
    assert!(counts.windows(2).all(|w| w[0] >= w[1]));
    // Bots are left out unless asked for: crawlers' paths add support.
    let (_, with_bots) = get("/api/sites/shop/patterns?top=1&min_len=2&include_bots=true");
    let (_, without) = get("/api/sites/shop/patterns?top=1&min_len=2");
    assert!(with_bots["sessions"].as_i64() > without["sessions"].as_i64());

    // Cleaning rules: every product page becomes one.
    let put = agent()
        .put(&format!("{}/api/sites/shop/rules", demo.collector))
        .set("Authorization", &format!("Bearer {}", demo.token))
        .send_string(
            r#"{"rules":[{"pattern":"^/product/\\d+\\.html$","replacement":"/product/:id"}]}"#,
        )
        .unwrap();
    assert_eq!(put.status(), 200);
    let (_, rules) = get("/api/sites/shop/rules");
    assert_eq!(rules["rules"][0]["replacement"], "/product/:id");
    let (_, cleaned) = get("/api/sites/shop/patterns?top=50&min_len=2");
    let pages: Vec<String> = cleaned["patterns"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|x| {
            x["pages"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p.as_str().unwrap().to_string())
        })
        .collect();
    assert!(pages.iter().any(|p| p == "/product/:id"), "{pages:?}");
    assert!(
        !pages.iter().any(|p| p.starts_with("/product/1")),
        "{pages:?}"
    );
    let bad = agent()
        .put(&format!("{}/api/sites/shop/rules", demo.collector))
        .set("Authorization", &format!("Bearer {}", demo.token))
        .send_string(r#"{"rules":[{"pattern":"(","replacement":"x"}]}"#);
    match bad {
        Err(ureq::Error::Status(400, r)) => assert!(r.into_string().unwrap().contains("rule 0")),
        other => panic!("expected 400, got {other:?}"),
    }
    // Exits and transitions over the API, with the cleaned product page.
    let (status, exits) = get("/api/sites/shop/exits");
    assert_eq!(status, 200);
    let names: Vec<&str> = exits["pages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["page"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"/product/:id") && names.contains(&"/checkout/shipping.html"),
        "{names:?}"
    );
    let (status, t) = get("/api/sites/shop/transitions?page=/product/101.html");
    assert_eq!(status, 200, "{t}");
    assert_eq!(t["page"], "/product/:id", "the page given is cleaned too");
    let (status, t) = get("/api/sites/shop/transitions?page=/checkout/shipping.html");
    assert_eq!(status, 200);
    assert!(
        t["exits"].as_i64().unwrap() > 0,
        "people leave at the shipping cost"
    );
    assert_eq!(get("/api/sites/shop/transitions").0, 400);
    assert_eq!(get("/api/sites/shop/transitions?page=/nope").0, 404);
    assert_eq!(get("/api/sites/shop/patterns?top=0").0, 400);
    assert_eq!(get("/api/sites/shop/patterns?from=someday").0, 400);
    assert_eq!(get("/api/sites/nope/patterns").0, 404);
    let no_token = ureq::get(&format!("{}/api/sites/shop/patterns", demo.collector)).call();
    assert!(matches!(no_token, Err(ureq::Error::Status(401, _))));
    let put_no_token =
        ureq::put(&format!("{}/api/sites/shop/rules", demo.collector)).send_string("{}");
    assert!(matches!(put_no_token, Err(ureq::Error::Status(401, _))));
}

#[test]
fn paths_and_funnels_from_the_cli() {
    let (_dir, db) = imported_log();
    let paths = blog_json(&db, &["paths", "--steps", "3", "--top", "5"]);
    let list = paths["paths"].as_array().unwrap();
    assert!(!list.is_empty() && list.len() <= 5);
    let counts: Vec<i64> = list
        .iter()
        .map(|p| p["sessions"].as_i64().unwrap())
        .collect();
    assert!(counts.windows(2).all(|w| w[0] >= w[1]), "most common first");
    // Every session has exactly one prefix: all paths' counts add up
    // (1,000 is the most a list holds, in the CLI as in the API).
    let all = blog_json(&db, &["paths", "--steps", "3", "--top", "1000"]);
    assert_eq!(sum(&all["paths"], "sessions"), 1_132);
    let top = list[0]["pages"][0].as_str().unwrap().to_string();
    let anchored = blog_json(&db, &["paths", "--start", &top, "--steps", "2"]);
    for p in anchored["paths"].as_array().unwrap() {
        assert_eq!(p["pages"][0], top.as_str());
    }
    let f = blog_json(
        &db,
        &[
            "funnel",
            "--step",
            "^/$",
            "--step",
            "^/blog/",
            "--window-minutes",
            "30",
        ],
    );
    let steps = f["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 2);
    assert!(steps[0]["sessions"].as_i64() >= steps[1]["sessions"].as_i64());
    let (ok, _, err) = run_cli(
        &db,
        &["funnel", "--site", "blog", "--step", "(", "--step", "x"],
    );
    assert!(!ok && err.contains("not a valid regex"), "{err}");
}

#[test]
fn funnel_paths_and_graph_over_the_api() {
    let demo = start_demo(150);
    let get = |path: &str| demo_get(&demo, path);
    let (status, f) = get("/api/sites/shop/funnel?step=^/cart&step=^/checkout/shipping&step=^/checkout/payment&step=^/thank-you&window_minutes=180");
    assert_eq!(status, 200, "{f}");
    let steps = f["steps"].as_array().unwrap();
    let reached: Vec<i64> = steps
        .iter()
        .map(|s| s["sessions"].as_i64().unwrap())
        .collect();
    assert!(reached.windows(2).all(|w| w[0] >= w[1]), "{reached:?}");
    let overall = f["overall_conversion"].as_f64().unwrap();
    assert!(
        (0.15..0.6).contains(&overall),
        "most carts are abandoned: {overall}"
    );
    assert!(
        steps[1]["dropped"].as_i64().unwrap() > 0,
        "people leave at the shipping cost"
    );
    assert!(steps[1]["dropped_exited"].as_i64().unwrap() > 0);
    // Steps may be named; unnamed ones are shown as their pattern, in the
    // report and on the chart's axis.
    let (status, named) =
        get("/api/sites/shop/funnel?step=^/cart&step=^/thank-you&name=Cart&name=");
    assert_eq!(status, 200, "{named}");
    assert_eq!(named["steps"][0]["name"], "Cart");
    assert_eq!(named["steps"][1]["name"], "^/thank-you");
    let svg = ureq::get(&format!(
        "{}/api/sites/shop/charts/funnel.svg?step=^/cart&step=^/thank-you&name=Cart&name=Bought",
        demo.collector
    ))
    .set("authorization", &format!("Bearer {}", demo.token))
    .call()
    .unwrap()
    .into_string()
    .unwrap();
    assert!(
        svg.contains("Bought") && !svg.contains("thank-you"),
        "the axis shows the names"
    );
    assert_eq!(
        get("/api/sites/shop/funnel?step=^/a&step=^/b&name=1&name=2&name=3").0,
        400,
        "more names than steps"
    );

    let (status, g) = get("/api/sites/shop/journeys?steps=4&nodes=3");
    assert_eq!(status, 200, "{g}");
    let nodes = g["nodes"].as_array().unwrap();
    assert!(
        nodes.iter().any(|n| n["other"] == true),
        "the rest is grouped"
    );
    let step0: i64 = nodes
        .iter()
        .filter(|n| n["step"] == 0)
        .map(|n| n["sessions"].as_i64().unwrap())
        .sum();
    let (_, exits) = get("/api/sites/shop/exits");
    assert_eq!(
        step0,
        exits["sessions"].as_i64().unwrap(),
        "every session starts in column 0"
    );
    // Both Sankey charts colour a node alike: the report's colours are the
    // ones the rendered chart paints with.
    let svg = ureq::get(&format!(
        "{}/api/sites/shop/charts/sankey.svg?steps=4&nodes=3",
        demo.collector
    ))
    .set("authorization", &format!("Bearer {}", demo.token))
    .call()
    .unwrap()
    .into_string()
    .unwrap()
    .to_lowercase();
    let colours: std::collections::BTreeSet<&str> = nodes
        .iter()
        .map(|n| n["colour"].as_str().unwrap())
        .collect();
    assert!(colours.len() >= 2, "{colours:?}");
    for c in &colours {
        assert!(svg.contains(c), "{c} is not in the rendered chart");
    }
    assert!(
        nodes.iter().any(|n| n["stage"].is_string()),
        "nodes carry their stage"
    );
    assert!(g["stages"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["colour"].as_str().unwrap().starts_with('#')));
    let (status, rooted) = get("/api/sites/shop/journeys?steps=3&root=/cart.html");
    assert_eq!(status, 200);
    assert!(rooted["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["step"] == 0)
        .all(|n| n["page"] == "/cart.html"));

    let (status, paths) = get("/api/sites/shop/paths?start=/cart.html&end=/thank-you.html&steps=6");
    assert_eq!(status, 200, "{paths}");
    let list = paths["paths"].as_array().unwrap();
    assert!(!list.is_empty());
    for x in list {
        let pages = x["pages"].as_array().unwrap();
        assert_eq!(pages.first().unwrap(), "/cart.html");
        assert_eq!(pages.last().unwrap(), "/thank-you.html");
    }
    assert_eq!(get("/api/sites/shop/paths?steps=99").0, 400);
    assert_eq!(
        get("/api/sites/shop/funnel?step=^/cart").0,
        400,
        "one step is not a funnel"
    );
    assert_eq!(get("/api/sites/shop/journeys?expand=x").0, 400);
}
