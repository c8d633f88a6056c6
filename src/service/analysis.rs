//! The bridge between the store and path mining, shared by the CLI and the
//! JSON API so that both answer the same: load a site's journeys through
//! the filters, clean their pages with the site's rules, collapse repeats,
//! run a mining function, and name the pages in the result.
//!
//! Every pattern it compiles (stored rules, stages and goals, a request's
//! funnel steps) goes through [`crate::mine::budget`], and every analysis
//! carries a [`Cancel`]: the API's deadline and disconnect, never for the
//! CLI. Stored settings that break a budget (saved before it existed) are
//! [`ServiceError::Conflict`]: the reports say what to fix instead of
//! running them.

use crate::mine::budget::{self, PatternBudget};
use crate::mine::cancel::Cancel;
use crate::mine::clean::{Cleaner, PageMap};
use regex::Regex;

use crate::engine::{site::Wanted, Engine};
use crate::mine::stages::{StageMap, MAX_STAGES};
use crate::mine::{
    flow, frustration, funnel, graph, paths, patterns, stages, JourneySet, Journeys, PageId,
    PageSequences, Step,
};
use crate::service::conversions::TargetSpec;
use crate::service::error::{Result, ServiceError};
use crate::service::report::*;
use crate::service::request::FunnelRequest;
use crate::store::read::{self, JourneyFilter};
use crate::store::sites::{ExpectedStep, JourneySettings};
use crate::store::{sites, Store};

/// The funnel step that is reached by any of the site's goals.
pub(crate) const GOAL_STEP: &str = "goal:any";

/// Segments a funnel's breakdown lists before it sums the rest.
const FUNNEL_SEGMENTS: usize = 100;

/// A site's journeys, cleaned, ready for mining.
pub(crate) struct Analysis {
    /// The read engine's selection; in tests, also the rows' journeys.
    pub journeys: Box<dyn JourneySet + Send + Sync>,
    pub pages: PageMap,
    cleaner: Cleaner,
    /// The site's journey stages and goal pages.
    pub settings: JourneySettings,
    /// The site's name, for the errors that say how to fix its settings.
    pub(super) site: String,
    /// When to stop.
    pub(super) cancel: Cancel,
    /// What the journeys' event, property and group codes stand for.
    pub(super) vocabulary: std::sync::Arc<crate::engine::site::Vocabulary>,
    /// Where events' page ids start, once they are nodes ([`Analysis::join_events`]).
    event_base: Option<PageId>,
    /// The read engine's selection `journeys` walks, while it walks
    /// nothing else (a visitor split is made there).
    selected: Option<crate::engine::Selected>,
}

/// Runs a long store read that stops inside SQLite once `cancel` says so
/// ([`crate::store::interruptible`]); a read cut short is the stop's error.
pub(crate) fn read_until<T>(
    conn: &rusqlite::Connection,
    cancel: &Cancel,
    read: impl FnOnce(&rusqlite::Connection) -> crate::store::Result<T>,
) -> Result<T> {
    let asked = cancel.clone();
    crate::store::interruptible(conn, move || asked.stopped().is_some(), read).map_err(|e| {
        match cancel.check() {
            Err(stopped) => stopped.into(),
            Ok(()) => e.into(),
        }
    })
}

/// The site's stored rules as a cleaner, or why they cannot be used.
pub(crate) fn stored_cleaner(site: &str, rules: &[(String, String)]) -> Result<Cleaner> {
    Cleaner::new(rules).map_err(|e| {
        ServiceError::Conflict(format!(
            "the stored path rules break a budget: {e}; fix them with PUT /api/sites/{site}/rules"
        ))
    })
}

impl Analysis {
    /// Loads the journeys of `site` that pass `filter`.
    #[cfg(any(test, feature = "dev"))]
    pub(crate) fn load(
        store: &Store,
        engine: &Engine,
        site: &str,
        filter: &JourneyFilter,
    ) -> Result<Analysis> {
        Analysis::load_until(store, engine, site, filter, Cancel::never())
    }

    /// [`Analysis::load`], stopping with [`ServiceError::Stopped`] when
    /// `cancel` says so; the analysis keeps `cancel` for the mining asked
    /// of it next. The journeys come from the read engine.
    pub(crate) fn load_until(
        store: &Store,
        engine: &Engine,
        site: &str,
        filter: &JourneyFilter,
        cancel: Cancel,
    ) -> Result<Analysis> {
        Analysis::load_grouped(store, engine, site, filter, None, cancel)
    }

    /// [`Analysis::load_until`], each journey carrying the code of its
    /// value of `group` ([`crate::mine::JourneyRef::group`]).
    pub(crate) fn load_grouped(
        store: &Store,
        engine: &Engine,
        site: &str,
        filter: &JourneyFilter,
        group: Option<crate::event::Dimension>,
        cancel: Cancel,
    ) -> Result<Analysis> {
        let conn = store.read()?;
        let site = super::find_site(&conn, site)?;
        let rules = sites::page_rules(&conn, site.id)?;
        let settings = sites::journey_settings(&conn, site.id)?;
        let cleaner = stored_cleaner(&site.name, &rules)?;
        cancel.check()?;
        let raw_pages = read::site_pages(&conn, site.id)?;
        drop(conn);
        let pages = PageMap::build_until(&raw_pages, &cleaner, &cancel);
        cancel.check()?;
        let mut wanted = Wanted::of(filter, &raw_pages);
        wanted.group = group;
        let journeys =
            engine.journeys(store, site.id, &wanted, pages.dense(), !filter.keep_repeats)?;
        cancel.check()?;
        Ok(Analysis {
            vocabulary: std::sync::Arc::new(journeys.vocabulary().clone()),
            event_base: None,
            selected: Some(journeys.clone()),
            journeys: Box::new(journeys),
            pages,
            cleaner,
            settings,
            site: site.name,
            cancel,
        })
    }

    /// The journeys as the store's rows give them, read and cleaned one by
    /// one without the engine: what the engine must agree with.
    #[cfg(test)]
    pub(crate) fn load_from_rows(
        store: &Store,
        site: &str,
        filter: &JourneyFilter,
    ) -> Result<Analysis> {
        use crate::mine::{Journey, Journeys};
        let cancel = Cancel::never();
        let conn = store.read()?;
        let site = super::find_site(&conn, site)?;
        let rules = sites::page_rules(&conn, site.id)?;
        let settings = sites::journey_settings(&conn, site.id)?;
        let cleaner = stored_cleaner(&site.name, &rules)?;
        let pages = PageMap::build_until(&read::site_pages(&conn, site.id)?, &cleaner, &cancel);
        let loaded = read::load_journeys(&conn, site.id, filter)?;
        let journeys = loaded
            .into_iter()
            .map(|j| {
                let journey = Journey {
                    session_id: j.session_id,
                    pages: j.pages.iter().map(|p| pages.clean(*p)).collect(),
                    times: j.times,
                    signals: j.signals,
                    marks: Vec::new(),
                };
                if filter.keep_repeats {
                    journey
                } else {
                    journey.collapse_repeats()
                }
            })
            .filter(|j| !j.pages.is_empty())
            .collect::<Vec<_>>();
        Ok(Analysis {
            journeys: Box::new(journeys.iter().map(Journey::as_ref).collect::<Journeys>()),
            pages,
            cleaner,
            settings,
            site: site.name,
            cancel,
            vocabulary: Default::default(),
            event_base: None,
            selected: None,
        })
    }

    /// Counts visitors from here on: each visitor's sessions of one UTC day
    /// joined into one journey ([`crate::mine::stitch`]).
    pub(crate) fn join_visitors(&mut self) -> Result<()> {
        use crate::mine::stitch::ByVisitor;
        self.journeys = match &self.selected {
            // Split where the journeys are held: the visitors with one
            // journey are walked as they are, only the others copied.
            Some(selected) => {
                let (alone, several, _) = selected.split_by_visitor();
                Box::new(ByVisitor::split(alone, &several))
            }
            None => {
                let inner = std::mem::replace(&mut self.journeys, Box::new(Journeys::default()));
                Box::new(ByVisitor::new(inner))
            }
        };
        self.selected = None;
        self.finished()
    }

    /// `Err` when the analysis was stopped: whatever the mining returned
    /// since is partial and must not be shown.
    pub(crate) fn finished(&self) -> Result<()> {
        Ok(self.cancel.check()?)
    }

    /// The cleaned page a path names: `/product/42/` finds `/product/:id`
    /// when a rule says so.
    pub(crate) fn page(&self, path: &str) -> Result<PageId> {
        if let (Some(base), Some(event)) = (self.event_base, path.strip_prefix("event:")) {
            let code = self.event_code(event.trim());
            if code != crate::mine::NO_CODE {
                return Ok(base + code);
            }
            return Err(ServiceError::NotFound(format!(
                "no event {event:?} in this site"
            )));
        }
        self.pages
            .id_of(&self.cleaner.clean(path))
            .ok_or_else(|| ServiceError::NotFound(format!("no page {path:?} in this site")))
    }

    fn names(&self, ids: &[PageId]) -> Vec<String> {
        ids.iter()
            .map(|id| {
                if *id == 0 {
                    "…".to_string()
                } else {
                    self.name(*id)
                }
            })
            .collect()
    }

    pub(super) fn name(&self, id: PageId) -> String {
        match self.event_base {
            Some(base) if id >= base => self
                .vocabulary
                .events
                .get((id - base) as usize)
                .map_or_else(|| "event:?".into(), |e| format!("event:{e}")),
            _ => self.pages.name(id).to_string(),
        }
    }

    /// Custom events as nodes of their own from here on: each event a
    /// view of a page `event:NAME` where it happened among the views
    /// (for the journey graph and the Sankey chart).
    pub(crate) fn join_events(&mut self) -> Result<()> {
        let base = self.pages.len() as PageId;
        if let Some(selected) = self.selected.take() {
            // Where the journeys are held: the events walked as views.
            self.journeys = Box::new(selected.with_event_pages(base));
            self.event_base = Some(base);
            return Ok(());
        }
        let mut out = Journeys::with_capacity(self.journeys.len(), 0);
        for block in self.journeys.blocks() {
            for j in block.iter() {
                out.begin(j.session_id);
                out.group(j.group);
                out.visitor(j.visitor);
                out.ends_at(j.end);
                for step in j.in_order() {
                    match step {
                        Step::View(v) => out.view(j.pages[v], j.times[v], j.signals[v], false),
                        Step::Mark(i) => {
                            let m = &j.marks[i];
                            out.view(base + m.name, m.time, Default::default(), false);
                        }
                    }
                }
                out.end();
            }
        }
        self.finished()?;
        self.journeys = Box::new(out);
        self.event_base = Some(base);
        self.selected = None;
        Ok(())
    }

    fn sessions_of(&self, list: &[(PageId, u32)]) -> Vec<PageSessions> {
        list.iter()
            .map(|(p, n)| PageSessions {
                page: self.name(*p),
                sessions: *n,
            })
            .collect()
    }

    fn views_of(&self, list: &[(PageId, u32)]) -> Vec<PageViews> {
        list.iter()
            .map(|(p, n)| PageViews {
                page: self.name(*p),
                views: *n,
            })
            .collect()
    }

    /// The most common paths.
    pub(crate) fn paths(&self, q: &paths::PathQuery) -> PathsReport {
        let paths = paths::top_paths(&*self.journeys, q)
            .into_iter()
            .map(|path| PathRow {
                pages: self.names(&path.pages),
                path,
            })
            .collect();
        PathsReport {
            sessions: self.journeys.len(),
            paths,
        }
    }

    /// A funnel whose steps are regexes over cleaned page paths or custom
    /// events ([`TargetSpec`]).
    pub(crate) fn funnel(&self, f: &FunnelRequest) -> Result<FunnelReport> {
        let mut funnel = self.funnel_result(f)?;
        let labels = f.labels();
        let rows = std::mem::take(&mut funnel.steps)
            .into_iter()
            .zip(&f.steps)
            .zip(labels)
            .map(|((counts, pattern), name)| FunnelStepRow {
                step: pattern.clone(),
                name,
                dropped_to: self.sessions_of(&counts.dropped_to),
                counts,
            })
            .collect();
        // The largest segments, the rest summed as one "(other)" row, so
        // the rows always add up to the whole.
        let mut counted = std::mem::take(&mut funnel.groups);
        let rest: Vec<(u32, Vec<u32>)> = counted.split_off(counted.len().min(FUNNEL_SEGMENTS));
        let row = |value: String, steps: Vec<u32>| FunnelGroupRow {
            value,
            overall_conversion: crate::mine::ratio(
                steps.last().copied().unwrap_or(0),
                steps.first().copied().unwrap_or(0),
            ),
            steps,
        };
        let mut groups: Vec<FunnelGroupRow> = counted
            .into_iter()
            .map(|(code, steps)| row(self.group_name(f.breakdown, code), steps))
            .collect();
        if !rest.is_empty() {
            let mut sum = vec![0u32; f.steps.len()];
            for (_, steps) in &rest {
                for (t, n) in sum.iter_mut().zip(steps) {
                    *t += n;
                }
            }
            groups.push(row("(other)".into(), sum));
        }
        let dropped = std::mem::take(&mut funnel.dropped_sessions);
        Ok(FunnelReport {
            steps: rows,
            funnel,
            strict: f.strict,
            window_ms: f.window_minutes * 60_000,
            breakdown: f.breakdown.map(|d| d.as_str().to_string()),
            unit: f.unit,
            groups,
            dropped: None,
            dropped_ids: f.dropped_at.map(|step| DroppedIds {
                step,
                total: dropped.len(),
                ids: dropped.into_iter().skip(f.offset).take(f.limit).collect(),
            }),
        })
    }

    /// The funnel itself, for [`Analysis::funnel`] and the funnel chart.
    pub(crate) fn funnel_result(&self, f: &FunnelRequest) -> Result<funnel::Funnel> {
        let steps = &f.steps;
        if steps.len() < 2 {
            return Err(ServiceError::Invalid(
                "a funnel needs at least two steps".into(),
            ));
        }
        budget::check_count(
            "funnel steps",
            steps.len(),
            budget::budgets().max_funnel_steps,
        )
        .map_err(ServiceError::Invalid)?;
        let mut patterns = PatternBudget::default();
        let mut matches = Vec::with_capacity(steps.len());
        for (i, s) in steps.iter().enumerate() {
            if s.trim() == GOAL_STEP {
                let goals = self.goal_targets()?.into_iter().map(|(_, t)| t).collect();
                matches.push(funnel::StepMatch::AnyTarget(goals));
                continue;
            }
            let spec = TargetSpec::parse(s)
                .map_err(|e| ServiceError::Invalid(format!("step {} ({s:?}): {e}", i + 1)))?;
            let Some(page) = spec.page() else {
                matches.push(funnel::StepMatch::Event(self.target(&spec, None)?));
                continue;
            };
            let re = patterns
                .compile(page)
                .map_err(|e| ServiceError::Invalid(format!("step {} ({s:?}) {e}", i + 1)))?;
            matches.push(funnel::StepMatch::AnyOf(
                self.pages.matching_until(&re, &self.cancel),
            ));
            self.finished()?;
        }
        let n = steps.len();
        let result = funnel::funnel_until(
            &*self.journeys,
            &funnel::FunnelQuery {
                steps: matches,
                window_ms: f.window_minutes * 60_000,
                strict: f.strict,
                optional: (1..=n).map(|i| f.optional.contains(&i)).collect(),
                gaps: (1..=n)
                    .map(|i| {
                        f.step_windows
                            .iter()
                            .rfind(|(s, _)| *s == i)
                            .map_or(i64::MAX, |(_, m)| m * 60_000)
                    })
                    .collect(),
                grouped: f.breakdown.is_some(),
                dropped_at: f.dropped_at.map(|d| d - 1),
            },
            &self.cancel,
        );
        self.finished()?;
        Ok(result)
    }

    /// The journey graph behind the Sankey chart, each node with its
    /// stage and colour as the rendered chart draws it.
    pub(crate) fn graph(&self, q: &graph::GraphQuery) -> Result<GraphReport> {
        let stages = self.stage_map()?;
        let g = graph::journey_graph_until(&*self.journeys, q, &self.cancel);
        let nodes = g
            .nodes
            .into_iter()
            .map(|node| {
                let stage = node
                    .page
                    .and_then(|p| stages.of.get(p as usize).copied().flatten())
                    .map(usize::from);
                NodeRow {
                    page: node.page.map(|p| self.name(p)),
                    other: node.page.is_none(),
                    stage: stage
                        .and_then(|i| self.settings.stages.get(i))
                        .map(|s| s.name.clone()),
                    colour: crate::render::node_colour(stage, node.page.is_none()),
                    node,
                }
            })
            .collect();
        Ok(GraphReport {
            nodes,
            stages: self
                .settings
                .stages
                .iter()
                .enumerate()
                .map(|(i, s)| StageColour {
                    name: s.name.clone(),
                    colour: crate::render::node_colour(Some(i), false),
                })
                .collect(),
            drop_colour: crate::render::drop_colour(),
            links: g.links,
            other_pages: g.other_pages.iter().map(|o| self.sessions_of(o)).collect(),
        })
    }

    /// The journey graph as the Sankey chart draws it: page names, "other"
    /// nodes named by how many pages they group, nodes coloured by stage.
    pub(crate) fn sankey_data(&self, q: &graph::GraphQuery) -> Result<crate::render::SankeyData> {
        use crate::render::{SankeyData, SankeyLink, SankeyNode};
        let stages = self.stage_map()?;
        let g = graph::journey_graph_until(&*self.journeys, q, &self.cancel);
        let nodes = g
            .nodes
            .iter()
            .map(|n| SankeyNode {
                step: n.step,
                label: match n.page {
                    Some(p) => self.name(p),
                    None => {
                        let grouped = g.other_pages.get(n.step).map_or(0, Vec::len);
                        format!("Other ({grouped} pages)")
                    }
                },
                sessions: n.sessions,
                drop_off: n.drop_off,
                other: n.page.is_none(),
                stage: n
                    .page
                    .and_then(|p| stages.of.get(p as usize).copied().flatten())
                    .map(usize::from),
            })
            .collect();
        let links = g
            .links
            .iter()
            .map(|l| SankeyLink {
                from: l.from,
                to: l.to,
                sessions: l.sessions,
            })
            .collect();
        Ok(SankeyData {
            nodes,
            links,
            stages: self
                .settings
                .stages
                .iter()
                .map(|s| s.name.clone())
                .collect(),
        })
    }

    /// Entries, exits, exit and bounce rates per page.
    pub(crate) fn flows(&self) -> ExitsReport {
        let pages = flow::page_flows(&*self.journeys)
            .into_iter()
            .map(|flow| FlowRow {
                page: self.name(flow.page),
                flow,
            })
            .collect();
        ExitsReport {
            sessions: self.journeys.len(),
            pages,
        }
    }

    /// Where visitors of a page came from and went.
    pub(crate) fn transitions(&self, page: PageId, top_k: usize) -> TransitionsReport {
        let t = flow::transitions(&*self.journeys, &flow::TransitionQuery { page, top_k });
        TransitionsReport {
            page: self.name(t.page),
            previous: self.views_of(&t.previous),
            previous_more: self.views_of(&t.previous_more),
            next: self.views_of(&t.next),
            next_more: self.views_of(&t.next_more),
            counts: t,
        }
    }

    /// Which stage each cleaned page belongs to: the first stage, in
    /// journey order, with a pattern that matches it.
    pub(crate) fn stage_map(&self) -> Result<StageMap> {
        let (stages, _) = self.stored_settings()?;
        let mut of = vec![None; self.pages.len()];
        for (i, patterns) in stages.iter().enumerate() {
            for re in patterns {
                for page in self.pages.matching_until(re, &self.cancel) {
                    of[page as usize].get_or_insert(i as u8);
                }
                self.finished()?;
            }
        }
        let side = self
            .settings
            .stages
            .iter()
            .enumerate()
            .filter(|(_, s)| s.side)
            .fold(0u32, |mask, (i, _)| mask | 1 << i.min(31));
        Ok(StageMap {
            of,
            count: self.settings.stages.len(),
            side,
        })
    }

    /// Whether each cleaned page is a page goal (indexed by page id).
    pub(crate) fn goal_pages(&self) -> Result<Vec<bool>> {
        let mut goal = vec![false; self.pages.len()];
        for (_, _, re) in self.stored_goals()? {
            let Some(re) = re else { continue };
            for page in self.pages.matching_until(&re, &self.cancel) {
                goal[page as usize] = true;
            }
            self.finished()?;
        }
        Ok(goal)
    }

    /// The site's goals as written, read and (pages) compiled.
    pub(super) fn stored_goals(&self) -> Result<Vec<CompiledGoal>> {
        Ok(self.stored_settings()?.1)
    }

    /// The site's stored stages and goals, compiled, or why they cannot be
    /// used and how to fix them.
    fn stored_settings(&self) -> Result<CompiledSettings> {
        compile_settings(&self.settings).map_err(|e| {
            ServiceError::Conflict(format!(
                "the stored journey settings break a budget: {e}; fix them with \
                 PUT /api/sites/{}/stages/settings",
                self.site
            ))
        })
    }

    /// Journey stages: reach, drop-off and skips, and the orders in which
    /// sessions entered them.
    pub(crate) fn stages(&self) -> Result<StagesReport> {
        let map = self.stage_map()?;
        let mut report = stages::stage_report(&*self.journeys, &map, 10);
        let goals: Vec<_> = self.goal_targets()?.into_iter().map(|(_, t)| t).collect();
        let converted = stages::converted(&*self.journeys, |j| goals.iter().any(|g| g.reached(j)));
        let name = |i: usize| self.settings.stages[i].name.clone();
        let stages = std::mem::take(&mut report.stages)
            .into_iter()
            .map(|counts| StageRow {
                stage: name(counts.stage),
                counts,
            })
            .collect();
        let sequences = std::mem::take(&mut report.sequences)
            .into_iter()
            .map(|sequence| SequenceRow {
                stages: sequence.stages.iter().map(|i| name(*i)).collect(),
                sequence,
            })
            .collect();
        Ok(StagesReport {
            conversion_rate: crate::mine::ratio(converted, report.sessions),
            converted,
            report,
            stages,
            sequences,
        })
    }

    /// How many sessions (or visitors, once joined) the analysis holds.
    pub(crate) fn sessions(&self) -> usize {
        self.journeys.len()
    }

    /// The sessions with a JavaScript error on some view, ascending: the
    /// errors report's selection, through the engine's filters.
    pub(crate) fn js_error_sessions(&self) -> Vec<i64> {
        let mut ids = Vec::new();
        for block in self.journeys.blocks() {
            ids.extend(
                block
                    .iter()
                    .filter(|j| j.signals.iter().any(|s| s.js_error))
                    .map(|j| j.session_id),
            );
        }
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// Frustration per page, and the most frustrated sessions.
    pub(crate) fn frustration(&self, worst: usize) -> FrustrationReport {
        let mut report = frustration::frustration(&*self.journeys, worst);
        let pages = std::mem::take(&mut report.pages)
            .into_iter()
            .map(|counts| FrustrationRow {
                page: self.name(counts.page),
                counts,
            })
            .collect();
        FrustrationReport { report, pages }
    }

    /// The moments that matter: pages ranked by excess exits, by
    /// frustration, and by both.
    pub(crate) fn moments(&self, top: usize) -> Result<MomentsReport> {
        let goal = self.goal_pages()?;
        let mut moments = frustration::moments(&*self.journeys, |p| goal[p as usize], top);
        let rows = |list: Vec<frustration::Moment>| -> Vec<MomentRow> {
            list.into_iter()
                .map(|moment| MomentRow {
                    page: self.name(moment.page),
                    moment,
                })
                .collect()
        };
        Ok(MomentsReport {
            sessions: self.journeys.len(),
            overall: rows(std::mem::take(&mut moments.overall)),
            by_exits: rows(std::mem::take(&mut moments.by_exits)),
            by_frustration: rows(std::mem::take(&mut moments.by_frustration)),
            moments,
        })
    }

    /// Frequent navigation patterns, with gaps.
    pub(crate) fn patterns(&self, q: &patterns::PatternQuery) -> Result<PatternsReport> {
        let sequences = PageSequences::of(&*self.journeys);
        let found = patterns::top_patterns_until(&sequences.slices(), q, &self.cancel);
        // Stopped: what was found is partial, and with `all` it can be
        // millions of patterns not worth naming.
        self.finished()?;
        let patterns = found
            .into_iter()
            .map(|pattern| PatternRow {
                pages: self.names(&pattern.pages),
                pattern,
            })
            .collect();
        Ok(PatternsReport {
            sessions: self.journeys.len(),
            patterns,
        })
    }
}

/// Checks journey settings before they are saved: 1 to 16 named stages
/// with distinct names, and patterns that compile within the budgets.
pub(crate) fn check_settings(s: &JourneySettings) -> Result<()> {
    if let Some(steps) = &s.expected {
        check_expected(steps).map_err(ServiceError::invalid)?;
    }
    compile_settings(s)
        .map(|_| ())
        .map_err(ServiceError::Invalid)
}

/// A goal as written, read, and its page pattern compiled.
pub(crate) type CompiledGoal = (String, TargetSpec, Option<Regex>);

/// Each stage's page patterns, and the goals, compiled.
type CompiledSettings = (Vec<Vec<Regex>>, Vec<CompiledGoal>);

/// Compiles journey settings: at most [`budget::Budgets::max_stage_patterns`]
/// page patterns over all stages and [`budget::Budgets::max_goal_patterns`] goals, all
/// within one compiled-size budget.
/// Steps an expected journey may have.
pub(crate) const MAX_EXPECTED_STEPS: usize = 20;

/// An expected journey's steps: names of 1-64 characters, each used
/// once, and targets that read (page patterns within the budgets). No
/// steps at all is no model.
pub(crate) fn check_expected(steps: &[ExpectedStep]) -> std::result::Result<(), String> {
    if steps.len() == 1 || steps.len() > MAX_EXPECTED_STEPS {
        return Err(format!(
            "expected journey: 2 to {MAX_EXPECTED_STEPS} steps (or none), not {}",
            steps.len()
        ));
    }
    let mut patterns = PatternBudget::default();
    for (i, step) in steps.iter().enumerate() {
        let name = step.name.trim();
        if name.is_empty() || name.len() > 64 {
            return Err(format!("step {}: a name of 1 to 64 characters", i + 1));
        }
        if steps[..i].iter().any(|o| o.name.trim() == name) {
            return Err(format!("step {}: the name {name:?} is used twice", i + 1));
        }
        let spec = TargetSpec::parse(&step.target)
            .map_err(|e| format!("step {name:?}: {:?}: {e}", step.target))?;
        if let Some(p) = spec.page() {
            patterns
                .compile(p)
                .map_err(|e| format!("step {name:?}: {p:?} {e}"))?;
        }
    }
    if steps.first().is_some_and(|s| s.optional) || steps.last().is_some_and(|s| s.optional) {
        return Err("expected journey: the first and the last step cannot be optional".into());
    }
    Ok(())
}

fn compile_settings(s: &JourneySettings) -> std::result::Result<CompiledSettings, String> {
    if s.stages.is_empty() || s.stages.len() > MAX_STAGES {
        return Err(format!(
            "stages: 1 to {MAX_STAGES} stages, not {}",
            s.stages.len()
        ));
    }
    let stage_patterns = s.stages.iter().map(|st| st.pages.len()).sum();
    budget::check_count(
        "stage page patterns",
        stage_patterns,
        budget::budgets().max_stage_patterns,
    )?;
    budget::check_count(
        "goal patterns",
        s.goals.len(),
        budget::budgets().max_goal_patterns,
    )?;
    let mut patterns = PatternBudget::default();
    let mut stages = Vec::with_capacity(s.stages.len());
    for (i, stage) in s.stages.iter().enumerate() {
        let name = stage.name.trim();
        if name.is_empty() || name.len() > 64 {
            return Err(format!("stage {i}: a name of 1 to 64 characters"));
        }
        if s.stages[..i].iter().any(|o| o.name.trim() == name) {
            return Err(format!("stage {i}: the name {name:?} is used twice"));
        }
        let compiled = stage
            .pages
            .iter()
            .map(|p| {
                patterns
                    .compile(p)
                    .map_err(|e| format!("stage {name:?}: {p:?} {e}"))
            })
            .collect::<std::result::Result<Vec<_>, _>>()?;
        stages.push(compiled);
    }
    let goals = s
        .goals
        .iter()
        .map(|text| {
            let spec = TargetSpec::parse(text).map_err(|e| format!("goal {text:?}: {e}"))?;
            let re = match spec.page() {
                Some(p) => Some(
                    patterns
                        .compile(p)
                        .map_err(|e| format!("goal {text:?} {e}"))?,
                ),
                None => None,
            };
            Ok((text.clone(), spec, re))
        })
        .collect::<std::result::Result<Vec<_>, String>>()?;
    Ok((stages, goals))
}
