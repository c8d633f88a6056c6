//! Funnel charts: a bar per step (height by sessions), and between bars
//! the sessions lost on the way (count and share), with the compounded
//! conversion from the first step to the last in the title.

use plotters::prelude::*;

use super::canvas::{self, Align, Chart, Painter};
use super::error::RenderError;
use super::input::{Format, FunnelBar};
use super::{palette, text};

const TITLE_SIZE: f64 = 20.0;
const LABEL_SIZE: f64 = 15.0;
const SMALL_SIZE: f64 = 14.0;
const MARGIN: f64 = 24.0;
const TOP: f64 = 84.0;
const BOTTOM: f64 = 62.0;

/// Draws a funnel on a `width`×`height` picture.
pub(crate) fn funnel(
    bars: &[FunnelBar],
    overall_conversion: f64,
    width: u32,
    height: u32,
    format: Format,
) -> Result<Vec<u8>, RenderError> {
    if bars.is_empty() {
        return canvas::render(&canvas::NoData, width, height, format);
    }
    canvas::render(
        &FunnelChart {
            bars,
            overall: overall_conversion,
        },
        width,
        height,
        format,
    )
}

struct FunnelChart<'a> {
    bars: &'a [FunnelBar],
    overall: f64,
}

impl Chart for FunnelChart<'_> {
    fn draw<DB: DrawingBackend>(&self, p: &Painter<'_, DB>) -> Result<(), RenderError> {
        let bars = self.bars;
        let title = format!("Overall conversion {}", text::percent(self.overall));
        p.text(&title, MARGIN, 30.0, TITLE_SIZE, palette::INK, Align::Left)?;
        let first = bars[0].sessions;
        let last = bars[bars.len() - 1].sessions;
        let sub = format!(
            "{} steps  ·  {} → {} sessions",
            bars.len(),
            text::thousands(first.into()),
            text::thousands(last.into())
        );
        if let Some(s) = text::fit(&sub, SMALL_SIZE, p.width - 2.0 * MARGIN) {
            p.text(&s, MARGIN, 56.0, SMALL_SIZE, palette::MUTED, Align::Left)?;
        }

        let (top, base) = (TOP + 22.0, (p.height - BOTTOM).max(TOP + 23.0));
        let plot_h = base - top;
        let slot = (p.width - 2.0 * MARGIN) / bars.len() as f64;
        let bar_w = (slot * 0.58).min(180.0);
        let max = bars.iter().map(|b| b.sessions).max().unwrap_or(0).max(1) as f64;
        let geo: Vec<(f64, f64, f64)> = bars
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let cx = MARGIN + slot * (i as f64 + 0.5);
                let h = b.sessions as f64 / max * plot_h;
                (cx - bar_w / 2.0, cx + bar_w / 2.0, base - h)
            })
            .collect();

        p.line(
            &[(MARGIN, base), (p.width - MARGIN, base)],
            palette::RULE.to_rgba(),
            1,
        )?;
        for (i, b) in bars.iter().enumerate() {
            let (x0, x1, y) = geo[i];
            if let Some(&(nx0, _, ny)) = geo.get(i + 1) {
                // The sessions that went on, as a faint band to the next bar.
                p.polygon(
                    &[(x1, y), (nx0, ny), (nx0, base), (x1, base)],
                    palette::ACCENT.mix(0.10),
                )?;
                self.drop_note(p, b, (x1, nx0), y.max(ny) - 8.0)?;
            }
            p.rect(x0, y, x1, base, palette::ACCENT.to_rgba())?;
            let count = text::thousands(b.sessions.into());
            if text::width(&count, LABEL_SIZE) <= slot - 4.0 {
                p.text(
                    &count,
                    (x0 + x1) / 2.0,
                    y - 12.0,
                    LABEL_SIZE,
                    palette::INK,
                    Align::Center,
                )?;
            }
            let cx = (x0 + x1) / 2.0;
            // A lone "…" tells nothing: then no label at all.
            let label = text::fit(&b.label, LABEL_SIZE, slot - 8.0)
                .filter(|l| *l == b.label || l.chars().count() > 3);
            if let Some(l) = label {
                p.text(&l, cx, base + 16.0, LABEL_SIZE, palette::INK, Align::Center)?;
            }
            let share = format!("{} of start", text::percent(b.conversion_from_start));
            if let Some(s) = [share, text::percent(b.conversion_from_start)]
                .into_iter()
                .find(|s| text::width(s, SMALL_SIZE) <= slot - 8.0)
            {
                p.text(
                    &s,
                    cx,
                    base + 38.0,
                    SMALL_SIZE,
                    palette::MUTED,
                    Align::Center,
                )?;
            }
        }
        Ok(())
    }
}

impl FunnelChart<'_> {
    /// "−1,234 / 45% drop" between two bars, as much of it as fits.
    fn drop_note<DB: DrawingBackend>(
        &self,
        p: &Painter<'_, DB>,
        bar: &FunnelBar,
        (x0, x1): (f64, f64),
        above: f64,
    ) -> Result<(), RenderError> {
        let room = x1 - x0 - 6.0;
        let cx = (x0 + x1) / 2.0;
        let y = above.max(TOP + 40.0) - 20.0;
        // Nobody lost: say so, not "−0 / 0% drop".
        if bar.dropped == 0 {
            if text::width("no drop", SMALL_SIZE) <= room {
                p.text("no drop", cx, y, SMALL_SIZE, palette::MUTED, Align::Center)?;
            }
            return Ok(());
        }
        let count = format!("−{}", text::thousands(bar.dropped.into()));
        let share = if bar.sessions > 0 {
            Some(format!(
                "{} drop",
                text::percent(bar.dropped as f64 / bar.sessions as f64)
            ))
        } else {
            None
        };
        if text::width(&count, SMALL_SIZE) <= room {
            p.text(&count, cx, y, SMALL_SIZE, palette::DROP, Align::Center)?;
            if let Some(s) = share.filter(|s| text::width(s, SMALL_SIZE) <= room) {
                p.text(&s, cx, y + 18.0, SMALL_SIZE, palette::MUTED, Align::Center)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::render::testutil::{count, decode, save, texts};

    pub(crate) fn sample() -> (Vec<FunnelBar>, f64) {
        let steps = [
            ("/", 10_000),
            ("/products/shoes", 6_200),
            ("/cart", 2_100),
            ("/checkout", 1_300),
            ("/thank-you", 900),
        ];
        let bars: Vec<FunnelBar> = steps
            .iter()
            .enumerate()
            .map(|(i, &(label, sessions))| FunnelBar {
                label: label.into(),
                sessions,
                conversion_from_previous: if i == 0 {
                    1.0
                } else {
                    sessions as f64 / steps[i - 1].1 as f64
                },
                conversion_from_start: sessions as f64 / 10_000.0,
                dropped: steps.get(i + 1).map_or(0, |n| sessions - n.1),
            })
            .collect();
        (bars, 0.09)
    }

    #[test]
    fn bars_drops_and_overall_conversion_are_shown() {
        let (bars, overall) = sample();
        let svg =
            String::from_utf8(funnel(&bars, overall, 900, 420, Format::Svg).unwrap()).unwrap();
        let t = texts(&svg);
        assert!(t.iter().any(|s| s == "Overall conversion 9.0%"), "{t:?}");
        assert!(
            t.iter().any(|s| s == "−3,800") && t.iter().any(|s| s == "38% drop"),
            "{t:?}"
        );
        // background + one rect per bar
        assert_eq!(count(&svg, "<rect"), 1 + bars.len());
        let png = funnel(&bars, overall, 900, 420, Format::Png).unwrap();
        save("funnel.png", &png);
        assert_eq!(decode(&png).0, (900, 420, 3));
    }

    #[test]
    fn a_step_nobody_left_says_no_drop() {
        let bar = |sessions, dropped| FunnelBar {
            label: "^/cart$".into(),
            sessions,
            conversion_from_previous: 1.0,
            conversion_from_start: 1.0,
            dropped,
        };
        let bars = [bar(120, 0), bar(120, 20), bar(100, 0)];
        let svg = String::from_utf8(funnel(&bars, 0.83, 900, 420, Format::Svg).unwrap()).unwrap();
        let t = texts(&svg);
        assert!(t.iter().any(|s| s == "no drop"), "{t:?}");
        assert!(!t.iter().any(|s| s == "−0" || s == "0% drop"), "{t:?}");
        assert!(t.iter().any(|s| s == "−20"), "{t:?}");
    }

    #[test]
    fn empty_many_and_odd_funnels() {
        let png = funnel(&[], 0.0, 600, 300, Format::Png).unwrap();
        assert_eq!(decode(&png).0, (600, 300, 3));
        let (bars, _) = sample();
        let many: Vec<FunnelBar> = bars.iter().cycle().take(40).cloned().collect();
        save(
            "funnel-40.png",
            &funnel(&many, f64::NAN, 900, 300, Format::Png).unwrap(),
        );
        let zero = vec![FunnelBar {
            label: "<&>".into(),
            sessions: 0,
            conversion_from_previous: f64::NAN,
            conversion_from_start: f64::INFINITY,
            dropped: 0,
        }];
        let svg = String::from_utf8(funnel(&zero, 0.0, 10, 10, Format::Svg).unwrap()).unwrap();
        assert!(!svg.contains("<&>"));
        assert!(funnel(&zero, 0.0, 0, 10, Format::Png).is_err());
    }
}
