//! One site's sessions as the read engine holds them: flat columns (raw
//! page ids, page times as offsets from the session's start, signals only
//! where there are any, and the dimensions reports filter on,
//! dictionary-coded), cut into segments of [`SEGMENT`] sessions in
//! session-id order.
//!
//! Segments are shared, never copied per request: a report takes the list
//! of `Arc`s as it is when it asks ([`Selection`]) and reads it for as long
//! as it mines, while the engine goes on applying changes. A change copies
//! only the segment it lands in, and only if a report still holds it
//! (`Arc::make_mut`): a new session is appended to the last segment, a
//! changed one (an open session grows with every batch) is rewritten in
//! place in its segment's copy.

use super::column::Column;
use crate::event::{Dimension, Millis, PageSignals};
use crate::mine::{JourneyMark, Journeys, PageId, NO_CODE, NO_REVENUE};
use crate::store::journeys::JourneyRow;
use crate::store::read::JourneyFilter;
use rustc_hash::FxHashMap;
use std::sync::Arc;

/// No value (a session without a country, an entry page or signals).
pub(super) const NONE: u32 = u32::MAX;

/// Sessions per segment: copying one (to change it while a report still
/// reads the old version) costs about a megabyte, and a report over ten
/// million sessions walks some six hundred of them. Tests use small ones,
/// so that a few thousand sessions already span many.
#[cfg(not(test))]
pub(crate) const SEGMENT: usize = 16 * 1024;
#[cfg(test)]
pub(crate) const SEGMENT: usize = 256;

/// Distinct strings of one column, coded as small integers.
#[derive(Debug, Default)]
pub(super) struct Dict {
    codes: FxHashMap<Box<str>, u32>,
    /// By code.
    pub(super) names: Vec<Box<str>>,
}

impl Dict {
    /// The dictionary of `names`, coded in their order.
    pub(super) fn of(names: Vec<Box<str>>) -> Dict {
        let codes = names
            .iter()
            .enumerate()
            .map(|(c, n)| (n.clone(), c as u32))
            .collect();
        Dict { codes, names }
    }

    fn code(&mut self, value: Option<&str>) -> u32 {
        let Some(v) = value else { return NONE };
        if let Some(c) = self.codes.get(v) {
            return *c;
        }
        let c = self.codes.len() as u32;
        self.codes.insert(v.into(), c);
        self.names.push(v.into());
        c
    }

    /// The strings, by code.
    pub(super) fn names(&self) -> Vec<Box<str>> {
        self.names.clone()
    }

    /// The code of `value`, or `None` when no session has it.
    fn find(&self, value: &str) -> Option<u32> {
        self.codes.get(value).copied()
    }
}

/// Visitor hashes coded as dense integers in the order first seen, so that
/// counting a selection's distinct visitors is a bitmap over codes. The
/// hashes are kept sorted (12 bytes a visitor) rather than in a hash map
/// (some 28 at ten million): the ones seen since the last fold wait in a
/// small map.
#[derive(Debug, Default)]
pub(super) struct Visitors {
    pub(super) sorted: Vec<i64>,
    /// The code of `sorted[k]`.
    pub(super) codes: Vec<u32>,
    pub(super) recent: FxHashMap<i64, u32>,
}

impl Visitors {
    fn len(&self) -> usize {
        self.sorted.len() + self.recent.len()
    }

    fn code(&mut self, visitor: i64) -> u32 {
        if let Ok(k) = self.sorted.binary_search(&visitor) {
            return self.codes[k];
        }
        let next = self.len() as u32;
        let code = *self.recent.entry(visitor).or_insert(next);
        if self.recent.len() > 65_536 && self.recent.len() > self.sorted.len() / 4 {
            self.fold();
        }
        code
    }

    pub(super) fn fold(&mut self) {
        let mut recent: Vec<(i64, u32)> = self.recent.drain().collect();
        recent.sort_unstable();
        let old = std::mem::take(&mut self.sorted)
            .into_iter()
            .zip(std::mem::take(&mut self.codes));
        let mut merged: Vec<(i64, u32)> = Vec::with_capacity(old.len() + recent.len());
        let mut recent = recent.into_iter().peekable();
        for (v, c) in old {
            while let Some(r) = recent.next_if(|r| r.0 < v) {
                merged.push(r);
            }
            merged.push((v, c));
        }
        merged.extend(recent);
        (self.sorted, self.codes) = merged.into_iter().unzip();
    }
}

/// What reports filter a session on, coded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Dims {
    pub(super) referrer: u32,
    pub(super) entry: u32,
    /// Channels and devices are the store's enums, countries ISO codes: a
    /// few hundred values at most ([`small`] saturates past 65,534).
    pub(super) channel: u16,
    pub(super) device: u16,
    pub(super) country: u16,
    pub(super) bot: bool,
    /// The landing URL's `utm_campaign`.
    pub(super) campaign: u32,
}

/// `code` in 16 bits ([`SMALL_NONE`] for none).
fn small(code: u32) -> u16 {
    if code == NONE {
        SMALL_NONE
    } else {
        u16::try_from(code)
            .unwrap_or(SMALL_NONE - 1)
            .min(SMALL_NONE - 1)
    }
}

/// No value, in 16 bits.
pub(super) const SMALL_NONE: u16 = u16::MAX;

/// A 16-bit code back in 32 bits.
pub(super) fn wide(code: u16) -> u32 {
    if code == SMALL_NONE {
        NONE
    } else {
        u32::from(code)
    }
}

/// A report's filter, resolved against the dictionaries: `None` in a field
/// means any value, `Some(NONE)` a value no session has.
#[derive(Debug, Clone, Default)]
pub(crate) struct Selector {
    from: Option<Millis>,
    to: Option<Millis>,
    channel: Option<u32>,
    device: Option<u32>,
    country: Option<u32>,
    referrer: Option<u32>,
    entry: Option<u32>,
    include_bots: bool,
}

impl Selector {
    fn admits(&self, start: Millis, d: &Dims) -> bool {
        let is = |want: Option<u32>, have: u32| want.is_none_or(|w| w == have && w != NONE);
        self.from.is_none_or(|f| start >= f)
            && self.to.is_none_or(|t| start < t)
            && (self.include_bots || !d.bot)
            && is(self.channel, wide(d.channel))
            && is(self.device, wide(d.device))
            && is(self.country, wide(d.country))
            && is(self.referrer, d.referrer)
            && is(self.entry, d.entry)
    }
}

/// What a report asks for: the store's filter, and its entry page as a
/// raw page id (`Some(None)`: a path no page has).
#[derive(Debug, Clone, Default)]
pub(crate) struct Wanted {
    pub filter: JourneyFilter,
    pub entry_page: Option<Option<u32>>,
    /// The dimension each journey's group is the value of.
    pub group: Option<Dimension>,
}

impl Wanted {
    /// `filter` in the engine's terms; `pages` are the site's raw pages.
    pub(crate) fn of(filter: &JourneyFilter, pages: &[(u32, String)]) -> Wanted {
        let entry_page = filter
            .entry_page
            .as_ref()
            .map(|path| pages.iter().find(|(_, p)| p == path).map(|(id, _)| *id));
        Wanted {
            filter: filter.clone(),
            entry_page,
            group: None,
        }
    }

    /// Only `filter` (tests).
    #[cfg(test)]
    pub(crate) fn only(filter: JourneyFilter) -> Wanted {
        Wanted {
            filter,
            entry_page: None,
            group: None,
        }
    }
}

/// A custom event of a session, coded against the site's dictionaries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct CodedMark {
    /// Page views before it, as stored (raw, not collapsed).
    after: u32,
    /// Milliseconds after the session's start.
    offset: u32,
    name: u32,
    props: u32,
    revenue_milli: i64,
}

/// A session row, owned: a change to fold into a segment further back.
#[derive(Debug, Clone)]
pub(crate) struct Change {
    head: Head,
    pages: Vec<u8>,
    times: Vec<u8>,
    signals: Vec<u8>,
    marks: Vec<CodedMark>,
}

/// A session's fields apart from its page views, coded.
#[derive(Debug, Clone, Copy)]
struct Head {
    id: i64,
    start: Millis,
    dims: Dims,
    visitor: u32,
    duration: u32,
}

/// Up to [`SEGMENT`] sessions in flat columns, by id.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Segment {
    pub(super) ids: Column<i64>,
    pub(super) starts: Column<Millis>,
    pub(super) dims: Vec<Dims>,
    /// Visitor codes ([`Visitors`]).
    pub(super) visitors: Column<u32>,
    /// End minus start (ms), [`u32::MAX`] for a session longer than 49
    /// days (none is, under the inactivity rule; the overview then asks
    /// the store instead of rounding).
    pub(super) durations: Column<u32>,
    /// Where each session's page views start in `pages` and `times`, and
    /// one past the last.
    pub(super) offsets: Column<u32>,
    pub(super) pages: Column<u32>,
    /// Milliseconds after the session's start.
    pub(super) times: Column<u32>,
    /// Where each session's signals start in `signals`, or [`NONE`].
    pub(super) signal_at: Column<u32>,
    pub(super) signals: Vec<PageSignals>,
    /// The sessions (by index in the segment, ascending) with custom
    /// events: few sessions have any, so the events are kept apart.
    pub(super) marked: Column<u32>,
    /// Where each marked session's events start in the `mark_*` columns,
    /// and one past the last (empty while no session is marked).
    pub(super) mark_offsets: Column<u32>,
    /// Raw page views before each event.
    pub(super) mark_after: Column<u32>,
    /// Milliseconds after the session's start.
    pub(super) mark_times: Column<u32>,
    pub(super) mark_names: Column<u32>,
    /// Codes of the properties apart from revenue ([`NO_CODE`]: none).
    pub(super) mark_props: Column<u32>,
    /// Revenue in thousandths ([`NO_REVENUE`]: none).
    pub(super) mark_revenue: Column<i64>,
}

fn le_u32(c: &[u8]) -> u32 {
    u32::from_le_bytes([c[0], c[1], c[2], c[3]])
}

impl Segment {
    fn len(&self) -> usize {
        self.ids.len()
    }

    fn last_id(&self) -> i64 {
        self.ids.last().copied().unwrap_or(i64::MIN)
    }

    /// Adds a session from its stored blobs ([`crate::event::pack_pages`],
    /// `pack_times`, `pack_signals`), read as the store's reader reads them.
    fn push(
        &mut self,
        head: Head,
        pages: &[u8],
        times: &[u8],
        signals: &[u8],
        marks: &[CodedMark],
    ) {
        if self.offsets.is_empty() {
            self.offsets.to_mut().push(0);
        }
        if !marks.is_empty() {
            self.push_marks(self.len() as u32, marks.iter().copied());
        }
        let first = self.pages.len();
        self.pages
            .to_mut()
            .extend(pages.chunks_exact(4).map(le_u32));
        let n = self.pages.len() - first;
        self.times
            .to_mut()
            .extend(times.chunks_exact(4).map(le_u32).take(n));
        // Sessions written before page times existed: the last time (or
        // the start) stands for the views without one.
        let last = if self.times.len() > first {
            self.times[self.times.len() - 1]
        } else {
            0
        };
        self.times.to_mut().resize(first + n, last);
        let stored = signals.chunks_exact(3).take(n);
        if stored
            .clone()
            .any(|c| c[0] != 0 || c[1] != 0 || c[2] & 7 != 0)
        {
            let at = self.signals.len();
            self.signal_at.to_mut().push(at as u32);
            self.signals
                .extend(stored.map(|c| PageSignals::from_bytes([c[0], c[1], c[2]])));
            self.signals.resize(at + n, PageSignals::default());
        } else {
            self.signal_at.to_mut().push(NONE);
        }
        let end = u32::try_from(self.pages.len()).expect("a segment under 4 billion views");
        self.offsets.to_mut().push(end);
        self.ids.to_mut().push(head.id);
        self.starts.to_mut().push(head.start);
        self.dims.push(head.dims);
        self.visitors.to_mut().push(head.visitor);
        self.durations.to_mut().push(head.duration);
    }

    /// Adds the events of session `k` (the next one pushed).
    fn push_marks(&mut self, k: u32, marks: impl Iterator<Item = CodedMark>) {
        if self.mark_offsets.is_empty() {
            self.mark_offsets.to_mut().push(0);
        }
        self.marked.to_mut().push(k);
        for m in marks {
            self.mark_after.to_mut().push(m.after);
            self.mark_times.to_mut().push(m.offset);
            self.mark_names.to_mut().push(m.name);
            self.mark_props.to_mut().push(m.props);
            self.mark_revenue.to_mut().push(m.revenue_milli);
        }
        let end = u32::try_from(self.mark_names.len()).expect("a segment under 4 billion events");
        self.mark_offsets.to_mut().push(end);
    }

    /// The range in the `mark_*` columns of session `k`'s events, found
    /// from `marked[*at..]` on (`at` moves past it: a walk in session
    /// order finds each in a step).
    fn marks_of(&self, k: usize, at: &mut usize) -> std::ops::Range<usize> {
        let marked: &[u32] = &self.marked;
        while marked.get(*at).is_some_and(|m| (*m as usize) < k) {
            *at += 1;
        }
        match marked.get(*at) {
            Some(m) if *m as usize == k => {
                self.mark_offsets[*at] as usize..self.mark_offsets[*at + 1] as usize
            }
            _ => 0..0,
        }
    }

    fn coded_mark(&self, i: usize) -> CodedMark {
        CodedMark {
            after: self.mark_after[i],
            offset: self.mark_times[i],
            name: self.mark_names[i],
            props: self.mark_props[i],
            revenue_milli: self.mark_revenue[i],
        }
    }

    /// Copies session `k` of `from`.
    fn copy(&mut self, from: &Segment, k: usize) {
        if self.offsets.is_empty() {
            self.offsets.to_mut().push(0);
        }
        let mut at = from.marked.partition_point(|m| (*m as usize) < k);
        let marks = from.marks_of(k, &mut at);
        if !marks.is_empty() {
            self.push_marks(self.len() as u32, marks.map(|i| from.coded_mark(i)));
        }
        let (a, b) = (from.offsets[k] as usize, from.offsets[k + 1] as usize);
        self.pages.to_mut().extend_from_slice(&from.pages[a..b]);
        self.times.to_mut().extend_from_slice(&from.times[a..b]);
        match from.signal_at[k] {
            NONE => self.signal_at.to_mut().push(NONE),
            at => {
                self.signal_at.to_mut().push(self.signals.len() as u32);
                let at = at as usize;
                self.signals
                    .extend_from_slice(&from.signals[at..at + (b - a)]);
            }
        }
        self.offsets.to_mut().push(self.pages.len() as u32);
        self.ids.to_mut().push(from.ids[k]);
        self.starts.to_mut().push(from.starts[k]);
        self.dims.push(from.dims[k]);
        self.visitors.to_mut().push(from.visitors[k]);
        self.durations.to_mut().push(from.durations[k]);
    }

    /// Gives back the columns' spare capacity (a full segment's views
    /// would otherwise sit in vectors up to twice their size).
    fn shrink(&mut self) {
        self.ids.shrink();
        self.starts.shrink();
        self.dims.shrink_to_fit();
        self.visitors.shrink();
        self.durations.shrink();
        self.offsets.shrink();
        self.pages.shrink();
        self.times.shrink();
        self.signal_at.shrink();
        self.signals.shrink_to_fit();
        self.marked.shrink();
        self.mark_offsets.shrink();
        self.mark_after.shrink();
        self.mark_times.shrink();
        self.mark_names.shrink();
        self.mark_props.shrink();
        self.mark_revenue.shrink();
    }

    fn push_change(&mut self, c: &Change) {
        self.push(c.head, &c.pages, &c.times, &c.signals, &c.marks);
    }

    /// Which sessions `sel` admits, one bit each, and how many of them
    /// have page views (only those are journeys).
    fn admitted(&self, sel: &Selector) -> (Vec<u64>, usize) {
        let mut bits = vec![0u64; self.len().div_ceil(64)];
        let mut count = 0;
        let (starts, offsets): (&[Millis], &[u32]) = (&self.starts, &self.offsets);
        for k in 0..self.len() {
            if sel.admits(starts[k], &self.dims[k]) {
                bits[k / 64] |= 1 << (k % 64);
                count += usize::from(offsets[k + 1] > offsets[k]);
            }
        }
        (bits, count)
    }

    /// The sessions `bits` marks, their pages cleaned through `clean`
    /// (indexed by raw page id; a page past its end cleans to 0) and, with
    /// `collapse`, consecutive repeats merged.
    fn journeys(&self, bits: &[u64], count: usize, walk: &Walk<'_>) -> Journeys {
        let Walk {
            clean,
            collapse,
            group,
            visitors,
            event_pages,
        } = *walk;
        let cleaned = |raw: u32| clean.get(raw as usize).copied().unwrap_or(0);
        // The columns as slices once, not through `Column` at every view.
        let (ids, starts, offsets): (&[i64], &[Millis], &[u32]) =
            (&self.ids, &self.starts, &self.offsets);
        let (pages, times, signal_at): (&[u32], &[u32], &[u32]) =
            (&self.pages, &self.times, &self.signal_at);
        let mut out = Journeys::with_capacity(count, count * 4);
        let mut marked_at = 0;
        for (w, word) in bits.iter().enumerate() {
            let mut word = *word;
            while word != 0 {
                let k = w * 64 + word.trailing_zeros() as usize;
                word &= word - 1;
                if visitors.is_some_and(|f| !f.keeps(self.visitors[k])) {
                    continue;
                }
                let (a, b) = (offsets[k] as usize, offsets[k + 1] as usize);
                let start = starts[k];
                out.begin(ids[k]);
                out.visitor(self.visitors[k]);
                out.ends_at(start + Millis::from(self.durations[k]));
                if let Some(dim) = group {
                    let d = &self.dims[k];
                    out.group(match dim {
                        Dimension::Channel => wide(d.channel),
                        Dimension::Device => wide(d.device),
                        Dimension::Country => wide(d.country),
                        Dimension::Referrer => d.referrer,
                        Dimension::UtmCampaign => d.campaign,
                        Dimension::EntryPage if d.entry == NONE => NONE,
                        Dimension::EntryPage => cleaned(d.entry),
                    });
                }
                let marks = self.marks_of(k, &mut marked_at);
                if !marks.is_empty() {
                    self.marked_journey(&mut out, k, marks, cleaned, collapse, event_pages);
                    out.end();
                    continue;
                }
                match signal_at[k] {
                    NONE => {
                        for i in a..b {
                            let time = start + Millis::from(times[i]);
                            out.view(cleaned(pages[i]), time, PageSignals::default(), collapse);
                        }
                    }
                    at => {
                        let signals = &self.signals[at as usize..at as usize + (b - a)];
                        for i in a..b {
                            let time = start + Millis::from(times[i]);
                            out.view(cleaned(pages[i]), time, signals[i - a], collapse);
                        }
                    }
                }
                out.end();
            }
        }
        out
    }

    /// Session `k`'s views with its events (`marks`) among them, into the
    /// journey `out` has begun: the slower way, for the few sessions with
    /// events.
    fn marked_journey(
        &self,
        out: &mut Journeys,
        k: usize,
        marks: std::ops::Range<usize>,
        cleaned: impl Fn(u32) -> PageId,
        collapse: bool,
        event_pages: Option<PageId>,
    ) {
        let (a, b) = (self.offsets[k] as usize, self.offsets[k + 1] as usize);
        let start = self.starts[k];
        let mut marks = marks.peekable();
        let mut events_up_to = |out: &mut Journeys, views: usize| {
            while let Some(i) = marks.next_if(|i| self.mark_after[*i] as usize <= views) {
                let time = start + Millis::from(self.mark_times[i]);
                if let Some(base) = event_pages {
                    // An event as a page view of its own (`event:NAME`).
                    out.view(
                        base + self.mark_names[i],
                        time,
                        PageSignals::default(),
                        collapse,
                    );
                    continue;
                }
                out.mark(JourneyMark {
                    after: 0,
                    time: start + Millis::from(self.mark_times[i]),
                    name: self.mark_names[i],
                    props: self.mark_props[i],
                    revenue_milli: self.mark_revenue[i],
                });
            }
        };
        for i in a..b {
            events_up_to(out, i - a);
            let signals = match self.signal_at[k] {
                NONE => PageSignals::default(),
                at => self.signals[at as usize + (i - a)],
            };
            let time = start + Millis::from(self.times[i]);
            out.view(cleaned(self.pages[i]), time, signals, collapse);
        }
        events_up_to(out, usize::MAX);
    }
}

/// A site's sessions, in segments.
#[derive(Debug, Default)]
pub(crate) struct SiteJourneys {
    pub(super) segments: Vec<Arc<Segment>>,
    pub(super) visitors: Visitors,
    pub(super) channel: Dict,
    pub(super) device: Dict,
    pub(super) country: Dict,
    pub(super) referrer: Dict,
    pub(super) campaign: Dict,
    /// Custom events' names.
    pub(super) event: Dict,
    /// Custom events' properties apart from revenue, as canonical JSON.
    pub(super) props: Dict,
}

impl SiteJourneys {
    /// A session's custom events, coded.
    fn marks(&mut self, row: &JourneyRow<'_>) -> Vec<CodedMark> {
        crate::event::unpack_marks(row.start, row.marks)
            .into_iter()
            .map(|m| {
                let revenue_milli = m.revenue().map_or(NO_REVENUE, |r| {
                    (r * 1000.0).round().clamp(-9e15, 9e15) as i64
                });
                let props = m.props.as_ref().map(|p| {
                    let mut p = p.clone();
                    p.remove("revenue");
                    p
                });
                let props = match props {
                    Some(p) if !p.is_empty() => self
                        .props
                        .code(Some(&serde_json::Value::Object(p).to_string())),
                    _ => NO_CODE,
                };
                CodedMark {
                    after: m.after,
                    offset: (m.ts - row.start).clamp(0, u32::MAX as Millis) as u32,
                    name: self.event.code(Some(&m.name)),
                    props,
                    revenue_milli,
                }
            })
            .collect()
    }

    fn head(&mut self, row: &JourneyRow<'_>) -> Head {
        Head {
            id: row.id,
            start: row.start,
            dims: Dims {
                channel: small(self.channel.code(Some(row.channel))),
                device: small(self.device.code(Some(row.device))),
                country: small(self.country.code(row.country)),
                referrer: self.referrer.code(row.referrer_domain),
                entry: row.entry_page.unwrap_or(NONE),
                bot: row.is_bot,
                campaign: self.campaign.code(row.utm_campaign),
            },
            visitor: self.visitors.code(row.visitor),
            duration: u32::try_from(row.end.saturating_sub(row.start)).unwrap_or(u32::MAX),
        }
    }

    /// Takes a session's current row: appended when it is past every
    /// session held (a new session, or any session of a first load, which
    /// comes in id order); otherwise handed back, owned, for
    /// [`SiteJourneys::merge`].
    pub(crate) fn take(&mut self, row: &JourneyRow<'_>) -> Option<Change> {
        let head = self.head(row);
        let marks = self.marks(row);
        if self.segments.last().is_some_and(|s| row.id <= s.last_id()) {
            return Some(Change {
                head,
                pages: row.pages.to_vec(),
                times: row.times.to_vec(),
                signals: row.signals.to_vec(),
                marks,
            });
        }
        if self.segments.last().is_none_or(|s| s.len() >= SEGMENT) {
            if let Some(full) = self.segments.last_mut() {
                Arc::make_mut(full).shrink();
            }
            self.segments.push(Arc::default());
        }
        let last = self.segments.last_mut().expect("pushed");
        Arc::make_mut(last).push(head, row.pages, row.times, row.signals, &marks);
        None
    }

    /// Folds changed (or late new) sessions into the segments their ids
    /// fall in, rewriting only those segments.
    pub(crate) fn merge(&mut self, mut changes: Vec<Change>) {
        if changes.is_empty() {
            return;
        }
        // By id; of two versions of one session, the later one counts.
        changes.reverse();
        changes.sort_by_key(|c| c.head.id);
        changes.dedup_by_key(|c| c.head.id);
        let old = std::mem::take(&mut self.segments);
        let count = old.len();
        let mut c = 0;
        for (i, seg) in old.into_iter().enumerate() {
            let end = if i + 1 == count {
                changes.len()
            } else {
                c + changes[c..].partition_point(|ch| ch.head.id <= seg.last_id())
            };
            if end == c {
                self.segments.push(seg);
                continue;
            }
            self.rewrite(&seg, &changes[c..end]);
            c = end;
        }
        if c < changes.len() {
            // Nothing was held: the changes are the site.
            self.rewrite(&Segment::default(), &changes[c..]);
        }
    }

    /// `seg` with `changes` (by id) in it, as one segment or several.
    fn rewrite(&mut self, seg: &Segment, changes: &[Change]) {
        let mut out = Segment::default();
        let (mut k, mut m) = (0, 0);
        while k < seg.len() || m < changes.len() {
            if out.len() == SEGMENT {
                out.shrink();
                self.segments.push(Arc::new(std::mem::take(&mut out)));
            }
            let old = seg.ids.get(k).copied().unwrap_or(i64::MAX);
            match changes.get(m) {
                Some(ch) if ch.head.id <= old => {
                    out.push_change(ch);
                    m += 1;
                    k += usize::from(ch.head.id == old);
                }
                _ => {
                    out.copy(seg, k);
                    k += 1;
                }
            }
        }
        if out.len() > 0 {
            out.shrink();
            self.segments.push(Arc::new(out));
        }
    }

    /// The filter resolved against this site's dictionaries.
    pub(crate) fn selector(&self, w: &Wanted) -> Selector {
        let coded = |dict: &Dict, v: Option<&str>| v.map(|v| dict.find(v).unwrap_or(NONE));
        let f = &w.filter;
        // Countries are stored upper-cased, referrer domains lower-cased.
        let country = f.country.as_ref().map(|c| c.to_ascii_uppercase());
        let referrer = f.referrer_domain.as_ref().map(|r| r.to_ascii_lowercase());
        Selector {
            from: f.from,
            to: f.to,
            channel: coded(&self.channel, f.channel.as_deref()),
            device: coded(&self.device, f.device.as_deref()),
            country: coded(&self.country, country.as_deref()),
            referrer: coded(&self.referrer, referrer.as_deref()),
            entry: w.entry_page.map(|p| p.unwrap_or(NONE)),
            include_bots: f.include_bots,
        }
    }

    /// The dictionaries, in the order a snapshot keeps them.
    pub(super) fn dicts(&self) -> [&Dict; 7] {
        [
            &self.channel,
            &self.device,
            &self.country,
            &self.referrer,
            &self.campaign,
            &self.event,
            &self.props,
        ]
    }

    /// Sessions held.
    pub(crate) fn sessions(&self) -> usize {
        self.segments.iter().map(|s| s.len()).sum()
    }

    /// Distinct visitors held (the bound of their codes).
    pub(crate) fn visitor_count(&self) -> usize {
        self.visitors.len()
    }

    /// The names a report's codes stand for: events, their properties,
    /// and the values of the dimension `group` (none for the entry page,
    /// whose codes are cleaned page ids).
    pub(crate) fn vocabulary(&self, group: Option<Dimension>) -> Vocabulary {
        let groups = match group {
            Some(Dimension::Channel) => self.channel.names(),
            Some(Dimension::Device) => self.device.names(),
            Some(Dimension::Country) => self.country.names(),
            Some(Dimension::Referrer) => self.referrer.names(),
            Some(Dimension::UtmCampaign) => self.campaign.names(),
            Some(Dimension::EntryPage) | None => Vec::new(),
        };
        Vocabulary {
            events: self.event.names(),
            props: self.props.names(),
            groups,
        }
    }

    /// The channel, device and country names by code.
    pub(crate) fn names(&self) -> super::overview::Names {
        super::overview::Names {
            channel: self.channel.names(),
            device: self.device.names(),
            country: self.country.names(),
        }
    }

    /// The segments as they are now, shared.
    pub(crate) fn snapshot(&self) -> Vec<Arc<Segment>> {
        self.segments.clone()
    }
}

/// How a segment's admitted sessions are walked into journeys: pages
/// cleaned through `clean` (by raw id) and, with `collapse`, repeats
/// merged; each journey's group the value of `group`; only the visitors
/// `visitors` keeps; custom events as page views from `event_pages` on.
#[derive(Debug, Clone, Copy)]
struct Walk<'a> {
    clean: &'a [PageId],
    collapse: bool,
    group: Option<Dimension>,
    visitors: Option<&'a VisitorFilter>,
    event_pages: Option<PageId>,
}

/// Which visitors' journeys a walk keeps: those in `bits`, or those not.
#[derive(Debug, Clone)]
pub(crate) struct VisitorFilter {
    pub bits: Arc<Vec<u64>>,
    pub keep_in: bool,
}

impl VisitorFilter {
    fn keeps(&self, code: u32) -> bool {
        let inside = self
            .bits
            .get(code as usize / 64)
            .is_some_and(|w| w >> (code % 64) & 1 == 1);
        inside == self.keep_in
    }
}

/// What the codes in a report's journeys stand for, as of its selection.
#[derive(Debug, Clone, Default)]
pub(crate) struct Vocabulary {
    /// Custom events' names by code ([`crate::mine::JourneyMark::name`]).
    pub events: Vec<Box<str>>,
    /// Their properties apart from revenue, as JSON objects, by code.
    pub props: Vec<Box<str>>,
    /// The breakdown's values by code ([`crate::mine::JourneyRef::group`]).
    pub groups: Vec<Box<str>>,
}

/// The start of each session of `ids` (ascending) that `sel` admits in
/// `segments`; `None` for one it does not admit or they do not hold. A walk
/// down both lists: a heatmap's sessions are looked up, not every session
/// of the site tested.
pub(crate) fn admitted_starts(
    segments: &[Arc<Segment>],
    sel: &Selector,
    ids: &[i64],
) -> Vec<Option<Millis>> {
    let mut out = Vec::with_capacity(ids.len());
    let mut s = 0;
    for &id in ids {
        while segments.get(s).is_some_and(|seg| seg.last_id() < id) {
            s += 1;
        }
        let held = segments.get(s).and_then(|seg| {
            let ids: &[i64] = &seg.ids;
            let k = ids.binary_search(&id).ok()?;
            Some((seg.starts[k], seg.dims[k]))
        });
        out.push(
            held.filter(|(start, dims)| sel.admits(*start, dims))
                .map(|(start, _)| start),
        );
    }
    out
}

/// The sessions a report asked for: the site's segments as they were when
/// it asked, and which of their sessions its filter admits.
#[derive(Debug, Default)]
pub(crate) struct Selection {
    pub(super) segments: Vec<Arc<Segment>>,
    /// Per segment: one bit per admitted session (with or without page
    /// views), and how many of those have page views.
    pub(super) admitted: Vec<(Vec<u64>, usize)>,
    count: usize,
}

impl Selection {
    pub(crate) fn new(segments: Vec<Arc<Segment>>, sel: &Selector) -> Selection {
        let admitted: Vec<(Vec<u64>, usize)> = segments.iter().map(|s| s.admitted(sel)).collect();
        let count = admitted.iter().map(|(_, n)| n).sum();
        Selection {
            segments,
            admitted,
            count,
        }
    }

    /// Journeys admitted (sessions with page views).
    pub(crate) fn len(&self) -> usize {
        self.count
    }

    /// Segments with at least one journey admitted.
    pub(crate) fn segments_with_journeys(&self) -> usize {
        self.admitted.iter().filter(|(_, n)| *n > 0).count()
    }

    /// The admitted sessions' journeys, a segment at a time, cleaned
    /// through `clean` and, with `collapse`, with repeats merged.
    pub(crate) fn journeys<'a>(
        &'a self,
        clean: &'a [PageId],
        collapse: bool,
        group: Option<Dimension>,
        visitors: Option<&'a VisitorFilter>,
        event_pages: Option<PageId>,
    ) -> impl Iterator<Item = Journeys> + 'a {
        self.segments
            .iter()
            .zip(&self.admitted)
            .filter(|(_, (_, n))| *n > 0)
            .map(move |(seg, (bits, n))| {
                let walk = Walk {
                    clean,
                    collapse,
                    group,
                    visitors,
                    event_pages,
                };
                seg.journeys(bits, *n, &walk)
            })
    }

    /// The visitors (by code, one bit each, below `bound`) with more than
    /// one admitted journey, and how many journeys those have.
    pub(crate) fn visitors_with_several(&self, bound: usize) -> (Vec<u64>, usize) {
        let mut seen = vec![0u16; bound];
        for (seg, (bits, _)) in self.segments.iter().zip(&self.admitted) {
            let (visitors, offsets): (&[u32], &[u32]) = (&seg.visitors, &seg.offsets);
            for (w, word) in bits.iter().enumerate() {
                let mut word = *word;
                while word != 0 {
                    let k = w * 64 + word.trailing_zeros() as usize;
                    word &= word - 1;
                    if offsets[k + 1] > offsets[k] {
                        if let Some(n) = seen.get_mut(visitors[k] as usize) {
                            *n = n.saturating_add(1);
                        }
                    }
                }
            }
        }
        let mut several = vec![0u64; bound.div_ceil(64)];
        let mut journeys = 0;
        for (code, n) in seen.iter().enumerate().filter(|(_, n)| **n > 1) {
            several[code / 64] |= 1 << (code % 64);
            journeys += usize::from(*n);
        }
        // (A visitor past 65,535 journeys in one selection, a bot at most,
        // would count 65,535 here.)
        (several, journeys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(
        site: &mut SiteJourneys,
        id: i64,
        start: Millis,
        pages: &[u32],
        channel: &str,
    ) -> Option<Change> {
        let p: Vec<u8> = pages.iter().flat_map(|p| p.to_le_bytes()).collect();
        let t: Vec<u8> = (0..pages.len() as u32)
            .flat_map(|i| (i * 1000).to_le_bytes())
            .collect();
        site.take(&JourneyRow {
            id,
            site_id: 1,
            visitor: id % 7,
            start,
            end: start + 5000,
            pages: &p,
            times: &t,
            signals: &[],
            channel,
            device: "desktop",
            country: None,
            referrer_domain: None,
            entry_page: None,
            is_bot: false,
            utm_campaign: None,
            marks: "",
        })
    }

    fn sessions(site: &SiteJourneys, wanted: &Wanted) -> Vec<(i64, Vec<u32>)> {
        let clean: Vec<PageId> = (0..10).collect();
        let sel = Selection::new(site.snapshot(), &site.selector(wanted));
        let mut v = Vec::new();
        for block in sel.journeys(&clean, true, None, None, None) {
            v.extend(block.iter().map(|j| (j.session_id, j.pages.to_vec())));
        }
        assert_eq!(v.len(), sel.len());
        v
    }

    fn take_marked(site: &mut SiteJourneys, id: i64, pages: &[u32], marks: &str) -> Option<Change> {
        let p: Vec<u8> = pages.iter().flat_map(|p| p.to_le_bytes()).collect();
        site.take(&JourneyRow {
            id,
            site_id: 1,
            visitor: id,
            start: 0,
            end: 5000,
            pages: &p,
            times: &[],
            signals: &[],
            channel: "direct",
            device: "desktop",
            country: None,
            referrer_domain: None,
            entry_page: None,
            is_bot: false,
            utm_campaign: None,
            marks,
        })
    }

    #[test]
    fn custom_events_follow_their_sessions_through_changes_and_collapsed_repeats() {
        let mut site = SiteJourneys::default();
        let cart = r#"[[2,100,"add_to_cart",{"sku":"b1"}],[3,200,"purchase",{"revenue":89.5,"currency":"EUR"}]]"#;
        for id in 1..=(2 * SEGMENT as i64) {
            let marks = if id % 3 == 0 { cart } else { "" };
            assert!(take_marked(&mut site, id, &[1, 1, 2], marks).is_none());
        }
        // Session 5 gains its events in a later batch; 6 loses them (a
        // repaired row): both are rewritten in their segment.
        let changes = vec![
            take_marked(&mut site, 5, &[1, 1, 2, 3], cart).unwrap(),
            take_marked(&mut site, 6, &[1, 2], "").unwrap(),
        ];
        site.merge(changes);
        let clean: Vec<PageId> = (0..10).collect();
        let sel = Selection::new(site.snapshot(), &site.selector(&Wanted::default()));
        let mut marked = Vec::new();
        for block in sel.journeys(&clean, true, None, None, None) {
            for j in block.iter() {
                if !j.marks.is_empty() {
                    let names: Vec<&str> = j
                        .marks
                        .iter()
                        .map(|m| &*site.event.names[m.name as usize])
                        .collect();
                    let after: Vec<u32> = j.marks.iter().map(|m| m.after).collect();
                    assert_eq!(names, ["add_to_cart", "purchase"]);
                    // Raw views 1 1 2 collapse to 1 2: "after two raw views"
                    // is after the first kept one.
                    assert_eq!(after, [1, 2], "session {}", j.session_id);
                    assert_eq!(j.marks[1].revenue_milli, 89_500);
                    assert_eq!(j.marks[0].revenue_milli, NO_REVENUE);
                    assert_eq!(
                        &*site.props.names[j.marks[1].props as usize],
                        r#"{"currency":"EUR"}"#
                    );
                    marked.push(j.session_id);
                }
            }
        }
        let mut expected: Vec<i64> = (1..=(2 * SEGMENT as i64))
            .filter(|i| i % 3 == 0 && *i != 6)
            .collect();
        expected.push(5);
        expected.sort();
        assert_eq!(marked, expected);
    }

    #[test]
    fn changes_rewrite_their_segments_and_keep_every_session_once_in_order() {
        let mut site = SiteJourneys::default();
        let n = 3 * SEGMENT as i64 + 101;
        // Odd ids first, in order: all appended.
        for id in (1..=n).filter(|i| i % 2 == 1) {
            assert!(apply(&mut site, id, id, &[1, 2], "direct").is_none());
        }
        let held = Selection::new(site.snapshot(), &site.selector(&Wanted::default()));
        // Then every session again (the odd ones changed, the even ones
        // late): all go to the merge.
        let changes: Vec<Change> = (1..=n)
            .map(|id| apply(&mut site, id, id, &[3], "search").expect("behind the end"))
            .collect();
        site.merge(changes);
        assert_eq!(site.sessions(), n as usize);
        let all = sessions(&site, &Wanted::default());
        assert_eq!(
            all.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
            (1..=n).collect::<Vec<_>>()
        );
        assert!(all.iter().all(|(_, p)| p == &[3]));
        assert!(site.segments.iter().all(|s| s.len() <= SEGMENT));
        // What a report took before the change is as it was.
        assert_eq!(held.len(), (n as usize).div_ceil(2));
        let clean: Vec<PageId> = (0..10).collect();
        assert!(held
            .journeys(&clean, true, None, None, None)
            .all(|b| b.iter().all(|j| j.pages == [1, 2])));

        let search = Wanted::only(JourneyFilter {
            channel: Some("search".into()),
            ..JourneyFilter::default()
        });
        assert_eq!(sessions(&site, &search).len(), n as usize);
        let nowhere = Wanted::only(JourneyFilter {
            channel: Some("nowhere".into()),
            ..JourneyFilter::default()
        });
        assert_eq!(sessions(&site, &nowhere).len(), 0);
        let window = Wanted::only(JourneyFilter {
            from: Some(100),
            to: Some(200),
            ..JourneyFilter::default()
        });
        assert_eq!(sessions(&site, &window).len(), 100);
    }
}
