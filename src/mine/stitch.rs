//! A visitor's sessions of one day as one journey, for the reports that
//! count visitors instead of sessions (`unit=visitor` on funnels and
//! goals): a visitor who left the cart in one session and bought in a
//! second the same day then counts once, converted, and the time to
//! convert spans both.
//!
//! The visitor id is the cookieless daily hash ([`crate::ingest::sessionize`]):
//! it is the same for one visitor within one UTC day and never across
//! days, so neither is a stitched journey.

use super::{Block, JourneyRef, JourneySet, Journeys, NO_CODE};

/// `journeys` with each visitor's sessions joined: the visitors with one
/// session are walked where they are (no copy of the whole set); those
/// with several are copied and joined once, as one more block.
pub(crate) struct ByVisitor<S> {
    inner: S,
    /// Bit per visitor code: more than one session (to leave out of
    /// `inner` as it is walked); `None` when `inner` holds none of them.
    several: Option<Vec<u64>>,
    joined: Journeys,
    len: usize,
}

fn has(bits: &[u64], code: u32) -> bool {
    code != NO_CODE
        && bits
            .get(code as usize / 64)
            .is_some_and(|w| w >> (code % 64) & 1 == 1)
}

impl<S: JourneySet> ByVisitor<S> {
    /// Two walks of `inner`: one counts each visitor's sessions, the
    /// other copies those of visitors with several and joins them.
    pub(crate) fn new(inner: S) -> ByVisitor<S> {
        let (mut once, mut several) = (Vec::<u64>::new(), Vec::<u64>::new());
        for block in inner.blocks() {
            for j in block.iter().filter(|j| j.visitor != NO_CODE) {
                let (w, b) = (j.visitor as usize / 64, j.visitor % 64);
                if once.len() <= w {
                    once.resize(w + 1, 0);
                    several.resize(w + 1, 0);
                }
                if once[w] >> b & 1 == 1 {
                    several[w] |= 1 << b;
                }
                once[w] |= 1 << b;
            }
        }
        let mut copied = Journeys::with_capacity(0, 0);
        let mut alone = 0;
        for block in inner.blocks() {
            for j in block.iter() {
                if has(&several, j.visitor) {
                    copied.push(j);
                } else {
                    alone += 1;
                }
            }
        }
        let joined = by_visitor(&copied);
        let len = alone + JourneySet::len(&joined);
        ByVisitor {
            inner,
            several: Some(several),
            joined,
            len,
        }
    }

    /// From a split made where the journeys are held (the read engine):
    /// `alone`, the journeys of visitors with one, walked as they are, and
    /// `several`, those of visitors with more, joined here.
    pub(crate) fn split(alone: S, several: &(impl JourneySet + ?Sized)) -> ByVisitor<S> {
        let joined = by_visitor(several);
        let len = alone.len() + JourneySet::len(&joined);
        ByVisitor {
            inner: alone,
            several: None,
            joined,
            len,
        }
    }
}

impl<S: JourneySet> JourneySet for ByVisitor<S> {
    fn len(&self) -> usize {
        self.len
    }
    fn blocks(&self) -> Box<dyn Iterator<Item = Block<'_>> + '_> {
        let joined = std::iter::once(Block::Borrowed(&self.joined));
        let Some(several) = &self.several else {
            return Box::new(self.inner.blocks().chain(joined));
        };
        let alone = self.inner.blocks().map(move |block| {
            let mut out = Journeys::with_capacity(0, 0);
            for j in block.iter().filter(|j| !has(several, j.visitor)) {
                out.push(j);
            }
            Block::Owned(out)
        });
        Box::new(alone.chain(joined))
    }
    fn page_bound(&self) -> usize {
        self.inner.page_bound().max(self.joined.page_bound())
    }
}

/// Every journey of `journeys`, those of one visitor joined into one in
/// the order they started (the first session's id and group stand for
/// the joined one). Journeys of an unknown visitor stay alone.
pub(crate) fn by_visitor(journeys: &(impl JourneySet + ?Sized)) -> Journeys {
    // The blocks as they come (the read engine's are made for this walk
    // and are taken, not copied), then each journey found through them.
    let blocks: Vec<Journeys> = journeys.blocks().map(Block::into_owned).collect();
    let first_time = |j: &JourneyRef<'_>| j.times.first().copied().unwrap_or(0);
    let mut order: Vec<(u32, i64, i64, u32, u32)> = Vec::with_capacity(journeys.len());
    for (b, block) in blocks.iter().enumerate() {
        for (i, j) in block.iter().enumerate() {
            order.push((j.visitor, first_time(&j), j.session_id, b as u32, i as u32));
        }
    }
    order.sort_unstable();
    let get = |k: usize| {
        let (_, _, _, b, i) = order[k];
        blocks[b as usize].get(i as usize)
    };
    let mut out = Journeys::with_capacity(order.len(), 0);
    let mut k = 0;
    while k < order.len() {
        let first = get(k);
        out.begin(first.session_id);
        out.group(first.group);
        out.visitor(first.visitor);
        loop {
            out.append(&get(k));
            k += 1;
            let same = k < order.len() && first.visitor != NO_CODE && order[k].0 == first.visitor;
            if !same {
                break;
            }
        }
        out.end();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mine::{Journey, JourneyMark, NO_REVENUE};

    #[test]
    fn one_visitors_sessions_join_in_the_order_they_started() {
        let mut all = Journeys::with_capacity(0, 0);
        let mut add =
            |id: i64, visitor: u32, pages: &[u32], start: i64, marks: Vec<JourneyMark>| {
                let mut j = Journey::from_pages(id, pages);
                j.times.iter_mut().for_each(|t| *t += start);
                j.marks = marks;
                let mut r = j.as_ref();
                r.visitor = visitor;
                r.group = id as u32;
                all.push(r);
            };
        let buy = JourneyMark {
            after: 1,
            time: 0,
            name: 7,
            props: NO_CODE,
            revenue_milli: NO_REVENUE,
        };
        add(2, 5, &[3, 4], 50_000, vec![buy]);
        add(1, 5, &[1, 2], 0, Vec::new());
        add(3, 6, &[9], 0, Vec::new());
        add(4, NO_CODE, &[8], 0, Vec::new());
        add(5, NO_CODE, &[8], 0, Vec::new());
        let joined = by_visitor(&all);
        let got: Vec<(i64, Vec<u32>, Vec<u32>, u32)> = joined
            .iter()
            .map(|j| {
                (
                    j.session_id,
                    j.pages.to_vec(),
                    j.marks.iter().map(|m| m.after).collect(),
                    j.group,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (1, vec![1, 2, 3, 4], vec![3], 1),
                (3, vec![9], vec![], 3),
                (4, vec![8], vec![], 4),
                (5, vec![8], vec![], 5),
            ]
        );
        // Walked in place, the same journeys (the joined ones last).
        let walked = ByVisitor::new(all);
        let mut ids: Vec<i64> = walked
            .blocks()
            .flat_map(|b| b.iter().map(|j| j.session_id).collect::<Vec<_>>())
            .collect();
        assert_eq!(ids, [3, 4, 5, 1]);
        ids.sort();
        assert_eq!(JourneySet::len(&walked), 4);
    }
}
