//! Before and after a page changed: for each change (a page, the moment
//! its layout changed, a window of time), the page's views, exits and
//! frustrated views, and the sessions through it and how many of them
//! converted, in the window before the moment and in the window after.
//! One pass over the journeys, whatever the number of changes.
//!
//! A view belongs to the side its time falls on; a session counts on a
//! side when it viewed the page there (a session across the moment counts
//! on both), and as converted there when it reached a goal at all.

use rustc_hash::FxHashMap;

use super::frustration::JourneySignals;
use super::{JourneyRef, JourneySet, PageId};
use crate::event::Millis;

/// One change to measure around.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Moment {
    pub page: PageId,
    pub at: Millis,
    /// The length of each window, before and after `at`.
    pub window: Millis,
}

/// What one side of a change counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Side {
    pub views: u64,
    pub exits: u64,
    pub frustrated_views: u64,
    pub sessions: u64,
    pub converted: u64,
}

/// The counts before and after each of `moments`, in their order.
pub(crate) fn before_after(
    journeys: &(impl JourneySet + ?Sized),
    moments: &[Moment],
    converted: impl Fn(&JourneyRef<'_>) -> bool,
) -> Vec<[Side; 2]> {
    let mut out = vec![[Side::default(); 2]; moments.len()];
    let mut by_page: FxHashMap<PageId, Vec<usize>> = FxHashMap::default();
    for (i, m) in moments.iter().enumerate() {
        by_page.entry(m.page).or_default().push(i);
    }
    let mut signals = JourneySignals::default();
    // Per moment and side: whether this journey counted there yet.
    let mut seen: Vec<[bool; 2]> = vec![[false; 2]; moments.len()];
    let mut touched: Vec<usize> = Vec::new();
    for block in journeys.blocks() {
        for j in block.iter() {
            if !j.pages.iter().any(|p| by_page.contains_key(p)) {
                continue;
            }
            signals.fill(j);
            let last = j.pages.len() - 1;
            let mut reached: Option<bool> = None;
            for (v, page) in j.pages.iter().enumerate() {
                let Some(list) = by_page.get(page) else {
                    continue;
                };
                let s = j.signals[v];
                let frustrated = s.rage_clicks > 0
                    || s.dead_clicks > 0
                    || s.error
                    || s.js_error
                    || signals.quick_back[v]
                    || signals.in_loop[v];
                for &m in list {
                    let moment = &moments[m];
                    let t = j.times[v];
                    let side = if t >= moment.at - moment.window && t < moment.at {
                        0
                    } else if t >= moment.at && t < moment.at + moment.window {
                        1
                    } else {
                        continue;
                    };
                    let c = &mut out[m][side];
                    c.views += 1;
                    c.exits += u64::from(v == last);
                    c.frustrated_views += u64::from(frustrated);
                    if !seen[m][side] {
                        seen[m][side] = true;
                        touched.push(m);
                        c.sessions += 1;
                        let won = *reached.get_or_insert_with(|| converted(&j));
                        c.converted += u64::from(won);
                    }
                }
            }
            for m in touched.drain(..) {
                seen[m] = [false; 2];
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mine::{Journey, Journeys};

    fn journey(id: i64, pages: &[PageId], t0: Millis) -> Journey {
        let mut j = Journey::from_pages(id, pages);
        j.times = (0..pages.len() as i64).map(|i| t0 + i * 1_000).collect();
        j
    }

    #[test]
    fn views_fall_on_the_side_of_their_time() {
        let at = 100_000;
        let window = 50_000;
        let list = [
            // Before: views page 2 and goes on; after: leaves on it.
            journey(1, &[1, 2, 3], at - 10_000),
            journey(2, &[1, 2], at + 1_000),
            journey(3, &[1, 2], at + 2_000),
            // Across the moment: counted on both sides, converted.
            journey(4, &[2, 9, 2], at - 1_500),
            // Outside both windows.
            journey(5, &[2], at + window + 1),
            journey(6, &[2], at - window - 1),
        ];
        let js: Journeys = list.iter().map(Journey::as_ref).collect();
        let won = |j: &JourneyRef<'_>| j.pages.contains(&9);
        let got = before_after(
            &js,
            &[Moment {
                page: 2,
                at,
                window,
            }],
            won,
        );
        assert_eq!(
            got[0][0],
            Side {
                views: 2,
                exits: 0,
                frustrated_views: 0,
                sessions: 2,
                converted: 1
            }
        );
        assert_eq!(
            got[0][1],
            Side {
                views: 3,
                exits: 3,
                // (4's quick back is its view of page 9, not of page 2.)
                frustrated_views: 0,
                sessions: 3,
                converted: 1
            }
        );
    }
}
