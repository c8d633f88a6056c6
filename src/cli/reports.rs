//! The commands that read: reports, search and charts. Each opens the
//! existing database (never creates one), makes one service call and
//! prints the result.

use anyhow::{Context, Result};

use super::args::FilterArgs;
use super::print::print;
use super::{RenderArgs, ReportArgs, SearchArgs};
use crate::config::{self, FileConfig, StoreArgs};
use crate::service::charts::{ChartKind, PageChart};
use crate::service::request::SearchRequest;
use crate::service::{Cancel, ChartRequest, Format, HeatmapStyle, ReportRequest, Service};

/// The service over the existing database the flags (or the settings file) name.
pub(super) fn service(store: &StoreArgs, file: &FileConfig) -> Result<Service> {
    Ok(Service::open_existing(&config::db_path(store, file))?)
}

/// `trailmap REPORT --site S ...`.
pub(super) fn report<T: clap::Args>(
    store: &StoreArgs,
    file: &FileConfig,
    args: &ReportArgs<T>,
    req: ReportRequest,
) -> Result<()> {
    let service = service(store, file)?;
    let filters = args.filter.filters()?;
    let report = service.report_compared(
        &args.filter.site,
        &filters,
        &req,
        args.compare,
        Cancel::never(),
    )?;
    print(&report, |r| r.tables(), args.out.output())?;
    Ok(())
}

/// `trailmap search`: with no server holding the index, brings it up to
/// date first; beside a running server (which keeps it current), reads it.
pub(super) fn search(store: &StoreArgs, file: &FileConfig, args: &SearchArgs) -> Result<()> {
    let service = service(store, file)?;
    let index = service.local_search_index()?;
    let req = SearchRequest {
        query: args.query.clone(),
        sort: args.sort,
        limit: args.limit,
        offset: args.offset,
    };
    let found = service.search(&index, &args.filter.site, &args.filter.filters()?, &req)?;
    print(&found, |r| r.tables(), args.out.output())?;
    Ok(())
}

/// `trailmap render`: draws a chart and writes it where `-o` says.
pub(super) fn render(store: &StoreArgs, file: &FileConfig, args: &RenderArgs) -> Result<()> {
    let format = Format::from_path(&args.output).with_context(|| {
        format!(
            "{}: the file name must end in .svg or .png",
            args.output.display()
        )
    })?;
    let size = (args.width, args.height);
    let req = match args.kind {
        ChartKind::Sankey => ChartRequest::Sankey {
            graph: args.graph.request()?,
            size,
        },
        ChartKind::Funnel => ChartRequest::Funnel {
            funnel: args.funnel.request()?,
            size,
        },
        kind => ChartRequest::Page(PageChart {
            page: args
                .page
                .clone()
                .context("heatmaps and scroll maps need --page")?,
            scroll: kind == ChartKind::Scrollmap,
            viewport: args.viewport,
            count: args.count,
            layer: args.layer,
            style: if args.overlay {
                HeatmapStyle::Overlay
            } else {
                HeatmapStyle::Standalone
            },
            format,
            layout_width: args.layout_width,
        }),
    };
    let service = service(store, file)?;
    let filter: &FilterArgs = &args.filter;
    let bytes = service.chart(
        &filter.site,
        &filter.filters()?,
        &req,
        format,
        Cancel::never(),
    )?;
    std::fs::write(&args.output, &bytes)
        .with_context(|| format!("writing {}", args.output.display()))?;
    println!("wrote {} ({} bytes)", args.output.display(), bytes.len());
    Ok(())
}
