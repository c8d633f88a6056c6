//! Insights for both doors, over an [`Analysis`]: `contrast`, what
//! separates two groups of sessions (buyers against the rest by default),
//! and `why`, the reasons of the sessions that reached a decision point
//! and left without converting ([`crate::mine::why`]).
//!
//! The groups are written as text ([`Segment`]) and resolved here against
//! the site's goals, pages, events and the breakdown's codes; mining
//! ([`crate::mine::contrast`]) then counts and tests. Beyond
//! [`SAMPLE_LIMIT`] sessions (`--insights-sample-sessions`) a
//! deterministic sample (by a hash of the session id) keeps the answer
//! within the read engine's time bar; the answer says its rate. `why`
//! samples past the same limit on a site with replay layouts, whose
//! layouts it reads for each session that left ([`new_content`]), and
//! reads at most [`NEW_CONTENT_READS`] of them there; without layouts, it
//! counts every session.

use rustc_hash::FxHashSet;
use serde::Serialize;

use super::analysis::Analysis;
use super::error::{Result, ServiceError};
use super::new_content;
use super::request::{ContrastRequest, Segment, WhyRequest};
use super::table::{Cell, Table, Tables};
use crate::event::{Dimension, TargetSpec};
use crate::mine::contrast::{self, ContrastQuery, Contrasted, Item, Side};
use crate::mine::conversions::Target;
use crate::mine::why;
use crate::mine::{ratio, JourneyRef, PageId, NO_CODE};

/// Sessions `contrast` and `why` (on a site with replay layouts) count in
/// full before they sample, unless `--insights-sample-sessions` says.
pub(crate) const SAMPLE_LIMIT: usize = 1_000_000;
/// Rows with a Benjamini-Hochberg q-value above this are not listed.
pub(crate) const ALPHA: f64 = 0.05;
/// Patterns mined in each group as candidates.
const CANDIDATES: usize = 200;
/// Sessions of each group the candidates are mined from, at most (every
/// k-th beyond): mining is most of the time; a pattern frequent in the
/// group is frequent in 50,000 of its sessions, and counts are exact.
const CANDIDATE_SESSIONS: usize = 50_000;

/// A group resolved: who is in it, and what defines it (left out of the
/// items, since it separates the groups by definition).
enum Member {
    Targets(Vec<Target>),
    Group(u32),
    /// Sessions that viewed one of these pages (by page id).
    Pages(Vec<bool>),
    Rest,
}

impl Member {
    fn holds(&self, j: &JourneyRef<'_>) -> bool {
        match self {
            Member::Targets(t) => t.iter().any(|t| t.reached(j)),
            Member::Group(code) => j.group == *code,
            Member::Pages(pages) => j
                .pages
                .iter()
                .any(|p| pages.get(*p as usize).copied().unwrap_or(false)),
            Member::Rest => false,
        }
    }
}

/// A search query's clause for a value (quoted unless it is one word).
fn quoted(v: &str) -> String {
    if !v.is_empty()
        && !v
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '"' | '(' | ')'))
    {
        v.to_string()
    } else {
        format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

/// The search clause that finds a group's sessions, where search can say it.
fn search_clause(seg: &Segment, other: &Segment) -> Option<String> {
    let field = |d: Dimension| match d {
        Dimension::EntryPage => "entry",
        d => d.as_str(),
    };
    match seg {
        Segment::Converted => Some("converted:true".into()),
        Segment::Dimension(d, v) => Some(format!("{}:{}", field(*d), quoted(v))),
        Segment::Reached(t) => match TargetSpec::parse(t).ok()? {
            TargetSpec::Event {
                name,
                property: None,
            } => Some(format!("event:{}", quoted(&name))),
            _ => None,
        },
        Segment::Rest => search_clause(other, seg).map(|c| match c.as_str() {
            "converted:true" => "converted:false".into(),
            _ => format!("-{c}"),
        }),
    }
}

impl Analysis {
    fn member(&self, seg: &Segment, dim: Option<Dimension>) -> Result<Member> {
        Ok(match seg {
            Segment::Converted => {
                Member::Targets(self.goal_targets()?.into_iter().map(|(_, t)| t).collect())
            }
            Segment::Rest => Member::Rest,
            Segment::Reached(text) => {
                let spec = TargetSpec::parse(text).map_err(ServiceError::invalid)?;
                Member::Targets(vec![self.target(&spec, None)?])
            }
            Segment::Dimension(d, value) => {
                let code = if *d == Dimension::EntryPage {
                    self.page(value).ok()
                } else {
                    self.vocabulary
                        .groups
                        .iter()
                        .position(|g| &**g == value.as_str())
                        .map(|c| c as u32)
                };
                debug_assert_eq!(dim, Some(*d));
                Member::Group(code.ok_or_else(|| {
                    ServiceError::NotFound(format!(
                        "no session in this range has {}={value}",
                        d.as_str()
                    ))
                })?)
            }
        })
    }

    /// `contrast`: the pages, events and patterns over-represented in
    /// group `a` against group `b`, and in `b` against `a`; beyond
    /// `sample` sessions, over a deterministic sample.
    pub(crate) fn contrast(&self, r: &ContrastRequest, sample: usize) -> Result<ContrastReport> {
        let dim = r.dimension();
        let a = self.member(&r.a, dim)?;
        let b = self.member(&r.b, dim)?;
        // What defines a group is not an answer.
        let mut excluded_pages = vec![false; self.pages.len()];
        let mut excluded_events = FxHashSet::default();
        for (seg, m) in [(&r.a, &a), (&r.b, &b)] {
            if let (Segment::Dimension(Dimension::EntryPage, _), Member::Group(page)) = (seg, m) {
                excluded_pages[*page as usize] = true;
            }
            if let Member::Targets(targets) = m {
                for t in targets {
                    for (page, hit) in t.pages.iter().enumerate() {
                        excluded_pages[page] |= *hit;
                    }
                    if let Some((name, _)) = t.event {
                        if name != NO_CODE {
                            excluded_events.insert(name);
                        }
                    }
                }
            }
        }
        let sessions = self.journeys.len();
        let every = sessions.div_ceil(sample.max(1)).max(1) as u64;
        let b_is_rest = matches!(b, Member::Rest);
        let side = |j: &JourneyRef<'_>| {
            let in_a = a.holds(j);
            if b_is_rest {
                return if in_a { Side::A } else { Side::B };
            }
            // A session in both groups is in neither.
            match (in_a, b.holds(j)) {
                (true, false) => Side::A,
                (false, true) => Side::B,
                _ => Side::Neither,
            }
        };
        let found = contrast::contrast(
            &*self.journeys,
            side,
            &excluded_pages,
            &excluded_events,
            &ContrastQuery {
                top: r.top,
                max_len: r.max_len,
                candidates: CANDIDATES,
                candidate_sessions: CANDIDATE_SESSIONS,
                alpha: ALPHA,
                sample_every: every,
            },
            &self.cancel,
        );
        self.finished()?;
        let (na, nb) = (found.sessions_a, found.sessions_b);
        let clauses = (search_clause(&r.a, &r.b), search_clause(&r.b, &r.a));
        let rows = |list: &[Contrasted]| -> Vec<ContrastRow> {
            list.iter()
                .map(|c| self.contrast_row(c, na, nb, &clauses))
                .collect()
        };
        let lists = |pair: &[Vec<Contrasted>; 2]| ContrastLists {
            more_in_a: rows(&pair[0]),
            more_in_b: rows(&pair[1]),
        };
        Ok(ContrastReport {
            a: r.a.text(),
            b: r.b.text(),
            sessions_a: na,
            sessions_b: nb,
            left_out: found.neither,
            sessions: sessions as u64,
            sample_rate: 1.0 / every as f64,
            tested: found.tested,
            alpha: ALPHA,
            pages: lists(&found.pages),
            events: lists(&found.events),
            patterns: lists(&found.patterns),
        })
    }

    fn contrast_row(
        &self,
        c: &Contrasted,
        na: u32,
        nb: u32,
        (in_a, in_b): &(Option<String>, Option<String>),
    ) -> ContrastRow {
        let (steps, kind, has) = self.described(&c.item);
        let with = |group: &Option<String>| {
            group.as_ref().map(|g| {
                let mut all = has.clone();
                all.push(g.clone());
                all.join(" AND ")
            })
        };
        let (share_a, share_b) = (ratio(c.a, na), ratio(c.b, nb));
        ContrastRow {
            kind,
            steps,
            also: c.also.iter().map(|i| self.described(i).0).collect(),
            a: c.a,
            b: c.b,
            share_a,
            share_b,
            difference: share_a - share_b,
            lift: (share_b > 0.0).then(|| share_a / share_b),
            p: c.p,
            q: c.q,
            search_a: with(in_a),
            search_b: with(in_b),
        }
    }

    /// An item's steps as shown, its kind, and the search clauses that
    /// find sessions holding it.
    fn described(&self, item: &Item) -> (Vec<String>, &'static str, Vec<String>) {
        match item {
            Item::Page(p) => {
                let name = self.name(*p);
                let q = format!("page:{}", quoted(&name));
                (vec![name], "page", vec![q])
            }
            Item::Event(e) => {
                let name = self
                    .vocabulary
                    .events
                    .get(*e as usize)
                    .map_or_else(String::new, |n| n.to_string());
                let q = format!("event:{}", quoted(&name));
                (vec![format!("event:{name}")], "event", vec![q])
            }
            Item::Pattern(pages) => {
                let names: Vec<String> = pages.iter().map(|p: &PageId| self.name(*p)).collect();
                let mut qs: Vec<String> = names
                    .iter()
                    .map(|n| format!("page:{}", quoted(n)))
                    .collect();
                qs.dedup();
                (names, "pattern", qs)
            }
        }
    }
}

/// `contrast`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct ContrastReport {
    /// The groups as written.
    pub a: String,
    pub b: String,
    /// Sessions in each group (within the sample).
    pub sessions_a: u32,
    pub sessions_b: u32,
    /// Sessions in both groups or in neither (within the sample).
    pub left_out: u32,
    /// Sessions in the range before sampling.
    pub sessions: u64,
    /// The share of sessions walked: 1 up to a million, then one in
    /// ceil(sessions / 1M) by a hash of the session id.
    pub sample_rate: f64,
    /// Items tested (pages, events and candidate patterns): the family the
    /// q-values hold together.
    pub tested: usize,
    /// Rows with a q-value above this are not listed.
    pub alpha: f64,
    pub pages: ContrastLists,
    pub events: ContrastLists,
    pub patterns: ContrastLists,
}

/// One kind of item, each side's over-represented rows, the largest
/// difference in share first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct ContrastLists {
    pub more_in_a: Vec<ContrastRow>,
    pub more_in_b: Vec<ContrastRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct ContrastRow {
    /// `page`, `event` or `pattern`.
    pub kind: &'static str,
    /// The page, the event (`event:NAME`) or the pattern's pages in order.
    pub steps: Vec<String>,
    /// Items of the same kind held by exactly the same sessions (shown
    /// once, as this row).
    pub also: Vec<Vec<String>>,
    /// Sessions of each group that went through it.
    pub a: u32,
    pub b: u32,
    pub share_a: f64,
    pub share_b: f64,
    /// share_a - share_b.
    pub difference: f64,
    /// share_a / share_b (none when no session of b did).
    pub lift: Option<f64>,
    /// Fisher's exact test (two-sided) and its Benjamini-Hochberg q-value.
    pub p: f64,
    pub q: f64,
    /// A search for the group's sessions with these pages or this event
    /// (a pattern's pages in any order), where search can name the group.
    pub search_a: Option<String>,
    pub search_b: Option<String>,
}

/// A row's item as one line, with the items of the same sessions.
fn item_text(r: &ContrastRow) -> String {
    let mut text = r.steps.join(" … ");
    for other in &r.also {
        text.push_str(" = ");
        text.push_str(&other.join(" … "));
    }
    text
}

/// A p-value as people read it.
fn p_text(p: f64) -> String {
    if p == 0.0 {
        "< 1e-300".into()
    } else if p >= 0.001 {
        format!("{p:.3}")
    } else {
        format!("{p:.1e}")
    }
}

impl ContrastReport {
    pub(crate) fn tables(&self) -> Tables {
        let columns = [
            "kind",
            "more in",
            "item",
            "a sessions",
            "b sessions",
            "a share",
            "b share",
            "difference",
            "lift",
            "q",
        ];
        let mut t = Table::new("contrast", &columns);
        for (label, lists) in [
            ("page", &self.pages),
            ("event", &self.events),
            ("pattern", &self.patterns),
        ] {
            for (side, rows) in [("a", &lists.more_in_a), ("b", &lists.more_in_b)] {
                for r in rows {
                    t.row(vec![
                        label.into(),
                        side.into(),
                        item_text(r).into(),
                        r.a.into(),
                        r.b.into(),
                        Cell::Rate(r.share_a),
                        Cell::Rate(r.share_b),
                        Cell::Rate(r.difference),
                        r.lift.map_or(Cell::Empty, Cell::Number),
                        Cell::Text(p_text(r.q)),
                    ]);
                }
            }
        }
        Tables {
            summary: vec![
                ("a", self.a.as_str().into()),
                ("b", self.b.as_str().into()),
                ("a sessions", self.sessions_a.into()),
                ("b sessions", self.sessions_b.into()),
                ("left out (both or neither)", self.left_out.into()),
                ("sample rate", Cell::Rate(self.sample_rate)),
                ("items tested", (self.tested as u64).into()),
            ],
            tables: vec![t],
        }
    }
}

/// Sessions that left whose layouts `why` reads for new content once the
/// selection is past the sample limit (two keyed reads each, about 4 µs:
/// within the read engine's second at 10M sessions).
pub(crate) const NEW_CONTENT_READS: usize = 10_000;

/// Where `why` starts when not told: the stage of this name, else the
/// deepest stage that is not a side stage.
const DECISION_STAGE: &str = "decision";

impl Analysis {
    /// `why`: the reasons of the sessions that reached `at` and did not
    /// convert, each with its share, exit pages, segments and sessions.
    /// `layouts` is the site's store when some of its page views have a
    /// layout, for `new_content` ([`new_content`]); then beyond `sample`
    /// sessions, a deterministic sample.
    pub(crate) fn why(
        &self,
        r: &WhyRequest,
        layouts: Option<(&rusqlite::Connection, i64)>,
        sample: usize,
    ) -> Result<WhyReport> {
        let (at, reached) = self.decision_point(r.at.as_deref())?;
        let goals: Vec<Target> = self.goal_targets()?.into_iter().map(|(_, t)| t).collect();
        let converted = |j: &JourneyRef<'_>| goals.iter().any(|g| g.reached(j));
        // The layouts are read per session that left (two keyed reads
        // each): up to `sample` sessions all of them; beyond, the answer
        // is a deterministic sample (by a hash of the session id), every
        // reason counted on it, of one session in ceil(sessions / sample)
        // and of at most NEW_CONTENT_READS that left.
        let mut every = 1u64;
        let seen = match layouts {
            Some((conn, site_id)) => {
                let mut left = why::leaving(
                    &*self.journeys,
                    |j| reached.holds(j),
                    converted,
                    &self.cancel,
                );
                self.finished()?;
                let sessions = self.journeys.len();
                if sessions > sample {
                    every = sessions
                        .div_ceil(sample.max(1))
                        .max(left.len().div_ceil(NEW_CONTENT_READS))
                        .max(1) as u64;
                    left.retain(|id| contrast::sampled(*id, every));
                }
                new_content::find(conn, site_id, &left, &self.cancel)?
            }
            None => Default::default(),
        };
        let reached =
            |j: &JourneyRef<'_>| contrast::sampled(j.session_id, every) && reached.holds(j);
        let counts = why::why(
            &*self.journeys,
            reached,
            converted,
            |id| seen.contains_key(&id),
            &self.cancel,
        );
        self.finished()?;
        let top_of = |map: &rustc_hash::FxHashMap<u32, u32>| {
            let mut rows: Vec<(u32, u32)> = map.iter().map(|(k, v)| (*k, *v)).collect();
            rows.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(&y.0)));
            rows.truncate(r.top);
            rows
        };
        let mut reasons: Vec<WhyRow> = counts
            .reasons
            .iter()
            .filter(|(_, c)| c.sessions > 0)
            .map(|(reason, c)| WhyRow {
                reason: reason.code(),
                label: reason.label(),
                sessions: c.sessions,
                share: ratio(c.sessions, counts.left),
                exits: top_of(&c.exits)
                    .into_iter()
                    .map(|(page, n)| WhyCount {
                        value: self.name(page),
                        sessions: n,
                        share: ratio(n, c.sessions),
                    })
                    .collect(),
                groups: r.breakdown.map(|dim| {
                    top_of(&c.groups)
                        .into_iter()
                        .map(|(code, n)| {
                            let left = counts.left_by_group.get(&code).copied().unwrap_or(0);
                            WhyCount {
                                value: self.group_name(Some(dim), code),
                                sessions: n,
                                // Of that segment's sessions that left.
                                share: ratio(n, left),
                            }
                        })
                        .collect()
                }),
                examples: c.examples.clone(),
                elements: None,
                errors: None,
                lines: (*reason == why::Reason::NewContent).then(|| new_lines(&seen)),
            })
            .collect();
        reasons.sort_by_key(|r| std::cmp::Reverse(r.sessions));
        Ok(WhyReport {
            at,
            reached: counts.reached,
            converted: counts.converted,
            left: counts.left,
            breakdown: r.breakdown.map(|d| d.as_str()),
            sample_rate: 1.0 / every as f64,
            reasons,
        })
    }

    /// The decision point as written back (`stage:decision`), and who
    /// reached it.
    fn decision_point(&self, at: Option<&str>) -> Result<(String, Member)> {
        let stage_named = |name: &str| {
            self.settings
                .stages
                .iter()
                .position(|s| s.name.eq_ignore_ascii_case(name))
        };
        let stage = match at {
            Some(text) => match text.strip_prefix("stage:") {
                Some(name) => Some(stage_named(name.trim()).ok_or_else(|| {
                    let names: Vec<&str> = self
                        .settings
                        .stages
                        .iter()
                        .map(|s| s.name.as_str())
                        .collect();
                    ServiceError::NotFound(format!(
                        "at: no stage {name:?} (the site's stages: {})",
                        names.join(", ")
                    ))
                })?),
                None => {
                    let spec = TargetSpec::parse(text).map_err(ServiceError::invalid)?;
                    let target = self.target(&spec, None)?;
                    return Ok((text.to_string(), Member::Targets(vec![target])));
                }
            },
            None => stage_named(DECISION_STAGE)
                .or_else(|| self.settings.stages.iter().rposition(|s| !s.side)),
        };
        let Some(stage) = stage else {
            return Err(ServiceError::invalid(
                "at: the site has no journey stages; name a page or an event (at=^/cart)",
            ));
        };
        let map = self.stage_map()?;
        let pages: Vec<bool> = map.of.iter().map(|s| *s == Some(stage as u8)).collect();
        Ok((
            format!("stage:{}", self.settings.stages[stage].name),
            Member::Pages(pages),
        ))
    }
}

/// `why`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct WhyReport {
    /// The decision point: `stage:NAME` or the target as written.
    pub at: String,
    /// Sessions that reached it, those of them that converted, and the
    /// rest, who left: the sessions the reasons are about.
    pub reached: u32,
    pub converted: u32,
    pub left: u32,
    pub breakdown: Option<&'static str>,
    /// 1, or the share of sessions counted: the site has replay layouts,
    /// which are read for each session that left, and more sessions than
    /// the sample limit ([`SAMPLE_LIMIT`] unless set); every count is of
    /// one session in `1 / sample_rate` (by a hash of its id), at most
    /// one in ceil(sessions / limit), fewer when more than
    /// [`NEW_CONTENT_READS`] of those would have left.
    pub sample_rate: f64,
    /// Most sessions first. A session has every reason its last views
    /// show, so the shares may add up to more than 1.
    pub reasons: Vec<WhyRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct WhyRow {
    /// `error_page`, `js_error`, `new_content`, `rage_clicks`,
    /// `dead_clicks`, `quick_back`, `loop`, `quick_exit`, `long_stay`,
    /// `no_sign`.
    pub reason: &'static str,
    pub label: &'static str,
    pub sessions: u32,
    /// Of the sessions that left.
    pub share: f64,
    /// Where they left, most first (share of the reason's sessions).
    pub exits: Vec<WhyCount>,
    /// With a breakdown: the segments, most first (share of the segment's
    /// sessions that left).
    pub groups: Option<Vec<WhyCount>>,
    /// The newest sessions with the reason (ids, for the player).
    pub examples: Vec<i64>,
    /// For `rage_clicks` and `dead_clicks`: the elements clicked so on the
    /// exit page in those example sessions, with how many of them.
    pub elements: Option<Vec<WhyElement>>,
    /// For `js_error`: the JavaScript errors of those example sessions'
    /// last two views, by message, with how many of them.
    pub errors: Option<Vec<WhyError>>,
    /// For `new_content`: the lines the exit views showed that the views
    /// before did not, by how many of the reason's sessions saw each.
    pub lines: Option<Vec<WhyLine>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct WhyLine {
    pub line: String,
    pub sessions: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct WhyError {
    pub message: String,
    pub sessions: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct WhyElement {
    /// The tracker's CSS selector of the element.
    pub selector: String,
    pub sessions: u32,
}

/// Elements listed per reason.
const ELEMENTS: usize = 5;

/// The lines `new_content`'s sessions saw added, by how many of them (each
/// session's lines once), most first.
fn new_lines(seen: &new_content::NewContent) -> Vec<WhyLine> {
    let mut by: rustc_hash::FxHashMap<&str, u32> = Default::default();
    for added in seen.values() {
        let mut once: Vec<&str> = added.iter().map(String::as_str).collect();
        once.sort_unstable();
        once.dedup();
        for line in once {
            *by.entry(line).or_default() += 1;
        }
    }
    let mut lines: Vec<WhyLine> = by
        .into_iter()
        .map(|(line, sessions)| WhyLine {
            line: line.to_string(),
            sessions,
        })
        .collect();
    lines.sort_by(|x, y| y.sessions.cmp(&x.sessions).then(x.line.cmp(&y.line)));
    lines.truncate(ELEMENTS);
    lines
}

/// Names what is behind `rage_clicks` and `dead_clicks` (the selectors of
/// the clicks so flagged after the last page view of each example session,
/// the exit page) and `js_error` (the messages of the errors in the last
/// two views), read from the event log. Only the examples: a handful of
/// reads, whatever the site's size.
pub(crate) fn name_elements(
    conn: &rusqlite::Connection,
    site_id: i64,
    report: &mut WhyReport,
) -> Result<()> {
    use crate::event::{EventKind, JS_ERROR_EVENT};
    for row in &mut report.reasons {
        // Which events name the reason, read from how many views before
        // the end, and what of them is the name.
        let (views, name): (usize, fn(&crate::store::read::StoredEvent) -> Option<&str>) =
            match row.reason {
                "rage_clicks" => (1, |e| clicked(e, "rage")),
                "dead_clicks" => (1, |e| clicked(e, "dead")),
                "js_error" => (2, |e| {
                    let named = e.kind == EventKind::Custom
                        && e.detail.get("name").and_then(|v| v.as_str()) == Some(JS_ERROR_EVENT);
                    named
                        .then(|| e.detail.get("props")?.get("message")?.as_str())
                        .flatten()
                }),
                _ => continue,
            };
        let mut by: std::collections::BTreeMap<String, u32> = Default::default();
        for id in &row.examples {
            let Some(d) = crate::store::read::session_detail(conn, site_id, *id)? else {
                continue;
            };
            let views_at: Vec<usize> = d
                .events
                .iter()
                .enumerate()
                .filter(|(_, e)| e.kind == EventKind::Pageview)
                .map(|(i, _)| i)
                .collect();
            let from = views_at.len().checked_sub(views).map_or(0, |k| views_at[k]);
            let mut seen: Vec<&str> = Vec::new();
            for e in &d.events[from..] {
                if let Some(n) = name(e).filter(|n| !seen.contains(n)) {
                    seen.push(n);
                }
            }
            for n in seen {
                *by.entry(n.to_string()).or_default() += 1;
            }
        }
        let mut named: Vec<(String, u32)> = by.into_iter().collect();
        named.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(&y.0)));
        named.truncate(ELEMENTS);
        if row.reason == "js_error" {
            row.errors = Some(
                named
                    .into_iter()
                    .map(|(message, sessions)| WhyError { message, sessions })
                    .collect(),
            );
        } else {
            row.elements = Some(
                named
                    .into_iter()
                    .map(|(selector, sessions)| WhyElement { selector, sessions })
                    .collect(),
            );
        }
    }
    Ok(())
}

/// The selector of a click flagged `flag` (`rage`, `dead`).
fn clicked<'a>(e: &'a crate::store::read::StoredEvent, flag: &str) -> Option<&'a str> {
    let flagged = e.detail.get(flag).and_then(|v| v.as_bool()) == Some(true);
    if e.kind != crate::event::EventKind::Click || !flagged {
        return None;
    }
    e.detail.get("sel").and_then(|v| v.as_str())
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct WhyCount {
    pub value: String,
    pub sessions: u32,
    pub share: f64,
}

impl WhyReport {
    pub(crate) fn tables(&self) -> Tables {
        let mut t = Table::new(
            "reasons",
            &[
                "reason",
                "sessions",
                "share of left",
                "left most on",
                "elements",
                "examples",
            ],
        );
        for r in &self.reasons {
            let exits: Vec<String> = r
                .exits
                .iter()
                .take(3)
                .map(|e| format!("{} ({})", e.value, e.sessions))
                .collect();
            let examples: Vec<String> = r.examples.iter().take(3).map(|e| e.to_string()).collect();
            let elements: Vec<String> = r
                .elements
                .iter()
                .flatten()
                .take(3)
                .map(|e| format!("{} ({})", e.selector, e.sessions))
                .chain(
                    r.errors
                        .iter()
                        .flatten()
                        .take(3)
                        .map(|e| format!("{} ({})", e.message, e.sessions)),
                )
                .chain(
                    r.lines
                        .iter()
                        .flatten()
                        .take(3)
                        .map(|l| format!("+ {} ({})", l.line, l.sessions)),
                )
                .collect();
            t.row(vec![
                r.label.into(),
                r.sessions.into(),
                Cell::Rate(r.share),
                exits.join(", ").into(),
                elements.join(", ").into(),
                examples.join(" ").into(),
            ]);
        }
        let mut tables = vec![t];
        if let Some(dim) = self.breakdown {
            let mut g = Table::new("segments", &[dim, "reason", "sessions", "share of left"]);
            for r in &self.reasons {
                for s in r.groups.iter().flatten() {
                    g.row(vec![
                        s.value.as_str().into(),
                        r.reason.into(),
                        s.sessions.into(),
                        Cell::Rate(s.share),
                    ]);
                }
            }
            tables.push(g);
        }
        Tables {
            summary: vec![
                ("at", self.at.as_str().into()),
                ("reached", self.reached.into()),
                ("converted", self.converted.into()),
                ("left", self.left.into()),
                ("sample rate", Cell::Rate(self.sample_rate)),
            ],
            tables,
        }
    }
}
