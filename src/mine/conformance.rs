//! The expected journey against the real ones: each session aligned to a
//! small model (ordered steps, each a page pattern or an event, some
//! optional, some repeatable), with a fitness score and its deviations.
//!
//! A session's touches (page views and shop events, in order) that match
//! a step become the sequence of steps it went through; touches of no
//! step are the site around the model and are not deviations. Walking
//! that sequence with the furthest step reached so far:
//! - a step further on than the next one *skips* the required steps in
//!   between (optional ones may be skipped);
//! - the same step again, in a row or after others, is *repeated* unless
//!   the step is repeatable (browsing three products on a repeatable
//!   product step is fine);
//! - an earlier step than the furthest reached is *out of order* (back to
//!   the product page from checkout); coming back to the furthest step
//!   after it rejoins the path (one detour, one deviation).
//!
//! Fitness is the share of the session's step touches that followed the
//! model: in-order steps / (in-order steps + deviations), 1 for a session
//! that only moved forward through required steps. Steps after the
//! furthest reached are not deviations: the session stopped there (a
//! funnel's drop-off). A session *conforms* when it reached the last step
//! without a deviation.

use rustc_hash::FxHashMap;

use super::cancel::Cancel;
use super::conversions::Target;
use super::{keep_newest, JourneyRef, JourneySet, Step};

/// One step of the model, resolved.
pub(crate) struct ModelStep {
    pub target: Target,
    pub optional: bool,
    pub repeatable: bool,
}

/// What went against the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Deviation {
    /// Step `step` (required) was passed over on the way to a later one.
    Skipped { step: usize },
    /// Step `step` (not repeatable) came again.
    Repeated { step: usize },
    /// Step `step` came after the later step `after` had been reached.
    OutOfOrder { step: usize, after: usize },
}

/// One session aligned.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Alignment {
    /// Step touches that followed the model.
    pub in_order: u32,
    /// Deviations in the order they happened (a kind may repeat).
    pub deviations: Vec<Deviation>,
    /// The furthest step reached, if any.
    pub furthest: Option<usize>,
    /// Steps reached (each once).
    pub reached: Vec<bool>,
}

impl Alignment {
    pub(crate) fn fitness(&self) -> f64 {
        let all = self.in_order as usize + self.deviations.len();
        if all == 0 {
            0.0
        } else {
            f64::from(self.in_order) / all as f64
        }
    }
}

/// The step each touch of `j` matches (the first step, in model order,
/// whose target it meets), in order.
fn touched_steps(model: &[ModelStep], j: &JourneyRef<'_>, out: &mut Vec<usize>) {
    out.clear();
    for step in j.in_order() {
        let hit = match step {
            Step::View(v) => model.iter().position(|s| s.target.page(j.pages[v])),
            Step::Mark(m) => model.iter().position(|s| s.target.mark(&j.marks[m])),
        };
        if let Some(s) = hit {
            out.push(s);
        }
    }
}

/// Aligns one session's step touches to the model.
pub(crate) fn align(model: &[ModelStep], steps: &[usize]) -> Alignment {
    let mut a = Alignment {
        reached: vec![false; model.len()],
        ..Alignment::default()
    };
    let mut went_back = false;
    for &s in steps {
        match a.furthest {
            None => {
                for (k, step) in model.iter().enumerate().take(s) {
                    if !step.optional {
                        a.deviations.push(Deviation::Skipped { step: k });
                    }
                }
                a.in_order += 1;
                a.furthest = Some(s);
            }
            Some(f) if s > f => {
                for (k, step) in model.iter().enumerate().take(s).skip(f + 1) {
                    if !step.optional {
                        a.deviations.push(Deviation::Skipped { step: k });
                    }
                }
                a.in_order += 1;
                a.furthest = Some(s);
            }
            // Again on the furthest step: fine where it may repeat, and
            // where it rejoins the path after going back (the going back
            // was the deviation).
            Some(f) if s == f => {
                if model[s].repeatable || went_back {
                    a.in_order += 1;
                } else {
                    a.deviations.push(Deviation::Repeated { step: s });
                }
            }
            Some(f) => {
                a.deviations
                    .push(Deviation::OutOfOrder { step: s, after: f });
                a.reached[s] = true;
                went_back = true;
                continue;
            }
        }
        went_back = false;
        a.reached[s] = true;
    }
    a
}

/// A deviation's sessions (each once) and the newest of them.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct DeviationCounts {
    pub sessions: u32,
    pub examples: Vec<i64>,
}

/// Per step: sessions that reached it, skipped it, repeated it, or came
/// back to it out of order.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct StepCounts {
    pub reached: u32,
    pub skipped: u32,
    pub repeated: u32,
    pub out_of_order: u32,
}

/// One group's (a breakdown value's) figures.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct GroupCounts {
    pub touched: u32,
    pub conforming: u32,
    pub fitness_sum: f64,
}

/// The answer's counts.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct ConformanceCounts {
    /// Sessions walked.
    pub sessions: u32,
    /// Sessions that touched at least one step (the fitness is theirs).
    pub touched: u32,
    /// Of those: reached the last step; and did so without a deviation.
    pub completed: u32,
    pub conforming: u32,
    pub fitness_sum: f64,
    /// Sessions by fitness, in tenths (the last bin holds 1.0).
    pub fitness_bins: [u32; 11],
    pub steps: Vec<StepCounts>,
    pub deviations: FxHashMap<Deviation, DeviationCounts>,
    pub groups: FxHashMap<u32, GroupCounts>,
}

/// Aligns every journey of `journeys` to `model` and counts.
pub(crate) fn conformance(
    journeys: &(impl JourneySet + ?Sized),
    model: &[ModelStep],
    cancel: &Cancel,
) -> ConformanceCounts {
    let mut out = ConformanceCounts {
        steps: vec![StepCounts::default(); model.len()],
        ..ConformanceCounts::default()
    };
    let mut touches = Vec::new();
    let mut seen: Vec<Deviation> = Vec::new();
    let mut ticker = cancel.ticker();
    for block in journeys.blocks() {
        for j in block.iter() {
            out.sessions += 1;
            if ticker.stop() {
                return out;
            }
            touched_steps(model, &j, &mut touches);
            if touches.is_empty() {
                continue;
            }
            let a = align(model, &touches);
            out.touched += 1;
            let fitness = a.fitness();
            out.fitness_sum += fitness;
            out.fitness_bins[(fitness * 10.0).floor().clamp(0.0, 10.0) as usize] += 1;
            let completed = a.furthest == Some(model.len() - 1);
            let conforming = completed && a.deviations.is_empty();
            out.completed += u32::from(completed);
            out.conforming += u32::from(conforming);
            let g = out.groups.entry(j.group).or_default();
            g.touched += 1;
            g.conforming += u32::from(conforming);
            g.fitness_sum += fitness;
            for (k, hit) in a.reached.iter().enumerate() {
                out.steps[k].reached += u32::from(*hit);
            }
            // Each deviation once per session.
            seen.clear();
            for d in &a.deviations {
                if seen.contains(d) {
                    continue;
                }
                seen.push(*d);
                let step = &mut out.steps;
                match *d {
                    Deviation::Skipped { step: k } => step[k].skipped += 1,
                    Deviation::Repeated { step: k } => step[k].repeated += 1,
                    Deviation::OutOfOrder { step: k, .. } => step[k].out_of_order += 1,
                }
                let c = out.deviations.entry(*d).or_default();
                c.sessions += 1;
                keep_newest(&mut c.examples, j.session_id);
            }
        }
    }
    for c in out.deviations.values_mut() {
        c.examples.sort_unstable_by(|a, b| b.cmp(a));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mine::{Journey, Journeys, PageId};

    /// Steps on pages 1 (product, repeatable), 2 (cart), 3 (shipping,
    /// optional), 4 (payment).
    fn model() -> Vec<ModelStep> {
        let step = |page: PageId, optional: bool, repeatable: bool| {
            let mut pages = vec![false; 10];
            pages[page as usize] = true;
            ModelStep {
                target: Target { pages, event: None },
                optional,
                repeatable,
            }
        };
        vec![
            step(1, false, true),
            step(2, false, false),
            step(3, true, false),
            step(4, false, false),
        ]
    }

    fn aligned(pages: &[PageId]) -> Alignment {
        let m = model();
        let j = Journey::from_pages(1, pages);
        let mut steps = Vec::new();
        touched_steps(&m, &j.as_ref(), &mut steps);
        align(&m, &steps)
    }

    #[test]
    fn sessions_align_to_the_model_with_their_deviations() {
        use Deviation::*;
        // Forward through every required step, other pages between: 1.0.
        let a = aligned(&[0, 1, 9, 1, 2, 4]);
        assert_eq!((a.in_order, a.deviations.clone()), (4, vec![]));
        assert_eq!(a.fitness(), 1.0);
        // Straight to payment: cart skipped (shipping is optional).
        let a = aligned(&[1, 4]);
        assert_eq!(a.deviations, vec![Skipped { step: 1 }]);
        assert_eq!(a.fitness(), 2.0 / 3.0);
        // Cart twice (not repeatable), back to a product from shipping.
        let a = aligned(&[1, 2, 2, 3, 1, 4]);
        assert_eq!(
            a.deviations,
            vec![Repeated { step: 1 }, OutOfOrder { step: 0, after: 2 }]
        );
        // Started at the cart: the product step was skipped.
        let a = aligned(&[2, 4]);
        assert_eq!(a.deviations, vec![Skipped { step: 0 }]);
        // Stopped at the cart: no deviation, not complete.
        let a = aligned(&[1, 2]);
        assert_eq!((a.deviations.len(), a.furthest), (0, Some(1)));
    }

    #[test]
    fn counts_add_up_per_step_and_deviation() {
        let list = [
            vec![1, 2, 4],    // conforms
            vec![1, 4],       // skipped cart, completed
            vec![1, 2, 2, 4], // repeated cart, completed
            vec![1, 2],       // stopped at the cart
            vec![0, 9],       // outside the model
        ];
        let mut js = Journeys::with_capacity(list.len(), 0);
        for (i, p) in list.iter().enumerate() {
            js.push(Journey::from_pages(i as i64, p).as_ref());
        }
        let got = conformance(&js, &model(), &Cancel::never());
        assert_eq!((got.sessions, got.touched), (5, 4));
        assert_eq!((got.completed, got.conforming), (3, 1));
        assert_eq!(got.steps[1].reached, 3);
        assert_eq!(got.steps[1].skipped, 1);
        assert_eq!(got.steps[1].repeated, 1);
        assert_eq!(got.steps[3].reached, 3);
        let skipped = &got.deviations[&Deviation::Skipped { step: 1 }];
        assert_eq!((skipped.sessions, skipped.examples.clone()), (1, vec![1]));
        // Fitness: 1, 2/3, 3/4, 1.
        let mean = got.fitness_sum / f64::from(got.touched);
        assert!((mean - (1.0 + 2.0 / 3.0 + 0.75 + 1.0) / 4.0).abs() < 1e-9);
        assert_eq!(got.fitness_bins[10], 2);
    }
}
