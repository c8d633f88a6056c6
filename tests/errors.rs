//! JavaScript errors through the real binary: `$error` events (what
//! tracker-js/src/errors.js sends) posted to the collector, and the errors
//! report (API and CLI), the frustration report, `why` and search checked
//! against what was sent: a planted error right after the click on "Pay"
//! that every session hitting it leaves on, and a harmless background
//! error on product pages that buyers see too.

mod common;

use common::*;
use serde_json::{json, Value};

const PAY_ERROR: &str = "TypeError: Cannot read properties of undefined (reading 'total')";
const NOISE: &str = "ResizeObserver loop completed with undelivered notifications.";

fn js_error(ts: i64, path: &str, message: &str, source: &str, line: u32, click: bool) -> String {
    json!({
        "type": "custom", "ts": ts, "url": format!("{ORIGIN}{path}"), "name": "$error",
        "props": {"kind": "error", "message": message, "source": source, "line": line,
                  "col": 12, "click": click},
    })
    .to_string()
}

#[test]
fn errors_report_frustration_why_and_search_see_the_planted_error() {
    let s = Server::start(&["--rate-per-client", "0"]);
    let start = now_ms() - 3_600_000;
    let (mut broken, mut noisy, mut quiet, mut bought) = (vec![], vec![], vec![], 0usize);
    for i in 0..300i64 {
        let t = start + i * 5_000;
        let sid = format!("err{i}");
        let mut events = vec![pageview(t, "/", "https://www.google.com/")];
        let at =
            |events: &mut Vec<String>, dt: i64, path: &str| events.push(pageview(t + dt, path, ""));
        match i % 10 {
            // Pay, an error 200 ms after the click, and gone. The tracker
            // dedupes per page view; a second copy must not count twice.
            0 | 5 | 7 => {
                at(&mut events, 2_000, "/cart.html");
                at(&mut events, 4_000, "/checkout/payment.html");
                events.push(click(t + 9_000, 10.0, 10.0, "#pay", false));
                for _ in 0..2 {
                    events.push(js_error(
                        t + 9_200,
                        "/checkout/payment.html",
                        PAY_ERROR,
                        "https://shop.example/static/pay.js?v=3&token=s3cr3t-in-url",
                        88,
                        true,
                    ));
                }
                broken.push(sid.clone());
            }
            // A background error on a product page, then a purchase.
            1 | 3 => {
                at(&mut events, 2_000, "/product/1.html");
                events.push(js_error(
                    t + 2_500,
                    "/product/1.html",
                    NOISE,
                    "https://shop.example/static/app.js",
                    1,
                    false,
                ));
                at(&mut events, 4_000, "/cart.html");
                at(&mut events, 6_000, "/checkout/payment.html");
                at(&mut events, 8_000, "/thank-you.html");
                noisy.push(sid.clone());
                bought += 1;
            }
            2 => {
                at(&mut events, 2_000, "/cart.html");
                quiet.push(sid.clone());
            }
            _ => {
                at(&mut events, 2_000, "/cart.html");
                at(&mut events, 4_000, "/checkout/payment.html");
                at(&mut events, 6_000, "/thank-you.html");
                bought += 1;
            }
        }
        let r = s.collect(&batch(&sid, &events));
        assert_eq!(r.status, 202, "{}", r.body);
    }

    // The errors report: the planted error first, exact counts.
    let report = s.get_json("/api/sites/shop/errors");
    assert_eq!(report["sessions"], 300, "{report}");
    assert_eq!(report["sessions_with_errors"], broken.len() + noisy.len());
    assert_eq!(report["distinct"], 2);
    let first = &report["errors"][0];
    assert_eq!(first["message"], PAY_ERROR, "{report}");
    assert_eq!(first["kind"], "error");
    // The script's query string (a token) is never stored.
    assert_eq!(first["source"], "https://shop.example/static/pay.js");
    assert_eq!(first["line"], 88);
    assert_eq!(first["sessions"], broken.len());
    assert_eq!(first["views"], broken.len(), "once per page view");
    assert_eq!(first["error_clicks"], broken.len());
    assert_eq!(
        first["pages"],
        json!([{"name": "/checkout/payment.html", "sessions": broken.len()}])
    );
    assert_eq!(first["examples"].as_array().unwrap().len(), 10);
    for id in first["examples"].as_array().unwrap() {
        let detail = s.get_json(&format!("/api/sites/shop/sessions/{id}"));
        assert!(detail.to_string().contains(PAY_ERROR), "{detail}");
    }
    let second = &report["errors"][1];
    assert_eq!(second["message"], NOISE);
    assert_eq!(
        (second["sessions"].clone(), second["error_clicks"].clone()),
        (json!(noisy.len()), json!(0))
    );

    // Filters narrow it like every report: nothing after the last session.
    let later = s.get_json(&format!(
        "/api/sites/shop/errors?from={}",
        now_ms() + 60_000
    ));
    assert_eq!(later["sessions_with_errors"], 0, "{later}");
    assert_eq!(later["errors"], json!([]));

    // Frustration: the payment page's error views and error clicks.
    let frustration = s.get_json("/api/sites/shop/frustration");
    let payment = frustration["pages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["page"] == "/checkout/payment.html")
        .unwrap_or_else(|| panic!("{frustration}"));
    assert_eq!(payment["js_errors"], broken.len(), "{payment}");
    assert_eq!(payment["error_clicks"], broken.len(), "{payment}");

    // Why they left: the error is the first reason, named by its message.
    let why = s.get_json("/api/sites/shop/why");
    let reasons = why["reasons"].as_array().unwrap();
    assert_eq!(reasons[0]["reason"], "js_error", "{why}");
    assert_eq!(reasons[0]["sessions"], broken.len());
    assert_eq!(reasons[0]["exits"][0]["value"], "/checkout/payment.html");
    assert_eq!(
        reasons[0]["errors"],
        json!([{"message": PAY_ERROR, "sessions": 10}])
    );
    assert!(
        reasons
            .iter()
            .all(|r| r["reason"] != "js_error" || r["sessions"] == broken.len()),
        "buyers' background errors are not why anyone left: {why}"
    );

    // Search: jserror:true finds every session with an error (once the
    // index, which follows the store in the background, holds them all).
    let started = std::time::Instant::now();
    while s.get_json("/api/sites/shop/sessions?q=")["total"] != 300 {
        assert!(
            started.elapsed().as_secs() < 20,
            "the index did not catch up: {}",
            s.get("/api/sites/shop/sessions?q=").body
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let found = s.get_json("/api/sites/shop/sessions?q=jserror%3Atrue");
    assert_eq!(found["total"], broken.len() + noisy.len(), "{found}");
    let found = s.get_json("/api/sites/shop/sessions?q=jserror%3Atrue%20AND%20converted%3Afalse");
    assert_eq!(found["total"], broken.len(), "{found}");

    // The CLI answers as the API does.
    let (ok, out, err) = run_cli(&s.db, &["errors", "--site", SITE, "--json"]);
    assert!(ok, "{err}");
    let cli: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(cli, report);
    let (ok, out, err) = run_cli(&s.db, &["errors", "--site", SITE]);
    assert!(ok, "{err}");
    assert!(
        out.contains("pay.js") && out.contains("error clicks"),
        "{out}"
    );

    // A $error without a message is the client's mistake: 400, one line,
    // and nothing of the batch is stored.
    let bad = json!({"type": "custom", "ts": now_ms(), "url": format!("{ORIGIN}/"),
                     "name": "$error", "props": {"line": 3}})
    .to_string();
    let r = s.collect(&batch("bad-error", &[pageview(now_ms(), "/", ""), bad]));
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("props.message"), "{}", r.body);
    assert!(!r.body.trim().contains('\n'), "{}", r.body);

    // The capture itself is served beside t.js.
    let js = s.get("/t/errors.js");
    assert_eq!(js.status, 200);
    assert!(js.body.contains("$error"), "{}", js.body);

    // No secret from the script's URL on disk (database and its log).
    drop(s.get("/healthz"));
    let mut stored = Vec::new();
    for suffix in ["", "-wal"] {
        let path = format!("{}{suffix}", s.db.display());
        stored.extend(std::fs::read(&path).unwrap_or_default());
    }
    let needle = b"s3cr3t-in-url";
    assert!(
        !stored.windows(needle.len()).any(|w| w == needle),
        "the script URL's token reached the disk"
    );
    let _ = (quiet, bought);
}
