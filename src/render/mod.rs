//! Charts as images: data in, bytes out. The read API and the CLI hand
//! the mining results (journey graph, funnel, clicks, scroll depths) to
//! these functions and get an SVG or PNG back; nothing here touches the
//! store, the network or the file system, so every chart is a pure
//! function that tests can pin down.
//!
//! * [`sankey`] draws the journey graph: a column per step, ribbons for
//!   links, red stubs for drop-off.
//! * [`heatmap`] smooths clicks into a density raster, as an overlay for
//!   the page or as a standalone picture.
//! * [`scrollmap`] shows how far down a page its views got.
//! * [`funnel`] draws a funnel's steps with the drop-off between them.
//!
//! Vector charts go through plotters, so SVG and PNG share one drawing
//! code path; text uses the DejaVu Sans font compiled into the binary, so
//! rendering never depends on the fonts (or fontconfig) of the host.
//! Empty data is not an error: it draws a "No data for this selection"
//! picture of the normal size, so a dashboard never shows a broken image.

use std::fmt;
use std::path::Path;

mod canvas;
mod density;
mod encode;
pub mod funnel;
pub mod heatmap;
mod palette;
mod raster;
pub mod sankey;
mod sankey_layout;
pub mod scrollmap;
mod text;

#[cfg(test)]
mod golden;
#[cfg(test)]
mod speed;
#[cfg(test)]
mod testutil;

pub use funnel::{funnel, FunnelBar};
pub use heatmap::{heatmap, HeatPoint, HeatmapData, HeatmapStyle};
pub use sankey::{sankey, SankeyData, SankeyLink, SankeyNode};
pub use scrollmap::{scrollmap, ScrollData};

/// The picture shown instead of a chart when the selection has no data.
pub const NO_DATA: &str = "No data for this selection";

/// Output encoding of a chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Svg,
    Png,
}

impl Format {
    /// The format named by a file's extension (`.svg`, `.png`, any case).
    pub fn from_path(path: &Path) -> Option<Format> {
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
    pub fn content_type(&self) -> &'static str {
        match self {
            Format::Svg => "image/svg+xml",
            Format::Png => "image/png",
        }
    }
}

/// A chart that cannot be drawn at all. Empty data is not one of these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RenderError {
    /// A picture of 0 pixels, or one too large to hold in memory.
    InvalidSize { width: u32, height: u32, max: u32 },
    /// The drawing library failed (should not happen with the built-in font).
    Draw(String),
    /// The PNG encoder failed.
    Encode(String),
}

impl fmt::Display for RenderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RenderError::InvalidSize { width, height, max } => write!(
                f,
                "cannot draw a {width}x{height} picture: each side must be 1 to {max} px"
            ),
            RenderError::Draw(e) => write!(f, "drawing failed: {e}"),
            RenderError::Encode(e) => write!(f, "PNG encoding failed: {e}"),
        }
    }
}

impl std::error::Error for RenderError {}

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

    #[test]
    fn errors_explain_themselves() {
        let e = RenderError::InvalidSize {
            width: 0,
            height: 10,
            max: 8192,
        };
        assert!(e.to_string().contains("0x10"));
    }
}
