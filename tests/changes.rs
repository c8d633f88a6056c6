//! `changes` through the real binary: layouts uploaded as the replay
//! recorder uploads them, sessions posted to the collector before and
//! after the shipping page's layout starts to show a shipping cost, and
//! the report (API and CLI) checked against what was sent: the change
//! found, its lines, and the page's exit rate and conversion before and
//! after with their intervals. A small change of the cart (one line of
//! thirty, as a visitor's own cart makes) stays under the threshold. And
//! a page that shows each visitor their own content is told from a page
//! that changed for everyone, by the sightings after the change.

mod common;

use std::time::Duration;

use common::*;
use serde_json::{json, Value};

fn shipping(cost: &str) -> String {
    format!(
        "<!DOCTYPE html><html><head><title>Shipping</title></head><body>\
         <h1>Shipping</h1><p>Standard delivery: {cost}</p><p>Arrives in 3-5 days</p>\
         <button>Continue</button></body></html>"
    )
}

fn cart(extra: &str) -> String {
    let mut lines: String = (0..29).map(|i| format!("<li>Line {i}</li>")).collect();
    lines.push_str(&format!("<li>{extra}</li>"));
    format!("<!DOCTYPE html><html><body><ul>{lines}</ul></body></html>")
}

/// `n` sessions from `t0`, 10 ms apart: home, cart, shipping, then the
/// thank-you page unless `leaves(i)`; how many left.
fn visits(s: &Server, tag: &str, t0: i64, n: i64, leaves: impl Fn(i64) -> bool) -> usize {
    let mut left = 0;
    for i in 0..n {
        let t = t0 + i * 10;
        let mut events = vec![
            pageview(t, "/", ""),
            pageview(t + 300, "/cart.html", ""),
            pageview(t + 600, "/checkout/shipping.html", ""),
        ];
        // Who goes on clicks Continue; after the change, who leaves asks
        // about the cost first.
        if leaves(i) {
            left += 1;
            if tag == "after" {
                events.push(click(t + 700, 400.0, 300.0, "#cost-help", false));
            }
        } else {
            events.push(click(t + 700, 400.0, 500.0, "#continue", false));
            events.push(pageview(t + 900, "/thank-you.html", ""));
        }
        let r = s.collect(&batch(&format!("{tag}{i}"), &events));
        assert_eq!(r.status, 202, "{}", r.body);
    }
    left
}

#[test]
fn a_planted_layout_change_shows_with_its_jump_in_exits() {
    let s = Server::start(&["--rate-per-client", "0"]);
    let mut settings = s.get_json("/api/sites/shop/stages/settings");
    settings["goals"] = json!(["^/thank-you"]);
    assert_eq!(
        s.put("/api/sites/shop/stages/settings", &settings.to_string())
            .status,
        200
    );
    upload_layout(&s, "/checkout/shipping.html", &shipping("free"));
    upload_layout(&s, "/cart.html", &cart("Blue shoe"));
    // Before: a fifth leave at shipping.
    let before_left = visits(&s, "before", now_ms() - 3 * 3_600_000, 200, |i| i % 5 == 0);

    // The new layout: a shipping cost appears; and a visitor's own cart.
    let at = now_ms();
    upload_layout(&s, "/checkout/shipping.html", &shipping("$19.95"));
    upload_layout(&s, "/cart.html", &cart("Red hat"));
    let at_after = now_ms();
    // After (once those times have passed): four in five leave there.
    std::thread::sleep(Duration::from_millis(3_500));
    let after_left = visits(&s, "after", at_after + 50, 200, |i| i % 5 != 0);

    let report = s.get_json("/api/sites/shop/changes");
    assert_eq!(
        (report["days"].clone(), report["goals"].clone()),
        (json!(7), json!(true))
    );
    let changes = report["changes"].as_array().unwrap();
    assert_eq!(
        changes.len(),
        1,
        "the cart's one line is under 10%: {report}"
    );
    let c = &changes[0];
    assert_eq!(c["page"], "/checkout/shipping.html");
    assert_eq!(c["viewport"], "desktop");
    assert!(c["at_ms"].as_i64().unwrap() >= at && c["at_ms"].as_i64().unwrap() <= at_after);
    assert_eq!(c["added"], json!(["Standard delivery: $19.95"]));
    assert_eq!(c["removed"], json!(["Standard delivery: free"]));
    // 2 of the page's 10 text lines and elements differ: its share.
    assert!(c["share"].as_f64().unwrap() > 0.1, "{c}");

    let side = |name: &str, field: &str| c[name][field].as_u64().unwrap() as usize;
    assert_eq!(
        (side("before", "views"), side("after", "views")),
        (200, 200)
    );
    assert_eq!(
        (side("before", "exits"), side("after", "exits")),
        (before_left, after_left)
    );
    assert_eq!(side("before", "sessions"), 200);
    assert_eq!(side("before", "converted"), 200 - before_left);
    assert_eq!(side("after", "converted"), 200 - after_left);
    let rate = |name: &str, field: &str| c[name][field]["value"].as_f64().unwrap();
    assert!((rate("before", "exit_rate") - 0.2).abs() < 1e-9, "{c}");
    assert!((rate("after", "exit_rate") - 0.8).abs() < 1e-9, "{c}");
    let exit = &c["exit_rate_shift"];
    assert!(
        (exit["diff"].as_f64().unwrap() - 0.6).abs() < 1e-9,
        "{exit}"
    );
    assert_eq!(exit["significant"], true);
    assert!(exit["low"].as_f64().unwrap() > 0.5 && exit["high"].as_f64().unwrap() < 0.7);
    assert!(c["before"]["exit_rate"]["low"].as_f64().unwrap() < 0.2);
    assert_eq!(c["conversion_rate_shift"]["significant"], true);
    assert!(c["conversion_rate_shift"]["diff"].as_f64().unwrap() < -0.5);

    // Every difference is kept: with no threshold the cart's shows too.
    let all = s.get_json("/api/sites/shop/changes?min_change=0");
    let pages: Vec<&str> = all["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["page"].as_str().unwrap())
        .collect();
    assert_eq!(pages.len(), 2, "{all}");
    assert!(pages.contains(&"/cart.html"), "{all}");

    // An automatic annotation, beside people's notes (the cart's small
    // change is not one).
    let notes = s.get_json("/api/sites/shop/annotations");
    let auto: Vec<&Value> = notes["annotations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == "change")
        .collect();
    assert_eq!(auto.len(), 1, "{notes}");
    assert_eq!(auto[0]["id"], c["id"]);
    assert_eq!(
        auto[0]["text"],
        "Page changed: /checkout/shipping.html (+ Standard delivery: $19.95)"
    );

    // Where visitors click, asked for this change: of the sessions that
    // clicked on the page, the share that clicked each element.
    let one = s.get_json(&format!("/api/sites/shop/changes?change={}", c["id"]));
    let row = &one["changes"][0];
    assert_eq!(one["changes"].as_array().unwrap().len(), 1, "{one}");
    assert_eq!(report["changes"][0]["clicks"], Value::Null);
    let clicks = &row["clicks"];
    assert_eq!(clicks["viewport"], "desktop", "{one}");
    let (went_on_before, went_on_after) = (200 - before_left, 200 - after_left);
    assert_eq!(
        (
            clicks["before"]["sessions"].clone(),
            clicks["after"]["sessions"].clone()
        ),
        (json!(went_on_before), json!(200)),
        "{clicks}"
    );
    let el = |sel: &str| {
        clicks["elements"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["selector"] == sel)
            .cloned()
            .unwrap_or_else(|| panic!("no {sel} in {clicks}"))
    };
    let cont = el("#continue");
    assert_eq!(
        (
            cont["before_sessions"].clone(),
            cont["after_sessions"].clone()
        ),
        (json!(went_on_before), json!(went_on_after))
    );
    assert_eq!(cont["before"]["value"], 1.0);
    assert!(
        (cont["after"]["value"].as_f64().unwrap() - 0.2).abs() < 1e-9,
        "{cont}"
    );
    assert_eq!(cont["shift"]["significant"], true);
    let help = el("#cost-help");
    assert_eq!(
        (
            help["before_sessions"].clone(),
            help["after_sessions"].clone()
        ),
        (json!(0), json!(after_left))
    );
    assert!(help["shift"]["diff"].as_f64().unwrap() > 0.7, "{help}");
    assert_eq!(
        s.get(&format!("/api/sites/shop/changes?change={}", 999))
            .status,
        404
    );
    let (ok, out, err) = run_cli(
        &s.db,
        &["changes", "--site", SITE, "--change", &c["id"].to_string()],
    );
    assert!(ok, "{err}");
    assert!(
        out.contains("#cost-help") && out.contains("#continue"),
        "{out}"
    );

    // The client's mistakes, one line each.
    for (query, says) in [
        ("change=0", "change"),
        ("change=x", "change"),
        ("days=0", "days"),
        ("days=91", "days"),
        ("min_change=2", "min_change"),
        ("min_change=NaN", "min_change"),
        ("min_change=x", "min_change"),
    ] {
        let r = s.get(&format!("/api/sites/shop/changes?{query}"));
        assert_eq!(r.status, 400, "{query}: {}", r.body);
        assert!(r.body.contains(says), "{query}: {}", r.body);
    }
    // A range that ends before the change lists nothing.
    let earlier = s.get_json(&format!("/api/sites/shop/changes?to={}", at - 1));
    assert_eq!(earlier["changes"], json!([]));

    // The CLI answers as the API does.
    let (ok, out, err) = run_cli(&s.db, &["changes", "--site", SITE, "--json"]);
    assert!(ok, "{err}");
    let cli: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(cli, report);
    let (ok, out, err) = run_cli(&s.db, &["changes", "--site", SITE]);
    assert!(ok, "{err}");
    assert!(out.contains("$19.95") && out.contains("+60.0 pts"), "{out}");
}

/// A small cart holding one `item` at `price`: every visitor's differs.
fn own_cart(item: &str, price: &str) -> String {
    format!(
        "<!DOCTYPE html><html><body><h1>Your cart</h1><ul><li>{item}</li><li>{price}</li></ul>\
         <button>Check out</button></body></html>"
    )
}

#[test]
fn a_page_that_varies_per_visitor_is_told_from_a_lasting_change() {
    let s = Server::start(&["--rate-per-client", "0"]);
    // Ten visitors' carts, each stored once and then seen in turn, as
    // visitors come and go: the second is a change of the first, the
    // others are evidence for it, nearer neither.
    let carts: Vec<String> = (0..10)
        .map(|i| own_cart(&format!("Item {i}"), &format!("${}.00", 20 + i)))
        .collect();
    for c in &carts {
        upload_layout(&s, "/cart.html", c);
    }
    for round in 0..40 {
        sight_layout(&s, "/cart.html", &carts[round % 10]);
    }
    // The shipping page changes for everyone: seen with its new layout since.
    upload_layout(&s, "/checkout/shipping.html", &shipping("free"));
    upload_layout(&s, "/checkout/shipping.html", &shipping("$19.95"));
    for _ in 0..20 {
        sight_layout(&s, "/checkout/shipping.html", &shipping("$19.95"));
    }
    // The home page has just changed: too few sightings since to tell.
    let home =
        |h: &str| format!("<!DOCTYPE html><html><body><h1>{h}</h1><p>Welcome</p></body></html>");
    upload_layout(&s, "/", &home("Spring sale"));
    upload_layout(&s, "/", &home("Summer sale"));
    sight_layout(&s, "/", &home("Summer sale"));

    let report = s.get_json("/api/sites/shop/changes");
    let by_page = |r: &Value| -> Vec<(String, String, u64)> {
        r["changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["page"].as_str().unwrap().to_string(),
                    c["status"].as_str().unwrap().to_string(),
                    c["evidence"]["new"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    assert_eq!(
        by_page(&report),
        [
            ("/".to_string(), "pending".to_string(), 2),
            // Told at 15 of 20: five more could not change it.
            ("/checkout/shipping.html".into(), "lasting".into(), 15),
        ],
        "{report}"
    );
    assert_eq!(report["varying"], 1, "{report}");
    // Ten carts made one change, not nine: the rest were its evidence.
    let all = s.get_json("/api/sites/shop/changes?include_varying=true");
    let carts_listed: Vec<&Value> = all["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["page"] == "/cart.html")
        .collect();
    assert_eq!(carts_listed.len(), 1, "{all}");
    let cart = carts_listed[0];
    assert_eq!(cart["status"], "varies", "{cart}");
    let seen = &cart["evidence"];
    let total: u64 = ["new", "old", "other"]
        .iter()
        .map(|k| seen[*k].as_u64().unwrap())
        .sum();
    assert!(total <= 20, "told by 20 sightings: {cart}");
    assert!(
        seen["other"].as_u64().unwrap() > seen["new"].as_u64().unwrap(),
        "{cart}"
    );
    assert_eq!(all["varying"], 0);

    // The time series' notes: the lasting and the pending change only.
    let notes = s.get_json("/api/sites/shop/annotations");
    let noted: Vec<&str> = notes["annotations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == "change")
        .map(|n| n["text"].as_str().unwrap())
        .collect();
    assert_eq!(noted.len(), 2, "{notes}");
    assert!(noted.iter().all(|t| !t.contains("/cart.html")), "{notes}");

    // The CLI says the same, and lists the cart when asked.
    let (ok, out, err) = run_cli(&s.db, &["changes", "--site", SITE]);
    assert!(ok, "{err}");
    assert!(
        out.contains("lasting") && out.contains("confirming (2 of 20 views)"),
        "{out}"
    );
    assert!(!out.contains("/cart.html"), "{out}");
    let (ok, out, err) = run_cli(&s.db, &["changes", "--site", SITE, "--include-varying"]);
    assert!(ok, "{err}");
    assert!(
        out.contains("/cart.html") && out.contains("varies per visitor"),
        "{out}"
    );
    assert_eq!(
        s.get("/api/sites/shop/changes?include_varying=maybe")
            .status,
        400
    );
}
