//! What can be asked, typed, with every bound and default defined once.
//!
//! Both doors build these requests: the HTTP API decodes them from query
//! parameters with [`Params`] (one decoder for every endpoint), the CLI
//! from its flags (whose defaults come from the same [`Bound`]s). Neither
//! checks a range itself: the service calls [`ReportRequest::check`] (and
//! its kin) before it runs anything, so a request means the same thing,
//! and fails with the same message, whichever door it came through.

use std::fmt::Display;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};

use super::error::{Result, ServiceError};
use crate::event::{Channel, DeviceClass, Millis};
use crate::search::{SearchFilters, Sort};
use crate::store::read::JourneyFilter;

/// A numeric parameter: its name (as the API spells it), default and
/// allowed range.
#[derive(Debug, Clone, Copy)]
pub struct Bound<T> {
    pub name: &'static str,
    pub default: T,
    pub min: T,
    pub max: T,
}

impl<T: PartialOrd + Copy + Display> Bound<T> {
    /// `value`, or why it is out of range.
    pub fn check(&self, value: T) -> Result<T> {
        if value < self.min || value > self.max {
            return Err(ServiceError::invalid(format!(
                "{}: {value} is out of range ({} to {})",
                self.name, self.min, self.max
            )));
        }
        Ok(value)
    }
}

/// Every bounded parameter of every report, chart and list.
pub(crate) mod bounds {
    use super::Bound;

    const fn b<T>(name: &'static str, default: T, min: T, max: T) -> Bound<T> {
        Bound {
            name,
            default,
            min,
            max,
        }
    }

    /// Pages in a path, columns of a journey graph.
    pub(crate) const STEPS: Bound<usize> = b("steps", 5, 1, 20);
    /// Rows of a ranked list (paths, transitions, moments, overview lists).
    pub(crate) const TOP: Bound<usize> = b("top", 10, 1, 1000);
    /// Patterns listed (unless `all`).
    pub(crate) const PATTERN_TOP: Bound<usize> = b("top", 20, 1, 1000);
    pub(crate) const PATTERN_MIN_LEN: Bound<usize> = b("min_len", 2, 1, 20);
    pub(crate) const PATTERN_MAX_LEN: Bound<usize> = b("max_len", 10, 1, 20);
    pub(crate) const PATTERN_MIN_SUPPORT: Bound<u32> = b("min_support", 1, 1, u32::MAX);
    /// The most frustrated sessions listed.
    pub(crate) const WORST: Bound<usize> = b("worst", 20, 0, 1000);
    /// A funnel's window: a month at most.
    pub(crate) const WINDOW_MINUTES: Bound<i64> = b("window_minutes", 60, 1, 60 * 24 * 31);
    /// Nodes per column of a journey graph.
    pub(crate) const NODES: Bound<usize> = b("nodes", 8, 1, 100);
    /// The lightest link a journey graph shows.
    pub(crate) const MIN_LINK: Bound<u32> = b("min_link", 1, 1, u32::MAX);
    /// Chart size in pixels.
    pub(crate) const WIDTH: Bound<u32> = b("width", 1200, 200, 4000);
    pub(crate) const HEIGHT: Bound<u32> = b("height", 640, 150, 4000);
    /// The layout width a heatmap is drawn onto; 0: the viewport class's
    /// most common one.
    pub(crate) const LAYOUT_WIDTH: Bound<u32> = b("layout_width", 0, 0, 10_000);
    /// Rows of each `contrast` list.
    pub(crate) const CONTRAST_TOP: Bound<usize> = b("top", 10, 1, 100);
    /// The longest pattern `contrast` grows.
    pub(crate) const CONTRAST_MAX_LEN: Bound<usize> = b("max_len", 4, 2, 6);
    /// Each window of `changes`, before and after a change (days).
    pub(crate) const CHANGE_DAYS: Bound<i64> = b("days", 7, 1, 90);
    /// The smallest share of a page's text or structure that `changes`
    /// lists as a change.
    pub(crate) const MIN_CHANGE: Bound<f64> = b("min_change", 0.1, 0.0, 1.0);
    /// Rows of each `why` reason's exit pages and segments.
    pub(crate) const WHY_TOP: Bound<usize> = b("top", 5, 1, 100);
    /// Sessions in one page of a list or a search.
    pub(crate) const LIMIT: Bound<usize> = b("limit", 50, 1, 1000);
    /// How far into a search's hits a page may start.
    pub(crate) const OFFSET: Bound<usize> = b("offset", 0, 0, 100_000);
}

/// Where a request's parameters come from: query parameters, or anything
/// that can answer by name. Repeated keys (`step`) are read with [`all`].
///
/// [`all`]: Params::all
pub trait Params {
    fn get(&self, key: &str) -> Option<&str>;
    fn all(&self, key: &str) -> Vec<&str>;

    /// A number, or its bound's default when absent; the range is checked
    /// by the service, not here.
    fn number<T: std::str::FromStr + Copy>(&self, bound: &Bound<T>) -> Result<T> {
        match self.get(bound.name) {
            None | Some("") => Ok(bound.default),
            Some(v) => v.trim().parse::<T>().map_err(|_| {
                ServiceError::invalid(format!("{}: {v:?} is not a whole number", bound.name))
            }),
        }
    }

    /// `true` for `true` or `1`, `false` when absent, `false` or `0`.
    fn flag(&self, key: &str) -> Result<bool> {
        match self.get(key) {
            None | Some("") | Some("false") | Some("0") => Ok(false),
            Some("true") | Some("1") => Ok(true),
            Some(v) => Err(ServiceError::invalid(format!(
                "{key}: {v:?} is not true or false"
            ))),
        }
    }

    /// A value that must be given.
    fn required(&self, key: &str) -> Result<&str> {
        self.get(key)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| ServiceError::invalid(format!("{key}: required")))
    }

    /// One of a fixed set of names.
    fn choice<T: Choice>(&self, key: &str) -> Result<Option<T>> {
        self.get(key)
            .filter(|v| !v.is_empty())
            .map(|v| parse_choice(key, v))
            .transpose()
    }
}

/// A fixed set of named values (channels, devices, sort orders...): the
/// names are the ones the CLI's `clap::ValueEnum` shows in `--help`.
pub trait Choice: clap::ValueEnum {}
impl<T: clap::ValueEnum> Choice for T {}

/// `value` as one of `T`'s names, or an error listing them.
pub(crate) fn parse_choice<T: Choice>(key: &str, value: &str) -> Result<T> {
    T::from_str(value, true).map_err(|_| {
        let names: Vec<String> = T::value_variants()
            .iter()
            .filter_map(|v| v.to_possible_value())
            .map(|p| p.get_name().to_string())
            .collect();
        ServiceError::invalid(format!(
            "{key}: {value:?} is not one of {}",
            names.join(", ")
        ))
    })
}

/// Query parameters, decoded once (`a=1&step=x&step=y`).
#[derive(Debug, Default, Clone)]
pub(crate) struct QueryParams(Vec<(String, String)>);

impl QueryParams {
    pub(crate) fn parse(query: Option<&str>) -> QueryParams {
        QueryParams(
            url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
                .into_owned()
                .collect(),
        )
    }
}

impl Params for QueryParams {
    /// The last value of `key` (a later repeat wins, as in most servers).
    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn all(&self, key: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// Accepts milliseconds since the epoch, `YYYY-MM-DD` (UTC midnight) or
/// RFC 3339.
pub(crate) fn parse_time(v: &str, name: &str) -> Result<Millis> {
    if let Ok(ms) = v.parse::<i64>() {
        return Ok(ms);
    }
    if let Ok(d) = NaiveDate::parse_from_str(v, "%Y-%m-%d") {
        let midnight = d.and_hms_opt(0, 0, 0).expect("valid time");
        return Ok(Utc.from_utc_datetime(&midnight).timestamp_millis());
    }
    DateTime::parse_from_rfc3339(v)
        .map(|t| t.timestamp_millis())
        .map_err(|_| {
            ServiceError::invalid(format!(
                "{name}: expected milliseconds, YYYY-MM-DD or an RFC 3339 time, got {v:?}"
            ))
        })
}

/// `serde(serialize_with)` for a time in an answer: ISO 8601, as everywhere.
pub(crate) fn serialize_iso<S: serde::Serializer>(
    ms: &Millis,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&iso(*ms))
}

/// [`serialize_iso`] for a time that may be missing (null).
pub(crate) fn serialize_iso_opt<S: serde::Serializer>(
    ms: &Option<Millis>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    match ms {
        Some(ms) => serialize_iso(ms, s),
        None => s.serialize_none(),
    }
}

/// RFC 3339 in UTC with milliseconds.
pub(crate) fn iso(ms: Millis) -> String {
    Utc.timestamp_millis_opt(ms)
        .single()
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

/// The sessions a report or a search covers: the filters every view takes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filters {
    /// Sessions that started at or after this.
    pub from: Option<Millis>,
    /// Sessions that started before this.
    pub to: Option<Millis>,
    pub channel: Option<Channel>,
    pub device: Option<DeviceClass>,
    /// ISO 3166-1 alpha-2, uppercase.
    pub country: Option<String>,
    /// A referrer domain (reports), or words of the referrer URL (search).
    pub referrer: Option<String>,
    /// The entry page's path, as stored.
    pub entry_page: Option<String>,
    pub include_bots: bool,
    /// A cleaning choice: keep consecutive repeats of a page.
    pub keep_repeats: bool,
}

impl Filters {
    pub fn decode(p: &impl Params) -> Result<Filters> {
        let time = |k: &str| {
            p.get(k)
                .filter(|v| !v.is_empty())
                .map(|v| parse_time(v, k))
                .transpose()
        };
        let text = |k: &str| p.get(k).filter(|v| !v.is_empty()).map(str::to_string);
        Ok(Filters {
            from: time("from")?,
            to: time("to")?,
            channel: p.choice("channel")?,
            device: p.choice("device")?,
            country: text("country"),
            referrer: text("referrer"),
            entry_page: text("entry_page"),
            include_bots: p.flag("include_bots")?,
            keep_repeats: p.flag("keep_repeats")?,
        })
    }

    /// The checks no type can make: a country code's shape, an order of
    /// times. Normalises the country to uppercase.
    pub fn check(mut self) -> Result<Filters> {
        if let Some(c) = &self.country {
            if c.len() != 2 || !c.bytes().all(|b| b.is_ascii_alphabetic()) {
                return Err(ServiceError::invalid(format!(
                    "country: {c:?} is not an ISO 3166-1 alpha-2 code such as SE"
                )));
            }
            self.country = Some(c.to_ascii_uppercase());
        }
        if let (Some(from), Some(to)) = (self.from, self.to) {
            if to < from {
                return Err(ServiceError::invalid(
                    "to: the end of the range is before its start (from)",
                ));
            }
        }
        Ok(self)
    }

    /// Whether a filter besides the time range is set: what only the
    /// search index can apply to a session list.
    pub(crate) fn beyond_time(&self) -> bool {
        self.channel.is_some()
            || self.device.is_some()
            || self.country.is_some()
            || self.referrer.is_some()
    }

    pub(crate) fn journey_filter(&self) -> JourneyFilter {
        JourneyFilter {
            from: self.from,
            to: self.to,
            channel: self.channel.map(|c| c.as_str().to_string()),
            device: self.device.map(|d| d.as_str().to_string()),
            country: self.country.clone(),
            referrer_domain: self.referrer.clone(),
            entry_page: self.entry_page.clone(),
            include_bots: self.include_bots,
            keep_repeats: self.keep_repeats,
        }
    }

    pub(crate) fn search_filters(&self) -> SearchFilters {
        SearchFilters {
            from: self.from,
            to: self.to,
            channel: self.channel.map(|c| c.as_str().to_string()),
            device: self.device.map(|d| d.as_str().to_string()),
            country: self.country.clone(),
            referrer: self.referrer.clone(),
            leave_out_bots: !self.include_bots,
        }
    }
}

/// The reports there are, by the name both doors use
/// (`trailmap NAME`, `GET /api/sites/{site}/NAME`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ReportKind {
    Overview,
    Paths,
    Exits,
    Transitions,
    Journeys,
    Funnel,
    Stages,
    Frustration,
    Moments,
    Patterns,
    Events,
    Goals,
    Revenue,
    Contrast,
    Why,
    Conformance,
    Errors,
    Changes,
}

impl ReportKind {}

/// One group of `contrast` (`a=`, `b=`), written as text:
/// `converted`, `rest`, `reached:TARGET` or `DIMENSION=VALUE`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Segment {
    /// Sessions that reached any of the site's goals.
    Converted,
    /// Every session not in the other group (b only).
    Rest,
    /// Sessions that reached a target (`reached:event:add_to_cart`,
    /// `reached:^/cart`).
    Reached(String),
    /// Sessions with this value of a dimension (`device=mobile`).
    Dimension(crate::event::Dimension, String),
}

impl Segment {
    pub(crate) fn parse(key: &str, text: &str) -> Result<Segment> {
        let text = text.trim();
        let bad = |why: String| ServiceError::invalid(format!("{key}: {text:?} {why}"));
        match text {
            "converted" => return Ok(Segment::Converted),
            "rest" => return Ok(Segment::Rest),
            _ => {}
        }
        if let Some(target) = text.strip_prefix("reached:") {
            crate::event::TargetSpec::parse(target).map_err(bad)?;
            return Ok(Segment::Reached(target.trim().to_string()));
        }
        let Some((dim, value)) = text.split_once('=') else {
            return Err(bad(
                "is not a group: converted, rest, reached:TARGET or DIMENSION=VALUE (device=mobile)"
                    .into(),
            ));
        };
        let dim = <crate::event::Dimension as clap::ValueEnum>::from_str(dim.trim(), true)
            .map_err(|_| {
                bad("names no dimension (channel, device, country, referrer, utm_campaign, entry_page)".into())
            })?;
        if value.trim().is_empty() {
            return Err(bad("needs a value after =".into()));
        }
        Ok(Segment::Dimension(dim, value.trim().to_string()))
    }

    /// The segment as it is written.
    pub(crate) fn text(&self) -> String {
        match self {
            Segment::Converted => "converted".into(),
            Segment::Rest => "rest".into(),
            Segment::Reached(t) => format!("reached:{t}"),
            Segment::Dimension(d, v) => format!("{}={v}", d.as_str()),
        }
    }
}

/// `conformance`: sessions against an expected journey, given in the
/// query (`step=`, `name=`, `optional=N`, `repeat=N`) or the site's saved
/// one (no `step=`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ConformanceRequest {
    pub steps: Vec<crate::store::sites::ExpectedStep>,
    pub breakdown: Option<crate::event::Dimension>,
}

impl ConformanceRequest {
    pub(crate) fn decode(p: &impl Params) -> Result<ConformanceRequest> {
        let numbers = |key: &str| -> Result<Vec<usize>> {
            p.all(key)
                .into_iter()
                .map(|v| step_number(key, v))
                .collect()
        };
        Self::of_steps(
            &p.all("step"),
            &p.all("name"),
            &numbers("optional")?,
            &numbers("repeat")?,
            p.choice("breakdown")?,
        )
    }

    /// The request from its parts: targets, their names (the target where
    /// none), and the optional and repeatable steps (numbered from 1).
    pub(crate) fn of_steps(
        targets: &[&str],
        names: &[&str],
        optional: &[usize],
        repeat: &[usize],
        breakdown: Option<crate::event::Dimension>,
    ) -> Result<ConformanceRequest> {
        for (key, list) in [("optional", optional), ("repeat", repeat)] {
            if let Some(n) = list.iter().find(|n| **n > targets.len()) {
                return Err(ServiceError::invalid(format!(
                    "{key}: step {n} of {} steps",
                    targets.len()
                )));
            }
        }
        let steps = targets
            .iter()
            .enumerate()
            .map(|(i, t)| crate::store::sites::ExpectedStep {
                name: names
                    .get(i)
                    .map(|n| n.trim())
                    .filter(|n| !n.is_empty())
                    .unwrap_or(t.trim())
                    .to_string(),
                target: t.trim().to_string(),
                optional: optional.contains(&(i + 1)),
                repeatable: repeat.contains(&(i + 1)),
            })
            .collect();
        Ok(ConformanceRequest { steps, breakdown })
    }

    pub(crate) fn check(&self) -> Result<()> {
        if self.steps.is_empty() {
            return Ok(());
        }
        super::analysis::check_expected(&self.steps).map_err(ServiceError::invalid)
    }
}

/// `why`: the reasons of the sessions that reached a decision point
/// (`at`) and did not convert.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct WhyRequest {
    /// `stage:NAME`, or a target (a page pattern, `event:NAME`); none: the
    /// site's decision stage.
    pub at: Option<String>,
    pub breakdown: Option<crate::event::Dimension>,
    pub top: usize,
}

impl WhyRequest {
    pub(crate) fn decode(p: &impl Params) -> Result<WhyRequest> {
        Ok(WhyRequest {
            at: p
                .get("at")
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string),
            breakdown: p.choice("breakdown")?,
            top: p.number(&bounds::WHY_TOP)?,
        })
    }

    pub(crate) fn check(&self) -> Result<()> {
        bounds::WHY_TOP.check(self.top)?;
        if let Some(at) = &self.at {
            if at.strip_prefix("stage:").is_none() {
                crate::event::TargetSpec::parse(at)
                    .map_err(|e| ServiceError::invalid(format!("at: {e}")))?;
            }
        }
        Ok(())
    }
}

/// `contrast`: what separates group `a` from group `b`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ContrastRequest {
    pub a: Segment,
    pub b: Segment,
    pub top: usize,
    pub max_len: usize,
}

impl ContrastRequest {
    pub(crate) fn decode(p: &impl Params) -> Result<ContrastRequest> {
        use bounds::*;
        let seg = |key: &str, default: Segment| match p.get(key).filter(|v| !v.trim().is_empty()) {
            Some(v) => Segment::parse(key, v),
            None => Ok(default),
        };
        Ok(ContrastRequest {
            a: seg("a", Segment::Converted)?,
            b: seg("b", Segment::Rest)?,
            top: p.number(&CONTRAST_TOP)?,
            max_len: p.number(&CONTRAST_MAX_LEN)?,
        })
    }

    /// The dimension the groups are told apart by, if any.
    pub(crate) fn dimension(&self) -> Option<crate::event::Dimension> {
        [&self.a, &self.b].into_iter().find_map(|s| match s {
            Segment::Dimension(d, _) => Some(*d),
            _ => None,
        })
    }

    pub(crate) fn check(&self) -> Result<()> {
        use bounds::*;
        CONTRAST_TOP.check(self.top)?;
        CONTRAST_MAX_LEN.check(self.max_len)?;
        if self.a == Segment::Rest {
            return Err(ServiceError::invalid(
                "a: rest means every session not in a, so it can only be b",
            ));
        }
        if self.a == self.b {
            return Err(ServiceError::invalid("a and b are the same group"));
        }
        if let (Segment::Dimension(x, _), Segment::Dimension(y, _)) = (&self.a, &self.b) {
            if x != y {
                return Err(ServiceError::invalid(format!(
                    "a and b are told apart by one dimension: {} or {}, not both",
                    x.as_str(),
                    y.as_str()
                )));
            }
        }
        Ok(())
    }
}

/// `paths`: the most common paths of up to `steps` pages.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PathsRequest {
    pub steps: usize,
    pub top: usize,
    /// Start every path at this page.
    pub start: Option<String>,
    /// End every path at this page.
    pub end: Option<String>,
}

/// `funnel`: conversion through ordered steps, each a regex over cleaned
/// page paths.
#[derive(Debug, Clone, PartialEq)]
pub struct FunnelRequest {
    pub steps: Vec<String>,
    /// Names of the steps, in order (`name=`, `--name`); a step without
    /// one is shown as its pattern.
    pub names: Vec<String>,
    pub window_minutes: i64,
    /// Each step must be the very next page.
    pub strict: bool,
    /// Steps (numbered from 1) that may be skipped (`optional=N`).
    pub optional: Vec<usize>,
    /// Steps (from 1) with a window of their own from the step before:
    /// `(step, minutes)` (`step_window=N:MINUTES`).
    pub step_windows: Vec<(usize, i64)>,
    /// Each step's sessions per value of this dimension too.
    pub breakdown: Option<crate::event::Dimension>,
    /// List the sessions that reached this step (from 1) and went no
    /// further, `limit` of them from `offset`, newest first.
    pub dropped_at: Option<usize>,
    pub limit: usize,
    pub offset: usize,
    /// Run the site's saved funnel of this name (`saved=`) with this
    /// request's breakdown and drop-off listing.
    pub saved: Option<String>,
    /// Count sessions or visitors.
    pub unit: Unit,
}

/// `journeys` and the Sankey chart: the journey graph.
#[derive(Debug, Clone, PartialEq)]
pub struct GraphRequest {
    pub steps: usize,
    pub nodes: usize,
    pub min_link: u32,
    /// Start every journey at this page.
    pub root: Option<String>,
    /// Pages to show even where they would be grouped as "other":
    /// `(step from 0, page)`.
    pub expand: Vec<(usize, String)>,
    /// Custom events as nodes of their own, among the pages (`events=true`).
    pub events: bool,
}

/// `patterns`: frequent navigation patterns, with gaps.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PatternsRequest {
    pub top: usize,
    pub min_len: usize,
    pub max_len: usize,
    pub min_support: u32,
    /// Every pattern at or above `min_support`, not only the top.
    pub all: bool,
}

/// What funnels and goals count (`unit=`): sessions, or visitors (a
/// visitor's sessions of one UTC day as one journey).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    #[default]
    Session,
    Visitor,
}

/// What a report is held against (`compare=`): the same span just before
/// its range, or its range a year earlier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Compare {
    Previous,
    Year,
}

impl Compare {
    /// The earlier range for `[from, to)`.
    pub(crate) fn earlier(self, from: Millis, to: Millis) -> (Millis, Millis) {
        match self {
            Compare::Previous => (from - (to - from), from),
            Compare::Year => (year_before(from), year_before(to)),
        }
    }
}

/// The same moment a calendar year earlier (29 February: the 28th).
fn year_before(t: Millis) -> Millis {
    use chrono::Datelike;
    let Some(at) = DateTime::from_timestamp_millis(t) else {
        return t - 365 * 86_400_000;
    };
    let earlier = at
        .with_year(at.year() - 1)
        .or_else(|| at.with_day(28).and_then(|d| d.with_year(at.year() - 1)));
    earlier.map_or(t - 365 * 86_400_000, |d| d.timestamp_millis())
}

/// The time series' bucket of the overview (`interval`); by the range's
/// span when not given: hours up to two days, else days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Interval {
    Hour,
    Day,
    /// Weeks from Monday (UTC).
    Week,
    /// Calendar months (UTC).
    Month,
}

impl Interval {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Interval::Hour => "hour",
            Interval::Day => "day",
            Interval::Week => "week",
            Interval::Month => "month",
        }
    }
}

/// A report, with what it takes besides the filters.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ReportRequest {
    Overview {
        top: usize,
        interval: Option<Interval>,
    },
    Paths(PathsRequest),
    Exits,
    Transitions {
        page: String,
        top: usize,
    },
    Journeys(GraphRequest),
    Funnel(FunnelRequest),
    Stages,
    Frustration {
        worst: usize,
    },
    Moments {
        top: usize,
    },
    Patterns(PatternsRequest),
    /// Custom events, with the `top` values of each property.
    Events {
        top: usize,
    },
    /// Goal conversions, overall and per value of `breakdown`.
    Goals {
        breakdown: Option<crate::event::Dimension>,
        top: usize,
        unit: Unit,
    },
    /// Revenue in one currency (the one with the most orders when not
    /// given), overall and per value of `breakdown`.
    Revenue {
        breakdown: Option<crate::event::Dimension>,
        currency: Option<String>,
        top: usize,
    },
    /// What separates two groups of sessions.
    Contrast(ContrastRequest),
    /// Why sessions that reached a decision point left.
    Why(WhyRequest),
    /// Sessions against the expected journey.
    Conformance(ConformanceRequest),
    /// JavaScript errors, most sessions first.
    Errors {
        top: usize,
    },
    /// Pages whose layout changed, before against after.
    Changes(super::changes::ChangesRequest),
}

impl ReportRequest {
    /// The request for `kind` from parameters (the API's query).
    pub(crate) fn decode(kind: ReportKind, p: &impl Params) -> Result<ReportRequest> {
        use bounds::*;
        Ok(match kind {
            ReportKind::Overview => ReportRequest::Overview {
                top: p.number(&TOP)?,
                interval: p.choice("interval")?,
            },
            ReportKind::Paths => ReportRequest::Paths(PathsRequest {
                steps: p.number(&STEPS)?,
                top: p.number(&TOP)?,
                start: p.get("start").map(str::to_string),
                end: p.get("end").map(str::to_string),
            }),
            ReportKind::Exits => ReportRequest::Exits,
            ReportKind::Transitions => ReportRequest::Transitions {
                page: p.required("page")?.to_string(),
                top: p.number(&TOP)?,
            },
            ReportKind::Journeys => ReportRequest::Journeys(GraphRequest::decode(p)?),
            ReportKind::Funnel => ReportRequest::Funnel(FunnelRequest::decode(p)?),
            ReportKind::Stages => ReportRequest::Stages,
            ReportKind::Frustration => ReportRequest::Frustration {
                worst: p.number(&WORST)?,
            },
            ReportKind::Moments => ReportRequest::Moments {
                top: p.number(&TOP)?,
            },
            ReportKind::Patterns => ReportRequest::Patterns(PatternsRequest {
                top: p.number(&PATTERN_TOP)?,
                min_len: p.number(&PATTERN_MIN_LEN)?,
                max_len: p.number(&PATTERN_MAX_LEN)?,
                min_support: p.number(&PATTERN_MIN_SUPPORT)?,
                all: p.flag("all")?,
            }),
            ReportKind::Events => ReportRequest::Events {
                top: p.number(&TOP)?,
            },
            ReportKind::Goals => ReportRequest::Goals {
                breakdown: p.choice("breakdown")?,
                top: p.number(&TOP)?,
                unit: p.choice("unit")?.unwrap_or_default(),
            },
            ReportKind::Revenue => ReportRequest::Revenue {
                breakdown: p.choice("breakdown")?,
                currency: p
                    .get("currency")
                    .filter(|c| !c.is_empty())
                    .map(str::to_string),
                top: p.number(&TOP)?,
            },
            ReportKind::Contrast => ReportRequest::Contrast(ContrastRequest::decode(p)?),
            ReportKind::Why => ReportRequest::Why(WhyRequest::decode(p)?),
            ReportKind::Conformance => ReportRequest::Conformance(ConformanceRequest::decode(p)?),
            ReportKind::Errors => ReportRequest::Errors {
                top: p.number(&TOP)?,
            },
            ReportKind::Changes => {
                ReportRequest::Changes(super::changes::ChangesRequest::decode(p)?)
            }
        })
    }

    /// Every bound of the request, checked before anything runs.
    pub(crate) fn check(&self) -> Result<()> {
        use bounds::*;
        match self {
            ReportRequest::Overview { top, .. }
            | ReportRequest::Transitions { top, .. }
            | ReportRequest::Moments { top }
            | ReportRequest::Events { top }
            | ReportRequest::Errors { top }
            | ReportRequest::Goals { top, .. } => {
                TOP.check(*top)?;
            }
            ReportRequest::Revenue { top, currency, .. } => {
                TOP.check(*top)?;
                if let Some(c) = currency {
                    if c.len() > 8 || !c.chars().all(|ch| ch.is_ascii_alphabetic()) {
                        return Err(ServiceError::invalid(format!(
                            "currency: {c:?} is not a currency code (EUR, USD)"
                        )));
                    }
                }
            }
            ReportRequest::Paths(p) => {
                STEPS.check(p.steps)?;
                TOP.check(p.top)?;
            }
            ReportRequest::Exits | ReportRequest::Stages => {}
            ReportRequest::Contrast(c) => c.check()?,
            ReportRequest::Why(w) => w.check()?,
            ReportRequest::Conformance(c) => c.check()?,
            ReportRequest::Changes(c) => c.check()?,
            ReportRequest::Journeys(g) => g.check()?,
            ReportRequest::Funnel(f) => f.check()?,
            ReportRequest::Frustration { worst } => {
                WORST.check(*worst)?;
            }
            ReportRequest::Patterns(p) => {
                if !p.all {
                    PATTERN_TOP.check(p.top)?;
                }
                PATTERN_MIN_LEN.check(p.min_len)?;
                PATTERN_MAX_LEN.check(p.max_len)?;
                PATTERN_MIN_SUPPORT.check(p.min_support)?;
                if p.min_len > p.max_len {
                    return Err(ServiceError::invalid(format!(
                        "min_len: {} is above max_len ({})",
                        p.min_len, p.max_len
                    )));
                }
                if p.all && p.min_support < 2 {
                    return Err(ServiceError::invalid(
                        "all: needs min_support of at least 2 (--min-support on the command line)",
                    ));
                }
            }
        }
        Ok(())
    }
}

/// A step number as a person writes it (1 for the first).
fn step_number(key: &str, v: &str) -> Result<usize> {
    v.trim()
        .parse::<usize>()
        .ok()
        .filter(|n| *n >= 1)
        .ok_or_else(|| {
            ServiceError::invalid(format!("{key}: {v:?} is not a step number (1, 2, ...)"))
        })
}

/// `N:MINUTES`: step N within that many minutes of the step before.
pub(crate) fn parse_step_window(v: &str) -> Result<(usize, i64)> {
    let bad = || {
        ServiceError::invalid(format!(
            "step_window: {v:?} is not STEP:MINUTES (3:30: step 3 within 30 minutes of step 2)"
        ))
    };
    let (step, minutes) = v.split_once(':').ok_or_else(bad)?;
    let minutes: i64 = minutes.trim().parse().map_err(|_| bad())?;
    Ok((step_number("step_window", step)?, minutes))
}

impl FunnelRequest {
    pub fn decode(p: &impl Params) -> Result<FunnelRequest> {
        Ok(FunnelRequest {
            steps: p.all("step").into_iter().map(str::to_string).collect(),
            names: p
                .all("name")
                .into_iter()
                .map(|n| n.trim().to_string())
                .collect(),
            window_minutes: p.number(&bounds::WINDOW_MINUTES)?,
            strict: p.flag("strict")?,
            optional: p
                .all("optional")
                .into_iter()
                .map(|v| step_number("optional", v))
                .collect::<Result<_>>()?,
            step_windows: p
                .all("step_window")
                .into_iter()
                .map(parse_step_window)
                .collect::<Result<_>>()?,
            breakdown: p.choice("breakdown")?,
            dropped_at: p
                .get("dropped_at")
                .filter(|v| !v.is_empty())
                .map(|v| step_number("dropped_at", v))
                .transpose()?,
            limit: p.number(&bounds::LIMIT)?,
            offset: p.number(&bounds::OFFSET)?,
            saved: p.get("saved").filter(|v| !v.is_empty()).map(str::to_string),
            unit: p.choice("unit")?.unwrap_or_default(),
        })
    }

    /// The funnel's definition (steps, names, windows, strict, optional
    /// steps) as the API's query string: what a saved funnel keeps.
    pub(crate) fn to_query(&self) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for s in &self.steps {
            q.append_pair("step", s);
        }
        for n in &self.names {
            q.append_pair("name", n);
        }
        q.append_pair("window_minutes", &self.window_minutes.to_string());
        if self.strict {
            q.append_pair("strict", "true");
        }
        for o in &self.optional {
            q.append_pair("optional", &o.to_string());
        }
        for (step, minutes) in &self.step_windows {
            q.append_pair("step_window", &format!("{step}:{minutes}"));
        }
        q.finish()
    }

    /// `saved`'s definition with this request's breakdown, drop-off
    /// listing and paging.
    pub(crate) fn with_definition(&self, definition: FunnelRequest) -> FunnelRequest {
        FunnelRequest {
            breakdown: self.breakdown,
            dropped_at: self.dropped_at,
            limit: self.limit,
            offset: self.offset,
            saved: self.saved.clone(),
            unit: self.unit,
            ..definition
        }
    }

    /// A plain funnel: steps, a window, strict or not.
    #[cfg(test)]
    pub(crate) fn of(steps: &[&str], window_minutes: i64, strict: bool) -> FunnelRequest {
        FunnelRequest {
            steps: steps.iter().map(|s| s.to_string()).collect(),
            names: Vec::new(),
            window_minutes,
            strict,
            optional: Vec::new(),
            step_windows: Vec::new(),
            breakdown: None,
            dropped_at: None,
            limit: bounds::LIMIT.default,
            offset: 0,
            saved: None,
            unit: Unit::Session,
        }
    }

    pub fn check(&self) -> Result<()> {
        bounds::WINDOW_MINUTES.check(self.window_minutes)?;
        if self.steps.len() < 2 {
            return Err(ServiceError::invalid(
                "step: a funnel needs at least two steps",
            ));
        }
        if self.names.len() > self.steps.len() {
            return Err(ServiceError::invalid(format!(
                "name: {} names for {} steps",
                self.names.len(),
                self.steps.len()
            )));
        }
        if let Some(n) = self.names.iter().find(|n| n.chars().count() > 60) {
            return Err(ServiceError::invalid(format!(
                "name: {n:?} is longer than 60 characters"
            )));
        }
        let last = self.steps.len();
        if let Some(o) = self.optional.iter().find(|o| **o <= 1 || **o >= last) {
            return Err(ServiceError::invalid(format!(
                "optional: step {o} cannot be optional (only steps 2 to {} can)",
                last - 1
            )));
        }
        for (step, minutes) in &self.step_windows {
            if *step < 2 || *step > last {
                return Err(ServiceError::invalid(format!(
                    "step_window: step {step} has no step before it in a funnel of {last} (2 to {last})"
                )));
            }
            bounds::WINDOW_MINUTES.check(*minutes).map_err(|_| {
                ServiceError::invalid(format!(
                    "step_window: {minutes} minutes for step {step} is out of range (1 to {})",
                    bounds::WINDOW_MINUTES.max
                ))
            })?;
        }
        if let Some(d) = self.dropped_at {
            if d >= last || self.optional.contains(&d) {
                return Err(ServiceError::invalid(format!(
                    "dropped_at: step {d} has no drop-offs (a step from 1 to {} that is not optional)",
                    last - 1
                )));
            }
        }
        bounds::LIMIT.check(self.limit)?;
        bounds::OFFSET.check(self.offset)?;
        Ok(())
    }

    /// What each step is called: its name, else its pattern.
    pub fn labels(&self) -> Vec<String> {
        self.steps
            .iter()
            .enumerate()
            .map(|(i, step)| {
                self.names
                    .get(i)
                    .filter(|n| !n.is_empty())
                    .unwrap_or(step)
                    .clone()
            })
            .collect()
    }
}

impl GraphRequest {
    pub fn decode(p: &impl Params) -> Result<GraphRequest> {
        use bounds::*;
        Ok(GraphRequest {
            steps: p.number(&STEPS)?,
            nodes: p.number(&NODES)?,
            min_link: p.number(&MIN_LINK)?,
            root: p.get("root").filter(|v| !v.is_empty()).map(str::to_string),
            expand: parse_expand(p.get("expand"))?,
            events: p.flag("events")?,
        })
    }

    pub fn check(&self) -> Result<()> {
        bounds::STEPS.check(self.steps)?;
        bounds::NODES.check(self.nodes)?;
        bounds::MIN_LINK.check(self.min_link)?;
        if let Some((step, _)) = self.expand.iter().find(|(s, _)| *s >= self.steps) {
            return Err(ServiceError::invalid(format!(
                "expand: step {step} is past the graph's {} steps",
                self.steps
            )));
        }
        Ok(())
    }
}

/// `expand=STEP:PATH,STEP:PATH` (steps from 0).
pub(crate) fn parse_expand(spec: Option<&str>) -> Result<Vec<(usize, String)>> {
    let Some(spec) = spec.filter(|s| !s.is_empty()) else {
        return Ok(vec![]);
    };
    spec.split(',')
        .map(|item| {
            let (step, path) = item.split_once(':').ok_or_else(|| {
                ServiceError::invalid(format!("expand: {item:?} is not STEP:PATH"))
            })?;
            let step = step
                .parse()
                .map_err(|_| ServiceError::invalid(format!("expand: {step:?} is not a step")))?;
            Ok((step, path.to_string()))
        })
        .collect()
}

/// How search hits are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub(crate) enum SearchSort {
    /// The most recent sessions first.
    #[default]
    Newest,
    /// The longest sessions first.
    Longest,
}

impl From<SearchSort> for Sort {
    fn from(s: SearchSort) -> Sort {
        match s {
            SearchSort::Newest => Sort::Newest,
            SearchSort::Longest => Sort::Longest,
        }
    }
}

/// `search`: sessions by what happened in them.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SearchRequest {
    pub query: String,
    pub sort: SearchSort,
    pub limit: usize,
    pub offset: usize,
}

impl SearchRequest {
    pub(crate) fn decode(p: &impl Params) -> Result<SearchRequest> {
        Ok(SearchRequest {
            query: p.get("q").unwrap_or("").to_string(),
            sort: p.choice("sort")?.unwrap_or_default(),
            limit: p.number(&bounds::LIMIT)?,
            offset: p.number(&bounds::OFFSET)?,
        })
    }

    pub(crate) fn check(&self) -> Result<()> {
        bounds::LIMIT.check(self.limit)?;
        bounds::OFFSET.check(self.offset)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse() {
        assert_eq!(
            parse_time("1700000000000", "from").unwrap(),
            1_700_000_000_000
        );
        assert_eq!(parse_time("1970-01-02", "from").unwrap(), 86_400_000);
        assert_eq!(parse_time("1970-01-01T00:00:01Z", "from").unwrap(), 1000);
        assert!(parse_time("yesterday", "from")
            .unwrap_err()
            .to_string()
            .starts_with("from:"));
        assert_eq!(iso(0), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn one_decoder_one_set_of_bounds() {
        let p = QueryParams::parse(Some("steps=25&top=3&channel=paid&device=phone"));
        let req = ReportRequest::decode(ReportKind::Paths, &p).unwrap();
        assert_eq!(
            req.check().unwrap_err().to_string(),
            "steps: 25 is out of range (1 to 20)"
        );
        assert_eq!(
            Filters::decode(&p).unwrap_err().to_string(),
            "device: \"phone\" is not one of desktop, mobile, tablet, bot, other"
        );
        let p = QueryParams::parse(Some("step=a&step=b&window_minutes=-5"));
        let req = ReportRequest::decode(ReportKind::Funnel, &p).unwrap();
        assert!(req
            .check()
            .unwrap_err()
            .to_string()
            .starts_with("window_minutes: -5"));
        let f = Filters::decode(&QueryParams::parse(Some(
            "country=se&channel=organic_search",
        )))
        .unwrap()
        .check()
        .unwrap();
        assert_eq!(f.country.as_deref(), Some("SE"));
        assert_eq!(f.channel, Some(Channel::OrganicSearch));
    }
}
