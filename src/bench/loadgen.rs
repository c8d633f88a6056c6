//! Load generator for `POST /api/collect`.
//!
//! This is the engine behind `trailmap bench collect`, and the source of the
//! durable-events/s and latency figures in BENCHMARKS.md. It exists so that
//! those figures come from a realistic tracker workload (varied batches,
//! many sessions, real browser user agents) sent over keep-alive HTTP/1.1
//! connections, the way browsers talk to the collector, rather than from a
//! generic HTTP benchmark that repeats one body.
//!
//! Two modes:
//! * max rate (`rate: None`): every connection sends back-to-back, which
//!   finds the saturation throughput;
//! * fixed rate: requests follow a global schedule of intended send times. A
//!   worker whose previous response came back late sends at once and measures
//!   latency from the intended time, not the actual send, so a server stall
//!   shows up in the percentiles instead of silently slowing the generator
//!   down (the "coordinated omission" correction of wrk2). A worker that is on
//!   time measures from when its timer fired, so the timer's ~1 ms granularity
//!   is not counted as server latency.
//!
//! Only 202 responses count as accepted: that is the server's answer once a
//! batch is durably committed.
//!
//! Each simulated visitor (session) sends from its own address, in
//! X-Forwarded-For (10.0.0.0/8, one address per session), as real traffic
//! comes from many addresses. Run the server with `--trust-proxy true` so it
//! sees them: then its per-client rate limit applies per visitor, as in
//! production, instead of to the generator's one loopback address.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, ensure, Context as _};
use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt as _, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{HeaderValue, CONTENT_TYPE, HOST, ORIGIN, USER_AGENT};
use hyper::{Method, Request, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use rand::rngs::{SmallRng, StdRng};
use rand::seq::IndexedRandom as _;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio::time::Instant;

/// What to send, where, and for how long.
#[derive(Debug, Clone)]
pub(crate) struct LoadOptions {
    /// Server base URL, e.g. `http://127.0.0.1:8080` (plain HTTP only; a path
    /// prefix is kept, `/api/collect` is appended).
    pub base_url: String,
    /// Site id put in every batch; must be registered on the server.
    pub site: String,
    /// Origin header and page URL origin, e.g. `https://shop.example`; must be
    /// registered for `site`.
    pub origin: String,
    /// Number of persistent connections, one worker task each.
    pub connections: usize,
    /// How long to issue requests; requests in flight at the end are awaited.
    pub duration: Duration,
    /// Batches per second in total over all connections; `None` sends as fast
    /// as the server answers.
    pub rate: Option<f64>,
    /// Events in each batch: a pageview, then clicks/scrolls, a custom event
    /// and a leave.
    pub events_per_batch: usize,
    /// Number of distinct session ids (`sid`) to rotate through.
    pub sessions: usize,
    /// Every visit goes to this path (e.g. `/`) instead of a random one of
    /// the shop's pages: a heatmap benchmark's million clicks on one page.
    pub page: Option<String>,
}

/// Outcome of one [`run`].
#[derive(Debug, Clone)]
pub(crate) struct LoadReport {
    /// Batches attempted; equals the sum of `status_counts` plus
    /// `transport_errors`.
    pub batches_sent: u64,
    /// Batches answered with 202 (durably committed).
    pub batches_accepted: u64,
    /// Events in accepted batches.
    pub events_accepted: u64,
    /// Number of responses per HTTP status code.
    pub status_counts: BTreeMap<u16, u64>,
    /// Batches that got no HTTP response: connect, write or read failure, or
    /// no answer within 30 s.
    pub transport_errors: u64,
    /// From the first request to the last response.
    pub elapsed: Duration,
    /// Latency of accepted batches (202 only, so fast 503s cannot flatter
    /// it), in milliseconds, until the whole response was read. In fixed-rate
    /// mode a batch whose connection was still busy at its scheduled time is
    /// timed from that scheduled time.
    pub latency_ms: Percentiles,
}

/// Latency percentiles (nearest rank), all zero when nothing was measured.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Slowest.
    pub max: f64,
}

impl LoadReport {
    /// Durably accepted events per second of wall time.
    pub(crate) fn events_per_sec(&self) -> f64 {
        per_sec(self.events_accepted, self.elapsed)
    }

    /// Machine-readable form, for keeping benchmark results next to BENCHMARKS.md.
    pub(crate) fn to_json(&self) -> Value {
        let status_counts: serde_json::Map<String, Value> = self
            .status_counts
            .iter()
            .map(|(code, n)| (code.to_string(), json!(n)))
            .collect();
        json!({
            "batches_sent": self.batches_sent,
            "batches_accepted": self.batches_accepted,
            "events_accepted": self.events_accepted,
            "status_counts": status_counts,
            "transport_errors": self.transport_errors,
            "elapsed_s": self.elapsed.as_secs_f64(),
            "batches_per_sec": per_sec(self.batches_accepted, self.elapsed),
            "events_per_sec": self.events_per_sec(),
            "latency_ms": {
                "p50": self.latency_ms.p50,
                "p90": self.latency_ms.p90,
                "p99": self.latency_ms.p99,
                "max": self.latency_ms.max,
            },
        })
    }
}

impl fmt::Display for LoadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let statuses: Vec<String> = self
            .status_counts
            .iter()
            .map(|(code, n)| format!("{code}: {n}"))
            .collect();
        let l = &self.latency_ms;
        writeln!(f, "elapsed:   {:.2} s", self.elapsed.as_secs_f64())?;
        writeln!(
            f,
            "batches:   {} sent, {} accepted ({:.1}/s), {} transport errors",
            self.batches_sent,
            self.batches_accepted,
            per_sec(self.batches_accepted, self.elapsed),
            self.transport_errors
        )?;
        writeln!(f, "statuses:  {}", statuses.join(", "))?;
        writeln!(
            f,
            "events:    {} accepted, {:.1} durable events/s",
            self.events_accepted,
            self.events_per_sec()
        )?;
        write!(
            f,
            "latency:   p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            l.p50, l.p90, l.p99, l.max
        )
    }
}

fn per_sec(n: u64, elapsed: Duration) -> f64 {
    let secs = elapsed.as_secs_f64();
    if secs > 0.0 {
        n as f64 / secs
    } else {
        0.0
    }
}

/// Distinct batch variants generated before the clock starts; even indices
/// are desktop page views, odd ones mobile.
const POOL_SIZE: usize = 256;
/// The server's body limit.
const MAX_BODY: usize = 64 * 1024;
/// A request with no answer after this long is abandoned as a transport error,
/// so a hung server cannot make the run last forever.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Pause after a transport error so a dead server does not turn the workers
/// into a busy reconnect loop.
const ERROR_BACKOFF: Duration = Duration::from_millis(10);

/// Runs the load described by `opts` and reports what the server answered.
///
/// Fails before sending anything if the options are invalid, a batch would
/// exceed the server's 64 KiB body limit, or the server cannot be reached;
/// failures during the run are counted in the report instead.
pub(crate) async fn run(opts: LoadOptions) -> anyhow::Result<LoadReport> {
    ensure!(opts.connections > 0, "connections must be at least 1");
    ensure!(opts.sessions > 0, "sessions must be at least 1");
    ensure!(
        opts.events_per_batch > 0,
        "events_per_batch must be at least 1"
    );
    ensure!(!opts.duration.is_zero(), "duration must be positive");
    if let Some(rate) = opts.rate {
        ensure!(rate.is_finite() && rate > 0.0, "rate must be positive");
    }

    let base: Uri = opts
        .base_url
        .parse()
        .with_context(|| format!("invalid base URL {:?}", opts.base_url))?;
    ensure!(
        base.scheme_str() == Some("http"),
        "base URL must be plain http://"
    );
    let Some(authority) = base.authority() else {
        bail!("base URL {:?} has no host", opts.base_url);
    };
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']');
    let port = authority.port_u16().unwrap_or(80);
    // Resolve once, so reconnects during the run cost no DNS lookup.
    let addr = tokio::net::lookup_host((host, port))
        .await
        .with_context(|| format!("resolving {host}"))?
        .next()
        .with_context(|| format!("{host} has no address"))?;
    let path = format!("{}/api/collect", base.path().trim_end_matches('/'));

    let seed: u64 = rand::random();
    let (head, tails) = body_pool(&opts, seed)?;
    let plan = Arc::new(Plan {
        addr,
        uri: path.parse()?,
        host: HeaderValue::from_str(authority.as_str())?,
        origin: HeaderValue::from_str(&opts.origin).context("invalid origin")?,
        // A per-run prefix keeps the sessions of different runs apart.
        sid_prefix: format!("lg{:08x}s", seed as u32),
        head,
        tails,
        sessions: opts.sessions as u64,
        next_session: AtomicU64::new(0),
        rate: opts.rate,
        connections: opts.connections,
    });

    // Connect everything before the clock starts: the handshakes are not part
    // of the steady-state load being measured.
    let mut senders = Vec::with_capacity(opts.connections);
    for _ in 0..opts.connections {
        senders.push(
            connect(addr)
                .await
                .with_context(|| format!("connecting to {addr}"))?,
        );
    }

    let start = Instant::now();
    let end = start + opts.duration;
    let workers: Vec<_> = senders
        .into_iter()
        .enumerate()
        .map(|(id, sender)| tokio::spawn(worker(plan.clone(), id, sender, start, end)))
        .collect();
    let mut total = WorkerStats::default();
    let mut latencies_us = Vec::new();
    for handle in workers {
        let stats = handle.await.context("load worker panicked")?;
        total.sent += stats.sent;
        total.accepted += stats.accepted;
        total.transport_errors += stats.transport_errors;
        for (code, n) in stats.status_counts {
            *total.status_counts.entry(code).or_default() += n;
        }
        latencies_us.extend(stats.latencies_us);
    }
    let elapsed = start.elapsed();

    Ok(LoadReport {
        batches_sent: total.sent,
        batches_accepted: total.accepted,
        events_accepted: total.accepted * opts.events_per_batch as u64,
        status_counts: total.status_counts,
        transport_errors: total.transport_errors,
        elapsed,
        latency_ms: percentiles(latencies_us),
    })
}

/// Everything the workers share, fixed before the clock starts.
struct Plan {
    addr: SocketAddr,
    uri: Uri,
    host: HeaderValue,
    origin: HeaderValue,
    sid_prefix: String,
    /// Body up to the sid value: `{"site":"...","sid":"`.
    head: Bytes,
    /// Body after the sid value, one per variant.
    tails: Vec<Bytes>,
    sessions: u64,
    next_session: AtomicU64,
    rate: Option<f64>,
    connections: usize,
}

impl Plan {
    /// Next batch: round-robin session, random variant of the session's
    /// device class. The body is spliced from pre-generated parts (a copy of
    /// a few KiB) so any number of sessions costs no extra memory and no JSON
    /// work happens while measuring.
    fn next_request(&self, rng: &mut SmallRng) -> Request<Full<Bytes>> {
        let session = self.next_session.fetch_add(1, Ordering::Relaxed) % self.sessions;
        let browser = &BROWSERS[(session % BROWSERS.len() as u64) as usize];
        let variant = 2 * rng.random_range(0..self.tails.len() / 2) + usize::from(browser.mobile);
        let tail = &self.tails[variant];

        let mut body = BytesMut::with_capacity(self.head.len() + 32 + tail.len());
        body.extend_from_slice(&self.head);
        write!(body, "{}{session}", self.sid_prefix).expect("BytesMut grows as needed");
        body.extend_from_slice(tail);

        let mut req = Request::new(Full::new(body.freeze()));
        *req.method_mut() = Method::POST;
        *req.uri_mut() = self.uri.clone();
        let headers = req.headers_mut();
        // hyper's low-level client does not add Host itself.
        headers.insert(HOST, self.host.clone());
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(ORIGIN, self.origin.clone());
        headers.insert(USER_AGENT, HeaderValue::from_static(browser.ua));
        headers.insert("x-forwarded-for", visitor_address(session));
        req
    }
}

/// The address session number `session` sends from: one per session in
/// 10.0.0.0/8 (wrapping after 16.7 million).
fn visitor_address(session: u64) -> HeaderValue {
    let [_, a, b, c] = (session as u32).to_be_bytes();
    HeaderValue::from_str(&format!("10.{a}.{b}.{c}")).expect("an IPv4 address is a header value")
}

#[derive(Default)]
struct WorkerStats {
    sent: u64,
    accepted: u64,
    transport_errors: u64,
    status_counts: BTreeMap<u16, u64>,
    latencies_us: Vec<u32>,
}

type Sender = SendRequest<Full<Bytes>>;

/// One connection's request loop, until `end`.
async fn worker(
    plan: Arc<Plan>,
    id: usize,
    sender: Sender,
    start: Instant,
    end: Instant,
) -> WorkerStats {
    let mut stats = WorkerStats::default();
    let mut rng = SmallRng::seed_from_u64(rand::random());
    let mut conn = Some(sender);
    for k in 0u64.. {
        let measured_from = match plan.rate {
            // Slot `id + k * connections` of the global schedule: all
            // workers together send evenly spaced at `rate`.
            Some(rate) => {
                let slot = id as u64 + k * plan.connections as u64;
                let at = start + Duration::from_secs_f64(slot as f64 / rate);
                if at >= end {
                    break;
                }
                if Instant::now() >= at {
                    // Behind schedule (a slow response held this worker up):
                    // send now, but charge the wait to the server.
                    at
                } else {
                    // On time: the timer wakes up to ~1 ms late, which is
                    // the generator's slack, not the server's latency.
                    tokio::time::sleep_until(at).await;
                    Instant::now()
                }
            }
            None => Instant::now(),
        };
        // A worker that fell behind stops at the deadline like the others.
        if Instant::now() >= end {
            break;
        }

        stats.sent += 1;
        let req = plan.next_request(&mut rng);
        match tokio::time::timeout(REQUEST_TIMEOUT, exchange(&mut conn, plan.addr, req)).await {
            Ok(Ok(status)) => {
                *stats.status_counts.entry(status.as_u16()).or_default() += 1;
                if status == StatusCode::ACCEPTED {
                    stats.accepted += 1;
                    let us = measured_from.elapsed().as_micros();
                    stats
                        .latencies_us
                        .push(u32::try_from(us).unwrap_or(u32::MAX));
                }
            }
            Ok(Err(_)) | Err(_) => {
                stats.transport_errors += 1;
                // The connection's state is unknown: start a fresh one.
                conn = None;
                tokio::time::sleep_until(end.min(Instant::now() + ERROR_BACKOFF)).await;
            }
        }
    }
    stats
}

/// Sends one request on `conn`, (re)connecting first if needed, and reads the
/// whole response body so the connection is ready for the next request.
async fn exchange(
    conn: &mut Option<Sender>,
    addr: SocketAddr,
    req: Request<Full<Bytes>>,
) -> anyhow::Result<StatusCode> {
    // A server may close a keep-alive connection after a response; reopening
    // it then is normal HTTP/1.1 behaviour, not a transport error.
    if conn.as_ref().is_none_or(Sender::is_closed) {
        *conn = None;
    }
    let sender = match conn {
        Some(sender) => sender,
        None => conn.insert(connect(addr).await?),
    };
    sender.ready().await?;
    let resp = sender.send_request(req).await?;
    let status = resp.status();
    resp.into_body().collect().await?;
    Ok(status)
}

async fn connect(addr: SocketAddr) -> anyhow::Result<Sender> {
    let stream = TcpStream::connect(addr).await?;
    // Requests are single small writes; don't let Nagle delay them.
    stream.set_nodelay(true)?;
    let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
    // Drives the socket; ends when the sender is dropped or the peer closes.
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(sender)
}

fn percentiles(mut us: Vec<u32>) -> Percentiles {
    if us.is_empty() {
        return Percentiles::default();
    }
    us.sort_unstable();
    let at = |q: f64| {
        let rank = ((q * us.len() as f64).ceil() as usize).clamp(1, us.len());
        f64::from(us[rank - 1]) / 1000.0
    };
    Percentiles {
        p50: at(0.50),
        p90: at(0.90),
        p99: at(0.99),
        max: at(1.0),
    }
}

struct Browser {
    ua: &'static str,
    mobile: bool,
}

/// Session `i` always uses `BROWSERS[i % len]`, as a real visitor keeps one UA.
const BROWSERS: &[Browser] = &[
    Browser {
        ua: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
        mobile: false,
    },
    Browser {
        ua: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
        mobile: true,
    },
    Browser {
        ua: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
        mobile: false,
    },
    Browser {
        ua: "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36",
        mobile: true,
    },
    Browser {
        ua: "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
        mobile: false,
    },
    Browser {
        ua: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.0.0",
        mobile: false,
    },
    Browser {
        ua: "Mozilla/5.0 (Linux; Android 14; SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36",
        mobile: true,
    },
];

/// The common body head and [`POOL_SIZE`] tails; a body is head + sid + tail.
fn body_pool(opts: &LoadOptions, seed: u64) -> anyhow::Result<(Bytes, Vec<Bytes>)> {
    let head = format!(r#"{{"site":{},"sid":""#, serde_json::to_string(&opts.site)?);
    let now_ms = SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis() as u64;
    let mut rng = StdRng::seed_from_u64(seed);
    let origin = opts.origin.trim_end_matches('/');
    let mut tails = Vec::with_capacity(POOL_SIZE);
    for i in 0..POOL_SIZE {
        let events = batch_events(
            &mut rng,
            origin,
            opts.page.as_deref(),
            opts.events_per_batch,
            i % 2 == 1,
            now_ms,
        );
        let events = serde_json::to_string(&events)?;
        let tail = format!(r#"","now":{now_ms},"events":{events}}}"#);
        // The longest sid is the prefix (11 chars) plus a u64 in decimal (20).
        let longest = head.len() + 31 + tail.len();
        ensure!(
            longest < MAX_BODY,
            "{} events per batch make bodies of {longest} bytes, over the server's {MAX_BODY}-byte limit",
            opts.events_per_batch
        );
        tails.push(Bytes::from(tail));
    }
    Ok((Bytes::from(head), tails))
}

/// One visit to one page: a pageview, then clicks and scrolls with one custom
/// event among them, then a leave; timestamps increase and end just before
/// `now_ms`, the batch's send time. `page` pins the visited path.
fn batch_events(
    rng: &mut StdRng,
    origin: &str,
    page: Option<&str>,
    n: usize,
    mobile: bool,
    now_ms: u64,
) -> Vec<Value> {
    const DESKTOP: &[(u32, u32)] = &[(1280, 720), (1440, 900), (1536, 864), (1920, 1080)];
    const MOBILE: &[(u32, u32)] = &[(390, 844), (412, 915), (360, 800)];
    const REFERRERS: &[&str] = &[
        "https://www.google.com/",
        "https://www.bing.com/",
        "https://duckduckgo.com/",
        "https://www.facebook.com/",
        "https://www.instagram.com/",
        "",
        "",
    ];
    const PRODUCTS: &[&str] = &[
        "Blue shoe",
        "Trail runner",
        "Wool socks",
        "Rain jacket",
        "Canvas tote",
        "Leather belt",
    ];
    const CATEGORIES: &[&str] = &["shoes", "outdoor", "accessories", "sale", "new"];
    const SEARCHES: &[&str] = &["boots", "red+dress", "gift+card", "running"];
    // (selector, href, text, element width, element height)
    const TARGETS: &[(&str, Option<&str>, &str, u32, u32)] = &[
        ("main>div.buy>button", Some("/cart"), "Add to cart", 180, 44),
        ("header>nav>a.logo", Some("/"), "Shop", 120, 40),
        (
            "main>ul.grid>li>a.card",
            Some("/product/17"),
            "Trail runner",
            280,
            360,
        ),
        ("main>div.gallery>img", None, "", 600, 600),
        ("main>div.sizes>span", None, "42", 48, 48),
        ("footer>ul>li>a", Some("/help/returns"), "Returns", 90, 20),
        ("header>form.search>input", None, "", 320, 36),
    ];
    const CUSTOM: &[&str] = &[
        "add_to_cart",
        "signup",
        "newsletter",
        "checkout_start",
        "filter",
    ];

    let (vw, vh) = *(if mobile { MOBILE } else { DESKTOP })
        .choose(rng)
        .expect("non-empty");
    let dw = vw;
    let dh = rng.random_range(vh * 2..vh * 8);
    let (path, title) = match rng.random_range(0..10) {
        0 => ("/".to_string(), "Shop – Home".to_string()),
        1..=2 => {
            let c = CATEGORIES.choose(rng).expect("non-empty");
            (format!("/c/{c}"), format!("Shop – {c}"))
        }
        3 => {
            let q = SEARCHES.choose(rng).expect("non-empty");
            (
                format!("/search?q={q}"),
                format!("Search: {}", q.replace('+', " ")),
            )
        }
        _ => {
            let name = PRODUCTS.choose(rng).expect("non-empty");
            (
                format!("/product/{}", rng.random_range(1..500)),
                name.to_string(),
            )
        }
    };
    let (path, title) = match page {
        Some(p) => (p.to_string(), format!("Shop – {p}")),
        None => (path, title),
    };
    let url = format!("{origin}{path}");
    // Landing views sometimes carry campaign tags, which the server strips.
    let landing_url = match rng.random_range(0..4) {
        0 if !url.contains('?') => format!("{url}?utm_source=newsletter&utm_medium=email"),
        _ => url.clone(),
    };

    // Event times: increasing gaps, the last event shortly before `now`.
    let mut offsets = vec![0u64; n];
    for i in 1..n {
        offsets[i] = offsets[i - 1] + rng.random_range(300..6000);
    }
    let t0 = now_ms - offsets[n - 1] - rng.random_range(50..2000);
    let ts = |i: usize| t0 + offsets[i];

    let mut events = Vec::with_capacity(n);
    events.push(json!({
        "type": "pageview", "ts": ts(0), "url": landing_url,
        "referrer": REFERRERS.choose(rng).expect("non-empty"), "title": title,
        "vw": vw, "vh": vh, "dw": dw, "dh": dh,
    }));
    let middle = n.saturating_sub(2);
    let custom_at = (middle > 0).then(|| rng.random_range(0..middle));
    let mut depth = vh;
    let mut max_depth = vh;
    for m in 0..middle {
        let t = ts(1 + m);
        if Some(m) == custom_at {
            let name = *CUSTOM.choose(rng).expect("non-empty");
            let props = match name {
                "signup" => json!({"plan": if rng.random_bool(0.3) { "pro" } else { "free" }}),
                "filter" => json!({"size": rng.random_range(36..47), "color": "blue"}),
                _ => json!({"sku": format!("SKU-{}", rng.random_range(1000..9999))}),
            };
            events
                .push(json!({"type": "custom", "ts": t, "url": url, "name": name, "props": props}));
        } else if rng.random_bool(0.5) {
            depth = (depth + rng.random_range(100..vh)).min(dh);
            max_depth = max_depth.max(depth);
            events.push(json!({
                "type": "scroll", "ts": t, "url": url,
                "depth": depth, "max_depth": max_depth, "dh": dh,
            }));
        } else {
            let &(sel, href, text, w, h) = TARGETS.choose(rng).expect("non-empty");
            // Clicks land inside the currently visible part of the page.
            let y = f64::from(depth - vh) + rng.random_range(0.0..f64::from(vh));
            let mut click = json!({
                "type": "click", "ts": t, "url": url,
                "x": (rng.random_range(0.0..f64::from(dw)) * 2.0).round() / 2.0,
                "y": y.round(), "dw": dw, "sel": sel,
                "ox": rng.random_range(0..w), "oy": rng.random_range(0..h),
                "text": text,
                "rage": rng.random_bool(0.02),
                "dead": href.is_none() && rng.random_bool(0.2),
            });
            if let Some(href) = href {
                click["href"] = json!(href);
            }
            events.push(click);
        }
    }
    if n >= 2 {
        let stayed = ts(n - 1) - ts(0);
        events.push(json!({
            "type": "leave", "ts": ts(n - 1), "url": url,
            "engaged_ms": stayed * rng.random_range(50..=100) / 100,
            "max_depth": max_depth,
        }));
    }
    events
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::convert::Infallible;
    use std::sync::Mutex;

    use hyper::body::Incoming;
    use hyper::service::service_fn;
    use hyper::Response;
    use tokio::net::TcpListener;

    const EVENTS: usize = 6;
    const SHOP_ORIGIN: &str = "https://shop.example";

    /// What the test server saw.
    #[derive(Default)]
    struct Seen {
        errors: Vec<String>,
        ua_by_sid: HashMap<String, String>,
        address_by_sid: HashMap<String, String>,
    }

    /// Answers 202 to well-formed batches and 400 (recording why) otherwise.
    async fn handle(
        req: Request<Incoming>,
        seen: Arc<Mutex<Seen>>,
    ) -> Result<Response<Full<Bytes>>, Infallible> {
        let (parts, body) = req.into_parts();
        let body = body.collect().await.map(|b| b.to_bytes());
        let checked = body
            .map_err(|e| e.to_string())
            .and_then(|body| check(&parts, &body, &mut seen.lock().unwrap()));
        let status = match checked {
            Ok(()) => StatusCode::ACCEPTED,
            Err(e) => {
                seen.lock().unwrap().errors.push(e);
                StatusCode::BAD_REQUEST
            }
        };
        let mut resp = Response::new(Full::new(Bytes::new()));
        *resp.status_mut() = status;
        Ok(resp)
    }

    fn check(
        parts: &hyper::http::request::Parts,
        body: &[u8],
        seen: &mut Seen,
    ) -> Result<(), String> {
        let header = |name| {
            parts
                .headers
                .get(name)
                .and_then(|v: &HeaderValue| v.to_str().ok())
        };
        if parts.method != Method::POST || parts.uri.path() != "/api/collect" {
            return Err(format!("{} {}", parts.method, parts.uri));
        }
        if header(ORIGIN) != Some(SHOP_ORIGIN) || header(CONTENT_TYPE) != Some("application/json") {
            return Err(format!("headers {:?}", parts.headers));
        }
        if body.len() >= MAX_BODY {
            return Err(format!("body of {} bytes", body.len()));
        }
        let v: Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
        let sid = v["sid"].as_str().unwrap_or("");
        let sid_ok = (1..=64).contains(&sid.len())
            && sid
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if v["site"] != "shop" || !sid_ok || !v["now"].is_u64() {
            return Err(format!("batch header in {v}"));
        }
        let events = v["events"].as_array().ok_or("no events")?;
        if events.len() != EVENTS {
            return Err(format!("{} events", events.len()));
        }
        let types: Vec<&str> = events
            .iter()
            .map(|e| e["type"].as_str().unwrap_or(""))
            .collect();
        if types[0] != "pageview" || types[EVENTS - 1] != "leave" || !types.contains(&"custom") {
            return Err(format!("event types {types:?}"));
        }
        let ts: Vec<u64> = events
            .iter()
            .map(|e| e["ts"].as_u64().unwrap_or(0))
            .collect();
        if ts.windows(2).any(|w| w[0] >= w[1]) || ts[EVENTS - 1] > v["now"].as_u64().unwrap() {
            return Err(format!("timestamps {ts:?}"));
        }
        if events
            .iter()
            .any(|e| !e["url"].as_str().unwrap_or("").starts_with(SHOP_ORIGIN))
        {
            return Err("event url outside origin".into());
        }
        // A session keeps its browser across batches.
        let ua = header(USER_AGENT).ok_or("no user agent")?.to_string();
        if seen
            .ua_by_sid
            .entry(sid.to_string())
            .or_insert_with(|| ua.clone())
            != &ua
        {
            return Err(format!("sid {sid} changed user agent"));
        }
        // ...and its address, one per visitor.
        let ip = header(hyper::header::HeaderName::from_static("x-forwarded-for"))
            .ok_or("no X-Forwarded-For")?;
        ip.parse::<std::net::Ipv4Addr>()
            .map_err(|e| e.to_string())?;
        if seen
            .address_by_sid
            .entry(sid.to_string())
            .or_insert_with(|| ip.to_string())
            != ip
        {
            return Err(format!("sid {sid} changed address"));
        }
        Ok(())
    }

    async fn start_server(seen: Arc<Mutex<Seen>>) -> (String, tokio::task::JoinHandle<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let seen = seen.clone();
                let service = service_fn(move |req| handle(req, seen.clone()));
                tokio::spawn(
                    hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service),
                );
            }
        });
        (format!("http://{addr}"), server)
    }

    async fn load(rate: Option<f64>) -> (LoadReport, Seen) {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let (base_url, server) = start_server(seen.clone()).await;
        let report = run(LoadOptions {
            base_url,
            site: "shop".into(),
            origin: SHOP_ORIGIN.into(),
            connections: 2,
            duration: Duration::from_secs(1),
            rate,
            events_per_batch: EVENTS,
            sessions: 50,
            page: None,
        })
        .await
        .unwrap();
        server.abort();
        let seen = std::mem::take(&mut *seen.lock().unwrap());
        (report, seen)
    }

    fn check_report(r: &LoadReport, seen: &Seen) {
        assert!(
            seen.errors.is_empty(),
            "server rejected batches: {:?}",
            &seen.errors[..1]
        );
        assert!(r.batches_accepted > 0, "{r}");
        assert_eq!(r.status_counts.get(&202), Some(&r.batches_accepted), "{r}");
        assert_eq!(r.events_accepted, r.batches_accepted * EVENTS as u64);
        assert_eq!(r.transport_errors, 0, "{r}");
        assert_eq!(r.batches_sent, r.batches_accepted);
        let l = r.latency_ms;
        assert!(l.p50 <= l.p90 && l.p90 <= l.p99 && l.p99 <= l.max, "{l:?}");
        assert!(seen.ua_by_sid.len() > 1, "sessions should rotate");
        let mut addresses: Vec<&String> = seen.address_by_sid.values().collect();
        addresses.sort();
        addresses.dedup();
        assert_eq!(
            addresses.len(),
            seen.address_by_sid.len(),
            "one address per visitor"
        );
        assert_eq!(r.to_json()["status_counts"]["202"], r.batches_accepted);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn max_rate() {
        let (r, seen) = load(None).await;
        check_report(&r, &seen);
        assert_eq!(seen.ua_by_sid.len(), 50.min(r.batches_sent as usize));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn fixed_rate() {
        let (r, seen) = load(Some(200.0)).await;
        check_report(&r, &seen);
        let sent = r.batches_sent as f64;
        assert!(
            (170.0..=230.0).contains(&sent),
            "sent {sent} for 200/s over 1 s\n{r}"
        );
    }

    #[test]
    fn percentiles_use_nearest_rank() {
        let p = percentiles((1..=1000).rev().map(|ms| ms * 1000).collect());
        assert_eq!(
            p,
            Percentiles {
                p50: 500.0,
                p90: 900.0,
                p99: 990.0,
                max: 1000.0
            }
        );
        assert_eq!(percentiles(Vec::new()), Percentiles::default());
    }

    #[test]
    fn oversized_batches_are_refused() {
        let opts = LoadOptions {
            base_url: "http://127.0.0.1:1".into(),
            site: "shop".into(),
            origin: SHOP_ORIGIN.into(),
            connections: 1,
            duration: Duration::from_secs(1),
            rate: None,
            events_per_batch: 1000,
            sessions: 1,
            page: None,
        };
        assert!(body_pool(&opts, 1).is_err());
        let (head, tails) = body_pool(
            &LoadOptions {
                events_per_batch: 10,
                ..opts
            },
            1,
        )
        .unwrap();
        assert!(tails.iter().all(|t| head.len() + t.len() < 8 * 1024));
    }
}
