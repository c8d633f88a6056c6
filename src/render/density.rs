//! Kernel density of weighted click points: the heat in a heatmap. Points
//! are binned on a grid of 4×4 px cells, blurred with a separable Gaussian
//! (two 1-D passes instead of one 2-D kernel), normalised to 0..=1 and read
//! back per pixel with bilinear interpolation. This is what lets a million
//! clicks become a heat layer in a few ms: the cost follows the grid, not
//! the points.

use super::input::HeatPoint;

/// Output px per grid cell.
const CELL: f64 = 4.0;
/// Gaussian σ in document px: a single click shows as a blob of about
/// 25 px radius, the size of a button.
pub(crate) const SIGMA_PX: f64 = 12.0;

/// Smoothed density on the grid, normalised so that the peak is 1.
pub(crate) struct Density {
    gw: usize,
    gh: usize,
    values: Vec<f32>,
}

/// The density of `points` (document px, which `scale` maps to output px)
/// on an `out_w`×`out_h` picture; `None` when no point with a positive
/// finite weight falls inside the document.
pub(crate) fn estimate(
    points: &[HeatPoint],
    (doc_w, doc_h): (f64, f64),
    scale: f64,
    (out_w, out_h): (u32, u32),
) -> Option<Density> {
    let gw = (out_w as f64 / CELL).ceil().max(1.0) as usize;
    let gh = (out_h as f64 / CELL).ceil().max(1.0) as usize;
    let mut grid = vec![0f32; gw * gh];
    let k = (scale / CELL) as f32;
    let (dw, dh) = (doc_w as f32, doc_h as f32);
    let mut any = false;
    for p in points {
        // NaN fails every comparison, so it is skipped with the rest.
        if !(p.weight > 0.0
            && p.weight.is_finite()
            && p.x >= 0.0
            && p.x <= dw
            && p.y >= 0.0
            && p.y <= dh)
        {
            continue;
        }
        let gx = ((p.x * k) as usize).min(gw - 1);
        let gy = ((p.y * k) as usize).min(gh - 1);
        grid[gy * gw + gx] += p.weight;
        any = true;
    }
    if !any {
        return None;
    }
    let sigma = (SIGMA_PX * scale / CELL).max(0.5);
    let kernel = gaussian(sigma);
    let blurred = blur(&grid, gw, gh, &kernel);
    let max = blurred.iter().fold(0f32, |m, &v| m.max(v));
    if !(max > 0.0 && max.is_finite()) {
        return None;
    }
    let inv = 1.0 / max;
    let values = blurred.into_iter().map(|v| v * inv).collect();
    Some(Density { gw, gh, values })
}

/// A normalised 1-D Gaussian cut at 3σ.
fn gaussian(sigma: f64) -> Vec<f32> {
    let r = (3.0 * sigma).ceil() as i64;
    let mut k: Vec<f64> = (-r..=r)
        .map(|i| (-(i as f64).powi(2) / (2.0 * sigma * sigma)).exp())
        .collect();
    let sum: f64 = k.iter().sum();
    k.iter_mut().for_each(|v| *v /= sum);
    k.into_iter().map(|v| v as f32).collect()
}

/// Separable blur with zeros outside the grid (no clicks off the page).
fn blur(grid: &[f32], gw: usize, gh: usize, kernel: &[f32]) -> Vec<f32> {
    let r = kernel.len() / 2;
    // Horizontal pass, row by row through a zero-padded copy.
    let mut horizontal = vec![0f32; gw * gh];
    let mut padded = vec![0f32; gw + 2 * r];
    for y in 0..gh {
        let row = &grid[y * gw..(y + 1) * gw];
        if row.iter().all(|&v| v == 0.0) {
            continue; // most rows of a long page have no clicks
        }
        padded[r..r + gw].copy_from_slice(row);
        let out = &mut horizontal[y * gw..(y + 1) * gw];
        for (x, o) in out.iter_mut().enumerate() {
            let window = &padded[x..x + kernel.len()];
            *o = window.iter().zip(kernel).map(|(a, b)| a * b).sum();
        }
    }
    // Vertical pass as whole-row multiply-adds, which vectorise well.
    let mut out = vec![0f32; gw * gh];
    for (y, out_row) in out.chunks_exact_mut(gw).enumerate() {
        for (j, &kv) in kernel.iter().enumerate() {
            let Some(src_y) = (y + j).checked_sub(r).filter(|&s| s < gh) else {
                continue;
            };
            let src = &horizontal[src_y * gw..(src_y + 1) * gw];
            for (o, &s) in out_row.iter_mut().zip(src) {
                *o += kv * s;
            }
        }
    }
    out
}

impl Density {
    /// Calls `row(y, values)` for each output row with the density (0..=1)
    /// of each of its `out_w` pixels, bilinearly interpolated between the
    /// centres of grid cells.
    pub(crate) fn rows(&self, out_w: u32, out_h: u32, mut row: impl FnMut(usize, &[f32])) {
        let (gw, gh) = (self.gw, self.gh);
        let split = |p: usize, n: usize| {
            let g = ((p as f64 + 0.5) / CELL - 0.5).max(0.0);
            let i = (g.floor() as usize).min(n - 1);
            let next = (i + 1).min(n - 1);
            (i, next, (g - i as f64).clamp(0.0, 1.0) as f32)
        };
        let columns: Vec<(usize, usize, f32)> = (0..out_w as usize).map(|x| split(x, gw)).collect();
        let mut mixed = vec![0f32; gw];
        let mut line = vec![0f32; out_w as usize];
        for y in 0..out_h as usize {
            let (y0, y1, fy) = split(y, gh);
            let (a, b) = (
                &self.values[y0 * gw..(y0 + 1) * gw],
                &self.values[y1 * gw..(y1 + 1) * gw],
            );
            for ((m, &va), &vb) in mixed.iter_mut().zip(a).zip(b) {
                *m = va + (vb - va) * fy;
            }
            for (l, &(x0, x1, fx)) in line.iter_mut().zip(&columns) {
                *l = mixed[x0] + (mixed[x1] - mixed[x0]) * fx;
            }
            row(y, &line);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(x: f32, y: f32) -> HeatPoint {
        HeatPoint { x, y, weight: 1.0 }
    }

    fn sample(d: &Density, w: u32, h: u32, x: usize, y: usize) -> f32 {
        let mut v = 0.0;
        d.rows(w, h, |row, vals| {
            if row == y {
                v = vals[x];
            }
        });
        v
    }

    #[test]
    fn the_peak_is_at_the_clicks_and_falls_off_with_distance() {
        let d = estimate(
            &[p(100.0, 100.0), p(101.0, 99.0)],
            (400.0, 400.0),
            1.0,
            (400, 400),
        )
        .unwrap();
        let at = sample(&d, 400, 400, 100, 100);
        let near = sample(&d, 400, 400, 112, 100);
        let far = sample(&d, 400, 400, 160, 100);
        assert!(at > 0.8, "{at}");
        assert!(near < at && near > 0.3, "{near}");
        assert!(far < 0.01, "{far}");
    }

    #[test]
    fn bad_points_are_ignored() {
        let bad = [
            HeatPoint {
                x: f32::NAN,
                y: 1.0,
                weight: 1.0,
            },
            HeatPoint {
                x: 1.0,
                y: f32::INFINITY,
                weight: 1.0,
            },
            HeatPoint {
                x: 1.0,
                y: 1.0,
                weight: f32::NAN,
            },
            HeatPoint {
                x: 1.0,
                y: 1.0,
                weight: -3.0,
            },
            HeatPoint {
                x: 1e30,
                y: 1.0,
                weight: 1.0,
            },
            HeatPoint {
                x: -1.0,
                y: 1.0,
                weight: 1.0,
            },
        ];
        assert!(estimate(&bad, (100.0, 100.0), 1.0, (100, 100)).is_none());
        assert!(estimate(&[], (100.0, 100.0), 1.0, (100, 100)).is_none());
    }

    #[test]
    fn weight_counts() {
        let pts = [
            p(50.0, 50.0),
            HeatPoint {
                x: 250.0,
                y: 50.0,
                weight: 4.0,
            },
        ];
        let d = estimate(&pts, (300.0, 100.0), 1.0, (300, 100)).unwrap();
        let light = sample(&d, 300, 100, 50, 50);
        let heavy = sample(&d, 300, 100, 250, 50);
        assert!(
            (heavy - 1.0).abs() < 0.05 && (light - 0.25).abs() < 0.05,
            "{light} {heavy}"
        );
    }

    #[test]
    fn kernel_sums_to_one() {
        for s in [0.5, 3.0, 10.0] {
            let k = gaussian(s);
            assert!((k.iter().sum::<f32>() - 1.0).abs() < 1e-5);
            assert_eq!(k.len() % 2, 1);
        }
    }
}
