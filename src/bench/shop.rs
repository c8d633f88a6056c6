//! `trailmap bench shop`: a shop-like dataset for the benchmarks, written
//! through the real write path (the sessionizer, the store's group
//! commits) straight into a database, without HTTP: millions of sessions
//! with the dimensions filtered reports use (channels from referrers and
//! campaign tags, devices, countries) and the shop's custom events
//! (`add_to_cart` with a value, `begin_checkout`, `purchase` with revenue
//! in two currencies, `signup` with a plan), so that goals, revenue,
//! event funnels and breakdowns are measured on realistic data (MSNBC has
//! none of these). Deterministic for a seed.
//!
//! The mix, per session: a third bounce; most browse a category and a
//! few products; 14% add to the cart, 9% begin checkout, 3.5% buy; 2%
//! sign up; a tenth of visitors come back later the same day, so that
//! `unit=visitor` has something to join. JavaScript errors (the error
//! capture's `$error`) come from a stream of their own, so the rest of the
//! data is what it was without them: 3% of sessions meet one of a few
//! background errors on a product page, and a fifth of those who reach
//! the shipping step an error click on its Continue button.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::Serialize;

use crate::event::{ClientInfo, DeviceClass, Event, EventDetail, EventKind, Geo, Millis, Source};
use crate::ingest::sessionize::VisitorIds;
use crate::mine::Rng;
use crate::pipeline::{IngestBatch, SessionWriter};
use crate::store::{sites, Store};

/// 2026-01-01, the first day of the data.
const T0: Millis = 1_767_225_600_000;
const DAY: Millis = 86_400_000;

/// Where sessions come from: (share in %, referrer, landing query).
const SOURCES: [(u64, Option<&str>, &str); 9] = [
    (33, None, ""),
    (22, Some("https://www.google.com/"), ""),
    (6, Some("https://www.bing.com/"), ""),
    (7, Some("https://www.facebook.com/"), ""),
    (5, Some("https://www.instagram.com/"), ""),
    (
        8,
        None,
        "?utm_source=google&utm_medium=cpc&utm_campaign=spring",
    ),
    (
        5,
        None,
        "?utm_source=google&utm_medium=cpc&utm_campaign=brand",
    ),
    (
        7,
        None,
        "?utm_source=newsletter&utm_medium=email&utm_campaign=weekly",
    ),
    (7, Some("https://blog.example/gear-guide"), ""),
];

const COUNTRIES: [(u64, &str); 10] = [
    (30, "US"),
    (14, "GB"),
    (12, "DE"),
    (9, "FR"),
    (7, "SE"),
    (7, "NL"),
    (6, "CA"),
    (5, "ES"),
    (5, "IT"),
    (5, "AU"),
];

const CATEGORIES: [&str; 8] = [
    "shoes", "bags", "hats", "jackets", "tents", "socks", "gloves", "sale",
];

/// Picks by weight (the weights add up to 100).
fn weighted<T: Copy>(rng: &mut Rng, table: &[(u64, T)]) -> T {
    let mut roll = rng.below(100);
    for (w, v) in table {
        if roll < *w {
            return *v;
        }
        roll -= w;
    }
    table[table.len() - 1].1
}

#[derive(Debug, Serialize)]
pub(crate) struct ShopReport {
    pub sessions: u64,
    pub events: u64,
    pub seconds: f64,
}

fn view(ts: Millis, path: &str, referrer: Option<&str>) -> Event {
    Event {
        kind: EventKind::Pageview,
        ts,
        path: Some(path.split('?').next().unwrap_or(path).to_string()),
        detail: EventDetail {
            url: Some(format!("https://shop.example{path}")),
            referrer: referrer.map(str::to_string),
            vw: Some(1280),
            vh: Some(720),
            ..EventDetail::default()
        },
    }
}

fn custom(ts: Millis, name: &str, props: serde_json::Value) -> Event {
    Event {
        kind: EventKind::Custom,
        ts,
        path: None,
        detail: EventDetail {
            name: Some(name.to_string()),
            props: props.as_object().cloned(),
            ..EventDetail::default()
        },
    }
}

/// Background errors of product pages: (message, script, line).
const PRODUCT_ERRORS: [(&str, &str, u32); 3] = [
    (
        "ResizeObserver loop completed with undelivered notifications.",
        "https://shop.example/static/gallery.js",
        212,
    ),
    (
        "TypeError: Cannot read properties of null (reading 'dataset')",
        "https://shop.example/static/reviews.js",
        48,
    ),
    ("Script error.", "", 0),
];

/// A `$error` event on the current page view.
fn js_error(ts: Millis, (message, source, line): (&str, &str, u32), click: bool) -> Event {
    custom(
        ts,
        crate::event::JS_ERROR_EVENT,
        serde_json::json!({"kind": "error", "message": message, "source": source,
                           "line": line, "col": 17, "click": click}),
    )
}

/// One session's events from `start`.
fn session(rng: &mut Rng, start: Millis) -> Vec<Event> {
    // The errors' own stream, one per session (see the module doc).
    let mut errors = Rng((start as u64).wrapping_mul(0x2545_f491_4f6c_dd1d) | 1);
    let background = errors.below(100) < 3;
    let shipping_breaks = errors.below(100) < 20;
    let which = PRODUCT_ERRORS[errors.below(PRODUCT_ERRORS.len() as u64) as usize];
    let (_, referrer, query) = SOURCES[{
        let table: Vec<(u64, usize)> = SOURCES.iter().enumerate().map(|(i, s)| (s.0, i)).collect();
        weighted(rng, &table)
    }];
    let mut t = start;
    let step = |rng: &mut Rng, t: &mut Millis| {
        *t += 1000 * (3 + rng.below(90)) as Millis;
        *t
    };
    let category = CATEGORIES[rng.below(CATEGORIES.len() as u64) as usize];
    let landing = match rng.below(10) {
        0..=4 => format!("/{query}"),
        5..=7 => format!("/category/{category}{query}"),
        _ => format!("/product/{}{query}", 1 + rng.below(500)),
    };
    let mut events = vec![view(start, &landing, referrer)];
    if rng.below(100) < 33 {
        return events;
    }
    if rng.below(100) < 6 {
        let plan = ["pro", "free", "free"][rng.below(3) as usize];
        events.push(custom(t + 500, "signup", serde_json::json!({"plan": plan})));
    }
    events.push(view(
        step(rng, &mut t),
        &format!("/category/{category}"),
        None,
    ));
    let mut products = Vec::new();
    for _ in 0..1 + rng.below(4) {
        let p = 1 + rng.below(500);
        products.push(p);
        events.push(view(step(rng, &mut t), &format!("/product/{p}"), None));
        if background {
            events.push(js_error(t + 1_200, which, false));
        }
    }
    if rng.below(100) < 6 {
        events.push(view(step(rng, &mut t), "/help/shipping", None));
    }
    if rng.below(100) >= 21 {
        return events;
    }
    let p = products[rng.below(products.len() as u64) as usize];
    let price = 20 + (p * 37 % 180);
    let currency = if rng.below(100) < 80 { "USD" } else { "EUR" };
    events.push(custom(
        t + 800,
        "add_to_cart",
        serde_json::json!({"sku": p.to_string(), "value": price, "currency": currency}),
    ));
    events.push(view(step(rng, &mut t), "/cart", None));
    if rng.below(100) >= 64 {
        return events;
    }
    events.push(custom(
        t + 400,
        "begin_checkout",
        serde_json::json!({"value": price, "currency": currency}),
    ));
    for page in ["/checkout/address", "/checkout/shipping"] {
        events.push(view(step(rng, &mut t), page, None));
    }
    if shipping_breaks {
        let error = (
            "TypeError: Cannot read properties of undefined (reading 'rate')",
            "https://shop.example/static/checkout.js",
            301,
        );
        events.push(js_error(t + 2_000, error, true));
    }
    if rng.below(100) >= 39 {
        return events;
    }
    events.push(view(step(rng, &mut t), "/checkout/payment", None));
    events.push(view(step(rng, &mut t), "/thank-you", None));
    let revenue = price as f64 + [4.95, 9.95, 0.0][rng.below(3) as usize];
    events.push(custom(
        t + 300,
        "purchase",
        serde_json::json!({"revenue": revenue, "currency": currency}),
    ));
    events
}

fn batch(
    site_id: i64,
    visitor: u64,
    device: DeviceClass,
    country: &str,
    events: Vec<Event>,
) -> IngestBatch {
    IngestBatch {
        site_id,
        source: Source::Tracker,
        sid: String::new(),
        visitor: VisitorIds {
            current: visitor,
            previous: None,
        },
        client: ClientInfo {
            browser: "Chrome".into(),
            os: "Linux".into(),
            device,
            is_bot: false,
        },
        geo: Geo {
            country: Some(country.to_string()),
            ..Geo::default()
        },
        encoded: IngestBatch::encode(&events),
        events,
    }
}

/// Writes `sessions` shop sessions over `days` days into `site` (made if
/// missing) of the database at `db`.
pub(crate) fn run(
    db: &std::path::Path,
    site: &str,
    sessions: u64,
    days: u64,
    seed: u64,
) -> Result<ShopReport> {
    let store = Store::open(db).with_context(|| format!("opening {}", db.display()))?;
    let site_id = {
        let mut conn = store.admin()?;
        match sites::get(&conn, site)? {
            Some(s) => s.id,
            None => sites::add(&mut conn, site, &["https://shop.example".to_string()], T0)?.id,
        }
    };
    let started = Instant::now();
    let mut rng = Rng(seed.max(1));
    let mut w = store.writer(false)?;
    let mut s = SessionWriter::load(&w, Duration::from_secs(1800), T0)?;
    let span = days.max(1) * DAY as u64;
    let (mut written, mut events) = (0u64, 0u64);
    // Sessions in time order, so that the sessionizer closes them as a
    // collector would; each visitor's later return is queued by time.
    let mut returns: std::collections::BinaryHeap<std::cmp::Reverse<(Millis, u64, u64)>> =
        Default::default();
    let mut visitor = 0u64;
    while written < sessions {
        let mut txn = w.begin()?;
        for _ in 0..2000 {
            if written >= sessions {
                break;
            }
            let at = T0 + (written * span / sessions.max(1)) as Millis;
            let (start, who) = match returns.peek() {
                Some(std::cmp::Reverse((t, _, _))) if *t <= at => {
                    let std::cmp::Reverse((t, v, _)) = returns.pop().expect("peeked");
                    (t, v)
                }
                _ => {
                    visitor += 1;
                    if rng.below(10) == 0 {
                        let later = at + (2 + rng.below(8)) as Millis * 3_600_000;
                        returns.push(std::cmp::Reverse((later, visitor, written)));
                    }
                    (at, visitor)
                }
            };
            let device = [
                DeviceClass::Desktop,
                DeviceClass::Mobile,
                DeviceClass::Tablet,
            ][[0, 0, 0, 0, 0, 1, 1, 1, 1, 2][(who % 10) as usize]];
            let country = COUNTRIES[(who % COUNTRIES.len() as u64) as usize].1;
            let country = if rng.below(2) == 0 {
                country
            } else {
                weighted(&mut rng, &COUNTRIES)
            };
            let list = session(&mut rng, start);
            events += list.len() as u64;
            s.apply(
                &mut txn,
                &batch(
                    site_id,
                    who.wrapping_mul(0x9e37_79b9_7f4a_7c15),
                    device,
                    country,
                    list,
                ),
            )?;
            written += 1;
        }
        s.flush(&mut txn)?;
        txn.commit()?;
        s.close_idle(T0 + (written * span / sessions.max(1)) as Millis);
        if written % 500_000 < 2000 {
            eprintln!(
                "{written} sessions, {:.0} s",
                started.elapsed().as_secs_f64()
            );
        }
    }
    Ok(ShopReport {
        sessions: written,
        events,
        seconds: started.elapsed().as_secs_f64(),
    })
}
