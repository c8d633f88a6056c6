//! A site's overview (the headline figures, the top entry and exit pages,
//! channels, countries and devices, and the sessions over time) counted in
//! one pass over the engine's columns, where the store needed seven scans
//! of the wide sessions table. The figures are the store's to the last
//! digit ([`crate::store::read::overview`] is what the tests hold them
//! against), ties broken by name as its `ORDER BY n DESC, name` does.

use super::site::{wide, Selection, NONE};
use crate::event::Millis;
use crate::store::read::{self, Bucket, Counted, Overview};
use rustc_hash::FxHashMap;

/// The strings behind a site's dictionary codes.
#[derive(Debug, Clone, Default)]
pub(crate) struct Names {
    pub channel: Vec<Box<str>>,
    pub device: Vec<Box<str>>,
    pub country: Vec<Box<str>>,
}

const HOUR: Millis = 3_600_000;

/// The overview of `sel`; `visitors` bounds the visitor codes, `pages` are
/// the site's raw pages (id, path), `from` and `to` the filter's window.
/// `None` when a selected session is too long for the engine's duration
/// column: the store then answers.
pub(crate) fn overview(
    sel: &Selection,
    names: &Names,
    visitors: usize,
    pages: &[(u32, String)],
    (from, to): (Option<Millis>, Option<Millis>),
    top: usize,
    bucket: Option<Millis>,
) -> Option<Overview> {
    let page_bound = pages
        .iter()
        .map(|(id, _)| *id as usize + 1)
        .max()
        .unwrap_or(0);
    let mut entries = vec![0u64; page_bound];
    let mut exits = vec![0u64; page_bound];
    let mut channels = vec![0u64; names.channel.len()];
    let mut devices = vec![0u64; names.device.len()];
    let mut countries = vec![0u64; names.country.len()];
    let mut seen = vec![0u64; visitors.div_ceil(64)];
    let (mut sessions, mut page_views, mut bounces, mut duration) = (0u64, 0u64, 0u64, 0u64);
    let (mut first, mut last) = (Millis::MAX, Millis::MIN);
    // Hourly counts (sessions, page views); days are sums of hours.
    let mut hours: FxHashMap<Millis, (u64, u64)> = FxHashMap::default();
    let mut hour = (Millis::MIN, 0u64, 0u64);
    let count = |slot: &mut Vec<u64>, code: u32| {
        if code != NONE {
            if let Some(n) = slot.get_mut(code as usize) {
                *n += 1;
            }
        }
    };
    for (seg, (bits, _)) in sel.segments.iter().zip(&sel.admitted) {
        // The columns as slices once, not through `Column` at every session.
        let (offsets, pages, starts): (&[u32], &[u32], &[Millis]) =
            (&seg.offsets, &seg.pages, &seg.starts);
        let (durations, visitor_codes): (&[u32], &[u32]) = (&seg.durations, &seg.visitors);
        for (w, word) in bits.iter().enumerate() {
            let mut word = *word;
            while word != 0 {
                let k = w * 64 + word.trailing_zeros() as usize;
                word &= word - 1;
                let views = (offsets[k + 1] - offsets[k]) as u64;
                let d = seg.dims[k];
                let start = starts[k];
                if durations[k] == u32::MAX {
                    return None;
                }
                sessions += 1;
                page_views += views;
                bounces += u64::from(views == 1);
                duration += u64::from(durations[k]);
                first = first.min(start);
                last = last.max(start);
                let v = visitor_codes[k] as usize;
                seen[v / 64] |= 1 << (v % 64);
                if views > 0 {
                    count(&mut entries, pages[offsets[k] as usize]);
                    count(&mut exits, pages[offsets[k + 1] as usize - 1]);
                }
                count(&mut channels, wide(d.channel));
                count(&mut devices, wide(d.device));
                count(&mut countries, wide(d.country));
                // Sessions come roughly in time order: most fall in the
                // hour of the one before.
                let h = start / HOUR * HOUR;
                if h != hour.0 {
                    if hour.1 > 0 {
                        let e = hours.entry(hour.0).or_default();
                        e.0 += hour.1;
                        e.1 += hour.2;
                    }
                    hour = (h, 0, 0);
                }
                hour.1 += 1;
                hour.2 += views;
            }
        }
    }
    if hour.1 > 0 {
        let e = hours.entry(hour.0).or_default();
        e.0 += hour.1;
        e.1 += hour.2;
    }
    let (first, last) = (sessions > 0).then_some((first, last)).unzip();
    let span = to.or(last).unwrap_or(0) - from.or(first).unwrap_or(0);
    let bucket_ms = read::series_bucket(span, bucket);
    let mut buckets: FxHashMap<Millis, (u64, u64)> = FxHashMap::default();
    for (h, (s, v)) in hours {
        // Integer division truncates toward zero, in SQL as here.
        let e = buckets.entry(h / bucket_ms * bucket_ms).or_default();
        e.0 += s;
        e.1 += v;
    }
    let mut series: Vec<Bucket> = buckets
        .into_iter()
        .map(|(start, (sessions, page_views))| Bucket {
            start,
            sessions,
            page_views,
        })
        .collect();
    series.sort_by_key(|b| b.start);
    let mut page_names: Vec<Option<&str>> = vec![None; page_bound];
    for (id, path) in pages {
        page_names[*id as usize] = Some(path);
    }
    Some(Overview {
        sessions,
        visitors: seen.iter().map(|w| u64::from(w.count_ones())).sum(),
        page_views,
        bounce_rate: if sessions > 0 {
            bounces as f64 / sessions as f64
        } else {
            0.0
        },
        // As SQLite's AVG over integers: the exact sum, then one division.
        mean_duration_s: if sessions > 0 {
            duration as f64 / sessions as f64 / 1000.0
        } else {
            0.0
        },
        entry_pages: ranked(&entries, |k| page_names[k], top),
        exit_pages: ranked(&exits, |k| page_names[k], top),
        channels: ranked(&channels, |k| Some(&*names.channel[k]), top),
        countries: ranked(&countries, |k| Some(&*names.country[k]), top),
        devices: ranked(&devices, |k| Some(&*names.device[k]), top),
        bucket_ms,
        interval: read::interval_name(bucket_ms),
        series,
    })
}

/// The `top` most counted names, most first, then by name.
fn ranked<'a>(counts: &[u64], name: impl Fn(usize) -> Option<&'a str>, top: usize) -> Vec<Counted> {
    let mut rows: Vec<(u64, &str)> = counts
        .iter()
        .enumerate()
        .filter(|(_, n)| **n > 0)
        .filter_map(|(k, n)| Some((*n, name(k)?)))
        .collect();
    rows.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
    rows.truncate(top);
    rows.into_iter()
        .map(|(sessions, name)| Counted {
            name: name.to_string(),
            sessions,
        })
        .collect()
}
