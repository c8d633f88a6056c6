//! The built-in font: registration with plotters, text measurement, and
//! shortening labels to a width. Labels come from visitors (URL paths), so
//! they can be any length and contain anything; layout code measures them
//! here with the same font and formula plotters draws with, which is what
//! lets the Sankey layout prove that its labels do not overlap.

use std::sync::OnceLock;

use ab_glyph::{Font, FontRef, ScaleFont};
use plotters::style::FontStyle;

/// DejaVu Sans (Bitstream Vera licence, see `assets/fonts/`).
static FONT_BYTES: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// The family name charts ask plotters for. Registering the built-in font
/// under the generic name means SVG viewers fall back to their own
/// sans-serif, and bitmaps never look for a system font.
pub(crate) const FAMILY: &str = "sans-serif";

/// The ellipsis that marks a shortened label.
pub(crate) const ELLIPSIS: char = '…';

/// Labels longer than this are cut before measuring: no column is wide
/// enough to show them whole, and it bounds the work for hostile input.
const MAX_CHARS: usize = 300;

fn font() -> Option<&'static FontRef<'static>> {
    static FONT: OnceLock<Option<FontRef<'static>>> = OnceLock::new();
    FONT.get_or_init(|| FontRef::try_from_slice(FONT_BYTES).ok())
        .as_ref()
}

/// Registers the built-in font with plotters once per process.
pub(crate) fn ensure_registered() -> bool {
    static DONE: OnceLock<bool> = OnceLock::new();
    *DONE.get_or_init(|| {
        plotters::style::register_font(FAMILY, FontStyle::Normal, FONT_BYTES).is_ok()
    })
}

/// The em size in px that plotters' SVG backend writes for font `size`
/// (`font-size = size / 1.24`). Bitmap text is drawn at the same em so
/// that both formats lay out alike.
pub(crate) fn em(size: f64) -> f64 {
    size / 1.24
}

/// ab_glyph's scale for font `size`: ab_glyph scales so that ascent minus
/// descent spans the given px, not the em.
fn px_scale(font: &FontRef<'static>, size: f64) -> ab_glyph::PxScale {
    let units_per_em = font.units_per_em().unwrap_or(2048.0);
    let h = em(size) as f32 * font.height_unscaled() / units_per_em;
    ab_glyph::PxScale::from(h)
}

/// Advance widths of each char at font `size`.
fn advances(text: &str, size: f64) -> Vec<f64> {
    let Some(font) = font() else {
        // Unreachable with the embedded font; a rough guess keeps layout sane.
        return text.chars().map(|_| em(size) * 0.6).collect();
    };
    let scaled = font.as_scaled(px_scale(font, size));
    text.chars()
        .map(|c| scaled.h_advance(font.glyph_id(c)) as f64)
        .collect()
}

/// Rasterises one line of text with its left end at `x` and its baseline
/// at `baseline`, calling `put(x, y, coverage)` per touched pixel.
///
/// plotters' own bitmap text drops each glyph's side bearing and rounds
/// glyph positions, which makes letter spacing uneven ("reac hing"); this
/// places glyphs at their exact positions with their bearings.
pub(crate) fn rasterize(
    text: &str,
    size: f64,
    x: f64,
    baseline: f64,
    mut put: impl FnMut(i32, i32, f32),
) {
    let Some(font) = font() else { return };
    let scale = px_scale(font, size);
    let scaled = font.as_scaled(scale);
    let mut caret = x as f32;
    for c in text.chars() {
        let id = font.glyph_id(c);
        let glyph = id.with_scale_and_position(scale, ab_glyph::point(caret, baseline as f32));
        caret += scaled.h_advance(id);
        if let Some(outline) = font.outline_glyph(glyph) {
            let b = outline.px_bounds();
            outline.draw(|gx, gy, cov| {
                put(b.min.x as i32 + gx as i32, b.min.y as i32 + gy as i32, cov)
            });
        }
    }
}

/// Offset from a line's vertical centre to its baseline: half the
/// x-height, as SVG's `dy="0.5ex"` does (DejaVu's x-height is 0.55 em).
pub(crate) fn centre_to_baseline(size: f64) -> f64 {
    0.5 * 0.547 * em(size)
}

/// Width in px of `text` drawn at plotters font size `size`.
pub(crate) fn width(text: &str, size: f64) -> f64 {
    advances(text, size).iter().sum()
}

/// Height in px of one line of text at font size `size`.
pub(crate) fn line_height(size: f64) -> f64 {
    (em(size) * 1.3).ceil()
}

/// `text` if it fits in `max_width`, else a shortened form with an
/// ellipsis: in the middle for URL paths (they keep their first section
/// and their last, most specific part), at the end for other text.
/// `None` when not even the ellipsis fits.
pub(crate) fn fit(text: &str, size: f64, max_width: f64) -> Option<String> {
    // Control characters would draw as boxes or break SVG viewers.
    let mut visible = text.chars().filter(|c| !c.is_control());
    let clean: String = visible.by_ref().take(MAX_CHARS).collect();
    let cut = visible.next().is_some();
    let adv = advances(&clean, size);
    let total: f64 = adv.iter().sum();
    if total <= max_width && !cut {
        return Some(clean);
    }
    let dots = width(&ELLIPSIS.to_string(), size);
    if max_width.is_nan() || dots > max_width {
        return None;
    }
    let chars: Vec<char> = clean.chars().collect();
    let mut prefix = vec![0.0; chars.len() + 1];
    for (i, a) in adv.iter().enumerate() {
        prefix[i + 1] = prefix[i] + a;
    }
    let n = chars.len();
    // Keep `keep` chars: for paths 40% from the start and the rest from
    // the end, for other text all from the start.
    let path = clean.starts_with('/');
    for keep in (0..n).rev() {
        let head = if path { keep * 2 / 5 } else { keep };
        let tail = keep - head;
        let w = prefix[head] + (prefix[n] - prefix[n - tail]) + dots;
        if w <= max_width {
            let mut s: String = chars[..head].iter().collect();
            s.push(ELLIPSIS);
            s.extend(chars[n - tail..].iter());
            return Some(s);
        }
    }
    Some(ELLIPSIS.to_string())
}

/// `12345` as `12,345`.
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A share (0..=1) as a short percentage: `45%`, `4.5%`, `0.45%`.
pub(crate) fn percent(share: f64) -> String {
    if !share.is_finite() {
        return "–".to_string();
    }
    let p = share * 100.0;
    if p == 0.0 || p.abs() >= 10.0 {
        format!("{p:.0}%")
    } else if p.abs() >= 1.0 {
        format!("{p:.1}%")
    } else {
        format!("{p:.2}%")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_font_loads_and_registers() {
        assert!(font().is_some());
        assert!(ensure_registered());
        assert!(width("Checkout", 15.0) > 40.0);
        assert!(width("WWW", 15.0) > width("iii", 15.0));
    }

    #[test]
    fn fit_keeps_short_text_and_shortens_long_text_in_the_middle() {
        assert_eq!(fit("/cart", 15.0, 200.0).as_deref(), Some("/cart"));
        let long = "/products/category/a-very-long-product-name-indeed";
        let s = fit(long, 15.0, 120.0).unwrap();
        assert!(s.contains(ELLIPSIS), "{s}");
        assert!(s.starts_with("/pro"), "{s}");
        assert!(s.ends_with("indeed"), "{s}");
        assert!(width(&s, 15.0) <= 120.0);
        assert_eq!(fit(long, 15.0, 1.0), None);
        let other = fit("Other (12 pages and more)", 15.0, 80.0).unwrap();
        assert!(
            other.starts_with("Other") && other.ends_with(ELLIPSIS),
            "{other}"
        );
        assert_eq!(fit(long, 15.0, f64::NAN), None);
        assert_eq!(fit("a\u{7}b\n", 15.0, 100.0).as_deref(), Some("ab"));
        let huge = "x".repeat(100_000);
        assert!(fit(&huge, 15.0, 1e9).unwrap().contains(ELLIPSIS));
    }

    #[test]
    fn numbers_are_formatted_for_people() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(percent(0.5), "50%");
        assert_eq!(percent(0.045), "4.5%");
        assert_eq!(percent(0.0045), "0.45%");
        assert_eq!(percent(0.0), "0%");
        assert_eq!(percent(f64::NAN), "–");
    }
}
