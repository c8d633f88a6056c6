//! What the charts draw: the data each drawer takes, and the output
//! format. Plain data with no drawing code, kept apart from the drawers so
//! that the rooms that build chart input (mining results, the heatmap
//! click mapping in `heat`) depend on these types alone, and the drawers
//! depend on them without anything here depending on a drawer.

use std::path::Path;

/// Output encoding of a chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Format {
    Svg,
    Png,
}

impl Format {
    /// The format named by a file's extension (`.svg`, `.png`, any case).
    pub(crate) fn from_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?;
        if ext.eq_ignore_ascii_case("svg") {
            Some(Format::Svg)
        } else if ext.eq_ignore_ascii_case("png") {
            Some(Format::Png)
        } else {
            None
        }
    }

    /// The HTTP `Content-Type` of this format.
    pub(crate) fn content_type(&self) -> &'static str {
        match self {
            Format::Svg => "image/svg+xml",
            Format::Png => "image/png",
        }
    }
}

// Journey graph (Sankey).

/// One page at one step of the journeys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SankeyNode {
    /// Column, from 0.
    pub step: usize,
    /// What to show (a URL path, or "Other (12 pages)"); from visitors.
    pub label: String,
    /// Sessions at this page at this step.
    pub sessions: u32,
    /// Sessions that ended here.
    pub drop_off: u32,
    /// The node stands for the pages below the step's top N.
    pub other: bool,
    /// Index into [`SankeyData::stages`] for colour and legend.
    pub stage: Option<usize>,
}

/// Sessions going from one node to a node of the next step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SankeyLink {
    pub from: usize,
    pub to: usize,
    pub sessions: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct SankeyData {
    pub nodes: Vec<SankeyNode>,
    /// Links whose ends are not consecutive steps are not drawn.
    pub links: Vec<SankeyLink>,
    /// Names of the journey stages (e.g. "Browse", "Product", "Checkout").
    pub stages: Vec<String>,
}

// Funnel.

/// One step of a funnel, as `mine::funnel` computes it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FunnelBar {
    pub label: String,
    pub sessions: u32,
    pub conversion_from_previous: f64,
    pub conversion_from_start: f64,
    /// Sessions that reached this step but not the next.
    pub dropped: u32,
}

// Click heatmap.

/// A click (or a cluster of them) in document coordinates of the layout.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct HeatPoint {
    pub x: f32,
    pub y: f32,
    /// How much the point counts (1 per click, or less when clicks are
    /// counted per session); points with a weight ≤ 0 or NaN are skipped.
    pub weight: f32,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct HeatmapData {
    /// Document size in px. Points outside it are not drawn.
    pub width: u32,
    pub height: u32,
    pub points: Vec<HeatPoint>,
    /// Rage and dead clicks, drawn as markers; may be empty.
    pub marks: Vec<HeatPoint>,
    pub title: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum HeatmapStyle {
    /// A transparent picture of the document's size, to lay over the page.
    Overlay,
    /// The heat on a neutral page, with a title and a colour legend.
    Standalone,
}

// Scroll map.

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ScrollData {
    /// Document height in px (the deepest reached depth when 0).
    pub height: u32,
    /// Document width in px, for the band's proportions.
    pub width: u32,
    /// Deepest px reached (viewport bottom edge) per page view.
    pub depths: Vec<u32>,
    /// Median viewport height, drawn as the fold line.
    pub fold: Option<u32>,
    pub title: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_from_path_and_content_type() {
        assert_eq!(Format::from_path(Path::new("a/b.SVG")), Some(Format::Svg));
        assert_eq!(Format::from_path(Path::new("x.png")), Some(Format::Png));
        assert_eq!(Format::from_path(Path::new("x.jpg")), None);
        assert_eq!(Format::from_path(Path::new("png")), None);
        assert_eq!(Format::Svg.content_type(), "image/svg+xml");
        assert_eq!(Format::Png.content_type(), "image/png");
    }
}
