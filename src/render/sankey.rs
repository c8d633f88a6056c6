//! The journey Sankey chart: a column per step, a node per page (height by
//! sessions), curved semi-transparent ribbons for the sessions going from
//! one page to the next, and a red stub on each node for the sessions that
//! ended there. Colours follow the journey stage of each page; "other"
//! nodes (the pages below a step's top N) are grey with a dashed edge.
//! The geometry is worked out in `sankey_layout`; this file draws it.

use plotters::prelude::*;

use super::canvas::{self, Align, Chart, Painter};
use super::error::RenderError;
use super::input::{Format, SankeyData};
use super::raster::{self, Pixels};
use super::sankey_layout::{self as lay, Layout, Ribbon, Swatch};
use super::{palette, text};

/// Draws the journey graph on a `width`×`height` picture.
pub(crate) fn sankey(
    data: &SankeyData,
    width: u32,
    height: u32,
    format: Format,
) -> Result<Vec<u8>, RenderError> {
    canvas::check_size(width, height)?;
    let layout = lay::layout(data, width as f64, height as f64);
    if layout.is_empty() {
        return canvas::render(&canvas::NoData, width, height, format);
    }
    canvas::render(
        &SankeyChart {
            data,
            layout: &layout,
        },
        width,
        height,
        format,
    )
}

struct SankeyChart<'a> {
    data: &'a SankeyData,
    layout: &'a Layout,
}

impl SankeyChart<'_> {
    /// Every band with its colour and opacity: links, then drop-off stubs.
    fn bands(&self) -> impl Iterator<Item = (Ribbon, RGBColor, f64)> + '_ {
        let links = self.layout.ribbons.iter().map(|r| {
            let n = &self.data.nodes[r.from];
            if n.other {
                (*r, palette::OTHER, 0.45)
            } else {
                (*r, palette::stage(n.stage), 0.32)
            }
        });
        // A short band bending down and away: these sessions left.
        let drops = self.layout.drops.iter().map(|d| {
            let stub = Ribbon {
                link: 0,
                from: d.node,
                x0: d.x,
                top0: d.y0,
                bottom0: d.y1,
                x1: d.x + lay::STUB_W - 2.0,
                top1: d.y0 + 6.0,
                bottom1: d.y1 + 6.0,
            };
            (stub, palette::DROP, 0.8)
        });
        links.chain(drops)
    }
}

impl Chart for SankeyChart<'_> {
    /// Bitmaps get their bands painted directly: thousands of large
    /// translucent polygons are the slow part of a big Sankey in plotters.
    fn underlay(&self, px: &mut Pixels<'_>) {
        for (r, RGBColor(cr, cg, cb), alpha) in self.bands() {
            let (top, bottom) = ribbon_edges(&r);
            raster::fill_band(px, &top, &bottom, [cr, cg, cb], alpha as f32);
        }
    }

    fn draw<DB: DrawingBackend>(&self, p: &Painter<'_, DB>) -> Result<(), RenderError> {
        let (data, l) = (self.data, self.layout);
        if !p.is_bitmap() {
            for (r, color, alpha) in self.bands() {
                let (mut outline, bottom) = ribbon_edges(&r);
                outline.extend(bottom.into_iter().rev());
                p.polygon(&outline, color.mix(alpha))?;
            }
        }
        for (i, b) in l.nodes.iter().enumerate() {
            let Some(b) = b else { continue };
            let n = &data.nodes[i];
            if n.other {
                p.rect(b.x0, b.y0, b.x1, b.y1, palette::OTHER.to_rgba())?;
                let edge = [
                    (b.x0, b.y0),
                    (b.x1, b.y0),
                    (b.x1, b.y1),
                    (b.x0, b.y1),
                    (b.x0, b.y0),
                ];
                p.dashed(&edge, palette::OTHER_EDGE.to_rgba(), 1, 3, 2)?;
            } else {
                p.rect(b.x0, b.y0, b.x1, b.y1, palette::stage(n.stage).to_rgba())?;
            }
        }
        for label in &l.labels {
            p.rect(
                label.x,
                label.y,
                label.x + label.w,
                label.y + label.h,
                WHITE.mix(0.82),
            )?;
            let x = label.x + lay::HALO;
            let lh = text::line_height(lay::LABEL_SIZE);
            let y = label.y + lay::HALO - 1.0 + lh / 2.0;
            p.text(
                &label.title,
                x,
                y,
                lay::LABEL_SIZE,
                palette::INK,
                Align::Left,
            )?;
            if let Some(d) = &label.detail {
                let dy = lh / 2.0 + text::line_height(lay::DETAIL_SIZE) / 2.0;
                p.text(d, x, y + dy, lay::DETAIL_SIZE, palette::MUTED, Align::Left)?;
            }
        }
        for item in &l.legend {
            let s = lay::SWATCH_SIZE;
            let (x, y) = (item.x, item.y);
            match item.swatch {
                Swatch::Stage(i) => {
                    p.rect(x, y, x + s, y + s, palette::stage(Some(i)).to_rgba())?
                }
                Swatch::Other => {
                    p.rect(x, y, x + s, y + s, palette::OTHER.to_rgba())?;
                    let edge = [(x, y), (x + s, y), (x + s, y + s), (x, y + s), (x, y)];
                    p.dashed(&edge, palette::OTHER_EDGE.to_rgba(), 1, 3, 2)?;
                }
                Swatch::Drop => p.rect(x, y, x + s, y + s, palette::DROP.mix(0.8))?,
            }
            p.text(
                &item.text,
                x + s + 6.0,
                y + s / 2.0,
                lay::DETAIL_SIZE,
                palette::INK,
                Align::Left,
            )?;
        }
        Ok(())
    }
}

type Polyline = Vec<(f64, f64)>;

/// The top and bottom edges of a ribbon, left to right: cubic Béziers
/// with horizontal tangents at the ends (control points at mid-x),
/// flattened to line segments. At least 1 px thick so thin links stay
/// visible.
fn ribbon_edges(r: &Ribbon) -> (Polyline, Polyline) {
    let segments = ((r.x1 - r.x0).abs() / 8.0).clamp(4.0, 20.0) as usize;
    let widen = |top: f64, bottom: f64| {
        if bottom - top < 1.0 {
            (top, top + 1.0)
        } else {
            (top, bottom)
        }
    };
    let (t0, b0) = widen(r.top0, r.bottom0);
    let (t1, b1) = widen(r.top1, r.bottom1);
    let xm = (r.x0 + r.x1) / 2.0;
    let at = |t: f64, y0: f64, y1: f64| {
        let u = 1.0 - t;
        let x = u * u * u * r.x0 + 3.0 * u * t * (u + t) * xm + t * t * t * r.x1;
        (x, y0 + (y1 - y0) * t * t * (3.0 - 2.0 * t))
    };
    let edge = |y0: f64, y1: f64| -> Vec<(f64, f64)> {
        (0..=segments)
            .map(|i| at(i as f64 / segments as f64, y0, y1))
            .collect()
    };
    (edge(t0, t1), edge(b0, b1))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::render::input::{SankeyLink, SankeyNode};
    use crate::render::testutil::{count, decode, save, texts};

    const PAGES: [&str; 8] = [
        "/",
        "/search",
        "/products/shoes",
        "/products/running-shoes-extra-long-name-2024",
        "/cart",
        "/checkout",
        "/account/login",
        "/blog/how-to-choose-shoes",
    ];

    /// `steps` columns of `per_step` nodes (the last one "other"), links
    /// between every pair of consecutive nodes.
    pub(crate) fn sample(steps: usize, per_step: usize) -> SankeyData {
        let mut nodes = Vec::new();
        let mut links = Vec::new();
        for s in 0..steps {
            for k in 0..per_step {
                let sessions = ((10_000 >> s.min(8)) / (k as u32 + 1)).max(1);
                let other = k + 1 == per_step && per_step > 2;
                nodes.push(SankeyNode {
                    step: s,
                    label: if other {
                        format!("Other ({} pages)", 3 + k)
                    } else {
                        PAGES[(s + k) % PAGES.len()].to_string()
                    },
                    sessions,
                    drop_off: sessions / 3,
                    other,
                    stage: Some((s + k) % 4),
                });
            }
        }
        for s in 1..steps {
            for a in 0..per_step {
                for b in 0..per_step {
                    let from = (s - 1) * per_step + a;
                    let to = s * per_step + b;
                    let sessions = nodes[from].sessions.min(nodes[to].sessions) / per_step as u32;
                    links.push(SankeyLink {
                        from,
                        to,
                        sessions: sessions.max(1),
                    });
                }
            }
        }
        SankeyData {
            nodes,
            links,
            stages: ["Browse", "Product", "Cart", "Checkout"]
                .map(String::from)
                .to_vec(),
        }
    }

    fn assert_labels_clean(l: &Layout, w: f64, h: f64) {
        for (i, a) in l.labels.iter().enumerate() {
            assert!(
                a.x >= 0.0 && a.y >= 0.0 && a.x + a.w <= w && a.y + a.h <= h,
                "{a:?} outside"
            );
            assert!(text::width(&a.title, lay::LABEL_SIZE) <= a.w - 2.0 * lay::HALO + 1e-6);
            for b in &l.labels[i + 1..] {
                assert!(!a.overlaps(b), "labels overlap: {a:?} {b:?}");
            }
            for (j, n) in l.nodes.iter().enumerate() {
                if let Some(n) = n {
                    let hit = a.x < n.x1 && n.x0 < a.x + a.w && a.y < n.y1 && n.y0 < a.y + a.h;
                    assert!(!hit, "label {a:?} covers node {j}");
                }
            }
        }
    }

    #[test]
    fn svg_has_a_rect_per_node_a_polygon_per_link_and_drop() {
        let data = sample(3, 3);
        let l = lay::layout(&data, 900.0, 500.0);
        assert_eq!(l.ribbons.len(), data.links.len());
        assert_eq!(l.drops.len(), data.nodes.len());
        let svg = String::from_utf8(sankey(&data, 900, 500, Format::Svg).unwrap()).unwrap();
        // background + nodes + label halos + legend swatches
        let rects = 1 + data.nodes.len() + l.labels.len() + l.legend.len();
        assert_eq!(count(&svg, "<rect"), rects);
        assert_eq!(count(&svg, "<polygon"), data.links.len() + data.nodes.len());
        assert_eq!(
            count(&svg, "<text"),
            l.legend.len()
                + l.labels
                    .iter()
                    .map(|l| 1 + l.detail.is_some() as usize)
                    .sum::<usize>()
        );
        assert!(texts(&svg).iter().any(|t| t == "Checkout"));
        assert!(l.labels.len() >= 6, "most nodes have room for a label");
    }

    #[test]
    fn labels_from_visitors_are_escaped_in_svg() {
        let mut data = sample(2, 2);
        data.nodes[0].label = "<script>alert(1)</script>".into();
        data.nodes[1].label = "&\"'".into();
        data.stages[0] = "<b>stage</b>".into();
        let svg = String::from_utf8(sankey(&data, 900, 500, Format::Svg).unwrap()).unwrap();
        assert!(!svg.contains("<script"));
        assert!(!svg.contains("<b>"));
        assert!(svg.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(svg.contains("&amp;&quot;&apos;"));
    }

    #[test]
    fn labels_never_overlap_even_when_crowded() {
        for (steps, per, w, h) in [
            (3, 3, 900.0, 500.0),
            (10, 20, 1400.0, 900.0),
            (4, 40, 800.0, 300.0),
            (6, 8, 320.0, 200.0),
        ] {
            let mut data = sample(steps, per);
            // Thin neighbours: big, tiny, tiny, tiny...
            for (i, n) in data.nodes.iter_mut().enumerate() {
                if i % 5 != 0 {
                    n.sessions = 1 + (i as u32 % 3);
                }
            }
            let l = lay::layout(&data, w, h);
            assert_labels_clean(&l, w, h);
        }
    }

    #[test]
    fn long_labels_are_shortened_with_an_ellipsis() {
        let mut data = sample(4, 2);
        data.nodes[0].label = format!("/p/{}", "x".repeat(500));
        let l = lay::layout(&data, 900.0, 400.0);
        let label = l.labels.iter().find(|l| l.node == 0).unwrap();
        assert!(label.title.contains(text::ELLIPSIS));
    }

    #[test]
    fn node_heights_follow_sessions() {
        let data = sample(2, 3);
        let l = lay::layout(&data, 900.0, 500.0);
        let h = |i: usize| l.nodes[i].map(|b| b.y1 - b.y0).unwrap();
        let ratio = h(0) / h(1);
        let want = data.nodes[0].sessions as f64 / data.nodes[1].sessions as f64;
        assert!((ratio - want).abs() < 0.05, "{ratio} vs {want}");
    }

    #[test]
    fn empty_data_draws_the_no_data_picture_at_the_normal_size() {
        let png = sankey(&SankeyData::default(), 640, 360, Format::Png).unwrap();
        let ((w, h, _), _) = decode(&png);
        assert_eq!((w, h), (640, 360));
        save("sankey-empty.png", &png);
        let svg = String::from_utf8(sankey(&SankeyData::default(), 640, 360, Format::Svg).unwrap())
            .unwrap();
        assert!(svg.contains(canvas::NO_DATA));
    }

    #[test]
    fn impossible_sizes_are_errors_not_panics() {
        let data = sample(2, 2);
        assert!(matches!(
            sankey(&data, 0, 100, Format::Png),
            Err(RenderError::InvalidSize { .. })
        ));
        assert!(sankey(&data, 100_000, 100, Format::Svg).is_err());
    }

    #[test]
    fn hostile_data_does_not_panic() {
        let node = |step, sessions, drop_off| SankeyNode {
            step,
            label: "\u{0}\u{202e}x".into(),
            sessions,
            drop_off,
            other: false,
            stage: Some(usize::MAX),
        };
        let data = SankeyData {
            nodes: vec![
                node(0, 0, 0),
                node(1, u32::MAX, u32::MAX),
                node(usize::MAX, 5, 1),
                node(1, 0, 9),
            ],
            links: vec![
                SankeyLink {
                    from: 0,
                    to: 1,
                    sessions: u32::MAX,
                },
                SankeyLink {
                    from: 0,
                    to: 3,
                    sessions: 7,
                },
                SankeyLink {
                    from: 1,
                    to: 0,
                    sessions: 1,
                },
                SankeyLink {
                    from: 9,
                    to: 1,
                    sessions: 1,
                },
                SankeyLink {
                    from: 0,
                    to: 2,
                    sessions: 1,
                },
            ],
            stages: vec![],
        };
        for (w, h) in [(1, 1), (5, 400), (900, 3), (900, 500)] {
            for f in [Format::Svg, Format::Png] {
                sankey(&data, w, h, f).unwrap();
            }
        }
    }

    #[test]
    fn png_decodes_at_the_requested_size() {
        let png = sankey(&sample(5, 4), 960, 540, Format::Png).unwrap();
        let ((w, h, c), px) = decode(&png);
        assert_eq!((w, h, c), (960, 540, 3));
        assert!(px.chunks(3).any(|p| p != [255, 255, 255]));
        save("sankey-5x4.png", &png);
        save(
            "sankey-10x20.png",
            &sankey(&sample(10, 20), 1400, 900, Format::Png).unwrap(),
        );
    }
}
