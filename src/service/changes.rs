//! `changes`: what changed on the site, found automatically. Each time a
//! page's stored layout is replaced by one that reads or is built
//! differently ([`store::changes`], recorded at upload), the change is an
//! automatic annotation (page, time, the lines added and removed), and the
//! page is held before against after. A change lasts when the page goes on
//! showing the new layout; a page that shows each visitor their own
//! content (a cart) or runs an experiment varies, and its changes are left
//! out unless asked for (`include_varying`; the verdict is
//! [`super::layouts`]'). Each change is held before against after: its exit rate, frustration rate and
//! the conversion of the sessions through it, each in a window before and
//! after the moment, with 95% intervals and the interval of the shift
//! ([`mine::changes`], [`mine::stats`]).
//!
//! Asked for one change (`change=ID`), the answer also says where visitors
//! click on the page before and after: of the sessions that clicked on it
//! at the change's viewport class, the share that clicked each element,
//! from the read engine's copy of the page's clicks (what its heatmap
//! draws). A session is one trial however often it clicks, so the
//! intervals hold. Not asked by default: a page's clicks are loaded at its
//! first map, which on a large site takes seconds.

use serde::Serialize;

use super::request::{self, Params};
use super::table::{Cell, Table, Tables};
use super::{find_site, Result, Service, ServiceError};
use rustc_hash::{FxHashMap, FxHashSet};

use crate::event::{Millis, ViewportClass};
use crate::mine::cancel::Cancel;
use crate::mine::{changes, stats};
use crate::store::changes::{self as stored, LayoutChange};

const DAY: Millis = 86_400_000;

/// `changes?days=&min_change=&top=`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ChangesRequest {
    /// Each window's length, before and after a change.
    pub days: i64,
    /// The smallest share of text or structure that differs.
    pub min_change: f64,
    pub top: usize,
    /// One change (its id): that change alone, whatever the range,
    /// threshold and verdict, with where visitors click before and after.
    pub change: Option<i64>,
    /// Also the changes of pages found to vary per visitor (left out by
    /// default: they are no change of the page).
    pub include_varying: bool,
}

impl ChangesRequest {
    pub(crate) fn decode(p: &impl Params) -> Result<ChangesRequest> {
        use request::bounds::*;
        let change =
            match p.get("change") {
                None | Some("") => None,
                Some(text) => Some(text.parse::<i64>().ok().filter(|id| *id > 0).ok_or_else(
                    || {
                        ServiceError::invalid(
                            "change: needs a change's id (a whole number above 0)",
                        )
                    },
                )?),
            };
        Ok(ChangesRequest {
            days: p.number(&CHANGE_DAYS)?,
            min_change: p.number(&MIN_CHANGE)?,
            top: p.number(&TOP)?,
            change,
            include_varying: p.flag("include_varying")?,
        })
    }

    pub(crate) fn check(&self) -> Result<()> {
        use request::bounds::*;
        CHANGE_DAYS.check(self.days)?;
        TOP.check(self.top)?;
        if !self.min_change.is_finite() {
            return Err(ServiceError::invalid(
                "min_change: needs a number from 0 to 1",
            ));
        }
        MIN_CHANGE.check(self.min_change)?;
        Ok(())
    }
}

/// A share with its 95% interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub(crate) struct Rate {
    pub value: f64,
    pub low: f64,
    pub high: f64,
}

impl Rate {
    fn of(x: u64, n: u64) -> Rate {
        let (value, low, high) = stats::wilson(x, n);
        Rate { value, low, high }
    }
}

/// After minus before, with its 95% interval; `significant` when the
/// interval leaves out 0. Absent when a side has nothing to count.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub(crate) struct Shift {
    pub diff: f64,
    pub low: f64,
    pub high: f64,
    pub significant: bool,
}

impl Shift {
    fn of(x1: u64, n1: u64, x2: u64, n2: u64) -> Option<Shift> {
        stats::shift(x1, n1, x2, n2).map(|(diff, low, high)| Shift {
            diff,
            low,
            high,
            significant: low > 0.0 || high < 0.0,
        })
    }
}

/// One side of a change: its window and what the page counted there.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Side {
    #[serde(serialize_with = "request::serialize_iso")]
    pub from: Millis,
    #[serde(serialize_with = "request::serialize_iso")]
    pub to: Millis,
    pub views: u64,
    pub exits: u64,
    pub frustrated_views: u64,
    /// Sessions that viewed the page in the window.
    pub sessions: u64,
    /// Of those, the sessions that reached a goal.
    pub converted: u64,
    pub exit_rate: Rate,
    pub frustration_rate: Rate,
    pub conversion_rate: Rate,
}

impl Side {
    fn of(c: changes::Side, from: Millis, to: Millis) -> Side {
        Side {
            from,
            to,
            views: c.views,
            exits: c.exits,
            frustrated_views: c.frustrated_views,
            sessions: c.sessions,
            converted: c.converted,
            exit_rate: Rate::of(c.exits, c.views),
            frustration_rate: Rate::of(c.frustrated_views, c.views),
            conversion_rate: Rate::of(c.converted, c.sessions),
        }
    }
}

/// One change, held before against after.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct ChangeRow {
    #[serde(flatten)]
    pub change: LayoutChange,
    /// The page as reports name it (after the site's path rules).
    pub page: String,
    pub before: Side,
    pub after: Side,
    pub exit_rate_shift: Option<Shift>,
    pub frustration_rate_shift: Option<Shift>,
    pub conversion_rate_shift: Option<Shift>,
    /// Asked for one change: where visitors click before and after.
    pub clicks: Option<Clicks>,
}

/// Where visitors click on a changed page, before against after, at the
/// change's viewport class: the sessions that started in each window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Clicks {
    pub viewport: String,
    pub before: ClickSide,
    pub after: ClickSide,
    /// The elements clicked most (both windows together), at most `top`.
    pub elements: Vec<ElementClicks>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub(crate) struct ClickSide {
    pub clicks: u64,
    /// Sessions with a click on the page.
    pub sessions: u64,
}

/// One element: the sessions that clicked it, and their share of the
/// sessions that clicked on the page, on each side.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct ElementClicks {
    /// The tracker's CSS selector ("" when the click had none).
    pub selector: String,
    pub before_sessions: u64,
    pub after_sessions: u64,
    pub before: Rate,
    pub after: Rate,
    pub shift: Option<Shift>,
}

/// `changes`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct ChangesReport {
    pub days: i64,
    pub min_change: f64,
    /// Whether the site has goals (without, no session converts).
    pub goals: bool,
    /// Newest first.
    pub changes: Vec<ChangeRow>,
    /// Changes in the range left out because their page varies per
    /// visitor (`include_varying` lists them).
    pub varying: u64,
    /// Sightings of a page after a change that decide whether it lasts.
    pub verdict_views: u64,
}

impl Service {
    /// The changes of `site`'s pages in the filters' range, each held
    /// before against after over the sessions that pass the other filters.
    pub(crate) fn changes(
        &self,
        site: &str,
        filters: &request::Filters,
        req: &ChangesRequest,
        cancel: Cancel,
    ) -> Result<ChangesReport> {
        let (listed, varying) = {
            let conn = self.store.read()?;
            let site_id = find_site(&conn, site)?.id;
            match req.change {
                Some(id) => (
                    vec![stored::get(&conn, site_id, id)?.ok_or_else(|| {
                        ServiceError::not_found(format!("change: no change {id} on this site"))
                    })?],
                    0,
                ),
                None => {
                    let (shown, varying) = if req.include_varying {
                        (stored::Listed::All, 0)
                    } else {
                        let n = stored::count_varying(
                            &conn,
                            site_id,
                            filters.from,
                            filters.to,
                            req.min_change,
                        )?;
                        (stored::Listed::Lasting, n)
                    };
                    let list = stored::list(
                        &conn,
                        site_id,
                        filters.from,
                        filters.to,
                        req.min_change,
                        shown,
                        req.top,
                    )?;
                    (list, varying)
                }
            }
        };
        let window = req.days * DAY;
        let mut report = ChangesReport {
            days: req.days,
            min_change: req.min_change,
            goals: false,
            changes: Vec::new(),
            varying,
            verdict_views: super::layouts::VERDICT_SIGHTINGS,
        };
        let (Some(first), Some(last)) = (
            listed.iter().map(|c| c.at_ms).min(),
            listed.iter().map(|c| c.at_ms).max(),
        ) else {
            return Ok(report);
        };
        // Every window within one load: the sessions that started from a
        // window before the first change to one after the last (a session
        // started before a window's start and viewing the page inside it
        // counts too, from the day before).
        let span = request::Filters {
            from: Some(first - window - DAY),
            to: Some(last + window),
            ..filters.clone()
        };
        let a = super::analysis::Analysis::load_until(
            &self.store,
            &self.engine,
            site,
            &span.journey_filter(),
            cancel,
        )?;
        let goals = a.goal_targets()?;
        report.goals = !goals.is_empty();
        let pages: Vec<Option<crate::mine::PageId>> =
            listed.iter().map(|c| a.page(&c.path).ok()).collect();
        let moments: Vec<changes::Moment> = listed
            .iter()
            .zip(&pages)
            .filter_map(|(c, p)| {
                p.map(|page| changes::Moment {
                    page,
                    at: c.at_ms,
                    window,
                })
            })
            .collect();
        let counted = changes::before_after(&*a.journeys, &moments, |j| {
            goals.iter().any(|(_, t)| t.reached(j))
        });
        a.finished()?;
        let mut counted = counted.into_iter();
        for (c, page) in listed.into_iter().zip(pages) {
            let [before, after] = match page {
                Some(_) => counted.next().expect("one count per moment"),
                None => [changes::Side::default(); 2],
            };
            let at = c.at_ms;
            report.changes.push(ChangeRow {
                page: page.map_or_else(|| c.path.clone(), |p| a.name(p)),
                exit_rate_shift: Shift::of(before.exits, before.views, after.exits, after.views),
                frustration_rate_shift: Shift::of(
                    before.frustrated_views,
                    before.views,
                    after.frustrated_views,
                    after.views,
                ),
                conversion_rate_shift: Shift::of(
                    before.converted,
                    before.sessions,
                    after.converted,
                    after.sessions,
                ),
                before: Side::of(before, at - window, at),
                after: Side::of(after, at, at + window),
                clicks: None,
                change: c,
            });
        }
        if req.change.is_some() {
            if let Some(row) = report.changes.first_mut() {
                row.clicks = Some(self.clicks(site, filters, row, window, req.top, &a.cancel)?);
            }
        }
        Ok(report)
    }

    /// Where visitors click on `row`'s page before and after it changed.
    fn clicks(
        &self,
        site: &str,
        filters: &request::Filters,
        row: &ChangeRow,
        window: Millis,
        top: usize,
        cancel: &Cancel,
    ) -> Result<Clicks> {
        let class = ViewportClass::parse(&row.change.viewport);
        let at = row.change.at_ms;
        let side = |from: Millis, to: Millis| -> Result<(ClickSide, FxHashMap<String, u64>)> {
            let f = request::Filters {
                from: Some(from),
                to: Some(to),
                ..filters.clone()
            };
            let (_, activity) = super::charts::page_activity(
                &self.store,
                &self.engine,
                site,
                &f.journey_filter(),
                &row.page,
                cancel,
            )?;
            let mut sessions: FxHashSet<i64> = FxHashSet::default();
            let mut by: FxHashMap<String, FxHashSet<i64>> = FxHashMap::default();
            let mut clicks = 0;
            for c in &activity.clicks {
                if class.is_some_and(|class| ViewportClass::of_width(c.vw) != class) {
                    continue;
                }
                clicks += 1;
                sessions.insert(c.session_id);
                let sel = c.sel.as_deref().unwrap_or("");
                by.entry(sel.to_string()).or_default().insert(c.session_id);
            }
            let counts = by.into_iter().map(|(k, v)| (k, v.len() as u64)).collect();
            Ok((
                ClickSide {
                    clicks,
                    sessions: sessions.len() as u64,
                },
                counts,
            ))
        };
        let (before, before_by) = side(at - window, at)?;
        let (after, after_by) = side(at, at + window)?;
        let mut selectors: Vec<(&String, u64)> = before_by
            .keys()
            .chain(after_by.keys().filter(|k| !before_by.contains_key(*k)))
            .map(|k| {
                let n =
                    before_by.get(k).copied().unwrap_or(0) + after_by.get(k).copied().unwrap_or(0);
                (k, n)
            })
            .collect();
        selectors.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(y.0)));
        selectors.truncate(top);
        let elements = selectors
            .into_iter()
            .map(|(sel, _)| {
                let b = before_by.get(sel).copied().unwrap_or(0);
                let a = after_by.get(sel).copied().unwrap_or(0);
                ElementClicks {
                    selector: sel.clone(),
                    before_sessions: b,
                    after_sessions: a,
                    before: Rate::of(b, before.sessions),
                    after: Rate::of(a, after.sessions),
                    shift: Shift::of(b, before.sessions, a, after.sessions),
                }
            })
            .collect();
        Ok(Clicks {
            viewport: row.change.viewport.clone(),
            before,
            after,
            elements,
        })
    }
}

/// A change's verdict as the CLI's table says it.
fn status(c: &LayoutChange) -> String {
    match c.status {
        stored::ChangeStatus::Lasting => "lasting".into(),
        stored::ChangeStatus::Varies => "varies per visitor".into(),
        stored::ChangeStatus::Pending => format!(
            "confirming ({} of {} views)",
            c.evidence.total(),
            super::layouts::VERDICT_SIGHTINGS
        ),
    }
}

impl ChangesReport {
    pub(crate) fn tables(&self) -> Tables {
        let mut t = Table::new(
            "changes",
            &[
                "at",
                "page",
                "viewport",
                "changed",
                "status",
                "added",
                "removed",
                "exit rate before",
                "exit rate after",
                "shift",
                "conversion before",
                "conversion after",
            ],
        );
        let shift = |s: &Option<Shift>| match s {
            Some(s) => format!(
                "{:+.1} pts [{:+.1}, {:+.1}]{}",
                s.diff * 100.0,
                s.low * 100.0,
                s.high * 100.0,
                if s.significant { " *" } else { "" }
            )
            .into(),
            None => Cell::Empty,
        };
        for r in &self.changes {
            t.row(vec![
                request::iso(r.change.at_ms).into(),
                r.page.as_str().into(),
                r.change.viewport.as_str().into(),
                Cell::Rate(r.change.share),
                status(&r.change).into(),
                r.change.added.join(" | ").into(),
                r.change.removed.join(" | ").into(),
                Cell::Rate(r.before.exit_rate.value),
                Cell::Rate(r.after.exit_rate.value),
                shift(&r.exit_rate_shift),
                Cell::Rate(r.before.conversion_rate.value),
                Cell::Rate(r.after.conversion_rate.value),
            ]);
        }
        let mut tables = vec![t];
        for r in &self.changes {
            let Some(c) = &r.clicks else { continue };
            let mut e = Table::new(
                "clicks",
                &[
                    "element",
                    "sessions before",
                    "share before",
                    "sessions after",
                    "share after",
                    "shift",
                ],
            );
            e.row(vec![
                format!("(clicked on the page, {})", c.viewport).into(),
                c.before.sessions.into(),
                Cell::Empty,
                c.after.sessions.into(),
                Cell::Empty,
                Cell::Empty,
            ]);
            for el in &c.elements {
                e.row(vec![
                    if el.selector.is_empty() {
                        "(no selector)"
                    } else {
                        el.selector.as_str()
                    }
                    .into(),
                    el.before_sessions.into(),
                    Cell::Rate(el.before.value),
                    el.after_sessions.into(),
                    Cell::Rate(el.after.value),
                    shift(&el.shift),
                ]);
            }
            tables.push(e);
        }
        Tables {
            summary: vec![
                ("window (days)", (self.days.max(0) as u64).into()),
                ("changes", self.changes.len().into()),
                ("left out: the page varies per visitor", self.varying.into()),
            ],
            tables,
        }
    }
}
