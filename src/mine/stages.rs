//! Journey stages: how far down the customer journey each session got.
//!
//! A site's rules put pages into ordered stages (awareness, consideration,
//! decision, retention, advocacy by default; a site may rename, reorder,
//! add or drop them). A session's *deepest* stage is the furthest one it
//! viewed a page of, whatever the order it went in. A *side* stage (help
//! and account pages: retention by default) is off the main line: visiting
//! it says nothing of how far the visitor got, so it neither is a
//! session's deepest stage nor implies the stages before it; its "reached"
//! is who visited it. From that follow the
//! questions a product team asks of the journey as a whole: how many got
//! at least as far as each stage, how many stopped there (the drop-off to
//! the next), and how many reached a stage while skipping an earlier one
//! (straight from an ad to the cart, say).
//!
//! Pure counting over journeys: the caller maps pages to stages.

use rustc_hash::FxHashMap;
use serde::Serialize;

use super::{ratio, JourneySet, PageId};

/// The most stages a site can define (stage sets are bitmasks).
pub(crate) const MAX_STAGES: usize = 16;

/// Which stage each page belongs to: `of[page]`, `None` for pages outside
/// every stage (and for ids beyond the table).
#[derive(Debug, Clone, Default)]
pub(crate) struct StageMap {
    pub of: Vec<Option<u8>>,
    /// How many stages there are (stage indexes are `0..count`).
    pub count: usize,
    /// Side stages, as a bitmask of stage indexes.
    pub side: u32,
}

impl StageMap {
    fn stage(&self, page: PageId) -> Option<u8> {
        self.of.get(page as usize).copied().flatten()
    }
}

/// The sessions at one stage.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct StageCount {
    #[serde(skip)]
    pub stage: usize,
    /// A side stage: off the main line (see the module's doc).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub side: bool,
    /// Sessions that viewed a page of this stage.
    pub visited: u32,
    /// Sessions whose deepest stage is this one or a later one.
    pub reached: u32,
    /// Sessions whose deepest stage is this one: they went no further.
    pub deepest: u32,
    /// reached(this) / reached(previous); 1 for the first stage.
    pub conversion_from_previous: f64,
    /// reached(this) / sessions with any stage.
    pub conversion_from_start: f64,
    /// deepest / reached: the share of those who got here and stopped.
    pub drop_off_rate: f64,
    /// Sessions that reached a later stage without visiting this one.
    pub skipped: u32,
}

/// The order in which a group of sessions first entered their stages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct StageSequence {
    #[serde(skip)]
    pub stages: Vec<usize>,
    pub sessions: u32,
}

/// Stage by stage, for a set of journeys.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct StageReport {
    pub sessions: u32,
    /// Sessions that viewed no page of any stage.
    pub unstaged: u32,
    #[serde(skip)]
    pub stages: Vec<StageCount>,
    /// The most common orders of first entry into stages, most common
    /// first: shows skips and returns (decision → consideration) at once.
    #[serde(skip)]
    pub sequences: Vec<StageSequence>,
}

/// Counts stages over `journeys`; `top_sequences` bounds the list of stage
/// orders.
pub(crate) fn stage_report(
    journeys: &(impl JourneySet + ?Sized),
    map: &StageMap,
    top_sequences: usize,
) -> StageReport {
    let n = map.count.min(MAX_STAGES);
    let mut visited = vec![0u32; n];
    let mut deepest = vec![0u32; n];
    let mut skipped = vec![0u32; n];
    let mut unstaged = 0u32;
    let mut orders: FxHashMap<Vec<u8>, u32> = FxHashMap::default();
    let mut order = Vec::with_capacity(n);
    for block in journeys.blocks() {
        for j in block.iter() {
            let mut seen = 0u32;
            order.clear();
            for stage in j.pages.iter().filter_map(|p| map.stage(*p)) {
                let s = usize::from(stage);
                if s >= n {
                    continue;
                }
                if seen & (1 << s) == 0 {
                    seen |= 1 << s;
                    order.push(stage);
                }
            }
            if seen == 0 {
                unstaged += 1;
                continue;
            }
            // The deepest stage of the main line; none for a session that
            // saw only side stages.
            let main = seen & !map.side;
            let deep = (main != 0).then(|| 31 - main.leading_zeros() as usize);
            if let Some(deep) = deep {
                deepest[deep] += 1;
            }
            for (s, v) in visited.iter_mut().enumerate() {
                if seen & (1 << s) != 0 {
                    *v += 1;
                } else if map.side & (1 << s) == 0 && deep.is_some_and(|d| s < d) {
                    skipped[s] += 1;
                }
            }
            // Looked up by slice: a key is allocated once per distinct order.
            match orders.get_mut(&order[..]) {
                Some(count) => *count += 1,
                None => {
                    orders.insert(order.clone(), 1);
                }
            }
        }
    }

    let staged = journeys.len() as u32 - unstaged;
    let is_side = |s: usize| map.side & (1 << s) != 0;
    // reached[s] = sessions whose deepest main stage is s or later; for a
    // side stage, the sessions that visited it.
    let mut reached = vec![0u32; n];
    let mut below = 0;
    for s in (0..n).rev() {
        if is_side(s) {
            reached[s] = visited[s];
        } else {
            below += deepest[s];
            reached[s] = below;
        }
    }
    let mut previous_main: Option<usize> = None;
    let mut stages = Vec::with_capacity(n);
    for s in 0..n {
        let from_previous = match (is_side(s), previous_main) {
            (false, Some(p)) => ratio(reached[s], reached[p]),
            _ => ratio(reached[s], staged),
        };
        stages.push(StageCount {
            stage: s,
            side: is_side(s),
            visited: visited[s],
            reached: reached[s],
            deepest: deepest[s],
            conversion_from_previous: from_previous,
            conversion_from_start: ratio(reached[s], staged),
            drop_off_rate: ratio(deepest[s], reached[s]),
            skipped: skipped[s],
        });
        if !is_side(s) {
            previous_main = Some(s);
        }
    }

    let mut sequences: Vec<StageSequence> = orders
        .into_iter()
        .map(|(stages, sessions)| StageSequence {
            stages: stages.into_iter().map(usize::from).collect(),
            sessions,
        })
        .collect();
    sequences.sort_by(|a, b| b.sessions.cmp(&a.sessions).then(a.stages.cmp(&b.stages)));
    sequences.truncate(top_sequences);

    StageReport {
        sessions: journeys.len() as u32,
        unstaged,
        stages,
        sequences,
    }
}

/// Sessions that reached a goal (`reached`): the conversions the stages
/// lead to.
pub(crate) fn converted(
    journeys: &(impl JourneySet + ?Sized),
    reached: impl Fn(&super::JourneyRef<'_>) -> bool,
) -> u32 {
    let mut n = 0;
    for block in journeys.blocks() {
        for j in block.iter() {
            n += u32::from(reached(&j));
        }
    }
    n
}

/// Each session's deepest stage (`None`: no stage), in journey order.
#[cfg(test)]
pub(crate) fn deepest_stages(
    journeys: &(impl JourneySet + ?Sized),
    map: &StageMap,
) -> Vec<Option<usize>> {
    let mut deepest = Vec::with_capacity(journeys.len());
    for block in journeys.blocks() {
        deepest.extend(block.iter().map(|j| {
            j.pages
                .iter()
                .filter_map(|p| map.stage(*p))
                .max()
                .map(usize::from)
        }));
    }
    deepest
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mine::testing::journeys;

    /// Pages 1-2 awareness, 3-4 consideration, 5 decision, 6 retention;
    /// page 9 has no stage.
    fn map() -> StageMap {
        let mut of = vec![None; 10];
        for (p, s) in [(1, 0), (2, 0), (3, 1), (4, 1), (5, 2), (6, 3)] {
            of[p] = Some(s);
        }
        StageMap {
            of,
            count: 4,
            side: 0,
        }
    }

    #[test]
    fn deepest_stage_whatever_the_order() {
        let j = journeys(&[&[1, 3, 5], &[5, 1], &[9], &[2, 4, 2], &[6]]);
        assert_eq!(
            deepest_stages(&j, &map()),
            [Some(2), Some(2), None, Some(1), Some(3)]
        );
    }

    #[test]
    fn reach_drop_off_and_skips() {
        let j = journeys(&[
            &[1, 3, 5],    // awareness → consideration → decision
            &[1, 3],       // stops at consideration
            &[1],          // stops at awareness
            &[1, 9, 5],    // skips consideration
            &[9, 9],       // no stage
            &[4, 5, 6, 1], // skips awareness, reaches retention
        ]);
        let r = stage_report(&j, &map(), 10);
        assert_eq!(r.sessions, 6);
        assert_eq!(r.unstaged, 1);
        let reached: Vec<u32> = r.stages.iter().map(|s| s.reached).collect();
        assert_eq!(reached, [5, 4, 3, 1]);
        let deepest: Vec<u32> = r.stages.iter().map(|s| s.deepest).collect();
        assert_eq!(deepest, [1, 1, 2, 1]);
        let visited: Vec<u32> = r.stages.iter().map(|s| s.visited).collect();
        assert_eq!(visited, [5, 3, 3, 1]);
        let skipped: Vec<u32> = r.stages.iter().map(|s| s.skipped).collect();
        // The last session came to awareness only at the end, which is
        // still a visit; the fourth skipped consideration.
        assert_eq!(skipped, [0, 1, 0, 0]);
        assert_eq!(r.stages[1].conversion_from_previous, 4.0 / 5.0);
        assert_eq!(r.stages[2].conversion_from_start, 3.0 / 5.0);
        assert_eq!(r.stages[0].drop_off_rate, 1.0 / 5.0);
        // Orders of first entry: the last session entered consideration
        // first and awareness last.
        assert!(r.sequences.contains(&StageSequence {
            stages: vec![1, 2, 3, 0],
            sessions: 1
        }));
        assert_eq!(r.sequences.iter().map(|s| s.sessions).sum::<u32>(), 5);
    }

    #[test]
    fn a_side_stage_implies_no_progress_on_the_main_line() {
        // Stage 2 (page 5) is a side stage here: help pages, say.
        let side = StageMap {
            side: 1 << 2,
            ..map()
        };
        let j = journeys(&[
            &[5],       // only help: reached nothing on the main line
            &[1, 5],    // awareness, then help
            &[1, 3, 6], // awareness → consideration → retention
            &[6],       // straight to retention: skipped 0 and 1, not 2
        ]);
        let r = stage_report(&j, &side, 10);
        let reached: Vec<u32> = r.stages.iter().map(|s| s.reached).collect();
        assert_eq!(reached, [3, 2, 2, 2], "side: reached = visited");
        let deepest: Vec<u32> = r.stages.iter().map(|s| s.deepest).collect();
        assert_eq!(deepest, [1, 0, 0, 2]);
        let skipped: Vec<u32> = r.stages.iter().map(|s| s.skipped).collect();
        assert_eq!(skipped, [1, 1, 0, 0]);
        assert!(r.stages[2].side && !r.stages[3].side);
        // Retention's previous main stage is consideration, not help.
        assert_eq!(r.stages[3].conversion_from_previous, 1.0);
        assert_eq!(r.stages[2].conversion_from_previous, 2.0 / 4.0);
        // Without the side mark, the help-only session would count as
        // having reached awareness and consideration.
        let plain = stage_report(&j, &map(), 10);
        assert_eq!(plain.stages[0].reached, 4);
    }

    #[test]
    fn conversions_are_sessions_with_a_goal_page() {
        let j = journeys(&[&[1, 5], &[5, 5], &[1], &[]]);
        assert_eq!(converted(&j, |j| j.pages.contains(&5)), 2);
        assert_eq!(converted(&j, |_| false), 0);
    }

    #[test]
    fn skips_count_only_stages_before_the_deepest() {
        let j = journeys(&[&[5]]);
        let r = stage_report(&j, &map(), 10);
        let skipped: Vec<u32> = r.stages.iter().map(|s| s.skipped).collect();
        assert_eq!(skipped, [1, 1, 0, 0]);
    }

    #[test]
    fn nothing_to_count() {
        let r = stage_report(&[], &map(), 10);
        assert_eq!(r.sessions, 0);
        assert!(r
            .stages
            .iter()
            .all(|s| s.reached == 0 && s.drop_off_rate == 0.0));
        let r = stage_report(&journeys(&[&[1]]), &StageMap::default(), 10);
        assert_eq!(r.unstaged, 1);
        assert!(r.stages.is_empty());
    }
}
