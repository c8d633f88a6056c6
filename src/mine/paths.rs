//! The most common paths: "what do sessions do first", "what do they do
//! after the cart", "how do they get to checkout". Each session contributes
//! exactly one path (so counts are sessions, and they add up to at most the
//! number of sessions), cut out of its journey around optional anchors:
//!
//! - no anchor: the session's first `steps` pages;
//! - start S: from the session's first visit to S, up to `steps` pages;
//! - end E: the `steps` pages up to and including its first visit to E;
//! - both: from the first visit to S to the first visit to E after it. The
//!   pages in between are kept if they fit (`steps - 2` of them); otherwise
//!   the middle collapses to its first and last pages around a `0`
//!   placeholder ("…") and `collapsed_middle` is set.
//!
//! One pass over the journeys, cutting each path into a reused buffer; the
//! paths are then counted as packed integers (or, when they do not fit in
//! 128 bits, in a hash map keyed by page slice).

use rustc_hash::FxHashMap;
use serde::Serialize;

use super::{JourneySet, PageId};

/// The longest path `top_paths` cuts; longer requests are clamped.
pub(crate) const MAX_STEPS: usize = 20;

/// Stands for the collapsed middle of a start-to-end path ("…"). Page ids
/// are interned and 0 may be a real page, so a reader tells them apart by
/// `PathCount::collapsed_middle` and the position: with the flag set, the
/// placeholder is the one page at index `1 + (steps.max(3) - 3).div_ceil(2)`.
pub(crate) const COLLAPSED: PageId = 0;

/// What paths to count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PathQuery {
    /// Pages per path, 1..=20 (clamped). With both anchors, at least 3 so
    /// that start, placeholder and end fit.
    pub steps: usize,
    /// How many paths to return, most sessions first; 0 returns all.
    pub top_k: usize,
    /// Paths start at each session's first visit to this page.
    pub start: Option<PageId>,
    /// Paths end at each session's first visit to this page (after the
    /// start, with both anchors).
    pub end: Option<PageId>,
}

impl Default for PathQuery {
    fn default() -> PathQuery {
        PathQuery {
            steps: 5,
            top_k: 10,
            start: None,
            end: None,
        }
    }
}

/// One path and how many sessions took it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct PathCount {
    #[serde(skip)]
    pub pages: Vec<PageId>,
    pub sessions: u32,
    /// The pages between start and end did not fit: `pages` holds the first
    /// ones, [`COLLAPSED`], then the last ones.
    pub collapsed_middle: bool,
}

/// The `q.top_k` most common paths, by sessions descending, then pages
/// ascending (lexicographically), uncollapsed before collapsed. Sessions
/// with no path (empty, or missing an anchor) are not counted.
pub(crate) fn top_paths(journeys: &(impl JourneySet + ?Sized), q: &PathQuery) -> Vec<PathCount> {
    count_paths(journeys, q, false)
}

/// `top_paths`, with the slice-keyed counting forced for tests.
fn count_paths(
    journeys: &(impl JourneySet + ?Sized),
    q: &PathQuery,
    force_slices: bool,
) -> Vec<PathCount> {
    let steps = q.steps.clamp(1, MAX_STEPS);
    if journeys.len() == 0 {
        return Vec::new();
    }
    let max_page = journeys.page_bound().saturating_sub(1);
    // Most paths are short and page ids small: then a whole path packs
    // into one u128 (each page as id + 1 in `bits` bits, first page most
    // significant, 0 = no page, then the collapsed flag in the lowest
    // bit). The integer order is the documented order (a shorter path
    // sorts before its extensions, uncollapsed before collapsed), so only
    // the top K are ever decoded. Within a block the keys are counted by
    // sorting them, not hashing: on a million sessions with mostly distinct
    // paths sorting took half the time of a hash map (125 vs 230 ms), and
    // pattern-defeating quicksort stays fast when there are few distinct
    // paths; the map then only sees each block's distinct paths.
    let slots = steps.max(3);
    let bits = (u64::BITS - (max_page as u64 + 1).leading_zeros()) as usize;
    if force_slices || slots * bits + 1 > 128 {
        return count_by_slices(journeys, q, steps);
    }
    // Sorted a block at a time, and each block's runs added up in a map:
    // what a request holds is one block's keys and the distinct paths, not
    // a key per session (160 MB at ten million).
    let mut counts: FxHashMap<u128, u32> = FxHashMap::default();
    let mut keys: Vec<u128> = Vec::new();
    let mut buf: Vec<PageId> = Vec::with_capacity(MAX_STEPS + 1);
    for block in journeys.blocks() {
        keys.clear();
        for j in block.iter() {
            buf.clear();
            let Some(collapsed) = cut(j.pages, steps, q.start, q.end, &mut buf) else {
                continue;
            };
            let mut key = 0u128;
            for i in 0..slots {
                let v = buf.get(i).map_or(0, |p| *p as u128 + 1);
                key = key << bits | v;
            }
            keys.push(key << 1 | collapsed as u128);
        }
        keys.sort_unstable();
        for run in keys.chunk_by(|a, b| a == b) {
            *counts.entry(run[0]).or_default() += run.len() as u32;
        }
    }
    let mut all: Vec<(u128, u32)> = counts.into_iter().collect();
    rank(&mut all, q.top_k, |a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let mask = (1u128 << bits) - 1;
    all.into_iter()
        .map(|(key, sessions)| PathCount {
            pages: (0..slots)
                .map(|i| (key >> 1 >> (bits * (slots - 1 - i))) & mask)
                .take_while(|v| *v != 0)
                .map(|v| (v - 1) as PageId)
                .collect(),
            sessions,
            collapsed_middle: key & 1 == 1,
        })
        .collect()
}

/// The general case (long paths over many pages): counted by page slice.
fn count_by_slices(
    journeys: &(impl JourneySet + ?Sized),
    q: &PathQuery,
    steps: usize,
) -> Vec<PathCount> {
    // Two maps rather than a flag in the key: a collapsed path and a real
    // one may hold the same ids when page 0 exists.
    let mut counts: [FxHashMap<Box<[PageId]>, u32>; 2] = Default::default();
    let mut buf: Vec<PageId> = Vec::with_capacity(MAX_STEPS + 1);
    for block in journeys.blocks() {
        for j in block.iter() {
            buf.clear();
            let Some(collapsed) = cut(j.pages, steps, q.start, q.end, &mut buf) else {
                continue;
            };
            let map = &mut counts[collapsed as usize];
            // Look up by slice: only a path not seen before allocates its key.
            match map.get_mut(buf.as_slice()) {
                Some(n) => *n += 1,
                None => {
                    map.insert(buf.as_slice().into(), 1);
                }
            }
        }
    }
    let [plain, collapsed] = counts;
    let mut all: Vec<PathCount> = plain
        .into_iter()
        .map(|(p, n)| (p, n, false))
        .chain(collapsed.into_iter().map(|(p, n)| (p, n, true)))
        .map(|(pages, sessions, collapsed_middle)| PathCount {
            pages: pages.into_vec(),
            sessions,
            collapsed_middle,
        })
        .collect();
    rank(&mut all, q.top_k, |a, b| {
        b.sessions
            .cmp(&a.sessions)
            .then_with(|| a.pages.cmp(&b.pages))
            .then(a.collapsed_middle.cmp(&b.collapsed_middle))
    });
    all
}

/// Keeps the first `k` (all when 0) in `order`, sorted. There may be many
/// distinct paths and few wanted: select, then sort only the kept ones.
fn rank<T>(all: &mut Vec<T>, k: usize, order: impl Fn(&T, &T) -> std::cmp::Ordering) {
    if k > 0 && k < all.len() {
        all.select_nth_unstable_by(k - 1, &order);
        all.truncate(k);
    }
    all.sort_unstable_by(order);
}

/// Writes the path of one session into `out` and says whether its middle
/// collapsed; `None` when the session has no path.
fn cut(
    pages: &[PageId],
    steps: usize,
    start: Option<PageId>,
    end: Option<PageId>,
    out: &mut Vec<PageId>,
) -> Option<bool> {
    let first =
        |p: PageId, from: usize| pages[from..].iter().position(|x| *x == p).map(|i| i + from);
    match (start, end) {
        _ if pages.is_empty() => return None,
        (None, None) => out.extend_from_slice(&pages[..steps.min(pages.len())]),
        (Some(s), None) => {
            let i = first(s, 0)?;
            out.extend_from_slice(&pages[i..(i + steps).min(pages.len())]);
        }
        (None, Some(e)) => {
            let i = first(e, 0)?;
            out.extend_from_slice(&pages[(i + 1).saturating_sub(steps)..=i]);
        }
        (Some(s), Some(e)) => {
            let i = first(s, 0)?;
            // The end strictly after the start: with S == E this is the
            // path of a return to S.
            let k = first(e, i + 1)?;
            let between = &pages[i + 1..k];
            // Room for the middle; at least one slot for the placeholder.
            let room = steps.max(3) - 2;
            out.push(s);
            let collapsed = between.len() > room;
            if collapsed {
                // One slot goes to the placeholder; the head gets the odd
                // one, as how a path starts is usually the question.
                let head = (room - 1).div_ceil(2);
                let tail = room - 1 - head;
                out.extend_from_slice(&between[..head]);
                out.push(COLLAPSED);
                out.extend_from_slice(&between[between.len() - tail..]);
            } else {
                out.extend_from_slice(between);
            }
            out.push(e);
            return Some(collapsed);
        }
    }
    Some(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mine::testing::journeys;
    use crate::mine::Journey;
    use std::collections::BTreeMap;

    fn query(steps: usize, start: Option<PageId>, end: Option<PageId>) -> PathQuery {
        PathQuery {
            steps,
            top_k: 0,
            start,
            end,
        }
    }

    fn summary(paths: &[PathCount]) -> Vec<(Vec<PageId>, u32, bool)> {
        paths
            .iter()
            .map(|p| (p.pages.clone(), p.sessions, p.collapsed_middle))
            .collect()
    }

    #[test]
    fn prefixes_without_anchor() {
        // steps 2: [1,2,3]→12, [1,2]→12, [1,3,2]→13, [2]→2, []→nothing.
        // 12 has 2 sessions; 13 and 2 have 1, ordered by pages: [1,3] < [2].
        let js = journeys(&[&[1, 2, 3], &[1, 2], &[1, 3, 2], &[2], &[]]);
        let got = top_paths(&js, &query(2, None, None));
        assert_eq!(
            summary(&got),
            [
                (vec![1, 2], 2, false),
                (vec![1, 3], 1, false),
                (vec![2], 1, false)
            ]
        );
        // top_k cuts after the ordering.
        let q = PathQuery {
            top_k: 2,
            ..query(2, None, None)
        };
        assert_eq!(top_paths(&js, &q).len(), 2);
        assert_eq!(top_paths(&js, &q)[1].pages, [1, 3]);
    }

    #[test]
    fn anchored_at_start_or_end() {
        let js = journeys(&[&[1, 2, 3, 4], &[5, 2, 3], &[2, 6, 2, 3], &[1, 4]]);
        // Start 2, steps 3: from the first 2 → [2,3,4], [2,3], [2,6,2];
        // session 4 has no 2.
        let got = top_paths(&js, &query(3, Some(2), None));
        assert_eq!(
            summary(&got),
            [
                (vec![2, 3], 1, false),
                (vec![2, 3, 4], 1, false),
                (vec![2, 6, 2], 1, false)
            ]
        );
        // End 3, steps 2: up to the first 3 → [2,3], [2,3], [2,3]; session 4
        // never reaches 3.
        let got = top_paths(&js, &query(2, None, Some(3)));
        assert_eq!(summary(&got), [(vec![2, 3], 3, false)]);
        // End 4, steps 5: the whole of [1,2,3,4] and [1,4].
        let got = top_paths(&js, &query(5, None, Some(4)));
        assert_eq!(
            summary(&got),
            [(vec![1, 2, 3, 4], 1, false), (vec![1, 4], 1, false)]
        );
    }

    #[test]
    fn start_to_end_collapses_a_long_middle() {
        let js = journeys(&[
            // 1 … 9 with 5 pages between: more than steps-2 = 3, so the
            // middle collapses to its first (2) and last (6) around 0.
            &[7, 1, 2, 3, 4, 5, 6, 9, 8],
            // 3 between: fits exactly.
            &[1, 2, 3, 4, 9],
            // The first 1, then the first 9 after it.
            &[9, 1, 9, 1, 2, 9],
            // 9 before 1 only: no path.
            &[9, 1],
        ]);
        let got = top_paths(&js, &query(5, Some(1), Some(9)));
        assert_eq!(
            summary(&got),
            [
                (vec![1, 2, 0, 6, 9], 1, true),
                (vec![1, 2, 3, 4, 9], 1, false),
                (vec![1, 9], 1, false)
            ]
        );
        // Steps 6: room 4, one for "…", head 2, tail 1.
        let got = top_paths(&js[..1], &query(6, Some(1), Some(9)));
        assert_eq!(got[0].pages, [1, 2, 3, 0, 6, 9]);
        // Steps below 3 are raised to 3 with both anchors: start, "…", end.
        let got = top_paths(&js[..2], &query(1, Some(1), Some(9)));
        assert_eq!(summary(&got), [(vec![1, 0, 9], 2, true)]);
        // S == E: a return to the page.
        let js = journeys(&[&[4, 1, 2, 1, 1]]);
        let got = top_paths(&js, &query(5, Some(1), Some(1)));
        assert_eq!(got[0].pages, [1, 2, 1]);
    }

    #[test]
    fn large_page_ids_and_long_paths_are_counted_by_slice() {
        // 20 steps of ids near u32::MAX do not pack into 128 bits.
        let big = u32::MAX - 1;
        let long: Vec<PageId> = (0..25).map(|i| big - i).collect();
        let js = journeys(&[&long, &long, &[big, 3]]);
        let got = top_paths(&js, &query(20, None, None));
        assert_eq!(
            summary(&got),
            [(long[..20].to_vec(), 2, false), (vec![big, 3], 1, false)]
        );
        // The packed form's boundary: page u32::MAX itself.
        let js = journeys(&[&[u32::MAX, 0]]);
        assert_eq!(
            top_paths(&js, &query(2, None, None))[0].pages,
            [u32::MAX, 0]
        );
    }

    #[test]
    fn a_collapsed_path_is_not_confused_with_a_real_page_zero() {
        // [1,2,0,6,9] really visited (page 0 exists) and one collapsed to
        // the same ids: two rows, the real one first.
        let js = journeys(&[&[1, 2, 0, 6, 9], &[1, 2, 3, 4, 5, 6, 9]]);
        let got = top_paths(&js, &query(5, Some(1), Some(9)));
        assert_eq!(
            summary(&got),
            [
                (vec![1, 2, 0, 6, 9], 1, false),
                (vec![1, 2, 0, 6, 9], 1, true)
            ]
        );
    }

    /// A naive path cutter, written from the description rather than from
    /// `cut`: explicit index loops and a BTreeMap.
    fn naive(js: &[Journey], q: &PathQuery) -> Vec<(Vec<PageId>, u32, bool)> {
        let steps = q.steps.clamp(1, MAX_STEPS);
        let mut counts: BTreeMap<(Vec<PageId>, bool), u32> = BTreeMap::new();
        for j in js {
            let p = &j.pages;
            let mut path = Vec::new();
            let mut collapsed = false;
            let si = q.start.map(|s| p.iter().position(|x| *x == s));
            match (q.start, q.end) {
                (None, None) => {
                    for x in p.iter().take(steps) {
                        path.push(*x);
                    }
                }
                (Some(_), None) => {
                    let Some(Some(i)) = si else { continue };
                    for x in p.iter().skip(i).take(steps) {
                        path.push(*x);
                    }
                }
                (None, Some(e)) => {
                    let Some(k) = p.iter().position(|x| *x == e) else {
                        continue;
                    };
                    let mut from = k as i64 - steps as i64 + 1;
                    if from < 0 {
                        from = 0;
                    }
                    for x in &p[from as usize..k + 1] {
                        path.push(*x);
                    }
                }
                (Some(s), Some(e)) => {
                    let Some(Some(i)) = si else { continue };
                    let mut k = None;
                    for (idx, x) in p.iter().enumerate() {
                        if idx > i && *x == e {
                            k = Some(idx);
                            break;
                        }
                    }
                    let Some(k) = k else { continue };
                    let mid: Vec<PageId> = p[i + 1..k].to_vec();
                    let room = if steps < 3 { 1 } else { steps - 2 };
                    path.push(s);
                    if mid.len() <= room {
                        path.extend(mid);
                    } else {
                        collapsed = true;
                        let tail = (room - 1) / 2;
                        let head = room - 1 - tail;
                        path.extend(&mid[..head]);
                        path.push(0);
                        path.extend(&mid[mid.len() - tail..]);
                    }
                    path.push(e);
                }
            }
            if path.is_empty() {
                continue;
            }
            *counts.entry((path, collapsed)).or_default() += 1;
        }
        let mut all: Vec<(Vec<PageId>, u32, bool)> =
            counts.into_iter().map(|((p, c), n)| (p, n, c)).collect();
        all.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)).then(a.2.cmp(&b.2)));
        all
    }

    #[test]
    fn a_brute_force_agrees_on_random_journeys() {
        let seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut rng = crate::mine::testing::Rng(seed);
        let mut next = move |n: u64| rng.below(n);
        let js: Vec<Journey> = (0..2000)
            .map(|i| {
                let len = next(10) as usize;
                let pages: Vec<PageId> = (0..len).map(|_| next(6) as PageId).collect();
                Journey::from_pages(i, &pages)
            })
            .collect();
        for steps in [1, 2, 3, 4, 5, 8] {
            for start in [None, Some(0), Some(2)] {
                for end in [None, Some(0), Some(3)] {
                    let q = query(steps, start, end);
                    let want = naive(&js, &q);
                    assert_eq!(summary(&top_paths(&js, &q)), want, "{q:?}");
                    let slices = count_paths(&js, &q, true);
                    assert_eq!(summary(&slices), want, "by slices: {q:?}");
                    // And the cut top K is the head of the full list.
                    let k = PathQuery { top_k: 7, ..q };
                    let got = summary(&top_paths(&js, &k));
                    assert_eq!(got, want[..7.min(want.len())], "{k:?}");
                    let got = summary(&count_paths(&js, &k, true));
                    assert_eq!(got, want[..7.min(want.len())], "by slices: {k:?}");
                }
            }
        }
    }
}
