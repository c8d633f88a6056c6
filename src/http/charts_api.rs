//! Charts over the API: `/api/sites/{site}/charts/{kind}.{svg|png}`, with
//! the same filters as the data endpoints. `sankey` takes the journey
//! graph's parameters, `funnel` the funnel's, `heatmap` and `scrollmap` a
//! `page` and a `viewport` class. Drawing runs on the blocking pool.

use std::sync::Arc;

use hyper::StatusCode;

use super::mine_api::run_analysis;
use super::reply::{self, Reply};
use super::App;
use crate::render::Format;
use crate::service::charts::{ChartKind, PageChart};
use crate::service::request::{bounds, FunnelRequest, GraphRequest, Params, QueryParams};
use crate::service::{ChartRequest, Filters, Result};

/// `GET /api/sites/{site}/charts/{file}`.
pub(crate) async fn chart(app: &Arc<App>, site: &str, file: &str, query: Option<&str>) -> Reply {
    let Some((name, ext)) = file.rsplit_once('.') else {
        return reply::error(StatusCode::NOT_FOUND, "charts are KIND.svg or KIND.png");
    };
    let (Some(kind), Some(format)) = (
        crate::service::request::parse_choice::<ChartKind>("chart", name).ok(),
        Format::from_path(std::path::Path::new(file)),
    ) else {
        return reply::error(
            StatusCode::NOT_FOUND,
            &format!(
                "no chart {name:?}.{ext:?}: sankey, funnel, heatmap or scrollmap, as .svg or .png"
            ),
        );
    };
    let params = QueryParams::parse(query);
    let decoded = (|| Ok((Filters::decode(&params)?, decode(&params, kind, format)?)))();
    let (filters, req) = match decoded {
        Ok(d) => d,
        Err(e) => return reply::service_error(&e),
    };
    let site = site.to_string();
    let result = run_analysis(app, move |app, cancel| {
        app.service.chart(&site, &filters, &req, format, cancel)
    })
    .await;
    match result {
        Ok(bytes) => reply::text(StatusCode::OK, format.content_type(), bytes),
        Err(e) => reply::service_error(&e),
    }
}

/// The chart request from the query: `sankey` takes the journey graph's
/// parameters, `funnel` the funnel's, both `width` and `height`; `heatmap`
/// and `scrollmap` a `page` (required), `viewport` (mobile, tablet,
/// desktop), `count` (clicks, sessions), `layer` (both, clicks,
/// frustration), `style` (standalone, overlay).
fn decode(p: &QueryParams, kind: ChartKind, format: Format) -> Result<ChartRequest> {
    let size =
        || -> Result<(u32, u32)> { Ok((p.number(&bounds::WIDTH)?, p.number(&bounds::HEIGHT)?)) };
    Ok(match kind {
        ChartKind::Sankey => ChartRequest::Sankey {
            graph: GraphRequest::decode(p)?,
            size: size()?,
        },
        ChartKind::Funnel => ChartRequest::Funnel {
            funnel: FunnelRequest::decode(p)?,
            size: size()?,
        },
        ChartKind::Heatmap | ChartKind::Scrollmap => {
            ChartRequest::Page(PageChart::decode(p, kind == ChartKind::Scrollmap, format)?)
        }
    })
}
