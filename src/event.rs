//! The shared vocabulary: what an event is, what a session is, what a
//! recorded click is, and the small enumerations (channel, device class,
//! viewport class, source) that every room agrees on.
//!
//! Sources (the tracker's payload, access logs) produce [`Event`]s; the
//! enrichment step adds a [`ClientInfo`] and a [`Geo`]; the sessionizer cuts
//! events into [`Session`]s; the store keeps both; readers get them back.
//! Keeping these types here, free of I/O and of any room's internals, is what
//! lets `mine` and `render` be pure functions over plain data.

use serde::{Deserialize, Serialize};

/// Milliseconds since the Unix epoch, UTC. Every timestamp in trailmap is one.
pub(crate) type Millis = i64;

/// The wall clock in milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as Millis)
        .unwrap_or(0)
}

/// What happened. The numeric codes are stored on disk: never renumber.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    Pageview = 1,
    Click = 2,
    Scroll = 3,
    Leave = 4,
    Custom = 5,
}

impl EventKind {
    pub fn code(self) -> i64 {
        self as i64
    }

    pub fn from_code(code: i64) -> Option<EventKind> {
        Some(match code {
            1 => EventKind::Pageview,
            2 => EventKind::Click,
            3 => EventKind::Scroll,
            4 => EventKind::Leave,
            5 => EventKind::Custom,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Pageview => "pageview",
            EventKind::Click => "click",
            EventKind::Scroll => "scroll",
            EventKind::Leave => "leave",
            EventKind::Custom => "custom",
        }
    }
}

/// One validated event. `path` is the page it happened on (for a page view,
/// the page it opens); `detail` carries the kind-specific fields, already
/// checked and truncated to their limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub kind: EventKind,
    /// Server-side time, after correcting the client's clock skew.
    pub ts: Millis,
    /// The page path (no scheme, host or query), if the event names one.
    /// Events other than page views usually leave it to the session's
    /// current page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(flatten)]
    pub detail: EventDetail,
}

/// The kind-specific fields of an event, as stored and as returned for replay.
/// Every field is optional so that the stored JSON stays small.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EventDetail {
    // Page views.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referrer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// HTTP status of the page, when known (access logs; the tracker's error pages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Viewport and document size in CSS pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vw: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vh: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dw: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dh: Option<u32>,

    // Clicks: document coordinates, target selector and offset within it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sel: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ox: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oy: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub href: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rage: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dead: bool,

    // Scrolls and leaves: current position, deepest point reached (px from
    // the document top to the viewport's bottom edge), engaged time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depth: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_depth: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engaged_ms: Option<u32>,

    // Custom events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub props: Option<serde_json::Map<String, serde_json::Value>>,
}

/// Where a session came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Source {
    Tracker = 1,
    Log = 2,
}

impl Source {
    pub(crate) fn code(self) -> i64 {
        self as i64
    }
    pub(crate) fn from_code(code: i64) -> Source {
        if code == 2 {
            Source::Log
        } else {
            Source::Tracker
        }
    }
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Source::Tracker => "tracker",
            Source::Log => "log",
        }
    }
}

/// The marketing channel a session arrived through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
#[value(rename_all = "snake_case")]
pub enum Channel {
    Direct,
    OrganicSearch,
    Paid,
    Social,
    Email,
    Referral,
}

impl Channel {
    pub const ALL: [Channel; 6] = [
        Channel::Direct,
        Channel::OrganicSearch,
        Channel::Paid,
        Channel::Social,
        Channel::Email,
        Channel::Referral,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Direct => "direct",
            Channel::OrganicSearch => "organic_search",
            Channel::Paid => "paid",
            Channel::Social => "social",
            Channel::Email => "email",
            Channel::Referral => "referral",
        }
    }

    pub fn parse(s: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// Coarse device class, from the user agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
#[value(rename_all = "lowercase")]
pub enum DeviceClass {
    Desktop,
    Mobile,
    Tablet,
    Bot,
    Other,
}

impl DeviceClass {
    pub const ALL: [DeviceClass; 5] = [
        DeviceClass::Desktop,
        DeviceClass::Mobile,
        DeviceClass::Tablet,
        DeviceClass::Bot,
        DeviceClass::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DeviceClass::Desktop => "desktop",
            DeviceClass::Mobile => "mobile",
            DeviceClass::Tablet => "tablet",
            DeviceClass::Bot => "bot",
            DeviceClass::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<DeviceClass> {
        DeviceClass::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// What a report can break its figures down by (`breakdown=`): a
/// session's dimensions as it arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
#[value(rename_all = "snake_case")]
pub enum Dimension {
    Channel,
    Device,
    Country,
    /// The referrer's domain.
    Referrer,
    /// The landing URL's `utm_campaign`.
    UtmCampaign,
    /// The first page of the session, as cleaned.
    EntryPage,
}

impl Dimension {
    pub fn as_str(self) -> &'static str {
        match self {
            Dimension::Channel => "channel",
            Dimension::Device => "device",
            Dimension::Country => "country",
            Dimension::Referrer => "referrer",
            Dimension::UtmCampaign => "utm_campaign",
            Dimension::EntryPage => "entry_page",
        }
    }
}

/// One recorded click, as the store keeps it and heatmaps read it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RecordedClick {
    pub session_id: i64,
    /// Document coordinates of the click.
    pub x: f64,
    pub y: f64,
    /// Viewport width.
    pub vw: u32,
    /// Document (layout) width when clicked; 0 if unknown (then `vw`).
    pub dw: u32,
    /// CSS selector of the clicked element (shared: a page's clicks repeat
    /// a few selectors).
    pub sel: Option<std::sync::Arc<str>>,
    /// Offset of the click within the element's box.
    pub ox: f64,
    pub oy: f64,
    pub rage: bool,
    pub dead: bool,
}

/// Viewport classes: layouts differ between them, so each gets its own map.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum ViewportClass {
    /// Narrower than 768 px.
    Mobile,
    /// 768 to 1023 px.
    Tablet,
    /// 1024 px and wider.
    Desktop,
}

impl ViewportClass {
    /// The class of a viewport `width` px wide.
    pub fn of_width(width: u32) -> ViewportClass {
        match width {
            0..768 => ViewportClass::Mobile,
            768..1024 => ViewportClass::Tablet,
            _ => ViewportClass::Desktop,
        }
    }

    /// `"mobile"`, `"tablet"` or `"desktop"` (any case, trimmed).
    pub fn parse(s: &str) -> Option<ViewportClass> {
        match s.trim().to_ascii_lowercase().as_str() {
            "mobile" => Some(ViewportClass::Mobile),
            "tablet" => Some(ViewportClass::Tablet),
            "desktop" => Some(ViewportClass::Desktop),
            _ => None,
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            ViewportClass::Mobile => "mobile",
            ViewportClass::Tablet => "tablet",
            ViewportClass::Desktop => "desktop",
        }
    }
}

impl std::str::FromStr for ViewportClass {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ViewportClass::parse(s).ok_or_else(|| {
            format!("unknown viewport class {s:?} (expected mobile, tablet or desktop)")
        })
    }
}

/// What the user agent says about the client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ClientInfo {
    pub browser: String,
    pub os: String,
    pub device: DeviceClass,
    pub is_bot: bool,
}

/// Where the client is, as far as the GeoIP database knows. Empty when no
/// database is configured or the address has no record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Geo {
    /// ISO 3166-1 alpha-2, e.g. "SE".
    pub country: Option<String>,
    /// ISO 3166-2 subdivision code without the country, e.g. "WA".
    pub region: Option<String>,
    /// English city name.
    pub city: Option<String>,
}

/// How a session was acquired: referrer, its domain, the channel and the
/// campaign parameters of the landing URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Acquisition {
    pub referrer: Option<String>,
    pub referrer_domain: Option<String>,
    pub channel: Channel,
    pub utm_source: Option<String>,
    pub utm_medium: Option<String>,
    pub utm_campaign: Option<String>,
}

/// A stored session as readers see it: summary fields, with the entry and
/// exit pages resolved to paths. `pages` holds the interned page ids of its
/// page views in visit order (consecutive repeats kept; cleaning is the
/// mining room's job).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Session {
    pub id: i64,
    pub source: Source,
    pub start: Millis,
    pub end: Millis,
    pub entry_page: Option<String>,
    pub exit_page: Option<String>,
    pub page_count: u32,
    pub event_count: u32,
    pub acquisition: Acquisition,
    pub client: ClientInfo,
    pub geo: Geo,
    pub rage_clicks: u32,
    pub dead_clicks: u32,
    pub error_pages: u32,
    /// JavaScript errors the error capture sent (each once per page view).
    pub js_errors: u32,
    pub pages: Vec<u32>,
    /// The shop's custom events, in order.
    pub marks: Vec<Mark>,
}

impl Session {
    pub(crate) fn duration_ms(&self) -> i64 {
        self.end - self.start
    }
}

/// The running totals of a session, which grow as its events arrive. The
/// sessionizer keeps them for open sessions; the store writes them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct SessionTotals {
    pub start: Millis,
    pub end: Millis,
    pub event_count: u32,
    /// Interned page ids of the page views, in order.
    pub pages: Vec<u32>,
    pub rage_clicks: u32,
    pub dead_clicks: u32,
    pub error_pages: u32,
    /// JavaScript errors (`$error` events) recorded.
    pub js_errors: u32,
    /// Where the store keeps the session's events: its chunk ids, in order.
    pub chunk_ids: Vec<i64>,
    /// When each page view of `pages` happened.
    pub page_times: Vec<Millis>,
    /// Frustration signals of each page view of `pages`: rage clicks, dead
    /// clicks, whether it was an error page, had a JavaScript error, and
    /// an error click.
    pub page_signals: Vec<PageSignals>,
    /// The shop's own custom events (`add_to_cart`, `purchase`), in order,
    /// each placed among the page views: what goals, funnels and the
    /// events report read without opening event chunks. trailmap's own
    /// events (`$layout`, `$error`) are not among them.
    pub marks: Vec<Mark>,
}

/// One custom event as its session keeps it, beside the page views.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Mark {
    /// Page views recorded before it: it happened on view `after - 1`
    /// (0: before the first page view).
    pub after: u32,
    pub ts: Millis,
    pub name: String,
    /// Its properties as validated at ingest (scalars only).
    pub props: Option<serde_json::Map<String, serde_json::Value>>,
}

impl Mark {
    /// A shop's event, not one of trailmap's own (named `$...`).
    pub(crate) fn is_shops(name: &str) -> bool {
        !name.starts_with('$')
    }

    /// The numeric `revenue` property, when there is a finite one.
    pub(crate) fn revenue(&self) -> Option<f64> {
        let v = self.props.as_ref()?.get("revenue")?;
        let n = match v {
            serde_json::Value::Number(n) => n.as_f64()?,
            serde_json::Value::String(s) => s.trim().parse().ok()?,
            _ => return None,
        };
        n.is_finite().then_some(n)
    }
}

/// What went wrong on one page view: its frustration signals, as the
/// sessionizer counts them, the store keeps them and mining reads them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub(crate) struct PageSignals {
    pub rage_clicks: u8,
    pub dead_clicks: u8,
    /// The page answered 4xx/5xx (from logs, or the tracker's error pages).
    pub error: bool,
    /// A JavaScript error happened on the view (the error capture's
    /// `$error`).
    pub js_error: bool,
    /// One of those errors came less than 1 s after a click: the click
    /// broke something (an "error click").
    pub error_click: bool,
}

/// The name of the error capture's event (tracker-js/src/errors.js).
pub(crate) const JS_ERROR_EVENT: &str = "$error";

/// The name of the replay recorder's event saying which layout a page view
/// showed (tracker-js/src/replay.js).
pub(crate) const LAYOUT_EVENT: &str = "$layout";

/// The layout a `$layout` event says its view showed: its `hash` property,
/// when that is a layout's hash (SHA-256, lowercase hex).
pub(crate) fn layout_shown(event: &Event) -> Option<&str> {
    if event.kind != EventKind::Custom || event.detail.name.as_deref() != Some(LAYOUT_EVENT) {
        return None;
    }
    let hash = event.detail.props.as_ref()?.get("hash")?.as_str()?;
    is_layout_hash(hash).then_some(hash)
}

/// Whether `hash` can name a layout (SHA-256, lowercase hex).
pub(crate) fn is_layout_hash(hash: &str) -> bool {
    hash.len() == 64 && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// One JavaScript error as the error capture reports it: a `$error` custom
/// event's properties, read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JsError {
    /// `error` (uncaught) or `rejection` (unhandled promise rejection), or
    /// what a shop that reports its own errors names them.
    pub kind: String,
    pub message: String,
    /// The script's URL, without query or fragment (ingest drops them).
    pub source: Option<String>,
    pub line: Option<u32>,
    pub col: Option<u32>,
    /// It came less than 1 s after a click.
    pub click: bool,
}

impl JsError {
    /// The error an event reports, when it is a `$error` with a message.
    pub(crate) fn of(event: &Event) -> Option<JsError> {
        if event.kind != EventKind::Custom || event.detail.name.as_deref() != Some(JS_ERROR_EVENT) {
            return None;
        }
        let props = event.detail.props.as_ref()?;
        let text = |key: &str| props.get(key).and_then(|v| v.as_str()).map(str::to_owned);
        let number = |key: &str| {
            props
                .get(key)
                .and_then(|v| v.as_f64())
                .filter(|n| *n >= 0.0 && *n <= u32::MAX as f64)
                .map(|n| n as u32)
        };
        Some(JsError {
            kind: text("kind").unwrap_or_else(|| "error".into()),
            message: text("message")?,
            source: text("source").filter(|s| !s.is_empty()),
            line: number("line"),
            col: number("col"),
            click: props.get("click").and_then(|v| v.as_bool()) == Some(true),
        })
    }
}

impl SessionTotals {
    pub(crate) fn starting_at(ts: Millis) -> SessionTotals {
        SessionTotals {
            start: ts,
            end: ts,
            ..SessionTotals::default()
        }
    }

    /// The page view an event on `page` belongs to: the latest view of its
    /// page (the tracker may deliver a click or an error just after the
    /// next SPA view), else the latest view.
    pub(crate) fn view_of(&self, page: Option<u32>) -> Option<usize> {
        match page {
            Some(p) => self.pages.iter().rposition(|v| *v == p),
            None => self.pages.len().checked_sub(1),
        }
    }

    /// Counts one event that happened on `page` (already interned).
    pub(crate) fn record(&mut self, event: &Event, page: Option<u32>) {
        self.start = self.start.min(event.ts);
        self.end = self.end.max(event.ts);
        self.event_count += 1;
        match event.kind {
            EventKind::Pageview => {
                let error = event.detail.status.is_some_and(|s| s >= 400);
                if let Some(p) = page {
                    self.pages.push(p);
                    self.page_times.push(event.ts);
                    self.page_signals.push(PageSignals {
                        error,
                        ..PageSignals::default()
                    });
                }
                self.error_pages += u32::from(error);
            }
            EventKind::Click => {
                let (rage, dead) = (event.detail.rage, event.detail.dead);
                self.rage_clicks += u32::from(rage);
                self.dead_clicks += u32::from(dead);
                if let Some(s) = self
                    .view_of(page)
                    .and_then(|i| self.page_signals.get_mut(i))
                {
                    s.rage_clicks = s.rage_clicks.saturating_add(u8::from(rage));
                    s.dead_clicks = s.dead_clicks.saturating_add(u8::from(dead));
                }
            }
            EventKind::Custom if event.detail.name.as_deref() == Some(JS_ERROR_EVENT) => {
                if let Some(error) = JsError::of(event) {
                    self.js_errors += 1;
                    if let Some(s) = self
                        .view_of(page)
                        .and_then(|i| self.page_signals.get_mut(i))
                    {
                        s.js_error = true;
                        s.error_click |= error.click;
                    }
                }
            }
            EventKind::Custom => {
                let name = event.detail.name.as_deref().unwrap_or("");
                if !name.is_empty() && Mark::is_shops(name) {
                    self.marks.push(Mark {
                        after: self.pages.len() as u32,
                        ts: event.ts,
                        name: name.to_owned(),
                        props: event.detail.props.clone(),
                    });
                }
            }
            _ => {}
        }
    }
}

/// Packs page ids for storage: little-endian u32s, 4 bytes a page view.
pub(crate) fn pack_pages(pages: &[u32]) -> Vec<u8> {
    pages.iter().flat_map(|p| p.to_le_bytes()).collect()
}

/// The inverse of [`pack_pages`]; a trailing partial id is ignored.
pub(crate) fn unpack_pages(bytes: &[u8]) -> Vec<u32> {
    bytes
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// Packs row ids: little-endian i64s.
pub(crate) fn pack_ids(ids: &[i64]) -> Vec<u8> {
    ids.iter().flat_map(|p| p.to_le_bytes()).collect()
}

/// The inverse of [`pack_ids`].
pub(crate) fn unpack_ids(bytes: &[u8]) -> Vec<i64> {
    bytes
        .chunks_exact(8)
        .map(|c| i64::from_le_bytes(c.try_into().expect("8 bytes")))
        .collect()
}

/// Packs page-view times as u32 milliseconds after `start` (saturating).
pub(crate) fn pack_times(start: Millis, times: &[Millis]) -> Vec<u8> {
    times
        .iter()
        .flat_map(|t| ((t - start).clamp(0, u32::MAX as Millis) as u32).to_le_bytes())
        .collect()
}

/// The inverse of [`pack_times`].
pub(crate) fn unpack_times(start: Millis, bytes: &[u8]) -> Vec<Millis> {
    bytes
        .chunks_exact(4)
        .map(|c| start + u32::from_le_bytes([c[0], c[1], c[2], c[3]]) as Millis)
        .collect()
}

/// Packs page-view signals, 3 bytes each: rage clicks, dead clicks, and
/// the flags ([`PageSignals::flags`]).
pub(crate) fn pack_signals(signals: &[PageSignals]) -> Vec<u8> {
    signals
        .iter()
        .flat_map(|s| [s.rage_clicks, s.dead_clicks, s.flags()])
        .collect()
}

/// The inverse of [`pack_signals`].
pub(crate) fn unpack_signals(bytes: &[u8]) -> Vec<PageSignals> {
    bytes
        .chunks_exact(3)
        .map(|c| PageSignals::from_bytes([c[0], c[1], c[2]]))
        .collect()
}

impl PageSignals {
    /// The flags as one byte: bit 0 an error page, bit 1 a JavaScript
    /// error, bit 2 an error click. (Bit 0 alone is what stores written
    /// before JavaScript errors hold, so they read back unchanged.)
    pub(crate) fn flags(&self) -> u8 {
        u8::from(self.error) | u8::from(self.js_error) << 1 | u8::from(self.error_click) << 2
    }

    /// Adds the signals of a repeated view of the same page to this one's
    /// (cleaning collapses `A A` into one view of A).
    pub(crate) fn absorb(&mut self, other: PageSignals) {
        self.rage_clicks = self.rage_clicks.saturating_add(other.rage_clicks);
        self.dead_clicks = self.dead_clicks.saturating_add(other.dead_clicks);
        self.error |= other.error;
        self.js_error |= other.js_error;
        self.error_click |= other.error_click;
    }

    /// Signals from their three packed bytes.
    pub(crate) fn from_bytes(b: [u8; 3]) -> PageSignals {
        PageSignals {
            rage_clicks: b[0],
            dead_clicks: b[1],
            error: b[2] & 1 != 0,
            js_error: b[2] & 2 != 0,
            error_click: b[2] & 4 != 0,
        }
    }
}

/// The longest event name the collector keeps (and so a target can name).
const EVENT_NAME_LIMIT: usize = 64;

/// A goal, a funnel step or a search's goal, as written: `event:NAME`,
/// `event:NAME KEY=VALUE`, or a page regex (`page:REGEX` or plain).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TargetSpec {
    /// A regex over cleaned page paths.
    Page(String),
    Event {
        name: String,
        /// A property that must have a value: `(key, value)`.
        property: Option<(String, String)>,
    },
}

impl TargetSpec {
    /// Reads a target; the error says what is wrong in one line.
    pub(crate) fn parse(text: &str) -> std::result::Result<TargetSpec, String> {
        let text = text.trim();
        if let Some(rest) = text.strip_prefix("page:") {
            return Ok(TargetSpec::Page(rest.trim().to_string()));
        }
        let Some(rest) = text.strip_prefix("event:") else {
            return Ok(TargetSpec::Page(text.to_string()));
        };
        let mut words = rest.split_whitespace();
        let name = words.next().unwrap_or("");
        if name.is_empty() {
            return Err("event: needs a name (event:purchase)".into());
        }
        if name.chars().count() > EVENT_NAME_LIMIT {
            return Err(format!(
                "event:{name}: names are at most {EVENT_NAME_LIMIT} characters"
            ));
        }
        let property = match words.next() {
            None => None,
            Some(cond) => {
                let Some((key, value)) = cond.split_once('=') else {
                    return Err(format!(
                        "event:{name} {cond}: a condition is KEY=VALUE (event:signup plan=pro)"
                    ));
                };
                if key.is_empty() {
                    return Err(format!("event:{name} {cond}: the property needs a name"));
                }
                Some((key.to_string(), value.to_string()))
            }
        };
        if let Some(extra) = words.next() {
            return Err(format!(
                "event:{name}: one KEY=VALUE condition at most, {extra:?} is one too many"
            ));
        }
        Ok(TargetSpec::Event {
            name: name.to_string(),
            property,
        })
    }

    /// The page regex, for a page target.
    pub(crate) fn page(&self) -> Option<&str> {
        match self {
            TargetSpec::Page(p) => Some(p),
            TargetSpec::Event { .. } => None,
        }
    }
}

/// A property value as text, the way conditions, search and the events
/// report write it (`"pro"` as pro, `3` as 3, `true` as true).
pub(crate) fn value_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl TargetSpec {
    /// Whether a custom event reaches this (event) target.
    pub(crate) fn matches_mark(&self, m: &Mark) -> bool {
        match self {
            TargetSpec::Page(_) => false,
            TargetSpec::Event { name, property } => {
                m.name == *name
                    && property.as_ref().is_none_or(|(key, value)| {
                        m.props
                            .as_ref()
                            .and_then(|p| p.get(key))
                            .is_some_and(|v| value_text(v) == *value)
                    })
            }
        }
    }
}

/// Packs a session's custom events for storage: a JSON array of
/// `[after, ms after start, name, props]` (props `null` when none), or
/// the empty string for none, which most sessions store.
pub(crate) fn pack_marks(start: Millis, marks: &[Mark]) -> String {
    if marks.is_empty() {
        return String::new();
    }
    let rows: Vec<serde_json::Value> = marks
        .iter()
        .map(|m| {
            let offset = (m.ts - start).clamp(0, u32::MAX as Millis);
            serde_json::json!([m.after, offset, m.name, m.props])
        })
        .collect();
    serde_json::Value::Array(rows).to_string()
}

/// The inverse of [`pack_marks`]. The column is only ever written by
/// [`pack_marks`]; an entry of any other shape is skipped, not guessed at.
pub(crate) fn unpack_marks(start: Millis, text: &str) -> Vec<Mark> {
    if text.is_empty() {
        return Vec::new();
    }
    type Row = (
        u32,
        u32,
        String,
        Option<serde_json::Map<String, serde_json::Value>>,
    );
    let rows: Vec<serde_json::Value> = serde_json::from_str(text).unwrap_or_default();
    rows.into_iter()
        .filter_map(|r| serde_json::from_value::<Row>(r).ok())
        .map(|(after, offset, name, props)| Mark {
            after,
            ts: start + Millis::from(offset),
            name,
            props,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: EventKind, ts: Millis, detail: EventDetail) -> Event {
        Event {
            kind,
            ts,
            path: None,
            detail,
        }
    }

    #[test]
    fn page_views_keep_their_times_and_signals() {
        let mut t = SessionTotals::starting_at(1000);
        let view = |status| EventDetail {
            status,
            ..EventDetail::default()
        };
        let click = |rage, dead| EventDetail {
            rage,
            dead,
            ..EventDetail::default()
        };
        t.record(&event(EventKind::Pageview, 1000, view(None)), Some(7));
        t.record(&event(EventKind::Click, 1500, click(true, false)), Some(7));
        t.record(&event(EventKind::Pageview, 3000, view(Some(404))), Some(8));
        // A click held by the tracker arrives after the next view: it
        // counts on the view of its own page.
        t.record(&event(EventKind::Click, 3100, click(false, true)), Some(7));
        t.record(&event(EventKind::Click, 3200, click(true, false)), None);
        // JavaScript errors: on the view of their page, like clicks; one
        // right after a click is an error click.
        let js_error = |click: bool| EventDetail {
            name: Some(JS_ERROR_EVENT.into()),
            props: serde_json::json!({"message": "x is undefined", "click": click})
                .as_object()
                .cloned(),
            ..EventDetail::default()
        };
        t.record(&event(EventKind::Custom, 3300, js_error(true)), Some(7));
        t.record(&event(EventKind::Custom, 3400, js_error(false)), None);
        assert_eq!(t.pages, [7, 8]);
        assert_eq!(t.page_times, [1000, 3000]);
        assert_eq!(
            t.page_signals,
            [
                PageSignals {
                    rage_clicks: 1,
                    dead_clicks: 1,
                    js_error: true,
                    error_click: true,
                    ..PageSignals::default()
                },
                PageSignals {
                    rage_clicks: 1,
                    error: true,
                    js_error: true,
                    ..PageSignals::default()
                },
            ]
        );
        assert_eq!((t.rage_clicks, t.dead_clicks, t.error_pages), (2, 1, 1));
        assert_eq!(t.js_errors, 2);
        assert!(t.marks.is_empty(), "trailmap's own $error is not a mark");
        assert_eq!(
            unpack_times(1000, &pack_times(1000, &t.page_times)),
            t.page_times
        );
        assert_eq!(
            unpack_signals(&pack_signals(&t.page_signals)),
            t.page_signals
        );
    }

    #[test]
    fn custom_events_are_kept_among_the_page_views_and_come_back_unpacked() {
        let mut t = SessionTotals::starting_at(1000);
        let custom = |name: &str, props: serde_json::Value| EventDetail {
            name: Some(name.into()),
            props: props.as_object().cloned(),
            ..EventDetail::default()
        };
        use serde_json::json;
        t.record(
            &event(EventKind::Custom, 1000, custom("signup", json!(null))),
            None,
        );
        t.record(
            &event(EventKind::Pageview, 1100, EventDetail::default()),
            Some(7),
        );
        t.record(
            &event(
                EventKind::Custom,
                1200,
                custom("$layout", json!({"hash": "x"})),
            ),
            Some(7),
        );
        t.record(
            &event(
                EventKind::Custom,
                1300,
                custom("purchase", json!({"revenue": 89.5, "currency": "EUR"})),
            ),
            Some(7),
        );
        let names: Vec<(&str, u32)> = t.marks.iter().map(|m| (m.name.as_str(), m.after)).collect();
        assert_eq!(
            names,
            [("signup", 0), ("purchase", 1)],
            "trailmap's own events are left out"
        );
        assert_eq!(t.marks[1].revenue(), Some(89.5));
        assert_eq!(t.marks[0].revenue(), None);
        assert_eq!(unpack_marks(1000, &pack_marks(1000, &t.marks)), t.marks);
        assert_eq!(pack_marks(1000, &[]), "");
        assert!(unpack_marks(1000, "").is_empty());
        assert!(unpack_marks(1000, "[[1,\"x\"]]").is_empty());
    }

    #[test]
    fn targets_read_as_pages_or_events_and_bad_ones_say_why() {
        assert_eq!(
            TargetSpec::parse("^/thank-you").unwrap(),
            TargetSpec::Page("^/thank-you".into())
        );
        assert_eq!(
            TargetSpec::parse("page:/cart").unwrap(),
            TargetSpec::Page("/cart".into())
        );
        assert_eq!(
            TargetSpec::parse(" event:purchase ").unwrap(),
            TargetSpec::Event {
                name: "purchase".into(),
                property: None
            }
        );
        assert_eq!(
            TargetSpec::parse("event:signup plan=pro").unwrap(),
            TargetSpec::Event {
                name: "signup".into(),
                property: Some(("plan".into(), "pro".into()))
            }
        );
        for (bad, why) in [
            ("event:", "needs a name"),
            ("event:signup plan", "KEY=VALUE"),
            ("event:signup =pro", "needs a name"),
            ("event:signup a=1 b=2", "one too many"),
        ] {
            let e = TargetSpec::parse(bad).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn viewport_classes_parse_and_print() {
        for c in [
            ViewportClass::Mobile,
            ViewportClass::Tablet,
            ViewportClass::Desktop,
        ] {
            assert_eq!(ViewportClass::parse(c.as_str()), Some(c));
            assert_eq!(c.as_str().parse::<ViewportClass>(), Ok(c));
        }
        assert_eq!(
            ViewportClass::parse(" Desktop "),
            Some(ViewportClass::Desktop)
        );
        assert!("phone".parse::<ViewportClass>().is_err());
    }
}
