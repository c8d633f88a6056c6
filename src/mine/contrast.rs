//! What separates two groups of sessions: the pages, custom events and
//! gapped navigation patterns that one group goes through more often than
//! the other (buyers against the rest, mobile against desktop, one
//! campaign against everyone else).
//!
//! Every item is counted exactly in both groups (sessions that went
//! through it at least once) and tested with Fisher's exact test; the
//! p-values of one answer are held together by Benjamini-Hochberg
//! ([`super::stats`]), so among the rows called significant at a q-value
//! of 5%, about 5% are expected to be chance.
//!
//! Pages and events are all tested. Patterns (two pages or more, in order,
//! other pages allowed between them, as [`super::patterns`]) are too many
//! to test all: the candidates are the most frequent patterns of each
//! group (PrefixSpan over each group alone), and each candidate is then
//! counted in both groups with one walk of a trie of the candidates per
//! session. A pattern frequent in neither group cannot separate them by
//! much, so the candidates hold every large difference in share.
//!
//! Pages that define the groups (the goal pages when one group is the
//! converters) would separate them by definition; the caller names them
//! and they are left out of every item, patterns included (the pattern
//! then reads as the pages around them).

use rustc_hash::{FxHashMap, FxHashSet};

use super::cancel::Cancel;
use super::patterns::{top_patterns_until, PatternQuery};
use super::stats::{benjamini_hochberg, fisher_two_sided};
use super::{JourneyRef, JourneySet, PageId, PageSequences};

/// Which group a session is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    A,
    B,
    /// In neither: not counted.
    Neither,
}

/// What [`contrast`] looks at.
#[derive(Debug, Clone)]
pub(crate) struct ContrastQuery {
    /// Rows reported per list at most.
    pub top: usize,
    /// The longest pattern grown.
    pub max_len: usize,
    /// Patterns mined in each group as candidates.
    pub candidates: usize,
    /// Sessions of a group the candidates are mined from at most: beyond,
    /// every k-th (candidates only shortlist; every count is exact).
    pub candidate_sessions: usize,
    /// Rows with a q-value above this are not reported.
    pub alpha: f64,
    /// Keep one session in `sample_every` (by a hash of its id; 1: all).
    pub sample_every: u64,
}

/// Whether a session is in the deterministic sample of one in `every`:
/// a hash of its id (ids are consecutive, so not the id itself).
pub(crate) fn sampled(session_id: i64, every: u64) -> bool {
    if every <= 1 {
        return true;
    }
    // Consecutive ids spread evenly.
    mix(session_id as u64).is_multiple_of(every)
}

/// splitmix64's finaliser.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// What a row is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Item {
    Page(PageId),
    /// A custom event's name code.
    Event(u32),
    Pattern(Vec<PageId>),
}

/// One item's counts in both groups and its test.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Contrasted {
    pub item: Item,
    /// Sessions of each group that went through it.
    pub a: u32,
    pub b: u32,
    /// Fisher's exact test, two-sided.
    pub p: f64,
    /// Benjamini-Hochberg over every item tested in this answer.
    pub q: f64,
    /// Items of the same kind held by exactly the same sessions of both
    /// groups (listed under this one, which ranked first).
    pub also: Vec<Item>,
    /// The sum of the tokens of the sessions holding the item: equal sums
    /// with equal counts are the same sessions (but for a 2^-64 chance).
    fingerprint: u64,
}

impl Contrasted {
    /// Share of group A minus share of group B (sessions of each).
    pub(crate) fn difference(&self, sessions_a: u32, sessions_b: u32) -> f64 {
        super::ratio(self.a, sessions_a) - super::ratio(self.b, sessions_b)
    }
}

/// The answer: the rows over-represented in each group, by difference in
/// share (largest first), then by q-value.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Contrast {
    pub sessions_a: u32,
    pub sessions_b: u32,
    /// Sessions walked in neither group (within the sample).
    pub neither: u32,
    /// Items tested (the family Benjamini-Hochberg controls).
    pub tested: usize,
    /// Pages, events and patterns more common in A, then in B.
    pub pages: [Vec<Contrasted>; 2],
    pub events: [Vec<Contrasted>; 2],
    pub patterns: [Vec<Contrasted>; 2],
}

/// Holds two groups of `journeys` against each other; `side` says which
/// group a journey is in, `excluded_pages` (by page id) and
/// `excluded_events` (name codes) are left out of every item.
pub(crate) fn contrast(
    journeys: &(impl JourneySet + ?Sized),
    side: impl Fn(&JourneyRef<'_>) -> Side,
    excluded_pages: &[bool],
    excluded_events: &FxHashSet<u32>,
    q: &ContrastQuery,
    cancel: &Cancel,
) -> Contrast {
    let bound = journeys.page_bound();
    let excluded = |p: PageId| excluded_pages.get(p as usize).copied().unwrap_or(false);
    let mut out = Contrast::default();
    let mut seqs = [PageSequences::empty(), PageSequences::empty()];
    let mut pages = [vec![0u32; bound], vec![0u32; bound]];
    let mut page_prints = vec![0u64; bound];
    let mut events: [FxHashMap<u32, u32>; 2] = Default::default();
    let mut event_prints: FxHashMap<u32, u64> = FxHashMap::default();
    // The journey that last counted each page, so a page counts once.
    let mut stamp = vec![u32::MAX; bound];
    let mut seen_events: Vec<u32> = Vec::new();
    let mut kept: Vec<PageId> = Vec::new();
    let mut walked = 0u32;
    let mut ticker = cancel.ticker();
    'walk: for block in journeys.blocks() {
        for j in block.iter() {
            if !sampled(j.session_id, q.sample_every) {
                continue;
            }
            let g = match side(&j) {
                Side::A => 0,
                Side::B => 1,
                Side::Neither => {
                    out.neither += 1;
                    continue;
                }
            };
            walked += 1;
            if ticker.stop() {
                break 'walk;
            }
            let in_group = if g == 0 {
                &mut out.sessions_a
            } else {
                &mut out.sessions_b
            };
            let tok = token(g, *in_group);
            *in_group += 1;
            kept.clear();
            for &p in j.pages {
                if excluded(p) {
                    continue;
                }
                kept.push(p);
                let s = &mut stamp[p as usize];
                if *s != walked {
                    *s = walked;
                    pages[g][p as usize] += 1;
                    page_prints[p as usize] = page_prints[p as usize].wrapping_add(tok);
                }
            }
            seqs[g].push(&kept);
            seen_events.clear();
            for m in j.marks {
                if !excluded_events.contains(&m.name) && !seen_events.contains(&m.name) {
                    seen_events.push(m.name);
                    *events[g].entry(m.name).or_default() += 1;
                    let print = event_prints.entry(m.name).or_default();
                    *print = print.wrapping_add(tok);
                }
            }
        }
    }
    if cancel.check().is_err() {
        return out;
    }

    // Candidates: each group's most frequent patterns.
    let mined = PatternQuery {
        top_k: q.candidates,
        min_len: 2,
        max_len: q.max_len.max(2),
        min_support: 2,
    };
    let mut candidates: Vec<Vec<PageId>> = Vec::new();
    for s in &seqs {
        let all = s.slices();
        let step = all.len().div_ceil(q.candidate_sessions.max(1)).max(1);
        let shortlist: Vec<&[PageId]> = all.into_iter().step_by(step).collect();
        for p in top_patterns_until(&shortlist, &mined, cancel) {
            candidates.push(p.pages);
        }
    }
    candidates.sort();
    candidates.dedup();
    let trie = Trie::of(&candidates);
    let mut support = [vec![0u32; candidates.len()], vec![0u32; candidates.len()]];
    let mut pattern_prints = vec![0u64; candidates.len()];
    for (g, s) in seqs.iter().enumerate() {
        let slices = s.slices();
        // Both cores where there is enough to share: each counts a run of
        // the sessions, and the counts add up.
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let parts = if slices.len() >= 20_000 {
            cores.clamp(1, 4)
        } else {
            1
        };
        let run = slices.len().div_ceil(parts).max(1);
        let counted: Vec<(Vec<u32>, Vec<u64>)> = std::thread::scope(|scope| {
            let trie = &trie;
            let handles: Vec<_> = slices
                .chunks(run)
                .enumerate()
                .map(|(k, chunk)| {
                    scope.spawn(move || {
                        // Only the candidates' pages matter, and many
                        // sessions are the same sequence of them: each
                        // distinct one is walked once, with how many
                        // sessions it stands for and their tokens.
                        let mut distinct: FxHashMap<Vec<PageId>, (u32, u64)> = FxHashMap::default();
                        let mut kept: Vec<PageId> = Vec::new();
                        for (i, seq) in chunk.iter().enumerate() {
                            kept.clear();
                            kept.extend(seq.iter().copied().filter(|p| trie.has(*p)));
                            if kept.len() < 2 {
                                continue;
                            }
                            let tok = token(g, (k * run + i) as u32);
                            match distinct.get_mut(kept.as_slice()) {
                                Some((n, sum)) => {
                                    *n += 1;
                                    *sum = sum.wrapping_add(tok);
                                }
                                None => {
                                    distinct.insert(kept.clone(), (1, tok));
                                }
                            }
                        }
                        let mut support = vec![0u32; trie.candidates];
                        let mut prints = vec![0u64; trie.candidates];
                        for (seq, (n, sum)) in &distinct {
                            trie.count(seq, |c| {
                                support[c] += n;
                                prints[c] = prints[c].wrapping_add(*sum);
                            });
                        }
                        (support, prints)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("a counting thread panicked"))
                .collect()
        });
        for (part_support, part_prints) in counted {
            for c in 0..candidates.len() {
                support[g][c] += part_support[c];
                pattern_prints[c] = pattern_prints[c].wrapping_add(part_prints[c]);
            }
        }
    }

    // Every item with its counts; tested together.
    let mut rows: Vec<Contrasted> = Vec::new();
    for (p, (&a, &b)) in pages[0].iter().zip(&pages[1]).enumerate() {
        if a + b > 0 {
            rows.push(row(Item::Page(p as PageId), a, b, page_prints[p]));
        }
    }
    let mut names: Vec<u32> = events[0].keys().chain(events[1].keys()).copied().collect();
    names.sort_unstable();
    names.dedup();
    for name in names {
        let a = events[0].get(&name).copied().unwrap_or(0);
        let b = events[1].get(&name).copied().unwrap_or(0);
        rows.push(row(Item::Event(name), a, b, event_prints[&name]));
    }
    for (c, pattern) in candidates.into_iter().enumerate() {
        rows.push(row(
            Item::Pattern(pattern),
            support[0][c],
            support[1][c],
            pattern_prints[c],
        ));
    }
    let (na, nb) = (out.sessions_a, out.sessions_b);
    for r in &mut rows {
        r.p = fisher_two_sided(r.a as u64, (na - r.a) as u64, r.b as u64, (nb - r.b) as u64);
    }
    let qs = benjamini_hochberg(&rows.iter().map(|r| r.p).collect::<Vec<_>>());
    for (r, qv) in rows.iter_mut().zip(qs) {
        r.q = qv;
    }
    out.tested = rows.len();

    // The significant rows, by side, largest difference first; a pattern
    // that says no more than a longer one or one of its own pages (the
    // same sessions of both groups) is left to that one.
    let said = redundant_patterns(&rows, &pages);
    let mut k = 0;
    rows.retain(|r| {
        k += 1;
        r.q <= q.alpha && !said[k - 1]
    });
    rows.sort_by(|x, y| {
        let (dx, dy) = (x.difference(na, nb).abs(), y.difference(na, nb).abs());
        dy.total_cmp(&dx)
            .then(x.q.total_cmp(&y.q))
            .then(x.item.cmp(&y.item))
    });
    for r in rows {
        let side = usize::from(r.difference(na, nb) < 0.0);
        let list = match r.item {
            Item::Page(_) => &mut out.pages[side],
            Item::Event(_) => &mut out.events[side],
            Item::Pattern(_) => &mut out.patterns[side],
        };
        // The same sessions say one thing: one row, the others under it.
        let key = (r.a, r.b, r.fingerprint);
        if let Some(first) = list.iter_mut().find(|x| (x.a, x.b, x.fingerprint) == key) {
            first.also.push(r.item);
        } else if list.len() < q.top {
            list.push(r);
        }
    }
    out
}

/// A session's token for the fingerprints: its group and its place in it,
/// spread.
fn token(group: usize, index: u32) -> u64 {
    mix((group as u64) << 32 | u64::from(index))
}

/// Which rows are patterns whose counts in both groups are those of a
/// longer pattern holding them or of one of their own pages.
fn redundant_patterns(rows: &[Contrasted], pages: &[Vec<u32>; 2]) -> Vec<bool> {
    let patterns: Vec<(usize, &Vec<PageId>)> = rows
        .iter()
        .enumerate()
        .filter_map(|(i, r)| match &r.item {
            Item::Pattern(p) => Some((i, p)),
            _ => None,
        })
        .collect();
    let mut out = vec![false; rows.len()];
    for &(i, p) in &patterns {
        let counts = (rows[i].a, rows[i].b);
        let by_page = p
            .iter()
            .any(|&pg| (pages[0][pg as usize], pages[1][pg as usize]) == counts);
        let by_longer = patterns.iter().any(|&(j, longer)| {
            longer.len() > p.len() && (rows[j].a, rows[j].b) == counts && subsequence(p, longer)
        });
        out[i] = by_page || by_longer;
    }
    out
}

/// Whether `short` is a subsequence of `long`.
fn subsequence(short: &[PageId], long: &[PageId]) -> bool {
    let mut it = long.iter();
    short.iter().all(|p| it.any(|q| q == p))
}

fn row(item: Item, a: u32, b: u32, fingerprint: u64) -> Contrasted {
    Contrasted {
        item,
        a,
        b,
        p: 1.0,
        q: 1.0,
        also: Vec::new(),
        fingerprint,
    }
}

/// The candidate patterns as a trie: a session's support of every
/// candidate in one walk. A pattern's earliest match in a session extends
/// its prefix's earliest match, so each node is matched at most once per
/// session, at the position after its prefix's.
struct Trie {
    /// Node 0 is the root.
    nodes: Vec<Node>,
    /// How many candidates it holds.
    candidates: usize,
    /// Whether a page is in any candidate (by page id).
    pages: Vec<bool>,
}

struct Node {
    page: PageId,
    children: Vec<usize>,
    /// The candidate this node ends, if any.
    candidate: Option<usize>,
}

impl Trie {
    fn of(candidates: &[Vec<PageId>]) -> Trie {
        let mut nodes = vec![Node {
            page: 0,
            children: Vec::new(),
            candidate: None,
        }];
        for (c, pattern) in candidates.iter().enumerate() {
            let mut at = 0;
            for &page in pattern {
                let next = nodes[at]
                    .children
                    .iter()
                    .copied()
                    .find(|&n| nodes[n].page == page);
                at = match next {
                    Some(n) => n,
                    None => {
                        nodes.push(Node {
                            page,
                            children: Vec::new(),
                            candidate: None,
                        });
                        let n = nodes.len() - 1;
                        nodes[at].children.push(n);
                        n
                    }
                };
            }
            nodes[at].candidate = Some(c);
        }
        let mut pages = Vec::new();
        for node in &nodes[1..] {
            let p = node.page as usize;
            if pages.len() <= p {
                pages.resize(p + 1, false);
            }
            pages[p] = true;
        }
        Trie {
            nodes,
            candidates: candidates.len(),
            pages,
        }
    }

    /// Whether `page` is in any candidate.
    fn has(&self, page: PageId) -> bool {
        self.pages.get(page as usize).copied().unwrap_or(false)
    }

    /// Calls `found` with every candidate in `seq`, once each.
    fn count(&self, seq: &[PageId], mut found: impl FnMut(usize)) {
        if seq.len() < 2 {
            return;
        }
        let mut stack: Vec<(usize, usize)> = vec![(0, 0)];
        while let Some((node, from)) = stack.pop() {
            for &child in &self.nodes[node].children {
                let page = self.nodes[child].page;
                if let Some(i) = seq[from..].iter().position(|&p| p == page) {
                    if let Some(c) = self.nodes[child].candidate {
                        found(c);
                    }
                    stack.push((child, from + i + 1));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mine::{Journey, Journeys};

    fn journeys(list: &[(Vec<PageId>, bool)]) -> (Journeys, FxHashSet<i64>) {
        let mut js = Journeys::with_capacity(list.len(), 0);
        let mut in_a = FxHashSet::default();
        for (i, (pages, a)) in list.iter().enumerate() {
            js.push(Journey::from_pages(i as i64, pages).as_ref());
            if *a {
                in_a.insert(i as i64);
            }
        }
        (js, in_a)
    }

    fn query() -> ContrastQuery {
        ContrastQuery {
            top: 10,
            max_len: 4,
            candidates: 50,
            candidate_sessions: 1_000_000,
            alpha: 0.05,
            sample_every: 1,
        }
    }

    /// Is `pattern` a subsequence of `seq`?
    fn within(pattern: &[PageId], seq: &[PageId]) -> bool {
        let mut it = seq.iter();
        pattern.iter().all(|p| it.any(|q| q == p))
    }

    #[test]
    fn items_held_by_the_same_sessions_are_one_row() {
        // B's first 60 sessions visit 7 and 8 (always both); B's last 60
        // visit 9: the same counts as 7 and 8, but other sessions.
        let mut list = Vec::new();
        for i in 0..200 {
            let a = i < 100;
            let mut pages: Vec<PageId> = vec![1, 2];
            if !a && i < 160 {
                pages.push(7);
                pages.push(8);
            }
            if !a && i >= 140 {
                pages.push(9);
            }
            list.push((pages, a));
        }
        let (js, _) = journeys(&list);
        let side = |j: &JourneyRef<'_>| if j.session_id < 100 { Side::A } else { Side::B };
        let got = contrast(
            &js,
            side,
            &[],
            &FxHashSet::default(),
            &query(),
            &Cancel::never(),
        );
        let pages = &got.pages[1];
        let seven = pages.iter().find(|r| r.item == Item::Page(7)).unwrap();
        assert_eq!((seven.a, seven.b), (0, 60));
        assert_eq!(seven.also, vec![Item::Page(8)]);
        assert!(pages.iter().all(|r| r.item != Item::Page(8)));
        let nine = pages.iter().find(|r| r.item == Item::Page(9)).unwrap();
        assert_eq!((nine.a, nine.b, nine.also.len()), (0, 60, 0));
    }

    #[test]
    fn a_planted_pattern_of_one_group_ranks_first_with_exact_counts() {
        planted_pattern_ranks_first(1_000_000);
    }

    #[test]
    fn candidates_from_a_share_of_the_sessions_keep_exact_counts() {
        // One in five of each group's sessions shortlists.
        planted_pattern_ranks_first(60);
    }

    fn planted_pattern_ranks_first(candidate_sessions: usize) {
        // 300 sessions in A and 300 in B browse pages 1-6 at random; 120 of
        // B go 2 … 5 … 3 (with pages between), none of A does.
        let mut rng = crate::mine::Rng(0x2545_f491_4f6c_dd1d);
        let mut list = Vec::new();
        for i in 0..600 {
            let a = i < 300;
            let mut pages: Vec<PageId> = (0..rng.below(5) + 2)
                .map(|_| rng.below(6) as PageId + 1)
                .collect();
            if !a && i < 420 {
                pages = vec![2, 6, 5, 1, 3];
            } else {
                // Nobody else follows the planted pattern.
                while within(&[2, 5, 3], &pages) {
                    pages.retain(|&p| p != 3);
                }
            }
            list.push((pages, a));
        }
        let (js, in_a) = journeys(&list);
        let side = |j: &JourneyRef<'_>| {
            if in_a.contains(&j.session_id) {
                Side::A
            } else {
                Side::B
            }
        };
        let got = contrast(
            &js,
            side,
            &[],
            &FxHashSet::default(),
            &ContrastQuery {
                candidate_sessions,
                ..query()
            },
            &Cancel::never(),
        );
        assert_eq!((got.sessions_a, got.sessions_b), (300, 300));
        let top = &got.patterns[1][0];
        // Brute force: the counts in each group.
        let count = |pat: &[PageId], a: bool| {
            list.iter()
                .filter(|(s, g)| *g == a && within(pat, s))
                .count() as u32
        };
        let Item::Pattern(pages) = &top.item else {
            panic!("{top:?}")
        };
        assert!(
            within(&[2, 5, 3], pages) || within(pages, &[2, 6, 5, 1, 3]),
            "{pages:?}"
        );
        assert_eq!((top.a, top.b), (count(pages, true), count(pages, false)));
        assert!(top.b >= 120 && top.a == 0, "{top:?}");
        assert!(top.q < 1e-10, "{top:?}");
        // Every row's counts are exact.
        for list_ in got.patterns.iter().flatten() {
            let Item::Pattern(p) = &list_.item else {
                unreachable!()
            };
            assert_eq!(
                (list_.a, list_.b),
                (count(p, true), count(p, false)),
                "{p:?}"
            );
        }
    }

    #[test]
    fn pages_and_events_are_counted_once_per_session_and_excluded_ones_left_out() {
        let mut js = Journeys::with_capacity(4, 0);
        for (id, pages) in [
            (0, vec![1, 2, 1, 2]),
            (1, vec![1, 3]),
            (2, vec![3, 3, 9]),
            (3, vec![3]),
        ] {
            js.push(Journey::from_pages(id, &pages).as_ref());
        }
        let side = |j: &JourneyRef<'_>| if j.session_id < 2 { Side::A } else { Side::B };
        let mut excluded = vec![false; 10];
        excluded[9] = true;
        let q = ContrastQuery {
            alpha: 1.0,
            ..query()
        };
        let got = contrast(
            &js,
            side,
            &excluded,
            &FxHashSet::default(),
            &q,
            &Cancel::never(),
        );
        let all: Vec<&Contrasted> = got.pages.iter().flatten().collect();
        let page = |p| {
            all.iter()
                .find(|r| r.item == Item::Page(p))
                .map(|r| (r.a, r.b))
        };
        assert_eq!(page(1), Some((2, 0)));
        assert_eq!(page(2), Some((1, 0)));
        assert_eq!(page(3), Some((1, 2)));
        assert_eq!(page(9), None);
        // No pattern holds page 9 either.
        for r in got.patterns.iter().flatten() {
            assert!(
                !matches!(&r.item, Item::Pattern(p) if p.contains(&9)),
                "{r:?}"
            );
        }
    }

    #[test]
    fn the_sample_is_deterministic_and_near_its_rate() {
        let kept = (0..100_000).filter(|&id| sampled(id, 10)).count();
        assert!((9_000..11_000).contains(&kept), "{kept}");
        assert!((0..1000).all(|id| sampled(id, 1)));
        assert_eq!(
            (0..1000).filter(|&id| sampled(id, 7)).collect::<Vec<_>>(),
            (0..1000).filter(|&id| sampled(id, 7)).collect::<Vec<_>>()
        );
    }

    #[test]
    fn the_trie_counts_like_a_subsequence_test() {
        let mut rng = crate::mine::Rng(0x1234_5678_9abc_def1);
        let candidates: Vec<Vec<PageId>> = {
            let mut c: Vec<Vec<PageId>> = (0..60)
                .map(|_| {
                    (0..rng.below(3) + 2)
                        .map(|_| rng.below(5) as PageId)
                        .collect()
                })
                .collect();
            c.sort();
            c.dedup();
            c
        };
        let trie = Trie::of(&candidates);
        for _ in 0..500 {
            let seq: Vec<PageId> = (0..rng.below(12)).map(|_| rng.below(5) as PageId).collect();
            let mut support = vec![0; candidates.len()];
            trie.count(&seq, |c| support[c] += 1);
            for (c, pattern) in candidates.iter().enumerate() {
                let want = u32::from(seq.len() >= 2 && within(pattern, &seq));
                assert_eq!(support[c], want, "{pattern:?} in {seq:?}");
            }
        }
    }
}
