//! `trailmap demo` and the tracker asset, through the real binary.

mod common;

use std::process::Command;

use common::*;
use sha2::{Digest, Sha256};

#[test]
fn the_demo_fills_every_report_with_realistic_sessions() {
    let demo = start_demo(120);
    assert_eq!(demo.token.len(), 48, "a generated token is printed");
    // Every visit the demo sent is one stored session (a visitor's two
    // visits are two sessions), once the last batch is written.
    let all_sessions = || {
        let mut sessions = vec![];
        let mut path = "/api/sites/shop/sessions?limit=1000&include_bots=true".to_string();
        loop {
            let page = demo_get_json(&demo, &path);
            sessions.extend(page["sessions"].as_array().unwrap().clone());
            match page["next_cursor"].as_str() {
                Some(c) => {
                    path =
                        format!("/api/sites/shop/sessions?limit=1000&include_bots=true&cursor={c}")
                }
                None => break,
            }
        }
        sessions
    };
    let mut sessions = all_sessions();
    for _ in 0..50 {
        if sessions.len() >= demo.sent {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        sessions = all_sessions();
    }
    assert!(demo.sent >= 120, "{} visits sent", demo.sent);
    assert_eq!(
        sessions.len(),
        demo.sent,
        "sessions stored for the visits sent"
    );
    // Some visitors are still on the shop as the demo starts.
    let now = demo_get_json(&demo, "/api/sites/shop/realtime?minutes=5");
    assert!(now["sessions"].as_u64().unwrap() > 0, "{now}");
    let count = |f: &dyn Fn(&serde_json::Value) -> bool| sessions.iter().filter(|s| f(s)).count();
    for channel in ["direct", "organic_search", "paid", "email", "social"] {
        assert!(
            count(&|s| s["channel"] == channel) > 0,
            "no {channel} sessions"
        );
    }
    assert!(count(&|s| s["is_bot"] == true) > 0, "crawlers");
    assert!(count(&|s| s["device"] == "mobile") > 0);
    assert!(count(&|s| s["rage_clicks"].as_i64() > Some(0)) > 0);
    assert!(count(&|s| s["dead_clicks"].as_i64() > Some(0)) > 0);
    assert!(count(&|s| s["error_pages"].as_i64() > Some(0)) > 0, "404s");
    let reached = |page: &str| count(&|s| s["exit_page"] == page);
    assert!(
        reached("/checkout/shipping.html") > reached("/thank-you.html"),
        "most leave at shipping"
    );
    assert!(reached("/thank-you.html") > 0);
    // A buyer's session replays with its custom events.
    let buyer = sessions
        .iter()
        .find(|s| s["exit_page"] == "/thank-you.html")
        .unwrap();
    let detail = demo_get_json(&demo, &format!("/api/sites/shop/sessions/{}", buyer["id"]));
    let events = detail["events"].as_array().unwrap();
    assert!(events
        .iter()
        .any(|e| e["type"] == "custom" && e["name"] == "purchase"));
    assert_eq!(
        detail["pages"].as_array().unwrap().last().unwrap(),
        "/thank-you.html"
    );
    // ... on the storefront's real pages: every page view has a layout,
    // stored and shown through a signed frame without scripts.
    let layouts: Vec<&str> = events
        .iter()
        .filter(|e| e["type"] == "custom" && e["name"] == "$layout")
        .map(|e| e["props"]["hash"].as_str().unwrap())
        .collect();
    assert_eq!(layouts.len(), detail["pages"].as_array().unwrap().len());
    // A layout as the player shows it: through its signed frame link.
    let frame_of = |hash: &str| {
        let layout = demo_get_json(&demo, &format!("/api/sites/shop/layouts/{hash}"));
        ureq::get(&format!(
            "{}{}",
            demo.collector,
            layout["frame_url"].as_str().unwrap()
        ))
        .call()
        .unwrap()
        .into_string()
        .unwrap()
    };
    let frame = frame_of(layouts[0]);
    assert!(
        frame.contains("Trailhead") && !frame.contains("<script"),
        "{frame}"
    );
    // Each buyer's checkout shows what they bought: the payment button
    // and the thank-you page say the order's total.
    let mut totals = std::collections::BTreeSet::new();
    for buyer in sessions
        .iter()
        .filter(|s| s["exit_page"] == "/thank-you.html")
    {
        let detail = demo_get_json(&demo, &format!("/api/sites/shop/sessions/{}", buyer["id"]));
        let mut shown: std::collections::HashMap<String, String> = Default::default();
        let mut revenue = None;
        for e in detail["events"].as_array().unwrap() {
            if e["name"] == "$layout" {
                let page = e["page"].as_str().unwrap().to_string();
                shown.insert(page, e["props"]["hash"].as_str().unwrap().to_string());
            }
            if e["name"] == "purchase" {
                revenue = e["props"]["revenue"].as_f64();
            }
        }
        let total = format!("${:.2}", revenue.expect("a buyer purchased"));
        let thanks = frame_of(&shown["/thank-you.html"]);
        assert!(thanks.contains(&total), "{total} not on {thanks}");
        let payment = frame_of(&shown["/checkout/payment.html"]);
        assert!(payment.contains(&format!("Pay {total}")), "{total}");
        totals.insert(total);
    }
    assert!(
        totals.len() >= 2,
        "buyers bought different things: {totals:?}"
    );
    // The shop changed its home page halfway (the sale banner became a
    // link to the sale's packs): What changed holds it before against
    // after, the banner's dead clicks before and none after.
    let changes = demo_get_json(&demo, "/api/sites/shop/changes?range=all");
    let home: Vec<&serde_json::Value> = changes["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["page"] == "/")
        .collect();
    assert_eq!(home.len(), 1, "{changes}");
    let c = home[0];
    assert!(
        c["added"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("On sale this spring")),
        "{c}"
    );
    assert_ne!(c["status"], "varies", "{c}");
    let ago = common::now_ms() - c["at_ms"].as_i64().unwrap();
    assert!((10 * 3_600_000..12 * 3_600_000).contains(&ago), "{ago}");
    assert!(
        c["before"]["views"].as_u64().unwrap() > 0 && c["after"]["views"].as_u64().unwrap() > 0
    );
    assert!(c["before"]["frustrated_views"].as_u64().unwrap() > 0, "{c}");
    assert_eq!(c["after"]["frustrated_views"], 0, "{c}");
    // Each visitor's cart is no change of the cart page.
    assert!(changes["changes"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["status"] != "varies"));
    // Not scripted-looking: some bounce, product pages are left too, most
    // visitors have a country (MaxMind's test database, with no --geoip),
    // the most frustrated sessions differ, and an app's referrer comes only
    // from its own platform.
    let humans: Vec<&serde_json::Value> =
        sessions.iter().filter(|s| s["is_bot"] == false).collect();
    let bounces =
        humans.iter().filter(|s| s["page_count"] == 1).count() as f64 / humans.len() as f64;
    assert!((0.05..0.4).contains(&bounces), "bounce rate {bounces}");
    assert!(
        humans
            .iter()
            .filter(|s| s["exit_page"]
                .as_str()
                .is_some_and(|p| p.starts_with("/product/")))
            .count()
            > 5,
        "product pages are exits too"
    );
    let located =
        humans.iter().filter(|s| s["country"].is_string()).count() as f64 / humans.len() as f64;
    assert!(located > 0.6, "{located} of the sessions have a country");
    let worst = demo_get_json(&demo, "/api/sites/shop/frustration?worst=20");
    let shapes: std::collections::HashSet<String> = worst["worst_sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            format!(
                "{}-{}-{}-{}",
                w["rage_clicks"], w["dead_clicks"], w["errors"], w["quick_backs"]
            )
        })
        .collect();
    assert!(
        shapes.len() >= 3,
        "the most frustrated sessions are all alike: {shapes:?}"
    );
    let from_app: Vec<_> = humans
        .iter()
        .filter(|s| {
            s["referrer"]
                .as_str()
                .is_some_and(|r| r.starts_with("android-app://"))
        })
        .collect();
    assert!(!from_app.is_empty(), "the Gmail app's referrer is kept");
    for s in from_app {
        assert_eq!(s["os"], "Android", "{s}");
    }
    // Heatmaps of every viewport class find a background.
    for viewport in ["desktop", "tablet", "mobile"] {
        let bg = demo_get_json(
            &demo,
            &format!("/api/sites/shop/layouts?page=/cart.html&viewport={viewport}"),
        );
        assert!(bg["hash"].is_string(), "{viewport}: {bg}");
    }
}

#[test]
fn the_demo_shop_is_a_second_origin_with_the_tag() {
    let demo = start_demo(0);
    assert_ne!(demo.shop, demo.collector);
    let home = agent()
        .get(&format!("{}/", demo.shop))
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    assert!(
        home.contains(&format!(r#"src="{}/t.js""#, demo.collector)),
        "the tag points at the collector"
    );
    assert!(home.contains(r#"data-site="shop""#));
    for page in [
        "/category/shoes.html",
        "/product/101.html",
        "/cart.html",
        "/checkout/shipping.html",
        "/thank-you.html",
        "/help/faq.html",
        "/gifts/who",
        "/search.html?q=boots",
    ] {
        let r = agent().get(&format!("{}{page}", demo.shop)).call().unwrap();
        assert_eq!(r.status(), 200, "{page}");
    }
    match agent().get(&format!("{}/no/such/page", demo.shop)).call() {
        Err(ureq::Error::Status(404, r)) => {
            assert!(r.into_string().unwrap().contains("trailmap-status"))
        }
        other => panic!("expected the 404 page, got {other:?}"),
    }
    // The shop's origin is registered: a preflight from it is allowed.
    let pre = agent()
        .request("OPTIONS", &format!("{}/api/collect", demo.collector))
        .set("Origin", &demo.shop)
        .call()
        .unwrap();
    assert_eq!(pre.status(), 204);
}

#[test]
fn the_demo_refuses_to_replace_a_database_that_is_not_a_demo() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("real.db");
    let (ok, _, _) = run_cli(
        &db,
        &["site", "add", "real", "--origin", "https://real.example"],
    );
    assert!(ok);
    let out = Command::new(bin())
        .args(["demo", "--listen", "127.0.0.1:0", "--visitors", "0", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a demo database"));
    let (_, listed, _) = run_cli(&db, &["site", "list"]);
    assert!(listed.contains("real"), "untouched");
}

#[test]
fn the_tracker_is_served_with_caching_headers() {
    let s = Server::start(&[]);
    let committed = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tracker-js/dist/t.min.js"
    ))
    .unwrap();
    let r = agent().get(&s.url("/t.js")).call().unwrap();
    assert_eq!(
        r.header("content-type"),
        Some("application/javascript; charset=utf-8")
    );
    assert_eq!(r.header("cache-control"), Some("public, max-age=3600"));
    let etag = r.header("etag").unwrap().to_string();
    let mut body = vec![];
    std::io::Read::read_to_end(&mut r.into_reader(), &mut body).unwrap();
    assert_eq!(body, committed, "serves the committed build");
    let again = agent()
        .get(&s.url("/t.js"))
        .set("If-None-Match", &etag)
        .call()
        .unwrap();
    assert_eq!(again.status(), 304);
    let version: String = Sha256::digest(&committed)[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    // ureq asks for gzip: the gzip form has its own ETag.
    assert_eq!(etag, format!("\"{version}-gz\""));
    let pinned = agent()
        .get(&s.url(&format!("/t/{version}.js")))
        .call()
        .unwrap();
    assert_eq!(
        pinned.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    let head = agent().head(&s.url("/t.js")).call().unwrap();
    assert_eq!(head.status(), 200);
}

#[test]
fn the_demo_says_where_everything_is_and_a_failed_start_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    // A collector port in use: the demo fails before it creates a database.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let db = dir.path().join("new.db");
    let out = Command::new(bin())
        .args(["demo", "--listen", &format!("127.0.0.1:{port}")])
        .args(["--shop-listen", "127.0.0.1:0", "--visitors", "0", "--db"])
        .arg(&db)
        .env("TRAILMAP_LOG", "info")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains(&format!("cannot listen on 127.0.0.1:{port}")),
        "{err}"
    );
    assert!(!db.exists(), "no database left behind");
    assert!(
        !err.contains('\u{1b}'),
        "no colour codes off a terminal: {err:?}"
    );

    // A start that works prints the dashboards' address and the CLI's --db,
    // and logs to a pipe in plain text.
    let mut child = Command::new(bin())
        .args(["demo", "--listen", "127.0.0.1:0", "--visitors", "0", "--db"])
        .arg(&db)
        .env_remove("TRAILMAP_TOKEN")
        .env("TRAILMAP_LOG", "info")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut printed = String::new();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    while !printed.contains("ready") {
        let mut line = String::new();
        if std::io::BufRead::read_line(&mut stdout, &mut line).unwrap() == 0 {
            break;
        }
        printed.push_str(&line);
    }
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    let collector = printed
        .lines()
        .find_map(|l| l.strip_prefix("trailmap listening on "))
        .expect("the collector's address")
        .to_string();
    assert!(
        printed.contains(&format!(
            "dashboards: {collector}/dashboard/ (sign in with the API token)"
        )),
        "{printed}"
    );
    assert!(
        printed.contains(&format!(
            "trailmap --db {} overview --site shop",
            db.display()
        )),
        "{printed}"
    );
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(!log.is_empty() && !log.contains('\u{1b}'), "{log:?}");
}

/// A raw HTTP/1.1 GET with exactly these headers: (status line, headers
/// lowercased, body as sent).
fn raw_get(s: &Server, path: &str, headers: &str) -> (String, Vec<(String, String)>, Vec<u8>) {
    use std::io::{Read, Write};
    let addr = s
        .url("")
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let mut c = std::net::TcpStream::connect(&addr).unwrap();
    write!(
        c,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\n{headers}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut all = vec![];
    c.read_to_end(&mut all).unwrap();
    let split = all.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&all[..split]).to_string();
    let mut lines = head.lines();
    let status = lines.next().unwrap().to_string();
    let fields = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    (status, fields, all[split + 4..].to_vec())
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

#[test]
fn assets_and_large_answers_travel_compressed() {
    let s = Server::start(&[]);
    let committed = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tracker-js/dist/t.min.js"
    ))
    .unwrap();
    // Brotli for a browser that takes it, the bytes of the committed build.
    let (status, f, body) = raw_get(&s, "/t.js", "Accept-Encoding: gzip, deflate, br, zstd\r\n");
    assert!(status.contains("200"), "{status}");
    assert_eq!(field(&f, "content-encoding"), Some("br"));
    assert_eq!(field(&f, "vary"), Some("accept-encoding"));
    let mut plain = vec![];
    brotli::BrotliDecompress(&mut &body[..], &mut plain).unwrap();
    assert_eq!(plain, committed);
    assert!(
        body.len() * 2 < committed.len(),
        "{} of {}",
        body.len(),
        committed.len()
    );
    // Gzip when brotli is refused; as it is without Accept-Encoding.
    let (_, f, body) = raw_get(&s, "/t.js", "Accept-Encoding: br;q=0, gzip\r\n");
    assert_eq!(field(&f, "content-encoding"), Some("gzip"));
    let mut plain = vec![];
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&body[..]), &mut plain).unwrap();
    assert_eq!(plain, committed);
    let (_, f, body) = raw_get(&s, "/t.js", "");
    assert_eq!(field(&f, "content-encoding"), None);
    assert_eq!(body, committed);
    // Each form revalidates by its own ETag.
    let (_, f, _) = raw_get(&s, "/t.js", "Accept-Encoding: br\r\n");
    let etag = field(&f, "etag").unwrap().to_string();
    let (status, f, body) = raw_get(
        &s,
        "/t.js",
        &format!("Accept-Encoding: br\r\nIf-None-Match: {etag}\r\n"),
    );
    assert!(status.contains("304"), "{status}");
    assert!(body.is_empty() && field(&f, "content-encoding").is_none());
    let (status, ..) = raw_get(
        &s,
        "/t.js",
        &format!("Accept-Encoding: gzip\r\nIf-None-Match: {etag}\r\n"),
    );
    assert!(status.contains("200"), "another form: {status}");

    // The dashboards' scripts, made at build time too.
    let (_, f, body) = raw_get(&s, "/dashboard/js/core.js", "Accept-Encoding: br\r\n");
    assert_eq!(field(&f, "content-encoding"), Some("br"));
    let mut plain = vec![];
    brotli::BrotliDecompress(&mut &body[..], &mut plain).unwrap();
    assert_eq!(
        plain,
        std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/dashboards/js/core.js"
        ))
        .unwrap()
    );

    // An API answer over 1 KiB in gzip; a small one as it is.
    for i in 0..40 {
        let r = agent()
            .post(&s.url("/api/collect"))
            .set("Content-Type", "application/json")
            .set("Origin", "http://shop.test")
            .send_string(&format!(
                r#"{{"site":"shop","sid":"s{i}","events":[{{"type":"pageview","ts":{},"url":"http://shop.test/p/{i}"}}]}}"#,
                now_ms()
            ));
        assert_eq!(r.map(|r| r.status()).unwrap_or(0), 202);
    }
    let auth = format!("Authorization: Bearer {TOKEN}\r\n");
    let (_, f, body) = raw_get(
        &s,
        "/api/sites/shop/sessions?limit=100",
        &format!("{auth}Accept-Encoding: gzip\r\n"),
    );
    assert_eq!(field(&f, "content-encoding"), Some("gzip"), "{f:?}");
    let mut plain = vec![];
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&body[..]), &mut plain).unwrap();
    let list: serde_json::Value = serde_json::from_slice(&plain).unwrap();
    assert_eq!(list["sessions"].as_array().unwrap().len(), 40);
    let (_, f, _) = raw_get(
        &s,
        "/api/sites",
        &format!("{auth}Accept-Encoding: gzip\r\n"),
    );
    assert_eq!(
        field(&f, "content-encoding"),
        None,
        "small answers go as they are"
    );
}
