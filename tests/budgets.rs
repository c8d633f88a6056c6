//! The budgets of user-defined patterns and the analysis deadline, through
//! the real binary: rule bombs refused at PUT and harmless when already
//! stored, funnels capped, slow reports cut at the deadline, and a report
//! whose client hung up stopped.

mod common;

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use common::*;

fn rules_body(pattern: &str, replacement: &str, n: usize) -> String {
    let rule = serde_json::json!({"pattern": pattern, "replacement": replacement});
    serde_json::json!({ "rules": vec![rule; n] }).to_string()
}

/// CPU seconds (user + system) used by the server's tokio threads, the
/// runtime's and the blocking pool's where reports run, from /proc: the
/// search indexer's threads, which catch up on imported sessions in the
/// background, are left out.
fn cpu_seconds(s: &Server) -> f64 {
    let mut ticks = 0.0;
    for task in std::fs::read_dir(format!("/proc/{}/task", s.child.id())).unwrap() {
        let Ok(stat) = std::fs::read_to_string(task.unwrap().path().join("stat")) else {
            continue;
        };
        let (name, rest) = stat.rsplit_once(") ").unwrap();
        if !name.ends_with("(tokio-rt-worker") {
            continue;
        }
        // Fields after the command name: utime and stime are the 12th and 13th.
        let f: Vec<&str> = rest.split_whitespace().collect();
        ticks += f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap();
    }
    ticks / 100.0
}

fn metric(s: &Server, line_start: &str) -> Option<u64> {
    s.get("/metrics")
        .body
        .lines()
        .find_map(|l| l.strip_prefix(line_start))
        .and_then(|v| v.trim().parse().ok())
}

/// A few page views of site "shop", so reports have pages to clean.
fn some_sessions(s: &Server) {
    let t = now_ms() - 60_000;
    for (i, sid) in ["a1", "b2", "c3"].iter().enumerate() {
        let events = [
            pageview(t, "/", ""),
            pageview(t + 1000, &format!("/product/{i}"), ""),
            pageview(t + 2000, "/cart", ""),
        ];
        assert_eq!(s.collect(&batch(sid, &events)).status, 202);
    }
}

/// A database with site "shop" and the first 10,000 MSNBC sessions (real
/// navigation over 17 page categories; see tests/fixtures/seq).
fn msnbc_db(dir: &Path) -> std::path::PathBuf {
    use std::io::{BufRead, BufReader};
    let gz = std::fs::File::open(fixture("seq/msnbc-first50k.seq.gz")).unwrap();
    let lines: Vec<String> = BufReader::new(flate2::read::GzDecoder::new(gz))
        .lines()
        .take(10_000)
        .map(Result::unwrap)
        .collect();
    let seq = dir.join("first10k.seq");
    std::fs::write(&seq, lines.join("\n")).unwrap();
    let db = dir.join("t.db");
    assert!(run_cli(&db, &["site", "add", SITE, "--origin", ORIGIN]).0);
    let (ok, _, err) = run_cli(
        &db,
        &[
            "import",
            "--site",
            SITE,
            "--format",
            "seq",
            seq.to_str().unwrap(),
        ],
    );
    assert!(ok, "{err}");
    db
}

#[test]
fn the_doubling_rule_chain_is_refused_and_harmless_when_already_stored() {
    let mut s = Server::start(&[]);
    some_sessions(&s);
    let bomb = rules_body("^(.*)$", "$1$1$1$1$1$1$1$1", 20);
    let r = s.put("/api/sites/shop/rules", &bomb);
    assert_eq!(r.status, 400, "{}", r.body);
    let reason = r.json()["error"].as_str().unwrap().to_string();
    assert!(
        reason.starts_with("rule 1 ") && reason.contains("16384 bytes"),
        "{reason}"
    );
    // Stage settings are held to their budget too.
    let goals: Vec<String> = vec![r"\w{100}N".into(); 40];
    let settings = serde_json::json!({"stages": [{"name": "all", "pages": ["."]}], "goals": goals});
    let r = s.put("/api/sites/shop/stages/settings", &settings.to_string());
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("goal patterns are more than"), "{}", r.body);

    // As a database from before the budget would hold them: the bomb as
    // the site's rules, and costly goals as its journey settings.
    s.terminate();
    let conn = open_db(&s.db);
    for i in 0..20 {
        conn.execute(
            "INSERT INTO page_rules (site_id, position, pattern, replacement)
             SELECT id, ?1, '^(.*)$', '$1$1$1$1$1$1$1$1' FROM sites WHERE name = 'shop'",
            [i],
        )
        .unwrap();
    }
    let goals: Vec<String> = vec![r"\w{100}N".into(); 40];
    let settings = serde_json::json!({"stages": [{"name": "all", "pages": ["."]}], "goals": goals});
    conn.execute(
        "UPDATE sites SET journey = ?1 WHERE name = 'shop'",
        [settings.to_string()],
    )
    .unwrap();
    drop(conn);

    let s = Server::start_on(&s.db, &["--token", TOKEN]);
    let t = Instant::now();
    for report in ["paths", "journeys", "funnel?step=/&step=/cart", "exits"] {
        let r = s.get(&format!("/api/sites/shop/{report}"));
        assert_eq!(r.status, 409, "{report}: {}", r.body);
        let why = r.json()["error"].as_str().unwrap().to_string();
        assert!(
            why.contains("stored path rules break a budget: rule 1 ")
                && why.contains("PUT /api/sites/shop/rules"),
            "{why}"
        );
    }
    let r = s.get("/api/sites/shop/charts/sankey.svg");
    assert_eq!(r.status, 409, "{}", r.body);
    let r = s.get("/api/sites/shop/charts/heatmap.svg?page=/cart");
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    assert_eq!(s.get("/healthz").status, 200);
    // The stored rules can still be read, and fixed.
    let stored = s.get_json("/api/sites/shop/rules");
    assert_eq!(stored["rules"].as_array().unwrap().len(), 20);
    let fix = r#"{"rules":[{"pattern":"^/product/\\d+$","replacement":"/product/:id"}]}"#;
    assert_eq!(s.put("/api/sites/shop/rules", fix).status, 200);
    // Now the stored goals are what stands in the way of the reports that
    // use them, and they say so.
    let r = s.get("/api/sites/shop/moments");
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(
        r.body.contains("stored journey settings break a budget")
            && r.body.contains("PUT /api/sites/shop/stages/settings"),
        "{}",
        r.body
    );
    let paths = s.get_json("/api/sites/shop/paths");
    assert_eq!(paths["sessions"], 3, "{paths}");
    assert!(paths.to_string().contains("/product/:id"), "{paths}");
}

#[test]
fn a_body_of_costly_rules_is_refused_fast_and_small() {
    let s = Server::start(&[]);
    // Rules each cheap enough run into the budget of the whole set.
    let t = Instant::now();
    let r = s.put("/api/sites/shop/rules", &rules_body(r"\w{10}x", "x", 100));
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("the whole set"), "{}", r.body);
    // Bounded by the budget: a few seconds at most in a debug build.
    assert!(t.elapsed() < Duration::from_secs(15), "{:?}", t.elapsed());
    // 1,349 rules of \w{100}N in one 64 KiB body: too many.
    let body = rules_body(r"\w{100}N", "x", 1349);
    assert!(body.len() <= 64 * 1024);
    let t = Instant::now();
    let r = s.put("/api/sites/shop/rules", &body);
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.body.contains("1349 rules are more than the 100"),
        "{}",
        r.body
    );
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    // As many as allowed, but each costly to compile: the first is refused.
    let r = s.put("/api/sites/shop/rules", &rules_body(r"\w{100}N", "x", 100));
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.body.contains("rule 0 ") && r.body.contains("KiB"),
        "{}",
        r.body
    );
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    let rss = s.status_kib("VmRSS:");
    assert!(rss < 300 * 1024, "RSS {rss} KiB");
    assert_eq!(s.get("/healthz").status, 200);
}

#[test]
fn funnel_steps_are_capped() {
    let s = Server::start(&[]);
    some_sessions(&s);
    let steps: String = (0..33).map(|i| format!("step=/p{i}&")).collect();
    for path in ["funnel", "charts/funnel.svg"] {
        let r = s.get(&format!("/api/sites/shop/{path}?{steps}"));
        assert_eq!(r.status, 400, "{}", r.body);
        assert!(
            r.body
                .contains("33 funnel steps are more than the 32 allowed"),
            "{}",
            r.body
        );
    }
    // 1,500 steps of \w{200}: refused at once (by the step cap, or before
    // that by the cap on request headers).
    let steps: String = (0..1500).map(|_| "step=%5Cw%7B200%7D&").collect();
    let t = Instant::now();
    let r = s.get(&format!("/api/sites/shop/funnel?{steps}"));
    assert!(r.status == 400 || r.status == 431, "{}", r.body);
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    // Within the cap, but costly steps together: over the request's budget.
    let steps: String = (0..30).map(|_| "step=%5Cw%7B10%7D&").collect();
    let r = s.get(&format!("/api/sites/shop/funnel?{steps}"));
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("the whole set"), "{}", r.body);
    let ok = s.get_json("/api/sites/shop/funnel?step=^/$&step=^/product&step=^/cart$");
    assert_eq!(ok["overall_conversion"], 1.0, "{ok}");
}

#[test]
fn the_cli_holds_to_the_same_caps() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    assert!(run_cli(&db, &["site", "add", SITE, "--origin", ORIGIN]).0);
    let mut args = vec!["funnel", "--site", SITE];
    for _ in 0..33 {
        args.extend(["--step", "/x"]);
    }
    let (ok, _, err) = run_cli(&db, &args);
    assert!(
        !ok && err.contains("33 funnel steps are more than the 32 allowed"),
        "{err}"
    );
    let settings = dir.path().join("stages.json");
    let patterns: Vec<String> = vec!["^/a".into(); 65];
    std::fs::write(
        &settings,
        serde_json::json!({"stages": [{"name": "x", "pages": patterns}], "goals": []}).to_string(),
    )
    .unwrap();
    let (ok, _, err) = run_cli(
        &db,
        &[
            "stages",
            "--site",
            SITE,
            "--set",
            settings.to_str().unwrap(),
        ],
    );
    assert!(
        !ok && err.contains("65 stage page patterns are more than the 64 allowed"),
        "{err}"
    );
    // Rules stored before the budget: the CLI refuses to use them too.
    let conn = open_db(&db);
    conn.execute(
        "INSERT INTO page_rules (site_id, position, pattern, replacement)
         SELECT id, 0, 'x*', 'abcdefghij' FROM sites WHERE name = 'shop'",
        [],
    )
    .unwrap();
    drop(conn);
    let (ok, _, err) = run_cli(&db, &["paths", "--site", SITE]);
    assert!(
        !ok && err.contains("stored path rules break a budget: rule 0"),
        "{err}"
    );
}

/// One database for both halves (importing is the slow part): a report
/// cut at the deadline, then one whose client hangs up.
#[test]
fn a_slow_report_stops_at_the_deadline_or_when_its_client_hangs_up() {
    let dir = tempfile::tempdir().unwrap();
    let db = msnbc_db(dir.path());
    // Every pattern of up to 20 pages in two sessions or more: within every
    // cap, and tens of seconds of work on these sessions.
    let path = "/api/sites/shop/patterns?all=true&min_support=2&max_len=20&keep_repeats=true";

    // At the lowest deadline, loading 10,000 sessions alone is too long:
    // a funnel within every cap and a chart answer 503 too.
    let s = Server::start_on(
        &db,
        &["--token", TOKEN, "--analysis-timeout-seconds", "0.01"],
    );
    for report in [
        "funnel?step=^/1$&step=^/2$&keep_repeats=true",
        "charts/sankey.svg",
    ] {
        let r = s.get(&format!("/api/sites/shop/{report}"));
        assert_eq!(r.status, 503, "{report}: {}", r.body);
        assert!(r.body.contains("took longer than 0.010 s"), "{}", r.body);
    }
    drop(s);

    let s = Server::start_on(
        &db,
        &["--token", TOKEN, "--analysis-timeout-seconds", "0.5"],
    );
    let t = Instant::now();
    let r = s.get(path);
    assert_eq!(r.status, 503, "{}", r.body);
    assert!(r.header("retry-after").is_some());
    assert!(r.body.contains("took longer than 0.500 s"), "{}", r.body);
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    assert_eq!(
        metric(&s, "trailmap_analyses_stopped_total{reason=\"deadline\"}"),
        Some(1)
    );
    drop(s);

    let s = Server::start_on(
        &db,
        &["--token", TOKEN, "--analysis-timeout-seconds", "600"],
    );
    let addr = s.base.trim_start_matches("http://");
    let idle = cpu_seconds(&s);
    let mut conn = std::net::TcpStream::connect(addr).unwrap();
    write!(
        conn,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {TOKEN}\r\n\r\n"
    )
    .unwrap();
    // Give it time to get going, then hang up.
    std::thread::sleep(Duration::from_millis(1500));
    drop(conn);
    let gone = "trailmap_analyses_stopped_total{reason=\"client_gone\"}";
    let t = Instant::now();
    while metric(&s, gone).is_none() {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "the analysis went on after its client left"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(metric(&s, gone), Some(1));
    let worked = cpu_seconds(&s) - idle;
    assert!(worked > 0.1, "it was working: {worked} CPU seconds");
    // Idle again: under a tenth of a core over the next second (the
    // clock ticks at 100 Hz).
    let before = cpu_seconds(&s);
    std::thread::sleep(Duration::from_secs(1));
    let used = cpu_seconds(&s) - before;
    assert!(used < 0.1, "{used} CPU seconds in one idle second");
    assert_eq!(s.get("/healthz").status, 200);
    // Ordinary reports still answer.
    let f = s.get_json("/api/sites/shop/funnel?step=^/1$&step=^/2$&keep_repeats=true");
    assert!(f["steps"][0]["sessions"].as_u64().unwrap() > 1000, "{f}");
}

#[test]
fn the_budgets_are_settings_every_command_reads_from_one_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("trailmap.toml");
    std::fs::write(&config, "[budgets]\nmax_rules = 2\nmax_funnel_steps = 3\n").unwrap();
    let config = config.to_str().unwrap();
    let db = dir.path().join("t.db");
    assert!(run_cli(&db, &["site", "add", SITE, "--origin", ORIGIN]).0);
    let s = Server::start_on(&db, &["--token", TOKEN, "--config", config]);
    // The server: a third rule is past the budget.
    let r = s.put(
        "/api/sites/shop/rules",
        &rules_body("^/p/\\d+", "/p/:id", 3),
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.body.contains("3 rules are more than the 2 allowed"),
        "{}",
        r.body
    );
    assert_eq!(
        s.put(
            "/api/sites/shop/rules",
            &rules_body("^/p/\\d+", "/p/:id", 2)
        )
        .status,
        200
    );
    let r = s.get("/api/sites/shop/funnel?step=a&step=b&step=c&step=d");
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.body
            .contains("4 funnel steps are more than the 3 allowed"),
        "{}",
        r.body
    );
    // The CLI beside it, from the same file: the same budget.
    let four = [
        "funnel", "--site", SITE, "--step", "a", "--step", "b", "--step", "c", "--step", "d",
    ];
    let mut args = four.to_vec();
    args.extend_from_slice(&["--config", config]);
    let (ok, _, err) = run_cli(&db, &args);
    assert!(
        !ok && err.contains("4 funnel steps are more than the 3 allowed"),
        "{err}"
    );
    // Without the file, the defaults (32 steps).
    let (ok, _, err) = run_cli(&db, &four);
    assert!(ok, "{err}");
    // A budget that cannot work is refused before anything runs.
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[budgets]\nmax_path_kib = 1\n").unwrap();
    let (ok, _, err) = run_cli(
        &db,
        &["exits", "--site", SITE, "--config", bad.to_str().unwrap()],
    );
    assert!(
        !ok && err.contains("budgets.max_path_kib: 1 is out of range (2 to 1024)"),
        "{err}"
    );
}
