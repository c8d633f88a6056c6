//! Top-k by start or duration without reading the sort key of every hit.
//!
//! tantivy's `TopDocs::order_by_fast_field` reads the sort value of every
//! hit. With a million sessions and a broad query that is 10-40 ms where
//! counting the same hits takes 0-5 ms, and `Newest` is the worst case: the
//! store feeds sessions in time order, so hits arrive in ascending start
//! order and every one of them enters the top-k buffer (each is newer than
//! all before it), which then keeps being truncated.
//!
//! So we count first (tantivy counts without collecting; a lone term
//! query from the posting list's length), and when there are many hits,
//! search a window: the query AND `sort key >= cut`, the cut taken from a
//! sample of the index's values so that the window should hold several
//! times `offset + limit` hits. If it does, its top-k is exactly the top-k
//! of the whole query: everything outside the window ranks below everything
//! inside, and ties inside break the same way (by document address). If it
//! holds too few, widen once by the shortfall; if it holds none (the hits
//! are old, or short), or still too few, fall back to the plain search.
//!
//! The two windows are cheap in different ways: `start_ms` follows
//! document order, so a fast-field range on it is a cheap scan (0.3-0.5 ms
//! over a million sessions in the benchmark); `duration_s` is random in
//! document order, so its window comes from the inverted index instead (a
//! bitset of the few long sessions).

use std::ops::Bound;

use tantivy::collector::sort_key::SortByStaticFastValue;
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{BooleanQuery, InvertedIndexRangeQuery, Occur, Query, RangeQuery};
use tantivy::{DocAddress, Order, Searcher, Term};

use super::schema::{Fields, DURATION_S, START_MS};
use super::{SearchError, Sort};

/// Below this many hits the plain collector is fast enough.
pub(crate) const PLAIN_BELOW: usize = 20_000;
/// How many times `offset + limit` hits a window aims for.
const WINDOW_SAFETY: f64 = 8.0;
/// Windows tried before the plain search.
const WINDOW_TRIES: usize = 2;
/// Every how many documents the sample takes a value.
const SAMPLE_STRIDE: usize = 64;

/// Sorted samples of the sort keys, for choosing window cuts. Built once per
/// searcher generation (that is, per commit).
pub(crate) struct Samples {
    generation: u64,
    start_ms: Vec<i64>,
    duration_s: Vec<u64>,
}

impl Samples {
    pub(crate) fn build(searcher: &Searcher) -> Result<Samples, SearchError> {
        let mut start_ms = Vec::new();
        let mut duration_s = Vec::new();
        for segment in searcher.segment_readers() {
            let starts = segment.fast_fields().i64(START_MS)?;
            let durations = segment.fast_fields().u64(DURATION_S)?;
            for doc in (0..segment.max_doc()).step_by(SAMPLE_STRIDE) {
                if segment.is_deleted(doc) {
                    continue;
                }
                start_ms.extend(starts.first(doc));
                duration_s.extend(durations.first(doc));
            }
        }
        start_ms.sort_unstable();
        duration_s.sort_unstable();
        Ok(Samples {
            generation: searcher.generation().generation_id(),
            start_ms,
            duration_s,
        })
    }

    pub(crate) fn generation(&self) -> u64 {
        self.generation
    }
}

/// The value below which a fraction `top` of the sorted sample lies above.
fn cut<T: Copy>(sorted: &[T], top: f64) -> Option<T> {
    let last = sorted.len().checked_sub(1)?;
    let at = ((1.0 - top) * last as f64).floor() as usize;
    sorted.get(at.min(last)).copied()
}

/// The hits ranked `offset..offset + limit` of `q`, which has `total` hits.
#[allow(clippy::too_many_arguments)]
pub(crate) fn top(
    searcher: &Searcher,
    f: &Fields,
    samples: &Samples,
    q: &dyn Query,
    sort: Sort,
    offset: usize,
    limit: usize,
    total: usize,
    plain_below: usize,
) -> Result<Vec<DocAddress>, SearchError> {
    let need = offset.saturating_add(limit);
    if total > plain_below && total > need {
        let mut wanted = need as f64 * WINDOW_SAFETY;
        for _ in 0..WINDOW_TRIES {
            let top = wanted / total as f64;
            if top >= 0.5 {
                break;
            }
            let Some(window) = window(f, samples, sort, top) else {
                break;
            };
            let windowed =
                BooleanQuery::new(vec![(Occur::Must, q.box_clone()), (Occur::Must, window)]);
            let (in_window, hits) = collect(searcher, &windowed, sort, offset, limit)?;
            if in_window >= need {
                #[cfg(test)]
                counters::WINDOWED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                return Ok(hits);
            }
            // No hit at all in the window: the hits are elsewhere (old
            // sessions, short ones), and widening would only cost passes.
            if in_window == 0 {
                break;
            }
            // Widen as far as the shortfall suggests, with the same margin.
            wanted *= (need as f64 / in_window as f64) * WINDOW_SAFETY;
        }
        #[cfg(test)]
        counters::FELL_BACK.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    Ok(collect(searcher, q, sort, offset, limit)?.1)
}

/// The documents whose sort key is in the top fraction `top` of the sample.
fn window(f: &Fields, samples: &Samples, sort: Sort, top: f64) -> Option<Box<dyn Query>> {
    Some(match sort {
        Sort::Newest => Box::new(RangeQuery::new(
            Bound::Included(Term::from_field_i64(
                f.start_ms,
                cut(&samples.start_ms, top)?,
            )),
            Bound::Unbounded,
        )),
        Sort::Longest => Box::new(InvertedIndexRangeQuery::new(
            Bound::Included(Term::from_field_u64(
                f.duration_s,
                cut(&samples.duration_s, top)?,
            )),
            Bound::Unbounded,
        )),
    })
}

/// tantivy's own top-k, and the number of hits it saw.
fn collect(
    searcher: &Searcher,
    q: &dyn Query,
    sort: Sort,
    offset: usize,
    limit: usize,
) -> Result<(usize, Vec<DocAddress>), SearchError> {
    let top = TopDocs::with_limit(limit).and_offset(offset);
    Ok(match sort {
        Sort::Newest => {
            let by_start = top.order_by_fast_field::<i64>(START_MS, Order::Desc);
            let (n, hits) = searcher.search(q, &(Count, by_start))?;
            (n, hits.into_iter().map(|(_, a)| a).collect())
        }
        Sort::Longest => {
            let by_duration_then_start = top.order_by((
                (
                    SortByStaticFastValue::<u64>::for_field(DURATION_S),
                    Order::Desc,
                ),
                (
                    SortByStaticFastValue::<i64>::for_field(START_MS),
                    Order::Desc,
                ),
            ));
            let (n, hits) = searcher.search(q, &(Count, by_duration_then_start))?;
            (n, hits.into_iter().map(|(_, a)| a).collect())
        }
    })
}

/// How often windows answered and how often they fell back (for tests).
#[cfg(test)]
pub(crate) mod counters {
    use std::sync::atomic::AtomicUsize;
    pub(crate) static WINDOWED: AtomicUsize = AtomicUsize::new(0);
    pub(crate) static FELL_BACK: AtomicUsize = AtomicUsize::new(0);
}

#[cfg(test)]
mod tests {
    use super::cut;

    #[test]
    fn cuts_come_from_the_top_of_the_sample() {
        let v: Vec<u64> = (0..=100).collect();
        assert_eq!(cut(&v, 0.1), Some(90));
        assert_eq!(cut(&v, 0.0), Some(100));
        assert_eq!(cut(&v, 1.0), Some(0));
        assert_eq!(cut::<u64>(&[], 0.1), None);
    }
}
