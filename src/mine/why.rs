//! Why they left: for every session that reached a decision point and did
//! not convert, the evidence just before its exit, as reason codes.
//!
//! A session carries every reason its last views show (so the shares can
//! add up to more than 100%), or `no_sign` when they show none:
//! - `error_page`: its last or next-to-last view was an error page;
//! - `js_error`: a JavaScript error on its last or next-to-last view (the
//!   tag's error capture);
//! - `new_content`: its exit view showed text the view before it did not
//!   (the previous view of the same page, else the view just before),
//!   while still showing at least half of that view's lines: the same
//!   page, or a step of the same form, with something new on it (a
//!   shipping cost at the second checkout step). The evidence is the
//!   replay recorder's layouts, found by the caller;
//! - `rage_clicks`, `dead_clicks`: on its exit page;
//! - `quick_back`: it bounced back from a page within 10 s in its last
//!   three views (A → B → A, B left fast), then left;
//! - `loop`: its exit view closes an A → B → A → B round;
//! - `quick_exit`: it left the last page within 10 s of opening it;
//! - `long_stay`: it stayed over 3 minutes on the last page, then left
//!   (weighing something up: a price, a shipping cost, a form);
//! - `no_sign`: none of these: it left quietly (what the page said, a
//!   price, a shipping cost, is then the question; replay shows it).
//!
//! Counting is one pass; the reasons, their exit pages and their segments
//! are small tables, so the answer's size does not grow with the site.

use rustc_hash::FxHashMap;

use super::cancel::Cancel;
use super::frustration::JourneySignals;
use super::{keep_newest, JourneyRef, JourneySet, PageId};
use crate::event::Millis;

/// The reasons, in the order they are listed when tied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Reason {
    ErrorPage,
    JsError,
    NewContent,
    RageClicks,
    DeadClicks,
    QuickBack,
    Loop,
    QuickExit,
    LongStay,
    NoSign,
}

/// Time on the last page under which leaving counts as `quick_exit`.
pub(crate) const QUICK_EXIT_MS: Millis = 10_000;
/// Time on the last page over which leaving counts as `long_stay`.
pub(crate) const LONG_STAY_MS: Millis = 180_000;

impl Reason {
    pub(crate) const ALL: [Reason; 10] = [
        Reason::ErrorPage,
        Reason::JsError,
        Reason::NewContent,
        Reason::RageClicks,
        Reason::DeadClicks,
        Reason::QuickBack,
        Reason::Loop,
        Reason::QuickExit,
        Reason::LongStay,
        Reason::NoSign,
    ];

    pub(crate) fn code(self) -> &'static str {
        match self {
            Reason::ErrorPage => "error_page",
            Reason::JsError => "js_error",
            Reason::NewContent => "new_content",
            Reason::RageClicks => "rage_clicks",
            Reason::DeadClicks => "dead_clicks",
            Reason::QuickBack => "quick_back",
            Reason::Loop => "loop",
            Reason::QuickExit => "quick_exit",
            Reason::LongStay => "long_stay",
            Reason::NoSign => "no_sign",
        }
    }

    /// What it says, for people.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Reason::ErrorPage => "hit an error page just before leaving",
            Reason::JsError => "hit a JavaScript error just before leaving",
            Reason::NewContent => "saw something new on the page they left",
            Reason::RageClicks => "rage-clicked on the page they left",
            Reason::DeadClicks => "clicked something dead on the page they left",
            Reason::QuickBack => "bounced back from a page within 10 s, then left",
            Reason::Loop => "went round in circles between two pages, then left",
            Reason::QuickExit => "left the last page within 10 s of opening it",
            Reason::LongStay => "stayed over 3 minutes on the last page, then left",
            Reason::NoSign => "left without a sign of trouble",
        }
    }
}

/// The reasons of one session that left, in [`Reason::ALL`] order;
/// `new_content` is what the layouts say of its exit view.
pub(crate) fn reasons_of(
    j: JourneyRef<'_>,
    signals: &mut JourneySignals,
    new_content: bool,
) -> Vec<Reason> {
    let n = j.pages.len();
    let mut out = Vec::new();
    if n == 0 {
        return out;
    }
    signals.fill(j);
    let last = n - 1;
    if j.signals[last].error || (n >= 2 && j.signals[last - 1].error) {
        out.push(Reason::ErrorPage);
    }
    if j.signals[last].js_error || (n >= 2 && j.signals[last - 1].js_error) {
        out.push(Reason::JsError);
    }
    if new_content {
        out.push(Reason::NewContent);
    }
    if j.signals[last].rage_clicks > 0 {
        out.push(Reason::RageClicks);
    }
    if j.signals[last].dead_clicks > 0 {
        out.push(Reason::DeadClicks);
    }
    if signals.quick_back[n.saturating_sub(3)..].iter().any(|q| *q) {
        out.push(Reason::QuickBack);
    }
    if signals.in_loop[last] {
        out.push(Reason::Loop);
    }
    // Nothing after the last view's opening (an access log, a tab closed
    // before the tracker could say) is no time known, not a quick exit.
    let on_last = j.end - j.times[last];
    if on_last > 0 && on_last < QUICK_EXIT_MS {
        out.push(Reason::QuickExit);
    } else if on_last > LONG_STAY_MS {
        out.push(Reason::LongStay);
    }
    if out.is_empty() {
        out.push(Reason::NoSign);
    }
    out
}

/// One reason's sessions, where they left, and in which segments.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct ReasonCounts {
    pub sessions: u32,
    /// Sessions by exit page.
    pub exits: FxHashMap<PageId, u32>,
    /// Sessions by the journey's group code (a breakdown's value).
    pub groups: FxHashMap<u32, u32>,
    /// The newest sessions with the reason, at most [`super::EXAMPLES`].
    pub examples: Vec<i64>,
}

/// The answer's counts.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct WhyCounts {
    /// Sessions that reached the decision point.
    pub reached: u32,
    /// Of those, the sessions that converted.
    pub converted: u32,
    /// The rest: the sessions that left.
    pub left: u32,
    /// Left sessions by group code.
    pub left_by_group: FxHashMap<u32, u32>,
    /// Per reason, in [`Reason::ALL`] order.
    pub reasons: Vec<(Reason, ReasonCounts)>,
}

/// The sessions of `journeys` that `reached` the decision point and did
/// not `convert`, in the order walked: those whose layouts the caller
/// reads for `new_content`.
pub(crate) fn leaving(
    journeys: &(impl JourneySet + ?Sized),
    reached: impl Fn(&JourneyRef<'_>) -> bool,
    converted: impl Fn(&JourneyRef<'_>) -> bool,
    cancel: &Cancel,
) -> Vec<i64> {
    let mut out = Vec::new();
    let mut ticker = cancel.ticker();
    for block in journeys.blocks() {
        for j in block.iter() {
            if ticker.stop() {
                return out;
            }
            if !j.pages.is_empty() && reached(&j) && !converted(&j) {
                out.push(j.session_id);
            }
        }
    }
    out
}

/// Counts the reasons of the sessions of `journeys` that `reached` the
/// decision point and did not `convert`; `new_content` tells a session
/// (by id) whose exit view showed something new.
pub(crate) fn why(
    journeys: &(impl JourneySet + ?Sized),
    reached: impl Fn(&JourneyRef<'_>) -> bool,
    converted: impl Fn(&JourneyRef<'_>) -> bool,
    new_content: impl Fn(i64) -> bool,
    cancel: &Cancel,
) -> WhyCounts {
    let mut out = WhyCounts {
        reasons: Reason::ALL
            .iter()
            .map(|r| (*r, ReasonCounts::default()))
            .collect(),
        ..WhyCounts::default()
    };
    let mut signals = JourneySignals::default();
    let mut ticker = cancel.ticker();
    for block in journeys.blocks() {
        for j in block.iter() {
            if ticker.stop() {
                return out;
            }
            if j.pages.is_empty() || !reached(&j) {
                continue;
            }
            out.reached += 1;
            if converted(&j) {
                out.converted += 1;
                continue;
            }
            out.left += 1;
            *out.left_by_group.entry(j.group).or_default() += 1;
            let exit = j.pages[j.pages.len() - 1];
            let new = new_content(j.session_id);
            for reason in reasons_of(j, &mut signals, new) {
                let counts = &mut out.reasons[reason as usize].1;
                counts.sessions += 1;
                *counts.exits.entry(exit).or_default() += 1;
                *counts.groups.entry(j.group).or_default() += 1;
                keep_newest(&mut counts.examples, j.session_id);
            }
        }
    }
    for (_, counts) in &mut out.reasons {
        counts.examples.sort_unstable_by(|a, b| b.cmp(a));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::PageSignals;
    use crate::mine::{Journey, Journeys};

    /// A journey with views at `secs`, `last` the exit view's signals, and
    /// no time known on its last page.
    fn journey(id: i64, pages: &[PageId], secs: &[i64], last: PageSignals) -> Journey {
        let mut j = Journey::from_pages(id, pages);
        j.times = secs.iter().map(|s| s * 1000).collect();
        if let Some(l) = j.signals.last_mut() {
            *l = last;
        }
        j
    }

    fn quiet() -> PageSignals {
        PageSignals::default()
    }

    #[test]
    fn each_session_gets_the_reasons_its_last_views_show() {
        // Pages: 1 home, 2 cart, 3 shipping, 4 help, 9 thank-you.
        let rage = PageSignals {
            rage_clicks: 2,
            ..quiet()
        };
        let error = PageSignals {
            error: true,
            ..quiet()
        };
        let list = vec![
            // Converted: not counted as left.
            journey(1, &[1, 2, 3, 9], &[0, 10, 20, 30], quiet()),
            // Rage on the exit page.
            journey(2, &[1, 2, 3], &[0, 10, 20], rage),
            // A quick back from help, then left: 3 → 4 (5 s) → 3.
            journey(3, &[2, 3, 4, 3], &[0, 10, 20, 25], quiet()),
            // A loop: 2 3 2 3.
            journey(4, &[1, 2, 3, 2, 3], &[0, 30, 60, 90, 120], quiet()),
            // Quiet.
            journey(5, &[1, 2], &[0, 10], quiet()),
            // An error page at the end, with rage.
            journey(
                6,
                &[1, 2, 3],
                &[0, 10, 20],
                PageSignals {
                    rage_clicks: 1,
                    ..error
                },
            ),
            // Never reached the cart: not counted.
            journey(7, &[1, 4], &[0, 10], rage),
        ];
        let mut js = Journeys::with_capacity(list.len(), 0);
        for j in &list {
            js.push(j.as_ref());
        }
        let reached = |j: &JourneyRef<'_>| j.pages.contains(&2);
        let converted = |j: &JourneyRef<'_>| j.pages.contains(&9);
        let cancel = Cancel::never();
        assert_eq!(
            leaving(&js, reached, converted, &cancel),
            vec![2, 3, 4, 5, 6]
        );
        // The layouts say session 5 (quiet) saw something new.
        let got = why(&js, reached, converted, |id| id == 5, &cancel);
        assert_eq!((got.reached, got.converted, got.left), (6, 1, 5));
        let of = |r: Reason| &got.reasons[r as usize].1;
        assert_eq!(of(Reason::RageClicks).examples, vec![6, 2]);
        assert_eq!(of(Reason::ErrorPage).examples, vec![6]);
        // 3 → 4 → 3 within 10 s; the loop 2 3 2 3 has 30 s views.
        assert_eq!(of(Reason::QuickBack).examples, vec![3]);
        assert_eq!(of(Reason::Loop).examples, vec![4]);
        assert_eq!(of(Reason::NewContent).examples, vec![5]);
        // New content is a sign: session 5 is no longer quiet.
        assert_eq!(of(Reason::NoSign).sessions, 0);
        assert_eq!(of(Reason::DeadClicks).sessions, 0);
        assert_eq!(of(Reason::RageClicks).exits.get(&3), Some(&2));
    }

    #[test]
    fn the_time_on_the_last_page_is_evidence_where_it_is_known() {
        let mut js = Journeys::with_capacity(4, 0);
        for (id, on_last) in [
            (1, Some(4_000)),
            (2, Some(200_000)),
            (3, Some(60_000)),
            (4, None),
        ] {
            js.begin(id);
            js.view(2, 0, quiet(), false);
            js.view(3, 10_000, quiet(), false);
            if let Some(t) = on_last {
                js.ends_at(10_000 + t);
            }
            js.end();
        }
        let got = why(&js, |_| true, |_| false, |_| false, &Cancel::never());
        let of = |r: Reason| &got.reasons[r as usize].1.examples;
        assert_eq!(of(Reason::QuickExit), &vec![1]);
        assert_eq!(of(Reason::LongStay), &vec![2]);
        // A minute, and no time known: no sign.
        assert_eq!(of(Reason::NoSign), &vec![4, 3]);
    }

    #[test]
    fn examples_are_the_newest_sessions() {
        let mut kept = Vec::new();
        for id in [5, 1, 9, 3, 7, 2, 8, 4, 6, 10, 12, 11, 0] {
            keep_newest(&mut kept, id);
        }
        kept.sort_unstable_by(|a, b| b.cmp(a));
        assert_eq!(kept, vec![12, 11, 10, 9, 8, 7, 6, 5, 4, 3]);
    }
}
