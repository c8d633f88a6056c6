//! Insights through the real binary: generated sessions posted to the
//! collector, with a habit only the sessions that did not buy follow, and
//! the `contrast` report (API and CLI) checked against counts made here
//! from what was sent, and against the search its rows link to.

mod common;

use common::*;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// One generated session: its pages in order, its custom events, and
/// what it should count as.
struct Sent {
    sid: String,
    pages: Vec<String>,
    events: Vec<&'static str>,
    organic: bool,
    bought: bool,
}

/// Buyers browse and pay; a third of the others compare, look at a
/// product, and then read the returns page: the planted gapped pattern
/// `/compare.html … /returns.html`. Both pages are also visited alone, by
/// both groups, so the pattern says more than either page.
fn generate(n: usize) -> Vec<Sent> {
    let mut dice = Dice(0x2545_f491_4f6c_dd1d);
    let mut out = Vec::new();
    for i in 0..n {
        let bought = dice.below(3) == 0;
        let organic = dice.below(2) == 0;
        let mut pages = vec![["/", "/blog.html", "/sale.html"][dice.below(3) as usize].to_string()];
        let product = || format!("/product/{}.html", i % 7);
        let planted = !bought && dice.below(3) == 0;
        if planted {
            pages.push("/compare.html".into());
            pages.push(product());
            pages.push("/returns.html".into());
        } else {
            // The two pages alone, in the order that is not the pattern.
            if dice.below(4) == 0 {
                pages.push("/returns.html".into());
            }
            pages.push(product());
            if dice.below(4) == 0 {
                pages.push("/compare.html".into());
            }
        }
        // Two help pages always read together, more by those who do not buy.
        if dice.below(if bought { 12 } else { 4 }) == 0 {
            pages.push("/help.html".into());
            pages.push("/help/shipping.html".into());
        }
        let mut events = Vec::new();
        if bought {
            pages.push("/cart.html".into());
            pages.push("/thank-you.html".into());
            events.push("purchase");
        } else if dice.below(2) == 0 {
            pages.push("/cart.html".into());
            if dice.below(2) == 0 {
                events.push("coupon_error");
            }
        }
        if dice.below(5) == 0 {
            events.push("newsletter");
        }
        out.push(Sent {
            sid: format!("ins{i}"),
            pages,
            events,
            organic,
            bought,
        });
    }
    out
}

fn post(s: &Server, sent: &[Sent]) {
    let start = now_ms() - 3_600_000;
    for (i, x) in sent.iter().enumerate() {
        let t = start + i as i64 * 5_000;
        let referrer = if x.organic {
            "https://www.google.com/"
        } else {
            ""
        };
        let mut events: Vec<String> = x
            .pages
            .iter()
            .enumerate()
            .map(|(k, p)| pageview(t + k as i64 * 500, p, if k == 0 { referrer } else { "" }))
            .collect();
        for (k, name) in x.events.iter().enumerate() {
            events.push(custom(t + 400 + k as i64 * 10, name, 1));
        }
        let r = s.collect(&batch(&x.sid, &events));
        assert_eq!(r.status, 202, "{}", r.body);
    }
}

/// Whether `pattern` occurs in `pages` in order, gaps allowed.
fn follows(pages: &[String], pattern: &[&str]) -> bool {
    let mut want = pattern.iter().peekable();
    for p in pages {
        if want.peek() == Some(&&p.as_str()) {
            want.next();
        }
    }
    want.peek().is_none()
}

fn steps(row: &Value) -> Vec<&str> {
    row["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect()
}

fn search_total(s: &Server, q: &str) -> u64 {
    let r = s.get(&format!("/api/sites/shop/sessions?q={}", url_encode(q)));
    assert_eq!(r.status, 200, "{q}: {}", r.body);
    r.json()["total"].as_u64().unwrap()
}

#[test]
fn contrast_finds_the_habit_that_sets_the_groups_apart() {
    let s = Server::start(&["--rate-per-client", "0"]);
    let mut settings = s.get_json("/api/sites/shop/stages/settings");
    settings["goals"] = json!(["^/thank-you"]);
    let r = s.put("/api/sites/shop/stages/settings", &settings.to_string());
    assert_eq!(r.status, 200, "{}", r.body);

    let sent = generate(600);
    post(&s, &sent);
    let buyers: Vec<&Sent> = sent.iter().filter(|x| x.bought).collect();
    let others: Vec<&Sent> = sent.iter().filter(|x| !x.bought).collect();

    let report = s.get_json("/api/sites/shop/contrast");
    assert_eq!(report["a"], "converted", "{report}");
    assert_eq!(report["b"], "rest");
    assert_eq!(report["sessions"], sent.len());
    assert_eq!(report["sessions_a"], buyers.len());
    assert_eq!(report["sessions_b"], others.len());
    assert_eq!(report["left_out"], 0);
    assert_eq!(report["sample_rate"], 1.0);

    // The planted habit comes first among what the others do more, with
    // the counts of a brute-force subsequence test.
    let planted = ["/compare.html", "/returns.html"];
    let first = &report["patterns"]["more_in_b"][0];
    assert_eq!(steps(first), planted, "{report}");
    let count = |group: &[&Sent], pattern: &[&str]| {
        group.iter().filter(|x| follows(&x.pages, pattern)).count()
    };
    assert_eq!(first["a"], count(&buyers, &planted), "{first}");
    assert_eq!(first["b"], count(&others, &planted), "{first}");
    assert!(first["q"].as_f64().unwrap() <= 0.05, "{first}");
    for list in ["more_in_a", "more_in_b"] {
        for row in report["patterns"][list].as_array().unwrap() {
            let st = steps(row);
            assert_eq!(row["a"], count(&buyers, &st), "{row}");
            assert_eq!(row["b"], count(&others, &st), "{row}");
        }
    }

    // Pages: exact counts, and the page that defines the goal is left out.
    let mut pages_listed = 0;
    for (list, more_in_a) in [("more_in_a", true), ("more_in_b", false)] {
        for row in report["pages"][list].as_array().unwrap() {
            let page = row["steps"][0].as_str().unwrap();
            assert_ne!(page, "/thank-you.html", "{report}");
            let (a, b) = (count(&buyers, &[page]), count(&others, &[page]));
            assert_eq!(
                (row["a"].as_u64(), row["b"].as_u64()),
                (Some(a as u64), Some(b as u64))
            );
            let (sa, sb) = (
                a as f64 / buyers.len() as f64,
                b as f64 / others.len() as f64,
            );
            assert_eq!(sa > sb, more_in_a, "{row}");
            pages_listed += 1;
        }
    }
    assert!(pages_listed > 0, "{report}");

    // Items held by exactly the same sessions are one row, the others
    // under `also`: here the two help pages.
    let holders = |pattern: &[&str]| -> Vec<&str> {
        sent.iter()
            .filter(|x| follows(&x.pages, pattern))
            .map(|x| x.sid.as_str())
            .collect()
    };
    let mut merged = 0;
    for kind in ["pages", "patterns"] {
        for list in ["more_in_a", "more_in_b"] {
            for row in report[kind][list].as_array().unwrap() {
                for other in row["also"].as_array().unwrap() {
                    let other: Vec<&str> = other
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|s| s.as_str().unwrap())
                        .collect();
                    assert_eq!(holders(&other), holders(&steps(row)), "{row}");
                    merged += 1;
                }
            }
        }
    }
    let help = report["pages"]["more_in_b"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["steps"][0] == "/help.html" || r["steps"][0] == "/help/shipping.html")
        .unwrap_or_else(|| panic!("{report}"));
    assert_eq!(help["also"].as_array().unwrap().len(), 1, "{help}");
    assert!(merged >= 1);
    let cart = report["pages"]["more_in_a"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["steps"][0] == "/cart.html");
    assert!(cart.is_some(), "every buyer passed the cart: {report}");

    // Events: only the non-buyers hit the coupon error.
    let coupon = report["events"]["more_in_b"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["steps"][0] == "event:coupon_error")
        .unwrap_or_else(|| panic!("{report}"));
    let errors = |g: &[&Sent]| {
        g.iter()
            .filter(|x| x.events.contains(&"coupon_error"))
            .count()
    };
    assert_eq!(coupon["a"], errors(&buyers));
    assert_eq!(coupon["b"], errors(&others));

    // Each row links to a search that finds its sessions in each group.
    let started = Instant::now();
    while search_total(&s, "") < sent.len() as u64 {
        assert!(started.elapsed() < Duration::from_secs(20), "index stuck");
        std::thread::sleep(Duration::from_millis(100));
    }
    for row in [first, coupon] {
        let (qa, qb) = (
            row["search_a"].as_str().unwrap(),
            row["search_b"].as_str().unwrap(),
        );
        // Search says the pages are there, not their order: at least the
        // pattern's sessions, and exactly an item's.
        if row["kind"] == "pattern" {
            assert!(search_total(&s, qb) >= row["b"].as_u64().unwrap(), "{qb}");
        } else {
            assert_eq!(search_total(&s, qa), row["a"].as_u64().unwrap(), "{qa}");
            assert_eq!(search_total(&s, qb), row["b"].as_u64().unwrap(), "{qb}");
        }
    }

    // Two values of one dimension; the sessions in neither are left out.
    let by_channel =
        s.get_json("/api/sites/shop/contrast?a=channel%3Dorganic_search&b=channel%3Ddirect");
    let organic = sent.iter().filter(|x| x.organic).count();
    assert_eq!(by_channel["sessions_a"], organic, "{by_channel}");
    assert_eq!(by_channel["sessions_b"], sent.len() - organic);
    assert_eq!(by_channel["left_out"], 0);

    // Reached a page, against the rest.
    let cart = s.get_json("/api/sites/shop/contrast?a=reached%3A%5E%2Fcart");
    let carted = sent
        .iter()
        .filter(|x| x.pages.iter().any(|p| p == "/cart.html"))
        .count();
    assert_eq!(cart["sessions_a"], carted, "{cart}");
    for list in ["more_in_a", "more_in_b"] {
        for row in cart["pages"][list].as_array().unwrap() {
            assert_ne!(
                row["steps"][0], "/cart.html",
                "the group's own page: {cart}"
            );
        }
    }

    // An entry page against the rest: the page itself is no answer.
    let home = s.get_json("/api/sites/shop/contrast?a=entry_page%3D%2F");
    let entered = sent.iter().filter(|x| x.pages[0] == "/").count();
    assert_eq!(home["sessions_a"], entered, "{home}");
    for list in ["more_in_a", "more_in_b"] {
        for row in home["pages"][list].as_array().unwrap() {
            assert_ne!(row["steps"][0], "/", "the group's own page: {home}");
        }
    }

    // The client's mistakes, each a 4xx with its reason.
    for (query, status, says) in [
        ("a=rest", 400, "rest"),
        ("a=converted&b=converted", 400, "same group"),
        ("a=bogus", 400, "converted"),
        (
            "a=channel%3Dorganic_search&b=device%3Ddesktop",
            400,
            "dimension",
        ),
        ("a=channel%3Dnowhere", 404, "nowhere"),
        ("top=0", 400, "top"),
        ("max_len=9", 400, "max_len"),
    ] {
        let r = s.get(&format!("/api/sites/shop/contrast?{query}"));
        assert_eq!(r.status, status, "{query}: {}", r.body);
        assert!(r.body.contains(says), "{query}: {}", r.body);
    }

    // The CLI answers as the API does.
    let (ok, out, err) = run_cli(&s.db, &["contrast", "--site", SITE, "--json"]);
    assert!(ok, "{err}");
    let cli: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(cli, report);
    let (ok, out, err) = run_cli(&s.db, &["contrast", "--site", SITE]);
    assert!(ok, "{err}");
    assert!(out.contains("/compare.html"), "{out}");
    let (ok, _, err) = run_cli(&s.db, &["contrast", "--site", SITE, "--a", "rest"]);
    assert!(!ok && err.contains("rest"), "{err}");
}

/// `why`: sessions reach the cart; of those that do not buy, most
/// rage-click on the shipping step and leave there, some bounce back from
/// the help page and leave, some stay four minutes on the cart and leave,
/// some leave quietly (no time known). Sessions that never reach
/// the cart are not asked about, whatever they did.
#[test]
fn why_ranks_the_planted_exit_cause_first() {
    let s = Server::start(&["--rate-per-client", "0"]);
    let start = now_ms() - 3_600_000;
    let (mut rage, mut quick_back, mut quiet, mut long_stay, mut bought) =
        (vec![], vec![], vec![], vec![], 0);
    for i in 0..400i64 {
        let t = start + i * 5_000;
        let sid = format!("why{i}");
        let mut events = vec![pageview(t, "/", "https://www.google.com/")];
        let mut at = |dt: i64, path: &str| events.push(pageview(t + dt, path, ""));
        match i % 8 {
            // Bouncers with rage: never at the cart.
            7 => {
                at(2_000, "/product/1.html");
                events.push(click(t + 3_000, 10.0, 10.0, "#buy", true));
            }
            0 | 4 => {
                at(2_000, "/cart.html");
                at(4_000, "/checkout/shipping.html");
                at(6_000, "/thank-you.html");
                bought += 1;
            }
            1..=3 => {
                at(2_000, "/cart.html");
                at(4_000, "/checkout/shipping.html");
                events.push(click(t + 25_000, 10.0, 10.0, "#shipping", true));
                rage.push(sid.clone());
            }
            5 => {
                at(2_000, "/cart.html");
                at(4_000, "/help.html");
                at(7_000, "/cart.html");
                quick_back.push(sid.clone());
            }
            // Four minutes on the cart (the tracker's leave event says so).
            _ if i % 16 == 14 => {
                at(2_000, "/cart.html");
                events.push(format!(
                    r#"{{"type":"leave","ts":{},"engaged_ms":200000,"max_depth":0.5}}"#,
                    t + 242_000
                ));
                long_stay.push(sid.clone());
            }
            _ => {
                at(2_000, "/cart.html");
                quiet.push(sid.clone());
            }
        }
        let r = s.collect(&batch(&sid, &events));
        assert_eq!(r.status, 202, "{}", r.body);
    }
    let report = s.get_json("/api/sites/shop/why?breakdown=device");
    assert_eq!(report["at"], "stage:decision", "{report}");
    let left = rage.len() + quick_back.len() + quiet.len() + long_stay.len();
    assert_eq!(report["reached"], left + bought);
    assert_eq!(report["converted"], bought);
    assert_eq!(report["left"], left);
    let reasons = report["reasons"].as_array().unwrap();
    let codes: Vec<&str> = reasons
        .iter()
        .map(|r| r["reason"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        ["rage_clicks", "quick_back", "long_stay", "no_sign"],
        "{report}"
    );
    let first = &reasons[0];
    assert_eq!(first["sessions"], rage.len());
    assert_eq!(first["exits"][0]["value"], "/checkout/shipping.html");
    assert_eq!(first["exits"][0]["sessions"], rage.len());
    assert_eq!(first["groups"][0]["value"], "desktop");
    // The element rage-clicked on the exit page, in the ten examples.
    assert_eq!(
        first["elements"],
        json!([{"selector": "#shipping", "sessions": 10}])
    );
    assert_eq!(reasons[1]["elements"], Value::Null);
    assert_eq!(reasons[1]["sessions"], quick_back.len());
    assert_eq!(reasons[1]["exits"][0]["value"], "/cart.html");
    assert_eq!(reasons[2]["sessions"], long_stay.len());
    assert_eq!(reasons[2]["exits"][0]["value"], "/cart.html");
    assert_eq!(reasons[3]["sessions"], quiet.len());

    // The examples are sessions with the reason: the newest ten.
    let examples = first["examples"].as_array().unwrap();
    assert_eq!(examples.len(), 10);
    for id in examples {
        let detail = s.get_json(&format!("/api/sites/shop/sessions/{id}"));
        let pages = detail.to_string();
        assert!(
            pages.contains("/checkout/shipping.html") && !pages.contains("/thank-you.html"),
            "{detail}"
        );
    }

    // Another decision point, and the client's mistakes.
    let help = s.get_json("/api/sites/shop/why?at=%5E%2Fhelp");
    assert_eq!(help["reached"], quick_back.len(), "{help}");
    for (query, status, says) in [
        ("at=stage:nowhere", 404, "no stage"),
        ("at=%5E(", 400, "at"),
        ("top=0", 400, "top"),
    ] {
        let r = s.get(&format!("/api/sites/shop/why?{query}"));
        assert_eq!(r.status, status, "{query}: {}", r.body);
        assert!(r.body.contains(says), "{query}: {}", r.body);
    }

    // The CLI answers as the API does.
    let (ok, out, err) = run_cli(
        &s.db,
        &["why", "--site", SITE, "--breakdown", "device", "--json"],
    );
    assert!(ok, "{err}");
    let cli: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(cli, report);
    let (ok, out, err) = run_cli(&s.db, &["why", "--site", SITE]);
    assert!(ok, "{err}");
    assert!(out.contains("rage-clicked"), "{out}");
}

/// A page of the shop as the recorder stores it: the shop's menu and
/// footer (on every page), and the page's own lines.
fn shop_layout(own: &[&str]) -> String {
    let own: String = own.iter().map(|l| format!("<p>{l}</p>")).collect();
    format!(
        "<!DOCTYPE html><html><head><title>Shop</title></head><body>\
         <nav><a>Trail shop</a><a>Bags</a><a>Shoes</a><a>Sale</a><a>Help</a><a>Cart</a></nav>\
         <main>{own}</main><footer><p>Returns</p><p>Contact</p><p>© Trail shop</p></footer>\
         </body></html>"
    )
}

/// A checkout step: the order summary every step shows, and the step's
/// own lines.
fn checkout_layout(step: &[&str]) -> String {
    let mut own = vec!["Checkout", "Daypack", "$89.00", "Subtotal: $89.00"];
    own.extend(step);
    own.push("Continue");
    shop_layout(&own)
}

/// The `$layout` event the recorder sends after a page view.
fn shown(ts: i64, html: &str) -> String {
    format!(
        r#"{{"type":"custom","ts":{ts},"name":"$layout","props":{{"hash":"{}"}}}}"#,
        sha256_hex(html)
    )
}

/// `why`'s new content: sessions that leave at the shipping step, whose
/// layout shows the address step's summary plus a shipping cost, rank
/// first with that line; leaving at the address step (held against the
/// cart, another page) or with no layouts is no such sign; a cart that
/// shows a new line when a visitor comes back to it is.
#[test]
fn why_names_the_new_content_on_the_step_they_left() {
    let s = Server::start(&["--rate-per-client", "0"]);
    // The cart shares the menu, the footer and a "Daypack" line with the
    // address step: most of its lines are on that page too, and only
    // leaving the menu and footer out tells them apart.
    let home = shop_layout(&["Spring sale", "New boots"]);
    let cart = shop_layout(&["Your cart", "Daypack", "Checkout"]);
    let cart_again = shop_layout(&["Your cart", "Daypack", "Gift wrap: $5.00", "Checkout"]);
    let address = checkout_layout(&["Street", "City"]);
    let shipping = checkout_layout(&["Standard", "Shipping: $19.95"]);
    for (path, html) in [
        ("/", &home),
        ("/cart.html", &cart_again),
        ("/cart.html", &cart),
        ("/checkout/address.html", &address),
        ("/checkout/shipping.html", &shipping),
    ] {
        upload_layout(&s, path, html);
    }
    let (cart, cart_again) = (cart.as_str(), cart_again.as_str());
    let start = now_ms() - 3_600_000;
    let (mut at_shipping, mut at_address, mut unrecorded, mut back, mut bought) = (0, 0, 0, 0, 0);
    for i in 0..150i64 {
        let t = start + i * 5_000;
        let mut events = vec![pageview(t, "/", ""), shown(t + 300, &home)];
        let mut last = 0;
        let mut view = |dt: i64, path: &str, layout: Option<&str>| {
            events.push(pageview(t + dt, path, ""));
            if let Some(html) = layout {
                events.push(shown(t + dt + 300, html));
            }
            last = dt;
        };
        view(2_000, "/cart.html", Some(cart));
        match i % 5 {
            0 | 1 => {
                view(4_000, "/checkout/address.html", Some(&address));
                view(6_000, "/checkout/shipping.html", Some(&shipping));
                at_shipping += 1;
            }
            2 if i % 10 == 2 => {
                view(4_000, "/checkout/address.html", Some(&address));
                at_address += 1;
            }
            2 => {
                view(4_000, "/checkout/address.html", None);
                view(6_000, "/checkout/shipping.html", None);
                unrecorded += 1;
            }
            3 => {
                view(4_000, "/checkout/address.html", Some(&address));
                view(30_000, "/cart.html", Some(cart_again));
                back += 1;
            }
            _ => {
                view(4_000, "/checkout/address.html", Some(&address));
                view(6_000, "/checkout/shipping.html", Some(&shipping));
                view(8_000, "/thank-you.html", None);
                bought += 1;
            }
        }
        // A minute on the last page: neither a quick exit nor a long stay.
        events.push(format!(
            r#"{{"type":"leave","ts":{},"engaged_ms":60000,"max_depth":0.5}}"#,
            t + last + 60_000
        ));
        let r = s.collect(&batch(&format!("new{i}"), &events));
        assert_eq!(r.status, 202, "{}", r.body);
    }
    let report = s.get_json("/api/sites/shop/why");
    assert_eq!(report["converted"], bought, "{report}");
    // Far fewer than 10,000 left: every session read, no sample.
    assert_eq!(report["sample_rate"], 1.0);
    assert_eq!(
        report["left"],
        at_shipping + at_address + unrecorded + back,
        "{report}"
    );
    let reasons = report["reasons"].as_array().unwrap();
    let first = &reasons[0];
    assert_eq!(first["reason"], "new_content", "{report}");
    assert_eq!(first["sessions"], at_shipping + back, "{report}");
    assert_eq!(
        first["lines"],
        json!([
            {"line": "Shipping: $19.95", "sessions": at_shipping},
            {"line": "Standard", "sessions": at_shipping},
            {"line": "Gift wrap: $5.00", "sessions": back},
        ]),
        "{report}"
    );
    let exits: Vec<(&str, u64)> = first["exits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["value"].as_str().unwrap(),
                e["sessions"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        exits,
        [
            ("/checkout/shipping.html", at_shipping as u64),
            ("/cart.html", back as u64)
        ]
    );
    // The address step is held against the cart, another page: no news.
    // Nor is a step with no layout recorded.
    let quiet = reasons.iter().find(|r| r["reason"] == "no_sign").unwrap();
    assert_eq!(quiet["sessions"], at_address + unrecorded, "{report}");
    assert_eq!(quiet["lines"], Value::Null);

    // The CLI says it too.
    let (ok, out, err) = run_cli(&s.db, &["why", "--site", SITE]);
    assert!(ok, "{err}");
    assert!(
        out.contains("saw something new") && out.contains("+ Shipping: $19.95"),
        "{out}"
    );
}

/// Past the sample limit (here 5,200 sessions), on a site with layouts,
/// `why` counts a deterministic sample and says its rate: every figure
/// on it.
#[test]
fn why_samples_many_sessions_on_a_site_with_layouts() {
    let s = Server::start(&[
        "--rate-per-client",
        "0",
        "--insights-sample-sessions",
        "5200",
    ]);
    // The shop's other pages, which tell its menu and footer from what
    // the checkout steps share.
    let home = shop_layout(&["Spring sale", "New boots"]);
    let bag = shop_layout(&["Daypack", "$89.00", "Add to cart"]);
    let help = shop_layout(&["Shipping and returns"]);
    let address = checkout_layout(&["Street", "City"]);
    let shipping = checkout_layout(&["Standard", "Shipping: $19.95"]);
    for (path, html) in [
        ("/", &home),
        ("/product/daypack.html", &bag),
        ("/help.html", &help),
        ("/checkout/address.html", &address),
        ("/checkout/shipping.html", &shipping),
    ] {
        upload_layout(&s, path, html);
    }
    let n = 10_400i64;
    let start = now_ms() - 3_600_000;
    for i in 0..n {
        let t = start + i * 100;
        let events = [
            pageview(t, "/checkout/address.html", ""),
            shown(t + 300, &address),
            pageview(t + 2_000, "/checkout/shipping.html", ""),
            shown(t + 2_300, &shipping),
        ];
        let r = s.collect(&batch(&format!("many{i}"), &events));
        assert_eq!(r.status, 202, "{}", r.body);
    }
    let report = s.get_json("/api/sites/shop/why");
    assert_eq!(report["sample_rate"], 0.5, "{report}");
    let left = report["left"].as_i64().unwrap();
    // One in two by a hash of the id: about half, and every one left.
    assert!((n / 2 - 300..n / 2 + 300).contains(&left), "{report}");
    assert_eq!(report["reached"], left);
    let first = &report["reasons"][0];
    assert_eq!(first["reason"], "new_content", "{report}");
    assert_eq!(first["sessions"], left);
    assert_eq!(first["lines"][0]["sessions"], left);
    // `contrast` samples past the same limit, on the same sessions.
    let c = s.get_json("/api/sites/shop/contrast?a=reached%3A%5E%2Fcheckout%2Fshipping");
    assert_eq!(c["sample_rate"], 0.5, "{c}");
    assert_eq!(c["sessions_a"], left, "{c}");
}

/// `conformance`: the expected journey product → cart → address →
/// shipping → payment, set through the API; a third of the sessions skip
/// the address step, some go back to a product from the cart, some view
/// the cart twice between products. Every count against what was sent.
#[test]
fn conformance_finds_the_planted_skipped_step() {
    let s = Server::start(&["--rate-per-client", "0"]);
    // No model yet: said so.
    let r = s.get("/api/sites/shop/conformance");
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(r.body.contains("conformance/model"), "{}", r.body);
    let empty = s.get_json("/api/sites/shop/conformance/model");
    assert_eq!(empty["steps"], json!([]));

    let step = |name: &str, target: &str| json!({"name": name, "target": target});
    let mut product = step("Product", "^/product/");
    product["repeatable"] = json!(true);
    let model = json!({"steps": [
        product,
        step("Cart", "^/cart"),
        step("Address", "^/checkout/address"),
        step("Shipping", "^/checkout/shipping"),
        step("Payment", "^/checkout/payment"),
    ]});
    let r = s.put("/api/sites/shop/conformance/model", &model.to_string());
    assert_eq!(r.status, 200, "{}", r.body);
    // Bad models: one step, an optional last step, a pattern that does not compile.
    for (bad, says) in [
        (json!({"steps": [step("A", "^/a")]}), "2 to 20 steps"),
        (
            json!({"steps": [step("A", "^/a"), {"name": "B", "target": "^/b", "optional": true}]}),
            "cannot be optional",
        ),
        (
            json!({"steps": [step("A", "^/a"), step("B", "^/(")]}),
            "not a valid regex",
        ),
    ] {
        let r = s.put("/api/sites/shop/conformance/model", &bad.to_string());
        assert_eq!(r.status, 400, "{}", r.body);
        assert!(r.body.contains(says), "{says}: {}", r.body);
    }
    // Saving the stages and goals leaves the model as it was.
    let settings = s.get_json("/api/sites/shop/stages/settings");
    let r = s.put(
        "/api/sites/shop/stages/settings",
        &json!({"stages": settings["stages"], "goals": settings["goals"]}).to_string(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(s.get_json("/api/sites/shop/conformance/model"), model);

    let start = now_ms() - 3_600_000;
    let (mut skipped, mut back, mut cart_twice, mut conforming, mut outside) = (0, 0, 0, 0, 0);
    for i in 0..300i64 {
        let t = start + i * 5_000;
        let path: Vec<&str> = match i % 6 {
            // Skips the address step.
            0 | 1 => vec![
                "/product/1.html",
                "/cart.html",
                "/checkout/shipping.html",
                "/checkout/payment.html",
            ],
            // Back to a product from the cart (out of order), then on.
            2 => vec![
                "/product/1.html",
                "/cart.html",
                "/product/2.html",
                "/cart.html",
                "/checkout/address.html",
                "/checkout/shipping.html",
                "/checkout/payment.html",
            ],
            // Never near the model.
            3 => vec!["/", "/blog.html"],
            // The cart twice (not repeatable) with help between.
            4 => vec![
                "/product/1.html",
                "/cart.html",
                "/help.html",
                "/cart.html",
                "/checkout/address.html",
                "/checkout/shipping.html",
                "/checkout/payment.html",
            ],
            // As expected, two products (repeatable).
            _ => vec![
                "/",
                "/product/1.html",
                "/product/2.html",
                "/cart.html",
                "/checkout/address.html",
                "/checkout/shipping.html",
                "/checkout/payment.html",
            ],
        };
        match i % 6 {
            0 | 1 => skipped += 1,
            2 => back += 1,
            3 => outside += 1,
            4 => cart_twice += 1,
            _ => conforming += 1,
        }
        let events: Vec<String> = path
            .iter()
            .enumerate()
            .map(|(k, p)| pageview(t + k as i64 * 1000, p, ""))
            .collect();
        let r = s.collect(&batch(&format!("conf{i}"), &events));
        assert_eq!(r.status, 202, "{}", r.body);
    }
    let report = s.get_json("/api/sites/shop/conformance?breakdown=device");
    assert_eq!(report["source"], "saved", "{report}");
    assert_eq!(report["sessions"], 300);
    assert_eq!(report["touched"], 300 - outside);
    assert_eq!(report["completed"], 300 - outside);
    assert_eq!(report["conforming"], conforming);
    let steps = report["steps"].as_array().unwrap();
    assert_eq!(steps[2]["name"], "Address");
    assert_eq!(steps[2]["skipped"], skipped, "{report}");
    assert_eq!(steps[2]["reached"], back + cart_twice + conforming);
    assert_eq!(steps[0]["out_of_order"], back);
    assert_eq!(steps[1]["repeated"], cart_twice);
    // The planted skip ranks first, with the newest ten as examples.
    let first = &report["deviations"][0];
    assert_eq!(
        (first["kind"].as_str(), first["step"].as_str()),
        (Some("skipped"), Some("Address")),
        "{report}"
    );
    assert_eq!(first["sessions"], skipped);
    assert_eq!(first["examples"].as_array().unwrap().len(), 10);
    let went_back = report["deviations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["kind"] == "out_of_order")
        .unwrap();
    assert_eq!(
        (went_back["step"].as_str(), went_back["after"].as_str()),
        (Some("Product"), Some("Cart"))
    );
    // Fitness: 1 for the conforming; skip: 4 in order, 1 deviation.
    let mean = report["mean_fitness"].as_f64().unwrap();
    let want = (conforming as f64 * 1.0
        + skipped as f64 * (4.0 / 5.0)
        + back as f64 * (6.0 / 7.0)
        + cart_twice as f64 * (5.0 / 6.0))
        / (300 - outside) as f64;
    assert!((mean - want).abs() < 1e-9, "{mean} {want}");
    assert_eq!(report["fitness"][10], conforming);
    assert_eq!(report["groups"][0]["value"], "desktop");

    // A model in the query, without saving it.
    let asked = s.get_json(
        "/api/sites/shop/conformance?step=%5E%2Fcart&step=%5E%2Fcheckout%2Fpayment&name=Cart&name=Pay",
    );
    assert_eq!(asked["source"], "query");
    assert_eq!(asked["steps"][1]["name"], "Pay");
    // Without the product step, going back to a product is the cart twice.
    assert_eq!(asked["conforming"], conforming + skipped, "{asked}");
    let r = s.get("/api/sites/shop/conformance?step=%5E%2Fcart&step=%5E%2Fx&optional=3");
    assert_eq!(r.status, 400, "{}", r.body);

    // The CLI: the same report, and the model.
    let (ok, out, err) = run_cli(
        &s.db,
        &[
            "conformance",
            "--site",
            SITE,
            "--breakdown",
            "device",
            "--json",
        ],
    );
    assert!(ok, "{err}");
    let cli: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(cli, report);
    let (ok, out, err) = run_cli(&s.db, &["expected", "show", "--site", SITE]);
    assert!(
        ok && out.contains("1. Product  ^/product/ (repeatable)"),
        "{out}{err}"
    );
    let (ok, _, err) = run_cli(&s.db, &["expected", "clear", "--site", SITE]);
    assert!(ok, "{err}");
    assert_eq!(s.get("/api/sites/shop/conformance").status, 409);
}
