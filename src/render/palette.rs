//! Colours shared by the charts, in one place so that every chart speaks
//! the same visual language: neutral greys for chrome, one categorical
//! palette for journey stages, red for drop-off, and one colour ramp
//! (blue → green → yellow → red) for "how much" in heat and scroll maps.

use plotters::style::RGBColor;

/// Primary text.
pub(crate) const INK: RGBColor = RGBColor(0x1f, 0x29, 0x37);
/// Secondary text: counts, axis labels, notes.
pub(crate) const MUTED: RGBColor = RGBColor(0x6b, 0x72, 0x80);
/// Hairlines: axes, grid, borders.
pub(crate) const RULE: RGBColor = RGBColor(0xd1, 0xd5, 0xdb);
/// Background around a page in standalone pictures.
pub(crate) const CANVAS: RGBColor = RGBColor(0xf1, 0xf3, 0xf6);
/// Drop-off and losses.
pub(crate) const DROP: RGBColor = RGBColor(0xdc, 0x3d, 0x3d);
/// "Other" nodes: everything below the top pages of a step.
pub(crate) const OTHER: RGBColor = RGBColor(0xc4, 0xc9, 0xd1);
/// The dashed edge of "other" nodes.
pub(crate) const OTHER_EDGE: RGBColor = RGBColor(0x6b, 0x72, 0x80);
/// Bars and curves that are not about a stage.
pub(crate) const ACCENT: RGBColor = RGBColor(0x3b, 0x6e, 0xa8);
/// Rage/dead click markers: a colour the heat ramp never uses.
pub(crate) const MARK: RGBColor = RGBColor(0x7e, 0x22, 0xce);

/// Journey stage colours (colour-blind aware, no red: red means drop-off).
const STAGES: [RGBColor; 10] = [
    RGBColor(0x3b, 0x6e, 0xa8), // blue
    RGBColor(0xf0, 0x8a, 0x24), // orange
    RGBColor(0x4e, 0xa0, 0x5a), // green
    RGBColor(0x9b, 0x6a, 0xb5), // purple
    RGBColor(0x2a, 0xa1, 0x98), // teal
    RGBColor(0xd4, 0xa7, 0x1f), // gold
    RGBColor(0x9c, 0x75, 0x5f), // brown
    RGBColor(0xe0, 0x7b, 0xa8), // pink
    RGBColor(0x6f, 0x8f, 0x2f), // olive
    RGBColor(0x5b, 0x5f, 0xc7), // indigo
];

/// The colour of a journey stage; nodes without a stage get the first.
pub(crate) fn stage(stage: Option<usize>) -> RGBColor {
    STAGES[stage.unwrap_or(0) % STAGES.len()]
}

/// `#rrggbb`, for the API's answers that the dashboards draw with, so the
/// interactive chart and the rendered one colour each node alike.
pub(crate) fn hex(c: RGBColor) -> String {
    format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2)
}

/// Stops of the "how much" ramp, from none (0) to most (1).
const RAMP: [(f64, [f64; 3]); 5] = [
    (0.0, [49.0, 99.0, 206.0]),   // blue
    (0.35, [33.0, 170.0, 120.0]), // green
    (0.62, [245.0, 208.0, 40.0]), // yellow
    (0.82, [245.0, 130.0, 35.0]), // orange
    (1.0, [214.0, 39.0, 40.0]),   // red
];

/// The ramp's opaque colour at `t` (clamped to 0..=1; NaN counts as 0).
pub(crate) fn ramp(t: f64) -> [u8; 3] {
    let t = if t.is_nan() { 0.0 } else { t.clamp(0.0, 1.0) };
    let mut lo = RAMP[0];
    for &hi in &RAMP[1..] {
        if t <= hi.0 {
            let f = (t - lo.0) / (hi.0 - lo.0);
            let c = |i: usize| (lo.1[i] + (hi.1[i] - lo.1[i]) * f).round() as u8;
            return [c(0), c(1), c(2)];
        }
        lo = hi;
    }
    let c = RAMP[RAMP.len() - 1].1;
    [c[0] as u8, c[1] as u8, c[2] as u8]
}

/// The ramp as a plotters colour.
pub(crate) fn ramp_color(t: f64) -> RGBColor {
    let [r, g, b] = ramp(t);
    RGBColor(r, g, b)
}

/// Opacity of the heat overlay at density `t`: fully transparent where
/// there is (almost) nothing, so the page stays readable, then rising so
/// that hot spots stand out while the page still shows through.
pub(crate) fn heat_alpha(t: f64) -> f64 {
    const FLOOR: f64 = 0.015;
    if t.is_nan() || t <= FLOOR {
        return 0.0;
    }
    let t = t.min(1.0);
    let rise = ((t - FLOOR) / 0.2).min(1.0);
    0.45 * rise + 0.35 * t
}

/// 256 straight-alpha RGBA colours for densities 0..=1, indexed by
/// `(t * 255) as u8`: the heat raster looks colours up instead of
/// interpolating the ramp per pixel.
pub(crate) fn heat_lut() -> &'static [[u8; 4]; 256] {
    use std::sync::OnceLock;
    static LUT: OnceLock<[[u8; 4]; 256]> = OnceLock::new();
    LUT.get_or_init(|| {
        let mut lut = [[0u8; 4]; 256];
        for (i, px) in lut.iter_mut().enumerate() {
            let t = i as f64 / 255.0;
            let [r, g, b] = ramp(t);
            *px = [r, g, b, (heat_alpha(t) * 255.0).round() as u8];
        }
        lut
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ramp_runs_from_blue_to_red_and_survives_nan() {
        assert!(ramp(0.0)[2] > 150);
        assert!(ramp(1.0)[0] > 200);
        assert_eq!(ramp(f64::NAN), ramp(0.0));
        assert_eq!(ramp(7.0), ramp(1.0));
        assert_eq!(stage(Some(13)), stage(Some(3)));
    }

    #[test]
    fn the_heat_lut_is_transparent_at_zero_and_opaque_enough_at_the_top() {
        let lut = heat_lut();
        assert_eq!(lut[0][3], 0);
        assert!(lut[255][3] > 180);
        assert!(lut.windows(2).all(|w| w[0][3] <= w[1][3]));
    }
}
