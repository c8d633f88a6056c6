//! The bridge between the store and path mining, shared by the CLI and the
//! JSON API so that both answer the same: load a site's journeys through
//! the filters, clean their pages with the site's rules, collapse repeats,
//! run a mining function, and name the pages in the result.
//!
//! Every pattern it compiles (stored rules, stages and goals, a request's
//! funnel steps) goes through [`crate::mine::budget`], and every analysis
//! carries a [`Cancel`]: the API's deadline and disconnect, never for the
//! CLI. Stored settings that break a budget (saved before it existed) are
//! [`AnalysisError::Stored`]: the reports say what to fix instead of
//! running them.

use serde_json::{json, Value};

use crate::mine::budget::{self, PatternBudget};
use crate::mine::cancel::{Cancel, Stopped};
use crate::mine::clean::{Cleaner, PageMap};
use regex::Regex;

use crate::mine::stages::{StageMap, MAX_STAGES};
use crate::mine::{flow, frustration, funnel, graph, paths, patterns, stages, Journey, PageId};
use crate::store::read::{self, JourneyFilter};
use crate::store::sites::JourneySettings;
use crate::store::{sites, Store, StoreError};

/// Why an analysis could not run: the caller's mistake (unknown site, a
/// page that does not exist, a bad pattern), stored settings that cannot
/// be used until they are fixed, a stop (deadline, client gone) or the
/// store's failure.
#[derive(Debug)]
pub enum AnalysisError {
    NotFound(String),
    Invalid(String),
    /// The site's stored rules or journey settings break a budget: what is
    /// wrong and how to fix it.
    Stored(String),
    Stopped(Stopped),
    Store(StoreError),
}

impl std::fmt::Display for AnalysisError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AnalysisError::NotFound(m) | AnalysisError::Invalid(m) | AnalysisError::Stored(m) => {
                f.write_str(m)
            }
            AnalysisError::Stopped(s) => write!(f, "{s}"),
            AnalysisError::Store(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for AnalysisError {}

impl From<Stopped> for AnalysisError {
    fn from(s: Stopped) -> Self {
        AnalysisError::Stopped(s)
    }
}

impl From<StoreError> for AnalysisError {
    fn from(e: StoreError) -> Self {
        AnalysisError::Store(e)
    }
}

pub type Result<T> = std::result::Result<T, AnalysisError>;

/// A site's journeys, cleaned, ready for mining.
pub struct Analysis {
    pub journeys: Vec<Journey>,
    pub pages: PageMap,
    cleaner: Cleaner,
    /// The site's journey stages and goal pages.
    pub settings: JourneySettings,
    /// The site's name, for the errors that say how to fix its settings.
    site: String,
    /// When to stop.
    cancel: Cancel,
}

/// The site's stored rules as a cleaner, or why they cannot be used.
pub fn stored_cleaner(site: &str, rules: &[(String, String)]) -> Result<Cleaner> {
    Cleaner::new(rules).map_err(|e| {
        AnalysisError::Stored(format!(
            "the stored path rules break a budget: {e}; fix them with PUT /api/sites/{site}/rules"
        ))
    })
}

impl Analysis {
    /// Loads the journeys of `site` that pass `filter`.
    pub fn load(store: &Store, site: &str, filter: &JourneyFilter) -> Result<Analysis> {
        Analysis::load_until(store, site, filter, Cancel::never())
    }

    /// [`Analysis::load`], stopping with [`AnalysisError::Stopped`] when
    /// `cancel` says so; the analysis keeps `cancel` for the mining asked
    /// of it next.
    pub fn load_until(
        store: &Store,
        site: &str,
        filter: &JourneyFilter,
        cancel: Cancel,
    ) -> Result<Analysis> {
        let conn = store.read()?;
        let Some(site) = sites::get(&conn, site)? else {
            return Err(AnalysisError::NotFound(format!("unknown site {site:?}")));
        };
        let rules = sites::page_rules(&conn, site.id)?;
        let settings = sites::journey_settings(&conn, site.id)?;
        let cleaner = stored_cleaner(&site.name, &rules)?;
        cancel.check()?;
        let pages = PageMap::build_until(&read::site_pages(&conn, site.id)?, &cleaner, &cancel);
        cancel.check()?;
        let loaded = read::load_journeys(&conn, site.id, filter)?;
        cancel.check()?;
        let mut ticker = cancel.ticker();
        let journeys = loaded
            .into_iter()
            .take_while(|_| !ticker.stop())
            .map(|j| {
                let journey = Journey {
                    session_id: j.session_id,
                    pages: j.pages.iter().map(|p| pages.clean(*p)).collect(),
                    times: j.times,
                    signals: j.signals,
                };
                if filter.keep_repeats {
                    journey
                } else {
                    journey.collapse_repeats()
                }
            })
            .filter(|j| !j.pages.is_empty())
            .collect();
        cancel.check()?;
        Ok(Analysis {
            journeys,
            pages,
            cleaner,
            settings,
            site: site.name,
            cancel,
        })
    }

    /// `Err` when the analysis was stopped: whatever the mining returned
    /// since is partial and must not be shown.
    pub fn finished(&self) -> Result<()> {
        Ok(self.cancel.check()?)
    }

    /// The cleaned page a path names: `/product/42/` finds `/product/:id`
    /// when a rule says so.
    pub fn page(&self, path: &str) -> Result<PageId> {
        self.pages
            .id_of(&self.cleaner.clean(path))
            .ok_or_else(|| AnalysisError::NotFound(format!("no page {path:?} in this site")))
    }

    fn names(&self, ids: &[PageId]) -> Vec<&str> {
        ids.iter()
            .map(|id| {
                if *id == 0 {
                    "…"
                } else {
                    self.pages.name(*id)
                }
            })
            .collect()
    }

    /// Pages with counts, as `{"page", unit: n}`.
    fn counted(&self, list: &[(PageId, u32)], unit: &str) -> Vec<Value> {
        list.iter()
            .map(|(p, n)| json!({"page": self.pages.name(*p), unit: n}))
            .collect()
    }

    /// The most common paths.
    pub fn paths(&self, q: &paths::PathQuery) -> Value {
        let list: Vec<Value> = paths::top_paths(&self.journeys, q)
            .iter()
            .map(|p| json!({"pages": self.names(&p.pages), "sessions": p.sessions, "collapsed_middle": p.collapsed_middle}))
            .collect();
        json!({"sessions": self.journeys.len(), "paths": list})
    }

    /// A funnel whose steps are regexes over cleaned page paths.
    pub fn funnel(&self, steps: &[String], window_ms: i64, strict: bool) -> Result<Value> {
        let f = self.funnel_result(steps, window_ms, strict)?;
        let list: Vec<Value> = f
            .steps
            .iter()
            .zip(steps)
            .map(|(s, pattern)| {
                json!({
                    "step": pattern, "sessions": s.sessions,
                    "conversion_from_previous": s.conversion_from_previous,
                    "conversion_from_start": s.conversion_from_start,
                    "dropped": s.dropped, "dropped_exited": s.dropped_exited,
                    "dropped_to": self.counted(&s.dropped_to, "sessions"),
                })
            })
            .collect();
        Ok(
            json!({"steps": list, "overall_conversion": f.overall_conversion, "strict": strict, "window_ms": window_ms}),
        )
    }

    /// The funnel itself, for [`Analysis::funnel`] and the funnel chart.
    pub fn funnel_result(
        &self,
        steps: &[String],
        window_ms: i64,
        strict: bool,
    ) -> Result<funnel::Funnel> {
        if steps.len() < 2 {
            return Err(AnalysisError::Invalid(
                "a funnel needs at least two steps".into(),
            ));
        }
        budget::check_count("funnel steps", steps.len(), budget::MAX_FUNNEL_STEPS)
            .map_err(AnalysisError::Invalid)?;
        let mut patterns = PatternBudget::default();
        let mut matches = Vec::with_capacity(steps.len());
        for (i, s) in steps.iter().enumerate() {
            let re = patterns
                .compile(s)
                .map_err(|e| AnalysisError::Invalid(format!("step {i} ({s:?}) {e}")))?;
            matches.push(funnel::StepMatch::AnyOf(
                self.pages.matching_until(&re, &self.cancel),
            ));
            self.finished()?;
        }
        let f = funnel::funnel_until(
            &self.journeys,
            &funnel::FunnelQuery {
                steps: matches,
                window_ms,
                strict,
            },
            &self.cancel,
        );
        self.finished()?;
        Ok(f)
    }

    /// The journey graph behind the Sankey chart.
    pub fn graph(&self, q: &graph::GraphQuery) -> Value {
        let g = graph::journey_graph_until(&self.journeys, q, &self.cancel);
        let nodes: Vec<Value> = g
            .nodes
            .iter()
            .map(|n| {
                json!({
                    "step": n.step, "page": n.page.map(|p| self.pages.name(p)),
                    "other": n.page.is_none(), "sessions": n.sessions, "drop_off": n.drop_off,
                })
            })
            .collect();
        let links: Vec<Value> = g
            .links
            .iter()
            .map(|l| json!({"from": l.from, "to": l.to, "sessions": l.sessions}))
            .collect();
        let other: Vec<Vec<Value>> = g
            .other_pages
            .iter()
            .map(|o| self.counted(o, "sessions"))
            .collect();
        json!({"nodes": nodes, "links": links, "other_pages": other})
    }

    /// The journey graph as the Sankey chart draws it: page names, "other"
    /// nodes named by how many pages they group, nodes coloured by stage.
    pub fn sankey_data(&self, q: &graph::GraphQuery) -> Result<crate::render::SankeyData> {
        use crate::render::{SankeyData, SankeyLink, SankeyNode};
        let stages = self.stage_map()?;
        let g = graph::journey_graph_until(&self.journeys, q, &self.cancel);
        let nodes = g
            .nodes
            .iter()
            .map(|n| SankeyNode {
                step: n.step,
                label: match n.page {
                    Some(p) => self.pages.name(p).to_string(),
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
    pub fn flows(&self) -> Value {
        let list: Vec<Value> = flow::page_flows(&self.journeys)
            .iter()
            .map(|f| {
                json!({
                    "page": self.pages.name(f.page), "views": f.views, "entries": f.entries,
                    "exits": f.exits, "exit_rate": f.exit_rate, "bounces": f.bounces,
                    "bounce_rate": f.bounce_rate,
                })
            })
            .collect();
        json!({"sessions": self.journeys.len(), "pages": list})
    }

    /// Where visitors of a page came from and went.
    pub fn transitions(&self, page: PageId, top_k: usize) -> Value {
        let t = flow::transitions(&self.journeys, &flow::TransitionQuery { page, top_k });
        json!({
            "page": self.pages.name(t.page), "views": t.views, "entries": t.entries, "exits": t.exits,
            "previous": self.counted(&t.previous, "views"), "previous_other": t.previous_other,
            "previous_more": self.counted(&t.previous_more, "views"),
            "next": self.counted(&t.next, "views"), "next_other": t.next_other,
            "next_more": self.counted(&t.next_more, "views"),
        })
    }

    /// Which stage each cleaned page belongs to: the first stage, in
    /// journey order, with a pattern that matches it.
    pub fn stage_map(&self) -> Result<StageMap> {
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
        Ok(StageMap {
            of,
            count: self.settings.stages.len(),
        })
    }

    /// Whether each cleaned page is a goal (indexed by page id).
    pub fn goal_pages(&self) -> Result<Vec<bool>> {
        let (_, goals) = self.stored_settings()?;
        let mut goal = vec![false; self.pages.len()];
        for re in &goals {
            for page in self.pages.matching_until(re, &self.cancel) {
                goal[page as usize] = true;
            }
            self.finished()?;
        }
        Ok(goal)
    }

    /// The site's stored stages and goals, compiled, or why they cannot be
    /// used and how to fix them.
    fn stored_settings(&self) -> Result<CompiledSettings> {
        compile_settings(&self.settings).map_err(|e| {
            AnalysisError::Stored(format!(
                "the stored journey settings break a budget: {e}; fix them with \
                 PUT /api/sites/{}/stages/settings",
                self.site
            ))
        })
    }

    /// Journey stages: reach, drop-off and skips, and the orders in which
    /// sessions entered them.
    pub fn stages(&self) -> Result<Value> {
        let map = self.stage_map()?;
        let r = stages::stage_report(&self.journeys, &map, 10);
        let name = |i: usize| self.settings.stages[i].name.as_str();
        let list: Vec<Value> = r
            .stages
            .iter()
            .map(|s| {
                json!({
                    "stage": name(s.stage), "visited": s.visited, "reached": s.reached,
                    "deepest": s.deepest, "conversion_from_previous": s.conversion_from_previous,
                    "conversion_from_start": s.conversion_from_start,
                    "drop_off_rate": s.drop_off_rate, "skipped": s.skipped,
                })
            })
            .collect();
        let sequences: Vec<Value> = r
            .sequences
            .iter()
            .map(|s| {
                let names: Vec<&str> = s.stages.iter().map(|i| name(*i)).collect();
                json!({"stages": names, "sessions": s.sessions})
            })
            .collect();
        Ok(json!({
            "sessions": r.sessions, "unstaged": r.unstaged, "stages": list,
            "sequences": sequences,
        }))
    }

    /// Frustration per page, and the most frustrated sessions.
    pub fn frustration(&self, worst: usize) -> Value {
        let r = frustration::frustration(&self.journeys, worst);
        let pages: Vec<Value> = r
            .pages
            .iter()
            .map(|p| {
                json!({
                    "page": self.pages.name(p.page), "views": p.views,
                    "frustrated_views": p.frustrated_views, "frustration_rate": p.frustration_rate,
                    "rage_clicks": p.rage_clicks, "dead_clicks": p.dead_clicks, "errors": p.errors,
                    "quick_backs": p.quick_backs, "loops": p.loops,
                })
            })
            .collect();
        json!({
            "sessions": r.sessions, "frustrated_sessions": r.frustrated_sessions,
            "pages": pages, "worst_sessions": r.worst_sessions,
        })
    }

    /// The moments that matter: pages ranked by excess exits, by
    /// frustration, and by both.
    pub fn moments(&self, top: usize) -> Result<Value> {
        let goal = self.goal_pages()?;
        let m = frustration::moments(&self.journeys, |p| goal[p as usize], top);
        let list = |l: &[frustration::Moment]| -> Vec<Value> {
            l.iter()
                .map(|m| {
                    json!({
                        "page": self.pages.name(m.page), "views": m.views, "exits": m.exits,
                        "exit_rate": m.exit_rate, "excess_exits": m.excess_exits,
                        "frustrated_views": m.frustrated_views,
                        "frustration_rate": m.frustration_rate, "impact": m.impact,
                    })
                })
                .collect()
        };
        Ok(json!({
            "sessions": self.journeys.len(), "exit_rate": m.exit_rate,
            "overall": list(&m.overall), "by_exits": list(&m.by_exits),
            "by_frustration": list(&m.by_frustration),
        }))
    }

    /// Frequent navigation patterns, with gaps.
    pub fn patterns(&self, q: &patterns::PatternQuery) -> Result<Value> {
        let seqs: Vec<&[PageId]> = self.journeys.iter().map(|j| j.pages.as_slice()).collect();
        let found = patterns::top_patterns_until(&seqs, q, &self.cancel);
        // Stopped: what was found is partial, and with `all` it can be
        // millions of patterns not worth naming.
        self.finished()?;
        let list: Vec<Value> = found
            .iter()
            .map(|p| json!({"pages": self.names(&p.pages), "sessions": p.support}))
            .collect();
        Ok(json!({"sessions": self.journeys.len(), "patterns": list}))
    }
}

/// Checks journey settings before they are saved: 1 to 16 named stages
/// with distinct names, and patterns that compile within the budgets.
pub fn check_settings(s: &JourneySettings) -> Result<()> {
    compile_settings(s)
        .map(|_| ())
        .map_err(AnalysisError::Invalid)
}

/// Each stage's page patterns, and the goal patterns, compiled.
type CompiledSettings = (Vec<Vec<Regex>>, Vec<Regex>);

/// Compiles journey settings: at most [`budget::MAX_STAGE_PATTERNS`] page
/// patterns over all stages and [`budget::MAX_GOAL_PATTERNS`] goals, all
/// within one compiled-size budget.
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
        budget::MAX_STAGE_PATTERNS,
    )?;
    budget::check_count("goal patterns", s.goals.len(), budget::MAX_GOAL_PATTERNS)?;
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
        .map(|p| patterns.compile(p).map_err(|e| format!("goal {p:?} {e}")))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok((stages, goals))
}

/// A result as plain text for the terminal: lists of pages with counts,
/// one line each, and the scalar fields as `name: value`.
pub fn text(result: &Value) -> String {
    let mut out = String::new();
    let Some(fields) = result.as_object() else {
        return result.to_string();
    };
    for (key, value) in fields {
        match value {
            Value::Array(items) => {
                out.push_str(&format!("{key}:\n"));
                for item in items {
                    out.push_str(&format!("  {}\n", line(item)));
                }
            }
            other => out.push_str(&format!("{key}: {}\n", line(other))),
        }
    }
    out.trim_end().to_string()
}

/// One item on one line: a page list as `a → b → c`, other fields as
/// `name=value`.
fn line(item: &Value) -> String {
    match item {
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| match v {
                Value::Array(pages) if pages.iter().all(Value::is_string) => {
                    let names: Vec<&str> = pages.iter().filter_map(Value::as_str).collect();
                    format!("{k}: {}", names.join(" → "))
                }
                Value::Array(list) => format!(
                    "{k}: [{}]",
                    list.iter().map(line).collect::<Vec<_>>().join(", ")
                ),
                Value::String(s) => format!("{k}={s}"),
                other => format!("{k}={other}"),
            })
            .collect::<Vec<_>>()
            .join("  "),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
