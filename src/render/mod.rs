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
pub mod funnel;
pub mod heatmap;
pub mod input;
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

pub use canvas::NO_DATA;
pub use error::RenderError;
pub use funnel::funnel;
pub use heatmap::heatmap;
pub use input::{
    Format, FunnelBar, HeatPoint, HeatmapData, HeatmapStyle, SankeyData, SankeyLink, SankeyNode,
    ScrollData,
};
pub use sankey::sankey;
pub use scrollmap::scrollmap;
