//! `conformance` for both doors: the site's expected journey (saved in
//! its journey settings, or given in the query) resolved against the
//! analysis's pages and events, every session aligned to it by
//! [`crate::mine::conformance`], and the answer per step, per deviation
//! and per segment.

use serde::Serialize;

use super::analysis::Analysis;
use super::error::{Result, ServiceError};
use super::request::ConformanceRequest;
use super::table::{Cell, Table, Tables};
use crate::event::TargetSpec;
use crate::mine::conformance::{self, Deviation, ModelStep};
use crate::mine::ratio;
use crate::store::sites::ExpectedStep;

/// Deviations listed, most sessions first.
const DEVIATIONS: usize = 20;
/// Segments listed with a breakdown, most sessions first.
const GROUPS: usize = 20;

impl Analysis {
    pub(crate) fn conformance(&self, r: &ConformanceRequest) -> Result<ConformanceReport> {
        let (model, source) = if r.steps.is_empty() {
            let saved = self.settings.expected.clone().unwrap_or_default();
            if saved.is_empty() {
                return Err(ServiceError::Conflict(format!(
                    "no expected journey for {} yet: set one with PUT \
                     /api/sites/{}/conformance/model (or the Conformance view), or give step=",
                    self.site, self.site
                )));
            }
            (saved, "saved")
        } else {
            (r.steps.clone(), "query")
        };
        let steps = model
            .iter()
            .map(|s| {
                let spec = TargetSpec::parse(&s.target).map_err(ServiceError::invalid)?;
                Ok(ModelStep {
                    target: self.target(&spec, None)?,
                    optional: s.optional,
                    repeatable: s.repeatable,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let counts = conformance::conformance(&*self.journeys, &steps, &self.cancel);
        self.finished()?;
        let name = |k: usize| model[k].name.clone();
        let mut deviations: Vec<DeviationRow> = counts
            .deviations
            .iter()
            .map(|(d, c)| {
                let (kind, step, after) = match *d {
                    Deviation::Skipped { step } => ("skipped", step, None),
                    Deviation::Repeated { step } => ("repeated", step, None),
                    Deviation::OutOfOrder { step, after } => ("out_of_order", step, Some(after)),
                };
                DeviationRow {
                    kind,
                    step: name(step),
                    after: after.map(name),
                    sessions: c.sessions,
                    share: ratio(c.sessions, counts.touched),
                    examples: c.examples.clone(),
                    order: (step, after.unwrap_or(0)),
                }
            })
            .collect();
        deviations.sort_by(|x, y| {
            y.sessions
                .cmp(&x.sessions)
                .then(x.order.cmp(&y.order))
                .then(x.kind.cmp(y.kind))
        });
        deviations.truncate(DEVIATIONS);
        let groups = r.breakdown.map(|dim| {
            let mut rows: Vec<GroupRow> = counts
                .groups
                .iter()
                .map(|(code, g)| GroupRow {
                    value: self.group_name(Some(dim), *code),
                    touched: g.touched,
                    conforming: g.conforming,
                    conforming_rate: ratio(g.conforming, g.touched),
                    mean_fitness: mean(g.fitness_sum, g.touched),
                })
                .collect();
            rows.sort_by(|x, y| y.touched.cmp(&x.touched).then(x.value.cmp(&y.value)));
            rows.truncate(GROUPS);
            rows
        });
        Ok(ConformanceReport {
            source,
            steps: model
                .iter()
                .zip(&counts.steps)
                .map(|(m, c)| StepRow {
                    step: m.clone(),
                    reached: c.reached,
                    skipped: c.skipped,
                    repeated: c.repeated,
                    out_of_order: c.out_of_order,
                })
                .collect(),
            sessions: counts.sessions,
            touched: counts.touched,
            completed: counts.completed,
            conforming: counts.conforming,
            conforming_rate: ratio(counts.conforming, counts.touched),
            mean_fitness: mean(counts.fitness_sum, counts.touched),
            fitness: counts.fitness_bins,
            deviations,
            breakdown: r.breakdown.map(|d| d.as_str()),
            groups,
        })
    }
}

fn mean(sum: f64, n: u32) -> f64 {
    if n == 0 {
        0.0
    } else {
        sum / f64::from(n)
    }
}

/// `conformance`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct ConformanceReport {
    /// `saved` (the site's expected journey) or `query`.
    pub source: &'static str,
    pub steps: Vec<StepRow>,
    /// Sessions in the range; those that touched a step (the rest never
    /// came near the model); those that reached the last step; and those
    /// that did without a deviation.
    pub sessions: u32,
    pub touched: u32,
    pub completed: u32,
    pub conforming: u32,
    /// conforming / touched.
    pub conforming_rate: f64,
    /// The mean fitness of the sessions that touched a step.
    pub mean_fitness: f64,
    /// Those sessions by fitness in tenths: `fitness[k]` holds fitness in
    /// [k/10, (k+1)/10), `fitness[10]` exactly 1.
    pub fitness: [u32; 11],
    /// Most sessions first.
    pub deviations: Vec<DeviationRow>,
    pub breakdown: Option<&'static str>,
    pub groups: Option<Vec<GroupRow>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct StepRow {
    #[serde(flatten)]
    pub step: ExpectedStep,
    /// Sessions that reached it, skipped it (required, passed over),
    /// repeated it (not repeatable), came back to it out of order.
    pub reached: u32,
    pub skipped: u32,
    pub repeated: u32,
    pub out_of_order: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct DeviationRow {
    /// `skipped`, `repeated` or `out_of_order`.
    pub kind: &'static str,
    pub step: String,
    /// For `out_of_order`: the furthest step reached before going back.
    pub after: Option<String>,
    pub sessions: u32,
    /// Of the sessions that touched a step.
    pub share: f64,
    /// The newest sessions with it (ids, for the player).
    pub examples: Vec<i64>,
    #[serde(skip)]
    order: (usize, usize),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct GroupRow {
    pub value: String,
    pub touched: u32,
    pub conforming: u32,
    pub conforming_rate: f64,
    pub mean_fitness: f64,
}

impl DeviationRow {
    fn text(&self) -> String {
        match (self.kind, &self.after) {
            ("skipped", _) => format!("skipped {}", self.step),
            ("repeated", _) => format!("{} again", self.step),
            (_, Some(after)) => format!("back to {} after {after}", self.step),
            _ => format!("{} out of order", self.step),
        }
    }
}

impl ConformanceReport {
    pub(crate) fn tables(&self) -> Tables {
        let mut steps = Table::new(
            "steps",
            &[
                "step",
                "target",
                "reached",
                "skipped",
                "repeated",
                "out of order",
            ],
        );
        for s in &self.steps {
            let mut name = s.step.name.clone();
            if s.step.optional {
                name.push_str(" (optional)");
            }
            if s.step.repeatable {
                name.push_str(" (repeatable)");
            }
            steps.row(vec![
                name.into(),
                s.step.target.as_str().into(),
                s.reached.into(),
                s.skipped.into(),
                s.repeated.into(),
                s.out_of_order.into(),
            ]);
        }
        let mut deviations = Table::new(
            "deviations",
            &["deviation", "sessions", "share", "examples"],
        );
        for d in &self.deviations {
            let examples: Vec<String> = d.examples.iter().take(3).map(|e| e.to_string()).collect();
            deviations.row(vec![
                d.text().into(),
                d.sessions.into(),
                Cell::Rate(d.share),
                examples.join(" ").into(),
            ]);
        }
        let mut tables = vec![steps, deviations];
        if let (Some(dim), Some(groups)) = (self.breakdown, &self.groups) {
            let mut g = Table::new(
                "segments",
                &[
                    dim,
                    "touched",
                    "conforming",
                    "conforming rate",
                    "mean fitness",
                ],
            );
            for r in groups {
                g.row(vec![
                    r.value.as_str().into(),
                    r.touched.into(),
                    r.conforming.into(),
                    Cell::Rate(r.conforming_rate),
                    Cell::Number(r.mean_fitness),
                ]);
            }
            tables.push(g);
        }
        Tables {
            summary: vec![
                ("model", self.source.into()),
                ("sessions", self.sessions.into()),
                ("touched a step", self.touched.into()),
                ("reached the last step", self.completed.into()),
                ("conforming", self.conforming.into()),
                ("conforming rate", Cell::Rate(self.conforming_rate)),
                ("mean fitness", Cell::Number(self.mean_fitness)),
            ],
            tables,
        }
    }
}
