//! Demo traffic: visitors who behave like a shop's real customers, sent
//! through the real `/api/collect` exactly as the tracker would send them.
//!
//! The personas follow the usual e-commerce customer-journey maps, so that
//! every report has something to say on first run (about 70% of carts are
//! abandoned, as in the industry):
//! - a social-ad visitor who compares products, abandons the cart at the
//!   shipping step and comes back hours later from an email to buy;
//! - an organic searcher who leaves when the shipping cost appears (a third
//!   of them after Continue on the shipping step breaks: a JavaScript
//!   error right after the click, as the tag's error capture reports it);
//! - a returning buyer who searches, buys and leaves;
//! - a help-seeker who reads the FAQ and leaves;
//! - a browser who plays with the gift finder (the single-page app), hits a
//!   404, rage-clicks a price and clicks a banner that does nothing;
//! - a bouncer who lands on a product from a search or an ad, reads a bit
//!   and leaves (one page: the bounce rate);
//! - a window shopper who looks at a category and a product or two and
//!   leaves from a product page (some product pages' gallery script throws
//!   in the background);
//! - crawlers.
//!
//! Each page view shows the layout the replay recorder would store (the
//! pages that show the cart with the visitor's product in it) and asks
//! the collector "do you have it?", as the recorder does. Eleven hours
//! ago the shop changed its home page: the sale banner that did nothing
//! became a link to the sale's packs, listed below it. Visits from then on
//! see the new layout, and the browser above follows the banner to the
//! packs instead of clicking it in vain, so What changed holds the home
//! page before against after.
//!
//! Sessions are spread over the past 22 hours (the collector accepts events
//! up to a day old when the batch says when it was sent). Every visitor gets
//! its own address through X-Forwarded-For, which the demo's collector
//! trusts, so visitor ids differ as they would in real traffic.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use super::shop_layouts::{self, PageLayout, Variant};
use crate::event::Millis;

/// What was sent.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct TrafficReport {
    pub sessions: usize,
    pub batches: usize,
    pub events: usize,
}

/// Where to send, and how much.
pub(crate) struct TrafficPlan<'a> {
    pub collector: &'a str,
    pub site: &'a str,
    /// The shop's origin: page URLs and the Origin header.
    pub shop: &'a str,
    /// Roughly how many visitors (some come twice).
    pub visitors: usize,
    pub seed: u64,
    pub now: Millis,
    /// The demo's database: the planted change is dated there as its
    /// visits saw it (`None`: left as stored).
    pub db: Option<&'a std::path::Path>,
}

/// How long before the demo starts the shop changed its home page.
const CHANGE_AGO: Millis = 11 * 3600 * 1000;

#[derive(Clone, Copy)]
struct Device {
    ua: &'static str,
    vw: u32,
    vh: u32,
}

const DEVICES: [Device; 6] = [
    Device { ua: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36", vw: 1280, vh: 800 },
    Device { ua: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15", vw: 1440, vh: 900 },
    Device { ua: "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0", vw: 1920, vh: 1080 },
    Device { ua: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1", vw: 390, vh: 844 },
    Device { ua: "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36", vw: 412, vh: 915 },
    Device { ua: "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1", vw: 820, vh: 1180 },
];

const CRAWLERS: [&str; 2] = [
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
];

/// Address blocks to draw visitors from, with the range of their last
/// part: all but the last are networks of MaxMind's test database (GB,
/// SE, US, JP), which the demo uses when no `--geoip` is given, so the
/// dashboards show countries; the last is a documentation block no
/// database knows, as some real visitors' addresses are unknown.
const NETWORKS: [(&str, u32, u32); 6] = [
    ("81.2.69.", 160, 191),
    ("89.160.20.", 128, 254),
    ("216.160.83.", 56, 63),
    ("2001:218::", 1, 0xfffe),
    ("2001:218::", 1, 0xfffe),
    ("198.51.100.", 1, 254),
];

/// One planned page view: where, from where, how long, what happened.
/// The document's height and the clicked elements' places come from the
/// page's measured layout at the visitor's width ([`shop_layouts`]).
struct Page {
    path: String,
    referrer: Option<String>,
    dwell_ms: i64,
    actions: Vec<Action>,
    status: Option<u16>,
    /// The product in the cart as the page loads, and whether the shop's
    /// change had happened ([`shop_layouts::layout`] picks the layout).
    variant: Variant,
}

impl Page {
    /// The page's layout key: its path without the query, and what of the
    /// visit its layout shows.
    fn layout_key(&self) -> (String, Variant) {
        let path = self.path.split(['?', '#']).next().unwrap_or(&self.path);
        (path.to_string(), shop_layouts::varies(path, self.variant))
    }

    fn layout(&self) -> Option<&'static PageLayout> {
        shop_layouts::layout(&self.path, self.variant)
    }
}

enum Action {
    Scroll(f64),
    /// A click on the element that `query` finds on the page (for
    /// [`shop_layouts::CARD`], the card linking to `href`).
    Click {
        query: &'static str,
        href: Option<String>,
        rage: bool,
        dead: bool,
    },
    Custom(&'static str, Value),
}

/// One planned session.
struct Visit {
    sid: String,
    ip: String,
    device: Device,
    start: Millis,
    pages: Vec<Page>,
}

type HttpClient = Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

/// Visits sent at the same time.
const IN_FLIGHT: usize = 16;

/// Where batches go, shared by the sending tasks.
struct Target {
    client: HttpClient,
    collect_url: String,
    site: String,
    shop: String,
    now: Millis,
    /// The layout of each page the visits view, by its layout key.
    layouts: HashMap<(String, Variant), ShopLayout>,
}

/// A page's layout as the recorder sends it: named by the SHA-256 of its
/// HTML, gzipped.
struct ShopLayout {
    hash: String,
    gz: Bytes,
}

impl ShopLayout {
    fn of(html: &str) -> Result<ShopLayout> {
        use sha2::{Digest, Sha256};
        use std::io::Write;
        let hash = Sha256::digest(html.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(html.as_bytes())?;
        Ok(ShopLayout {
            hash,
            gz: Bytes::from(gz.finish()?),
        })
    }
}

/// Sends the demo traffic and returns what was accepted.
pub(crate) async fn generate(plan: &TrafficPlan<'_>) -> Result<TrafficReport> {
    let mut target = Target {
        client: Client::builder(TokioExecutor::new()).build_http(),
        collect_url: format!("{}/api/collect", plan.collector.trim_end_matches('/')),
        site: plan.site.to_string(),
        shop: plan.shop.to_string(),
        now: plan.now,
        layouts: HashMap::new(),
    };
    let visits = plan_visits(plan);
    let keys: BTreeSet<(String, Variant)> = visits
        .iter()
        .flat_map(|v| v.pages.iter().map(Page::layout_key))
        .collect();
    for (path, variant) in keys {
        let html =
            super::storefront::snapshot(&path, variant, plan.shop, plan.collector, plan.site);
        target
            .layouts
            .insert((path, variant), ShopLayout::of(&html)?);
    }
    let change_at = plan.now - CHANGE_AGO;
    let (before, after): (Vec<Visit>, Vec<Visit>) =
        visits.into_iter().partition(|v| v.start < change_at);
    let mut report = TrafficReport::default();
    // Every visit before the shop's change is sent (their sightings are of
    // the old home page) before the first visit after it stores the new one.
    let target = send_visits(target, before, &mut report).await?;
    let target = send_visits(target, after, &mut report).await?;
    if let Some(db) = plan.db {
        date_change(db, &target, change_at)?;
    }
    Ok(report)
}

/// Sends `visits`, [`IN_FLIGHT`] at a time, adding to `report`; gives the
/// target back once every visit has been sent.
async fn send_visits(
    target: Target,
    visits: Vec<Visit>,
    report: &mut TrafficReport,
) -> Result<Target> {
    let target = Arc::new(target);
    let mut tasks = tokio::task::JoinSet::new();
    for visit in visits {
        if tasks.len() >= IN_FLIGHT {
            add(report, tasks.join_next().await)?;
        }
        let target = target.clone();
        tasks.spawn(async move { send_visit(&target, &visit).await });
    }
    while let Some(done) = tasks.join_next().await {
        add(report, Some(done))?;
    }
    Ok(Arc::into_inner(target).expect("every visit's task has ended"))
}

/// Dates the change the shop's new home page made at the moment the
/// demo's visits saw it: the collector recorded it when the first visit
/// after it stored the layout, but the demo's visits are dated over the
/// past day.
fn date_change(db: &std::path::Path, target: &Target, at: Millis) -> Result<()> {
    let store = crate::store::Store::open(db)?;
    let conn = store.admin()?;
    for ((_, variant), layout) in &target.layouts {
        if variant.changed {
            crate::store::changes::redate_after(&conn, &layout.hash, at)?;
        }
    }
    Ok(())
}

fn add(
    report: &mut TrafficReport,
    done: Option<Result<Result<(usize, usize)>, tokio::task::JoinError>>,
) -> Result<()> {
    if let Some(done) = done {
        let (batches, events) = done??;
        report.sessions += 1;
        report.batches += batches;
        report.events += events;
    }
    Ok(())
}

async fn send_visit(target: &Target, visit: &Visit) -> Result<(usize, usize)> {
    let mut t = visit.start;
    let (mut batches, mut events) = (0, 0);
    for page in &visit.pages {
        let body = page_batch(target, visit, page, t);
        events += body["events"].as_array().map_or(0, Vec::len);
        post(target, visit, body).await?;
        if let Some(layout) = shown_layout(target, visit, page) {
            record_layout(target, visit, page, layout).await?;
        }
        batches += 1;
        t += page.dwell_ms;
    }
    Ok((batches, events))
}

/// The layout a page view shows, as the recorder would capture it
/// (crawlers run no script).
fn shown_layout<'t>(target: &'t Target, visit: &Visit, page: &Page) -> Option<&'t ShopLayout> {
    if CRAWLERS.contains(&visit.device.ua) {
        return None;
    }
    target.layouts.get(&page.layout_key())
}

/// The batch a tracker would send for one page view.
fn page_batch(target: &Target, visit: &Visit, page: &Page, start: Millis) -> Value {
    let d = visit.device;
    let url = format!("{}{}", target.shop, page.path);
    let height = page.layout().map_or(2400, |l| l.height(d.vw));
    let mut events = vec![json!({
        "type": "pageview", "ts": start, "url": url, "referrer": page.referrer,
        "title": title_of(&page.path), "vw": d.vw, "vh": d.vh, "dw": d.vw, "dh": height,
        "status": page.status,
    })];
    // What the recorder sends once the page is idle (crawlers run no script).
    if let Some(hash) = shown_layout(target, visit, page).map(|l| &l.hash) {
        events.push(json!({
            "type": "custom", "ts": start + 300, "name": "$layout",
            "props": {"hash": hash, "vw": d.vw, "vh": d.vh, "dw": d.vw, "dh": height,
                      "at": start + 300, "path": page.path},
        }));
    }
    let step = page.dwell_ms / (page.actions.len() as i64 + 2);
    let mut t = start;
    let mut max_depth = d.vh as f64;
    for (i, action) in page.actions.iter().enumerate() {
        t += step;
        let seed = (i as u32).wrapping_mul(2_654_435_761) ^ (start as u32);
        match action {
            Action::Scroll(frac) => {
                let depth = (height as f64 * frac).max(d.vh as f64).min(height as f64);
                max_depth = max_depth.max(depth);
                events.push(json!({"type": "scroll", "ts": t, "depth": depth.round(), "max_depth": max_depth.round(), "dh": height}));
            }
            Action::Click {
                query,
                href,
                rage,
                dead,
            } => {
                // An element hidden at this width is not clicked there.
                let Some((el, [bx, by, bw, bh])) = page
                    .layout()
                    .and_then(|l| l.target(query, href.as_deref()))
                    .and_then(|el| Some((el, el.at(d.vw)?)))
                else {
                    continue;
                };
                let (ox, oy) = spot_in(bw, bh, seed);
                // Rage bursts of 3 to 6 clicks, as impatient people vary.
                let repeats = if *rage { 3 + i64::from(seed % 4) } else { 1 };
                for r in 0..repeats {
                    // Rage: the same spot again, a px further each time.
                    let ox = (ox + r as f64).min(bw - 0.5);
                    events.push(json!({
                        "type": "click", "ts": t + r * 200, "x": bx + ox, "y": by + oy, "dw": d.vw,
                        "sel": el.sel, "ox": ox, "oy": oy, "text": el.text,
                        "href": el.href.as_ref().map(|h| format!("{}{h}", target.shop)),
                        "rage": *rage && r >= 2, "dead": *dead,
                    }));
                }
            }
            Action::Custom(name, props) => {
                // A script of the shop's own (an error's source) is on its origin.
                let mut props = props.clone();
                if let Some(src) = props.get_mut("source") {
                    if let Some(path) = src.as_str().filter(|s| s.starts_with('/')) {
                        *src = Value::String(format!("{}{path}", target.shop));
                    }
                }
                events.push(json!({"type": "custom", "ts": t, "name": name, "props": props}));
            }
        }
    }
    events.push(json!({
        "type": "leave", "ts": start + page.dwell_ms - 50,
        "engaged_ms": (page.dwell_ms * 8 / 10).max(0), "max_depth": max_depth.round(),
    }));
    json!({"site": target.site, "sid": visit.sid, "now": target.now, "events": events})
}

/// Where in an element's box of `w` × `h` px a click lands (its offset
/// from the box's corner): anywhere in the middle 60%, as people aim for
/// the middle of what they click, at 0.1 px.
fn spot_in(w: f64, h: f64, seed: u32) -> (f64, f64) {
    let unit = |v: u32| (v % 1000) as f64 / 1000.0;
    let at = |len: f64, u: f64| (len * (0.2 + 0.6 * u) * 10.0).round() / 10.0;
    (at(w, unit(seed)), at(h, unit(seed.rotate_left(16))))
}

fn title_of(path: &str) -> String {
    let stem = path
        .trim_start_matches('/')
        .split(['?', '.'])
        .next()
        .unwrap_or("");
    if stem.is_empty() {
        "Trailhead Outfitters".into()
    } else {
        format!("{stem} | Trailhead Outfitters")
    }
}

async fn post(target: &Target, visit: &Visit, body: Value) -> Result<()> {
    let bytes = Bytes::from(serde_json::to_vec(&body)?);
    let collect = target.collect_url.clone();
    send(target, visit, &collect, Some(bytes), &[202]).await?;
    Ok(())
}

/// What the recorder does on a page view: asks the collector whether it
/// has the layout (a sighting of it) and uploads it when asked to.
async fn record_layout(
    target: &Target,
    visit: &Visit,
    page: &Page,
    layout: &ShopLayout,
) -> Result<()> {
    let d = visit.device;
    let height = page.layout().map_or(2400, |l| l.height(d.vw));
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("site", &target.site)
        .append_pair("url", &format!("{}{}", target.shop, page.path))
        .append_pair("vw", &d.vw.to_string())
        .append_pair("vh", &d.vh.to_string())
        .append_pair("dw", &d.vw.to_string())
        .append_pair("dh", &height.to_string())
        .finish();
    let url = format!(
        "{}/api/replay/snapshots/{}?{query}",
        target.collect_url.trim_end_matches("/api/collect"),
        layout.hash
    );
    // 204: known; 200: wanted. Another visitor may store it meanwhile.
    if send(target, visit, &url, None, &[200, 204]).await? == 200 {
        send(target, visit, &url, Some(layout.gz.clone()), &[200, 201]).await?;
    }
    Ok(())
}

/// Posts as the visitor's browser would (its address, its user agent,
/// the shop's origin; `body` as text, none for a probe), until answered
/// with one of `accepted`, which it returns.
async fn send(
    target: &Target,
    visit: &Visit,
    url: &str,
    body: Option<Bytes>,
    accepted: &[u16],
) -> Result<u16> {
    for attempt in 0..20 {
        let req = hyper::Request::post(url)
            .header("origin", &target.shop)
            .header("user-agent", visit.device.ua)
            .header("x-forwarded-for", &visit.ip);
        // A batch is text; a layout a Blob without a type (no preflight).
        let req = match (&body, url.contains("/api/collect")) {
            (Some(_), true) => req.header("content-type", "text/plain;charset=UTF-8"),
            _ => req,
        };
        let req = req.body(Full::new(body.clone().unwrap_or_default()))?;
        let resp = target.client.request(req).await?;
        let status = resp.status();
        // Visitors share the few addresses the test GeoIP database knows
        // (as real visitors behind one NAT do), so the collector's
        // per-address limit can ask one to wait: it waits, as the
        // tracker would.
        let retry_after = resp
            .headers()
            .get(hyper::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(1)
            .clamp(1, 5);
        let text = resp.into_body().collect().await?.to_bytes();
        match status.as_u16() {
            code if accepted.contains(&code) => return Ok(code),
            503 => tokio::time::sleep(Duration::from_millis(100 * (attempt + 1))).await,
            429 => tokio::time::sleep(Duration::from_secs(retry_after)).await,
            _ => bail!(
                "the collector refused demo traffic ({status}): {}",
                String::from_utf8_lossy(&text)
            ),
        }
    }
    bail!("the collector stayed busy")
}

fn plan_visits(plan: &TrafficPlan<'_>) -> Vec<Visit> {
    let mut rng = StdRng::seed_from_u64(plan.seed);
    let mut visits = Vec::new();
    let window = 22 * 3600 * 1000;
    let change_at = plan.now - CHANGE_AGO;
    for n in 0..plan.visitors {
        let start = plan.now - window + rng.random_range(0..window - 3 * 3600 * 1000);
        let (net, lo, hi) = NETWORKS[rng.random_range(0..NETWORKS.len())];
        let ip = if net.contains(':') {
            format!("{net}{:x}", rng.random_range(lo..=hi))
        } else {
            format!("{net}{}", rng.random_range(lo..=hi))
        };
        let device = DEVICES[rng.random_range(0..DEVICES.len())];
        // Each visit its own tracker session id (a return from an email
        // opens a new tab); a visitor's visits are numbered from 0.
        let mut visit_no = 0;
        let mut visit = |start: Millis, device: Device, pages: Vec<Page>| {
            visit_no += 1;
            Visit {
                sid: format!("demo{n}x{}", visit_no - 1),
                ip: ip.clone(),
                device,
                start,
                pages,
            }
        };
        let roll = rng.random_range(0..100);
        let mut new: Vec<Visit> = match roll {
            0..=11 => {
                // Social ad: compare, abandon at shipping; back from an email hours later.
                let later = start + rng.random_range(2..3) * 3600 * 1000;
                vec![
                    visit(start, device, social_ad_first(&mut rng)),
                    visit(later, device, email_return(&mut rng)),
                ]
            }
            12..=33 => vec![visit(start, device, organic_searcher(&mut rng))],
            34..=43 => vec![visit(start, device, returning_buyer(&mut rng))],
            44..=53 => vec![visit(start, device, help_seeker(&mut rng))],
            54..=67 => {
                // One in thirty comes now (below): after the change too.
                let sale = start >= change_at || n % 30 == 0;
                vec![visit(start, device, browser(&mut rng, sale))]
            }
            68..=79 => vec![visit(start, device, bouncer(&mut rng))],
            80..=89 => vec![visit(start, device, window_shopper(&mut rng))],
            _ => {
                let crawler = Device {
                    ua: CRAWLERS[rng.random_range(0..CRAWLERS.len())],
                    vw: 1024,
                    vh: 1024,
                };
                vec![visit(start, crawler, crawl(&mut rng))]
            }
        };
        // One visitor in thirty is still on the site as the demo starts
        // (their last page a few minutes ago), so the Now view has people.
        if n % 30 == 0 && new.len() == 1 {
            let dwell: Millis = new[0].pages.iter().map(|p| p.dwell_ms).sum();
            new[0].start = plan.now - dwell - rng.random_range(0..4 * 60 * 1000);
        }
        visits.extend(
            new.into_iter()
                .map(fit_referrer)
                .map(|v| with_variants(v, change_at)),
        );
    }
    visits.sort_by_key(|v| v.start);
    visits
}

/// What each page view of `v` shows: the product in the cart as the page
/// loads (from the page that added it on; the email's landing page says
/// its own), and whether the visit came after the shop's change.
fn with_variants(mut v: Visit, change_at: Millis) -> Visit {
    let changed = v.start >= change_at;
    let mut held = None;
    for p in &mut v.pages {
        held = p.variant.cart.or(held);
        p.variant = Variant {
            cart: held,
            changed,
        };
        for a in &p.actions {
            if let Action::Custom("add_to_cart", props) = a {
                held = props["sku"].as_str().and_then(|s| s.parse().ok()).or(held);
            }
        }
    }
    v
}

/// An app's referrer only on that app's platform: the email reminder opens
/// from Gmail's Android app on Android, and from Gmail on the web elsewhere.
fn fit_referrer(mut v: Visit) -> Visit {
    let android = v.device.ua.contains("Android");
    for p in &mut v.pages {
        if !android
            && p.referrer
                .as_deref()
                .is_some_and(|r| r.starts_with("android-app://"))
        {
            p.referrer = Some("https://mail.google.com/".into());
        }
    }
    v
}

fn bouncer(rng: &mut StdRng) -> Vec<Page> {
    let p = product(rng);
    let (url, referrer) = if rng.random_bool(0.5) {
        (format!("/product/{p}.html"), "https://www.google.com/")
    } else {
        (
            format!("/product/{p}.html?utm_source=google&utm_medium=cpc&utm_campaign=brand"),
            "https://www.google.com/",
        )
    };
    let depth = rng.random_range(0.2..0.7);
    let mut only = page(url, rng, vec![Action::Scroll(depth)]);
    only.dwell_ms = rng.random_range(3_000..40_000);
    vec![landing(only, referrer)]
}

fn window_shopper(rng: &mut StdRng) -> Vec<Page> {
    let category = category(rng);
    let (view, p) = card(&category, rng);
    let mut pages = vec![
        landing(
            page("/", rng, vec![Action::Scroll(0.5)]),
            "https://www.instagram.com/",
        ),
        page(category, rng, vec![Action::Scroll(0.4), view]),
        page(format!("/product/{p}.html"), rng, vec![Action::Scroll(0.8)]),
    ];
    if p % 4 == 1 {
        // The gallery's script throws in the background (no click).
        pages.last_mut().expect("pushed").actions.push(js_error(
            "ResizeObserver loop completed with undelivered notifications.",
            "/js/gallery.js",
            42,
            false,
        ));
    }
    if rng.random_bool(0.3) {
        // Not what they wanted: back to the category within seconds (a
        // quick back), then gone.
        pages.last_mut().expect("pushed").dwell_ms = rng.random_range(2_000..8_000);
        let back = pages[1].path.clone();
        pages.push(page(back, rng, vec![Action::Scroll(0.2)]));
    } else if rng.random_bool(0.5) {
        // A second product from the first one's suggestions, then gone.
        let (view, q) = card(&format!("/product/{p}.html"), rng);
        pages.last_mut().expect("pushed").actions.push(view);
        pages.push(page(
            format!("/product/{q}.html"),
            rng,
            vec![Action::Scroll(0.5)],
        ));
    }
    pages
}

fn product(rng: &mut StdRng) -> u32 {
    rng.random_range(101..=110)
}

/// A product's price in dollars, as `examples/storefront/js/catalog.js`
/// lists it.
fn price(sku: u32) -> f64 {
    const PRICES: [f64; 10] = [
        139.0, 119.0, 69.0, 189.0, 89.0, 49.0, 179.0, 39.0, 29.0, 27.0,
    ];
    PRICES[(sku.clamp(101, 110) - 101) as usize]
}

/// Standard shipping, as the shop charges it.
const SHIPPING: f64 = 7.95;

/// One of the shop's category pages.
fn category(rng: &mut StdRng) -> String {
    format!(
        "/category/{}.html",
        ["shoes", "bags", "hats"][rng.random_range(0..3)]
    )
}

/// One of the product cards on the page at `path` (its measured layout
/// lists them), as the click on it and the product it leads to.
fn card(path: &str, rng: &mut StdRng) -> (Action, u32) {
    let links = shop_layouts::page(path).map_or_else(Vec::new, PageLayout::card_links);
    let Some(link) = links.get(rng.random_range(0..links.len().max(1))) else {
        // No cards measured: a product anyway, with no click on the way.
        return (Action::Scroll(0.5), product(rng));
    };
    let id = link
        .trim_start_matches("/product/")
        .trim_end_matches(".html")
        .parse()
        .unwrap_or(101);
    let click = Action::Click {
        query: shop_layouts::CARD,
        href: Some(link.to_string()),
        rage: false,
        dead: false,
    };
    (click, id)
}

fn page(path: impl Into<String>, rng: &mut StdRng, actions: Vec<Action>) -> Page {
    Page {
        path: path.into(),
        referrer: None,
        dwell_ms: rng.random_range(6_000..60_000),
        actions,
        status: None,
        variant: Variant::default(),
    }
}

fn landing(mut p: Page, referrer: &str) -> Page {
    p.referrer = Some(referrer.to_string());
    p
}

fn click(query: &'static str) -> Action {
    Action::Click {
        query,
        href: None,
        rage: false,
        dead: false,
    }
}

fn add_to_cart(sku: u32) -> Vec<Action> {
    vec![
        Action::Scroll(0.4),
        click("#add-to-cart"),
        Action::Custom(
            "add_to_cart",
            json!({"sku": sku.to_string(), "price": price(sku), "qty": 1,
                   "value": price(sku), "currency": "USD"}),
        ),
    ]
}

/// The cart's checkout button, as the shop's tag reports it.
fn begin_checkout(sku: u32) -> Vec<Action> {
    vec![
        click("#checkout"),
        Action::Custom(
            "begin_checkout",
            json!({"value": price(sku), "items": 1, "currency": "USD"}),
        ),
    ]
}

fn checkout_until_shipping(rng: &mut StdRng, sku: u32) -> Vec<Page> {
    vec![
        page("/cart.html", rng, begin_checkout(sku)),
        page("/checkout/address.html", rng, vec![click("#to-shipping")]),
    ]
}

fn social_ad_first(rng: &mut StdRng) -> Vec<Page> {
    // The spring campaign advertises the hiker that has a comparison page.
    let b = product(rng);
    let mut pages = vec![
        landing(
            page(
                "/product/101.html?utm_source=facebook&utm_medium=paid_social&utm_campaign=spring",
                rng,
                vec![Action::Scroll(0.6), click("#compare-link")],
            ),
            "https://l.facebook.com/",
        ),
        page("/compare.html", rng, vec![Action::Scroll(0.9)]),
        page(format!("/product/{b}.html"), rng, add_to_cart(b)),
    ];
    pages.extend(checkout_until_shipping(rng, b));
    // The shipping cost appears; they leave.
    pages.push(page(
        "/checkout/shipping.html",
        rng,
        vec![Action::Scroll(0.7)],
    ));
    pages
}

fn email_return(rng: &mut StdRng) -> Vec<Page> {
    // The reminder brings back a cart filled in an earlier visit.
    let sku = product(rng);
    let mut pages = vec![landing(
        page(
            "/cart.html?utm_source=newsletter&utm_medium=email&utm_campaign=cart_reminder",
            rng,
            begin_checkout(sku),
        ),
        "android-app://com.google.android.gm",
    )];
    pages[0].variant.cart = Some(sku);
    pages.push(page(
        "/checkout/address.html",
        rng,
        vec![click("#to-shipping")],
    ));
    pages.extend(pay(rng, sku));
    pages
}

fn pay(rng: &mut StdRng, sku: u32) -> Vec<Page> {
    let total = ((price(sku) + SHIPPING) * 100.0).round() / 100.0;
    vec![
        page("/checkout/shipping.html", rng, vec![click("#to-payment")]),
        page("/checkout/payment.html", rng, vec![click("#pay")]),
        page(
            "/thank-you.html",
            rng,
            vec![Action::Custom(
                "purchase",
                json!({"revenue": total, "currency": "USD", "items": 1, "shipping": SHIPPING}),
            )],
        ),
    ]
}

fn organic_searcher(rng: &mut StdRng) -> Vec<Page> {
    let category = category(rng);
    let (view, p) = card(&category, rng);
    let mut pages = vec![
        landing(
            page(category, rng, vec![Action::Scroll(0.5), view]),
            "https://www.google.com/",
        ),
        page(format!("/product/{p}.html"), rng, add_to_cart(p)),
    ];
    pages.extend(checkout_until_shipping(rng, p));
    // For a third (by product, so the draws stay as they were), Continue
    // breaks: an error right after the click.
    let mut actions = vec![Action::Scroll(0.5)];
    if p % 3 == 0 {
        actions.push(click("#to-payment"));
        actions.push(js_error(
            "TypeError: Cannot read properties of undefined (reading 'rate')",
            "/js/checkout.js",
            118,
            true,
        ));
    }
    pages.push(page("/checkout/shipping.html", rng, actions));
    pages
}

/// The error capture's `$error` (tracker-js/src/errors.js) for a script of
/// the shop (`source`: a path on its origin).
fn js_error(message: &str, source: &str, line: u32, click: bool) -> Action {
    Action::Custom(
        crate::event::JS_ERROR_EVENT,
        json!({"kind": "error", "message": message, "source": source, "line": line,
               "col": 9, "click": click}),
    )
}

fn returning_buyer(rng: &mut StdRng) -> Vec<Page> {
    let (view, p) = card("/search.html", rng);
    let mut pages = vec![
        page("/", rng, vec![click("#search-input")]),
        page("/search.html?q=boots", rng, vec![view]),
        page(format!("/product/{p}.html"), rng, add_to_cart(p)),
    ];
    pages.extend(checkout_until_shipping(rng, p));
    pages.extend(pay(rng, p));
    pages
}

fn help_seeker(rng: &mut StdRng) -> Vec<Page> {
    vec![
        landing(
            page(
                "/help/faq.html",
                rng,
                vec![Action::Scroll(0.8), click("#faq-shipping>summary")],
            ),
            "https://www.google.com/",
        ),
        page("/help/contact.html", rng, vec![Action::Scroll(0.3)]),
    ]
}

fn browser(rng: &mut StdRng, sale: bool) -> Vec<Page> {
    if sale {
        return sale_browser(rng);
    }
    let (view, p) = card("/gifts/results", rng);
    let mut pages = vec![
        landing(
            page(
                "/",
                rng,
                vec![
                    Action::Click {
                        query: "#promo-banner",
                        href: None,
                        rage: false,
                        dead: true,
                    },
                    click("nav.main-nav a[href=\"/gifts/\"]"),
                ],
            ),
            "https://www.pinterest.com/",
        ),
        page("/gifts/", rng, vec![click("#gift-start")]),
        page("/gifts/who", rng, vec![click("#who-friend")]),
        page("/gifts/budget", rng, vec![click("#budget-low")]),
        page("/gifts/results", rng, vec![view]),
        page(
            format!("/product/{p}.html"),
            rng,
            vec![Action::Click {
                query: "#product-price",
                href: None,
                rage: true,
                dead: false,
            }],
        ),
    ];
    if rng.random_bool(0.5) {
        pages.push(page("/product/999.html", rng, vec![]));
        pages.last_mut().expect("pushed").status = Some(404);
    } else {
        pages.push(page(format!("/product/{p}.html"), rng, add_to_cart(p)));
        pages.push(page("/cart.html", rng, vec![Action::Scroll(0.3)]));
    }
    pages
}

/// The browser after the shop's change: the sale banner is a link now,
/// to the sale's packs; they look at one, and half put it in the cart.
fn sale_browser(rng: &mut StdRng) -> Vec<Page> {
    let (view, p) = card("/category/bags.html", rng);
    let mut pages = vec![
        landing(
            page("/", rng, vec![Action::Scroll(0.3), click("#promo-banner")]),
            "https://www.pinterest.com/",
        ),
        page("/category/bags.html", rng, vec![Action::Scroll(0.5), view]),
    ];
    if rng.random_bool(0.5) {
        pages.push(page(format!("/product/{p}.html"), rng, add_to_cart(p)));
        pages.push(page("/cart.html", rng, vec![Action::Scroll(0.3)]));
    } else {
        pages.push(page(
            format!("/product/{p}.html"),
            rng,
            vec![Action::Scroll(0.6)],
        ));
    }
    pages
}

fn crawl(rng: &mut StdRng) -> Vec<Page> {
    let mut pages: Vec<Page> = [
        "/",
        "/category/shoes.html",
        "/category/bags.html",
        "/category/hats.html",
        "/help/faq.html",
    ]
    .iter()
    .map(|p| page(*p, rng, vec![]))
    .collect();
    for _ in 0..5 {
        pages.push(page(format!("/product/{}.html", product(rng)), rng, vec![]));
    }
    for p in &mut pages {
        p.dwell_ms = 800;
    }
    pages
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(visitors: usize) -> TrafficPlan<'static> {
        TrafficPlan {
            collector: "http://127.0.0.1:1",
            site: "shop",
            shop: "http://127.0.0.1:2",
            visitors,
            seed: 7,
            now: 1_800_000_000_000,
            db: None,
        }
    }

    #[test]
    fn about_seventy_percent_of_carts_are_abandoned() {
        let visits = plan_visits(&plan(2000));
        let has = |v: &Visit, path: &str| v.pages.iter().any(|p| p.path.starts_with(path));
        let carts = visits.iter().filter(|v| has(v, "/cart.html")).count();
        let bought = visits.iter().filter(|v| has(v, "/thank-you.html")).count();
        let abandoned = 1.0 - bought as f64 / carts as f64;
        assert!((0.6..0.8).contains(&abandoned), "abandonment {abandoned}");
    }

    fn target(p: &TrafficPlan<'_>) -> Target {
        Target {
            client: Client::builder(TokioExecutor::new()).build_http(),
            collect_url: String::new(),
            site: "shop".into(),
            shop: "http://127.0.0.1:2".into(),
            now: p.now,
            layouts: plan_visits(p)
                .iter()
                .flat_map(|v| v.pages.iter())
                .map(|page| {
                    let layout = ShopLayout {
                        hash: "ab".repeat(32),
                        gz: Bytes::new(),
                    };
                    (page.layout_key(), layout)
                })
                .collect(),
        }
    }

    #[test]
    fn batches_are_valid_collect_payloads_within_a_day() {
        let p = plan(50);
        let target = target(&p);
        for v in plan_visits(&p) {
            assert!(v.start >= p.now - 22 * 3600 * 1000 && v.start < p.now);
            let body = page_batch(&target, &v, &v.pages[0], v.start);
            let bytes = serde_json::to_vec(&body).unwrap();
            let batch = crate::ingest::payload::parse_batch(&bytes, 200, p.now).unwrap();
            assert_eq!(batch.events[0].kind, crate::event::EventKind::Pageview);
            // The layout reference, as the recorder sends it; none for crawlers.
            let layout = batch
                .events
                .iter()
                .find(|e| e.detail.name.as_deref() == Some("$layout"));
            assert_eq!(layout.is_some(), !CRAWLERS.contains(&v.device.ua));
            assert!(batch.events.iter().all(|e| e.ts <= p.now));
        }
    }

    #[test]
    fn every_click_lands_inside_the_box_of_the_element_it_names() {
        let p = plan(400);
        let target = target(&p);
        let mut clicks = 0;
        for v in plan_visits(&p) {
            let mut t = v.start;
            for page in &v.pages {
                let planned = page
                    .actions
                    .iter()
                    .filter(|a| matches!(a, Action::Click { .. }))
                    .count();
                let body = page_batch(&target, &v, page, t);
                t += page.dwell_ms;
                let layout = page.layout().expect("every page is measured");
                let mut sent = 0;
                for e in body["events"].as_array().unwrap() {
                    if e["type"] != "click" {
                        continue;
                    }
                    let sel = e["sel"].as_str().unwrap();
                    let el = layout.targets.iter().find(|t| t.sel == sel).unwrap();
                    let [bx, by, bw, bh] = el.at(v.device.vw).unwrap();
                    let (x, y) = (e["x"].as_f64().unwrap(), e["y"].as_f64().unwrap());
                    assert!(
                        x > bx && x < bx + bw && y > by && y < by + bh,
                        "{} at {}: ({x}, {y}) outside {sel} {:?}",
                        page.path,
                        v.device.vw,
                        [bx, by, bw, bh]
                    );
                    let (ox, oy) = (e["ox"].as_f64().unwrap(), e["oy"].as_f64().unwrap());
                    assert!((ox - (x - bx)).abs() < 1e-6 && (oy - (y - by)).abs() < 1e-6);
                    assert_eq!(e["text"].as_str(), el.text.as_deref());
                    if !e["rage"].as_bool().unwrap() {
                        sent += 1;
                    }
                }
                // Rage bursts are 4 clicks, 2 of them marked rage.
                let rage_extra = page
                    .actions
                    .iter()
                    .filter(|a| matches!(a, Action::Click { rage: true, .. }))
                    .count();
                assert_eq!(
                    sent,
                    planned + rage_extra,
                    "{}: every planned click is sent",
                    page.path
                );
                clicks += sent;
            }
        }
        assert!(clicks > 500, "{clicks}");
    }

    #[test]
    fn views_show_the_cart_they_hold_and_the_home_page_of_their_time() {
        let p = plan(400);
        let change_at = p.now - CHANGE_AGO;
        let visits = plan_visits(&p);
        let (mut carts, mut homes) = (0, [0, 0]);
        for v in &visits {
            let mut added: Option<u32> = None;
            for page in &v.pages {
                let key = page.layout_key();
                if key.0 == "/cart.html" {
                    // The cart shows what the visit put in it (or the
                    // email's own).
                    let sku = key.1.cart.expect("a cart view holds a product");
                    if let Some(a) = added {
                        assert_eq!(sku, a);
                    }
                    let name = shop_layouts::layout("/cart.html", key.1).unwrap();
                    assert!(name.html.contains("cart-row"), "{sku}");
                    carts += 1;
                }
                if key.0 == "/" {
                    assert_eq!(key.1.changed, v.start >= change_at);
                    homes[usize::from(key.1.changed)] += 1;
                    let dead = page
                        .actions
                        .iter()
                        .any(|a| matches!(a, Action::Click { dead: true, .. }));
                    // The banner does nothing only before the change.
                    assert!(!(dead && key.1.changed), "{}", v.sid);
                }
                for a in &page.actions {
                    if let Action::Custom("add_to_cart", props) = a {
                        added = props["sku"].as_str().and_then(|s| s.parse().ok());
                    }
                }
            }
        }
        assert!(carts > 50, "{carts}");
        assert!(homes[0] > 30 && homes[1] > 30, "{homes:?}");
    }
}
