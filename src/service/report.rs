//! The reports trailmap answers, typed: each serialises to the JSON the API
//! sends (and `--json` prints) and lays itself out as [`Tables`] for the
//! CLI's text and CSV. A report holds the mining result it came from with
//! page ids swapped for page names; the mining result's own fields are
//! flattened in, not copied one by one.

use serde::Serialize;

use super::request::iso;
use super::table::{path_cell, Cell, Table, Tables};
use super::SearchReport;
use crate::event::{Acquisition, ClientInfo, Geo, Session};
use crate::mine::flow::{PageFlow, Transitions};
use crate::mine::frustration::{self, Moment, PageFrustration};
use crate::mine::funnel::{Funnel, FunnelStep};
use crate::mine::graph::{Link, Node};
use crate::mine::paths::PathCount;
use crate::mine::patterns::Pattern;
use crate::mine::stages::{StageCount, StageReport, StageSequence};
use crate::store::read::Overview;

/// A page and the sessions that took it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct PageSessions {
    pub page: String,
    pub sessions: u32,
}

/// A page and its views.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct PageViews {
    pub page: String,
    pub views: u32,
}

/// `paths`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct PathsReport {
    pub sessions: usize,
    pub paths: Vec<PathRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct PathRow {
    pub pages: Vec<String>,
    #[serde(flatten)]
    pub path: PathCount,
}

/// `funnel`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct FunnelReport {
    pub steps: Vec<FunnelStepRow>,
    #[serde(flatten)]
    pub funnel: Funnel,
    pub strict: bool,
    pub window_ms: i64,
    pub breakdown: Option<String>,
    /// What the counts count: sessions, or visitors (`unit=visitor`).
    pub unit: super::request::Unit,
    /// Per value of the breakdown, each step's sessions.
    pub groups: Vec<FunnelGroupRow>,
    /// The sessions that dropped at the step asked (`dropped_at`).
    pub dropped: Option<DroppedSessions>,
    /// Their ids, for the service to fill `dropped` from.
    #[serde(skip)]
    pub dropped_ids: Option<DroppedIds>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct FunnelGroupRow {
    pub value: String,
    /// Each step's sessions, in the steps' order.
    pub steps: Vec<u32>,
    pub overall_conversion: f64,
}

/// The sessions that reached a step and went no further.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct DroppedSessions {
    /// The step (from 1).
    pub step: usize,
    pub total: usize,
    pub sessions: Vec<SessionSummary>,
}

/// [`DroppedSessions`] before the sessions are read.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DroppedIds {
    pub step: usize,
    pub total: usize,
    pub ids: Vec<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct FunnelStepRow {
    /// The step's pattern, as asked.
    pub step: String,
    /// Its name, or the pattern when it has none.
    pub name: String,
    #[serde(flatten)]
    pub counts: FunnelStep,
    pub dropped_to: Vec<PageSessions>,
}

/// `journeys`: the graph behind the Sankey chart.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct GraphReport {
    pub nodes: Vec<NodeRow>,
    /// The site's stages in order, with the colour their nodes are drawn
    /// in (the same as the rendered Sankey chart's), and drop-off's.
    pub stages: Vec<StageColour>,
    pub drop_colour: String,
    pub links: Vec<Link>,
    /// Per step, the pages grouped into "other".
    pub other_pages: Vec<Vec<PageSessions>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct NodeRow {
    /// `None` for the step's "other" node.
    pub page: Option<String>,
    pub other: bool,
    /// The page's journey stage (its first matching one), if any.
    pub stage: Option<String>,
    /// `#rrggbb`: how both Sankey charts draw the node.
    pub colour: String,
    #[serde(flatten)]
    pub node: Node,
}

/// A journey stage and its colour.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct StageColour {
    pub name: String,
    pub colour: String,
}

/// `exits`: entries, exits, exit and bounce rates per page.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct ExitsReport {
    pub sessions: usize,
    pub pages: Vec<FlowRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct FlowRow {
    pub page: String,
    #[serde(flatten)]
    pub flow: PageFlow,
}

/// `transitions`: where visitors of one page came from and went.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct TransitionsReport {
    pub page: String,
    #[serde(flatten)]
    pub counts: Transitions,
    pub previous: Vec<PageViews>,
    pub previous_more: Vec<PageViews>,
    pub next: Vec<PageViews>,
    pub next_more: Vec<PageViews>,
}

/// `stages`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct StagesReport {
    #[serde(flatten)]
    pub report: StageReport,
    /// Sessions that viewed a goal page, and their share of all.
    pub converted: u32,
    pub conversion_rate: f64,
    pub stages: Vec<StageRow>,
    pub sequences: Vec<SequenceRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct StageRow {
    pub stage: String,
    #[serde(flatten)]
    pub counts: StageCount,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct SequenceRow {
    pub stages: Vec<String>,
    #[serde(flatten)]
    pub sequence: StageSequence,
}

/// `frustration`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct FrustrationReport {
    #[serde(flatten)]
    pub report: frustration::FrustrationReport,
    pub pages: Vec<FrustrationRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct FrustrationRow {
    pub page: String,
    #[serde(flatten)]
    pub counts: PageFrustration,
}

/// `moments`: pages ranked by excess exits, by frustration, and by both.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct MomentsReport {
    pub sessions: usize,
    #[serde(flatten)]
    pub moments: frustration::Moments,
    pub overall: Vec<MomentRow>,
    pub by_exits: Vec<MomentRow>,
    pub by_frustration: Vec<MomentRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct MomentRow {
    pub page: String,
    #[serde(flatten)]
    pub moment: Moment,
}

/// `patterns`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct PatternsReport {
    pub sessions: usize,
    pub patterns: Vec<PatternRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct PatternRow {
    pub pages: Vec<String>,
    #[serde(flatten)]
    pub pattern: Pattern,
}

/// `overview`: the headline figures, and each goal's conversions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct OverviewReport {
    #[serde(flatten)]
    pub overview: Overview,
    pub goals: super::conversions::GoalsReport,
}

/// Any report.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub(crate) enum Report {
    Overview(OverviewReport),
    Paths(PathsReport),
    Exits(ExitsReport),
    Transitions(TransitionsReport),
    Journeys(GraphReport),
    Funnel(FunnelReport),
    Stages(StagesReport),
    Frustration(FrustrationReport),
    Moments(MomentsReport),
    Patterns(PatternsReport),
    Events(super::conversions::EventsReport),
    Goals(super::conversions::GoalsReport),
    Revenue(super::conversions::RevenueReport),
    Contrast(super::insights::ContrastReport),
    Why(super::insights::WhyReport),
    Conformance(super::conformance::ConformanceReport),
    Errors(super::errors::ErrorsReport),
    Changes(super::changes::ChangesReport),
}

impl Report {
    /// The report laid out for a person (or a spreadsheet).
    pub(crate) fn tables(&self) -> Tables {
        match self {
            Report::Overview(o) => overview_tables(o),
            Report::Paths(r) => {
                let mut t = Table::new("paths", &["path", "sessions", "collapsed"]);
                for p in &r.paths {
                    t.row(vec![
                        path_cell(&p.pages),
                        p.path.sessions.into(),
                        p.path.collapsed_middle.into(),
                    ]);
                }
                Tables {
                    summary: vec![("sessions", r.sessions.into())],
                    tables: vec![t],
                }
            }
            Report::Exits(r) => {
                let mut t = Table::new(
                    "pages",
                    &[
                        "page",
                        "views",
                        "entries",
                        "exits",
                        "exit rate",
                        "bounces",
                        "bounce rate",
                    ],
                );
                for p in &r.pages {
                    let f = &p.flow;
                    t.row(vec![
                        p.page.as_str().into(),
                        f.views.into(),
                        f.entries.into(),
                        f.exits.into(),
                        Cell::Rate(f.exit_rate),
                        f.bounces.into(),
                        Cell::Rate(f.bounce_rate),
                    ]);
                }
                Tables {
                    summary: vec![("sessions", r.sessions.into())],
                    tables: vec![t],
                }
            }
            Report::Transitions(r) => {
                let mut t = Table::new("transitions", &["direction", "page", "views"]);
                let lists = [
                    ("from", &r.previous),
                    ("from (more)", &r.previous_more),
                    ("to", &r.next),
                    ("to (more)", &r.next_more),
                ];
                for (direction, list) in lists {
                    for p in list {
                        t.row(vec![
                            direction.into(),
                            p.page.as_str().into(),
                            p.views.into(),
                        ]);
                    }
                }
                let c = &r.counts;
                Tables {
                    summary: vec![
                        ("page", r.page.as_str().into()),
                        ("views", c.views.into()),
                        ("entries", c.entries.into()),
                        ("exits", c.exits.into()),
                        ("from other pages", c.previous_other.into()),
                        ("to other pages", c.next_other.into()),
                    ],
                    tables: vec![t],
                }
            }
            Report::Journeys(r) => {
                let mut t = Table::new("nodes", &["step", "page", "sessions", "drop-off"]);
                for n in &r.nodes {
                    let page = match &n.page {
                        Some(p) => p.as_str().into(),
                        None => "(other)".into(),
                    };
                    t.row(vec![
                        (n.node.step + 1).into(),
                        page,
                        n.node.sessions.into(),
                        n.node.drop_off.into(),
                    ]);
                }
                let mut links = Table::new("links", &["from", "to", "sessions"]);
                let name = |i: usize| {
                    r.nodes.get(i).map_or(Cell::Empty, |n| {
                        let page = n.page.as_deref().unwrap_or("(other)");
                        Cell::Text(format!("{}. {page}", n.node.step + 1))
                    })
                };
                for l in &r.links {
                    links.row(vec![name(l.from), name(l.to), l.sessions.into()]);
                }
                Tables {
                    summary: vec![],
                    tables: vec![t, links],
                }
            }
            Report::Funnel(r) => {
                let mut t = Table::new(
                    "steps",
                    &[
                        "step",
                        "sessions",
                        "from previous",
                        "from start",
                        "dropped",
                        "exited",
                        "dropped to",
                    ],
                );
                for s in &r.steps {
                    let c = &s.counts;
                    let to: Vec<String> = s
                        .dropped_to
                        .iter()
                        .take(3)
                        .map(|p| format!("{} ({})", p.page, p.sessions))
                        .collect();
                    t.row(vec![
                        s.name.as_str().into(),
                        c.sessions.into(),
                        Cell::Rate(c.conversion_from_previous),
                        Cell::Rate(c.conversion_from_start),
                        c.dropped.into(),
                        c.dropped_exited.into(),
                        to.join(", ").into(),
                    ]);
                }
                Tables {
                    summary: vec![
                        (
                            "overall conversion",
                            Cell::Rate(r.funnel.overall_conversion),
                        ),
                        ("window (minutes)", ((r.window_ms / 60_000) as u64).into()),
                        ("strict", r.strict.into()),
                    ],
                    tables: vec![t],
                }
            }
            Report::Stages(r) => {
                let mut t = Table::new(
                    "stages",
                    &[
                        "stage",
                        "visited",
                        "reached",
                        "deepest",
                        "from previous",
                        "from start",
                        "drop-off",
                        "skipped",
                    ],
                );
                for s in &r.stages {
                    let c = &s.counts;
                    let name = if c.side {
                        format!("{} (side)", s.stage)
                    } else {
                        s.stage.clone()
                    };
                    t.row(vec![
                        name.as_str().into(),
                        c.visited.into(),
                        c.reached.into(),
                        c.deepest.into(),
                        Cell::Rate(c.conversion_from_previous),
                        Cell::Rate(c.conversion_from_start),
                        Cell::Rate(c.drop_off_rate),
                        c.skipped.into(),
                    ]);
                }
                let mut seq = Table::new("orders", &["stages", "sessions"]);
                for s in &r.sequences {
                    seq.row(vec![path_cell(&s.stages), s.sequence.sessions.into()]);
                }
                Tables {
                    summary: vec![
                        ("sessions", r.report.sessions.into()),
                        ("converted (reached a goal)", r.converted.into()),
                        ("conversion rate", Cell::Rate(r.conversion_rate)),
                        ("unstaged", r.report.unstaged.into()),
                    ],
                    tables: vec![t, seq],
                }
            }
            Report::Frustration(r) => {
                let mut t = Table::new(
                    "pages",
                    &[
                        "page",
                        "views",
                        "frustrated",
                        "rate",
                        "rage clicks",
                        "dead clicks",
                        "errors",
                        "js errors",
                        "error clicks",
                        "quick backs",
                        "loops",
                    ],
                );
                for p in &r.pages {
                    let c = &p.counts;
                    t.row(vec![
                        p.page.as_str().into(),
                        c.views.into(),
                        c.frustrated_views.into(),
                        Cell::Rate(c.frustration_rate),
                        c.rage_clicks.into(),
                        c.dead_clicks.into(),
                        c.errors.into(),
                        c.js_errors.into(),
                        c.error_clicks.into(),
                        c.quick_backs.into(),
                        c.loops.into(),
                    ]);
                }
                let mut worst = Table::new(
                    "most frustrated sessions",
                    &[
                        "session",
                        "score",
                        "rage clicks",
                        "dead clicks",
                        "errors",
                        "js errors",
                        "error clicks",
                        "quick backs",
                        "loops",
                    ],
                );
                for s in &r.report.worst_sessions {
                    worst.row(vec![
                        (s.session_id.max(0) as u64).into(),
                        s.score.into(),
                        s.rage_clicks.into(),
                        s.dead_clicks.into(),
                        s.errors.into(),
                        s.js_errors.into(),
                        s.error_clicks.into(),
                        s.quick_backs.into(),
                        s.loops.into(),
                    ]);
                }
                Tables {
                    summary: vec![
                        ("sessions", r.report.sessions.into()),
                        ("frustrated sessions", r.report.frustrated_sessions.into()),
                    ],
                    tables: vec![t, worst],
                }
            }
            Report::Moments(r) => {
                let mut t = Table::new(
                    "moments",
                    &[
                        "ranking",
                        "page",
                        "views",
                        "exits",
                        "exit rate",
                        "excess exits",
                        "frustrated",
                        "frustration rate",
                        "impact",
                    ],
                );
                let lists = [
                    ("overall", &r.overall),
                    ("by exits", &r.by_exits),
                    ("by frustration", &r.by_frustration),
                ];
                for (ranking, list) in lists {
                    for m in list {
                        let c = &m.moment;
                        t.row(vec![
                            ranking.into(),
                            m.page.as_str().into(),
                            c.views.into(),
                            c.exits.into(),
                            Cell::Rate(c.exit_rate),
                            Cell::Number(c.excess_exits),
                            c.frustrated_views.into(),
                            Cell::Rate(c.frustration_rate),
                            Cell::Number(c.impact),
                        ]);
                    }
                }
                Tables {
                    summary: vec![
                        ("sessions", r.sessions.into()),
                        ("site exit rate", Cell::Rate(r.moments.exit_rate)),
                    ],
                    tables: vec![t],
                }
            }
            Report::Patterns(r) => {
                let mut t = Table::new("patterns", &["pattern", "sessions"]);
                for p in &r.patterns {
                    t.row(vec![path_cell(&p.pages), p.pattern.support.into()]);
                }
                Tables {
                    summary: vec![("sessions", r.sessions.into())],
                    tables: vec![t],
                }
            }
            Report::Events(r) => r.tables(),
            Report::Goals(r) => r.tables(),
            Report::Revenue(r) => r.tables(),
            Report::Contrast(r) => r.tables(),
            Report::Why(r) => r.tables(),
            Report::Conformance(r) => r.tables(),
            Report::Errors(r) => r.tables(),
            Report::Changes(r) => r.tables(),
        }
    }
}

fn overview_tables(r: &OverviewReport) -> Tables {
    let o = &r.overview;
    let mut t = Table::new("top", &["dimension", "value", "sessions"]);
    let lists = [
        ("entry page", &o.entry_pages),
        ("exit page", &o.exit_pages),
        ("channel", &o.channels),
        ("country", &o.countries),
        ("device", &o.devices),
    ];
    for (dimension, list) in lists {
        for c in list {
            t.row(vec![
                dimension.into(),
                c.name.as_str().into(),
                c.sessions.into(),
            ]);
        }
    }
    Tables {
        summary: vec![
            ("sessions", o.sessions.into()),
            ("visitors", o.visitors.into()),
            ("page views", o.page_views.into()),
            ("bounce rate", Cell::Rate(o.bounce_rate)),
            ("mean duration (s)", Cell::Number(o.mean_duration_s)),
            ("conversion rate", Cell::Rate(r.goals.conversion_rate)),
        ],
        tables: vec![t, r.goals.tables().tables.swap_remove(0)],
    }
}

/// A session's summary, as lists and searches show it: the stored session's
/// acquisition, location and client flattened in, times as RFC 3339.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct SessionSummary {
    pub id: i64,
    pub source: &'static str,
    /// RFC 3339, UTC.
    pub start: String,
    pub end: String,
    pub duration_ms: i64,
    pub entry_page: Option<String>,
    pub exit_page: Option<String>,
    pub page_count: u32,
    pub event_count: u32,
    #[serde(flatten)]
    pub acquisition: Acquisition,
    #[serde(flatten)]
    pub geo: Geo,
    #[serde(flatten)]
    pub client: ClientInfo,
    pub rage_clicks: u32,
    pub dead_clicks: u32,
    pub error_pages: u32,
    /// JavaScript errors the tag's error capture sent.
    pub js_errors: u32,
}

impl SessionSummary {
    pub(crate) fn of(s: &Session) -> SessionSummary {
        SessionSummary {
            id: s.id,
            source: s.source.as_str(),
            start: iso(s.start),
            end: iso(s.end),
            duration_ms: s.duration_ms(),
            entry_page: s.entry_page.clone(),
            exit_page: s.exit_page.clone(),
            page_count: s.page_count,
            event_count: s.event_count,
            acquisition: s.acquisition.clone(),
            geo: s.geo.clone(),
            client: s.client.clone(),
            rage_clicks: s.rage_clicks,
            dead_clicks: s.dead_clicks,
            error_pages: s.error_pages,
            js_errors: s.js_errors,
        }
    }
}

impl SearchReport {
    pub(crate) fn tables(&self) -> Tables {
        let mut t = Table::new(
            "sessions",
            &[
                "session",
                "start",
                "duration (s)",
                "pages",
                "entry",
                "exit",
                "channel",
                "country",
                "device",
            ],
        );
        for s in &self.sessions {
            t.row(vec![
                (s.id.max(0) as u64).into(),
                s.start.as_str().into(),
                ((s.duration_ms.max(0) / 1000) as u64).into(),
                s.page_count.into(),
                s.entry_page.as_deref().unwrap_or("-").into(),
                s.exit_page.as_deref().unwrap_or("-").into(),
                s.acquisition.channel.as_str().into(),
                s.geo.country.as_deref().unwrap_or("-").into(),
                s.client.device.as_str().into(),
            ]);
        }
        let mut summary = vec![("matching sessions", self.total.into())];
        for h in &self.hints {
            summary.push(("hint", h.as_str().into()));
        }
        Tables {
            summary,
            tables: vec![t],
        }
    }
}
