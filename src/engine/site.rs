//! One site's sessions as the read engine holds them: flat columns in
//! session-id order (raw page ids, page times as offsets from the session's
//! start, signals only where there are any, and the dimensions reports
//! filter on, dictionary-coded), so that a report selects its sessions with
//! a scan over small integers instead of reading SQLite rows.
//!
//! Sessions change after they are first seen (an open session grows with
//! every batch). A change to a session at the end of the columns is an
//! append; a change to one further back marks its old entry dead and keeps
//! the new version among the `recent` ones, until a compaction folds them
//! back in (when they grow past a sixteenth of the site).

use crate::event::{Millis, PageSignals};
use crate::mine::{Journeys, PageId};
use crate::store::journeys::JourneyRow;
use rustc_hash::FxHashMap;
use std::collections::BTreeMap;

/// No value (a session without a country, an entry page or signals).
const NONE: u32 = u32::MAX;

/// Distinct strings of one column, coded as small integers.
#[derive(Debug, Default)]
struct Dict {
    codes: FxHashMap<Box<str>, u32>,
}

impl Dict {
    fn code(&mut self, value: Option<&str>) -> u32 {
        let Some(v) = value else { return NONE };
        if let Some(c) = self.codes.get(v) {
            return *c;
        }
        let c = self.codes.len() as u32;
        self.codes.insert(v.into(), c);
        c
    }

    /// The code of `value`, or `None` when no session has it.
    fn find(&self, value: &str) -> Option<u32> {
        self.codes.get(value).copied()
    }
}

/// One session's journey and dimensions, owned: a recent change.
#[derive(Debug, Clone, Default)]
struct Session {
    start: Millis,
    pages: Vec<u32>,
    times: Vec<u32>,
    /// Empty when every page view's signals are zero.
    signals: Vec<PageSignals>,
    dims: Dims,
}

/// What reports filter a session on, coded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Dims {
    channel: u32,
    device: u32,
    country: u32,
    referrer: u32,
    entry: u32,
    bot: bool,
}

/// A report's filter, resolved against the dictionaries: `None` in a field
/// means any value, `Some(NONE)` a value no session has.
#[derive(Debug, Clone, Default)]
pub(crate) struct Selector {
    pub from: Option<Millis>,
    pub to: Option<Millis>,
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
            && is(self.channel, d.channel)
            && is(self.device, d.device)
            && is(self.country, d.country)
            && is(self.referrer, d.referrer)
            && is(self.entry, d.entry)
    }
}

/// What a report asks for, as strings (the store's filter).
#[derive(Debug, Clone, Default)]
pub(crate) struct Wanted<'a> {
    pub from: Option<Millis>,
    pub to: Option<Millis>,
    pub channel: Option<&'a str>,
    pub device: Option<&'a str>,
    /// Upper-cased already (countries are stored so).
    pub country: Option<&'a str>,
    /// Lower-cased already.
    pub referrer_domain: Option<&'a str>,
    /// The raw id of the entry page asked for; `Some(None)`: a path no page has.
    pub entry_page: Option<Option<u32>>,
    pub include_bots: bool,
}

/// A site's sessions in flat columns.
#[derive(Debug, Default)]
pub(crate) struct SiteJourneys {
    ids: Vec<i64>,
    starts: Vec<Millis>,
    /// Where each session's page views start in `pages` and `times`, and
    /// one past the last.
    offsets: Vec<u32>,
    pages: Vec<u32>,
    times: Vec<u32>,
    /// Where each session's signals start in `signals`, or [`NONE`].
    signal_at: Vec<u32>,
    signals: Vec<PageSignals>,
    dims: Vec<Dims>,
    /// Entries superseded by a newer version in `recent`.
    dead: Vec<bool>,
    dead_count: usize,
    /// Newer versions of sessions further back than the end, by id.
    recent: BTreeMap<i64, Session>,
    channel: Dict,
    device: Dict,
    country: Dict,
    referrer: Dict,
}

impl SiteJourneys {
    /// Sessions held (each counted once, whatever its versions).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.ids.len() - self.dead_count + self.recent.len()
    }

    /// Takes a session's current row, new or changed.
    pub(crate) fn apply(&mut self, row: &JourneyRow<'_>) {
        let session = self.decode(row);
        match self.ids.last() {
            Some(last) if row.id <= *last => {}
            _ => return self.append(row.id, &session),
        }
        if let Ok(k) = self.ids.binary_search(&row.id) {
            if !self.dead[k] {
                self.dead[k] = true;
                self.dead_count += 1;
            }
        }
        self.recent.insert(row.id, session);
        if self.recent.len() > 4096 && self.recent.len() > self.ids.len() / 16 {
            self.compact();
        }
    }

    fn decode(&mut self, row: &JourneyRow<'_>) -> Session {
        let pages: Vec<u32> = row
            .pages
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let mut times: Vec<u32> = row
            .times
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        // Sessions written before page times existed: as the store's
        // reader fills them in.
        times.resize(pages.len(), times.last().copied().unwrap_or(0));
        let mut signals = crate::event::unpack_signals(row.signals);
        signals.resize(pages.len(), PageSignals::default());
        if signals.iter().all(|s| *s == PageSignals::default()) {
            signals.clear();
        }
        Session {
            start: row.start,
            pages,
            times,
            signals,
            dims: Dims {
                channel: self.channel.code(Some(row.channel)),
                device: self.device.code(Some(row.device)),
                country: self.country.code(row.country),
                referrer: self.referrer.code(row.referrer_domain),
                entry: row.entry_page.unwrap_or(NONE),
                bot: row.is_bot,
            },
        }
    }

    fn append(&mut self, id: i64, s: &Session) {
        if self.offsets.is_empty() {
            self.offsets.push(0);
        }
        self.ids.push(id);
        self.starts.push(s.start);
        self.pages.extend_from_slice(&s.pages);
        self.times.extend_from_slice(&s.times);
        self.offsets.push(self.pages.len() as u32);
        if s.signals.is_empty() {
            self.signal_at.push(NONE);
        } else {
            self.signal_at.push(self.signals.len() as u32);
            self.signals.extend_from_slice(&s.signals);
        }
        self.dims.push(s.dims);
        self.dead.push(false);
    }

    /// Folds the recent versions back into the columns, in id order.
    fn compact(&mut self) {
        let mut old = std::mem::take(self);
        self.channel = std::mem::take(&mut old.channel);
        self.device = std::mem::take(&mut old.device);
        self.country = std::mem::take(&mut old.country);
        self.referrer = std::mem::take(&mut old.referrer);
        let mut recent = std::mem::take(&mut old.recent).into_iter().peekable();
        for k in 0..old.ids.len() {
            let id = old.ids[k];
            while let Some((rid, s)) = recent.next_if(|(rid, _)| *rid < id) {
                self.append(rid, &s);
            }
            if !old.dead[k] {
                self.append(id, &old.session(k));
            }
        }
        for (rid, s) in recent {
            self.append(rid, &s);
        }
    }

    /// Entry `k` of the columns, owned.
    fn session(&self, k: usize) -> Session {
        let (a, b) = (self.offsets[k] as usize, self.offsets[k + 1] as usize);
        let signals = match self.signal_at[k] {
            NONE => Vec::new(),
            at => self.signals[at as usize..at as usize + (b - a)].to_vec(),
        };
        Session {
            start: self.starts[k],
            pages: self.pages[a..b].to_vec(),
            times: self.times[a..b].to_vec(),
            signals,
            dims: self.dims[k],
        }
    }

    /// The filter resolved against this site's dictionaries.
    pub(crate) fn selector(&self, w: &Wanted<'_>) -> Selector {
        let coded = |dict: &Dict, v: Option<&str>| v.map(|v| dict.find(v).unwrap_or(NONE));
        Selector {
            from: w.from,
            to: w.to,
            channel: coded(&self.channel, w.channel),
            device: coded(&self.device, w.device),
            country: coded(&self.country, w.country),
            referrer: coded(&self.referrer, w.referrer_domain),
            entry: w.entry_page.map(|p| p.unwrap_or(NONE)),
            include_bots: w.include_bots,
        }
    }

    /// The journeys `sel` admits, their pages cleaned through `clean`
    /// (indexed by raw page id; a page past its end cleans to 0) and, with
    /// `collapse`, consecutive repeats merged.
    pub(crate) fn journeys(&self, sel: &Selector, clean: &[PageId], collapse: bool) -> Journeys {
        let cleaned = |raw: u32| clean.get(raw as usize).copied().unwrap_or(0);
        let mut out = Journeys::with_capacity(0, 0);
        let mut add =
            |id: i64, start: Millis, pages: &[u32], times: &[u32], signals: &[PageSignals]| {
                out.begin(id);
                for i in 0..pages.len() {
                    let s = signals.get(i).copied().unwrap_or_default();
                    out.view(cleaned(pages[i]), start + times[i] as Millis, s, collapse);
                }
                out.end();
            };
        for k in 0..self.ids.len() {
            if self.dead[k] || !sel.admits(self.starts[k], &self.dims[k]) {
                continue;
            }
            let (a, b) = (self.offsets[k] as usize, self.offsets[k + 1] as usize);
            let signals = match self.signal_at[k] {
                NONE => &[][..],
                at => &self.signals[at as usize..at as usize + (b - a)],
            };
            add(
                self.ids[k],
                self.starts[k],
                &self.pages[a..b],
                &self.times[a..b],
                signals,
            );
        }
        for (id, s) in &self.recent {
            if sel.admits(s.start, &s.dims) {
                add(*id, s.start, &s.pages, &s.times, &s.signals);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mine::JourneySet;

    fn row(
        id: i64,
        start: Millis,
        pages: &[u32],
        channel: &str,
    ) -> (Vec<u8>, Vec<u8>, i64, Millis, String) {
        let p: Vec<u8> = pages.iter().flat_map(|p| p.to_le_bytes()).collect();
        let t: Vec<u8> = (0..pages.len() as u32)
            .flat_map(|i| (i * 1000).to_le_bytes())
            .collect();
        (p, t, id, start, channel.to_string())
    }

    fn apply(site: &mut SiteJourneys, r: &(Vec<u8>, Vec<u8>, i64, Millis, String)) {
        site.apply(&JourneyRow {
            id: r.2,
            site_id: 1,
            start: r.3,
            pages: &r.0,
            times: &r.1,
            signals: &[],
            channel: &r.4,
            device: "desktop",
            country: None,
            referrer_domain: None,
            entry_page: None,
            is_bot: false,
        });
    }

    fn ids(j: &Journeys) -> Vec<(i64, Vec<u32>)> {
        let mut v: Vec<_> = j.iter().map(|j| (j.session_id, j.pages.to_vec())).collect();
        v.sort();
        v
    }

    #[test]
    fn changes_supersede_and_compaction_keeps_every_session_once() {
        let mut site = SiteJourneys::default();
        let clean: Vec<PageId> = (0..10).collect();
        for id in 1..=5000 {
            apply(&mut site, &row(id, id, &[1, 2], "direct"));
        }
        // Every old session changes: they go to `recent`, then compact.
        for id in 1..=5000 {
            apply(&mut site, &row(id, id, &[3], "search"));
        }
        assert_eq!(site.len(), 5000);
        let all = site.journeys(&site.selector(&Wanted::default()), &clean, true);
        assert_eq!(all.len(), 5000);
        assert!(ids(&all).iter().all(|(_, p)| p == &[3]));
        let search = site.selector(&Wanted {
            channel: Some("search"),
            ..Wanted::default()
        });
        assert_eq!(site.journeys(&search, &clean, true).len(), 5000);
        let none = site.selector(&Wanted {
            channel: Some("nowhere"),
            ..Wanted::default()
        });
        assert_eq!(site.journeys(&none, &clean, true).len(), 0);
        let window = site.selector(&Wanted {
            from: Some(100),
            to: Some(200),
            ..Wanted::default()
        });
        assert_eq!(site.journeys(&window, &clean, true).len(), 100);
    }
}
