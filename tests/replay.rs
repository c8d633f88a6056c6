//! Session replay's server side through the real binary: the recorder's
//! upload protocol (dedup by content hash, checks, origins, quota), the
//! layouts API, and the signed, sanitized, sandboxed frame.

mod common;

use common::*;
use serde_json::Value;

const HOSTILE: &str = r#"<!DOCTYPE html><html><head><title>Shoe</title>
<script>window.__pwned = 1</script><meta http-equiv="refresh" content="0;url=https://evil.example/">
<link rel="stylesheet" href="/css/shop.css"></head>
<body onload="window.__pwned=2"><h1 id="name">Blue shoe</h1>
<img src="/img/shoe.png" onerror="window.__pwned=3"><img src="https://evil.example/leak.png">
<a href="javascript:alert(1)">x</a><iframe src="https://evil.example/"></iframe>
<button id="add-to-cart">Add to cart</button></body></html>"#;

/// POST a snapshot (or, with an empty body, ask for it); returns the
/// status and body.
fn snapshot(s: &Server, hash: &str, query: &str, body: &[u8], origin: &str) -> (u16, String) {
    let r = agent()
        .post(&s.url(&format!("/api/replay/snapshots/{hash}?{query}")))
        .set("Origin", origin)
        .send_bytes(body);
    match r {
        Ok(r) => (r.status(), r.into_string().unwrap()),
        Err(ureq::Error::Status(c, r)) => (c, r.into_string().unwrap()),
        Err(e) => panic!("{e}"),
    }
}

const PAGE: &str = "site=shop&url=http%3A%2F%2Fshop.test%2Fproduct%2F1%3Femail%3Da%40b.c&vw=1280&vh=800&dw=1280&dh=2400";

#[test]
fn layouts_upload_once_and_dedup_by_hash() {
    let s = Server::start(&[]);
    let hash = sha256_hex(HOSTILE);
    let gz = gzip(HOSTILE);
    // Unknown yet: a success that asks for the body (a 404 would show as
    // an error in the shop's console on every new layout).
    let (status, body) = snapshot(&s, &hash, PAGE, b"", ORIGIN);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("wanted"), "{body}");
    let (status, body) = snapshot(&s, &hash, PAGE, &gz, ORIGIN);
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        snapshot(&s, &hash, PAGE, &gz, ORIGIN).0,
        200,
        "already stored"
    );
    assert_eq!(snapshot(&s, &hash, PAGE, b"", ORIGIN).0, 204, "known now");
    let conn = open_db(&s.db);
    let n: i64 = conn
        .query_row("SELECT COUNT(*) FROM layouts", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 1, "one copy however many sessions");

    // Refusals, each with its reason.
    let other = sha256_hex("<html></html>");
    for (hash, query, body, origin, code, reason) in [
        (&hash[..10], PAGE, &gz[..], ORIGIN, 400, "SHA-256"),
        (&other[..], PAGE, &gz[..], ORIGIN, 400, "SHA-256"),
        (
            &other[..],
            PAGE,
            b"<html></html>".as_slice(),
            ORIGIN,
            400,
            "gzip",
        ),
        (
            &other[..],
            PAGE,
            &gz[..],
            "http://evil.test",
            403,
            "not registered",
        ),
        (
            &other[..],
            "site=nope&url=x",
            &gz[..],
            ORIGIN,
            403,
            "unknown site",
        ),
        (&other[..], "site=shop&vw=1", &gz[..], ORIGIN, 400, "url"),
        (
            &other[..],
            "site=shop&url=http%3A%2F%2Fshop.test%2F",
            &gz[..],
            ORIGIN,
            400,
            "vw",
        ),
    ] {
        let (status, body) = snapshot(&s, hash, query, body, origin);
        assert_eq!(status, code, "{body}");
        assert!(body.contains(reason), "{reason}: {body}");
    }
    let huge = vec![b'x'; 3 * 1024 * 1024];
    assert_eq!(snapshot(&s, &other, PAGE, &huge, ORIGIN).0, 413);

    // The page's latest layout; the email in the URL never became a page.
    let latest = s.get_json("/api/sites/shop/layouts?page=/product/1&viewport=desktop");
    assert_eq!(latest["hash"], hash.as_str());
    assert_eq!(latest["seen"]["path"], "/product/1");
    assert_eq!(latest["seen"]["dh"], 2400);
    let none = s.get_json("/api/sites/shop/layouts?page=/product/1&viewport=mobile");
    assert!(
        none["hash"].is_null() && none["message"].is_string(),
        "{none}"
    );
    let described = s.get_json(&format!("/api/sites/shop/layouts/{hash}"));
    assert_eq!(described["raw_bytes"], HOSTILE.len());
    assert!(described["frame_url"]
        .as_str()
        .unwrap()
        .starts_with("/replay/frame/shop/"));
    let no_token = ureq::get(&s.url(&format!("/api/sites/shop/layouts/{hash}"))).call();
    assert!(matches!(no_token, Err(ureq::Error::Status(401, _))));
}

#[test]
fn frames_are_signed_sanitized_and_sandboxed() {
    let s = Server::start(&[]);
    let hash = sha256_hex(HOSTILE);
    assert_eq!(snapshot(&s, &hash, PAGE, &gzip(HOSTILE), ORIGIN).0, 201);
    let frame_url = s.get_json(&format!("/api/sites/shop/layouts/{hash}"))["frame_url"]
        .as_str()
        .unwrap()
        .to_string();
    // No token needed: the signature is the permission.
    let r = agent().get(&s.url(&frame_url)).call().unwrap();
    let csp = r.header("content-security-policy").unwrap().to_string();
    assert!(csp.starts_with("sandbox;"), "{csp}");
    assert!(csp.contains("script-src 'none'") && csp.contains("img-src http://shop.test data:"));
    let html = r.into_string().unwrap();
    for gone in [
        "<script",
        "__pwned",
        "onerror",
        "onload",
        "evil.example",
        "javascript:",
        "<iframe",
        "refresh",
    ] {
        assert!(!html.contains(gone), "{gone} survived: {html}");
    }
    assert!(
        html.contains(r#"<head><base href="http://shop.test/product/1">"#),
        "the captured page, without its email parameter: {html}"
    );
    assert!(
        html.contains(r#"<link rel="stylesheet" href="http://shop.test/css/shop.css">"#),
        "{html}"
    );
    assert!(html.contains(r#"<button id="add-to-cart">Add to cart</button>"#));

    // A tampered or foreign signature is refused.
    for bad in [
        frame_url.replace("sig=", "sig=00"),
        frame_url.replace("expires=", "expires=9"),
        format!("/replay/frame/shop/{hash}"),
    ] {
        match agent().get(&s.url(&bad)).call() {
            Err(ureq::Error::Status(403, r)) => {
                assert!(r.into_string().unwrap().contains("invalid or expired"))
            }
            other => panic!("{bad}: {other:?}"),
        }
    }
}

#[test]
fn the_quota_bounds_what_a_site_stores() {
    let s = Server::start(&["--replay-quota-mb", "0"]);
    let html = "<!DOCTYPE html><html><head></head><body>x</body></html>";
    let (status, body) = snapshot(&s, &sha256_hex(html), PAGE, &gzip(html), ORIGIN);
    assert_eq!(status, 413);
    assert!(body.contains("quota"), "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert!(v["error"].is_string());
}

#[test]
fn a_data_url_with_a_multibyte_character_does_not_break_the_frame() {
    // Uploads need no token: before the fix, byte offsets into this src
    // split the `é` and every request for the frame answered 500.
    let s = Server::start(&[]);
    let layout = r#"<html><head></head><body><img src="data:abcdeé,x"><p>kept</p></body></html>"#;
    let hash = sha256_hex(layout);
    assert_eq!(snapshot(&s, &hash, PAGE, &gzip(layout), ORIGIN).0, 201);
    let frame_url = s.get_json(&format!("/api/sites/shop/layouts/{hash}"))["frame_url"]
        .as_str()
        .unwrap()
        .to_string();
    let r = agent().get(&s.url(&frame_url)).call().unwrap();
    assert_eq!(r.status(), 200);
    let html = r.into_string().unwrap();
    assert!(
        html.contains("<p>kept</p>") && !html.contains("data:abcde"),
        "{html}"
    );
}
