//! Timing checks for the big cases, ignored by default because they only
//! mean something in release builds:
//! `cargo test --release --lib speed -- --ignored --nocapture`.

use std::time::{Duration, Instant};

use super::*;

fn median_time(runs: usize, mut f: impl FnMut() -> usize) -> (Duration, usize) {
    let mut times = Vec::with_capacity(runs);
    let mut bytes = 0;
    for _ in 0..runs {
        let t = Instant::now();
        bytes = f();
        times.push(t.elapsed());
    }
    times.sort();
    (times[runs / 2], bytes)
}

#[test]
#[ignore]
fn heatmap_of_a_million_clicks() {
    let data = heatmap::tests::sample(1_000_000, 1280, 4000);
    for style in [HeatmapStyle::Overlay, HeatmapStyle::Standalone] {
        let (t, bytes) = median_time(7, || heatmap(&data, style, Format::Png).unwrap().len());
        println!("heatmap {style:?} 1M points 1280x4000 PNG: median {t:.1?} ({bytes} bytes)");
        if !cfg!(debug_assertions) {
            assert!(t < Duration::from_millis(250), "{t:?}");
        }
    }
}

#[test]
#[ignore]
fn sankey_of_ten_steps_by_twenty_nodes() {
    let data = sankey::tests::sample(10, 20);
    println!(
        "sankey 10x20: {} nodes, {} links",
        data.nodes.len(),
        data.links.len()
    );
    for format in [Format::Svg, Format::Png] {
        let (t, bytes) = median_time(9, || sankey(&data, 1400, 900, format).unwrap().len());
        println!("sankey 10x20 1400x900 {format:?}: median {t:.1?} ({bytes} bytes)");
        if !cfg!(debug_assertions) {
            assert!(t < Duration::from_millis(50), "{t:?}");
        }
    }
}
