//! Flag groups that several commands share: the site and its filters, and
//! each report's own options, with their defaults taken from the service's
//! bounds so that the CLI and the API default alike.

use crate::event::{Channel, DeviceClass};
use crate::service::request::{
    bounds, parse_time, FunnelRequest, GraphRequest, PatternsRequest, Unit,
};
use crate::service::{Filters, Result};

/// The site and the filters every report takes.
#[derive(Debug, Clone, clap::Args)]
pub struct FilterArgs {
    /// The site (registered with `trailmap site add`).
    #[arg(long)]
    pub site: String,
    /// Sessions started at or after: YYYY-MM-DD, RFC 3339 or ms since the epoch.
    #[arg(long)]
    pub from: Option<String>,
    /// Sessions started before: YYYY-MM-DD, RFC 3339 or ms since the epoch.
    #[arg(long)]
    pub to: Option<String>,
    /// Sessions that arrived through this channel.
    #[arg(long, value_enum)]
    pub channel: Option<Channel>,
    /// Sessions on this kind of device.
    #[arg(long, value_enum)]
    pub device: Option<DeviceClass>,
    /// ISO 3166-1 alpha-2 country code, e.g. SE.
    #[arg(long)]
    pub country: Option<String>,
    /// Referrer domain, e.g. google.com (search: words of the referrer URL too).
    #[arg(long)]
    pub referrer: Option<String>,
    /// Sessions that entered at this page path.
    #[arg(long)]
    pub entry_page: Option<String>,
    /// Count bots too (left out by default).
    #[arg(long)]
    pub include_bots: bool,
    /// Keep consecutive repeats of a page instead of collapsing them.
    #[arg(long)]
    pub keep_repeats: bool,
}

impl FilterArgs {
    pub fn filters(&self) -> Result<Filters> {
        let time = |v: &Option<String>, name| v.as_deref().map(|t| parse_time(t, name)).transpose();
        Ok(Filters {
            from: time(&self.from, "from")?,
            to: time(&self.to, "to")?,
            channel: self.channel,
            device: self.device,
            country: self.country.clone(),
            referrer: self.referrer.clone(),
            entry_page: self.entry_page.clone(),
            include_bots: self.include_bots,
            keep_repeats: self.keep_repeats,
        })
    }
}

/// A funnel's steps and window.
#[derive(Debug, Clone, clap::Args)]
pub struct FunnelArgs {
    /// A step, as a regex over cleaned page paths (repeat, in order; at least two).
    #[arg(long = "step", id = "step")]
    pub steps: Vec<String>,
    /// A step's name, shown instead of its pattern (repeat, in the steps' order).
    #[arg(long = "name", id = "name")]
    pub names: Vec<String>,
    /// The whole funnel must complete within this many minutes (1 to 44640).
    #[arg(long, default_value_t = bounds::WINDOW_MINUTES.default, allow_negative_numbers = true)]
    pub window_minutes: i64,
    /// Each step must be the very next page.
    #[arg(long)]
    pub strict: bool,
    /// A step (numbered from 1) that may be skipped (repeat).
    #[arg(long = "optional", id = "optional")]
    pub optional: Vec<usize>,
    /// STEP:MINUTES: that step within so many minutes of the step before (repeat).
    #[arg(long = "step-window", id = "step-window")]
    pub step_windows: Vec<String>,
    /// Each step's sessions per value of this dimension too.
    #[arg(long, value_enum)]
    pub breakdown: Option<crate::event::Dimension>,
    /// List the sessions that reached this step (from 1) and went no further.
    #[arg(long)]
    pub dropped_at: Option<usize>,
    /// How many of those to list, 1 to 1000.
    #[arg(long, default_value_t = bounds::LIMIT.default)]
    pub limit: usize,
    /// Run the site's saved funnel of this name (`trailmap funnels`).
    #[arg(long)]
    pub saved: Option<String>,
    /// Count sessions, or visitors (a visitor's sessions of one UTC day as one).
    #[arg(long, value_enum, default_value_t = Unit::Session)]
    pub unit: Unit,
}

impl FunnelArgs {
    pub fn request(&self) -> Result<FunnelRequest> {
        Ok(FunnelRequest {
            steps: self.steps.clone(),
            names: self.names.clone(),
            window_minutes: self.window_minutes,
            strict: self.strict,
            optional: self.optional.clone(),
            step_windows: self
                .step_windows
                .iter()
                .map(|w| crate::service::request::parse_step_window(w))
                .collect::<Result<_>>()?,
            breakdown: self.breakdown,
            dropped_at: self.dropped_at,
            limit: self.limit,
            offset: 0,
            saved: self.saved.clone(),
            unit: self.unit,
        })
    }
}

/// The journey graph's shape (the `journeys` report and the Sankey chart).
#[derive(Debug, Clone, clap::Args)]
pub struct GraphArgs {
    /// Steps (columns), 1 to 20.
    #[arg(long, default_value_t = bounds::STEPS.default)]
    pub steps: usize,
    /// Pages per step before the rest is grouped as "other", 1 to 100.
    #[arg(long, default_value_t = bounds::NODES.default)]
    pub nodes: usize,
    /// The lightest link shown (sessions).
    #[arg(long, default_value_t = bounds::MIN_LINK.default)]
    pub min_link: u32,
    /// Start every journey at this page.
    #[arg(long)]
    pub root: Option<String>,
    /// Pages to show even where they would be "other": STEP:PATH,STEP:PATH (steps from 0).
    #[arg(long)]
    pub expand: Option<String>,
    /// Custom events as nodes of their own, among the pages (event:NAME).
    #[arg(long)]
    pub events: bool,
}

impl GraphArgs {
    pub fn request(&self) -> Result<GraphRequest> {
        Ok(GraphRequest {
            steps: self.steps,
            nodes: self.nodes,
            min_link: self.min_link,
            root: self.root.clone(),
            expand: crate::service::request::parse_expand(self.expand.as_deref())?,
            events: self.events,
        })
    }
}

/// Pattern mining's options.
#[derive(Debug, Clone, clap::Args)]
pub(super) struct PatternArgs {
    /// Patterns listed, 1 to 1000.
    #[arg(long, default_value_t = bounds::PATTERN_TOP.default)]
    pub top: usize,
    /// Shortest pattern (pages), 1 to 20.
    #[arg(long, default_value_t = bounds::PATTERN_MIN_LEN.default)]
    pub min_len: usize,
    /// Longest pattern (pages), 1 to 20.
    #[arg(long, default_value_t = bounds::PATTERN_MAX_LEN.default)]
    pub max_len: usize,
    /// Only patterns in at least this many sessions.
    #[arg(long, default_value_t = bounds::PATTERN_MIN_SUPPORT.default)]
    pub min_support: u32,
    /// Every pattern at or above --min-support (at least 2), not only the top.
    #[arg(long)]
    pub all: bool,
}

impl PatternArgs {
    pub(super) fn request(&self) -> PatternsRequest {
        PatternsRequest {
            top: self.top,
            min_len: self.min_len,
            max_len: self.max_len,
            min_support: self.min_support,
            all: self.all,
        }
    }
}
