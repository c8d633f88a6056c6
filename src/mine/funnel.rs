//! Funnels: how many sessions go through a sequence of steps (product page,
//! cart, checkout, thanks), where each step loses them, and where those
//! dropped went instead. The caller resolves page patterns to sets of page
//! ids, so this stays pure over page sequences and times.
//!
//! A session enters the funnel at its first page view matching step 1, and
//! only there (a later view of step 1 does not restart it). It reaches step
//! i if, after the view that reached step i-1, a later view (loose) or the
//! very next view (strict) matches step i, no later than `window_ms` after
//! the entering view. For loose funnels the earliest matching view is taken,
//! which is never worse for the steps after it. One pass over the journeys.
//!
//! A step can also be a custom event (`event:add_to_cart`): the journey is
//! then walked as its page views and the events that some step names, in
//! order (an event between two views comes after the first), and "the very
//! next" of a strict funnel is the next of those; events no step names do
//! not count. Funnels of pages only take the page views alone, as always.

use rustc_hash::FxHashMap;
use serde::Serialize;

use super::cancel::Cancel;
use super::{ratio, JourneySet, PageId};

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
}

/// A funnel definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FunnelQuery {
    pub steps: Vec<StepMatch>,
    /// The whole funnel must complete within this many milliseconds of the
    /// view that entered it (inclusive); `i64::MAX` for no limit.
    pub window_ms: i64,
    /// Each step must be the very next page view; otherwise later views
    /// with anything in between also count.
    pub strict: bool,
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
}

/// A funnel's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Funnel {
    #[serde(skip)]
    pub steps: Vec<FunnelStep>,
    /// Last step's sessions / first step's sessions (0.0 without steps).
    pub overall_conversion: f64,
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

    fn matches(&self, step: usize, page: PageId) -> bool {
        match self {
            Matcher::Dense(m) => m.get(page as usize).is_some_and(|b| b >> step & 1 == 1),
            Matcher::Sparse(s) => s.contains(&(step, page)),
        }
    }
}

/// One thing that happened in a journey, as a funnel with event steps
/// walks it: a page view (its index) or an event (its index in the marks).
#[derive(Debug, Clone, Copy)]
enum Touch {
    View(usize),
    Event(usize),
}

/// The walk of one journey through a funnel with event steps.
struct EventWalk<'a> {
    matcher: &'a Matcher,
    /// The event steps, by index.
    events: &'a [(usize, &'a super::conversions::Target)],
    window_ms: i64,
    strict: bool,
    steps: usize,
}

impl EventWalk<'_> {
    /// The journey's views and the events some step names, in order.
    fn touches(&self, j: &super::JourneyRef<'_>, out: &mut Vec<Touch>) {
        out.clear();
        let named = |m: &super::JourneyMark| self.events.iter().any(|(_, t)| t.mark(m));
        let mut marks = j.marks.iter().enumerate().peekable();
        for k in 0..j.pages.len() {
            while let Some((i, m)) = marks.next_if(|(_, m)| m.after as usize <= k) {
                if named(m) {
                    out.push(Touch::Event(i));
                }
            }
            out.push(Touch::View(k));
        }
        out.extend(
            marks
                .filter(|(_, m)| named(m))
                .map(|(i, _)| Touch::Event(i)),
        );
    }

    fn time(j: &super::JourneyRef<'_>, t: Touch) -> i64 {
        match t {
            Touch::View(k) => j.times[k],
            Touch::Event(i) => j.marks[i].time,
        }
    }

    fn matches(&self, j: &super::JourneyRef<'_>, step: usize, t: Touch) -> bool {
        match t {
            Touch::View(k) => self.matcher.matches(step, j.pages[k]),
            Touch::Event(i) => self
                .events
                .iter()
                .any(|(s, target)| *s == step && target.mark(&j.marks[i])),
        }
    }

    /// The last step the journey reached and, if it dropped there, the
    /// page it viewed next (`None`: it viewed none). `None` when it never
    /// entered.
    fn run(
        &self,
        j: &super::JourneyRef<'_>,
        touches: &mut Vec<Touch>,
    ) -> Option<(usize, Option<PageId>)> {
        self.touches(j, touches);
        let entry = touches.iter().position(|t| self.matches(j, 0, *t))?;
        let t0 = Self::time(j, touches[entry]);
        let in_window = |k: usize| Self::time(j, touches[k]).saturating_sub(t0) <= self.window_ms;
        let (mut step, mut at) = (0, entry);
        while step + 1 < self.steps {
            let found = if self.strict {
                Some(at + 1).filter(|&k| {
                    k < touches.len() && in_window(k) && self.matches(j, step + 1, touches[k])
                })
            } else {
                (at + 1..touches.len())
                    .take_while(|&k| in_window(k))
                    .find(|&k| self.matches(j, step + 1, touches[k]))
            };
            let Some(k) = found else { break };
            step += 1;
            at = k;
        }
        let next = touches[at + 1..].iter().find_map(|t| match t {
            Touch::View(k) => Some(j.pages[*k]),
            Touch::Event(_) => None,
        });
        Some((step, next))
    }
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
    let n = q.steps.len();
    if n == 0 {
        return Funnel {
            steps: Vec::new(),
            overall_conversion: 0.0,
        };
    }
    let matcher = Matcher::new(&q.steps);
    let mut reached = vec![0u32; n];
    let mut exited = vec![0u32; n];
    let mut went: Vec<FxHashMap<PageId, u32>> = vec![FxHashMap::default(); n];
    let mut ticker = cancel.ticker();
    let events: Vec<(usize, &super::conversions::Target)> = q
        .steps
        .iter()
        .enumerate()
        .filter_map(|(i, s)| match s {
            StepMatch::Event(t) => Some((i, t)),
            _ => None,
        })
        .collect();
    let mut touches = Vec::new();
    'journeys: for block in journeys.blocks() {
        for j in block.iter() {
            if ticker.stop() {
                break 'journeys;
            }
            if !events.is_empty() {
                let walk = EventWalk {
                    matcher: &matcher,
                    events: &events,
                    window_ms: q.window_ms,
                    strict: q.strict,
                    steps: n,
                };
                if let Some((step, next)) = walk.run(&j, &mut touches) {
                    reached[..=step].iter_mut().for_each(|r| *r += 1);
                    if step + 1 < n {
                        match next {
                            Some(p) => *went[step].entry(p).or_default() += 1,
                            None => exited[step] += 1,
                        }
                    }
                }
                continue;
            }
            let Some(entry) = j.pages.iter().position(|p| matcher.matches(0, *p)) else {
                continue;
            };
            let t0 = j.times[entry];
            // Inclusive; saturating so that `i64::MAX` means no limit whatever
            // the times. Times are in order, so the views in the window from
            // `entry` on are a prefix: the loose search stops at the first late one.
            let in_window = |k: usize| j.times[k].saturating_sub(t0) <= q.window_ms;
            let (mut step, mut at) = (0, entry);
            while step + 1 < n {
                let found = if q.strict {
                    Some(at + 1).filter(|&k| {
                        k < j.pages.len() && in_window(k) && matcher.matches(step + 1, j.pages[k])
                    })
                } else {
                    (at + 1..j.pages.len())
                        .take_while(|&k| in_window(k))
                        .find(|&k| matcher.matches(step + 1, j.pages[k]))
                };
                let Some(k) = found else { break };
                reached[step] += 1;
                step += 1;
                at = k;
            }
            reached[step] += 1;
            if step + 1 < n {
                // Dropped after `step`: where did the session go right after
                // that view, if anywhere?
                match j.pages.get(at + 1) {
                    Some(p) => *went[step].entry(*p).or_default() += 1,
                    None => exited[step] += 1,
                }
            }
        }
    }
    let first = reached[0];
    let steps: Vec<FunnelStep> = (0..n)
        .map(|i| {
            let previous = if i == 0 { first } else { reached[i - 1] };
            let dropped = if i + 1 < n {
                reached[i] - reached[i + 1]
            } else {
                0
            };
            let mut to: Vec<(PageId, u32)> = std::mem::take(&mut went[i]).into_iter().collect();
            to.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            to.truncate(DROPPED_TO_TOP);
            FunnelStep {
                index: i,
                sessions: reached[i],
                conversion_from_previous: ratio(reached[i], previous),
                conversion_from_start: ratio(reached[i], first),
                dropped,
                dropped_to: to,
                dropped_exited: exited[i],
            }
        })
        .collect();
    Funnel {
        overall_conversion: ratio(reached[n - 1], first),
        steps,
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
}
