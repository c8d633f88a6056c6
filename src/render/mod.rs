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
//! * [`input`] holds what they draw (the chart data types and the output
//!   [`Format`]): plain data, apart from the drawers, so that the rooms
//!   building chart input need none of the drawing code, and no drawer
//!   module depends on another's types.
//!
//! Vector charts go through plotters, so SVG and PNG share one drawing
//! code path; text uses the DejaVu Sans font compiled into the binary, so
//! rendering never depends on the fonts (or fontconfig) of the host.
//! Empty data is not an error: it draws a "No data for this selection"
//! picture of the normal size, so a dashboard never shows a broken image.

mod canvas;
mod density;
mod encode;
mod error;
pub(crate) mod funnel;
pub(crate) mod heatmap;
pub(crate) mod input;
mod palette;
mod raster;
pub(crate) mod sankey;
mod sankey_layout;
pub(crate) mod scrollmap;
mod text;

#[cfg(test)]
mod golden;
#[cfg(test)]
mod speed;
#[cfg(test)]
mod testutil;

pub(crate) use error::RenderError;

/// The colour a journey-graph node is drawn in (`other`: a grouped node;
/// else its stage's, the first stage's without one), as `#rrggbb`.
pub(crate) fn node_colour(stage: Option<usize>, other: bool) -> String {
    palette::hex(if other {
        palette::OTHER
    } else {
        palette::stage(stage)
    })
}

/// The colour the charts draw drop-off in, as `#rrggbb`.
pub(crate) fn drop_colour() -> String {
    palette::hex(palette::DROP)
}
pub(crate) use funnel::funnel;
pub(crate) use heatmap::heatmap;
pub(crate) use input::{
    Format, FunnelBar, HeatmapStyle, SankeyData, SankeyLink, SankeyNode, ScrollData,
};
pub(crate) use sankey::sankey;
pub(crate) use scrollmap::scrollmap;
