//! Charts over the API: `/api/sites/{site}/charts/{kind}.{svg|png}`, with
//! the same filters as the data endpoints. `sankey` takes the journey
//! graph's parameters, `funnel` the funnel's, `heatmap` and `scrollmap` a
//! `page` and a `viewport` class. Drawing runs on the blocking pool.

use std::sync::Arc;

use hyper::StatusCode;

use super::mine_api::{graph_query, outcome, run_analysis, Failure, Params};
use super::reply::{self, Reply};
use super::App;
use crate::analysis::Analysis;
use crate::charts::{self, ChartKind, PageChart};
use crate::mine::cancel::Cancel;
use crate::render::Format;

/// `GET /api/sites/{site}/charts/{file}`.
pub async fn chart(app: &Arc<App>, site: &str, file: &str, query: Option<&str>) -> Reply {
    let Some((name, ext)) = file.rsplit_once('.') else {
        return reply::error(StatusCode::NOT_FOUND, "charts are KIND.svg or KIND.png");
    };
    let (Some(kind), Some(format)) = (
        ChartKind::parse(name),
        Format::from_path(std::path::Path::new(file)),
    ) else {
        return reply::error(
            StatusCode::NOT_FOUND,
            &format!(
                "no chart {name:?}.{ext:?}: sankey, funnel, heatmap or scrollmap, as .svg or .png"
            ),
        );
    };
    let params = Params::parse(query);
    let site = site.to_string();
    let result = run_analysis(app, move |app, cancel| {
        draw(app, &site, kind, format, &params, cancel)
    })
    .await;
    outcome(result, |bytes| {
        reply::text(StatusCode::OK, format.content_type(), bytes)
    })
}

fn draw(
    app: &App,
    site: &str,
    kind: ChartKind,
    format: Format,
    p: &Params,
    cancel: Cancel,
) -> Result<Vec<u8>, Failure> {
    let filter = p.filter()?;
    let size = || -> Result<(u32, u32), Failure> {
        Ok((
            p.number("width", 1200u32, |n| (200..=4000).contains(n))?,
            p.number("height", 640u32, |n| (150..=4000).contains(n))?,
        ))
    };
    Ok(match kind {
        ChartKind::Sankey => {
            let a = Analysis::load_until(&app.store, site, &filter, cancel)?;
            let (w, h) = size()?;
            charts::sankey(&a, &graph_query(&a, p)?, w, h, format)?
        }
        ChartKind::Funnel => {
            let a = Analysis::load_until(&app.store, site, &filter, cancel)?;
            let window = p.number("window_minutes", 60i64, |n| (1..=60 * 24 * 31).contains(n))?;
            charts::funnel(
                &a,
                &p.steps,
                window * 60_000,
                p.get("strict") == Some("true"),
                size()?,
                format,
            )?
        }
        ChartKind::Heatmap | ChartKind::Scrollmap => {
            let req = page_chart(p, kind == ChartKind::Scrollmap, format)?;
            charts::page_chart(&app.store, site, &filter, &req, &cancel)?
        }
    })
}

/// `page` (required), `viewport` (mobile, tablet, desktop), `count`
/// (clicks, sessions), `layer` (both, clicks, frustration), `style`
/// (standalone, overlay).
fn page_chart(p: &Params, scroll: bool, format: Format) -> Result<PageChart, Failure> {
    let page = p
        .get("page")
        .ok_or_else(|| Failure::BadRequest("page: required".into()))?;
    let names = [
        p.get("viewport").unwrap_or("desktop"),
        p.get("count").unwrap_or("clicks"),
        p.get("layer").unwrap_or("both"),
        p.get("style").unwrap_or("standalone"),
    ];
    Ok(PageChart::from_names(
        page.to_string(),
        scroll,
        names,
        format,
    )?)
}
