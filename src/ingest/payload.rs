//! The tracker's wire format and its validation.
//!
//! A batch is `{"site", "sid", "now"?, "events": [...]}`. Everything in it
//! comes from a visitor's browser, so every field has a documented limit:
//! free text is truncated and pixel values are clamped to their limits (a
//! long title or an odd coordinate is not worth losing a batch over), while
//! wrong types, timestamps that cannot be placed, unknown event types and
//! missing required fields reject the whole batch with a reason that names
//! the event and the field. Rejecting whole batches keeps the rule simple for the
//! client: a 202 means every event was stored, a 400 means none was.
//!
//! Clock skew: `ts` is the client's clock. When the batch carries the
//! client's `now`, each event is placed at the server's time minus its age
//! (`now - ts`), so a visitor whose clock is hours off still gets correct
//! times. Without `now`, `ts` is trusted within a window.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::event::{Event, EventDetail, EventKind, Millis};
use crate::ingest::privacy::mask_path_emails;

/// Per-field limits, in characters for strings. The README lists them.
pub mod limits {
    pub const SITE: usize = 64;
    pub const SID: usize = 64;
    pub const URL: usize = 2048;
    pub const PATH: usize = 512;
    pub const TITLE: usize = 200;
    pub const SELECTOR: usize = 512;
    pub const TEXT: usize = 100;
    pub const EVENT_NAME: usize = 64;
    pub const PROPS: usize = 20;
    pub const PROP_KEY: usize = 64;
    pub const PROP_VALUE: usize = 256;
    /// Longest JavaScript error message kept (a `$error`'s `message`).
    pub const ERROR_MESSAGE: usize = 300;
    /// Largest pixel size or coordinate accepted.
    pub const PIXELS: f64 = 1_000_000.0;
    /// Longest engaged time on one page: a day.
    pub const ENGAGED_MS: f64 = 86_400_000.0;
    /// Oldest event accepted, relative to the batch's send time.
    pub const MAX_AGE_MS: i64 = 24 * 3600 * 1000;
    /// How far in the future an event may claim to be when the batch has no `now`.
    pub const MAX_FUTURE_MS: i64 = 5 * 60 * 1000;
}

/// A validated batch, ready for enrichment.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    pub site: String,
    pub sid: String,
    /// Events in time order.
    pub events: Vec<Event>,
}

/// Why a batch was rejected: a short label for metrics and a one-line message
/// for the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayloadError {
    pub reason: &'static str,
    pub message: String,
    /// How many events the refused batch held, when the body parsed.
    pub events: Option<usize>,
}

impl PayloadError {
    fn new(reason: &'static str, message: impl Into<String>) -> PayloadError {
        PayloadError {
            reason,
            message: message.into(),
            events: None,
        }
    }
}

impl std::fmt::Display for PayloadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

#[derive(Deserialize)]
struct RawBatch<'a> {
    site: String,
    sid: String,
    #[serde(default)]
    now: Option<f64>,
    #[serde(borrow)]
    events: Vec<RawEvent<'a>>,
}

/// One event as sent. Unknown fields are ignored so that a newer tracker can
/// talk to an older server.
///
/// The type and the URL, which every event has, are borrowed from the body
/// when they hold no escapes (nearly always): no allocation for them.
#[derive(Deserialize)]
struct RawEvent<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    ts: f64,
    #[serde(borrow)]
    url: Option<Cow<'a, str>>,
    referrer: Option<String>,
    title: Option<String>,
    status: Option<f64>,
    vw: Option<f64>,
    vh: Option<f64>,
    dw: Option<f64>,
    dh: Option<f64>,
    x: Option<f64>,
    y: Option<f64>,
    sel: Option<String>,
    ox: Option<f64>,
    oy: Option<f64>,
    href: Option<String>,
    text: Option<String>,
    #[serde(default)]
    rage: bool,
    #[serde(default)]
    dead: bool,
    depth: Option<f64>,
    max_depth: Option<f64>,
    engaged_ms: Option<f64>,
    name: Option<String>,
    props: Option<Map<String, Value>>,
}

/// Parses and validates a request body. `server_now` is the receive time.
pub fn parse_batch(
    body: &[u8],
    max_events: usize,
    server_now: Millis,
) -> Result<Batch, PayloadError> {
    let Ok(text) = std::str::from_utf8(body) else {
        return Err(PayloadError::new("invalid_utf8", "body is not valid UTF-8"));
    };
    // From the checked text: the parser need not check each string again.
    let raw: RawBatch = serde_json::from_str(text)
        .map_err(|e| PayloadError::new("malformed_json", format!("malformed batch: {e}")))?;
    let count = raw.events.len();
    validate(raw, max_events, server_now).map_err(|e| PayloadError {
        events: Some(count),
        ..e
    })
}

fn validate(
    raw: RawBatch<'_>,
    max_events: usize,
    server_now: Millis,
) -> Result<Batch, PayloadError> {
    if raw.site.is_empty() || raw.site.chars().count() > limits::SITE {
        return Err(PayloadError::new(
            "invalid_site",
            format!("site: must be 1 to {} characters", limits::SITE),
        ));
    }
    let sid_ok = !raw.sid.is_empty()
        && raw.sid.len() <= limits::SID
        && raw
            .sid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !sid_ok {
        return Err(PayloadError::new(
            "invalid_sid",
            format!(
                "sid: must be 1 to {} characters of A-Z a-z 0-9 - _",
                limits::SID
            ),
        ));
    }
    if raw.events.is_empty() {
        return Err(PayloadError::new(
            "no_events",
            "events: the batch has no events",
        ));
    }
    if raw.events.len() > max_events {
        return Err(PayloadError::new(
            "too_many_events",
            format!(
                "events: {} events in one batch, the limit is {max_events}",
                raw.events.len()
            ),
        ));
    }
    let clock = Clock::new(raw.now, server_now)?;
    let mut events = Vec::with_capacity(raw.events.len());
    let mut last_page = LastPage::default();
    for (i, ev) in raw.events.into_iter().enumerate() {
        events.push(validate_event(ev, &clock, &mut last_page).map_err(|e| e.at(i))?);
    }
    // Stable: events with the same time keep the order the tracker sent.
    events.sort_by_key(|e| e.ts);
    Ok(Batch {
        site: raw.site,
        sid: raw.sid,
        events,
    })
}

/// Maps client timestamps to server time.
struct Clock {
    client_now: Option<f64>,
    server_now: Millis,
}

impl Clock {
    fn new(client_now: Option<f64>, server_now: Millis) -> Result<Clock, PayloadError> {
        if let Some(n) = client_now {
            if !n.is_finite() || n < 0.0 {
                return Err(PayloadError::new(
                    "invalid_number",
                    "now: must be a finite, non-negative number of milliseconds",
                ));
            }
        }
        Ok(Clock {
            client_now,
            server_now,
        })
    }

    fn place(&self, ts: f64) -> Result<Millis, FieldError> {
        if !ts.is_finite() || ts < 0.0 {
            return Err(FieldError::number("ts", "a finite, non-negative number"));
        }
        let ts = ts as i64;
        match self.client_now {
            Some(now) => {
                // Events stamped slightly after `now` (clock jitter) count as age 0.
                let age = (now as i64 - ts).max(0);
                if age > limits::MAX_AGE_MS {
                    return Err(FieldError::range("ts", "older than 24 hours"));
                }
                Ok(self.server_now - age)
            }
            None => {
                if ts < self.server_now - limits::MAX_AGE_MS
                    || ts > self.server_now + limits::MAX_FUTURE_MS
                {
                    return Err(FieldError::range(
                        "ts",
                        "more than 24 hours from the server's clock (send \"now\" to correct skew)",
                    ));
                }
                Ok(ts.min(self.server_now))
            }
        }
    }
}

/// A problem with one field of one event, before the event index is known.
struct FieldError {
    reason: &'static str,
    field: String,
    problem: String,
}

impl FieldError {
    fn number(field: &str, expected: &str) -> FieldError {
        FieldError {
            reason: "invalid_number",
            field: field.to_string(),
            problem: format!("must be {expected}"),
        }
    }
    fn range(field: &str, problem: &str) -> FieldError {
        FieldError {
            reason: "out_of_range",
            field: field.to_string(),
            problem: problem.to_string(),
        }
    }
    fn missing(field: &str) -> FieldError {
        FieldError {
            reason: "missing_field",
            field: field.to_string(),
            problem: "is required for this event type".to_string(),
        }
    }
    fn invalid(field: &str, problem: impl Into<String>) -> FieldError {
        FieldError {
            reason: "invalid_field",
            field: field.to_string(),
            problem: problem.into(),
        }
    }
    fn at(self, index: usize) -> PayloadError {
        PayloadError::new(
            self.reason,
            format!("events[{index}].{}: {}", self.field, self.problem),
        )
    }
}

/// The last URL of a batch and what it was cut and parsed to: the events
/// of one batch mostly come from one page (the tracker sends a page's
/// events together), so each URL is parsed once, not once per event.
#[derive(Default)]
struct LastPage {
    raw: String,
    url: String,
    path: String,
}

impl LastPage {
    /// `raw` cut to the URL limit, and its page path (`None`: not an
    /// absolute http(s) URL).
    fn of(&mut self, raw: &str) -> Option<(String, String)> {
        if raw != self.raw {
            let url = truncate(raw, limits::URL);
            let path = page_path(&url)?;
            *self = LastPage {
                raw: raw.to_string(),
                url,
                path,
            };
        }
        Some((self.url.clone(), self.path.clone()))
    }
}

fn validate_event(
    raw: RawEvent<'_>,
    clock: &Clock,
    last_page: &mut LastPage,
) -> Result<Event, FieldError> {
    let kind = match &*raw.kind {
        "pageview" => EventKind::Pageview,
        "click" => EventKind::Click,
        "scroll" => EventKind::Scroll,
        "leave" => EventKind::Leave,
        "custom" => EventKind::Custom,
        other => {
            return Err(FieldError::invalid(
                "type",
                format!(
                    "unknown event type \"{}\" (expected pageview, click, scroll, leave or custom)",
                    truncate(other, 32)
                ),
            ))
        }
    };
    let ts = clock.place(raw.ts)?;

    let (url, path) = match raw.url {
        Some(u) if !u.is_empty() => {
            let (u, path) = last_page
                .of(&u)
                .ok_or_else(|| FieldError::invalid("url", "must be an absolute http(s) URL"))?;
            (Some(u), Some(path))
        }
        _ if kind == EventKind::Pageview => return Err(FieldError::missing("url")),
        _ => (None, None),
    };

    let name = match (kind, raw.name) {
        (EventKind::Custom, Some(n)) if !n.trim().is_empty() => {
            Some(truncate(n.trim(), limits::EVENT_NAME))
        }
        (EventKind::Custom, _) => return Err(FieldError::missing("name")),
        _ => None,
    };

    let tracker_props = tracker_event(name.as_deref());
    let detail = EventDetail {
        // Only a page view's URL is kept whole; other events keep just the path.
        url: url.filter(|_| kind == EventKind::Pageview),
        referrer: raw
            .referrer
            .filter(|r| !r.is_empty())
            .map(|r| truncate(&r, limits::URL)),
        // Free text is masked (emails, long digit runs) as the recorder
        // masks it; URLs are cleaned where the site is known (collect).
        title: raw.title.map(|t| masked(truncate(&t, limits::TITLE))),
        status: optional_int(raw.status, "status", 100.0, 599.0)?.map(|s| s as u16),
        vw: pixels(raw.vw, "vw")?,
        vh: pixels(raw.vh, "vh")?,
        dw: pixels(raw.dw, "dw")?,
        dh: pixels(raw.dh, "dh")?,
        x: coordinate(raw.x, "x", 0.0)?,
        y: coordinate(raw.y, "y", 0.0)?,
        sel: raw.sel.map(|s| truncate(&s, limits::SELECTOR)),
        ox: coordinate(raw.ox, "ox", -limits::PIXELS)?,
        oy: coordinate(raw.oy, "oy", -limits::PIXELS)?,
        href: raw.href.map(|h| truncate(&h, limits::URL)),
        text: raw.text.map(|t| masked(truncate(t.trim(), limits::TEXT))),
        rage: raw.rage,
        dead: raw.dead,
        depth: pixels(raw.depth, "depth")?,
        max_depth: pixels(raw.max_depth, "max_depth")?,
        engaged_ms: finite(raw.engaged_ms, "engaged_ms")?
            .map(|v| v.clamp(0.0, limits::ENGAGED_MS).round() as u32),
        name,
        props: raw
            .props
            .map(|p| validate_props(p, tracker_props))
            .transpose()?,
    };
    let detail = if detail.name.as_deref() == Some(crate::event::JS_ERROR_EVENT) {
        js_error_detail(detail)?
    } else {
        detail
    };
    Ok(Event {
        kind,
        ts,
        path,
        detail,
    })
}

/// The page a URL names: its path, without scheme, host, query or fragment.
/// Returns `None` for anything that is not an absolute http(s) URL.
pub fn page_path(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return None;
    }
    Some(truncate(&mask_path_emails(parsed.path()), limits::PATH))
}

/// `path` with the parameters of `query` that a site keeps (`keep`, by
/// name), in the order the query has them: `/search` + `q=shoes&utm=x`
/// keeping `q` gives `/search?q=shoes`. Without a kept parameter, the bare
/// path. Keeping nothing else is the privacy default: query strings carry
/// emails, tokens and click ids that analytics has no business storing.
pub fn path_keeping_query(path: &str, query: Option<&str>, keep: &[String]) -> String {
    let kept: Vec<(std::borrow::Cow<str>, std::borrow::Cow<str>)> = match query {
        Some(q) if !keep.is_empty() => url::form_urlencoded::parse(q.as_bytes())
            .filter(|(k, _)| keep.iter().any(|n| n == k))
            .collect(),
        _ => Vec::new(),
    };
    if kept.is_empty() {
        return path.to_string();
    }
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(kept)
        .finish();
    truncate(&format!("{path}?{query}"), limits::PATH)
}

/// A page URL as stored: only the query parameters the site keeps, the
/// utm_* tags and paid click ids (their values redacted: only their
/// presence matters, to tell paid traffic), and no fragment (OAuth and
/// magic links put tokens there). Visitors' emails, search terms and
/// session tokens in URLs never reach the disk unless a site keeps them.
/// Nor do user names in the authority, and emails in the path are masked.
pub fn stored_url(url: &str, keep: &[String]) -> String {
    if !url.contains(['?', '#', '@']) && !url.contains("%40") {
        return url.to_string();
    }
    let Ok(mut parsed) = url::Url::parse(url) else {
        let end = url.find(['?', '#']).unwrap_or(url.len());
        return mask_path_emails(&url[..end]).into_owned();
    };
    let _ = parsed.set_username("");
    let _ = parsed.set_password(None);
    if let Cow::Owned(path) = mask_path_emails(parsed.path()) {
        parsed.set_path(&path);
    }
    let kept: Vec<(String, String)> = parsed
        .query_pairs()
        .filter_map(|(k, v)| {
            let click_id = crate::ingest::enrich::PAID_CLICK_IDS
                .iter()
                .any(|id| k.eq_ignore_ascii_case(id));
            if click_id {
                Some((k.into_owned(), "redacted".to_string()))
            } else if keep.iter().any(|n| *n == k) || k.to_ascii_lowercase().starts_with("utm_") {
                Some((k.into_owned(), v.into_owned()))
            } else {
                None
            }
        })
        .collect();
    if kept.is_empty() {
        parsed.set_query(None);
    } else {
        parsed.query_pairs_mut().clear().extend_pairs(kept);
    }
    parsed.set_fragment(None);
    parsed.into()
}

/// The page an absolute URL names, keeping the query parameters `keep`.
pub fn page_path_keeping(url: &str, keep: &[String]) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    let path = page_path(url)?;
    Some(path_keeping_query(&path, parsed.query(), keep))
}

fn optional_int(
    v: Option<f64>,
    field: &str,
    min: f64,
    max: f64,
) -> Result<Option<f64>, FieldError> {
    match v {
        None => Ok(None),
        Some(n) if !n.is_finite() => Err(FieldError::number(field, "a finite number")),
        // Rounded before the range check: 599.4 is the integer 599.
        Some(n) if n.round() < min || n.round() > max => Err(FieldError::range(
            field,
            &format!("must be between {min} and {max}"),
        )),
        Some(n) => Ok(Some(n.round())),
    }
}

/// Sizes and depths in pixels: clamped into 0..=1,000,000. Real pages can
/// exceed the range (a document taller than a million pixels), and losing
/// a batch over one odd number would be worse than a clamped value.
fn pixels(v: Option<f64>, field: &str) -> Result<Option<u32>, FieldError> {
    Ok(finite(v, field)?.map(|n| n.clamp(0.0, limits::PIXELS).round() as u32))
}

/// Coordinates: clamped into `min..=1,000,000` (a right-to-left page
/// scrolled sideways reports negative pageX), to a tenth of a pixel.
fn coordinate(v: Option<f64>, field: &str, min: f64) -> Result<Option<f64>, FieldError> {
    Ok(finite(v, field)?.map(|n| (n.clamp(min, limits::PIXELS) * 10.0).round() / 10.0))
}

fn finite(v: Option<f64>, field: &str) -> Result<Option<f64>, FieldError> {
    match v {
        Some(n) if !n.is_finite() => Err(FieldError::number(field, "a finite number")),
        other => Ok(other),
    }
}

/// The tracker's own events whose machine properties stay as sent (see
/// [`machine_prop`]): the replay recorder's `$layout` and the error
/// capture's `$error`. Only those exact names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TrackerEvent {
    Layout,
    Error,
}

fn tracker_event(name: Option<&str>) -> Option<TrackerEvent> {
    match name? {
        "$layout" => Some(TrackerEvent::Layout),
        crate::event::JS_ERROR_EVENT => Some(TrackerEvent::Error),
        _ => None,
    }
}

/// A `$error` event (tracker-js/src/errors.js, or a shop's own report of a
/// caught error) as it may be stored: a message is required; the script's
/// URL keeps scheme, host and path only (a query string can carry tokens);
/// line and column are whole numbers. The message was masked with the
/// other string properties.
fn js_error_detail(mut detail: EventDetail) -> Result<EventDetail, FieldError> {
    let props = detail.props.get_or_insert_with(Map::new);
    let message = match props.get("message") {
        Some(Value::String(m)) if !m.trim().is_empty() => truncate(m.trim(), limits::ERROR_MESSAGE),
        _ => {
            return Err(FieldError::invalid(
                "props.message",
                "a $error needs its message as a non-empty string",
            ))
        }
    };
    props.insert("message".into(), Value::String(message));
    match props.remove("source") {
        Some(Value::String(url)) => {
            if let Some(url) = script_url(&url) {
                props.insert("source".into(), Value::String(url));
            }
        }
        None | Some(Value::Null) => {}
        Some(_) => return Err(FieldError::invalid("props.source", "must be a URL string")),
    }
    for key in ["line", "col"] {
        let field = format!("props.{key}");
        let n = match props.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => optional_int(n.as_f64(), &field, 0.0, 1e9)?,
            Some(_) => return Err(FieldError::number(&field, "a whole number")),
        };
        match n {
            Some(n) => props.insert(key.into(), Value::from(n as u64)),
            None => props.remove(key),
        };
    }
    if !matches!(props.get("click"), None | Some(Value::Bool(_))) {
        return Err(FieldError::invalid("props.click", "must be true or false"));
    }
    Ok(detail)
}

/// A script's URL as it may be stored: `scheme://host/path` of an absolute
/// URL, emails in the path masked; `None` for anything else (an empty
/// source, `about:blank`).
fn script_url(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url.trim()).ok()?;
    let host = parsed.host_str()?;
    let port = parsed.port().map(|p| format!(":{p}")).unwrap_or_default();
    let path = mask_path_emails(parsed.path());
    Some(truncate(
        &format!("{}://{host}{port}{path}", parsed.scheme()),
        limits::URL,
    ))
}

/// The properties of a tracker event kept as sent: a layout's content hash
/// and the page path it was taken on; an error's kind and script URL (which
/// [`js_error_detail`] then cuts to scheme, host and path). Anything else,
/// even on those events (an error's message), is visitor text and masked.
fn machine_prop(event: TrackerEvent, key: &str) -> bool {
    match event {
        TrackerEvent::Layout => matches!(key, "hash" | "path"),
        TrackerEvent::Error => matches!(key, "kind" | "source"),
    }
}

fn validate_props(
    props: Map<String, Value>,
    tracker_event: Option<TrackerEvent>,
) -> Result<Map<String, Value>, FieldError> {
    if props.len() > limits::PROPS {
        return Err(FieldError::invalid(
            "props",
            format!("{} properties, the limit is {}", props.len(), limits::PROPS),
        ));
    }
    let mut out = Map::with_capacity(props.len());
    for (key, value) in props {
        let key = truncate(&key, limits::PROP_KEY);
        let value = match value {
            Value::String(s) if tracker_event.is_some_and(|t| machine_prop(t, &key)) => {
                Value::String(truncate(&s, limits::PROP_VALUE))
            }
            Value::String(s) => Value::String(masked(truncate(&s, limits::PROP_VALUE))),
            Value::Number(n) if n.as_f64().is_some_and(f64::is_finite) => Value::Number(n),
            v @ (Value::Bool(_) | Value::Null) => v,
            _ => {
                return Err(FieldError::invalid(
                    &format!("props.{key}"),
                    "must be a string, a finite number, a boolean or null",
                ))
            }
        };
        out.insert(key, value);
    }
    Ok(out)
}

/// `text` with emails and long digit runs masked; unchanged text keeps its
/// allocation (most text has nothing to mask).
fn masked(text: String) -> String {
    match crate::ingest::privacy::mask_text(&text) {
        std::borrow::Cow::Borrowed(_) => text,
        std::borrow::Cow::Owned(m) => m,
    }
}

/// Cuts `s` to at most `max` characters, on a character boundary.
pub fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((end, _)) => s[..end].to_string(),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Millis = 1_800_000_000_000;

    fn parse(body: &str) -> Result<Batch, PayloadError> {
        parse_batch(body.as_bytes(), 200, NOW)
    }

    fn batch_with(event: &str) -> String {
        format!(r#"{{"site":"shop","sid":"abc_1","events":[{event}]}}"#)
    }

    #[test]
    fn full_batch_parses_and_sorts_by_time() {
        let body = format!(
            r#"{{"site":"shop","sid":"s1","now":{n},"events":[
              {{"type":"click","ts":{t2},"url":"https://shop.example/p/1","x":10.04,"y":20,"sel":"main>a","ox":1,"oy":2,"rage":true,"href":"/cart","text":"  Buy  "}},
              {{"type":"pageview","ts":{t1},"url":"https://shop.example/p/1?utm_source=x#top","referrer":"https://www.google.com/","title":"P1","vw":390,"vh":800,"dw":390,"dh":3000}},
              {{"type":"custom","ts":{t2},"name":"signup","props":{{"plan":"pro","n":3}}}}
            ]}}"#,
            n = NOW - 3_600_000,
            t1 = NOW - 3_600_000 - 2000,
            t2 = NOW - 3_600_000 - 1000,
        );
        let b = parse(&body).unwrap();
        assert_eq!(b.site, "shop");
        assert_eq!(b.events.len(), 3);
        let pv = &b.events[0];
        assert_eq!(pv.kind, EventKind::Pageview);
        // The client's clock is an hour behind: times are mapped by age.
        assert_eq!(pv.ts, NOW - 2000);
        assert_eq!(pv.path.as_deref(), Some("/p/1"));
        assert_eq!(
            pv.detail.url.as_deref(),
            Some("https://shop.example/p/1?utm_source=x#top")
        );
        let click = &b.events[1];
        assert_eq!(click.kind, EventKind::Click);
        assert_eq!(click.detail.x, Some(10.0));
        assert!(click.detail.rage);
        assert_eq!(click.detail.text.as_deref(), Some("Buy"));
        assert_eq!(click.detail.url, None, "only page views keep the full URL");
        assert_eq!(b.events[2].detail.name.as_deref(), Some("signup"));
    }

    #[test]
    fn bad_bodies_get_one_line_reasons() {
        let e = parse_batch(b"{\"site\":\"\xff\"}", 200, NOW).unwrap_err();
        assert_eq!(e.reason, "invalid_utf8");
        let e = parse("{not json").unwrap_err();
        assert_eq!(e.reason, "malformed_json");
        assert!(!e.message.contains('\n'));
        let e = parse(r#"{"site":"shop","sid":"has space","events":[]}"#).unwrap_err();
        assert_eq!(e.reason, "invalid_sid");
        let e = parse(r#"{"site":"shop","sid":"a","events":[]}"#).unwrap_err();
        assert_eq!(e.reason, "no_events");
    }

    #[test]
    fn too_many_events_is_rejected() {
        let ev = format!(r#"{{"type":"scroll","ts":{NOW},"depth":5}}"#);
        let body = format!(
            r#"{{"site":"s","sid":"a","events":[{}]}}"#,
            vec![ev; 3].join(",")
        );
        let e = parse_batch(body.as_bytes(), 2, NOW).unwrap_err();
        assert_eq!(e.reason, "too_many_events");
        assert!(e.message.contains("3 events"));
    }

    #[test]
    fn field_errors_name_the_event_and_field() {
        let e = parse(&batch_with(&format!(r#"{{"type":"hover","ts":{NOW}}}"#))).unwrap_err();
        assert_eq!(e.message.split(':').next(), Some("events[0].type"));
        let e = parse(&batch_with(&format!(
            r#"{{"type":"pageview","ts":{NOW},"url":"https://a.example/","status":42}}"#
        )))
        .unwrap_err();
        assert_eq!(e.reason, "out_of_range");
        assert!(e.message.starts_with("events[0].status"));
        // Rounded first, then checked.
        for (sent, stored) in [(599.4, 599), (99.5, 100), (200.2, 200)] {
            let b = parse(&batch_with(&format!(
                r#"{{"type":"pageview","ts":{NOW},"url":"https://a.example/","status":{sent}}}"#
            )))
            .unwrap();
            assert_eq!(b.events[0].detail.status, Some(stored), "{sent}");
        }
        let e = parse(&batch_with(&format!(
            r#"{{"type":"pageview","ts":{NOW},"url":"https://a.example/","status":599.5}}"#
        )))
        .unwrap_err();
        assert_eq!(e.reason, "out_of_range");
        let e = parse(&batch_with(&format!(r#"{{"type":"pageview","ts":{NOW}}}"#))).unwrap_err();
        assert_eq!(e.reason, "missing_field");
        let e = parse(&batch_with(&format!(
            r#"{{"type":"pageview","ts":{NOW},"url":"javascript:alert(1)"}}"#
        )))
        .unwrap_err();
        assert!(e.message.starts_with("events[0].url"));
        let e = parse(&batch_with(&format!(r#"{{"type":"custom","ts":{NOW}}}"#))).unwrap_err();
        assert_eq!(e.reason, "missing_field");
        let e = parse(&batch_with(&format!(
            r#"{{"type":"custom","ts":{NOW},"name":"x","props":{{"a":{{"b":1}}}}}}"#
        )))
        .unwrap_err();
        assert!(e.message.starts_with("events[0].props.a"));
        let e = parse(&batch_with(&format!(
            r#"{{"type":"click","ts":{NOW},"x":"abc"}}"#
        )))
        .unwrap_err();
        assert_eq!(e.reason, "malformed_json");
    }

    #[test]
    fn visitor_text_is_masked_but_the_trackers_own_props_are_not() {
        let hash = "b9bf0123456789ec0123456789b6ef641cf54e48410e7e6ac5cc35f5b483d1234";
        let b = parse(&batch_with(&format!(
            r#"{{"type":"pageview","ts":{NOW},"url":"https://a.example/u/jo@x.example","title":"Call 0612345678"}},
               {{"type":"click","ts":{NOW},"text":"jo@x.example"}},
               {{"type":"custom","ts":{NOW},"name":"signup","props":{{"order":"ORD-1234567","n":1234567}}}},
               {{"type":"custom","ts":{NOW},"name":"$layout","props":{{"hash":"{hash}","note":"jo@x.example"}}}},
               {{"type":"custom","ts":{NOW},"name":"$signup","props":{{"email":"jo@x.example"}}}}"#
        )))
        .unwrap();
        let e = |i: usize| &b.events[i];
        assert_eq!(e(0).detail.title.as_deref(), Some("Call **********"));
        assert_eq!(e(0).path.as_deref(), Some("/u/************"));
        assert_eq!(e(1).detail.text.as_deref(), Some("************"));
        let props = e(2).detail.props.as_ref().unwrap();
        assert_eq!(props["order"], "ORD-*******");
        assert_eq!(props["n"], 1234567, "numbers are not text");
        assert_eq!(e(3).detail.props.as_ref().unwrap()["hash"], hash);
        // Only the recorder's machine fields are exempt, and only on `$layout`.
        assert_eq!(e(3).detail.props.as_ref().unwrap()["note"], "************");
        assert_eq!(e(4).detail.props.as_ref().unwrap()["email"], "************");
    }

    #[test]
    fn javascript_errors_keep_their_script_without_its_query_and_mask_their_message() {
        let b = parse(&batch_with(&format!(
            r#"{{"type":"custom","ts":{NOW},"url":"https://a.example/p","name":"$error",
                "props":{{"kind":"error","message":"  bad card 4111111111111111 for jo@x.example ",
                "source":"https://cdn.example/app.20261207.js?token=s3cret#x","line":42.2,"col":7,
                "click":true}}}}"#
        )))
        .unwrap();
        let e = crate::event::JsError::of(&b.events[0]).expect("an error");
        assert_eq!(e.message, "bad card **************** for ************");
        assert_eq!(
            e.source.as_deref(),
            Some("https://cdn.example/app.20261207.js")
        );
        assert_eq!((e.line, e.col, e.click), (Some(42), Some(7), true));
        assert_eq!(e.kind, "error");
        for (props, field) in [
            (r#"{"kind":"error"}"#, "props.message"),
            (r#"{"message":" "}"#, "props.message"),
            (r#"{"message":"x","line":"42"}"#, "props.line"),
            (r#"{"message":"x","line":-1}"#, "props.line"),
            (r#"{"message":"x","source":7}"#, "props.source"),
            (r#"{"message":"x","click":"yes"}"#, "props.click"),
        ] {
            let err = parse(&batch_with(&format!(
                r#"{{"type":"custom","ts":{NOW},"url":"https://a.example/","name":"$error","props":{props}}}"#
            )))
            .unwrap_err();
            assert!(
                err.message.starts_with(&format!("events[0].{field}")),
                "{props}: {}",
                err.message
            );
        }
        // A source that is no URL is left out, the error kept.
        let b = parse(&batch_with(&format!(
            r#"{{"type":"custom","ts":{NOW},"url":"https://a.example/","name":"$error","props":{{"message":"Script error.","source":""}}}}"#
        )))
        .unwrap();
        let e = crate::event::JsError::of(&b.events[0]).expect("an error");
        assert_eq!((e.source, e.line), (None, None));
    }

    #[test]
    fn pixel_values_out_of_range_are_clamped() {
        let b = parse(&batch_with(&format!(
            r#"{{"type":"click","ts":{NOW},"x":-5,"y":1e300,"dw":2e6,"ox":-3e6,"oy":-2.25}},
               {{"type":"leave","ts":{NOW},"engaged_ms":1e12,"max_depth":-1}}"#
        )))
        .unwrap();
        let (c, l) = (&b.events[0].detail, &b.events[1].detail);
        assert_eq!(
            (c.x, c.y, c.dw),
            (Some(0.0), Some(limits::PIXELS), Some(1_000_000))
        );
        assert_eq!((c.ox, c.oy), (Some(-limits::PIXELS), Some(-2.3)));
        assert_eq!((l.engaged_ms, l.max_depth), (Some(86_400_000), Some(0)));
    }

    #[test]
    fn timestamps_are_bounded_without_now() {
        let old = NOW - limits::MAX_AGE_MS - 1;
        let e = parse(&batch_with(&format!(r#"{{"type":"scroll","ts":{old}}}"#))).unwrap_err();
        assert_eq!(e.reason, "out_of_range");
        let soon = NOW + 1000;
        let b = parse(&batch_with(&format!(r#"{{"type":"scroll","ts":{soon}}}"#))).unwrap();
        assert_eq!(b.events[0].ts, NOW, "small future skew is clamped to now");
    }

    #[test]
    fn long_strings_are_truncated_on_char_boundaries() {
        let title = "é".repeat(500);
        let b = parse(&batch_with(&format!(
            r#"{{"type":"pageview","ts":{NOW},"url":"https://a.example/","title":"{title}"}}"#
        )))
        .unwrap();
        assert_eq!(
            b.events[0].detail.title.as_ref().unwrap().chars().count(),
            limits::TITLE
        );
        assert_eq!(truncate("abc", 2), "ab");
        assert_eq!(truncate("ab", 5), "ab");
    }

    #[test]
    fn stored_urls_keep_only_what_analytics_needs() {
        let keep = vec!["q".to_string()];
        assert_eq!(
            stored_url(
                "https://s.test/search?q=red+shoes&email=a%40b.c&utm_source=news&gclid=abc#token=x",
                &keep
            ),
            "https://s.test/search?q=red+shoes&utm_source=news&gclid=redacted"
        );
        assert_eq!(
            stored_url("https://s.test/a?sid=1", &[]),
            "https://s.test/a"
        );
        assert_eq!(stored_url("https://s.test/a", &[]), "https://s.test/a");
        assert_eq!(stored_url("not a url?x=1", &[]), "not a url");
    }

    #[test]
    fn paths_keep_the_kept_parameters_in_order() {
        let keep = vec!["q".to_string(), "page".to_string()];
        assert_eq!(
            page_path_keeping("https://s.test/search?page=2&x=1&q=a%20b", &keep).unwrap(),
            "/search?page=2&q=a+b"
        );
        assert_eq!(
            page_path_keeping("https://s.test/search?x=1", &keep).unwrap(),
            "/search"
        );
        assert_eq!(path_keeping_query("/s", Some("q=1"), &[]), "/s");
    }
}
