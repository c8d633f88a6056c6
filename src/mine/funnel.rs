//! Funnels: how many sessions go through a sequence of steps (product page,
//! cart, checkout, thanks), where each step loses them, and where those
//! dropped went instead. The caller resolves page patterns to sets of page
//! ids, so this stays pure over page sequences and times.
//!
//! A session enters the funnel at its first page view matching step 1, and
//! only there (a later view of step 1 does not restart it). It reaches step
//! i if, after the view that reached step i-1, a later view (loose) or the
//! very next view (strict) matches step i, no later than `window_ms` after
//! the entering view and, when step i has a window of its own, no later
//! than that after the view that reached step i-1. An optional step may be
//! skipped: the step after it may follow the step before it directly.
//!
//! Each journey is walked once, as a small dynamic program: for every step
//! the latest time a chain of matching views from the entering one reaches
//! it (the latest is never worse for the steps after it, whose windows
//! count from it), and the view that first did (the moment "reached"
//! counts from, and where the drop-offs went next). Without step windows
//! or optional steps this is the earliest-match walk it always was.
//!
//! A step can also be a custom event (`event:add_to_cart`): the journey is
//! then walked as its page views and the events that some step names, in
//! order (an event between two views comes after the first), and "the very
//! next" of a strict funnel is the next of those; events no step names do
//! not count. Funnels of pages only take the page views alone, as always.

use rustc_hash::FxHashMap;
use serde::Serialize;

use super::cancel::Cancel;
use super::{ratio, JourneySet, PageId, Step};

/// How many destinations `FunnelStep::dropped_to` lists.
pub(crate) const DROPPED_TO_TOP: usize = 10;

/// Which page views match a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StepMatch {
    #[cfg(test)]
    Page(PageId),
    /// Any of these pages (a resolved pattern such as `/product/*`).
    AnyOf(Vec<PageId>),
    /// A custom event ([`super::conversions::Target::event`]).
    Event(super::conversions::Target),
    /// Any of these targets, pages or events (the site's goals).
    AnyTarget(Vec<super::conversions::Target>),
}

/// A funnel definition.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct FunnelQuery {
    pub steps: Vec<StepMatch>,
    /// The whole funnel must complete within this many milliseconds of the
    /// view that entered it (inclusive); `i64::MAX` for no limit.
    pub window_ms: i64,
    /// Each step must be the very next page view; otherwise later views
    /// with anything in between also count.
    pub strict: bool,
    /// Steps that may be skipped (by index; empty: none). Never the first
    /// or the last.
    pub optional: Vec<bool>,
    /// Each step's own window from the step before it (ms, inclusive; by
    /// index, `i64::MAX` or absent: none).
    pub gaps: Vec<i64>,
    /// Count each group's sessions too ([`super::JourneyRef::group`]).
    pub grouped: bool,
    /// List the sessions that reached this step and went no further.
    pub dropped_at: Option<usize>,
}

impl FunnelQuery {
    fn optional(&self, i: usize) -> bool {
        self.optional.get(i).copied().unwrap_or(false)
    }

    fn gap(&self, i: usize) -> i64 {
        self.gaps.get(i).copied().unwrap_or(i64::MAX)
    }
}

/// One step's numbers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct FunnelStep {
    /// 0-based position in `FunnelQuery::steps`.
    #[serde(skip)]
    pub index: usize,
    /// Sessions that reached this step.
    pub sessions: u32,
    /// sessions / the previous step's sessions (1.0 for the first step
    /// unless it has none); 0.0 when dividing by zero.
    pub conversion_from_previous: f64,
    /// sessions / the first step's sessions.
    pub conversion_from_start: f64,
    /// Sessions that reached this step but not the next (0 at the last).
    pub dropped: u32,
    /// The page viewed right after this step's view by those dropped, top
    /// 10 by sessions, then by page. Those who viewed nothing after are
    /// `dropped_exited`; the rest of `dropped` went to pages past the top 10.
    #[serde(skip)]
    pub dropped_to: Vec<(PageId, u32)>,
    /// Dropped sessions that ended at this step's view.
    pub dropped_exited: u32,
    /// The step may be skipped; its drop-offs are counted at the steps
    /// that may not.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub optional: bool,
    /// Time from the step reached before it, over the sessions that
    /// reached this one: median and 90th percentile (none for the first
    /// step, or when no session got here).
    pub median_ms: Option<i64>,
    pub p90_ms: Option<i64>,
}

/// A funnel's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Funnel {
    #[serde(skip)]
    pub steps: Vec<FunnelStep>,
    /// Last step's sessions / first step's sessions (0.0 without steps).
    pub overall_conversion: f64,
    /// Per group (when asked): its code and each step's sessions, largest
    /// first entry first.
    #[serde(skip)]
    pub groups: Vec<(u32, Vec<u32>)>,
    /// The sessions `dropped_at` asked for, newest (largest id) first.
    #[serde(skip)]
    pub dropped_sessions: Vec<i64>,
}

/// Step membership per page: a dense table of bit masks (bit i = matches
/// step i) indexed by page id, so testing a view is one load. Funnels
/// longer than 64 steps are not a thing a UI builds; they, and page ids
/// too large for a table, fall back to a hash set of (step, page).
enum Matcher {
    Dense(Vec<u64>),
    Sparse(rustc_hash::FxHashSet<(usize, PageId)>),
}

impl Matcher {
    fn new(steps: &[StepMatch]) -> Matcher {
        let pages = |s: &StepMatch| -> Vec<PageId> {
            match s {
                #[cfg(test)]
                StepMatch::Page(p) => vec![*p],
                StepMatch::AnyOf(ps) => ps.clone(),
                StepMatch::Event(_) => Vec::new(),
                StepMatch::AnyTarget(ts) => ts
                    .iter()
                    .flat_map(|t| t.pages.iter().enumerate().filter(|(_, on)| **on))
                    .map(|(p, _)| p as PageId)
                    .collect(),
            }
        };
        let size = steps
            .iter()
            .flat_map(pages)
            .max()
            .map_or(0, |m| m as usize + 1);
        // The dense table is as long as the largest page id: fine for
        // interned ids, not for a stray huge one.
        if steps.len() <= 64 && size <= 1 << 24 {
            let mut masks = vec![0u64; size];
            for (i, s) in steps.iter().enumerate() {
                for p in pages(s) {
                    masks[p as usize] |= 1 << i;
                }
            }
            Matcher::Dense(masks)
        } else {
            let set = steps
                .iter()
                .enumerate()
                .flat_map(|(i, s)| pages(s).into_iter().map(move |p| (i, p)))
                .collect();
            Matcher::Sparse(set)
        }
    }

    /// The steps `page` matches, one bit each (steps past 64 never match
    /// in the dense table; the sparse one holds them).
    fn mask(&self, page: PageId, steps: usize) -> u128 {
        match self {
            Matcher::Dense(m) => u128::from(m.get(page as usize).copied().unwrap_or(0)),
            Matcher::Sparse(s) => (0..steps.min(128))
                .filter(|i| s.contains(&(*i, page)))
                .fold(0, |m, i| m | 1 << i),
        }
    }
}

/// What one journey did in the funnel.
struct Outcome {
    /// Bit i: the journey reached step i.
    reached: u128,
    /// The last step that may not be skipped it reached.
    furthest: usize,
    /// The page it viewed right after reaching `furthest` (`None`: none).
    next: Option<PageId>,
}

/// The per-journey state of the walk, reused from journey to journey.
#[derive(Default)]
struct Walk {
    touches: Vec<Step>,
    /// Per step: the latest time a chain reached it, and at which touch.
    latest: Vec<Option<(i64, usize)>>,
    /// Per step: the touch that first reached it.
    first: Vec<usize>,
    /// Per step: time from the step reached before it, when it was first
    /// reached.
    took: Vec<i64>,
}

/// Runs the funnel over the journeys.
#[cfg(test)]
pub(crate) fn funnel(journeys: &(impl JourneySet + ?Sized), q: &FunnelQuery) -> Funnel {
    funnel_until(journeys, q, &Cancel::never())
}

/// [`funnel`], leaving the journeys not yet counted out when `cancel`
/// says so (the caller then discards the result).
pub(crate) fn funnel_until(
    journeys: &(impl JourneySet + ?Sized),
    q: &FunnelQuery,
    cancel: &Cancel,
) -> Funnel {
    let n = q.steps.len().min(128);
    if n == 0 {
        return Funnel {
            steps: Vec::new(),
            overall_conversion: 0.0,
            groups: Vec::new(),
            dropped_sessions: Vec::new(),
        };
    }
    let matcher = Matcher::new(&q.steps[..n]);
    let events: Vec<(usize, &super::conversions::Target)> = q.steps[..n]
        .iter()
        .enumerate()
        .flat_map(|(i, s)| match s {
            StepMatch::Event(t) => vec![(i, t)],
            StepMatch::AnyTarget(ts) => ts
                .iter()
                .filter(|t| t.event.is_some())
                .map(|t| (i, t))
                .collect(),
            _ => Vec::new(),
        })
        .collect();
    let mut reached = vec![0u32; n];
    let mut exited = vec![0u32; n];
    let mut went: Vec<FxHashMap<PageId, u32>> = vec![FxHashMap::default(); n];
    let mut took: Vec<Vec<i64>> = vec![Vec::new(); n];
    let mut groups: FxHashMap<u32, Vec<u32>> = FxHashMap::default();
    let mut dropped_sessions = Vec::new();
    let mut walk = Walk::default();
    let mut ticker = cancel.ticker();
    'journeys: for block in journeys.blocks() {
        for j in block.iter() {
            if ticker.stop() {
                break 'journeys;
            }
            let Some(out) = walk.run(&j, q, n, &matcher, &events) else {
                continue;
            };
            let group = q
                .grouped
                .then(|| groups.entry(j.group).or_insert_with(|| vec![0; n]));
            let mut group = group;
            for i in (0..n).filter(|i| out.reached >> i & 1 == 1) {
                reached[i] += 1;
                if let Some(g) = group.as_deref_mut() {
                    g[i] += 1;
                }
                if i > 0 {
                    took[i].push(walk.took[i]);
                }
            }
            if out.furthest + 1 < n {
                match out.next {
                    Some(p) => *went[out.furthest].entry(p).or_default() += 1,
                    None => exited[out.furthest] += 1,
                }
                if q.dropped_at == Some(out.furthest) {
                    dropped_sessions.push(j.session_id);
                }
            }
        }
    }
    // Each step's drop-off counts against the next step that may not be skipped.
    let next_required = |i: usize| (i + 1..n).find(|k| !q.optional(*k));
    let previous_required = |i: usize| (0..i).rev().find(|k| !q.optional(*k));
    let first = reached[0];
    let steps: Vec<FunnelStep> = (0..n)
        .map(|i| {
            let optional = q.optional(i);
            let previous = previous_required(i).map_or(first, |k| reached[k]);
            let dropped = match next_required(i) {
                Some(k) if !optional => reached[i] - reached[k],
                _ => 0,
            };
            let mut to: Vec<(PageId, u32)> = std::mem::take(&mut went[i]).into_iter().collect();
            to.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            to.truncate(DROPPED_TO_TOP);
            let (median_ms, p90_ms) = percentiles(&mut took[i]);
            FunnelStep {
                index: i,
                sessions: reached[i],
                conversion_from_previous: ratio(reached[i], previous),
                conversion_from_start: ratio(reached[i], first),
                dropped,
                dropped_to: to,
                dropped_exited: exited[i],
                optional,
                median_ms,
                p90_ms,
            }
        })
        .collect();
    let mut groups: Vec<(u32, Vec<u32>)> = groups.into_iter().collect();
    groups.sort_by(|a, b| b.1[0].cmp(&a.1[0]).then(a.0.cmp(&b.0)));
    dropped_sessions.sort_unstable_by(|a, b| b.cmp(a));
    Funnel {
        overall_conversion: ratio(reached[n - 1], first),
        steps,
        groups,
        dropped_sessions,
    }
}

/// The median and 90th percentile (nearest rank) of `times`.
fn percentiles(times: &mut [i64]) -> (Option<i64>, Option<i64>) {
    if times.is_empty() {
        return (None, None);
    }
    times.sort_unstable();
    let rank = |p: f64| times[((p * times.len() as f64).ceil() as usize).clamp(1, times.len()) - 1];
    (Some(rank(0.5)), Some(rank(0.9)))
}

impl Walk {
    /// The journey's views and the events some step names, in order.
    fn touches(
        &mut self,
        j: &super::JourneyRef<'_>,
        events: &[(usize, &super::conversions::Target)],
    ) {
        self.touches.clear();
        if events.is_empty() {
            self.touches.extend((0..j.pages.len()).map(Step::View));
            return;
        }
        let named = |i: usize| events.iter().any(|(_, t)| t.mark(&j.marks[i]));
        self.touches.extend(j.in_order().filter(|s| match s {
            Step::View(_) => true,
            Step::Mark(i) => named(*i),
        }));
    }

    fn run(
        &mut self,
        j: &super::JourneyRef<'_>,
        q: &FunnelQuery,
        n: usize,
        matcher: &Matcher,
        events: &[(usize, &super::conversions::Target)],
    ) -> Option<Outcome> {
        self.touches(j, events);
        let time = |t: Step| match t {
            Step::View(k) => j.times[k],
            Step::Mark(i) => j.marks[i].time,
        };
        let mask = |t: Step| -> u128 {
            match t {
                Step::View(k) => matcher.mask(j.pages[k], n),
                Step::Mark(i) => events
                    .iter()
                    .filter(|(_, target)| target.mark(&j.marks[i]))
                    .fold(0, |m, (s, _)| m | 1 << s),
            }
        };
        let entry = self.touches.iter().position(|t| mask(*t) & 1 == 1)?;
        let t0 = time(self.touches[entry]);
        self.latest.clear();
        self.latest.resize(n, None);
        self.first.clear();
        self.first.resize(n, usize::MAX);
        self.took.clear();
        self.took.resize(n, 0);
        self.latest[0] = Some((t0, entry));
        self.first[0] = entry;
        let mut reached: u128 = 1;
        for k in entry + 1..self.touches.len() {
            let t = time(self.touches[k]);
            if t.saturating_sub(t0) > q.window_ms {
                break;
            }
            let steps = mask(self.touches[k]) & !1;
            if steps == 0 {
                continue;
            }
            // Later steps first, so that one touch never chains to itself.
            for i in (1..n).rev().filter(|i| steps >> i & 1 == 1) {
                // The step it follows: the one before, or one further back
                // over optional steps.
                let mut best: Option<(i64, usize)> = None;
                for p in (0..i).rev() {
                    if let Some((tp, at)) = self.latest[p] {
                        let fits = if q.strict { at + 1 == k } else { at < k };
                        if fits && t.saturating_sub(tp) <= q.gap(i) && best.is_none_or(|b| tp > b.0)
                        {
                            best = Some((tp, at));
                        }
                    }
                    if !q.optional(p) {
                        break;
                    }
                }
                let Some((tp, _)) = best else { continue };
                if self.latest[i].is_none() {
                    self.first[i] = k;
                    self.took[i] = t - tp;
                }
                self.latest[i] = Some((t, k));
                reached |= 1 << i;
            }
        }
        let furthest = (0..n)
            .rev()
            .find(|i| reached >> i & 1 == 1 && !q.optional(*i))
            .unwrap_or(0);
        let next = self.touches[self.first[furthest] + 1..]
            .iter()
            .find_map(|t| match t {
                Step::View(k) => Some(j.pages[*k]),
                Step::Mark(_) => None,
            });
        Some(Outcome {
            reached,
            furthest,
            next,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mine::testing::journeys;
    use crate::mine::Journey;

    fn pages(ps: &[PageId]) -> Vec<StepMatch> {
        ps.iter().map(|p| StepMatch::Page(*p)).collect()
    }

    /// (sessions, dropped, dropped_to, dropped_exited) of one step.
    type Row = (u32, u32, Vec<(PageId, u32)>, u32);

    fn summary(f: &Funnel) -> Vec<Row> {
        f.steps
            .iter()
            .map(|s| {
                (
                    s.sessions,
                    s.dropped,
                    s.dropped_to.clone(),
                    s.dropped_exited,
                )
            })
            .collect()
    }

    // Funnel 1 → 2 → 3, views a second apart.
    //   A [1,2,3]        complete either way
    //   B [1,5,2,3]      loose: complete; strict: drops after 1, to 5
    //   C [1,2,4]        drops after 2, to 4
    //   D [1,2]          drops after 2, exits
    //   E [5,1]          drops after 1, exits
    //   F [2,3]          never enters (no 1)
    //   G [1,4,1,2,3]    enters at the first 1 only. Loose: 2 and 3 later,
    //                    complete; strict: next is 4, drops to 4 (no restart
    //                    at the second 1)
    fn shop() -> Vec<Journey> {
        journeys(&[
            &[1, 2, 3],
            &[1, 5, 2, 3],
            &[1, 2, 4],
            &[1, 2],
            &[5, 1],
            &[2, 3],
            &[1, 4, 1, 2, 3],
        ])
    }

    #[test]
    fn loose_funnel_by_hand() {
        let q = FunnelQuery {
            steps: pages(&[1, 2, 3]),
            window_ms: i64::MAX,
            strict: false,
            ..FunnelQuery::default()
        };
        let f = funnel(&shop(), &q);
        // Step 1: A B C D E G = 6; step 2: A B C D G = 5; step 3: A B G = 3.
        assert_eq!(
            summary(&f),
            [
                (6, 1, vec![], 1),
                (5, 2, vec![(4, 1)], 1),
                (3, 0, vec![], 0)
            ]
        );
        let conv: Vec<(f64, f64)> = f
            .steps
            .iter()
            .map(|s| (s.conversion_from_previous, s.conversion_from_start))
            .collect();
        assert_eq!(conv, [(1.0, 1.0), (5.0 / 6.0, 5.0 / 6.0), (0.6, 0.5)]);
        assert_eq!(f.overall_conversion, 0.5);
        assert_eq!(
            f.steps.iter().map(|s| s.index).collect::<Vec<_>>(),
            [0, 1, 2]
        );
    }

    #[test]
    fn strict_funnel_by_hand() {
        let q = FunnelQuery {
            steps: pages(&[1, 2, 3]),
            window_ms: i64::MAX,
            strict: true,
            ..FunnelQuery::default()
        };
        let f = funnel(&shop(), &q);
        // Step 1: 6 as above. Step 2 right after: A C D = 3 (B, G drop to 5
        // and 4, E exits). Step 3 right after: A = 1 (C to 4, D exits).
        assert_eq!(
            summary(&f),
            [
                (6, 3, vec![(4, 1), (5, 1)], 1),
                (3, 2, vec![(4, 1)], 1),
                (1, 0, vec![], 0)
            ]
        );
        assert_eq!(f.overall_conversion, 1.0 / 6.0);
    }

    #[test]
    fn the_window_counts_from_the_first_step_inclusive() {
        let at = |pages: &[PageId], times: &[i64]| Journey {
            times: times.to_vec(),
            ..Journey::from_pages(0, pages)
        };
        // H: 2 at +500, 3 at +2500. I: enters at 10 s, 3 at +2000.
        let js = [
            at(&[1, 2, 3], &[0, 500, 2500]),
            at(&[7, 1, 2, 3], &[0, 10_000, 11_000, 12_000]),
        ];
        let q = |window_ms| FunnelQuery {
            steps: pages(&[1, 2, 3]),
            window_ms,
            strict: false,
            ..FunnelQuery::default()
        };
        // Window 2 s: H reaches 2, its 3 is late: dropped, and it went to 3.
        // I completes exactly at the limit.
        let f = funnel(&js, &q(2000));
        assert_eq!(
            summary(&f),
            [
                (2, 0, vec![], 0),
                (2, 1, vec![(3, 1)], 0),
                (1, 0, vec![], 0)
            ]
        );
        // Window 2.5 s: both complete. Window 0: only the entries.
        assert_eq!(funnel(&js, &q(2500)).steps[2].sessions, 2);
        let f = funnel(&js, &q(0));
        assert_eq!(
            f.steps.iter().map(|s| s.sessions).collect::<Vec<_>>(),
            [2, 0, 0]
        );
        assert_eq!(f.steps[0].dropped_to, [(2, 2)]);
        assert_eq!(f.steps[1].conversion_from_previous, 0.0);
        assert_eq!(f.steps[2].conversion_from_previous, 0.0, "0 / 0");
    }

    #[test]
    fn page_sets_repeated_steps_and_edge_cases() {
        // Step 1 is "any product" (1 or 6), then the cart 2, then a product
        // again. [6,2,1] and [1,2,6] complete; [7,6,2] enters at 6, reaches
        // 2 and exits.
        let q = FunnelQuery {
            steps: vec![
                StepMatch::AnyOf(vec![1, 6]),
                StepMatch::Page(2),
                StepMatch::AnyOf(vec![6, 1]),
            ],
            window_ms: i64::MAX,
            strict: false,
            ..FunnelQuery::default()
        };
        let js = journeys(&[&[6, 2, 1], &[1, 2, 6], &[7, 6, 2]]);
        let f = funnel(&js, &q);
        assert_eq!(
            summary(&f),
            [(3, 0, vec![], 0), (3, 1, vec![], 1), (2, 0, vec![], 0)]
        );
        // No steps, no journeys.
        let none = FunnelQuery {
            steps: vec![],
            ..q.clone()
        };
        assert_eq!(funnel(&js, &none).steps.len(), 0);
        assert_eq!(funnel(&[], &q).overall_conversion, 0.0);
        // More than 64 steps take the sparse matcher: pages 0..70 in order.
        let long: Vec<PageId> = (0..70).collect();
        let q = FunnelQuery {
            steps: pages(&long),
            window_ms: i64::MAX,
            strict: true,
            ..FunnelQuery::default()
        };
        let f = funnel(&journeys(&[&long, &long[..30]]), &q);
        assert_eq!((f.steps[29].sessions, f.steps[30].sessions), (2, 1));
        assert_eq!(f.steps[29].dropped_exited, 1);
        assert_eq!(f.overall_conversion, 0.5);
        // A huge page id takes the sparse matcher too.
        let q = FunnelQuery {
            steps: pages(&[1, u32::MAX]),
            window_ms: i64::MAX,
            strict: true,
            ..FunnelQuery::default()
        };
        let f = funnel(&journeys(&[&[1, u32::MAX], &[1, 2]]), &q);
        assert_eq!(summary(&f), [(2, 1, vec![(2, 1)], 0), (1, 0, vec![], 0)]);
    }

    #[test]
    fn a_stopped_funnel_leaves_the_rest_out() {
        let list: Vec<Vec<PageId>> = (0..3000).map(|_| vec![1, 2]).collect();
        let refs: Vec<&[PageId]> = list.iter().map(|v| v.as_slice()).collect();
        let q = FunnelQuery {
            steps: pages(&[1, 2]),
            window_ms: i64::MAX,
            strict: false,
            ..FunnelQuery::default()
        };
        let js = journeys(&refs);
        assert_eq!(funnel(&js, &q).steps[0].sessions, 3000);
        let cancel = Cancel::never();
        cancel.abandon();
        let cut = funnel_until(&js, &q, &cancel);
        assert!(cut.steps[0].sessions < 3000, "{}", cut.steps[0].sessions);
    }

    #[test]
    fn more_than_ten_destinations_keep_the_top_ten() {
        // 12 sessions drop after 1 to pages 10..=21, page 21 three times.
        let mut list: Vec<Vec<PageId>> = (10..22).map(|p| vec![1, p]).collect();
        list.push(vec![1, 21]);
        list.push(vec![1, 21]);
        let refs: Vec<&[PageId]> = list.iter().map(|v| v.as_slice()).collect();
        let q = FunnelQuery {
            steps: pages(&[1, 2]),
            window_ms: i64::MAX,
            strict: false,
            ..FunnelQuery::default()
        };
        let f = funnel(&journeys(&refs), &q);
        assert_eq!(f.steps[0].dropped, 14);
        let to = &f.steps[0].dropped_to;
        assert_eq!(to.len(), 10);
        assert_eq!(to[0], (21, 3));
        // Then ties by page: 10..=18.
        assert_eq!(
            to[1..].iter().map(|t| t.0).collect::<Vec<_>>(),
            (10..19).collect::<Vec<_>>()
        );
    }

    #[test]
    fn event_steps_take_their_place_among_the_views() {
        use crate::mine::conversions::Target;
        use crate::mine::{JourneyMark, NO_CODE, NO_REVENUE};
        const CART: u32 = 4;
        let mark = |after: u32, name: u32| JourneyMark {
            after,
            time: i64::from(after) * 1000 - 500,
            name,
            props: NO_CODE,
            revenue_milli: NO_REVENUE,
        };
        let with = |id: i64, pages: &[PageId], marks: Vec<JourneyMark>| {
            let mut j = Journey::from_pages(id, pages);
            j.marks = marks;
            j
        };
        let cart = Target {
            pages: Vec::new(),
            event: Some((CART, None)),
        };
        let all = [
            // Product, add to cart on it, then cart page: complete.
            with(1, &[1, 2, 3], vec![mark(1, CART)]),
            // An event no step names between them changes nothing.
            with(2, &[1, 2, 3], vec![mark(1, 9), mark(1, CART), mark(2, 9)]),
            // No cart event: drops after step 1, to page 2.
            with(3, &[1, 2, 3], vec![]),
            // The event before the product page does not count.
            with(4, &[5, 1, 3], vec![mark(1, CART)]),
        ];
        let q = |strict| FunnelQuery {
            steps: vec![
                StepMatch::Page(1),
                StepMatch::Event(cart.clone()),
                StepMatch::Page(3),
            ],
            window_ms: i64::MAX,
            strict,
            ..FunnelQuery::default()
        };
        let loose = funnel(&all, &q(false));
        assert_eq!(
            summary(&loose),
            vec![
                (4, 2, vec![(2, 1), (3, 1)], 0),
                (2, 0, vec![], 0),
                (2, 0, vec![], 0)
            ]
        );
        // Strict: the next thing after the cart event is page 2, not 3.
        let strict = funnel(&all, &q(true));
        assert_eq!(
            summary(&strict),
            vec![
                (4, 2, vec![(2, 1), (3, 1)], 0),
                (2, 2, vec![(2, 2)], 0),
                (0, 0, vec![], 0)
            ]
        );
    }

    /// Whether `j` reaches step `last` of `q` by brute force: every
    /// increasing choice of views for the steps up to it (optional ones
    /// may be left out), checked against every rule.
    fn brute_reaches(j: &Journey, q: &FunnelQuery, last: usize) -> bool {
        let matches = |step: usize, k: usize| match &q.steps[step] {
            StepMatch::Page(p) => j.pages[k] == *p,
            StepMatch::AnyOf(ps) => ps.contains(&j.pages[k]),
            StepMatch::Event(_) | StepMatch::AnyTarget(_) => unreachable!("pages only"),
        };
        let Some(entry) = (0..j.pages.len()).find(|k| matches(0, *k)) else {
            return false;
        };
        // (step, view) chains, depth first.
        fn go(
            j: &Journey,
            q: &FunnelQuery,
            matches: &dyn Fn(usize, usize) -> bool,
            entry: usize,
            step: usize,
            at: usize,
            last: usize,
        ) -> bool {
            if step == last {
                return true;
            }
            // The next step taken: step+1, or further over optional ones.
            let mut next = step + 1;
            loop {
                for k in at + 1..j.pages.len() {
                    if q.strict && k != at + 1 {
                        break;
                    }
                    let in_window = j.times[k] - j.times[entry] <= q.window_ms
                        && j.times[k] - j.times[at] <= q.gap(next);
                    if in_window && matches(next, k) && go(j, q, matches, entry, next, k, last) {
                        return true;
                    }
                }
                if next >= last || !q.optional(next) {
                    return false;
                }
                next += 1;
            }
        }
        go(j, q, &matches, entry, 0, entry, last)
    }

    #[test]
    fn optional_steps_and_step_windows_agree_with_a_brute_force_walk() {
        let mut rng = crate::mine::testing::Rng(3);
        for round in 0..400 {
            let journeys: Vec<Journey> = (0..40)
                .map(|id| {
                    let n = 1 + rng.below(7) as usize;
                    let mut t = 0;
                    Journey {
                        session_id: id,
                        pages: (0..n).map(|_| rng.below(4) as u32).collect(),
                        times: (0..n)
                            .map(|_| {
                                t += rng.below(5) as i64 * 1000;
                                t
                            })
                            .collect(),
                        signals: vec![Default::default(); n],
                        marks: Vec::new(),
                    }
                })
                .collect();
            let steps = 3 + rng.below(2) as usize;
            let q = FunnelQuery {
                steps: (0..steps)
                    .map(|_| StepMatch::Page(rng.below(4) as u32))
                    .collect(),
                window_ms: [i64::MAX, 8000][rng.below(2) as usize],
                strict: round % 5 == 0,
                optional: (0..steps)
                    .map(|i| i > 0 && i + 1 < steps && rng.below(2) == 0)
                    .collect(),
                gaps: (0..steps)
                    .map(|_| [i64::MAX, 2000, 4000][rng.below(3) as usize])
                    .collect(),
                grouped: false,
                dropped_at: Some(0),
            };
            let f = funnel(&journeys, &q);
            for (i, step) in f.steps.iter().enumerate() {
                let brute = journeys.iter().filter(|j| brute_reaches(j, &q, i)).count();
                assert_eq!(
                    step.sessions as usize, brute,
                    "round {round}, step {i}: {q:?}"
                );
            }
            // Exactly the sessions that reached step 1 and not the next
            // step that cannot be skipped.
            let next = (1..steps).find(|k| !q.optional(*k)).unwrap();
            let mut dropped: Vec<i64> = journeys
                .iter()
                .filter(|j| brute_reaches(j, &q, 0) && !brute_reaches(j, &q, next))
                .map(|j| j.session_id)
                .collect();
            dropped.reverse();
            assert_eq!(f.dropped_sessions, dropped, "round {round}: {q:?}");
        }
    }

    #[test]
    fn a_later_view_of_a_step_can_be_the_one_its_window_counts_from() {
        // Cart at 0 s and 9 s, checkout at 10 s: within 5 s of the second
        // cart view only.
        let j = Journey {
            session_id: 1,
            pages: vec![1, 2, 2, 3],
            times: vec![0, 1000, 9000, 10_000],
            signals: vec![Default::default(); 4],
            marks: Vec::new(),
        };
        let q = FunnelQuery {
            steps: pages(&[1, 2, 3]),
            window_ms: i64::MAX,
            gaps: vec![i64::MAX, i64::MAX, 5000],
            ..FunnelQuery::default()
        };
        let f = funnel(&[j], &q);
        assert_eq!(
            f.steps.iter().map(|s| s.sessions).collect::<Vec<_>>(),
            [1, 1, 1]
        );
        // Time from the step before: 1 s to the first cart view, then 1 s
        // from the latest cart view to checkout.
        assert_eq!(f.steps[1].median_ms, Some(1000));
        assert_eq!(f.steps[2].median_ms, Some(1000));
        assert_eq!(f.steps[0].median_ms, None);
    }

    #[test]
    fn groups_split_the_counts_and_times_have_percentiles() {
        let mut all = crate::mine::Journeys::with_capacity(0, 0);
        for (id, (group, gap)) in [(0, 1000), (0, 2000), (1, 3000), (1, 4000), (1, 100_000)]
            .into_iter()
            .enumerate()
        {
            let j = Journey {
                session_id: id as i64,
                pages: vec![1, 2],
                times: vec![0, gap],
                signals: vec![Default::default(); 2],
                marks: Vec::new(),
            };
            let mut r = j.as_ref();
            r.group = group;
            all.push(r);
        }
        let q = FunnelQuery {
            steps: pages(&[1, 2]),
            window_ms: i64::MAX,
            grouped: true,
            ..FunnelQuery::default()
        };
        let f = funnel(&all, &q);
        assert_eq!(f.groups, vec![(1, vec![3, 3]), (0, vec![2, 2])]);
        assert_eq!(
            (f.steps[1].median_ms, f.steps[1].p90_ms),
            (Some(3000), Some(100_000))
        );
    }
}
