//! What trailmap can be asked, answered once for both doors.
//!
//! The CLI (`trailmap NAME ...`) and the HTTP API (`GET
//! /api/sites/{site}/NAME`) are thin: they build a typed request
//! ([`request`]), make one call here, and print or send the typed result
//! ([`report`], laid out as [`table`]s for people) or the one error type
//! ([`error::ServiceError`]). Bounds, defaults, the meaning of a filter and
//! every error message live here, so a request means the same thing
//! through either door.

pub(crate) mod accounts;
pub(crate) mod analysis;
pub(crate) mod annotations;
pub(crate) mod changes;
pub(crate) mod charts;
pub(crate) mod conformance;
pub(crate) mod conversions;
pub(crate) mod error;
pub(crate) mod errors;
pub(crate) mod funnels;
mod hints;
pub(crate) mod import;
pub(crate) mod insights;
pub(crate) mod layouts;
pub(crate) mod live;
pub(crate) mod new_content;
pub(crate) mod registry;
pub(crate) mod report;
pub(crate) mod request;
pub(crate) mod settings;
pub(crate) mod table;

use std::sync::Arc;

use crate::event::Millis;
use crate::mine::{graph::GraphQuery, paths::PathQuery, patterns::PatternQuery};
use crate::search::SearchIndex;
use crate::store::read;
use crate::store::{sites, Store};
use analysis::Analysis;
use charts::PageChart;

// Types of the service's own requests that rooms below define: the
// deadline a caller hands in, and the chart choices.
pub(crate) use crate::mine::cancel::Cancel;
pub(crate) use crate::render::{Format, HeatmapStyle};
pub(crate) use error::{Result, ServiceError};
pub(crate) use report::{Report, SessionSummary};
pub(crate) use request::{Filters, ReportKind, ReportRequest};
pub(crate) use settings::install_budgets;

use chrono::Datelike as _;
use request::{bounds, FunnelRequest, GraphRequest, Interval, SearchRequest};

/// A report, and the same report over an earlier range when asked.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub(crate) struct Compared {
    #[serde(flatten)]
    pub report: Report,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compare: Option<Comparison>,
}

/// The earlier range a report was held against, and its report there.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub(crate) struct Comparison {
    pub mode: request::Compare,
    #[serde(serialize_with = "request::serialize_iso")]
    pub from: Millis,
    #[serde(serialize_with = "request::serialize_iso")]
    pub to: Millis,
    pub previous: Report,
}

impl Compared {
    /// The report's tables, each figure with its earlier value and the
    /// change when compared.
    pub(crate) fn tables(&self) -> table::Tables {
        match &self.compare {
            None => self.report.tables(),
            Some(c) => self.report.tables().compared(&c.previous.tables()),
        }
    }
}

/// The service over one store.
#[derive(Clone)]
pub(crate) struct Service {
    store: Arc<Store>,
    /// The journeys every report reads, shared by all requests.
    engine: Arc<crate::engine::Engine>,
    /// Where replay uploads are written.
    layouts: Arc<layouts::LayoutWriter>,
    /// Sessions `contrast` and `why` count in full before they sample
    /// ([`insights::SAMPLE_LIMIT`] unless set).
    insights_sample: usize,
}

/// A chart, with what it takes besides the filters.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ChartRequest {
    Sankey {
        graph: GraphRequest,
        size: (u32, u32),
    },
    Funnel {
        funnel: FunnelRequest,
        size: (u32, u32),
    },
    /// A heatmap or scroll map of one page.
    Page(PageChart),
}

/// One page of search hits.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct SearchReport {
    /// Every session that matches.
    pub total: usize,
    pub offset: usize,
    pub limit: usize,
    pub sessions: Vec<SessionSummary>,
    /// Why nothing matched, when the query tells (see [`hints`]); only
    /// for an empty result.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hints: Vec<String>,
}

impl Service {
    /// The service over the database at `db`, which must exist (the
    /// commands that read or import: a mistyped `--db` is an error that
    /// names the path, not a new empty database).
    pub(crate) fn open_existing(db: &std::path::Path) -> Result<Service> {
        Ok(Service::new(Arc::new(Store::open_existing(db)?)))
    }

    /// The service over the database at `db`, made if missing (how a
    /// database starts: `trailmap site add`).
    pub(crate) fn open_or_create(db: &std::path::Path) -> Result<Service> {
        Ok(Service::new(Arc::new(Store::open(db)?)))
    }

    pub(crate) fn new(store: Arc<Store>) -> Service {
        let engine = Arc::new(crate::engine::Engine::beside(store.path()));
        Service {
            store,
            engine,
            layouts: Arc::default(),
            insights_sample: insights::SAMPLE_LIMIT,
        }
    }

    /// This service, holding at most `bytes` of the clicks and view depths
    /// of the pages mapped lately (the server's `--heatmap-memory-mb`).
    pub(crate) fn with_heatmap_memory(self, bytes: usize) -> Service {
        self.engine.set_activity_budget(bytes);
        self
    }

    /// This service, counting `contrast` and `why` in full up to
    /// `sessions` (the server's `--insights-sample-sessions`).
    pub(crate) fn with_insights_sample(mut self, sessions: usize) -> Service {
        self.insights_sample = sessions;
        self
    }

    /// Where the read engine of the database at `db` keeps its files.
    pub(crate) fn engine_dir(db: &std::path::Path) -> std::path::PathBuf {
        crate::engine::snapshot_dir(db)
    }

    /// Rebuilds the read engine's files from the store's rows: the
    /// sessions they hold, and where they are.
    pub(crate) fn rebuild_engine(&self) -> Result<(usize, std::path::PathBuf)> {
        let n = crate::engine::Engine::rebuild(&self.store)?;
        Ok((n, Service::engine_dir(self.store.path())))
    }

    /// Loads the read engine in the background (the server, at start).
    pub(crate) fn warm_up(&self) {
        self.engine.warm_up(self.store.clone());
    }

    pub(crate) fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// The overview, counted by the read engine; by the store in the one
    /// case the engine cannot (a session longer than 49 days).
    fn overview(
        &self,
        site: &str,
        filters: &Filters,
        top: usize,
        interval: Option<Interval>,
        cancel: &Cancel,
    ) -> Result<read::Overview> {
        let now = crate::event::now_ms();
        let bucket = match interval {
            None => None,
            Some(Interval::Hour) => {
                let span = filters.to.unwrap_or(now) - filters.from.unwrap_or(i64::MIN / 2);
                if span > MAX_HOURLY_SPAN_MS {
                    return Err(ServiceError::invalid(
                        "interval: hour covers a range of at most 31 days (set from and to, or pick day)",
                    ));
                }
                Some(HOUR_MS)
            }
            Some(_) => Some(DAY_MS),
        };
        let conn = self.store.read()?;
        let s = find_site(&conn, site)?;
        let filter = filters.journey_filter();
        let pages = read::site_pages(&conn, s.id)?;
        let wanted = crate::engine::site::Wanted::of(&filter, &pages);
        let mut o = match self
            .engine
            .overview(&self.store, s.id, &wanted, &pages, top, bucket)?
        {
            Some(o) => o,
            None => analysis::read_until(&conn, cancel, |c| {
                read::overview(c, s.id, &filter, top, bucket)
            })?,
        };
        fill_series(&mut o, filters.from, filters.to, now);
        if let Some(i @ (Interval::Week | Interval::Month)) = interval {
            regroup(&mut o, i);
        }
        Ok(o)
    }

    /// The journeys of `site` that pass `filters`, from the read engine.
    fn analysis(&self, site: &str, filters: &Filters, cancel: Cancel) -> Result<Analysis> {
        Analysis::load_until(
            &self.store,
            &self.engine,
            site,
            &filters.journey_filter(),
            cancel,
        )
    }

    /// [`Service::report`], and with `compare` the same report over the
    /// earlier range too (the same span just before, or a year earlier).
    pub(crate) fn report_compared(
        &self,
        site: &str,
        filters: &Filters,
        req: &ReportRequest,
        compare: Option<request::Compare>,
        cancel: Cancel,
    ) -> Result<Compared> {
        let report = self.report(site, filters, req, cancel.clone())?;
        let Some(mode) = compare else {
            return Ok(Compared {
                report,
                compare: None,
            });
        };
        let from = filters
            .from
            .ok_or_else(|| ServiceError::invalid("compare: needs a range with a start (from)"))?;
        let to = filters.to.unwrap_or_else(crate::event::now_ms);
        let (earlier_from, earlier_to) = mode.earlier(from, to);
        let earlier = Filters {
            from: Some(earlier_from),
            to: Some(earlier_to),
            ..filters.clone()
        };
        // Revenue is held against the same currency, even where another
        // had more orders then.
        let same_currency;
        let req = match (req, &report) {
            (
                ReportRequest::Revenue {
                    breakdown,
                    currency: None,
                    top,
                },
                Report::Revenue(r),
            ) => {
                same_currency = ReportRequest::Revenue {
                    breakdown: *breakdown,
                    currency: Some(r.currency.clone()).filter(|c| !c.is_empty()),
                    top: *top,
                };
                &same_currency
            }
            _ => req,
        };
        let previous = self.report(site, &earlier, req, cancel)?;
        Ok(Compared {
            report,
            compare: Some(Comparison {
                mode,
                from: earlier_from,
                to: earlier_to,
                previous,
            }),
        })
    }

    /// Runs a report over the sessions of `site` that pass `filters`,
    /// within `cancel`.
    pub(crate) fn report(
        &self,
        site: &str,
        filters: &Filters,
        req: &ReportRequest,
        cancel: Cancel,
    ) -> Result<Report> {
        let filters = filters.clone().check()?;
        let resolved;
        let req = match req {
            ReportRequest::Funnel(f) if f.saved.is_some() => {
                resolved = ReportRequest::Funnel(self.resolve_funnel(site, f)?);
                &resolved
            }
            other => other,
        };
        req.check()?;
        if let ReportRequest::Changes(c) = req {
            return Ok(Report::Changes(self.changes(site, &filters, c, cancel)?));
        }
        if let ReportRequest::Overview { top, interval } = req {
            let overview = self.overview(site, &filters, *top, *interval, &cancel)?;
            // Each goal's conversions over the same sessions.
            let goals = self.analysis(site, &filters, cancel)?.goals(None, 0)?;
            return Ok(Report::Overview(report::OverviewReport { overview, goals }));
        }
        let group = match req {
            ReportRequest::Goals { breakdown, .. } | ReportRequest::Revenue { breakdown, .. } => {
                *breakdown
            }
            ReportRequest::Funnel(f) => f.breakdown,
            ReportRequest::Contrast(c) => c.dimension(),
            ReportRequest::Why(w) => w.breakdown,
            ReportRequest::Conformance(c) => c.breakdown,
            _ => None,
        };
        let unit = match req {
            ReportRequest::Goals { unit, .. } => *unit,
            ReportRequest::Funnel(f) => f.unit,
            _ => request::Unit::Session,
        };
        let mut a = Analysis::load_grouped(
            &self.store,
            &self.engine,
            site,
            &filters.journey_filter(),
            group,
            cancel,
        )?;
        if unit == request::Unit::Visitor {
            a.join_visitors()?;
        }
        let page = |p: &Option<String>| p.as_deref().map(|p| a.page(p)).transpose();
        let report = match req {
            ReportRequest::Overview { .. } => unreachable!("answered above"),
            ReportRequest::Paths(p) => Report::Paths(a.paths(&PathQuery {
                steps: p.steps,
                top_k: p.top,
                start: page(&p.start)?,
                end: page(&p.end)?,
            })),
            ReportRequest::Exits => Report::Exits(a.flows()),
            ReportRequest::Transitions { page, top } => {
                Report::Transitions(a.transitions(a.page(page)?, *top))
            }
            ReportRequest::Journeys(g) => {
                if g.events {
                    a.join_events()?;
                }
                Report::Journeys(a.graph(&graph_query(&a, g)?)?)
            }
            ReportRequest::Funnel(f) => {
                let mut report = a.funnel(f)?;
                report.unit = f.unit;
                if let Some(d) = report.dropped_ids.take() {
                    let conn = self.store.read()?;
                    let site_id = find_site(&conn, site)?.id;
                    let sessions = read::sessions_by_ids(&conn, site_id, &d.ids)?;
                    report.dropped = Some(report::DroppedSessions {
                        step: d.step,
                        total: d.total,
                        sessions: sessions.iter().map(SessionSummary::of).collect(),
                    });
                }
                Report::Funnel(report)
            }
            ReportRequest::Stages => Report::Stages(a.stages()?),
            ReportRequest::Frustration { worst } => Report::Frustration(a.frustration(*worst)),
            ReportRequest::Moments { top } => Report::Moments(a.moments(*top)?),
            ReportRequest::Patterns(p) => Report::Patterns(a.patterns(&PatternQuery {
                top_k: if p.all { usize::MAX } else { p.top },
                min_len: p.min_len,
                max_len: p.max_len,
                min_support: p.min_support,
            })?),
            ReportRequest::Events { top } => Report::Events(a.events(*top)),
            ReportRequest::Goals {
                breakdown,
                top,
                unit,
            } => {
                let mut goals = a.goals(*breakdown, *top)?;
                goals.unit = *unit;
                Report::Goals(goals)
            }
            ReportRequest::Revenue {
                breakdown,
                currency,
                top,
            } => Report::Revenue(a.revenue(*breakdown, currency.as_deref(), *top)?),
            ReportRequest::Contrast(c) => Report::Contrast(a.contrast(c, self.insights_sample)?),
            ReportRequest::Why(w) => {
                let conn = self.store.read()?;
                let site_id = find_site(&conn, site)?.id;
                let layouts = new_content::any(&conn, site_id)?.then_some((&*conn, site_id));
                let mut why = a.why(w, layouts, self.insights_sample)?;
                insights::name_elements(&conn, site_id, &mut why)?;
                Report::Why(why)
            }
            ReportRequest::Conformance(c) => Report::Conformance(a.conformance(c)?),
            ReportRequest::Changes(_) => unreachable!("answered above"),
            ReportRequest::Errors { top } => {
                let conn = self.store.read()?;
                let site_id = find_site(&conn, site)?.id;
                Report::Errors(errors::ErrorsReport::read(
                    &conn,
                    site_id,
                    &a.js_error_sessions(),
                    a.sessions(),
                    *top,
                )?)
            }
        };
        // A stopped mining function returns what it had: never show that.
        a.finished()?;
        Ok(report)
    }

    /// Draws a chart of the sessions of `site` that pass `filters`.
    pub(crate) fn chart(
        &self,
        site: &str,
        filters: &Filters,
        req: &ChartRequest,
        format: Format,
        cancel: Cancel,
    ) -> Result<Vec<u8>> {
        let filters = filters.clone().check()?;
        match req {
            ChartRequest::Sankey { graph, size } => {
                graph.check()?;
                check_size(*size)?;
                let mut a = self.analysis(site, &filters, cancel)?;
                if graph.events {
                    a.join_events()?;
                }
                charts::sankey(&a, &graph_query(&a, graph)?, size.0, size.1, format)
            }
            ChartRequest::Funnel { funnel, size } => {
                let funnel = &self.resolve_funnel(site, funnel)?;
                funnel.check()?;
                check_size(*size)?;
                let a = self.analysis(site, &filters, cancel)?;
                charts::funnel(&a, funnel, *size, format)
            }
            ChartRequest::Page(page) => {
                if let Some(w) = page.layout_width {
                    bounds::LAYOUT_WIDTH.check(w)?;
                }
                charts::page_chart(
                    &self.store,
                    &self.engine,
                    site,
                    &filters.journey_filter(),
                    &PageChart {
                        format,
                        ..page.clone()
                    },
                    &cancel,
                )
            }
        }
    }

    /// The search index beside the database, for a process that does not
    /// serve: with no server holding it, brought up to date first; beside a
    /// running server (which keeps it current), opened to read.
    pub(crate) fn local_search_index(&self) -> Result<SearchIndex> {
        let dir = crate::search::indexer::index_dir(self.store.path());
        match SearchIndex::open(&dir) {
            Ok(index) => {
                crate::search::indexer::catch_up(&self.store, &index).map_err(|e| {
                    ServiceError::Internal {
                        context: "bringing the search index up to date failed",
                        source: Box::new(e),
                    }
                })?;
                Ok(index)
            }
            Err(crate::search::SearchError::Index(m)) if m.contains("in use") => {
                Ok(SearchIndex::open_read_only(&dir)?)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Finds sessions of `site` in `index`.
    pub(crate) fn search(
        &self,
        index: &SearchIndex,
        site: &str,
        filters: &Filters,
        req: &SearchRequest,
    ) -> Result<SearchReport> {
        let filters = filters.clone().check()?;
        req.check()?;
        let site_id = find_site(&*self.store.read()?, site)?.id;
        let found = index.search_filtered(
            site_id,
            &req.query,
            &filters.search_filters(),
            req.sort.into(),
            req.offset,
            req.limit,
        )?;
        let conn = self.store.read()?;
        let sessions = read::sessions_by_ids(&conn, site_id, &found.session_ids)?;
        let hints = if found.total == 0 {
            let pages = read::site_pages(&conn, site_id)?;
            hints::page_hints(&req.query, pages.iter().map(|(_, p)| p.as_str()))
        } else {
            vec![]
        };
        Ok(SearchReport {
            total: found.total,
            offset: req.offset,
            limit: req.limit,
            sessions: sessions.iter().map(SessionSummary::of).collect(),
            hints,
        })
    }
}

/// One page of a site's sessions, newest first.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct SessionList {
    pub sessions: Vec<SessionSummary>,
    /// Pass as `cursor` for the next page; `None` on the last.
    pub next_cursor: Option<String>,
}

/// A session with everything to replay it.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct SessionDetail {
    #[serde(flatten)]
    pub summary: SessionSummary,
    /// The paths of its page views, in order.
    pub pages: Vec<String>,
    pub events: Vec<read::StoredEvent>,
}

impl Service {
    /// A page of the sessions of `site` that started in `filters`' time
    /// range, newest first, after `cursor` (from the previous page).
    pub(crate) fn sessions(
        &self,
        site: &str,
        filters: &Filters,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<SessionList> {
        let filters = filters.clone().check()?;
        bounds::LIMIT.check(limit)?;
        let after = cursor.map(parse_cursor).transpose()?;
        let conn = self.store.read()?;
        let s = find_site(&conn, site)?;
        let found = read::list_sessions(
            &conn,
            s.id,
            &read::SessionQuery {
                from: filters.from,
                to: filters.to,
                limit,
                after,
                include_bots: filters.include_bots,
            },
        )?;
        let next_cursor = (found.len() == limit)
            .then(|| found.last().map(|s| format!("{}_{}", s.start, s.id)))
            .flatten();
        Ok(SessionList {
            sessions: found.iter().map(SessionSummary::of).collect(),
            next_cursor,
        })
    }

    /// One session of `site`, with its pages and events.
    pub(crate) fn session(&self, site: &str, id: &str) -> Result<SessionDetail> {
        let id: i64 = id
            .parse()
            .map_err(|_| ServiceError::invalid("session id must be an integer"))?;
        let conn = self.store.read()?;
        let s = find_site(&conn, site)?;
        let detail = read::session_detail(&conn, s.id, id)?
            .ok_or_else(|| ServiceError::not_found(format!("no session {id} in this site")))?;
        Ok(SessionDetail {
            summary: SessionSummary::of(&detail.session),
            pages: detail.page_paths,
            events: detail.events,
        })
    }
}

/// A cursor from a previous page: `START_ID`.
fn parse_cursor(c: &str) -> Result<(crate::event::Millis, i64)> {
    let bad = || {
        ServiceError::invalid(format!(
            "cursor: {c:?} is not a cursor from a previous page"
        ))
    };
    let (start, id) = c.split_once('_').ok_or_else(bad)?;
    Ok((
        start.parse().map_err(|_| bad())?,
        id.parse().map_err(|_| bad())?,
    ))
}

/// The registered site of that name, or the one error every door answers
/// for an unknown one.
pub(crate) fn find_site(conn: &rusqlite::Connection, name: &str) -> Result<sites::Site> {
    sites::get(conn, name)?.ok_or_else(|| ServiceError::unknown_site(name))
}

fn check_size((width, height): (u32, u32)) -> Result<()> {
    bounds::WIDTH.check(width)?;
    bounds::HEIGHT.check(height)?;
    Ok(())
}

/// A graph request with its pages found in the analysis.
fn graph_query(a: &Analysis, g: &GraphRequest) -> Result<GraphQuery> {
    Ok(GraphQuery {
        steps: g.steps,
        nodes_per_step: g.nodes,
        min_link: g.min_link,
        root: g.root.as_deref().map(|p| a.page(p)).transpose()?,
        expand: g
            .expand
            .iter()
            .map(|(step, page)| Ok((*step, a.page(page)?)))
            .collect::<Result<_>>()?,
    })
}

const HOUR_MS: Millis = 3_600_000;
const DAY_MS: Millis = 86_400_000;
/// The longest range an hourly series may cover: 744 buckets.
const MAX_HOURLY_SPAN_MS: Millis = 31 * DAY_MS;

/// Merges a daily series into weeks (from Monday) or calendar months, UTC.
/// `bucket_ms` says 7 days for weeks and a nominal 30 for months; the
/// `interval` field says which.
fn regroup(o: &mut read::Overview, interval: Interval) {
    let start_of = |t: Millis| -> Millis {
        match interval {
            Interval::Week => {
                // 1970-01-01 was a Thursday: three days after a Monday.
                let day = t.div_euclid(DAY_MS);
                (day - (day + 3).rem_euclid(7)) * DAY_MS
            }
            Interval::Month => chrono::DateTime::from_timestamp_millis(t)
                .and_then(|d| d.date_naive().with_day(1))
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map_or(t, |d| d.and_utc().timestamp_millis()),
            Interval::Hour | Interval::Day => t,
        }
    };
    let mut merged: Vec<read::Bucket> = Vec::new();
    for b in o.series.drain(..) {
        let start = start_of(b.start);
        match merged.last_mut() {
            Some(last) if last.start == start => {
                last.sessions += b.sessions;
                last.page_views += b.page_views;
            }
            _ => merged.push(read::Bucket { start, ..b }),
        }
    }
    o.series = merged;
    o.bucket_ms = match interval {
        Interval::Week => 7 * DAY_MS,
        _ => 30 * DAY_MS,
    };
    o.interval = interval.as_str();
}

/// At most this many buckets are filled in: ten years of days.
const MAX_FILLED_BUCKETS: i64 = 3_660;

/// Gives every bucket of the asked window a place in the overview's time
/// series, the empty ones with zeros, so that a chart of "the last 7 days"
/// draws 7 days and not a straight line between the two that had visits.
/// The window is `from..to` where given (a window with a start and no end
/// runs until `now`), else the first and last bucket with sessions; a
/// window of more than [`MAX_FILLED_BUCKETS`] is filled only between the
/// buckets with sessions.
fn fill_series(o: &mut read::Overview, from: Option<Millis>, to: Option<Millis>, now: Millis) {
    let step = o.bucket_ms;
    if step <= 0 {
        return;
    }
    let floor = |t: Millis| t.div_euclid(step) * step;
    let (first, last) = match (o.series.first(), o.series.last()) {
        (Some(f), Some(l)) => (Some(f.start), Some(l.start)),
        _ => (None, None),
    };
    let bounds = |lo: Option<Millis>, hi: Option<Millis>| {
        let lo = floor(lo?);
        // `to` is exclusive: a window ending at midnight ends with the day before.
        let hi = hi?;
        (hi > lo).then_some((lo, hi))
    };
    let end = to.or_else(|| from.map(|_| now.max(last.map_or(now, |l| l + 1))));
    let Some((lo, hi)) = bounds(from.or(first), end.or(last.map(|l| l + 1)))
        .filter(|(lo, hi)| (hi - lo) / step <= MAX_FILLED_BUCKETS)
        .or_else(|| bounds(first, last.map(|l| l + 1)))
        .filter(|(lo, hi)| (hi - lo) / step <= MAX_FILLED_BUCKETS)
    else {
        return;
    };
    let mut had = std::mem::take(&mut o.series).into_iter().peekable();
    let mut start = lo;
    while start < hi {
        // Buckets before the window (a SQL division truncates toward zero
        // before 1970) are kept where they fall.
        while let Some(b) = had.next_if(|b| b.start < start) {
            o.series.push(b);
        }
        match had.next_if(|b| b.start == start) {
            Some(b) => o.series.push(b),
            None => o.series.push(read::Bucket {
                start,
                sessions: 0,
                page_views: 0,
            }),
        }
        start += step;
    }
    o.series.extend(had);
}

#[cfg(test)]
mod fill_tests {
    use super::*;

    const DAY: Millis = 86_400_000;

    fn overview(starts: &[Millis]) -> read::Overview {
        read::Overview {
            sessions: starts.len() as u64,
            visitors: 0,
            page_views: 0,
            bounce_rate: 0.0,
            mean_duration_s: 0.0,
            entry_pages: vec![],
            exit_pages: vec![],
            channels: vec![],
            countries: vec![],
            devices: vec![],
            bucket_ms: DAY,
            interval: "day",
            series: starts
                .iter()
                .map(|&start| read::Bucket {
                    start,
                    sessions: 3,
                    page_views: 5,
                })
                .collect(),
        }
    }

    fn days(o: &read::Overview) -> Vec<(Millis, u64)> {
        o.series
            .iter()
            .map(|b| (b.start / DAY, b.sessions))
            .collect()
    }

    #[test]
    fn a_window_gets_every_bucket_with_zeros_between() {
        let mut o = overview(&[10 * DAY, 13 * DAY]);
        fill_series(&mut o, Some(8 * DAY + 5), Some(15 * DAY), 99 * DAY);
        assert_eq!(
            days(&o),
            [(8, 0), (9, 0), (10, 3), (11, 0), (12, 0), (13, 3), (14, 0)]
        );
    }

    #[test]
    fn without_a_window_the_gaps_between_sessions_are_filled() {
        let mut o = overview(&[10 * DAY, 12 * DAY]);
        fill_series(&mut o, None, None, 99 * DAY);
        assert_eq!(days(&o), [(10, 3), (11, 0), (12, 3)]);
        let mut empty = overview(&[]);
        fill_series(&mut empty, None, None, 99 * DAY);
        assert!(empty.series.is_empty());
        fill_series(&mut empty, Some(DAY), Some(3 * DAY), 99 * DAY);
        assert_eq!(days(&empty), [(1, 0), (2, 0)]);
    }

    #[test]
    fn a_huge_window_is_filled_only_where_sessions_are() {
        let mut o = overview(&[10 * DAY, 12 * DAY]);
        fill_series(&mut o, Some(0), Some(100_000 * DAY), 99 * DAY);
        assert_eq!(days(&o), [(10, 3), (11, 0), (12, 3)]);
    }

    #[test]
    fn days_merge_into_weeks_from_monday_and_calendar_months() {
        // 2026-11-30 is a Monday; 2026-12-01 starts a month.
        let nov30 = chrono::NaiveDate::from_ymd_opt(2026, 11, 30)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap()
            .and_utc()
            .timestamp_millis();
        let d = |n: i64| nov30 + n * DAY;
        let mut o = overview(&[d(-1), d(0), d(1), d(6), d(7)]);
        let mut m = o.clone();
        regroup(&mut o, Interval::Week);
        let weeks: Vec<(Millis, u64)> = o.series.iter().map(|b| (b.start, b.sessions)).collect();
        assert_eq!(weeks, [(d(-7), 3), (d(0), 9), (d(7), 3)]);
        assert_eq!((o.bucket_ms, o.interval), (7 * DAY, "week"));
        regroup(&mut m, Interval::Month);
        let months: Vec<(Millis, u64)> = m.series.iter().map(|b| (b.start, b.sessions)).collect();
        assert_eq!(months, [(d(-29), 6), (d(1), 9)], "November, December");
        assert_eq!(m.interval, "month");
    }

    #[test]
    fn a_window_without_an_end_runs_until_now() {
        // "The last 7 days" on a site whose last visit was two days ago.
        let mut o = overview(&[10 * DAY]);
        fill_series(&mut o, Some(9 * DAY), None, 12 * DAY + 5);
        assert_eq!(days(&o), [(9, 0), (10, 3), (11, 0), (12, 0)]);
    }
}
