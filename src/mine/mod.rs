//! Path mining: what product teams come for. Pure functions over journeys
//! (sessions as sequences of cleaned page ids with their times and
//! frustration signals), whether they came from the tracker or from logs.
//! No I/O here: the store loads journeys, the CLI and the API show results,
//! and every function is fast to test on plain data.
//!
//! Two modules bound what a request can make mining do: [`budget`] holds
//! the caps and compiled-size budgets of user-written patterns (rules,
//! funnel steps, stages, goals) for every door, and [`cancel`] lets the
//! long loops stop at a deadline or when the client has gone (the `_until`
//! variants of the mining functions take one).

pub(crate) mod budget;
pub(crate) mod cancel;
pub(crate) mod changes;
pub(crate) mod clean;
pub(crate) mod conformance;
pub(crate) mod contrast;
pub(crate) mod conversions;
pub(crate) mod flow;
pub(crate) mod frustration;
pub(crate) mod funnel;
pub(crate) mod graph;
pub(crate) mod paths;
pub(crate) mod patterns;
pub(crate) mod stages;
pub(crate) mod stats;
pub(crate) mod stitch;
pub(crate) mod why;

use crate::event::{Millis, PageSignals};

/// An interned, cleaned page.
pub(crate) type PageId = u32;

/// A custom event of a journey (`add_to_cart`, `purchase`), placed among
/// its page views, as goals, event funnel steps and the events report
/// read it. Names and properties are the read engine's codes for the
/// site, so matching one is comparing integers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct JourneyMark {
    /// Page views of the journey before it, as cleaned (with repeats
    /// collapsed, a repeat's events belong to the view it merged into).
    pub after: u32,
    pub time: Millis,
    /// The code of its name.
    pub name: u32,
    /// The code of its properties apart from `revenue` ([`NO_CODE`]: none).
    pub props: u32,
    /// Its `revenue` in thousandths ([`NO_REVENUE`]: none), so sums are exact.
    pub revenue_milli: i64,
}

/// No code (an event without properties).
pub(crate) const NO_CODE: u32 = u32::MAX;
/// No revenue.
pub(crate) const NO_REVENUE: i64 = i64::MIN;

/// One thing of a journey in the order it happened: a page view or a
/// custom event, by its index in the journey's views or marks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    View(usize),
    Mark(usize),
}

/// One session as mining sees it, owned (the tests' way to write one; the
/// reports walk [`Journeys`]). `pages`, `times` and `signals` have the same
/// length: one entry per page view, in order.
#[cfg(test)]
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Journey {
    pub session_id: i64,
    pub pages: Vec<PageId>,
    /// When each page view happened (ms since the epoch).
    pub times: Vec<Millis>,
    pub signals: Vec<PageSignals>,
    pub marks: Vec<JourneyMark>,
}

#[cfg(test)]
impl Journey {
    /// A journey of page views a second apart with no signals (tests, and
    /// sources without times).
    #[cfg(test)]
    pub(crate) fn from_pages(session_id: i64, pages: &[PageId]) -> Journey {
        Journey {
            session_id,
            pages: pages.to_vec(),
            times: (0..pages.len() as Millis).map(|i| i * 1000).collect(),
            signals: vec![PageSignals::default(); pages.len()],
            marks: Vec::new(),
        }
    }

    /// Collapses consecutive repeats of a page (A A B → A B), keeping the
    /// first view's time and adding up the signals.
    #[cfg(test)]
    pub(crate) fn collapse_repeats(mut self) -> Journey {
        let mut w = 0;
        for r in 0..self.pages.len() {
            if w > 0 && self.pages[w - 1] == self.pages[r] {
                let s = self.signals[r];
                self.signals[w - 1].absorb(s);
                continue;
            }
            self.pages[w] = self.pages[r];
            self.times[w] = self.times[r];
            self.signals[w] = self.signals[r];
            w += 1;
        }
        self.pages.truncate(w);
        self.times.truncate(w);
        self.signals.truncate(w);
        self
    }
}

/// One journey as the mining loops read it: borrowed slices, whether the
/// journey is an owned [`Journey`] or a stretch of a flat [`Journeys`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct JourneyRef<'a> {
    pub session_id: i64,
    pub pages: &'a [PageId],
    pub times: &'a [Millis],
    pub signals: &'a [PageSignals],
    /// The journey's custom events in order ([`JourneyMark::after`] places
    /// each among the views).
    pub marks: &'a [JourneyMark],
    /// The code of the session's value of the dimension a report breaks
    /// down by ([`NO_CODE`]: none, or no breakdown asked).
    pub group: u32,
    /// The code of the session's visitor (the same for the sessions of one
    /// visitor in one UTC day; [`NO_CODE`]: unknown).
    pub visitor: u32,
    /// When the session's last event happened (a click, a scroll, leaving
    /// the page): the last view's time where nothing later is known. The
    /// time on the last page is `end - times[last]`.
    pub end: Millis,
}

impl JourneyRef<'_> {
    /// The journey's page views and custom events in the order they
    /// happened: each event after the view it happened on
    /// ([`JourneyMark::after`]).
    pub(crate) fn in_order(&self) -> impl Iterator<Item = Step> + '_ {
        let (views, marks) = (self.pages.len(), self.marks);
        let (mut v, mut m) = (0, 0);
        std::iter::from_fn(move || {
            if m < marks.len() && (v == views || marks[m].after as usize <= v) {
                m += 1;
                return Some(Step::Mark(m - 1));
            }
            (v < views).then(|| {
                v += 1;
                Step::View(v - 1)
            })
        })
    }
}

#[cfg(test)]
impl Journey {
    pub(crate) fn as_ref(&self) -> JourneyRef<'_> {
        JourneyRef {
            session_id: self.session_id,
            pages: &self.pages,
            times: &self.times,
            signals: &self.signals,
            marks: &self.marks,
            group: NO_CODE,
            visitor: NO_CODE,
            end: self.times.last().copied().unwrap_or(0),
        }
    }
}

/// A stretch of journeys, borrowed where they are held flat already and
/// built on the fly where they are not (the read engine cleans each block
/// as it is asked for, so a report never holds all its journeys at once).
pub(crate) type Block<'a> = std::borrow::Cow<'a, Journeys>;

/// What the mining functions take: any set of journeys they can walk, a
/// block at a time, in any order (every result breaks its ties by page or
/// session id, so the order of the journeys never changes an answer). Each
/// call to [`JourneySet::blocks`] walks them all again.
pub(crate) trait JourneySet {
    fn len(&self) -> usize;
    fn blocks(&self) -> Box<dyn Iterator<Item = Block<'_>> + '_>;
    /// An upper bound (exclusive) on the page ids in the journeys, for
    /// sizing arrays without a pass over them.
    fn page_bound(&self) -> usize;
}

impl<T: JourneySet + ?Sized> JourneySet for Box<T> {
    fn len(&self) -> usize {
        (**self).len()
    }
    fn blocks(&self) -> Box<dyn Iterator<Item = Block<'_>> + '_> {
        (**self).blocks()
    }
    fn page_bound(&self) -> usize {
        (**self).page_bound()
    }
}

impl JourneySet for Journeys {
    fn len(&self) -> usize {
        self.session_ids.len()
    }
    fn blocks(&self) -> Box<dyn Iterator<Item = Block<'_>> + '_> {
        Box::new(std::iter::once(Block::Borrowed(self)))
    }
    fn page_bound(&self) -> usize {
        self.pages.iter().max().map_or(0, |m| *m as usize + 1)
    }
}

#[cfg(test)]
impl JourneySet for [Journey] {
    fn len(&self) -> usize {
        <[Journey]>::len(self)
    }
    fn blocks(&self) -> Box<dyn Iterator<Item = Block<'_>> + '_> {
        let all: Journeys = self.iter().map(Journey::as_ref).collect();
        Box::new(std::iter::once(Block::Owned(all)))
    }
    fn page_bound(&self) -> usize {
        let max = self.iter().flat_map(|j| j.pages.iter()).max();
        max.map_or(0, |m| *m as usize + 1)
    }
}

#[cfg(test)]
impl<const N: usize> JourneySet for [Journey; N] {
    fn len(&self) -> usize {
        N
    }
    fn blocks(&self) -> Box<dyn Iterator<Item = Block<'_>> + '_> {
        self.as_slice().blocks()
    }
    fn page_bound(&self) -> usize {
        self.as_slice().page_bound()
    }
}

#[cfg(test)]
impl JourneySet for Vec<Journey> {
    fn len(&self) -> usize {
        self.as_slice().len()
    }
    fn blocks(&self) -> Box<dyn Iterator<Item = Block<'_>> + '_> {
        self.as_slice().blocks()
    }
    fn page_bound(&self) -> usize {
        self.as_slice().page_bound()
    }
}

/// Many journeys stored flat: one array per field and one offset per
/// journey, instead of three small vectors per journey. A request over ten
/// million sessions then makes a handful of allocations, not thirty
/// million, and pays no vector headers (72 bytes a journey).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Journeys {
    session_ids: Vec<i64>,
    /// Where each journey starts in the flat arrays, and one past the end.
    offsets: Vec<u32>,
    pages: Vec<PageId>,
    times: Vec<Millis>,
    signals: Vec<PageSignals>,
    /// Where each journey's events start in `marks`, and one past the end.
    mark_offsets: Vec<u32>,
    marks: Vec<JourneyMark>,
    /// Each journey's [`JourneyRef::group`].
    groups: Vec<u32>,
    /// Each journey's [`JourneyRef::visitor`].
    visitors: Vec<u32>,
    /// Each journey's last event as far as told ([`Journeys::ends_at`]);
    /// [`JourneyRef::end`] is the later of it and the last view.
    ends: Vec<Millis>,
}

impl Journeys {
    pub(crate) fn with_capacity(journeys: usize, views: usize) -> Journeys {
        let mut offsets = Vec::with_capacity(journeys + 1);
        offsets.push(0);
        Journeys {
            session_ids: Vec::with_capacity(journeys),
            offsets,
            pages: Vec::with_capacity(views),
            times: Vec::with_capacity(views),
            signals: Vec::with_capacity(views),
            mark_offsets: offsets_start(journeys),
            marks: Vec::new(),
            groups: Vec::with_capacity(journeys),
            visitors: Vec::with_capacity(journeys),
            ends: Vec::with_capacity(journeys),
        }
    }

    /// Starts a journey; its page views follow with [`Journeys::view`] and
    /// it ends with [`Journeys::end`] (an empty one is dropped there).
    pub(crate) fn begin(&mut self, session_id: i64) {
        if self.offsets.is_empty() {
            self.offsets.push(0);
        }
        if self.mark_offsets.is_empty() {
            self.mark_offsets.push(0);
        }
        self.session_ids.push(session_id);
        self.groups.push(NO_CODE);
        self.visitors.push(NO_CODE);
        self.ends.push(Millis::MIN);
    }

    /// The journey begun last went on until `end` (its last event).
    pub(crate) fn ends_at(&mut self, end: Millis) {
        if let Some(e) = self.ends.last_mut() {
            *e = (*e).max(end);
        }
    }

    /// Sets the visitor of the journey begun last.
    pub(crate) fn visitor(&mut self, code: u32) {
        if let Some(v) = self.visitors.last_mut() {
            *v = code;
        }
    }

    /// Sets the group of the journey begun last.
    pub(crate) fn group(&mut self, code: u32) {
        if let Some(g) = self.groups.last_mut() {
            *g = code;
        }
    }

    /// Adds a custom event to the journey begun last, after the views
    /// added so far (its `after` is set here).
    pub(crate) fn mark(&mut self, mut mark: JourneyMark) {
        let start = *self.offsets.last().expect("begun") as usize;
        mark.after = (self.pages.len() - start) as u32;
        self.marks.push(mark);
    }

    /// Adds a page view to the journey begun last. With `collapse`, a
    /// repeat of the page just before merges into it (see
    /// [`Journey::collapse_repeats`]).
    pub(crate) fn view(
        &mut self,
        page: PageId,
        time: Millis,
        signals: PageSignals,
        collapse: bool,
    ) {
        let start = *self.offsets.last().expect("begun") as usize;
        if collapse && self.pages.len() > start && self.pages.last() == Some(&page) {
            self.signals
                .last_mut()
                .expect("same length")
                .absorb(signals);
            return;
        }
        self.pages.push(page);
        self.times.push(time);
        self.signals.push(signals);
    }

    /// Ends the journey begun last; one without page views is dropped.
    pub(crate) fn end(&mut self) {
        let start = *self.offsets.last().expect("begun") as usize;
        if self.pages.len() == start {
            self.session_ids.pop();
            self.groups.pop();
            self.visitors.pop();
            self.ends.pop();
            let marks = *self.mark_offsets.last().expect("begun") as usize;
            self.marks.truncate(marks);
        } else {
            let end = u32::try_from(self.pages.len()).expect("under 4 billion page views");
            self.offsets.push(end);
            let marks = u32::try_from(self.marks.len()).expect("under 4 billion events");
            self.mark_offsets.push(marks);
        }
    }

    /// Adds a whole journey.
    pub(crate) fn push(&mut self, j: JourneyRef<'_>) {
        self.begin(j.session_id);
        self.group(j.group);
        self.visitor(j.visitor);
        self.append(&j);
        self.end();
    }

    /// Adds `j`'s views and events, in order, to the journey begun last.
    pub(crate) fn append(&mut self, j: &JourneyRef<'_>) {
        self.ends_at(j.end);
        for step in j.in_order() {
            match step {
                Step::View(v) => self.view(j.pages[v], j.times[v], j.signals[v], false),
                Step::Mark(m) => self.mark(j.marks[m]),
            }
        }
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = JourneyRef<'_>> + Clone {
        (0..self.session_ids.len()).map(|i| self.get(i))
    }

    pub(crate) fn get(&self, i: usize) -> JourneyRef<'_> {
        let (a, b) = (self.offsets[i] as usize, self.offsets[i + 1] as usize);
        let (c, d) = (
            self.mark_offsets[i] as usize,
            self.mark_offsets[i + 1] as usize,
        );
        JourneyRef {
            session_id: self.session_ids[i],
            pages: &self.pages[a..b],
            times: &self.times[a..b],
            signals: &self.signals[a..b],
            marks: &self.marks[c..d],
            group: self.groups[i],
            visitor: self.visitors[i],
            end: self.ends[i].max(self.times[b - 1]),
        }
    }
}

#[cfg(test)]
impl<'a> FromIterator<JourneyRef<'a>> for Journeys {
    fn from_iter<I: IntoIterator<Item = JourneyRef<'a>>>(iter: I) -> Journeys {
        let mut all = Journeys::with_capacity(0, 0);
        for j in iter {
            all.push(j);
        }
        all
    }
}

/// An offsets vector for `journeys`, holding its leading 0.
fn offsets_start(journeys: usize) -> Vec<u32> {
    let mut offsets = Vec::with_capacity(journeys + 1);
    offsets.push(0);
    offsets
}

/// Every journey's pages, flat: what pattern mining needs all at once
/// (4 bytes a view, where the blocks' times and signals would take 15).
pub(crate) struct PageSequences {
    pages: Vec<PageId>,
    /// Where each journey starts in `pages`, and one past the last.
    offsets: Vec<usize>,
}

impl PageSequences {
    pub(crate) fn empty() -> PageSequences {
        PageSequences {
            pages: Vec::new(),
            offsets: vec![0],
        }
    }

    /// Adds one journey's pages.
    pub(crate) fn push(&mut self, pages: &[PageId]) {
        self.pages.extend_from_slice(pages);
        self.offsets.push(self.pages.len());
    }

    pub(crate) fn of(journeys: &(impl JourneySet + ?Sized)) -> PageSequences {
        let mut pages = Vec::new();
        let mut offsets = Vec::with_capacity(journeys.len() + 1);
        offsets.push(0);
        for block in journeys.blocks() {
            for j in block.iter() {
                pages.extend_from_slice(j.pages);
                offsets.push(pages.len());
            }
        }
        PageSequences { pages, offsets }
    }

    pub(crate) fn slices(&self) -> Vec<&[PageId]> {
        self.offsets
            .windows(2)
            .map(|w| &self.pages[w[0]..w[1]])
            .collect()
    }
}

/// Example sessions a report keeps per row (`why`, `conformance`).
pub(crate) const EXAMPLES: usize = 10;

/// Keeps the [`EXAMPLES`] largest (newest) session ids offered, in no
/// order (sort them once at the end).
pub(crate) fn keep_newest(kept: &mut Vec<i64>, id: i64) {
    if kept.len() < EXAMPLES {
        kept.push(id);
    } else if let Some((at, smallest)) = kept.iter().enumerate().min_by_key(|(_, v)| **v) {
        if id > *smallest {
            kept[at] = id;
        }
    }
}

/// a / b, and 0 when there is nothing to divide by (an empty page or step).
pub(crate) fn ratio(a: u32, b: u32) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// What the mining modules' tests share: journeys from page lists, and a
/// small deterministic generator (xorshift) for brute-force checks, so they
/// need no dependency and failures reproduce.
#[cfg(test)]
pub(crate) mod testing {
    use super::{Journey, PageId};

    /// One journey per list, session ids 0, 1, 2...
    pub(crate) fn journeys(list: &[&[PageId]]) -> Vec<Journey> {
        list.iter()
            .enumerate()
            .map(|(i, p)| Journey::from_pages(i as i64, p))
            .collect()
    }

    /// The sessions of the UCI MSNBC data set (989,818 sessions over 17
    /// page categories), read from the zip fixture with flate2: the only
    /// entry we need is the first, and its deflate stream ends by itself,
    /// so the local header is all there is to parse.
    pub(crate) fn msnbc_sessions() -> Vec<Vec<PageId>> {
        use std::io::Read;
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/seq/msnbc990928.zip"
        );
        let zip = std::fs::read(path).expect("MSNBC fixture");
        let u16_at = |o: usize| u16::from_le_bytes([zip[o], zip[o + 1]]) as usize;
        assert_eq!(zip[..4], *b"PK\x03\x04", "a zip local file header");
        assert_eq!(u16_at(8), 8, "deflate");
        let data = 30 + u16_at(26) + u16_at(28);
        let mut text = String::new();
        flate2::read::DeflateDecoder::new(&zip[data..])
            .read_to_string(&mut text)
            .expect("inflate");
        // 7 header lines (category names), then one session per line:
        // space-separated category ids 1..=17, CRLF ended.
        text.lines()
            .skip(7)
            .map(|line| {
                line.split_whitespace()
                    .map(|id| id.parse().expect("page id"))
                    .collect()
            })
            .collect()
    }

    pub(crate) use super::Rng;
}

/// Reproducible dice (xorshift) for tests and the benchmarks' datasets:
/// the same numbers for a seed, no dependency.
#[cfg(any(test, feature = "dev"))]
pub(crate) struct Rng(pub u64);

#[cfg(any(test, feature = "dev"))]
impl Rng {
    /// The next number below `n`.
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_collapse_and_keep_their_signals() {
        let mut j = Journey::from_pages(1, &[1, 1, 2, 2, 2, 1]);
        j.signals[1].rage_clicks = 3;
        j.signals[4].error = true;
        let c = j.collapse_repeats();
        assert_eq!(c.pages, [1, 2, 1]);
        assert_eq!(c.times, [0, 2000, 5000]);
        assert_eq!(c.signals[0].rage_clicks, 3);
        assert!(c.signals[1].error);
    }
}
