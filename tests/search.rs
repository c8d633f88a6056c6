//! Session search through the real binary: sessions from the collector
//! (with GeoIP) and from the log import, found by the query language over
//! the API and the CLI, checked hit for hit; the index catching up after
//! an import made while no server ran, and `trailmap reindex`.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

const IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
const SWEDEN: &str = "89.160.20.112";
const USA: &str = "216.160.83.56";

/// Posts one session from `ip` with `ua`: page views `secs` apart.
fn post(
    s: &Server,
    sid: &str,
    ip: &str,
    ua: &str,
    referrer: &str,
    views: &[(i64, &str)],
    extra: &[String],
) {
    let t = now_ms() - 3_600_000;
    let mut events: Vec<String> = views
        .iter()
        .enumerate()
        .map(|(i, (secs, path))| {
            pageview(t + secs * 1000, path, if i == 0 { referrer } else { "" })
        })
        .collect();
    events.extend_from_slice(extra);
    let r = agent()
        .post(&s.url("/api/collect"))
        .set("Content-Type", "application/json")
        .set("Origin", ORIGIN)
        .set("User-Agent", ua)
        .set("X-Forwarded-For", ip)
        .send_string(&batch(sid, &events));
    assert_eq!(r.map(|r| r.status()).unwrap_or(0), 202);
}

fn ids(result: &Value) -> BTreeSet<i64> {
    result["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_i64().unwrap())
        .collect()
}

fn search(s: &Server, q: &str) -> Value {
    let path = format!("/api/sites/shop/sessions?q={}", url_encode(q));
    s.get_json(&path)
}

/// Waits until the index holds `n` sessions of the site (it follows the
/// store in the background, within a second).
fn wait_indexed(s: &Server, n: u64) {
    let started = Instant::now();
    loop {
        let all = search(s, "");
        if all["total"].as_u64() == Some(n) {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "index stuck at {}",
            all["total"]
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The entry page of each session, by id.
fn entries(s: &Server) -> std::collections::BTreeMap<i64, String> {
    entries_at(s, "/api/sites/shop/sessions?limit=100")
}

/// The entry page of each session the list at `path` holds, by id.
fn entries_at(s: &Server, path: &str) -> std::collections::BTreeMap<i64, String> {
    let list = s.get_json(path);
    list["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["id"].as_i64().unwrap(),
                x["entry_page"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn id_of(entries: &std::collections::BTreeMap<i64, String>, entry: &str) -> i64 {
    *entries.iter().find(|(_, e)| *e == entry).unwrap().0
}

#[test]
fn queries_find_exactly_the_sessions_they_describe() {
    let geoip = fixture("mmdb/GeoIP2-City-Test.mmdb");
    let s = Server::start(&["--geoip", geoip.to_str().unwrap(), "--trust-proxy", "true"]);
    let google = "https://www.google.com/search";
    // Entry pages tell the sessions apart.
    post(
        &s,
        "a",
        USA,
        CHROME,
        google,
        &[(0, "/a"), (30, "/checkout")],
        &[],
    );
    post(
        &s,
        "b",
        USA,
        CHROME,
        google,
        &[(0, "/b"), (30, "/checkout"), (90, "/thank-you")],
        &[],
    );
    post(
        &s,
        "c",
        USA,
        CHROME,
        "https://www.bing.com/",
        &[(0, "/c"), (10, "/checkout")],
        &[],
    );
    let rage = click(now_ms() - 3_590_000, 10.0, 10.0, "#buy", true);
    post(
        &s,
        "d",
        SWEDEN,
        IPHONE,
        "",
        &[(0, "/d"), (200, "/product/1")],
        &[rage],
    );
    post(&s, "e", SWEDEN, CHROME, "", &[(0, "/e")], &[]);
    wait_indexed(&s, 5);
    let e = entries(&s);
    let set = |list: &[&str]| -> BTreeSet<i64> { list.iter().map(|p| id_of(&e, p)).collect() };

    for (q, want) in [
        (
            "page:/checkout AND referrer:google.com AND -page:/thank-you",
            set(&["/a"]),
        ),
        ("page:/checkout", set(&["/a", "/b", "/c"])),
        ("rage:true AND country:SE", set(&["/d"])),
        ("country:se", set(&["/d", "/e"])),
        ("duration:>60", set(&["/b", "/d"])),
        ("device:mobile OR referrer:bing.com", set(&["/c", "/d"])),
        ("converted:true", set(&["/b"])),
        (
            "channel:organic_search AND NOT converted:true",
            set(&["/a", "/c"]),
        ),
        ("entry:/e", set(&["/e"])),
        ("checkout", set(&["/a", "/b", "/c"])),
        ("source:tracker", set(&["/a", "/b", "/c", "/d", "/e"])),
    ] {
        let r = search(&s, q);
        assert_eq!(ids(&r), want, "{q}: {r}");
        assert_eq!(r["total"].as_u64(), Some(want.len() as u64), "{q}");
    }

    // An empty result says which page term matched no page, and what would.
    let none = search(&s, "page:/check AND referrer:google.com");
    assert_eq!(none["total"], 0, "{none}");
    let hint = none["hints"][0].as_str().unwrap_or_default();
    assert!(hint.contains("page:/check*"), "{none}");
    assert!(
        search(&s, "page:/checkout")["hints"].is_null(),
        "no hints beside results"
    );

    // Sorted by duration, paginated, with the total of all hits.
    let longest = s.get_json("/api/sites/shop/sessions?q=source:tracker&sort=longest&limit=2");
    let first: Vec<i64> = longest["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_i64().unwrap())
        .collect();
    assert_eq!(first, [id_of(&e, "/d"), id_of(&e, "/b")]);
    assert_eq!(longest["total"], 5);
    let next =
        s.get_json("/api/sites/shop/sessions?q=source:tracker&sort=longest&limit=2&offset=2");
    assert_eq!(next["sessions"].as_array().unwrap().len(), 2);
    assert!(ids(&next).is_disjoint(&ids(&longest)));

    // Malformed queries: 400 with the parser's reason, never a 500.
    for bad in ["page:(", "duration:>abc", "nosuchfield:1", "(a AND b"] {
        let r = s.get(&format!("/api/sites/shop/sessions?q={}", url_encode(bad)));
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
        let msg = r.json()["error"].as_str().unwrap().to_string();
        assert!(!msg.is_empty() && !msg.contains('\n'), "{msg}");
    }
    assert_eq!(
        s.get("/api/sites/shop/sessions?q=x&sort=oldest").status,
        400
    );
    // The dashboards' filters narrow a search like its own terms.
    let filtered =
        s.get_json("/api/sites/shop/sessions?q=page:/checkout&device=desktop&referrer=google.com");
    assert_eq!(ids(&filtered), set(&["/a", "/b"]), "{filtered}");
    let filtered = s.get_json("/api/sites/shop/sessions?q=&country=SE&channel=direct");
    assert_eq!(ids(&filtered), set(&["/d", "/e"]), "{filtered}");
    // The date range too: every session started about an hour ago.
    let (hours_ago, now) = (now_ms() - 2 * 3_600_000, now_ms());
    let filtered = s.get_json(&format!(
        "/api/sites/shop/sessions?q=page:/checkout&from={hours_ago}&to={now}"
    ));
    assert_eq!(ids(&filtered), set(&["/a", "/b", "/c"]), "{filtered}");
    let filtered = s.get_json(&format!(
        "/api/sites/shop/sessions?q=page:/checkout&from={now}"
    ));
    assert_eq!(filtered["total"], 0, "{filtered}");
    let filtered = s.get_json(&format!("/api/sites/shop/sessions?q=&to={hours_ago}"));
    assert_eq!(filtered["total"], 0, "{filtered}");

    // Filters are typed terms beside the query, not text glued to it: a
    // query as deep as allowed stays allowed with a filter set, and an
    // error in the query points at what the user typed.
    let deep = format!("{}page:/checkout{}", "(".repeat(32), ")".repeat(32));
    let r = s.get_json(&format!(
        "/api/sites/shop/sessions?q={}&from={hours_ago}&device=desktop",
        url_encode(&deep)
    ));
    assert_eq!(ids(&r), set(&["/a", "/b", "/c"]), "{r}");
    let too_deep = format!("({deep})");
    let r = s.get(&format!(
        "/api/sites/shop/sessions?q={}&from={hours_ago}",
        url_encode(&too_deep)
    ));
    assert_eq!(r.status, 400, "{}", r.body);
    for (bad, column) in [("page:/checkout)", 15), ("page:/checkout AND \"abc", 20)] {
        let r = s.get(&format!(
            "/api/sites/shop/sessions?q={}&from={hours_ago}&channel=direct",
            url_encode(bad)
        ));
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
        let msg = r.json()["error"].as_str().unwrap().to_string();
        assert!(msg.contains(&format!("column {column} ")), "{bad}: {msg}");
    }
    // A bad filter is the filter's error.
    let r = s.get("/api/sites/shop/sessions?q=page:/checkout&from=yesterday");
    assert_eq!(r.status, 400);
    assert!(r.body.contains("from"), "{}", r.body);

    // The CLI, beside the running server, reads the same index.
    let (ok, out, err) = run_cli(
        &s.db,
        &[
            "search",
            "--site",
            "shop",
            "rage:true AND country:SE",
            "--json",
        ],
    );
    assert!(ok, "{err}");
    let cli: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(ids(&cli), set(&["/d"]));
    let (ok, _, err) = run_cli(&s.db, &["search", "--site", "shop", "page:("]);
    assert!(!ok && !err.is_empty());
    // The CLI takes the dashboards' filters through the same code.
    let (ok, out, err) = run_cli(
        &s.db,
        &[
            "search",
            "--site",
            "shop",
            "",
            "--country",
            "SE",
            "--channel",
            "direct",
            "--json",
        ],
    );
    assert!(ok, "{err}");
    let cli: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(ids(&cli), set(&["/d", "/e"]));
    let hours_ago = hours_ago.to_string();
    let (ok, out, err) = run_cli(
        &s.db,
        &[
            "search",
            "--site",
            "shop",
            &deep,
            "--from",
            &hours_ago,
            "--referrer",
            "google.com",
            "--json",
        ],
    );
    assert!(ok, "{err}");
    let cli: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(ids(&cli), set(&["/a", "/b"]));
    let (ok, _, err) = run_cli(
        &s.db,
        &[
            "search",
            "--site",
            "shop",
            "page:/checkout)",
            "--from",
            &hours_ago,
        ],
    );
    assert!(!ok && err.contains("column 15 "), "{err}");
}

/// Sessions whose entry page is `path`, straight from the database.
fn sql_ids(db: &Path, sql: &str) -> BTreeSet<i64> {
    let conn = open_db(db);
    let mut stmt = conn.prepare(sql).unwrap();
    let rows = stmt.query_map([], |r| r.get::<_, i64>(0)).unwrap();
    rows.map(Result::unwrap).collect()
}

#[test]
fn imported_logs_are_found_and_the_index_catches_up() {
    let (dir, db) = imported_log();
    let search_cli = |q: &str| -> Value {
        let (ok, out, err) = run_cli(
            &db,
            &["search", "--site", "blog", q, "--json", "--limit", "1000"],
        );
        assert!(ok, "{q}: {err}");
        serde_json::from_str(&out).unwrap()
    };
    // No server ran: the CLI brings the index up to date first.
    let all = search_cli("source:log");
    let stored: i64 = open_db(&db)
        .query_row("SELECT COUNT(*) FROM sessions", [], |r| r.get(0))
        .unwrap();
    assert_eq!(all["total"].as_i64(), Some(stored));
    let want = sql_ids(
        &db,
        "SELECT s.id FROM sessions s JOIN pages p ON p.id = s.entry_page
         WHERE p.path = '/presentations/logstash-scale11x/'",
    );
    assert!(!want.is_empty());
    assert_eq!(
        ids(&search_cli("entry:/presentations/logstash-scale11x/")),
        want
    );
    let long = sql_ids(
        &db,
        "SELECT id FROM sessions WHERE (end_ms - start_ms) / 1000 > 60",
    );
    assert_eq!(ids(&search_cli("duration:>60")).len(), long.len().min(1000));
    assert_eq!(
        search_cli("duration:>60")["total"].as_u64(),
        Some(long.len() as u64)
    );
    let errors = sql_ids(&db, "SELECT id FROM sessions WHERE error_pages > 0");
    assert_eq!(
        search_cli("error:true")["total"].as_u64(),
        Some(errors.len() as u64)
    );

    // A second import while no server runs; a server started afterwards
    // catches up on start.
    let more = dir.path().join("more.log");
    std::fs::write(
        &more,
        "203.0.113.9 - - [20/May/2015:21:05:01 +0000] \"GET /catch-up-page HTTP/1.1\" 200 512 \"-\" \"Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0\"\n",
    )
    .unwrap();
    let (ok, _, err) = run_cli(&db, &["import", "--site", "blog", more.to_str().unwrap()]);
    assert!(ok, "{err}");
    let s = Server::start_on(&db, &["--token", TOKEN]);
    let started = Instant::now();
    loop {
        let r = s.get_json("/api/sites/blog/sessions?q=page:/catch-up-page");
        if r["total"] == 1 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no catch-up: {r}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(s);

    // reindex rebuilds the same answers.
    let (ok, out, err) = run_cli(&db, &["reindex"]);
    assert!(ok, "{err}");
    assert!(
        out.contains(&format!("indexed {} sessions", stored + 1)),
        "{out}"
    );
    // ... and the read engine's files, from the rows.
    assert!(
        out.contains(&format!("read engine's columns of {} sessions", stored + 1)),
        "{out}"
    );
    let mut engine_dir = db.as_os_str().to_owned();
    engine_dir.push(".engine");
    assert!(std::fs::read_dir(&engine_dir).unwrap().count() >= 1);
    assert_eq!(
        ids(&search_cli("entry:/presentations/logstash-scale11x/")),
        want
    );
}

/// Killed without warning while sessions arrive, the server loses nothing
/// of the index: on the next start it catches up from the watermark its
/// last commit recorded, and every session is found.
#[test]
fn the_index_survives_a_kill_and_catches_up() {
    let mut s = Server::start(&[]);
    let t = now_ms() - 600_000;
    for i in 0..40 {
        let body = batch(&format!("k{i}"), &[pageview(t + i, &format!("/k/{i}"), "")]);
        assert_eq!(s.collect(&body).status, 202);
    }
    // SIGKILL at once: some sessions are in no index commit yet.
    s.child.kill().unwrap();
    s.child.wait().unwrap();
    let db = s.db.clone();
    let s2 = Server::start_on(&db, &["--token", TOKEN]);
    let started = Instant::now();
    loop {
        let r = search(&s2, "");
        if r["total"] == 40 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "stuck at {}",
            r["total"]
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(search(&s2, "page:/k/7")["total"], 1);
    drop(s);
}

#[test]
fn bots_are_left_out_unless_asked_for() {
    const GOOGLEBOT: &str = "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.6478.126 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";
    let s = Server::start(&["--trust-proxy", "true"]);
    post(&s, "h1", USA, CHROME, "", &[(0, "/x"), (5, "/cart")], &[]);
    post(&s, "h2", SWEDEN, IPHONE, "", &[(0, "/y")], &[]);
    post(&s, "g", USA, GOOGLEBOT, "", &[(0, "/z"), (1, "/cart")], &[]);
    let started = Instant::now();
    while s.get_json("/api/sites/shop/sessions?q=&include_bots=true")["total"] != 3 {
        assert!(started.elapsed() < Duration::from_secs(20), "index stuck");
        std::thread::sleep(Duration::from_millis(100));
    }
    let e = entries_at(&s, "/api/sites/shop/sessions?limit=100&include_bots=true");
    assert_eq!(e.len(), 3, "{e:?}");
    let set = |list: &[&str]| -> BTreeSet<i64> { list.iter().map(|p| id_of(&e, p)).collect() };
    let people = set(&["/x", "/y"]);

    // The session list (no query) and every search leave bots out...
    assert_eq!(
        ids(&s.get_json("/api/sites/shop/sessions?limit=100")),
        people
    );
    for q in ["", "page:/cart", "source:tracker"] {
        let r = search(&s, q);
        let want: BTreeSet<i64> = if q == "page:/cart" {
            set(&["/x"])
        } else {
            people.clone()
        };
        assert_eq!(ids(&r), want, "{q}: {r}");
        assert_eq!(r["total"].as_u64(), Some(want.len() as u64), "{q}");
    }
    // ...unless asked: the flag, the device filter, or `device:bot`.
    let with_bots = s.get_json("/api/sites/shop/sessions?q=page:/cart&include_bots=true");
    assert_eq!(ids(&with_bots), set(&["/x", "/z"]), "{with_bots}");
    assert_eq!(ids(&search(&s, "device:bot")), set(&["/z"]));
    assert_eq!(
        ids(&s.get_json("/api/sites/shop/sessions?q=&device=bot")),
        set(&["/z"])
    );
    // The reports agree: the overview counts the two people.
    assert_eq!(s.get_json("/api/sites/shop/overview")["sessions"], 2);
}
