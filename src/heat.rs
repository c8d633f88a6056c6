//! Heatmap click mapping: recorded clicks and their layouts in, points to
//! draw out. Clicks from many screen sizes are mapped onto one layout.
//!
//! Heatmaps that smear on responsive pages are the top complaint about
//! other tools: a button at x=1000 on a 1280 px layout sits at x=1100 on a
//! 1440 px one, and plotting raw coordinates shows two half-hot spots in
//! the wrong places. Here the clicks of one viewport class are drawn on
//! the class's most common layout width (the *reference*), and a click
//! made at another width is moved to where its element is at the
//! reference: the tracker records the clicked element's CSS selector and
//! the click's offset inside its box, and the clicks on that selector at
//! the reference width tell where that element's box starts there. Only
//! clicks whose element was never clicked at the reference (or whose
//! selector is ambiguous) fall back to scaling x by the width ratio.
//!
//! A room of its own, between the vocabulary and the drawer: it reads
//! [`RecordedClick`]s (the store's clicks, as `event` defines them) and
//! produces the heatmap drawer's input (`render::input`), and touches no
//! journey, so it is not path mining. Pure and without I/O, like `mine`
//! and `render`.

use std::collections::HashMap;

use crate::event::{RecordedClick, ViewportClass};
use crate::render::input::{HeatPoint, HeatmapData};

/// What a heatmap counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Count {
    /// Every click weighs 1.
    Clicks,
    /// Unique sessions: the clicks of one session within one cell of
    /// [`SESSION_CELL_PX`] × [`SESSION_CELL_PX`] document px share a
    /// weight of 1, so a session weighs at most 1 per cell however often
    /// it clicked there (rage clicks do not make a spot look popular).
    Sessions,
}

/// Cell size for [`Count::Sessions`]: about the heat kernel's radius, so
/// "one session per cell" reads as "one session per blob".
pub(crate) const SESSION_CELL_PX: f64 = 24.0;

/// Coordinates beyond this are garbage (no page is 10 million px long).
const MAX_COORD_PX: f64 = 1e7;
/// Origins within this many px of their median agree on an element.
const ORIGIN_TOLERANCE_PX: f64 = 8.0;
/// Share of a selector's origins that must agree for it to be used.
const ORIGIN_AGREEMENT: f64 = 0.75;

/// How the clicks of a heatmap were placed on the reference layout, for
/// its caption.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Placement {
    /// Clicks of the class that were mapped.
    pub clicks: usize,
    /// Of those, made at another width and placed via their selector.
    pub remapped: usize,
    /// Of those, made at another width and placed by scaling x.
    pub approximated: usize,
}

/// Where one selector's element sits at the reference width.
struct Anchor {
    x: f64,
    y: f64,
    max_ox: f64,
    max_oy: f64,
}

/// Maps the clicks of viewport `class` onto one layout width, as the
/// heatmap drawer's input: `onto` when given (the width of the layout the
/// map is shown over), else the class's most common width. `width` is
/// that reference width (0 without clicks and without `onto`), `height`
/// the deepest mapped click + 1 px (the document height to use when the
/// page's height is not known otherwise), `points` every click and `marks`
/// the rage and dead ones (also in `points`), for the marker layer; the
/// title is left empty. Clicks with non-finite coordinates, or beyond
/// [`MAX_COORD_PX`], are skipped.
pub(crate) fn map_clicks(
    clicks: &[RecordedClick],
    class: ViewportClass,
    count: Count,
    onto: Option<u32>,
) -> (HeatmapData, Placement) {
    let layout_width = |c: &RecordedClick| if c.dw > 0 { c.dw } else { c.vw };
    let kept: Vec<&RecordedClick> = clicks
        .iter()
        .filter(|c| c.x.abs() <= MAX_COORD_PX && c.y.abs() <= MAX_COORD_PX && layout_width(c) > 0)
        .filter(|c| ViewportClass::of_width(if c.vw > 0 { c.vw } else { c.dw }) == class)
        .collect();
    let Some(reference) = onto
        .filter(|w| *w > 0)
        .or_else(|| most_common(kept.iter().map(|c| layout_width(c))))
    else {
        return (HeatmapData::default(), Placement::default());
    };
    let anchors = anchors(
        kept.iter()
            .copied()
            .filter(|c| layout_width(c) == reference),
    );

    let mut placement = Placement {
        clicks: kept.len(),
        ..Placement::default()
    };
    let mut placed: Vec<(&RecordedClick, f64, f64)> = Vec::with_capacity(kept.len());
    for c in kept {
        let dw = layout_width(c);
        let (x, y) = if dw == reference {
            (c.x, c.y)
        } else if let Some(a) = c
            .sel
            .as_deref()
            .and_then(|s| anchors.get(s))
            .filter(|_| c.ox.abs() <= MAX_COORD_PX && c.oy.abs() <= MAX_COORD_PX)
        {
            placement.remapped += 1;
            (
                a.x + c.ox.clamp(0.0, a.max_ox),
                a.y + c.oy.clamp(0.0, a.max_oy),
            )
        } else {
            placement.approximated += 1;
            (c.x * reference as f64 / dw as f64, c.y)
        };
        placed.push((c, x.clamp(0.0, reference as f64), y.max(0.0)));
    }
    let deepest = placed.iter().map(|p| p.2).fold(0.0, f64::max);
    let data = HeatmapData {
        width: reference,
        height: deepest.ceil() as u32 + 1,
        points: weigh(placed.iter().copied(), count),
        marks: weigh(
            placed.iter().copied().filter(|p| p.0.rage || p.0.dead),
            count,
        ),
        title: String::new(),
    };
    (data, placement)
}

/// The most common value; ties go to the larger (wider layouts show more).
fn most_common(values: impl Iterator<Item = u32>) -> Option<u32> {
    let mut counts: HashMap<u32, usize> = HashMap::new();
    for v in values {
        *counts.entry(v).or_default() += 1;
    }
    counts
        .into_iter()
        .max_by_key(|&(v, n)| (n, v))
        .map(|(v, _)| v)
}

/// Element origins per selector from the clicks at the reference width:
/// the median of (x − ox, y − oy). A selector whose origins disagree (it
/// matches several elements, like `ul > li > a`, or a sticky element that
/// moves with scrolling) is left out: moving clicks onto the median of
/// several elements would be worse than scaling.
fn anchors<'a>(
    reference_clicks: impl Iterator<Item = &'a RecordedClick>,
) -> HashMap<&'a str, Anchor> {
    let mut by_sel: HashMap<&str, Vec<(f64, f64, f64, f64)>> = HashMap::new();
    for c in reference_clicks {
        let Some(sel) = c.sel.as_deref() else {
            continue;
        };
        if (0.0..=MAX_COORD_PX).contains(&c.ox) && (0.0..=MAX_COORD_PX).contains(&c.oy) {
            by_sel
                .entry(sel)
                .or_default()
                .push((c.x - c.ox, c.y - c.oy, c.ox, c.oy));
        }
    }
    by_sel
        .into_iter()
        .filter_map(|(sel, v)| {
            let x = median(v.iter().map(|o| o.0))?;
            let y = median(v.iter().map(|o| o.1))?;
            let agree = v
                .iter()
                .filter(|o| {
                    (o.0 - x).abs() <= ORIGIN_TOLERANCE_PX && (o.1 - y).abs() <= ORIGIN_TOLERANCE_PX
                })
                .count();
            if (agree as f64) < ORIGIN_AGREEMENT * v.len() as f64 {
                return None;
            }
            let max_ox = v.iter().map(|o| o.2).fold(0.0, f64::max);
            let max_oy = v.iter().map(|o| o.3).fold(0.0, f64::max);
            Some((
                sel,
                Anchor {
                    x,
                    y,
                    max_ox,
                    max_oy,
                },
            ))
        })
        .collect()
}

fn median(values: impl Iterator<Item = f64>) -> Option<f64> {
    let mut v: Vec<f64> = values.collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    })
}

/// Heat points with weights for `count`.
fn weigh<'a>(
    placed: impl Iterator<Item = (&'a RecordedClick, f64, f64)> + Clone,
    count: Count,
) -> Vec<HeatPoint> {
    let cell = |x: f64, y: f64| ((x / SESSION_CELL_PX) as i64, (y / SESSION_CELL_PX) as i64);
    let mut per_cell: HashMap<(i64, (i64, i64)), u32> = HashMap::new();
    if count == Count::Sessions {
        for (c, x, y) in placed.clone() {
            *per_cell.entry((c.session_id, cell(x, y))).or_default() += 1;
        }
    }
    placed
        .map(|(c, x, y)| {
            let weight = match count {
                Count::Clicks => 1.0,
                Count::Sessions => {
                    1.0 / per_cell
                        .get(&(c.session_id, cell(x, y)))
                        .copied()
                        .unwrap_or(1) as f32
                }
            };
            HeatPoint {
                x: x as f32,
                y: y as f32,
                weight,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn click(
        session: i64,
        x: f64,
        y: f64,
        dw: u32,
        sel: Option<&str>,
        ox: f64,
        oy: f64,
    ) -> RecordedClick {
        RecordedClick {
            session_id: session,
            x,
            y,
            vw: dw,
            dw,
            sel: sel.map(Into::into),
            ox,
            oy,
            rage: false,
            dead: false,
        }
    }

    /// "#buy" is at (1000, 600) on the 1280 px layout and at (1100, 700)
    /// on the 1440 px one.
    fn two_layouts() -> Vec<RecordedClick> {
        vec![
            click(1, 1010.0, 605.0, 1280, Some("#buy"), 10.0, 5.0),
            click(2, 1050.0, 620.0, 1280, Some("#buy"), 50.0, 20.0),
            click(3, 1001.0, 640.0, 1280, Some("#buy"), 1.0, 40.0),
            click(4, 1130.0, 710.0, 1440, Some("#buy"), 30.0, 10.0),
        ]
    }

    fn at(m: &HeatmapData, i: usize) -> (f32, f32) {
        (m.points[i].x, m.points[i].y)
    }

    #[test]
    fn the_same_element_on_two_layouts_lands_on_the_same_spot() {
        let (m, p) = map_clicks(&two_layouts(), ViewportClass::Desktop, Count::Clicks, None);
        assert_eq!(m.width, 1280);
        assert_eq!((p.clicks, p.remapped, p.approximated), (4, 1, 0));
        assert_eq!(at(&m, 3), (1030.0, 610.0));
        // Reference clicks keep their coordinates.
        assert_eq!(at(&m, 0), (1010.0, 605.0));
    }

    #[test]
    fn clicks_are_drawn_onto_the_width_of_the_layout_shown() {
        // The layout behind the map is the 1440 px one: its click stays,
        // the 1280 px ones move to #buy's box there (origin 1100, 700).
        let (m, p) = map_clicks(
            &two_layouts(),
            ViewportClass::Desktop,
            Count::Clicks,
            Some(1440),
        );
        assert_eq!(m.width, 1440);
        assert_eq!((p.clicks, p.remapped, p.approximated), (4, 3, 0));
        assert_eq!(at(&m, 3), (1130.0, 710.0));
        assert_eq!(at(&m, 0), (1110.0, 705.0));
        // A width nobody clicked at: every click is scaled onto it.
        let (m, p) = map_clicks(
            &two_layouts(),
            ViewportClass::Desktop,
            Count::Clicks,
            Some(1920),
        );
        assert_eq!((m.width, p.approximated), (1920, 4));
        assert_eq!(at(&m, 0), (1515.0, 605.0));
    }

    #[test]
    fn unknown_selectors_are_scaled_and_counted_as_approximated() {
        let mut clicks = two_layouts();
        clicks.push(click(5, 720.0, 300.0, 1440, Some("#newsletter"), 3.0, 3.0));
        clicks.push(click(6, 720.0, 310.0, 1440, None, 0.0, 0.0));
        clicks.push(click(7, 1.0, 1.0, 1280, None, 0.0, 0.0));
        let (m, p) = map_clicks(&clicks, ViewportClass::Desktop, Count::Clicks, None);
        assert_eq!((m.width, p.remapped, p.approximated), (1280, 1, 2));
        assert_eq!(at(&m, 4), (640.0, 300.0));
        assert_eq!(at(&m, 5), (640.0, 310.0));
    }

    #[test]
    fn offsets_are_clamped_to_the_element_seen_at_the_reference() {
        let mut clicks = two_layouts();
        // A wider button on the other layout: offset 400 > widest seen (50).
        clicks.push(click(7, 1500.0, 900.0, 1440, Some("#buy"), 400.0, 900.0));
        let (m, _) = map_clicks(&clicks, ViewportClass::Desktop, Count::Clicks, None);
        assert_eq!(at(&m, 4), (1050.0, 640.0));
    }

    #[test]
    fn ambiguous_selectors_fall_back_to_scaling() {
        let clicks = vec![
            click(1, 110.0, 100.0, 1280, Some("ul>li>a"), 10.0, 0.0),
            click(2, 510.0, 100.0, 1280, Some("ul>li>a"), 10.0, 0.0),
            click(3, 910.0, 100.0, 1280, Some("ul>li>a"), 10.0, 0.0),
            click(4, 144.0, 100.0, 1440, Some("ul>li>a"), 10.0, 0.0),
        ];
        let (m, p) = map_clicks(&clicks, ViewportClass::Desktop, Count::Clicks, None);
        assert_eq!((p.remapped, p.approximated), (0, 1));
        assert_eq!(at(&m, 3), (128.0, 100.0));
    }

    #[test]
    fn the_reference_is_the_most_common_width_of_the_class_only() {
        let mut clicks = two_layouts();
        clicks.push(click(8, 10.0, 10.0, 1440, None, 0.0, 0.0));
        clicks.push(click(9, 10.0, 10.0, 1440, None, 0.0, 0.0));
        // Many mobile clicks do not pull the desktop reference.
        for s in 0..10 {
            clicks.push(click(100 + s, 10.0, 10.0, 390, None, 0.0, 0.0));
        }
        let (m, p) = map_clicks(&clicks, ViewportClass::Desktop, Count::Clicks, None);
        assert_eq!(
            (m.width, p.clicks),
            (1440, 6),
            "3 clicks each: a tie goes to the wider layout"
        );
        clicks.push(click(10, 10.0, 10.0, 1280, None, 0.0, 0.0));
        let (m, p) = map_clicks(&clicks, ViewportClass::Desktop, Count::Clicks, None);
        assert_eq!((m.width, p.clicks), (1280, 7));
    }

    #[test]
    fn classes_split_by_viewport_width() {
        let mut c = click(1, 5.0, 5.0, 390, None, 0.0, 0.0);
        let (mobile, placed) = map_clicks(
            std::slice::from_ref(&c),
            ViewportClass::Mobile,
            Count::Clicks,
            None,
        );
        assert_eq!((placed.clicks, mobile.width), (1, 390));
        assert_eq!(
            map_clicks(
                std::slice::from_ref(&c),
                ViewportClass::Desktop,
                Count::Clicks,
                None,
            )
            .1
            .clicks,
            0
        );
        // A tablet viewport with a wider (zoomed-out) layout is still a tablet.
        c.vw = 800;
        c.dw = 1280;
        assert_eq!(
            map_clicks(&[c], ViewportClass::Tablet, Count::Clicks, None)
                .0
                .width,
            1280
        );
        assert_eq!(ViewportClass::of_width(767), ViewportClass::Mobile);
        assert_eq!(ViewportClass::of_width(768), ViewportClass::Tablet);
        assert_eq!(ViewportClass::of_width(1024), ViewportClass::Desktop);
    }

    #[test]
    fn sessions_count_once_per_cell() {
        let mut clicks: Vec<RecordedClick> = (0..10)
            .map(|_| click(1, 100.0, 100.0, 1280, None, 0.0, 0.0))
            .collect();
        clicks.push(click(2, 101.0, 101.0, 1280, None, 0.0, 0.0));
        clicks.push(click(1, 500.0, 500.0, 1280, None, 0.0, 0.0));
        let (m, _) = map_clicks(&clicks, ViewportClass::Desktop, Count::Sessions, None);
        let near: f32 = m
            .points
            .iter()
            .filter(|p| p.x < 200.0)
            .map(|p| p.weight)
            .sum();
        assert!((near - 2.0).abs() < 1e-5, "{near}");
        assert_eq!(m.points[11].weight, 1.0);
        let (by_click, _) = map_clicks(&clicks, ViewportClass::Desktop, Count::Clicks, None);
        assert!(by_click.points.iter().all(|p| p.weight == 1.0));
    }

    #[test]
    fn marks_hold_rage_and_dead_clicks() {
        let mut clicks = two_layouts();
        clicks[0].rage = true;
        clicks[3].dead = true;
        let (m, _) = map_clicks(&clicks, ViewportClass::Desktop, Count::Clicks, None);
        assert_eq!(m.marks.len(), 2);
        assert_eq!((m.marks[1].x, m.marks[1].y), (1030.0, 610.0));
    }

    #[test]
    fn garbage_is_skipped_and_empty_input_is_empty() {
        assert_eq!(
            map_clicks(&[], ViewportClass::Desktop, Count::Clicks, None),
            (HeatmapData::default(), Placement::default())
        );
        let mut bad = vec![
            click(1, f64::NAN, 1.0, 1280, None, 0.0, 0.0),
            click(1, 1.0, f64::INFINITY, 1280, None, 0.0, 0.0),
            click(1, 1.0, 1.0, 0, None, 0.0, 0.0),
            click(1, -50.0, -3.0, 1280, Some("#a"), f64::NAN, -1.0),
            click(1, 1e300, 1e300, 1400, Some("#a"), 1e300, 1e300),
        ];
        bad[2].vw = 0;
        let (m, p) = map_clicks(&bad, ViewportClass::Desktop, Count::Sessions, None);
        assert_eq!(p.clicks, 1);
        assert_eq!((m.points[0].x, m.points[0].y, m.height), (0.0, 0.0, 1));
    }

    #[test]
    fn mapped_clicks_feed_the_heatmap() {
        use crate::render::{heatmap, Format, HeatmapStyle};
        let (mut m, _) = map_clicks(
            &two_layouts(),
            ViewportClass::Desktop,
            Count::Sessions,
            None,
        );
        m.height = m.height.max(800);
        assert!(heatmap(&m, HeatmapStyle::Overlay, Format::Png).is_ok());
    }

    /// Issue 6's figure, end to end: 1,000,000 recorded clicks (three
    /// layout widths of the desktop class, 40 selectors) mapped onto the
    /// reference layout, then drawn as a PNG overlay, median of 7.
    /// `cargo test --release --lib -- --ignored --nocapture million_clicks_mapped`
    #[test]
    #[ignore]
    fn million_clicks_mapped_and_drawn() {
        use crate::mine::Rng;
        use crate::render::{heatmap, Format, HeatmapStyle};
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let widths = [1280u32, 1440, 1920];
        let clicks: Vec<RecordedClick> = (0..1_000_000)
            .map(|i| {
                let dw = widths[rng.below(3) as usize];
                let el = rng.below(40);
                // An element centred in the layout: it moves with the width.
                let (ex, ey) = (
                    (dw as f64 - 1200.0) / 2.0 + (el % 8) as f64 * 150.0,
                    el as f64 * 90.0,
                );
                let (ox, oy) = (rng.below(120) as f64, rng.below(40) as f64);
                RecordedClick {
                    session_id: i / 5,
                    x: ex + ox,
                    y: ey + oy,
                    vw: dw,
                    dw,
                    sel: Some(format!("#e{el}").into()),
                    ox,
                    oy,
                    rage: rng.below(50) == 0,
                    dead: false,
                }
            })
            .collect();
        let mut times = Vec::new();
        for _ in 0..7 {
            let t = std::time::Instant::now();
            let (mut m, p) = map_clicks(&clicks, ViewportClass::Desktop, Count::Clicks, None);
            m.height = m.height.max(4000);
            let png = heatmap(&m, HeatmapStyle::Overlay, Format::Png).unwrap();
            times.push(t.elapsed());
            assert!(png.len() > 1000 && p.remapped > 0);
        }
        times.sort();
        println!(
            "1M clicks mapped + heatmap PNG: median {:?} (min {:?})",
            times[3], times[0]
        );
    }
}
