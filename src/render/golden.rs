//! Golden-image tests: small deterministic charts compared with committed
//! PNGs in `src/render/golden/`, within a tolerance so that harmless
//! anti-aliasing changes (a plotters or ab_glyph update) do not fail, but
//! a moved label or a changed colour does. After an intended change,
//! regenerate with `TRAILMAP_BLESS=1 cargo test golden` and look at them.

use std::path::PathBuf;

use super::testutil::decode;
use super::*;

/// Largest mean absolute difference per channel (0..=255) accepted.
const MEAN_TOLERANCE: f64 = 1.5;
/// Largest share of pixels allowed to differ by more than 64 in a channel.
const CHANGED_TOLERANCE: f64 = 0.01;

fn check(name: &str, png: &[u8]) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("src/render/golden")
        .join(name);
    if std::env::var_os("TRAILMAP_BLESS").is_some() {
        std::fs::write(&path, recompress(png)).expect("write golden");
        return;
    }
    let want = std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run with TRAILMAP_BLESS=1 to create it",
            path.display()
        )
    });
    let ((w0, h0, c0), a) = decode(&want);
    let ((w1, h1, c1), b) = decode(png);
    assert_eq!(
        (w0, h0, c0),
        (w1, h1, c1),
        "{name}: size or channels changed"
    );
    let diff: u64 = a.iter().zip(&b).map(|(x, y)| x.abs_diff(*y) as u64).sum();
    let mean = diff as f64 / a.len() as f64;
    let changed = a
        .chunks(c0)
        .zip(b.chunks(c0))
        .filter(|(p, q)| p.iter().zip(q.iter()).any(|(x, y)| x.abs_diff(*y) > 64))
        .count();
    let share = changed as f64 / (w0 as f64 * h0 as f64);
    if mean > MEAN_TOLERANCE || share > CHANGED_TOLERANCE {
        let out = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("target")
            .join(format!("golden-actual-{name}"));
        let _ = std::fs::write(&out, png);
        panic!(
            "{name} differs from its golden image (mean {mean:.2}, {:.2}% of pixels changed); actual picture in {}",
            share * 100.0,
            out.display()
        );
    }
}

#[test]
fn golden_sankey() {
    let png = sankey(&sankey::tests::sample(3, 3), 560, 300, Format::Png).unwrap();
    check("sankey.png", &png);
}

#[test]
fn golden_funnel() {
    let (bars, overall) = funnel::tests::sample();
    check(
        "funnel.png",
        &funnel(&bars, overall, 560, 280, Format::Png).unwrap(),
    );
}

#[test]
fn golden_heatmap() {
    let data = heatmap::tests::sample(3000, 300, 360);
    check(
        "heatmap.png",
        &heatmap(&data, HeatmapStyle::Standalone, Format::Png).unwrap(),
    );
}

#[test]
fn golden_scrollmap() {
    check(
        "scrollmap.png",
        &scrollmap(&scrollmap::tests::sample(), Format::Png).unwrap(),
    );
}

#[test]
fn golden_no_data() {
    check(
        "no-data.png",
        &funnel(&[], 0.0, 400, 160, Format::Png).unwrap(),
    );
}

/// The same pixels with the strongest compression, to keep the committed
/// files small (the renderer itself favours speed).
fn recompress(png_bytes: &[u8]) -> Vec<u8> {
    let ((w, h, c), px) = decode(png_bytes);
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, w, h);
    enc.set_color(if c == 4 {
        png::ColorType::Rgba
    } else {
        png::ColorType::Rgb
    });
    enc.set_depth(png::BitDepth::Eight);
    enc.set_compression(png::Compression::High);
    let mut writer = enc.write_header().expect("png header");
    writer.write_image_data(&px).expect("png data");
    writer.finish().expect("png end");
    out
}
