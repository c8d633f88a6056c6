//! Frustration signals and the "moments that matter".
//!
//! Four signals are recorded as they happen (the tracker flags rage and
//! dead clicks, logs and the tracker's error pages flag errors, the error
//! capture reports JavaScript errors, and among them error clicks: an error
//! less than 1 s after a click); two only show in the order and timing of
//! page views, and are found here:
//! - a *quick back*: a visitor opens a page and within 10 seconds goes
//!   back to the page before it (A → B → A): B was not what they wanted;
//! - a *loop*: A → B → A → B, going round in circles between two pages.
//!
//! A page view with any of them is a *frustrated view*. Pages are
//! ranked by frustrated views, and, for the "moments that matter", by
//! excess exits: exits beyond what the site's overall exit rate predicts
//! for the page's traffic, which weighs an unusually high exit rate by how
//! many visitors it touches. Goal pages (a thank-you page) are expected
//! exits and are left out of that ranking.

use serde::Serialize;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::{ratio, JourneyRef, JourneySet, PageId};
use crate::event::Millis;

/// A return to the previous page within this long counts as a quick back.
pub(crate) const QUICK_BACK_MS: Millis = 10_000;

/// What went wrong on one page, over all its views.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub(crate) struct PageFrustration {
    #[serde(skip)]
    pub page: PageId,
    pub views: u32,
    pub rage_clicks: u32,
    pub dead_clicks: u32,
    /// Views answered with an error (4xx/5xx, or the tracker's 404 page).
    pub errors: u32,
    /// Views with a JavaScript error.
    pub js_errors: u32,
    /// Views with an error click (a JavaScript error less than 1 s after a
    /// click).
    pub error_clicks: u32,
    /// Views left within 10 s for the page before.
    pub quick_backs: u32,
    /// Views that were part of an A → B → A → B loop.
    pub loops: u32,
    /// Views with at least one of the signals above.
    pub frustrated_views: u32,
    /// frustrated_views / views.
    pub frustration_rate: f64,
}

/// What went wrong in one session.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub(crate) struct SessionFrustration {
    pub session_id: i64,
    pub rage_clicks: u32,
    pub dead_clicks: u32,
    pub errors: u32,
    /// Views with a JavaScript error.
    pub js_errors: u32,
    /// Views with an error click.
    pub error_clicks: u32,
    pub quick_backs: u32,
    pub loops: u32,
    /// The sum of the counts above: how many frustrating moments (a view
    /// with an error click counts twice: for its error and for the click).
    pub score: u32,
}

/// The `keep` most frustrated sessions offered (by score, then the newer
/// session id first): a min-heap of at most `keep`, so that what a report
/// holds is bounded by what it shows, not by how many sessions had a
/// signal (millions, on a big site).
struct Worst {
    keep: usize,
    heap: BinaryHeap<Reverse<Ranked>>,
}

/// A session ordered by (score, session id).
struct Ranked(SessionFrustration);

impl Ranked {
    fn key(&self) -> (u32, i64) {
        (self.0.score, self.0.session_id)
    }
}

impl PartialEq for Ranked {
    fn eq(&self, other: &Ranked) -> bool {
        self.key() == other.key()
    }
}

impl Eq for Ranked {}

impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Ranked) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Ranked {
    fn cmp(&self, other: &Ranked) -> std::cmp::Ordering {
        self.key().cmp(&other.key())
    }
}

impl Worst {
    fn new(keep: usize) -> Worst {
        Worst {
            keep,
            heap: BinaryHeap::with_capacity(keep.min(1 << 16) + 1),
        }
    }

    fn offer(&mut self, s: SessionFrustration) {
        if self.keep == 0 {
            return;
        }
        self.heap.push(Reverse(Ranked(s)));
        if self.heap.len() > self.keep {
            self.heap.pop();
        }
    }

    /// The sessions kept, worst first.
    fn into_sorted(self) -> Vec<SessionFrustration> {
        // Ascending by `Reverse`: the greatest (score, id) first.
        self.heap
            .into_sorted_vec()
            .into_iter()
            .map(|r| r.0 .0)
            .collect()
    }
}

/// Frustration over a set of journeys.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct FrustrationReport {
    pub sessions: u32,
    /// Sessions with at least one signal.
    pub frustrated_sessions: u32,
    /// Pages with at least one frustrated view, most frustrated views
    /// first.
    #[serde(skip)]
    pub pages: Vec<PageFrustration>,
    /// The most frustrated sessions, highest score first.
    pub worst_sessions: Vec<SessionFrustration>,
}

/// The signals of one journey: per view, and for the session.
#[derive(Default)]
pub(crate) struct JourneySignals {
    /// Per view: left within 10 s back to the page before (B of A B A).
    pub quick_back: Vec<bool>,
    /// Per view: part of an A B A B round.
    pub in_loop: Vec<bool>,
    pub session: SessionFrustration,
}

#[cfg(test)]
fn journey_signals(j: JourneyRef<'_>) -> JourneySignals {
    let mut js = JourneySignals::default();
    js.fill(j);
    js
}

impl JourneySignals {
    /// The signals of `j`, in the vectors of the journey before (a report
    /// walks ten million journeys: two allocations each were a third of
    /// its time).
    pub(crate) fn fill(&mut self, j: JourneyRef<'_>) {
        let n = j.pages.len();
        self.quick_back.clear();
        self.quick_back.resize(n, false);
        self.in_loop.clear();
        self.in_loop.resize(n, false);
        self.session = signals_of(j, &mut self.quick_back, &mut self.in_loop);
    }
}

fn signals_of(
    j: JourneyRef<'_>,
    quick_back: &mut [bool],
    in_loop: &mut [bool],
) -> SessionFrustration {
    let n = j.pages.len();
    let mut session = SessionFrustration {
        session_id: j.session_id,
        ..Default::default()
    };
    let p = &j.pages;
    for i in 1..n.saturating_sub(1) {
        if p[i + 1] == p[i - 1] && p[i] != p[i - 1] && j.times[i + 1] - j.times[i] <= QUICK_BACK_MS
        {
            quick_back[i] = true;
            session.quick_backs += 1;
        }
    }
    // A B A B: a loop; A B A B A B is two (each further round trip counts).
    let mut i = 0;
    while i + 3 < n {
        if p[i] == p[i + 2] && p[i + 1] == p[i + 3] && p[i] != p[i + 1] {
            in_loop[i..i + 4].fill(true);
            session.loops += 1;
            i += 2;
        } else {
            i += 1;
        }
    }
    for s in j.signals {
        session.rage_clicks += u32::from(s.rage_clicks);
        session.dead_clicks += u32::from(s.dead_clicks);
        session.errors += u32::from(s.error);
        session.js_errors += u32::from(s.js_error);
        session.error_clicks += u32::from(s.error_click);
    }
    session.score = session.rage_clicks
        + session.dead_clicks
        + session.errors
        + session.js_errors
        + session.error_clicks
        + session.quick_backs
        + session.loops;
    session
}

/// Per page and per session frustration; `worst` bounds the session list.
pub(crate) fn frustration(
    journeys: &(impl JourneySet + ?Sized),
    worst: usize,
) -> FrustrationReport {
    let size = journeys.page_bound();
    let mut pages = vec![PageFrustration::default(); size];
    let mut sessions = Worst::new(worst);
    let mut frustrated_sessions = 0;
    let mut js = JourneySignals::default();
    for block in journeys.blocks() {
        for j in block.iter() {
            js.fill(j);
            for (i, &page) in j.pages.iter().enumerate() {
                let pf = &mut pages[page as usize];
                let s = j.signals[i];
                pf.views += 1;
                pf.rage_clicks += u32::from(s.rage_clicks);
                pf.dead_clicks += u32::from(s.dead_clicks);
                pf.errors += u32::from(s.error);
                pf.js_errors += u32::from(s.js_error);
                pf.error_clicks += u32::from(s.error_click);
                pf.quick_backs += u32::from(js.quick_back[i]);
                pf.loops += u32::from(js.in_loop[i]);
                let frustrated = s.rage_clicks > 0
                    || s.dead_clicks > 0
                    || s.error
                    || s.js_error
                    || js.quick_back[i]
                    || js.in_loop[i];
                pf.frustrated_views += u32::from(frustrated);
            }
            if js.session.score > 0 {
                frustrated_sessions += 1;
                sessions.offer(js.session.clone());
            }
        }
    }
    let mut pages: Vec<PageFrustration> = pages
        .into_iter()
        .enumerate()
        .filter(|(_, p)| p.frustrated_views > 0)
        .map(|(id, mut p)| {
            p.page = id as PageId;
            p.frustration_rate = ratio(p.frustrated_views, p.views);
            p
        })
        .collect();
    pages.sort_by(|a, b| {
        b.frustrated_views
            .cmp(&a.frustrated_views)
            .then(a.page.cmp(&b.page))
    });
    let sessions = sessions.into_sorted();
    FrustrationReport {
        sessions: journeys.len() as u32,
        frustrated_sessions,
        pages,
        worst_sessions: sessions,
    }
}

/// One page among the moments that matter.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Moment {
    #[serde(skip)]
    pub page: PageId,
    pub views: u32,
    pub exits: u32,
    pub exit_rate: f64,
    /// exits − views × the site's exit rate: exits beyond the norm.
    pub excess_exits: f64,
    pub frustrated_views: u32,
    pub frustration_rate: f64,
    /// excess exits (when positive) + frustrated views: the views that went
    /// wrong here, by either measure.
    pub impact: f64,
}

/// Pages ranked three ways.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Moments {
    /// The site's overall exit rate (exits / views), the baseline.
    pub exit_rate: f64,
    /// By excess exits, goal pages left out; only pages above the norm.
    #[serde(skip)]
    pub by_exits: Vec<Moment>,
    /// By frustrated views.
    #[serde(skip)]
    pub by_frustration: Vec<Moment>,
    /// By impact, both together.
    #[serde(skip)]
    pub overall: Vec<Moment>,
}

/// The moments that matter; `is_goal(page)` marks pages where leaving is
/// success; `top` bounds each list.
pub(crate) fn moments(
    journeys: &(impl JourneySet + Sync + ?Sized),
    is_goal: impl Fn(PageId) -> bool,
    top: usize,
) -> Moments {
    // Two independent walks: on two threads at once.
    let (flows, report) = std::thread::scope(|s| {
        let flows = s.spawn(|| super::flow::page_flows(journeys));
        let report = frustration(journeys, 0);
        let flows = flows
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (flows, report)
    });
    let size = flows.iter().map(|f| f.page as usize + 1).max().unwrap_or(0);
    let mut frustrated = vec![0u32; size];
    for p in &report.pages {
        frustrated[p.page as usize] = p.frustrated_views;
    }
    let (views, exits) = flows
        .iter()
        .fold((0u32, 0u32), |(v, e), f| (v + f.views, e + f.exits));
    let baseline = ratio(exits, views);
    let all: Vec<Moment> = flows
        .iter()
        .map(|f| {
            let goal = is_goal(f.page);
            let excess = if goal {
                0.0
            } else {
                f.exits as f64 - f.views as f64 * baseline
            };
            let fv = frustrated[f.page as usize];
            Moment {
                page: f.page,
                views: f.views,
                exits: f.exits,
                exit_rate: f.exit_rate,
                excess_exits: excess,
                frustrated_views: fv,
                frustration_rate: ratio(fv, f.views),
                impact: excess.max(0.0) + fv as f64,
            }
        })
        .collect();
    let ranked = |keep: &dyn Fn(&Moment) -> bool, key: &dyn Fn(&Moment) -> f64| {
        let mut list: Vec<Moment> = all.iter().filter(|m| keep(m)).cloned().collect();
        list.sort_by(|a, b| key(b).total_cmp(&key(a)).then(a.page.cmp(&b.page)));
        list.truncate(top);
        list
    };
    Moments {
        exit_rate: baseline,
        by_exits: ranked(&|m| m.excess_exits > 0.0, &|m| m.excess_exits),
        by_frustration: ranked(&|m| m.frustrated_views > 0, &|m| m.frustrated_views as f64),
        overall: ranked(&|m| m.impact > 0.0, &|m| m.impact),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worst_kept_are_the_first_of_all_sorted() {
        let mut rng = crate::mine::testing::Rng(7);
        let all: Vec<SessionFrustration> = (0..2000)
            .map(|i| SessionFrustration {
                session_id: rng.below(500) as i64 * 1000 + i,
                score: rng.below(12) as u32,
                ..SessionFrustration::default()
            })
            .collect();
        for keep in [0, 1, 7, 100, 5000] {
            let mut worst = Worst::new(keep);
            for s in &all {
                worst.offer(s.clone());
            }
            let mut sorted = all.clone();
            sorted.sort_by(|a, b| b.score.cmp(&a.score).then(b.session_id.cmp(&a.session_id)));
            sorted.truncate(keep);
            assert_eq!(worst.into_sorted(), sorted, "keep {keep}");
        }
    }
    use crate::event::PageSignals;
    use crate::mine::testing::journeys;
    use crate::mine::Journey;

    fn timed(pages: &[PageId], times_s: &[i64]) -> Journey {
        Journey {
            session_id: 7,
            pages: pages.to_vec(),
            times: times_s.iter().map(|t| t * 1000).collect(),
            signals: vec![PageSignals::default(); pages.len()],
            marks: Vec::new(),
        }
    }

    #[test]
    fn a_quick_back_is_a_return_within_ten_seconds() {
        // 1 → 2 (left after 5 s) → 1: quick back on 2.
        // 1 → 3 (left after 30 s) → 1: a slow return, not frustration.
        let j = timed(&[1, 2, 1, 3, 1], &[0, 10, 15, 20, 50]);
        let js = journey_signals(j.as_ref());
        assert_eq!(js.quick_back, [false, true, false, false, false]);
        assert_eq!(js.session.quick_backs, 1);
        // Exactly 10 s still counts.
        let js = journey_signals(timed(&[1, 2, 1], &[0, 10, 20]).as_ref());
        assert_eq!(js.session.quick_backs, 1);
        let js = journey_signals(timed(&[1, 2, 1], &[0, 10, 21]).as_ref());
        assert_eq!(js.session.quick_backs, 0);
    }

    #[test]
    fn loops_go_round_between_two_pages() {
        let js =
            journey_signals(timed(&[5, 1, 2, 1, 2, 6], &[0, 100, 200, 300, 400, 500]).as_ref());
        assert_eq!(js.session.loops, 1);
        assert_eq!(js.in_loop, [false, true, true, true, true, false]);
        let two =
            journey_signals(timed(&[1, 2, 1, 2, 1, 2], &[0, 100, 200, 300, 400, 500]).as_ref());
        assert_eq!(two.session.loops, 2);
        // A B A C is a back, not a loop; so is a repeat A A A A.
        let none = journey_signals(timed(&[1, 2, 1, 3], &[0, 100, 200, 300]).as_ref());
        assert_eq!(none.session.loops, 0);
        let none = journey_signals(timed(&[1, 1, 1, 1], &[0, 100, 200, 300]).as_ref());
        assert_eq!(none.session.loops, 0);
    }

    #[test]
    fn pages_and_sessions_add_up() {
        let mut a = timed(&[1, 2, 1], &[0, 3, 6]); // quick back on 2
        a.signals[0].rage_clicks = 2;
        let mut b = timed(&[3, 2], &[0, 5]);
        b.session_id = 8;
        b.signals[1].error = true;
        b.signals[1].dead_clicks = 1;
        let c = timed(&[3], &[0]);
        let r = frustration(&[a, b, c], 10);
        assert_eq!(r.sessions, 3);
        assert_eq!(r.frustrated_sessions, 2);
        let p2 = r.pages.iter().find(|p| p.page == 2).unwrap();
        assert_eq!(
            (
                p2.views,
                p2.quick_backs,
                p2.errors,
                p2.dead_clicks,
                p2.frustrated_views
            ),
            (2, 1, 1, 1, 2)
        );
        assert_eq!(p2.frustration_rate, 1.0);
        let p1 = r.pages.iter().find(|p| p.page == 1).unwrap();
        assert_eq!((p1.views, p1.rage_clicks, p1.frustrated_views), (2, 2, 1));
        assert!(r.pages.iter().all(|p| p.page != 3), "page 3 went fine");
        assert_eq!(r.worst_sessions[0].session_id, 7);
        assert_eq!(r.worst_sessions[0].score, 3);
        assert_eq!(r.worst_sessions[1].score, 2);
    }

    #[test]
    fn moments_rank_excess_exits_and_skip_goals() {
        // Page 2 loses most of its visitors; page 9 is the goal where
        // everyone who converts leaves.
        let j = journeys(&[
            &[1, 2],
            &[1, 2],
            &[1, 2],
            &[1, 3, 9],
            &[1, 3, 9],
            &[1, 3, 4, 9],
        ]);
        let m = moments(&j, |p| p == 9, 10);
        assert_eq!(m.exit_rate, 6.0 / 16.0);
        let first = &m.by_exits[0];
        assert_eq!(first.page, 2);
        assert_eq!(first.exits, 3);
        assert!((first.excess_exits - (3.0 - 3.0 * 6.0 / 16.0)).abs() < 1e-9);
        assert!(m.by_exits.iter().all(|x| x.page != 9));
        assert!(m.by_frustration.is_empty());
        assert_eq!(m.overall[0].page, 2);
    }
}
