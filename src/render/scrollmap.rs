//! Scroll maps: how far down a page its views got. A band shaped like the
//! page is coloured by the share of views that reached each depth (red at
//! the top, where everyone is, cooling further down), and beside it the
//! same share is drawn as a curve against depth, so "how many saw the
//! reviews?" can be read off in both. The fold (the median viewport
//! height) is a dashed line across both.

use plotters::prelude::*;

use super::canvas::{self, Align, Chart, Painter};
use super::error::RenderError;
use super::input::{Format, ScrollData};
use super::{palette, text};

/// Size of the scroll map picture.
pub(crate) const WIDTH: u32 = 960;
pub(crate) const HEIGHT: u32 = 640;

const TITLE_SIZE: f64 = 20.0;
const LABEL_SIZE: f64 = 14.5;
const TOP: f64 = 92.0;
const BOTTOM: f64 = 56.0;
const LEFT: f64 = 84.0;
const RIGHT: f64 = 28.0;

/// Draws the scroll map of `data` at [`WIDTH`]×[`HEIGHT`].
pub(crate) fn scrollmap(data: &ScrollData, format: Format) -> Result<Vec<u8>, RenderError> {
    if data.depths.is_empty() {
        return canvas::render(&canvas::NoData, WIDTH, HEIGHT, format);
    }
    let mut depths = data.depths.clone();
    depths.sort_unstable();
    let deepest = depths[depths.len() - 1];
    let height = if data.height > 0 {
        data.height
    } else {
        deepest.max(1)
    };
    let chart = ScrollChart {
        data,
        depths,
        height: height as f64,
    };
    canvas::render(&chart, WIDTH, HEIGHT, format)
}

struct ScrollChart<'a> {
    data: &'a ScrollData,
    /// Sorted.
    depths: Vec<u32>,
    height: f64,
}

impl ScrollChart<'_> {
    /// Share of views that reached `depth` px.
    fn share(&self, depth: f64) -> f64 {
        let n = self.depths.len();
        let below = self.depths.partition_point(|&d| (d as f64) < depth);
        (n - below) as f64 / n as f64
    }

    /// The shallowest depth reached by at most `share` of the views.
    fn depth_at(&self, share: f64) -> u32 {
        let n = self.depths.len();
        let i = ((1.0 - share) * n as f64).floor() as usize;
        self.depths[i.min(n - 1)].min(self.height as u32)
    }
}

impl Chart for ScrollChart<'_> {
    fn draw<DB: DrawingBackend>(&self, p: &Painter<'_, DB>) -> Result<(), RenderError> {
        let (top, bottom) = (TOP, p.height - BOTTOM);
        let plot_h = bottom - top;
        let y_of = |depth: f64| top + depth / self.height * plot_h;
        let aspect = if self.data.width > 0 {
            self.data.width as f64 / self.height
        } else {
            0.3
        };
        let band_w = (plot_h * aspect).clamp(56.0, 200.0);
        let (band_x0, band_x1) = (LEFT, LEFT + band_w);
        let (cx0, cx1) = (band_x1 + 56.0, p.width - RIGHT);
        let x_of = |share: f64| cx0 + share * (cx1 - cx0);

        // Header: title, then the numbers people ask for.
        let title = if self.data.title.is_empty() {
            "Scroll depth"
        } else {
            &self.data.title
        };
        if let Some(t) = text::fit(title, TITLE_SIZE, p.width - 2.0 * 24.0) {
            p.text(&t, 24.0, 28.0, TITLE_SIZE, palette::INK, Align::Left)?;
        }
        let mut facts = vec![
            format!("{} page views", text::thousands(self.depths.len() as u64)),
            format!(
                "half reach {} px",
                text::thousands(self.depth_at(0.5).into())
            ),
        ];
        if let Some(f) = self.data.fold {
            facts.push(format!(
                "{} see below the fold",
                text::percent(self.share(f as f64 + 1.0))
            ));
        }
        p.text(
            &facts.join("  ·  "),
            24.0,
            56.0,
            LABEL_SIZE,
            palette::MUTED,
            Align::Left,
        )?;

        // The band: runs of rows with the same colour become one rect.
        let mut run_start = top;
        let mut run_color = None;
        let rows = plot_h.ceil() as usize;
        for r in 0..=rows {
            let y = top + r as f64;
            let color = (r < rows)
                .then(|| palette::ramp_color(self.share((y + 0.5 - top) / plot_h * self.height)));
            if color != run_color {
                if let Some(c) = run_color {
                    p.rect(band_x0, run_start, band_x1, y.min(bottom), c.to_rgba())?;
                }
                run_start = y;
                run_color = color;
            }
        }
        p.frame(band_x0, top, band_x1, bottom, palette::RULE.to_rgba())?;

        // Depth ticks (px) left of the band, share grid on the curve.
        for d in ticks(self.height, 6) {
            let y = y_of(d);
            p.line(
                &[(band_x0 - 5.0, y), (band_x0, y)],
                palette::MUTED.to_rgba(),
                1,
            )?;
            p.line(&[(cx0, y), (cx1, y)], palette::RULE.mix(0.6), 1)?;
            let label = format!("{} px", text::thousands(d as u64));
            p.text(
                &label,
                band_x0 - 8.0,
                y,
                LABEL_SIZE,
                palette::MUTED,
                Align::Right,
            )?;
        }
        for q in [0.0, 0.25, 0.5, 0.75, 1.0] {
            let x = x_of(q);
            p.line(&[(x, top), (x, bottom)], palette::RULE.to_rgba(), 1)?;
            p.text(
                &text::percent(q),
                x,
                bottom + 14.0,
                LABEL_SIZE,
                palette::MUTED,
                Align::Center,
            )?;
        }
        p.text(
            "Share of page views reaching each depth",
            (cx0 + cx1) / 2.0,
            bottom + 38.0,
            LABEL_SIZE,
            palette::INK,
            Align::Center,
        )?;

        // The curve, with the area under it lightly filled.
        let mut curve = Vec::with_capacity(rows + 1);
        for r in 0..=rows {
            let y = (top + r as f64).min(bottom);
            curve.push((x_of(self.share((y - top) / plot_h * self.height)), y));
        }
        let mut area = curve.clone();
        area.push((cx0, bottom));
        area.push((cx0, top));
        p.polygon(&area, palette::ACCENT.mix(0.12))?;
        p.line(&curve, palette::ACCENT.to_rgba(), 2)?;

        if let Some(fold) = self.data.fold.filter(|&f| (f as f64) <= self.height) {
            let y = y_of(fold as f64);
            p.dashed(&[(band_x0, y), (cx1, y)], palette::INK.mix(0.8), 1, 6, 4)?;
            let label = format!(
                "Fold · {} px (median viewport)",
                text::thousands(fold.into())
            );
            let w = text::width(&label, LABEL_SIZE);
            // Above the line unless that leaves the plot.
            let ly = if y - 12.0 > top { y - 11.0 } else { y + 11.0 };
            p.rect(cx1 - w - 8.0, ly - 9.0, cx1, ly + 9.0, WHITE.mix(0.85))?;
            p.text(
                &label,
                cx1 - 4.0,
                ly,
                LABEL_SIZE,
                palette::INK,
                Align::Right,
            )?;
        }
        Ok(())
    }
}

/// About `n` round tick values from 0 to `max` (1, 2 or 5 × 10^k apart).
fn ticks(max: f64, n: usize) -> Vec<f64> {
    if !max.is_finite() || max <= 0.0 {
        return vec![0.0];
    }
    let raw = max / n.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|&s| s >= raw)
        .unwrap_or(10.0 * mag);
    (0..)
        .map(|i| i as f64 * step)
        .take_while(|&v| v <= max + 1e-9)
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::render::testutil::{decode, save, texts};

    pub(crate) fn sample() -> ScrollData {
        // Everyone sees the first screen; fewer and fewer go further.
        let depths = (0..500u32)
            .map(|i| 800 + (i * i * 37 % 4200) * (i % 7 + 1) / 7)
            .collect();
        ScrollData {
            height: 5000,
            width: 1280,
            depths,
            fold: Some(800),
            title: "/products/shoes".into(),
        }
    }

    #[test]
    fn share_is_full_at_the_top_and_falls_with_depth() {
        let data = sample();
        let mut depths = data.depths.clone();
        depths.sort_unstable();
        let c = ScrollChart {
            data: &data,
            depths,
            height: 5000.0,
        };
        assert_eq!(c.share(0.0), 1.0);
        assert_eq!(c.share(800.0), 1.0);
        assert!(c.share(3000.0) < 0.5);
        assert_eq!(c.share(5001.0), 0.0);
        assert!(c.depth_at(0.5) > 800);
    }

    #[test]
    fn draws_band_curve_and_fold() {
        let png = scrollmap(&sample(), Format::Png).unwrap();
        save("scrollmap.png", &png);
        let ((w, h, _), _) = decode(&png);
        assert_eq!((w, h), (WIDTH, HEIGHT));
        let svg = String::from_utf8(scrollmap(&sample(), Format::Svg).unwrap()).unwrap();
        let t = texts(&svg);
        assert!(t.iter().any(|s| s.starts_with("Fold · 800 px")));
        assert!(t.iter().any(|s| s == "100%") && t.iter().any(|s| s == "1,000 px"));
        assert!(svg.contains("stroke-dasharray") || svg.matches("<polyline").count() > 3);
    }

    #[test]
    fn empty_and_odd_data() {
        let png = scrollmap(&ScrollData::default(), Format::Png).unwrap();
        save("scrollmap-empty.png", &png);
        assert_eq!(decode(&png).0 .0, WIDTH);
        let odd = ScrollData {
            height: 0,
            width: 0,
            depths: vec![0, u32::MAX, 5],
            fold: Some(u32::MAX),
            title: "<&>".into(),
        };
        let svg = String::from_utf8(scrollmap(&odd, Format::Svg).unwrap()).unwrap();
        assert!(svg.contains("&lt;&amp;&gt;"));
        scrollmap(
            &ScrollData {
                depths: vec![0],
                ..Default::default()
            },
            Format::Png,
        )
        .unwrap();
    }

    #[test]
    fn ticks_are_round() {
        assert_eq!(
            ticks(5000.0, 6),
            vec![0.0, 1000.0, 2000.0, 3000.0, 4000.0, 5000.0]
        );
        assert_eq!(ticks(0.0, 6), vec![0.0]);
        assert_eq!(ticks(f64::NAN, 6), vec![0.0]);
    }
}
