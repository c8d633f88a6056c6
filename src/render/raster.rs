//! Pixel-level helpers for the charts that are rasters first (heat maps):
//! blending colours into RGB or RGBA buffers and stamping anti-aliased
//! markers. Drawing a million things through plotters' element API would
//! be far too slow; these loops write the buffer directly.

use super::input::HeatPoint;

/// A pixel buffer: RGB (3 channels, opaque) or straight-alpha RGBA (4).
pub(crate) struct Pixels<'a> {
    pub data: &'a mut [u8],
    pub width: usize,
    pub height: usize,
    pub channels: usize,
}

impl Pixels<'_> {
    /// Paints `color` with opacity `alpha` (0..=1) over pixel (x, y).
    #[inline]
    pub(crate) fn blend(&mut self, x: usize, y: usize, color: [u8; 3], alpha: f32) {
        if x >= self.width || y >= self.height || alpha.is_nan() || alpha <= 0.0 {
            return;
        }
        let i = (y * self.width + x) * self.channels;
        blend_at(&mut self.data[i..i + self.channels], color, alpha.min(1.0));
    }
}

/// Source-over blending of one straight-alpha colour into one pixel.
#[inline]
pub(crate) fn blend_at(px: &mut [u8], color: [u8; 3], alpha: f32) {
    if px.len() == 4 {
        let da = px[3] as f32 / 255.0;
        let out_a = alpha + da * (1.0 - alpha);
        if out_a <= 0.0 {
            return;
        }
        for c in 0..3 {
            let v = (color[c] as f32 * alpha + px[c] as f32 * da * (1.0 - alpha)) / out_a;
            px[c] = (v + 0.5) as u8; // values are >= 0: cheaper than round()
        }
        px[3] = (out_a * 255.0 + 0.5) as u8;
    } else {
        for c in 0..3 {
            px[c] = (color[c] as f32 * alpha + px[c] as f32 * (1.0 - alpha) + 0.5) as u8;
        }
    }
}

/// Fills the band between two edges given as polylines with increasing x
/// (a Sankey ribbon), column by column with vertical anti-aliasing.
pub(crate) fn fill_band(
    px: &mut Pixels<'_>,
    top: &[(f64, f64)],
    bottom: &[(f64, f64)],
    color: [u8; 3],
    alpha: f32,
) {
    let (Some(first), Some(last)) = (top.first(), top.last()) else {
        return;
    };
    let x_start = first.0.max(0.0).round();
    let x_end = last.0.min(px.width as f64).round();
    if x_start.is_nan() || x_end.is_nan() || x_start >= x_end {
        return;
    }
    let a = (alpha.clamp(0.0, 1.0) * 256.0) as u32;
    let (mut it, mut ib) = (0, 0);
    for col in x_start as usize..x_end as usize {
        let xc = col as f64 + 0.5;
        let yt = interpolate(top, xc, &mut it);
        let yb = interpolate(bottom, xc, &mut ib);
        let (y0, y1) = (yt.max(0.0), yb.min(px.height as f64));
        if y0.is_nan() || y1.is_nan() || y0 >= y1 {
            continue;
        }
        let (first, last) = (y0.floor() as usize, (y1.ceil() as usize).min(px.height));
        for row in first..last {
            let cover = (y1.min(row as f64 + 1.0) - y0.max(row as f64)).clamp(0.0, 1.0);
            if cover >= 1.0 && px.channels == 3 {
                // Inside the band: integer blending, the hot loop of a big Sankey.
                let i = (row * px.width + col) * 3;
                for (d, &c) in px.data[i..i + 3].iter_mut().zip(&color) {
                    *d = ((c as u32 * a + *d as u32 * (256 - a) + 128) >> 8) as u8;
                }
            } else {
                px.blend(col, row, color, alpha * cover as f32);
            }
        }
    }
}

/// y of a polyline with increasing x at `x`; `seg` remembers the segment
/// between calls with increasing x.
fn interpolate(line: &[(f64, f64)], x: f64, seg: &mut usize) -> f64 {
    while *seg + 2 < line.len() && line[*seg + 1].0 < x {
        *seg += 1;
    }
    let (a, b) = (line[*seg], line[(*seg + 1).min(line.len() - 1)]);
    if b.0 - a.0 <= 1e-9 {
        return b.1;
    }
    let f = ((x - a.0) / (b.0 - a.0)).clamp(0.0, 1.0);
    a.1 + (b.1 - a.1) * f
}

/// Rage/dead clicks gathered per cell: (x, y) in output px and weight.
pub(crate) fn cluster_marks(
    marks: &[HeatPoint],
    doc: (f64, f64),
    scale: f64,
    out: (u32, u32),
) -> Vec<(f64, f64, f64)> {
    // Cells of 12 output px: close marks become one bigger marker instead
    // of a smudge of overlapping rings.
    const CELL: f64 = 12.0;
    let cw = (out.0 as f64 / CELL).ceil().max(1.0) as usize;
    let ch = (out.1 as f64 / CELL).ceil().max(1.0) as usize;
    let mut cells = vec![(0f64, 0f64, 0f64); cw * ch];
    for m in marks {
        let (x, y, w) = (m.x as f64, m.y as f64, m.weight as f64);
        if !(w > 0.0 && w.is_finite() && x >= 0.0 && x <= doc.0 && y >= 0.0 && y <= doc.1) {
            continue;
        }
        let (ox, oy) = (x * scale, y * scale);
        let cx = ((ox / CELL) as usize).min(cw - 1);
        let cy = ((oy / CELL) as usize).min(ch - 1);
        let c = &mut cells[cy * cw + cx];
        c.0 += w;
        c.1 += w * ox;
        c.2 += w * oy;
    }
    cells
        .into_iter()
        .filter(|c| c.0 > 0.0)
        .map(|(w, sx, sy)| (sx / w, sy / w, w))
        .collect()
}

/// Marker radius in px for a cluster of `weight` rage/dead clicks.
pub(crate) fn mark_radius(weight: f64) -> f64 {
    (3.5 + 1.3 * weight.ln_1p()).min(10.0)
}

/// An anti-aliased ring marker: white halo, translucent fill, solid ring.
pub(crate) fn stamp_ring(px: &mut Pixels<'_>, cx: f64, cy: f64, r: f64, color: [u8; 3]) {
    let reach = r + 3.0;
    let x0 = (cx - reach).floor().max(0.0) as usize;
    let y0 = (cy - reach).floor().max(0.0) as usize;
    let x1 = ((cx + reach).ceil().max(0.0) as usize).min(px.width);
    let y1 = ((cy + reach).ceil().max(0.0) as usize).min(px.height);
    for y in y0..y1 {
        for x in x0..x1 {
            let d = ((x as f64 + 0.5 - cx).powi(2) + (y as f64 + 0.5 - cy).powi(2)).sqrt();
            let off = (d - r).abs();
            let halo = (2.6 - off).clamp(0.0, 1.0) * 0.9;
            let fill = (r - d + 0.5).clamp(0.0, 1.0) * 0.28;
            let ring = (1.4 - off).clamp(0.0, 1.0);
            px.blend(x, y, [255, 255, 255], halo as f32);
            px.blend(x, y, color, fill as f32);
            px.blend(x, y, color, ring as f32);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blending_rgba_over_transparent_keeps_the_colour() {
        let mut px = [0u8, 0, 0, 0];
        blend_at(&mut px, [200, 100, 50], 0.5);
        assert_eq!(px, [200, 100, 50, 128]);
        let mut rgb = [255u8, 255, 255];
        blend_at(&mut rgb, [0, 0, 0], 0.5);
        assert_eq!(rgb, [128, 128, 128]);
    }

    #[test]
    fn marks_cluster_per_cell_and_skip_garbage() {
        let m = |x, y| HeatPoint { x, y, weight: 1.0 };
        let marks = [
            m(10.0, 10.0),
            m(11.0, 10.0),
            m(100.0, 100.0),
            m(f32::NAN, 1.0),
            m(1e9, 1.0),
        ];
        let c = cluster_marks(&marks, (200.0, 200.0), 1.0, (200, 200));
        assert_eq!(c.len(), 2);
        assert!(c
            .iter()
            .any(|&(x, _, w)| (x - 10.5).abs() < 1e-9 && w == 2.0));
    }

    #[test]
    fn bands_fill_between_their_edges() {
        let mut data = vec![255u8; 10 * 10 * 3];
        let mut px = Pixels {
            data: &mut data,
            width: 10,
            height: 10,
            channels: 3,
        };
        fill_band(
            &mut px,
            &[(2.0, 2.0), (8.0, 2.0)],
            &[(2.0, 4.5), (8.0, 4.5)],
            [0, 0, 0],
            1.0,
        );
        let at = |x: usize, y: usize| data[(y * 10 + x) * 3];
        assert_eq!((at(1, 3), at(2, 3), at(7, 3), at(8, 3)), (255, 0, 0, 255));
        assert_eq!((at(4, 1), at(4, 4), at(4, 5)), (255, 128, 255));
        let mut px = Pixels {
            data: &mut data,
            width: 10,
            height: 10,
            channels: 3,
        };
        fill_band(
            &mut px,
            &[(-1e9, f64::NAN), (1e9, -5.0)],
            &[(-1e9, 1e9), (1e9, 1e12)],
            [0, 0, 0],
            0.5,
        );
        fill_band(&mut px, &[], &[], [0, 0, 0], 0.5);
    }

    #[test]
    fn stamping_near_edges_stays_inside() {
        let mut data = vec![0u8; 20 * 20 * 4];
        let mut px = Pixels {
            data: &mut data,
            width: 20,
            height: 20,
            channels: 4,
        };
        for (x, y) in [(0.0, 0.0), (19.5, 19.5), (-50.0, 3.0), (1e12, 1e12)] {
            stamp_ring(&mut px, x, y, 8.0, [126, 34, 206]);
        }
        assert!(data.iter().any(|&v| v > 0));
    }
}
