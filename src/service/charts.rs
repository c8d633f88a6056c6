//! Charts of a site's data: the bridge between mining (and the stored
//! clicks and scrolls) and the renderer, shared by `trailmap render` and
//! the API's `/charts/` endpoints so that both draw the same picture from
//! the same filters.

use crate::engine::{site::Wanted, Engine};
use crate::event::ViewportClass;
use crate::heat;
/// Which clicks a heatmap counts: a choice of the chart request.
pub(crate) use crate::heat::Count;
use crate::mine::cancel::Cancel;
use crate::mine::clean::PageMap;
use crate::mine::graph::GraphQuery;
use crate::render::{self, Format, HeatmapStyle};
use crate::service::analysis::{read_until, stored_cleaner, Analysis};
use crate::service::error::{Result, ServiceError};
use crate::service::request::{bounds, Params};
use crate::store::read::{self, JourneyFilter};
use crate::store::{sites, Store};

/// The charts there are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ChartKind {
    Sankey,
    Funnel,
    Heatmap,
    Scrollmap,
}

/// Which clicks a heatmap shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Layer {
    /// The heat of all clicks, with rage and dead clicks marked on top.
    Both,
    /// The heat of all clicks only.
    Clicks,
    /// Rage and dead clicks only: their heat, and their marks.
    Frustration,
}

/// A heatmap or scroll map of one page.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PageChart {
    /// The page, cleaned like every page (`/product/42` finds
    /// `/product/:id` when a rule says so).
    pub page: String,
    pub viewport: ViewportClass,
    pub scroll: bool,
    pub count: Count,
    pub layer: Layer,
    pub style: HeatmapStyle,
    pub format: Format,
    /// Heatmap: draw onto a layout of this width (the one shown behind
    /// it); `None`: the class's most common width.
    pub layout_width: Option<u32>,
}

impl PageChart {
    /// A page chart from parameters: `page` (required), `viewport`
    /// (default desktop), `count` (clicks), `layer` (both), `style`
    /// (standalone), `layout_width` (the class's most common width).
    pub(crate) fn decode(p: &impl Params, scroll: bool, format: Format) -> Result<PageChart> {
        let layout_width = p.number(&bounds::LAYOUT_WIDTH)?;
        Ok(PageChart {
            page: p.required("page")?.to_string(),
            scroll,
            viewport: p.choice("viewport")?.unwrap_or(ViewportClass::Desktop),
            count: p.choice("count")?.unwrap_or(Count::Clicks),
            layer: p.choice("layer")?.unwrap_or(Layer::Both),
            style: p.choice("style")?.unwrap_or(HeatmapStyle::Standalone),
            format,
            layout_width: (layout_width > 0).then_some(layout_width),
        })
    }
}

fn invalid(e: render::RenderError) -> ServiceError {
    ServiceError::Invalid(e.to_string())
}

/// The Sankey chart of the journey graph.
pub(crate) fn sankey(
    a: &Analysis,
    q: &GraphQuery,
    width: u32,
    height: u32,
    format: Format,
) -> Result<Vec<u8>> {
    let data = a.sankey_data(q)?;
    a.finished()?;
    render::sankey(&data, width, height, format).map_err(invalid)
}

/// The funnel chart of ordered steps (regexes over cleaned paths), each
/// bar labelled with its step's name.
pub(crate) fn funnel(
    a: &Analysis,
    req: &super::request::FunnelRequest,
    (width, height): (u32, u32),
    format: Format,
) -> Result<Vec<u8>> {
    let labels = req.labels();
    let f = a.funnel_result(req)?;
    let bars: Vec<render::FunnelBar> = f
        .steps
        .iter()
        .zip(&labels)
        .map(|(s, label)| render::FunnelBar {
            label: label.clone(),
            sessions: s.sessions,
            conversion_from_previous: s.conversion_from_previous,
            conversion_from_start: s.conversion_from_start,
            dropped: s.dropped,
        })
        .collect();
    render::funnel(&bars, f.overall_conversion, width, height, format).map_err(invalid)
}

/// A typical layout width per viewport class, for the "no data" picture.
fn typical_width(class: ViewportClass) -> u32 {
    match class {
        ViewportClass::Mobile => 390,
        ViewportClass::Tablet => 820,
        ViewportClass::Desktop => 1280,
    }
}

/// "1 click", "2 clicks".
fn counted(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

fn median(mut v: Vec<u32>) -> Option<u32> {
    v.sort_unstable();
    v.get(v.len() / 2).copied()
}

/// The clicks and view depths on page `path` (as reports name it, after
/// the site's path rules) of the sessions of `site` that pass `filter`,
/// from the read engine's copy ([`crate::engine::activity`]), and the
/// page's name.
pub(crate) fn page_activity(
    store: &Store,
    engine: &Engine,
    site: &str,
    filter: &JourneyFilter,
    path: &str,
    cancel: &Cancel,
) -> Result<(String, read::PageActivity)> {
    let conn = store.read()?;
    let s = super::find_site(&conn, site)?;
    let cleaner = stored_cleaner(&s.name, &sites::page_rules(&conn, s.id)?)?;
    let site_pages = read::site_pages(&conn, s.id)?;
    let pages = PageMap::build_until(&site_pages, &cleaner, cancel);
    cancel.check()?;
    let clean = cleaner.clean(path);
    let id = pages
        .id_of(&clean)
        .ok_or_else(|| ServiceError::NotFound(format!("no page {path:?} in this site")))?;
    let raw = pages.raw_ids(id);
    let wanted = Wanted::of(filter, &site_pages);
    let activity = read_until(&conn, cancel, |conn| {
        engine.page_activity(store, conn, s.id, &wanted, &raw)
    })?;
    cancel.check()?;
    Ok((clean, activity))
}

/// The heatmap or scroll map of one page over the sessions of `site` that
/// pass `filter`, from the read engine's copy of the page's clicks and
/// view depths ([`crate::engine::activity`]).
/// Stops with [`ServiceError::Stopped`] when `cancel` says so.
pub(crate) fn page_chart(
    store: &Store,
    engine: &Engine,
    site: &str,
    filter: &JourneyFilter,
    req: &PageChart,
    cancel: &Cancel,
) -> Result<Vec<u8>> {
    let (clean, activity) = page_activity(store, engine, site, filter, &req.page, cancel)?;
    let class = req.viewport;
    let views: Vec<read::ViewDepth> = activity
        .views
        .into_iter()
        .filter(|v| v.vw > 0 && ViewportClass::of_width(v.vw) == class)
        .collect();
    let doc_height = median(views.iter().map(|v| v.dh).filter(|h| *h > 0).collect());
    let label = format!("{clean} · {}", class.as_str());

    if req.scroll {
        let height = doc_height.unwrap_or(0);
        let data = render::ScrollData {
            height,
            width: median(views.iter().map(|v| v.dw).filter(|w| *w > 0).collect())
                .unwrap_or(typical_width(class)),
            depths: views.iter().map(|v| v.depth.min(height)).collect(),
            fold: median(views.iter().map(|v| v.vh).filter(|h| *h > 0).collect()),
            title: format!("How far {label} is read · {}", counted(views.len(), "view")),
        };
        return render::scrollmap(&data, req.format).map_err(invalid);
    }

    let (mut data, placed) = heat::map_clicks(&activity.clicks, class, req.count, req.layout_width);
    match req.layer {
        Layer::Both => {}
        Layer::Clicks => data.marks.clear(),
        Layer::Frustration => data.points = data.marks.clone(),
    }
    if data.width == 0 {
        data.width = typical_width(class);
    }
    // Onto a given layout: the height of the pages seen at its width.
    let doc_height = req
        .layout_width
        .and_then(|w| {
            median(
                views
                    .iter()
                    .filter(|v| v.dw == w && v.dh > 0)
                    .map(|v| v.dh)
                    .collect(),
            )
        })
        .or(doc_height);
    data.height = match doc_height.unwrap_or(0).max(data.height) {
        0 => 800,
        h => h,
    };
    data.title = format!(
        "Clicks on {label} · {}, {} placed by selector",
        counted(placed.clicks, "click"),
        placed.remapped
    );
    render::heatmap(&data, req.style, req.format).map_err(invalid)
}
