//! Sites added through the API, the install check and the realtime view,
//! through the real binary and real HTTP: a site added by an admin takes
//! events at once, the install check turns from "nothing yet" to the first
//! event, and the realtime view counts who is on the site now, with their
//! current pages and the page views and conversions as they come.

mod common;

use common::*;
use serde_json::Value;

fn get(s: &Server, path: &str) -> Resp {
    into_resp(
        agent()
            .get(&s.url(path))
            .set("authorization", &format!("Bearer {TOKEN}"))
            .call(),
    )
}

fn post(s: &Server, path: &str, body: &str, bearer: &str) -> Resp {
    into_resp(
        agent()
            .post(&s.url(path))
            .set("authorization", &format!("Bearer {bearer}"))
            .send_string(body),
    )
}

#[test]
fn a_site_added_through_the_api_shows_its_first_event_and_who_is_on_it_now() {
    let s = Server::start(&[]);
    let made = post(
        &s,
        "/api/sites",
        r#"{"name":"blog","origins":["http://blog.test"]}"#,
        TOKEN,
    );
    assert_eq!(made.status, 201, "{}", made.body);
    let bad = post(
        &s,
        "/api/sites",
        r#"{"name":"x","origins":["ftp://x"]}"#,
        TOKEN,
    );
    assert_eq!(bad.status, 400, "{}", bad.body);
    let again = post(
        &s,
        "/api/sites",
        r#"{"name":"blog","origins":["https://blog.test"]}"#,
        TOKEN,
    );
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.json()["origins"].as_array().unwrap().len(), 2);

    let check = get(&s, "/api/sites/blog/install").json();
    assert_eq!(
        (check["first_event"].clone(), check["sessions"].clone()),
        (Value::Null, Value::from(0))
    );

    // The collector takes the new site at once, from its origin.
    let now = now_ms();
    let events = [
        pageview(now - 20 * 60_000, "/old", ""),
        pageview(now - 60_000, "/cart.html", ""),
        pageview(now - 30_000, "/thank-you.html", ""),
    ];
    let body = batch("a1", &events).replace(r#""site":"shop""#, r#""site":"blog""#);
    let r = s.collect_with(body.as_bytes(), Some("http://blog.test"), "text/plain");
    assert_eq!(r.status, 202, "{}", r.body);
    let other = batch("b1", &[pageview(now - 10_000, "/product/1", "")])
        .replace(r#""site":"shop""#, r#""site":"blog""#);
    assert_eq!(
        s.collect_with(other.as_bytes(), Some("http://blog.test"), "text/plain")
            .status,
        202
    );

    let check = get(&s, "/api/sites/blog/install").json();
    assert_eq!(check["sessions"], 2, "{check}");
    assert_eq!(check["tracker_sessions"], 2);
    assert!(check["first_event"].is_string() && check["last_event"].is_string());
    // Which origin sent the first event, and which none yet (noted just
    // after the 202, off the collector's path: asked again for a moment).
    let by_origin = |check: &Value| -> Vec<(String, bool)> {
        check["origin_events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| {
                (
                    o["origin"].as_str().unwrap().to_string(),
                    o["first_event"].is_string(),
                )
            })
            .collect()
    };
    let expected = vec![
        ("http://blog.test".to_string(), true),
        ("https://blog.test".to_string(), false),
    ];
    let mut seen = by_origin(&check);
    for _ in 0..50 {
        if seen == expected {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
        seen = by_origin(&get(&s, "/api/sites/blog/install").json());
    }
    assert_eq!(seen, expected);
    let (ok, out, err) = run_cli(&s.db, &["site", "check", "blog"]);
    assert!(
        ok && out.contains("first event") && out.contains("2 sessions"),
        "{out}{err}"
    );

    // The last five minutes: one visitor (one address and browser) in two
    // sessions (two tabs), their current pages, the feed
    // newest first with the thank-you page as a conversion (a default goal).
    let rt = get(&s, "/api/sites/blog/realtime?minutes=5").json();
    assert_eq!(
        (rt["visitors"].clone(), rt["sessions"].clone()),
        (Value::from(1), Value::from(2)),
        "{rt}"
    );
    let pages: Vec<&str> = rt["pages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["page"].as_str().unwrap())
        .collect();
    assert_eq!(pages, ["/product/1", "/thank-you.html"]);
    let feed: Vec<(&str, &str)> = rt["feed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["page"].as_str().unwrap(), f["kind"].as_str().unwrap()))
        .collect();
    assert_eq!(
        feed,
        [
            ("/product/1", "pageview"),
            ("/thank-you.html", "goal"),
            ("/cart.html", "pageview")
        ],
        "the view 20 minutes ago is outside the window"
    );
    let wider = get(&s, "/api/sites/blog/realtime?minutes=30").json();
    assert_eq!(wider["feed"].as_array().unwrap().len(), 4);
    assert_eq!(get(&s, "/api/sites/blog/realtime?minutes=0").status, 400);
    let (ok, out, _) = run_cli(&s.db, &["now", "--site", "blog", "--json"]);
    assert!(ok);
    let cli: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (
            cli["visitors"].clone(),
            cli["feed"].as_array().unwrap().len()
        ),
        (Value::from(1), 3)
    );
}

#[test]
fn only_an_admin_of_every_site_adds_sites() {
    let s = Server::start(&[]);
    let (ok, _, err) = run_cli(&s.db, &["user", "token", "nobody"]);
    assert!(!ok && err.contains("no user"), "{err}");
    let mut child = std::process::Command::new(bin())
        .args([
            "--db",
            s.db.to_str().unwrap(),
            "user",
            "add",
            "ann",
            "--role",
            "admin",
            "--site",
            "shop",
        ])
        .env("TRAILMAP_PASSWORD", "ann-password-1")
        .output()
        .unwrap();
    assert!(
        child.status.success(),
        "{}",
        String::from_utf8_lossy(&child.stderr)
    );
    child = std::process::Command::new(bin())
        .args(["--db", s.db.to_str().unwrap(), "user", "token", "ann"])
        .output()
        .unwrap();
    let token = String::from_utf8(child.stdout).unwrap().trim().to_string();
    let r = post(
        &s,
        "/api/sites",
        r#"{"name":"blog","origins":["http://blog.test"]}"#,
        &token,
    );
    assert_eq!(r.status, 403, "{}", r.body);
    // It still sees its own site's realtime view, and no other.
    let rt = into_resp(
        agent()
            .get(&s.url("/api/sites/shop/realtime"))
            .set("authorization", &format!("Bearer {token}"))
            .call(),
    );
    assert_eq!(rt.status, 200, "{}", rt.body);
}

#[test]
fn notes_are_dated_per_site_listed_by_range_and_removed() {
    let s = Server::start(&[]);
    let add = |body: &str| post(&s, "/api/sites/shop/annotations", body, TOKEN);
    let a = add(r#"{"at":"2026-11-20","text":"  new shipping prices  "}"#);
    assert_eq!(a.status, 201, "{}", a.body);
    assert_eq!(a.json()["text"], "new shipping prices");
    assert_eq!(a.json()["at"], "2026-11-20T00:00:00.000Z");
    assert_eq!(
        add(r#"{"at":1790000000000,"text":"campaign launched"}"#).status,
        201
    );
    assert_eq!(add(r#"{"at":"2026-11-21","text":""}"#).status, 400, "empty");
    assert_eq!(add(r#"{"at":"soon","text":"x"}"#).status, 400, "a date");
    assert_eq!(
        add(&format!(
            r#"{{"at":"2026-11-21","text":"{}"}}"#,
            "x".repeat(201)
        ))
        .status,
        400
    );
    let all = get(&s, "/api/sites/shop/annotations").json();
    assert_eq!(all["annotations"].as_array().unwrap().len(), 2);
    let nov = get(
        &s,
        "/api/sites/shop/annotations?from=2026-11-01&to=2026-11-30",
    )
    .json();
    let texts: Vec<&str> = nov["annotations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["new shipping prices"], "only the range's notes");
    // The CLI sees and removes the same notes.
    let (ok, out, err) = run_cli(&s.db, &["annotation", "list", "--site", "shop", "--json"]);
    assert!(ok, "{err}");
    let listed: Value = serde_json::from_str(&out).unwrap();
    let id = listed[0]["id"].as_i64().unwrap();
    let (ok, _, err) = run_cli(
        &s.db,
        &[
            "annotation",
            "add",
            "--site",
            "shop",
            "--at",
            "2026-12-01",
            "sale ends",
        ],
    );
    assert!(ok, "{err}");
    let r = into_resp(
        agent()
            .delete(&s.url(&format!("/api/sites/shop/annotations/{id}")))
            .set("authorization", &format!("Bearer {TOKEN}"))
            .call(),
    );
    assert_eq!(r.status, 204);
    let left = get(&s, "/api/sites/shop/annotations").json();
    let texts: Vec<&str> = left["annotations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["text"].as_str().unwrap())
        .collect();
    // Oldest first: the September campaign was the first listed, and went.
    assert_eq!(texts, ["new shipping prices", "sale ends"]);
}
