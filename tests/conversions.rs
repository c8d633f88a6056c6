//! Goals, custom events and revenue through the real binary: generated
//! sessions posted to the collector, the site's goals set through the API,
//! and the `events`, `goals`, `revenue` and `overview` reports (API and
//! CLI) checked against counts made here from what was sent.

mod common;

use common::*;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

/// One generated session, and what it should count as.
struct Sent {
    sid: String,
    channel: &'static str,
    campaign: Option<&'static str>,
    events: Vec<String>,
    /// (name, props) of its custom events.
    customs: Vec<(&'static str, Value)>,
    thank_you: bool,
}

fn generate(n: usize) -> Vec<Sent> {
    let mut dice = Dice(0x9e37_79b9_7f4a_7c15);
    let now = now_ms();
    let mut out = Vec::new();
    for i in 0..n {
        let start = now - 3_600_000 + i as i64 * 1000;
        let (channel, referrer) = [
            ("direct", ""),
            ("organic_search", "https://www.google.com/"),
            ("social", "https://www.facebook.com/"),
        ][dice.below(3) as usize];
        let campaign = [None, Some("spring"), Some("winter")][dice.below(3) as usize];
        let landing = match campaign {
            Some(c) => format!("/?utm_source=x&utm_medium=cpc&utm_campaign={c}"),
            None => "/".to_string(),
        };
        let mut s = Sent {
            sid: format!("conv{i}"),
            // A campaign's medium makes the channel paid.
            channel: if campaign.is_some() { "paid" } else { channel },
            campaign,
            events: vec![pageview(start, &landing, referrer)],
            customs: Vec::new(),
            thank_you: false,
        };
        let mut t = start;
        let custom = |s: &mut Sent, t: i64, name: &'static str, props: Value| {
            s.events.push(format!(
                r#"{{"type":"custom","ts":{t},"name":"{name}","props":{props}}}"#
            ));
            s.customs.push((name, props));
        };
        if dice.below(4) == 0 {
            let plan = ["pro", "free"][dice.below(2) as usize];
            custom(&mut s, t + 100, "signup", json!({ "plan": plan }));
        }
        let carts = dice.below(3);
        for _ in 0..carts {
            t += 2000;
            s.events
                .push(pageview(t, &format!("/product/{}", dice.below(5)), ""));
            let value = 10 + dice.below(90);
            custom(
                &mut s,
                t + 500,
                "add_to_cart",
                json!({"sku": format!("s{}", dice.below(4)), "value": value, "currency": "USD"}),
            );
        }
        if carts > 0 && dice.below(2) == 0 {
            t += 2000;
            s.events.push(pageview(t, "/thank-you.html", ""));
            s.thank_you = true;
            // Cents, so the sums are exact in decimal.
            let revenue = (1000 + dice.below(20_000)) as f64 / 100.0;
            let currency = if dice.below(5) == 0 { "EUR" } else { "USD" };
            custom(
                &mut s,
                t + 200,
                "purchase",
                json!({"revenue": revenue, "currency": currency}),
            );
        }
        out.push(s);
    }
    out
}

fn close(a: &Value, b: f64) -> bool {
    (a.as_f64().unwrap() - b).abs() < 1e-6
}

#[test]
fn goals_events_and_revenue_count_what_the_collector_took() {
    let s = Server::start(&["--rate-per-client", "0"]);
    // Goals: an event, an event with a property, and a page. (Set first:
    // search marks a session converted by the goals when it indexes it.)
    let mut settings = s.get_json("/api/sites/shop/stages/settings");
    settings["goals"] = json!(["event:purchase", "event:signup plan=pro", "^/thank-you"]);
    let r = s.put("/api/sites/shop/stages/settings", &settings.to_string());
    assert_eq!(r.status, 200, "{}", r.body);
    let mut bad = settings.clone();
    bad["goals"] = json!(["event:signup plan"]);
    let r = s.put("/api/sites/shop/stages/settings", &bad.to_string());
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("KEY=VALUE"), "{}", r.body);

    let sent_at = now_ms();
    let sent = generate(240);
    for x in &sent {
        let r = s.collect(&batch(&x.sid, &x.events));
        assert_eq!(r.status, 202, "{}", r.body);
    }

    // The events report against a count of what was sent.
    let events = s.get_json("/api/sites/shop/events?top=50");
    assert_eq!(events["sessions"], sent.len());
    let mut by_name: BTreeMap<&str, (usize, BTreeSet<&str>)> = BTreeMap::new();
    for x in &sent {
        for (name, _) in &x.customs {
            let e = by_name.entry(name).or_default();
            e.0 += 1;
            e.1.insert(&x.sid);
        }
    }
    let listed = events["events"].as_array().unwrap();
    assert_eq!(listed.len(), by_name.len(), "{events}");
    for e in listed {
        let (count, sessions) = &by_name[e["name"].as_str().unwrap()];
        assert_eq!(e["count"], *count, "{e}");
        assert_eq!(e["sessions"], sessions.len(), "{e}");
    }
    let signup = listed.iter().find(|e| e["name"] == "signup").unwrap();
    let plan = &signup["properties"][0];
    assert_eq!(plan["key"], "plan");
    let pro = sent
        .iter()
        .flat_map(|x| &x.customs)
        .filter(|(n, p)| *n == "signup" && p["plan"] == "pro")
        .count();
    let listed_pro = plan["values"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["value"] == "pro")
        .unwrap();
    assert_eq!(listed_pro["count"], pro);

    // Goals per channel.
    let goals = s.get_json("/api/sites/shop/goals?breakdown=channel");
    let reached = |x: &Sent| {
        [
            x.customs.iter().any(|(n, _)| *n == "purchase"),
            x.customs
                .iter()
                .any(|(n, p)| *n == "signup" && p["plan"] == "pro"),
            x.thank_you,
        ]
    };
    let count = |pick: &dyn Fn(&Sent) -> bool| sent.iter().filter(|x| pick(x)).count();
    for (i, g) in goals["goals"].as_array().unwrap().iter().enumerate() {
        assert_eq!(g["conversions"], count(&|x| reached(x)[i]), "{g}");
    }
    assert_eq!(
        goals["converted"],
        count(&|x| reached(x).iter().any(|r| *r))
    );
    let groups = goals["groups"].as_array().unwrap();
    assert_eq!(
        groups
            .iter()
            .map(|g| g["sessions"].as_u64().unwrap())
            .sum::<u64>(),
        sent.len() as u64
    );
    for g in groups {
        let channel = g["value"].as_str().unwrap();
        let members: Vec<&Sent> = sent.iter().filter(|x| x.channel == channel).collect();
        assert_eq!(g["sessions"], members.len(), "{channel}");
        assert_eq!(
            g["converted"],
            members
                .iter()
                .filter(|x| reached(x).iter().any(|r| *r))
                .count(),
            "{channel}"
        );
        assert_eq!(
            g["goals"][0]["conversions"],
            members.iter().filter(|x| reached(x)[0]).count()
        );
    }

    // Revenue in dollars (most orders), per campaign, against the sums of
    // what was sent; carts left without an order and their value.
    let revenue = s.get_json("/api/sites/shop/revenue?breakdown=utm_campaign");
    assert_eq!(revenue["currency"], "USD", "{revenue}");
    let orders_in = |x: &Sent, cur: &str| -> Vec<f64> {
        x.customs
            .iter()
            .filter(|(n, p)| *n == "purchase" && p["currency"] == cur)
            .map(|(_, p)| p["revenue"].as_f64().unwrap())
            .collect()
    };
    let check = |row: &Value, members: &[&Sent]| {
        let usd: Vec<f64> = members.iter().flat_map(|x| orders_in(x, "USD")).collect();
        assert_eq!(row["orders"], usd.len(), "{row}");
        assert!(close(&row["revenue"], usd.iter().sum()), "{row}");
        let carted: Vec<&&Sent> = members
            .iter()
            .filter(|x| x.customs.iter().any(|(n, _)| *n == "add_to_cart"))
            .collect();
        let abandoned: Vec<&&Sent> = carted
            .iter()
            .copied()
            .filter(|x| !x.customs.iter().any(|(n, _)| *n == "purchase"))
            .collect();
        let left: f64 = abandoned
            .iter()
            .flat_map(|x| &x.customs)
            .filter(|(n, _)| *n == "add_to_cart")
            .map(|(_, p)| p["value"].as_f64().unwrap())
            .sum();
        assert_eq!(row["carts"], carted.len(), "{row}");
        assert_eq!(row["abandoned_carts"], abandoned.len(), "{row}");
        assert!(close(&row["abandoned_value"], left), "{row}");
        assert_eq!(
            row["buyers"],
            members
                .iter()
                .filter(|x| !orders_in(x, "USD").is_empty())
                .count()
        );
    };
    let everyone: Vec<&Sent> = sent.iter().collect();
    check(&revenue["totals"], &everyone);
    for g in revenue["groups"].as_array().unwrap() {
        let campaign = g["value"].as_str().unwrap();
        let members: Vec<&Sent> = sent
            .iter()
            .filter(|x| x.campaign.unwrap_or("(none)") == campaign)
            .collect();
        check(g, &members);
    }
    let currencies: Vec<&str> = revenue["currencies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["currency"].as_str().unwrap())
        .collect();
    assert_eq!(currencies, ["USD", "EUR"]);
    let euros = s.get_json("/api/sites/shop/revenue?currency=eur");
    let eur: f64 = sent.iter().flat_map(|x| orders_in(x, "EUR")).sum();
    assert!(close(&euros["totals"]["revenue"], eur), "{euros}");
    let bad = s.get("/api/sites/shop/revenue?currency=US%20D");
    assert_eq!(bad.status, 400, "{}", bad.body);

    // A funnel of a page and two events: every session lands on /, some
    // add to the cart after it, some of those buy after that.
    let funnel = s.get_json(
        "/api/sites/shop/funnel?step=%5E/$&step=event:add_to_cart&step=event:purchase&window_minutes=600",
    );
    let steps: Vec<u64> = funnel["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|st| st["sessions"].as_u64().unwrap())
        .collect();
    let carted = count(&|x| x.customs.iter().any(|(n, _)| *n == "add_to_cart")) as u64;
    let bought = count(&|x| reached(x)[0]) as u64;
    assert_eq!(steps, [sent.len() as u64, carted, bought], "{funnel}");
    // The site's goals as one funnel step: every session lands on / and
    // reaches a goal after it or never, so the step counts the converted.
    let to_goal = s.get_json("/api/sites/shop/funnel?step=%5E/$&step=goal:any&window_minutes=600");
    assert_eq!(
        to_goal["steps"][1]["sessions"], goals["converted"],
        "{to_goal}"
    );

    // The sessions that added to the cart and bought nothing after:
    // exactly those, none of which has a purchase.
    let dropped = s.get_json(
        "/api/sites/shop/funnel?step=%5E/$&step=event:add_to_cart&step=event:purchase&window_minutes=600&dropped_at=2&limit=1000",
    );
    let listed = dropped["dropped"]["sessions"].as_array().unwrap();
    assert_eq!(dropped["dropped"]["total"].as_u64(), Some(carted - bought));
    assert_eq!(listed.len() as u64, carted - bought);
    for session in listed {
        let detail = s.get_json(&format!("/api/sites/shop/sessions/{}", session["id"]));
        let names: Vec<&str> = detail["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["name"].as_str())
            .collect();
        assert!(names.contains(&"add_to_cart"), "{names:?}");
        assert!(!names.contains(&"purchase"), "{names:?}");
    }
    // Per channel, side by side, adding up to the whole; a signup step
    // that may be skipped counts who passed it.
    let by_channel = s.get_json(
        "/api/sites/shop/funnel?step=%5E/$&step=event:signup&step=event:add_to_cart&optional=2&window_minutes=600&breakdown=channel",
    );
    let groups = by_channel["groups"].as_array().unwrap();
    for (i, step) in by_channel["steps"].as_array().unwrap().iter().enumerate() {
        let sum: u64 = groups.iter().map(|g| g["steps"][i].as_u64().unwrap()).sum();
        assert_eq!(step["sessions"].as_u64(), Some(sum), "{by_channel}");
    }
    let signed_up = count(&|x| x.customs.iter().any(|(n, _)| *n == "signup")) as u64;
    assert_eq!(by_channel["steps"][1]["sessions"].as_u64(), Some(signed_up));
    assert_eq!(by_channel["steps"][2]["sessions"].as_u64(), Some(carted));
    assert_eq!(by_channel["steps"][1]["optional"], true);
    for g in groups {
        let members = sent.iter().filter(|x| x.channel == g["value"]).count() as u64;
        assert_eq!(g["steps"][0].as_u64(), Some(members), "{g}");
    }
    let bad = s.get("/api/sites/shop/funnel?step=/&step=/b&optional=1");
    assert_eq!(bad.status, 400, "{}", bad.body);
    let bad = s.get("/api/sites/shop/funnel?step=/&step=event:");
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert!(bad.body.contains("needs a name"), "{}", bad.body);

    // Search finds sessions by their events and properties, and
    // `converted` means the same goals (the index follows the store
    // within a second or so).
    let total = |q: &str| -> u64 {
        let path = format!(
            "/api/sites/shop/sessions?q={}",
            q.replace(' ', "%20").replace(':', "%3A")
        );
        let r = s.get(&path);
        assert_eq!(r.status, 200, "{q}: {}", r.body);
        r.json()["total"].as_u64().unwrap()
    };
    let pro = count(&|x| reached(x)[1]) as u64;
    let mut found = (0, 0, 0);
    for _ in 0..100 {
        found = (
            total("event:purchase"),
            total("event:signup AND prop.plan:pro"),
            total("converted:true"),
        );
        if found == (bought, pro, goals["converted"].as_u64().unwrap()) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(found, (bought, pro, goals["converted"].as_u64().unwrap()));

    // Events as nodes of the journey graph: a signup comes right after
    // the landing page, so it is the second step of those who signed up;
    // the Sankey chart draws it too.
    let graph = s.get_json("/api/sites/shop/journeys?steps=3&nodes=20&events=true");
    let signups = graph["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["page"] == "event:signup" && n["step"] == 1)
        .unwrap_or_else(|| panic!("{graph}"));
    let signed_up = count(&|x| x.customs.iter().any(|(n, _)| *n == "signup")) as u64;
    assert_eq!(signups["sessions"].as_u64(), Some(signed_up));
    let plain = s.get_json("/api/sites/shop/journeys?steps=3&nodes=20");
    assert!(!plain.to_string().contains("event:"), "{plain}");
    let sankey = s.get("/api/sites/shop/charts/sankey.svg?steps=3&events=true");
    assert_eq!(sankey.status, 200, "{}", sankey.body);
    assert!(sankey.body.contains("event:signup"));
    let rooted = s.get_json("/api/sites/shop/journeys?steps=2&events=true&root=event:signup");
    assert_eq!(rooted["nodes"][0]["page"], "event:signup", "{rooted}");

    // A funnel saved by name runs as its steps do, with a breakdown
    // of the day; the CLI runs it too; bad ones are refused, gone ones 404.
    let definition =
        "step=%5E/$&step=event:add_to_cart&step=event:purchase&name=Home&window_minutes=600";
    let put = |name: &str, query: &str| {
        into_resp(
            agent()
                .put(&s.url(&format!("/api/sites/shop/funnels/{name}")))
                .set("authorization", &format!("Bearer {TOKEN}"))
                .send_string(&json!({ "query": query }).to_string()),
        )
    };
    let saved = put("Checkout%20flow", definition);
    assert_eq!(saved.status, 200, "{}", saved.body);
    assert_eq!(saved.json()["labels"][0], "Home");
    let list = s.get_json("/api/sites/shop/funnels");
    assert_eq!(list["funnels"][0]["name"], "Checkout flow", "{list}");
    let by_name = s.get_json("/api/sites/shop/funnel?saved=Checkout%20flow&breakdown=device");
    let by_steps = s.get_json(&format!(
        "/api/sites/shop/funnel?{definition}&breakdown=device"
    ));
    assert_eq!(by_name, by_steps);
    let (ok, out, err) = run_cli(
        &s.db,
        &[
            "funnel",
            "--site",
            SITE,
            "--saved",
            "Checkout flow",
            "--json",
        ],
    );
    assert!(ok, "{err}");
    let cli: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(cli["steps"], by_name["steps"]);
    assert_eq!(put("bad", "step=%28&step=/x").status, 400);
    assert_eq!(put("one", "step=/x").status, 400);
    let gone = into_resp(
        agent()
            .delete(&s.url("/api/sites/shop/funnels/Checkout%20flow"))
            .set("authorization", &format!("Bearer {TOKEN}"))
            .call(),
    );
    assert_eq!(gone.status, 204, "{}", gone.body);
    assert_eq!(
        s.get("/api/sites/shop/funnel?saved=Checkout%20flow").status,
        404
    );

    // Held against the span just before: the earlier report is the one
    // asked for that span, and the tables say before and change.
    let first = sent_at - 3_600_000;
    let (mid, end) = (first + 120_000, first + 240_000);
    let compared = s.get_json(&format!(
        "/api/sites/shop/goals?from={mid}&to={end}&compare=previous"
    ));
    let earlier = s.get_json(&format!(
        "/api/sites/shop/goals?from={}&to={mid}",
        mid - 120_000
    ));
    assert_eq!(compared["compare"]["previous"], earlier, "{compared}");
    assert_eq!(compared["compare"]["mode"], "previous");
    assert!(
        compared["sessions"].as_u64().unwrap() > 0 && earlier["sessions"].as_u64().unwrap() > 0
    );
    let (ok, out, err) = run_cli(
        &s.db,
        &[
            "goals",
            "--site",
            SITE,
            "--from",
            &mid.to_string(),
            "--to",
            &end.to_string(),
            "--compare",
            "previous",
            "--csv",
        ],
    );
    assert!(ok, "{err}");
    assert!(
        out.starts_with("goal,conversions,conversion rate,before,change"),
        "{out}"
    );
    // Revenue is held against the same currency; euros asked are euros
    // before too.
    for q in ["", "&currency=eur"] {
        let r = s.get_json(&format!(
            "/api/sites/shop/revenue?from={mid}&to={end}&compare=previous{q}"
        ));
        assert_eq!(r["compare"]["previous"]["currency"], r["currency"], "{r}");
    }
    let no_start = s.get("/api/sites/shop/goals?compare=year");
    assert_eq!(no_start.status, 400, "{}", no_start.body);

    // A site whose carts were never bought: its figures are in the
    // carts' currency, so what they held still counts.
    let made = into_resp(
        agent()
            .post(&s.url("/api/sites"))
            .set("authorization", &format!("Bearer {TOKEN}"))
            .send_string(r#"{"name":"carts","origins":["http://carts.test"]}"#),
    );
    assert_eq!(made.status, 201, "{}", made.body);
    let t = now_ms() - 60_000;
    let left = batch(
        "c1",
        &[
            pageview(t, "/", ""),
            format!(
                r#"{{"type":"custom","ts":{},"name":"add_to_cart","props":{{"value":12.5,"currency":"eur"}}}}"#,
                t + 10
            ),
        ],
    )
    .replace(r#""site":"shop""#, r#""site":"carts""#);
    let r = s.collect_with(left.as_bytes(), Some("http://carts.test"), "text/plain");
    assert_eq!(r.status, 202, "{}", r.body);
    let carts = s.get_json("/api/sites/carts/revenue");
    assert_eq!(carts["currency"], "EUR", "{carts}");
    assert_eq!(carts["totals"]["abandoned_carts"], 1);
    assert!(close(&carts["totals"]["abandoned_value"], 12.5), "{carts}");

    // The overview carries the goals; the CLI answers as the API does.
    let overview = s.get_json("/api/sites/shop/overview");
    assert_eq!(overview["goals"]["converted"], goals["converted"]);
    let (ok, out, err) = run_cli(
        &s.db,
        &["goals", "--site", SITE, "--breakdown", "channel", "--json"],
    );
    assert!(ok, "{err}");
    let cli: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(cli, goals);
    let (ok, out, err) = run_cli(&s.db, &["revenue", "--site", SITE, "--csv"]);
    assert!(ok, "{err}");
    assert!(out.starts_with("value,sessions,orders,revenue"), "{out}");
}

/// `unit=visitor`: a visitor who leaves the cart in one session and buys
/// in a second the same day counts once, converted, with the time to
/// convert across both; counted per session, the first session is a
/// drop-off. Checked against a count of what was sent.
#[test]
fn visitors_who_buy_in_a_later_session_count_once_converted() {
    let s = Server::start(&["--rate-per-client", "0", "--trust-proxy", "true"]);
    let now = now_ms() - 3_600_000;
    let send = |ip: &str, sid: &str, events: &[String]| {
        let r = agent()
            .post(&s.url("/api/collect"))
            .set("Content-Type", "application/json")
            .set("Origin", ORIGIN)
            .set("User-Agent", CHROME)
            .set("X-Forwarded-For", ip)
            .send_string(&batch(sid, events));
        let r = into_resp(r);
        assert_eq!(r.status, 202, "{}", r.body);
    };
    let cart = |t: i64| {
        format!(r#"{{"type":"custom","ts":{t},"name":"add_to_cart","props":{{"value":5}}}}"#)
    };
    let buy = |t: i64| {
        format!(r#"{{"type":"custom","ts":{t},"name":"purchase","props":{{"revenue":5}}}}"#)
    };
    // (visitors, what each does): carts then buys later; buys at once;
    // only carts; two sessions, no cart.
    let mut visitors = 0;
    let mut next = || {
        visitors += 1;
        let ip = format!("10.1.{}.{}", visitors / 200, visitors % 200 + 1);
        (format!("v{visitors}"), ip)
    };
    for _ in 0..7 {
        let (v, ip) = next();
        send(
            &ip,
            &format!("{v}a"),
            &[pageview(now, "/p", ""), cart(now + 100)],
        );
        send(
            &ip,
            &format!("{v}b"),
            &[pageview(now + 600_000, "/p", ""), buy(now + 600_500)],
        );
    }
    for _ in 0..5 {
        let (v, ip) = next();
        let events = [pageview(now, "/p", ""), cart(now + 100), buy(now + 2100)];
        send(&ip, &format!("{v}a"), &events);
    }
    for _ in 0..4 {
        let (v, ip) = next();
        send(
            &ip,
            &format!("{v}a"),
            &[pageview(now, "/p", ""), cart(now + 100)],
        );
    }
    for _ in 0..3 {
        let (v, ip) = next();
        send(&ip, &format!("{v}a"), &[pageview(now, "/p", "")]);
        send(&ip, &format!("{v}b"), &[pageview(now + 60_000, "/q", "")]);
    }
    let funnel = "step=event:add_to_cart&step=event:purchase&window_minutes=1440";
    let sessions = s.get_json(&format!("/api/sites/shop/funnel?{funnel}"));
    let visitors = s.get_json(&format!("/api/sites/shop/funnel?{funnel}&unit=visitor"));
    let counts = |f: &Value| -> Vec<u64> {
        f["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["sessions"].as_u64().unwrap())
            .collect()
    };
    assert_eq!(counts(&sessions), [7 + 5 + 4, 5]);
    assert_eq!(counts(&visitors), [7 + 5 + 4, 7 + 5]);
    assert_eq!(visitors["unit"], "visitor");
    // Across sessions it took ten minutes, within one two seconds: the
    // median of 7 × 600.4 s and 5 × 2 s is the former. (Each batch's
    // clock is corrected on its own: a few ms either way.)
    let near = |v: &Value, ms: i64| (v.as_i64().unwrap() - ms).abs() < 100;
    assert!(
        near(&visitors["steps"][1]["median_ms"], 600_400),
        "{visitors}"
    );
    assert!(near(&sessions["steps"][1]["median_ms"], 2000), "{sessions}");

    let goals = s.get_json("/api/sites/shop/goals?unit=visitor");
    assert_eq!(goals["sessions"], 7 + 5 + 4 + 3);
    assert_eq!(goals["converted"], 7 + 5);
    let per_session = s.get_json("/api/sites/shop/goals");
    assert_eq!(per_session["sessions"], 7 * 2 + 5 + 4 + 3 * 2);
    assert_eq!(per_session["converted"], 7 + 5);
    let (ok, out, err) = run_cli(
        &s.db,
        &["goals", "--site", SITE, "--unit", "visitor", "--json"],
    );
    assert!(ok, "{err}");
    assert_eq!(serde_json::from_str::<Value>(&out).unwrap(), goals);
    assert_eq!(s.get("/api/sites/shop/goals?unit=person").status, 400);
}
