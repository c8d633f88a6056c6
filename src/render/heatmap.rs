//! Click heatmaps. Clicks (already mapped onto one layout by
//! `crate::heat`) are smoothed into a density and coloured transparent →
//! blue → green → yellow → red. `Overlay` is a transparent image at the
//! document's size for the UI to lay over a screenshot or iframe of the
//! page; `Standalone` puts the heat on a neutral page with a title and a
//! legend, for reports. Rage/dead clicks are drawn on top as purple rings.
//!
//! Heatmaps are rasters: the density, marks and blending are computed in
//! our own buffer and encoded once (plotters only draws the title and
//! legend), which keeps a million clicks on a 1280×4000 page well under a
//! quarter of a second. SVG output embeds that PNG.

use plotters::prelude::*;

use super::canvas::{self, Align, Chart, Painter};
use super::error::RenderError;
use super::input::{Format, HeatmapData, HeatmapStyle};
use super::raster::{self, Pixels};
use super::{density, encode, palette, text};

/// Pictures larger than this (in pixels) are drawn scaled down; the UI
/// stretches an overlay back to the document size.
const MAX_PIXELS: f64 = 24_000_000.0;
const MAX_SIDE: f64 = 16_000.0;
/// Standalone layout.
const HEADER: u32 = 56;
const MARGIN: u32 = 16;
const MIN_STANDALONE_W: u32 = 440;
const TITLE_SIZE: f64 = 20.0;
const LEGEND_SIZE: f64 = 14.0;
const RAMP_W: f64 = 110.0;

/// Draws the heatmap of `data`.
pub(crate) fn heatmap(
    data: &HeatmapData,
    style: HeatmapStyle,
    format: Format,
) -> Result<Vec<u8>, RenderError> {
    if data.width == 0 || data.height == 0 {
        return Err(RenderError::InvalidSize {
            width: data.width,
            height: data.height,
            max: u32::MAX,
        });
    }
    let doc = (data.width as f64, data.height as f64);
    let scale = 1f64
        .min(MAX_SIDE / doc.0.max(doc.1))
        .min((MAX_PIXELS / (doc.0 * doc.1)).sqrt());
    let page = (
        ((doc.0 * scale).round() as u32).max(1),
        ((doc.1 * scale).round() as u32).max(1),
    );
    let heat = density::estimate(&data.points, doc, scale, page);
    let marks = raster::cluster_marks(&data.marks, doc, scale, page);
    let empty = heat.is_none() && marks.is_empty();
    let layers = Layers {
        heat: heat.as_ref(),
        marks: &marks,
        page,
    };
    let (pixels, w, h, channels) = match style {
        HeatmapStyle::Overlay => (overlay(&layers, empty)?, page.0, page.1, 4),
        HeatmapStyle::Standalone => {
            let (px, w, h) = standalone(&layers, &data.title, empty)?;
            (px, w, h, 3)
        }
    };
    let png = encode::png(&pixels, w, h, channels)?;
    Ok(match format {
        Format::Png => png,
        Format::Svg => encode::svg_with_png(&png, w, h, &data.title),
    })
}

struct Layers<'a> {
    heat: Option<&'a density::Density>,
    marks: &'a [(f64, f64, f64)],
    page: (u32, u32),
}

impl Layers<'_> {
    /// Paints heat and marks on `px`, whose page starts at (`ox`, `oy`).
    fn paint(&self, px: &mut Pixels<'_>, (ox, oy): (usize, usize)) {
        let lut = palette::heat_lut();
        let (pw, ph) = self.page;
        if let Some(heat) = self.heat {
            let channels = px.channels;
            let stride = px.width * channels;
            heat.rows(pw, ph, |y, values| {
                let start = (oy + y) * stride + ox * channels;
                let row = &mut px.data[start..start + pw as usize * channels];
                for (p, &v) in row.chunks_exact_mut(channels).zip(values) {
                    let [r, g, b, a] = lut[(v * 255.0) as usize & 255];
                    if a == 0 {
                        continue;
                    }
                    if channels == 4 && p[3] == 0 {
                        p.copy_from_slice(&[r, g, b, a]); // the common case on an overlay
                    } else {
                        raster::blend_at(p, [r, g, b], a as f32 / 255.0);
                    }
                }
            });
        }
        let RGBColor(r, g, b) = palette::MARK;
        for &(x, y, w) in self.marks {
            raster::stamp_ring(
                px,
                x + ox as f64,
                y + oy as f64,
                raster::mark_radius(w),
                [r, g, b],
            );
        }
    }
}

/// The transparent overlay; an empty one carries a small opaque note.
fn overlay(layers: &Layers<'_>, empty: bool) -> Result<Vec<u8>, RenderError> {
    let (w, h) = layers.page;
    let mut rgba = vec![0u8; w as usize * h as usize * 4];
    let mut px = Pixels {
        data: &mut rgba,
        width: w as usize,
        height: h as usize,
        channels: 4,
    };
    layers.paint(&mut px, (0, 0));
    if empty {
        // Near the top: the middle of a long page is off-screen.
        let note_w = (text::width(canvas::NO_DATA, 18.0) + 40.0).ceil() as u32;
        let note_h = 48;
        let mut note = vec![255u8; canvas::rgb_len(note_w, note_h)];
        canvas::draw_rgb(&canvas::NoData, &mut note, note_w, note_h)?;
        let x0 = w.saturating_sub(note_w) as usize / 2;
        let y0 = (h as usize).saturating_sub(note_h as usize).min(24);
        for y in 0..(note_h as usize).min(h as usize - y0) {
            for x in 0..(note_w as usize).min(w as usize - x0) {
                let s = (y * note_w as usize + x) * 3;
                let d = ((y0 + y) * w as usize + x0 + x) * 4;
                rgba[d..d + 3].copy_from_slice(&note[s..s + 3]);
                rgba[d + 3] = 255;
            }
        }
    }
    Ok(rgba)
}

/// The standalone picture: header with title and legend, page below.
fn standalone(
    layers: &Layers<'_>,
    title: &str,
    empty: bool,
) -> Result<(Vec<u8>, u32, u32), RenderError> {
    let (pw, ph) = layers.page;
    let w = (pw + 2 * MARGIN).max(MIN_STANDALONE_W);
    let h = ph + HEADER + MARGIN;
    let mut rgb = Vec::with_capacity(canvas::rgb_len(w, h));
    let RGBColor(cr, cg, cb) = palette::CANVAS;
    for _ in 0..w as usize * h as usize {
        rgb.extend_from_slice(&[cr, cg, cb]);
    }
    let ox = ((w - pw) / 2) as usize;
    let oy = HEADER as usize;
    for y in oy..oy + ph as usize {
        let start = (y * w as usize + ox) * 3;
        rgb[start..start + pw as usize * 3].fill(255);
    }
    let mut px = Pixels {
        data: &mut rgb,
        width: w as usize,
        height: h as usize,
        channels: 3,
    };
    layers.paint(&mut px, (ox, oy));
    let header = Header {
        title,
        marks: !layers.marks.is_empty(),
        empty,
        page: (ox as f64, oy as f64, pw as f64, ph as f64),
    };
    canvas::draw_rgb(&header, &mut rgb, w, h)?;
    Ok((rgb, w, h))
}

/// Title, colour legend, page border and the empty note of a standalone map.
struct Header<'a> {
    title: &'a str,
    marks: bool,
    empty: bool,
    page: (f64, f64, f64, f64),
}

impl Chart for Header<'_> {
    fn draw<DB: DrawingBackend>(&self, p: &Painter<'_, DB>) -> Result<(), RenderError> {
        let (px, py, pw, ph) = self.page;
        p.frame(
            px - 1.0,
            py - 1.0,
            px + pw,
            py + ph,
            palette::RULE.to_rgba(),
        )?;
        let cy = HEADER as f64 / 2.0;
        let right = p.width - MARGIN as f64;
        // Legend, right-aligned: "Fewer [ramp] More clicks", then the marks.
        let mut x = right;
        if self.marks {
            let label = "Rage / dead clicks";
            x -= text::width(label, LEGEND_SIZE);
            p.text(label, x, cy, LEGEND_SIZE, palette::MUTED, Align::Left)?;
            x -= 14.0;
            p.circle(x, cy, 5.0, palette::MARK.to_rgba(), false)?;
            x -= 22.0;
        }
        let more = "More clicks";
        x -= text::width(more, LEGEND_SIZE);
        p.text(more, x, cy, LEGEND_SIZE, palette::MUTED, Align::Left)?;
        x -= 6.0 + RAMP_W;
        let lut = palette::heat_lut();
        for i in 0..RAMP_W as usize {
            let [r, g, b, a] = lut[(i as f64 / (RAMP_W - 1.0) * 255.0) as usize];
            // As seen over a white page.
            let a = a as f64 / 255.0;
            let mix = |c: u8| (c as f64 * a + 255.0 * (1.0 - a)).round() as u8;
            let x0 = x + i as f64;
            p.rect(
                x0,
                cy - 5.0,
                x0 + 1.0,
                cy + 5.0,
                RGBColor(mix(r), mix(g), mix(b)).to_rgba(),
            )?;
        }
        p.frame(x, cy - 5.0, x + RAMP_W, cy + 5.0, palette::RULE.to_rgba())?;
        let fewer = "Fewer";
        x -= 6.0 + text::width(fewer, LEGEND_SIZE);
        p.text(fewer, x, cy, LEGEND_SIZE, palette::MUTED, Align::Left)?;
        let room = x - 24.0 - MARGIN as f64;
        if let Some(t) = text::fit(self.title, TITLE_SIZE, room) {
            p.text(&t, MARGIN as f64, cy, TITLE_SIZE, palette::INK, Align::Left)?;
        }
        if self.empty {
            p.no_data(px + pw / 2.0, py + (ph / 2.0).min(120.0))?;
        }
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::render::input::HeatPoint;
    use crate::render::testutil::{decode, save};

    /// A product page: clicks on a menu, a gallery, a buy button and a
    /// scatter, deterministic.
    pub(crate) fn sample(n: usize, width: u32, height: u32) -> HeatmapData {
        let mut seed = 0x9e37_79b9_u64;
        let mut rnd = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 11) as f32 / (1u64 << 53) as f32
        };
        let (w, h) = (width as f32, height as f32);
        let spots = [
            (0.12, 0.02, 0.5),
            (0.3, 0.15, 0.2),
            (0.75, 0.12, 0.25),
            (0.5, 0.5, 0.05),
        ];
        let mut points = Vec::with_capacity(n);
        for _ in 0..n {
            let r = rnd();
            let (cx, cy) = spots
                .iter()
                .scan(0.0, |acc, s| {
                    *acc += s.2;
                    Some((*acc, s))
                })
                .find(|(acc, _)| r < *acc)
                .map(|(_, s)| (s.0, s.1))
                .unwrap_or((rnd(), rnd()));
            let jitter = if r < 0.95 { 30.0 } else { 300.0 };
            points.push(HeatPoint {
                x: (cx * w + (rnd() - 0.5) * jitter).clamp(0.0, w),
                y: (cy * h + (rnd() - 0.5) * jitter).clamp(0.0, h),
                weight: 1.0,
            });
        }
        let marks = (0..n.min(40)).map(|i| points[i * 7 % n.max(1)]).collect();
        HeatmapData {
            width,
            height,
            points,
            marks,
            title: "Product page · desktop · last 30 days".into(),
        }
    }

    #[test]
    fn overlay_is_transparent_rgba_at_document_size_with_heat() {
        let data = sample(2000, 600, 900);
        let png = heatmap(&data, HeatmapStyle::Overlay, Format::Png).unwrap();
        save("heatmap-overlay.png", &png);
        let ((w, h, c), px) = decode(&png);
        assert_eq!((w, h, c), (600, 900, 4));
        let alpha: Vec<u8> = px.chunks(4).map(|p| p[3]).collect();
        assert_eq!(alpha[(899 * 600) + 10], 0, "bottom-left stays clear");
        assert!(alpha.iter().any(|&a| a > 150), "hot spots show");
    }

    #[test]
    fn standalone_has_a_header_and_a_page() {
        let data = sample(2000, 600, 900);
        let png = heatmap(&data, HeatmapStyle::Standalone, Format::Png).unwrap();
        save("heatmap-standalone.png", &png);
        let ((w, h, c), _) = decode(&png);
        assert_eq!((w, h, c), (600 + 2 * MARGIN, 900 + HEADER + MARGIN, 3));
    }

    #[test]
    fn svg_embeds_the_png_and_escapes_the_title() {
        let mut data = sample(100, 300, 200);
        data.title = "<script>x</script>&\"'".into();
        let svg = String::from_utf8(heatmap(&data, HeatmapStyle::Standalone, Format::Svg).unwrap())
            .unwrap();
        assert!(svg.contains("data:image/png;base64,iVBORw0KGgo"));
        assert!(!svg.contains("<script"));
        assert!(svg.contains("&lt;script&gt;"));
    }

    #[test]
    fn no_points_draws_the_no_data_note_at_normal_size() {
        let data = HeatmapData {
            width: 800,
            height: 2000,
            title: "Empty".into(),
            ..Default::default()
        };
        for style in [HeatmapStyle::Overlay, HeatmapStyle::Standalone] {
            let png = heatmap(&data, style, Format::Png).unwrap();
            let ((w, h, _), px) = decode(&png);
            assert!(w >= 800 && h >= 2000);
            assert!(px.iter().any(|&v| v != 0 && v != 255));
            save(&format!("heatmap-empty-{style:?}.png"), &png);
        }
    }

    #[test]
    fn odd_sizes_and_points_do_not_panic() {
        let bad = vec![
            HeatPoint {
                x: f32::NAN,
                y: 0.0,
                weight: 1.0,
            },
            HeatPoint {
                x: 1e38,
                y: -1e38,
                weight: f32::INFINITY,
            },
            HeatPoint {
                x: 0.0,
                y: 0.0,
                weight: 1.0,
            },
        ];
        for (w, h) in [(1, 1), (3, 100_000), (u32::MAX, u32::MAX), (50_000, 2)] {
            let data = HeatmapData {
                width: w,
                height: h,
                points: bad.clone(),
                marks: bad.clone(),
                title: String::new(),
            };
            for style in [HeatmapStyle::Overlay, HeatmapStyle::Standalone] {
                heatmap(&data, style, Format::Png).unwrap();
            }
        }
        let zero = HeatmapData {
            width: 0,
            height: 10,
            ..Default::default()
        };
        assert!(heatmap(&zero, HeatmapStyle::Overlay, Format::Png).is_err());
    }

    #[test]
    fn huge_documents_are_scaled_down() {
        let data = HeatmapData {
            width: 1280,
            height: 100_000,
            points: sample(100, 1280, 100_000).points,
            ..Default::default()
        };
        let ((w, h, _), _) = decode(&heatmap(&data, HeatmapStyle::Overlay, Format::Png).unwrap());
        assert!((h as f64) <= MAX_SIDE && (w as f64 * h as f64) <= MAX_PIXELS);
        assert!((w as f64 / h as f64 - 0.0128).abs() < 0.001);
    }
}
