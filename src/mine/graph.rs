//! The journey graph behind the Sankey chart: columns of pages by position
//! in the session (step 0 is the first page), with the sessions flowing
//! between consecutive columns. The controls are the ones PostHog users ask
//! for: how many steps, how many pages per step before the rest is grouped
//! into "other", hiding thin links, re-rooting every journey at a page, and
//! pulling chosen pages out of "other".
//!
//! Node counts are always truthful: a node's `sessions` counts every session
//! at that position, whether or not its links are shown (links under
//! `min_link` are dropped from `links` only). So a node's outgoing links may
//! add up to less than `sessions - drop_off`; the difference is in hidden
//! links.
//!
//! Two passes over the journeys with dense arrays indexed by (step, page):
//! the first counts pages per step, which decides the nodes; the second
//! counts links between the nodes. Page ids are interned and dense, so the
//! arrays are `steps × (max page id + 1)`; should that be too large, the
//! pages drawn are first numbered compactly (a hash lookup per view).

use rustc_hash::FxHashMap;
use serde::Serialize;

use super::cancel::Cancel;
use super::{JourneyRef, JourneySet, PageId};

/// How to draw the graph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GraphQuery {
    /// Columns: positions 0..steps of each journey (after re-rooting).
    pub steps: usize,
    /// Pages shown per step, the most visited; the rest are one "other".
    pub nodes_per_step: usize,
    /// Links with fewer sessions are not returned (0 acts as 1).
    pub min_link: u32,
    /// Start each journey at its first visit to this page; journeys that
    /// never visit it are left out.
    pub root: Option<PageId>,
    /// (step, page): show this page at this step even if it would fall
    /// into "other" (if it has sessions there).
    pub expand: Vec<(usize, PageId)>,
}

impl Default for GraphQuery {
    fn default() -> GraphQuery {
        GraphQuery {
            steps: 5,
            nodes_per_step: 8,
            min_link: 1,
            root: None,
            expand: Vec::new(),
        }
    }
}

/// A page at a step, or a step's "other".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Node {
    /// 0-based column.
    pub step: usize,
    /// `None` is the step's "other" node.
    #[serde(skip)]
    pub page: Option<PageId>,
    /// Sessions at this page at this step.
    pub sessions: u32,
    /// Sessions whose journey ends here. At the last step, only those that
    /// really end there: journeys longer than `steps` are not drop-off.
    pub drop_off: u32,
}

/// Sessions going from one node to one at the next step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Link {
    /// Index in `Graph::nodes`.
    pub from: usize,
    pub to: usize,
    pub sessions: u32,
}

/// The graph. `nodes` are ordered by step, then sessions descending, then
/// page, with each step's "other" last; `links` by `from`, then `to`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Graph {
    pub nodes: Vec<Node>,
    pub links: Vec<Link>,
    /// Per step (always `steps` entries), the pages grouped into "other"
    /// with their sessions, most first, then by page, so a UI can offer to
    /// expand them.
    pub other_pages: Vec<Vec<(PageId, u32)>>,
}

/// The part of a journey drawn, and whether the journey ends with it.
fn window(j: JourneyRef<'_>, steps: usize, root: Option<PageId>) -> Option<(&[PageId], bool)> {
    let start = match root {
        Some(r) => j.pages.iter().position(|p| *p == r)?,
        None => 0,
    };
    let rest = &j.pages[start..];
    if rest.is_empty() {
        return None;
    }
    let shown = &rest[..steps.min(rest.len())];
    Some((shown, shown.len() == rest.len()))
}

/// Page ids to indices of the (step, page) arrays.
enum Index {
    /// The page id itself: interned ids are small and dense.
    Identity,
    /// Ids too large for that are numbered in order of appearance.
    Compact {
        of: FxHashMap<PageId, u32>,
        pages: Vec<PageId>,
    },
}

impl Index {
    fn of(&self, page: PageId) -> usize {
        match self {
            Index::Identity => page as usize,
            Index::Compact { of, .. } => of[&page] as usize,
        }
    }

    fn page(&self, i: usize) -> PageId {
        match self {
            Index::Identity => i as PageId,
            Index::Compact { pages, .. } => pages[i],
        }
    }
}

/// Above this many (step, page) cells, pages are numbered compactly.
const DENSE_CELLS: usize = 1 << 22;

/// Builds the graph; see the module documentation for how it counts.
#[cfg(test)]
pub(crate) fn journey_graph(journeys: &(impl JourneySet + ?Sized), q: &GraphQuery) -> Graph {
    journey_graph_until(journeys, q, &Cancel::never())
}

/// [`journey_graph`], leaving the journeys not yet counted out when
/// `cancel` says so (the caller then discards the graph).
pub(crate) fn journey_graph_until(
    journeys: &(impl JourneySet + ?Sized),
    q: &GraphQuery,
    cancel: &Cancel,
) -> Graph {
    let mut ticker = cancel.ticker();
    let steps = q.steps;
    let max = journeys.page_bound();
    let (size, ix) = if steps.saturating_mul(max) <= DENSE_CELLS {
        (max, Index::Identity)
    } else {
        // A hash lookup per view, only for ids that would make the arrays
        // too large.
        let mut of = FxHashMap::default();
        let mut pages = Vec::new();
        for block in journeys.blocks() {
            for j in block.iter() {
                for p in window(j, steps, q.root).map_or(&[][..], |w| w.0) {
                    of.entry(*p).or_insert_with(|| {
                        pages.push(*p);
                        pages.len() as u32 - 1
                    });
                }
            }
        }
        (pages.len(), Index::Compact { of, pages })
    };
    // Pass 1: sessions and endings per (step, page).
    let mut seen = vec![0u32; steps * size];
    let mut ends = vec![0u32; steps * size];
    // Stopped, the passes below skip the rest of the journeys; the index
    // above has every page, so nothing they look up is missing.
    'journeys: for block in journeys.blocks() {
        for j in block.iter() {
            if ticker.stop() {
                break 'journeys;
            }
            let Some((shown, ended)) = window(j, steps, q.root) else {
                continue;
            };
            for (s, p) in shown.iter().enumerate() {
                seen[s * size + ix.of(*p)] += 1;
            }
            if ended {
                ends[(shown.len() - 1) * size + ix.of(*shown.last().unwrap())] += 1;
            }
        }
    }

    // Nodes. `local[s * size + p]` is the index of p's node among step s's
    // nodes ("other" included), for the link pass.
    let mut local = vec![u32::MAX; steps * size];
    let mut nodes: Vec<Node> = Vec::new();
    let mut base = Vec::with_capacity(steps + 1);
    let mut other_pages = Vec::with_capacity(steps);
    for s in 0..steps {
        base.push(nodes.len());
        let row = &seen[s * size..(s + 1) * size];
        let mut pages: Vec<(PageId, u32)> = row
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(i, n)| (ix.page(i), *n))
            .collect();
        pages.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        // Kept: the top N plus expanded ones, in the same order (a stable
        // partition keeps the sort within both halves).
        let keep = |i: usize, p: PageId| i < q.nodes_per_step || q.expand.contains(&(s, p));
        let (kept, rest): (Vec<_>, Vec<_>) = pages
            .iter()
            .enumerate()
            .partition(|(i, (p, _))| keep(*i, *p));
        for (_, (p, n)) in &kept {
            local[s * size + ix.of(*p)] = (nodes.len() - base[s]) as u32;
            nodes.push(Node {
                step: s,
                page: Some(*p),
                sessions: *n,
                drop_off: ends[s * size + ix.of(*p)],
            });
        }
        let rest: Vec<(PageId, u32)> = rest.into_iter().map(|(_, pn)| *pn).collect();
        if !rest.is_empty() {
            let other = (nodes.len() - base[s]) as u32;
            let mut node = Node {
                step: s,
                page: None,
                sessions: 0,
                drop_off: 0,
            };
            for (p, n) in &rest {
                local[s * size + ix.of(*p)] = other;
                node.sessions += n;
                node.drop_off += ends[s * size + ix.of(*p)];
            }
            nodes.push(node);
        }
        other_pages.push(rest);
    }
    base.push(nodes.len());

    // Pass 2: links, in a dense matrix per pair of steps.
    let width = |s: usize| base[s + 1] - base[s];
    let mut matrix: Vec<Vec<u32>> = (0..steps.saturating_sub(1))
        .map(|s| vec![0; width(s) * width(s + 1)])
        .collect();
    'journeys: for block in journeys.blocks() {
        for j in block.iter() {
            // Once stopped, stays stopped: a pass 1 cut short stops this one
            // before it looks up a page that pass 1 never met.
            if ticker.stop() {
                break 'journeys;
            }
            let Some((shown, _)) = window(j, steps, q.root) else {
                continue;
            };
            for (s, pair) in shown.windows(2).enumerate() {
                let a = local[s * size + ix.of(pair[0])] as usize;
                let b = local[(s + 1) * size + ix.of(pair[1])] as usize;
                matrix[s][a * width(s + 1) + b] += 1;
            }
        }
    }
    let min_link = q.min_link.max(1);
    let mut links = Vec::new();
    for (s, m) in matrix.iter().enumerate() {
        for (cell, &n) in m.iter().enumerate() {
            if n >= min_link {
                links.push(Link {
                    from: base[s] + cell / width(s + 1),
                    to: base[s + 1] + cell % width(s + 1),
                    sessions: n,
                });
            }
        }
    }
    Graph {
        nodes,
        links,
        other_pages,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mine::testing::journeys;
    use crate::mine::Journey;
    use std::collections::BTreeMap;

    /// (step, page, sessions, drop_off) per node.
    fn nodes(g: &Graph) -> Vec<(usize, Option<PageId>, u32, u32)> {
        g.nodes
            .iter()
            .map(|n| (n.step, n.page, n.sessions, n.drop_off))
            .collect()
    }

    fn links(g: &Graph) -> Vec<(usize, usize, u32)> {
        g.links.iter().map(|l| (l.from, l.to, l.sessions)).collect()
    }

    //   J1 [1,2,3]  J2 [1,2,4]  J3 [1,5]  J4 [6,2,3,7]  J5 [7]  J6 [1,2,3]
    fn shop() -> Vec<Journey> {
        journeys(&[
            &[1, 2, 3],
            &[1, 2, 4],
            &[1, 5],
            &[6, 2, 3, 7],
            &[7],
            &[1, 2, 3],
        ])
    }

    fn query(steps: usize, nodes_per_step: usize) -> GraphQuery {
        GraphQuery {
            steps,
            nodes_per_step,
            ..GraphQuery::default()
        }
    }

    #[test]
    fn other_grouping_links_and_drop_off_by_hand() {
        // Step 0: 1 ×4, 6 ×1, 7 ×1; two nodes: 1, then 6 (tie with 7 by
        // page), 7 into other (J5, which ends there: drop-off 1).
        // Step 1: 2 ×4 (J1 J2 J4 J6), 5 ×1 (J3 ends). Step 2: 3 ×3 (J1 J6
        // end there; J4 goes on to 7, not drop-off), 4 ×1 (J2 ends).
        let g = journey_graph(&shop(), &query(3, 2));
        assert_eq!(
            nodes(&g),
            [
                (0, Some(1), 4, 0),
                (0, Some(6), 1, 0),
                (0, None, 1, 1),
                (1, Some(2), 4, 0),
                (1, Some(5), 1, 1),
                (2, Some(3), 3, 2),
                (2, Some(4), 1, 1),
            ]
        );
        // 1→2: J1 J2 J6; 1→5: J3; 6→2: J4; 2→3: J1 J4 J6; 2→4: J2.
        assert_eq!(
            links(&g),
            [(0, 3, 3), (0, 4, 1), (1, 3, 1), (3, 5, 3), (3, 6, 1)]
        );
        assert_eq!(g.other_pages, [vec![(7, 1)], vec![], vec![]]);
    }

    #[test]
    fn thin_links_hide_but_nodes_keep_counting() {
        let g = journey_graph(
            &shop(),
            &GraphQuery {
                min_link: 2,
                ..query(3, 2)
            },
        );
        assert_eq!(links(&g), [(0, 3, 3), (3, 5, 3)]);
        // Same nodes as without min_link: 6 still has its session.
        assert_eq!(nodes(&g), nodes(&journey_graph(&shop(), &query(3, 2))));
    }

    #[test]
    fn the_last_step_is_drop_off_only_where_journeys_end() {
        // Steps 2: J1 J2 J4 J6 are at 2 on step 1 but go on: drop-off 0.
        // J3 ends at 5: 1.
        let g = journey_graph(&shop(), &query(2, 8));
        let step1: Vec<_> = nodes(&g).into_iter().filter(|n| n.0 == 1).collect();
        assert_eq!(step1, [(1, Some(2), 4, 0), (1, Some(5), 1, 1)]);
        // Step 0 of a one-page journey is its drop-off (J5 at 7).
        assert!(nodes(&g).contains(&(0, Some(7), 1, 1)));
    }

    #[test]
    fn re_rooting_starts_at_the_first_visit() {
        // Root 2: J1 [2,3], J2 [2,4], J4 [2,3,7], J6 [2,3]; J3 and J5
        // never visit 2 and are left out.
        let g = journey_graph(
            &shop(),
            &GraphQuery {
                root: Some(2),
                ..query(3, 8)
            },
        );
        assert_eq!(
            nodes(&g),
            [
                (0, Some(2), 4, 0),
                (1, Some(3), 3, 2),
                (1, Some(4), 1, 1),
                (2, Some(7), 1, 1),
            ]
        );
        assert_eq!(links(&g), [(0, 1, 3), (0, 2, 1), (1, 3, 1)]);
        // The first visit: [5,2,9,2,8] is drawn from its first 2.
        let js = journeys(&[&[5, 2, 9, 2, 8]]);
        let g = journey_graph(
            &js,
            &GraphQuery {
                root: Some(2),
                ..query(5, 8)
            },
        );
        let pages: Vec<_> = g.nodes.iter().map(|n| n.page.unwrap()).collect();
        assert_eq!(pages, [2, 9, 2, 8]);
    }

    #[test]
    fn expand_pulls_a_page_out_of_other() {
        // As the first test, with 7 expanded at step 0: no other there.
        // 7 expanded at step 2 has no sessions there and adds nothing.
        let g = journey_graph(
            &shop(),
            &GraphQuery {
                expand: vec![(0, 7), (2, 7)],
                ..query(3, 2)
            },
        );
        let step0: Vec<_> = nodes(&g).into_iter().filter(|n| n.0 == 0).collect();
        assert_eq!(
            step0,
            [(0, Some(1), 4, 0), (0, Some(6), 1, 0), (0, Some(7), 1, 1)]
        );
        assert_eq!(g.other_pages[0], []);
        assert_eq!(g.nodes.len(), 7);
        // With one node per step, step 0 keeps 1 and 7, and 6 is other.
        let g = journey_graph(
            &shop(),
            &GraphQuery {
                expand: vec![(0, 7)],
                ..query(3, 1)
            },
        );
        assert_eq!(
            g.nodes[..3].iter().map(|n| n.page).collect::<Vec<_>>(),
            [Some(1), Some(7), None]
        );
        assert_eq!(g.other_pages[0], [(6, 1)]);
    }

    #[test]
    fn empty_input_and_zero_steps() {
        let g = journey_graph(&[], &GraphQuery::default());
        assert_eq!(
            (g.nodes.len(), g.links.len(), g.other_pages.len()),
            (0, 0, 5)
        );
        let g = journey_graph(&shop(), &query(0, 8));
        assert_eq!((g.nodes.len(), g.links.len()), (0, 0));
        let g = journey_graph(&journeys(&[&[]]), &query(3, 8));
        assert_eq!(g.nodes.len(), 0);
    }

    /// Checks a graph against counts made naively from the description:
    /// which pages each node stands for (from the graph), then every count
    /// by scanning the journeys.
    fn cross_check(js: &[Journey], q: &GraphQuery) {
        let g = journey_graph(js, q);
        // Naive windows.
        let mut shown: Vec<(Vec<PageId>, bool)> = Vec::new();
        for j in js {
            let mut start = 0;
            if let Some(r) = q.root {
                match j.pages.iter().position(|p| *p == r) {
                    Some(i) => start = i,
                    None => continue,
                }
            }
            let rest: Vec<PageId> = j.pages[start..].to_vec();
            if rest.is_empty() {
                continue;
            }
            let w: Vec<PageId> = rest.iter().take(q.steps).copied().collect();
            let ended = w.len() == rest.len();
            shown.push((w, ended));
        }
        // Which nodes: top pages by a BTreeMap count.
        for s in 0..q.steps {
            let mut count: BTreeMap<PageId, u32> = BTreeMap::new();
            for (w, _) in &shown {
                if let Some(p) = w.get(s) {
                    *count.entry(*p).or_default() += 1;
                }
            }
            let mut order: Vec<(PageId, u32)> = count.into_iter().collect();
            order.sort_by_key(|(p, n)| (u32::MAX - n, *p));
            let want_kept: Vec<PageId> = order
                .iter()
                .enumerate()
                .filter(|(i, (p, _))| *i < q.nodes_per_step || q.expand.contains(&(s, *p)))
                .map(|(_, (p, _))| *p)
                .collect();
            let got_kept: Vec<PageId> = g
                .nodes
                .iter()
                .filter(|n| n.step == s)
                .filter_map(|n| n.page)
                .collect();
            assert_eq!(got_kept, want_kept, "step {s}");
            let want_other: Vec<(PageId, u32)> = order
                .into_iter()
                .filter(|(p, _)| !want_kept.contains(p))
                .collect();
            assert_eq!(g.other_pages[s], want_other, "step {s}");
        }
        let member = |i: usize, s: usize, p: PageId| {
            let n = &g.nodes[i];
            n.step == s
                && match n.page {
                    Some(x) => x == p,
                    None => g.other_pages[s].iter().any(|(o, _)| *o == p),
                }
        };
        for (i, n) in g.nodes.iter().enumerate() {
            let at: Vec<&(Vec<PageId>, bool)> = shown
                .iter()
                .filter(|(w, _)| w.len() > n.step && member(i, n.step, w[n.step]))
                .collect();
            assert_eq!(n.sessions as usize, at.len(), "{n:?}");
            let ending = at
                .iter()
                .filter(|(w, ended)| *ended && w.len() == n.step + 1)
                .count();
            assert_eq!(n.drop_off as usize, ending, "{n:?}");
            for (k, m) in g.nodes.iter().enumerate() {
                if m.step != n.step + 1 {
                    continue;
                }
                let want = at
                    .iter()
                    .filter(|(w, _)| w.len() > m.step && member(k, m.step, w[m.step]))
                    .count() as u32;
                let got = g
                    .links
                    .iter()
                    .find(|l| l.from == i && l.to == k)
                    .map_or(0, |l| l.sessions);
                let expected = if want >= q.min_link.max(1) { want } else { 0 };
                assert_eq!(got, expected, "{n:?} → {m:?}");
            }
        }
        assert!(g.links.iter().all(|l| l.sessions >= q.min_link.max(1)));
    }

    /// The same journeys with huge page ids (numbered compactly inside)
    /// draw the same graph, ids aside: the mapping keeps their order.
    fn compact_agrees(js: &[Journey], q: &GraphQuery) {
        let big = |p: PageId| p * 400_000_000 + 5;
        let mapped: Vec<Journey> = js
            .iter()
            .map(|j| {
                Journey::from_pages(
                    j.session_id,
                    &j.pages.iter().map(|p| big(*p)).collect::<Vec<_>>(),
                )
            })
            .collect();
        let mq = GraphQuery {
            root: q.root.map(big),
            expand: q.expand.iter().map(|(s, p)| (*s, big(*p))).collect(),
            ..q.clone()
        };
        cross_check(&mapped, &mq);
        let mut want = journey_graph(js, q);
        for n in &mut want.nodes {
            n.page = n.page.map(big);
        }
        for o in &mut want.other_pages {
            for (p, _) in o {
                *p = big(*p);
            }
        }
        assert_eq!(journey_graph(&mapped, &mq), want, "{q:?}");
    }

    fn random_journeys(n: usize, pages: u64, max_len: u64, seed: u64) -> Vec<Journey> {
        let mut rng = crate::mine::testing::Rng(seed);
        let mut next = move |n: u64| rng.below(n);
        (0..n)
            .map(|i| {
                let len = 1 + next(max_len) as usize;
                let mut ps: Vec<PageId> = Vec::with_capacity(len);
                while ps.len() < len {
                    let p = next(pages) as PageId;
                    // Collapsed repeats, as the caller hands them.
                    if ps.last() != Some(&p) {
                        ps.push(p);
                    }
                }
                Journey::from_pages(i as i64, &ps)
            })
            .collect()
    }

    #[test]
    fn a_brute_force_agrees_on_random_journeys() {
        let js = random_journeys(600, 9, 8, 0x1234_5678_9abc_def1);
        for steps in [1, 3, 5, 9] {
            for nodes_per_step in [1, 3, 20] {
                for min_link in [0, 1, 4] {
                    for root in [None, Some(4)] {
                        for expand in [vec![], vec![(1, 8), (2, 0)]] {
                            let q = GraphQuery {
                                steps,
                                nodes_per_step,
                                min_link,
                                root,
                                expand,
                            };
                            cross_check(&js, &q);
                            if nodes_per_step == 3 {
                                compact_agrees(&js, &q);
                            }
                        }
                    }
                }
            }
        }
    }

    /// `cargo test --release -- --ignored --nocapture million_journeys_speed`
    #[test]
    #[ignore]
    fn million_journeys_speed() {
        use super::super::{flow, funnel, paths};
        use std::time::Instant;
        let t = Instant::now();
        let js = random_journeys(1_000_000, 50, 12, 0x2545_f491_4f6c_dd1d);
        let views: usize = js.iter().map(|j| j.pages.len()).sum();
        println!(
            "built {} journeys, {views} views: {:?}",
            js.len(),
            t.elapsed()
        );

        let t = Instant::now();
        let top = paths::top_paths(&js, &paths::PathQuery::default());
        println!("top_paths (5 steps, no anchor): {:?}", t.elapsed());
        let t = Instant::now();
        let q = paths::PathQuery {
            steps: 6,
            start: Some(3),
            end: Some(7),
            ..Default::default()
        };
        let anchored = paths::top_paths(&js, &q);
        println!("top_paths (start and end): {:?}", t.elapsed());

        let t = Instant::now();
        let g = journey_graph(&js, &GraphQuery::default());
        println!("journey_graph (5 steps, 8 per step): {:?}", t.elapsed());

        let t = Instant::now();
        let flows = flow::page_flows(&js);
        println!("page_flows: {:?}", t.elapsed());

        let t = Instant::now();
        let q = funnel::FunnelQuery {
            steps: vec![
                funnel::StepMatch::AnyOf((0..10).collect()),
                funnel::StepMatch::Page(20),
                funnel::StepMatch::Page(30),
                funnel::StepMatch::Page(40),
            ],
            window_ms: 30 * 60 * 1000,
            strict: false,
            ..funnel::FunnelQuery::default()
        };
        let f = funnel::funnel(&js, &q);
        println!("funnel (4 steps, loose): {:?}", t.elapsed());
        assert_eq!(top.len(), 10);
        assert!(!anchored.is_empty() && !g.nodes.is_empty() && flows.len() == 50);
        assert!(f.steps[0].sessions > 0);
    }

    /// Issue 5's figure: the journey graph, the top paths and the exits
    /// together over all 989,818 MSNBC sessions, as the dashboard's
    /// journeys view asks for them (repeats collapsed, the default), median
    /// of 7 rounds.
    /// `cargo test --release --lib -- --ignored --nocapture msnbc_graph_paths_exits`
    #[test]
    fn a_stopped_graph_is_cut_short_without_looking_up_unseen_pages() {
        // Compact ids, and pages that only journeys past the first check
        // (after 1,024) have: pass 1 stops before it meets them.
        let list: Vec<Vec<PageId>> = (0..3000u32)
            .map(|i| vec![u32::MAX - i, u32::MAX - i - 1])
            .collect();
        let refs: Vec<&[PageId]> = list.iter().map(|v| v.as_slice()).collect();
        let cancel = Cancel::never();
        cancel.abandon();
        let g = journey_graph_until(&journeys(&refs), &GraphQuery::default(), &cancel);
        let counted: u32 = g
            .nodes
            .iter()
            .filter(|n| n.step == 0)
            .map(|n| n.sessions)
            .sum();
        assert!(counted < 3000, "{counted}");
    }

    #[test]
    #[ignore]
    fn msnbc_graph_paths_exits_speed() {
        use super::super::testing::msnbc_sessions;
        use super::super::{flow, paths};
        use std::time::Instant;
        let journeys: Vec<Journey> = msnbc_sessions()
            .iter()
            .enumerate()
            .map(|(i, p)| Journey::from_pages(i as i64, p).collapse_repeats())
            .collect();
        assert_eq!(journeys.len(), 989_818);
        let mut rounds = Vec::new();
        for _ in 0..7 {
            let t = Instant::now();
            let g = journey_graph(&journeys, &GraphQuery::default());
            let top = paths::top_paths(&journeys, &paths::PathQuery::default());
            let flows = flow::page_flows(&journeys);
            rounds.push(t.elapsed());
            assert!(!g.nodes.is_empty() && top.len() == 10 && flows.len() == 17);
        }
        rounds.sort();
        println!(
            "graph + paths + exits over {} MSNBC sessions: median {:?} (min {:?}, max {:?})",
            journeys.len(),
            rounds[3],
            rounds[0],
            rounds[6]
        );
    }
}
