//! Entries, exits and transitions: where visitors arrive, where they leave,
//! and, for one page, where its visitors came from and went next (Matomo's
//! Transitions, without its fixed top 5: the remainder is grouped and also
//! listed in full, so a UI can expand it).
//!
//! One pass over the journeys with dense arrays indexed by page id; counts
//! are page views (a page seen twice in a session counts twice), entries,
//! exits and bounces are sessions.

use rustc_hash::FxHashMap;
use serde::Serialize;

use super::{ratio, JourneySet, PageId};

/// Traffic through one page.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct PageFlow {
    #[serde(skip)]
    pub page: PageId,
    pub views: u32,
    /// Sessions that started here.
    pub entries: u32,
    /// Sessions that ended here.
    pub exits: u32,
    /// exits / views.
    pub exit_rate: f64,
    /// Sessions of this one page only, entering here.
    pub bounces: u32,
    /// bounces / entries.
    pub bounce_rate: f64,
}

/// Every page's flow, most viewed first (then by page id).
pub(crate) fn page_flows(journeys: &(impl JourneySet + ?Sized)) -> Vec<PageFlow> {
    let size = journeys.page_bound();
    // views, entries, exits, bounces
    let mut counts = vec![[0u32; 4]; size];
    for block in journeys.blocks() {
        for j in block.iter() {
            let (Some(first), Some(last)) = (j.pages.first(), j.pages.last()) else {
                continue;
            };
            for p in j.pages {
                counts[*p as usize][0] += 1;
            }
            counts[*first as usize][1] += 1;
            counts[*last as usize][2] += 1;
            if j.pages.len() == 1 {
                counts[*first as usize][3] += 1;
            }
        }
    }
    let mut flows: Vec<PageFlow> = counts
        .iter()
        .enumerate()
        .filter(|(_, c)| c[0] > 0)
        .map(|(page, &[views, entries, exits, bounces])| PageFlow {
            page: page as PageId,
            views,
            entries,
            exits,
            exit_rate: ratio(exits, views),
            bounces,
            bounce_rate: ratio(bounces, entries),
        })
        .collect();
    flows.sort_by(|a, b| b.views.cmp(&a.views).then(a.page.cmp(&b.page)));
    flows
}

/// Which page, and how many neighbours to list before grouping the rest.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TransitionQuery {
    pub page: PageId,
    pub top_k: usize,
}

/// Where one page's views came from and went.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Transitions {
    #[serde(skip)]
    pub page: PageId,
    pub views: u32,
    /// The page before each view, top K by views.
    #[serde(skip)]
    pub previous: Neighbours,
    /// Views that started a session (the visitor came from outside).
    pub entries: u32,
    /// The page after each view, top K.
    #[serde(skip)]
    pub next: Neighbours,
    /// Views that ended a session.
    pub exits: u32,
    /// Views whose previous (next) page is not in the top K.
    pub previous_other: u32,
    pub next_other: u32,
    /// The grouped remainder, in full.
    #[serde(skip)]
    pub previous_more: Neighbours,
    #[serde(skip)]
    pub next_more: Neighbours,
}

/// Transitions of `q.page`. Every view is accounted for: views = entries +
/// previous + previous_other = exits + next + next_other.
pub(crate) fn transitions(
    journeys: &(impl JourneySet + ?Sized),
    q: &TransitionQuery,
) -> Transitions {
    let mut before: FxHashMap<PageId, u32> = FxHashMap::default();
    let mut after: FxHashMap<PageId, u32> = FxHashMap::default();
    let (mut views, mut entries, mut exits) = (0, 0, 0);
    for block in journeys.blocks() {
        for j in block.iter() {
            for (i, p) in j.pages.iter().enumerate() {
                if *p != q.page {
                    continue;
                }
                views += 1;
                match i.checked_sub(1).map(|k| j.pages[k]) {
                    Some(prev) => *before.entry(prev).or_default() += 1,
                    None => entries += 1,
                }
                match j.pages.get(i + 1) {
                    Some(next) => *after.entry(*next).or_default() += 1,
                    None => exits += 1,
                }
            }
        }
    }
    let (previous, previous_more) = split_top(before, q.top_k);
    let (next, next_more) = split_top(after, q.top_k);
    Transitions {
        page: q.page,
        views,
        entries,
        exits,
        previous_other: previous_more.iter().map(|(_, n)| n).sum(),
        next_other: next_more.iter().map(|(_, n)| n).sum(),
        previous,
        next,
        previous_more,
        next_more,
    }
}

/// Neighbouring pages with their view counts.
pub(crate) type Neighbours = Vec<(PageId, u32)>;

/// Sorted by count (then page), cut after `k`: (top, rest).
fn split_top(counts: FxHashMap<PageId, u32>, k: usize) -> (Neighbours, Neighbours) {
    let mut all: Vec<(PageId, u32)> = counts.into_iter().collect();
    all.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let rest = all.split_off(k.min(all.len()));
    (all, rest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mine::testing::journeys;
    use crate::mine::Journey;

    #[test]
    fn entries_exits_and_bounces_by_hand() {
        // 1→2→3, 1→3, 2, 1→2→1
        let js = journeys(&[&[1, 2, 3], &[1, 3], &[2], &[1, 2, 1]]);
        let flows = page_flows(&js);
        let get = |p| flows.iter().find(|f| f.page == p).unwrap();
        // Page 1: views 1+1+2 = 4; entries 3 (sessions 1, 2, 4); exits 1 (session 4).
        assert_eq!((get(1).views, get(1).entries, get(1).exits), (4, 3, 1));
        assert_eq!(get(1).exit_rate, 0.25);
        assert_eq!((get(1).bounces, get(1).bounce_rate), (0, 0.0));
        // Page 2: views 3; entries 1 (session 3, a bounce); exits 1.
        assert_eq!(
            (get(2).views, get(2).entries, get(2).exits, get(2).bounces),
            (3, 1, 1, 1)
        );
        assert_eq!(get(2).bounce_rate, 1.0);
        // Page 3: views 2, exits 2.
        assert_eq!((get(3).views, get(3).exits, get(3).exit_rate), (2, 2, 1.0));
        assert_eq!(
            flows.iter().map(|f| f.page).collect::<Vec<_>>(),
            [1, 2, 3],
            "by views"
        );
        assert_eq!(flows.iter().map(|f| f.entries).sum::<u32>(), 4);
        assert_eq!(flows.iter().map(|f| f.exits).sum::<u32>(), 4);
    }

    #[test]
    fn transitions_group_the_remainder_and_account_for_every_view() {
        // Views of 2: from 1 (x3), from 5, from 6, entry (x1); to 3 (x2), 4, exit (x3).
        let js = journeys(&[&[1, 2, 3], &[1, 2, 3], &[1, 2, 4], &[5, 2], &[6, 2], &[2]]);
        let t = transitions(&js, &TransitionQuery { page: 2, top_k: 1 });
        assert_eq!(t.views, 6);
        assert_eq!(t.entries, 1);
        assert_eq!(t.previous, [(1, 3)]);
        assert_eq!(t.previous_more, [(5, 1), (6, 1)]);
        assert_eq!(t.previous_other, 2);
        assert_eq!(t.next, [(3, 2)]);
        assert_eq!(t.next_more, [(4, 1)]);
        assert_eq!(t.exits, 3);
        assert_eq!(t.entries + t.previous[0].1 + t.previous_other, t.views);
        assert_eq!(t.exits + t.next[0].1 + t.next_other, t.views);
        let none = transitions(&js, &TransitionQuery { page: 99, top_k: 5 });
        assert_eq!((none.views, none.previous.len()), (0, 0));
    }

    #[test]
    fn a_brute_force_agrees_on_random_journeys() {
        let seed = 0x2545_f491_4f6c_dd1du64;
        let mut rng = crate::mine::testing::Rng(seed);
        let mut next = move |n: u64| rng.below(n);
        let js: Vec<Journey> = (0..300)
            .map(|i| {
                let len = 1 + next(6) as usize;
                let pages: Vec<PageId> = (0..len).map(|_| 1 + next(5) as PageId).collect();
                Journey::from_pages(i, &pages)
            })
            .collect();
        for f in page_flows(&js) {
            let views = js
                .iter()
                .flat_map(|j| &j.pages)
                .filter(|p| **p == f.page)
                .count() as u32;
            let entries = js.iter().filter(|j| j.pages[0] == f.page).count() as u32;
            let exits = js
                .iter()
                .filter(|j| *j.pages.last().unwrap() == f.page)
                .count() as u32;
            assert_eq!((f.views, f.entries, f.exits), (views, entries, exits));
            let t = transitions(
                &js,
                &TransitionQuery {
                    page: f.page,
                    top_k: 2,
                },
            );
            assert_eq!(t.views, views);
            assert_eq!(t.entries, entries);
            assert_eq!(t.exits, exits);
        }
    }
}
