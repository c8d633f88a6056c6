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
pub(crate) mod clean;
pub(crate) mod flow;
pub(crate) mod frustration;
pub(crate) mod funnel;
pub(crate) mod graph;
pub(crate) mod paths;
pub(crate) mod patterns;
pub(crate) mod stages;

use crate::event::{Millis, PageSignals};

/// An interned, cleaned page.
pub(crate) type PageId = u32;

/// One session as mining sees it. `pages`, `times` and `signals` have the
/// same length: one entry per page view, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Journey {
    pub session_id: i64,
    pub pages: Vec<PageId>,
    /// When each page view happened (ms since the epoch).
    pub times: Vec<Millis>,
    pub signals: Vec<PageSignals>,
}

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
        }
    }

    /// Collapses consecutive repeats of a page (A A B → A B), keeping the
    /// first view's time and adding up the signals.
    pub(crate) fn collapse_repeats(mut self) -> Journey {
        let mut w = 0;
        for r in 0..self.pages.len() {
            if w > 0 && self.pages[w - 1] == self.pages[r] {
                let s = self.signals[r];
                let kept = &mut self.signals[w - 1];
                kept.rage_clicks = kept.rage_clicks.saturating_add(s.rage_clicks);
                kept.dead_clicks = kept.dead_clicks.saturating_add(s.dead_clicks);
                kept.error |= s.error;
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

    pub(crate) struct Rng(pub u64);

    impl Rng {
        /// The next number below `n`.
        pub(crate) fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n
        }
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
