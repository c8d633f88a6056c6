//! `changes`: what changed on the site, found automatically. Each time a
//! page's stored layout is replaced by one that reads or is built
//! differently ([`store::changes`], recorded at upload), the change is an
//! automatic annotation (page, time, the lines added and removed), and the
//! page is held before against after: its exit rate, frustration rate and
//! the conversion of the sessions through it, each in a window before and
//! after the moment, with 95% intervals and the interval of the shift
//! ([`mine::changes`], [`mine::stats`]).

use serde::Serialize;

use super::request::{self, Params};
use super::table::{Cell, Table, Tables};
use super::{find_site, Result, Service, ServiceError};
use crate::event::Millis;
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
}

impl ChangesRequest {
    pub(crate) fn decode(p: &impl Params) -> Result<ChangesRequest> {
        use request::bounds::*;
        Ok(ChangesRequest {
            days: p.number(&CHANGE_DAYS)?,
            min_change: p.number(&MIN_CHANGE)?,
            top: p.number(&TOP)?,
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
        let listed = {
            let conn = self.store.read()?;
            let site_id = find_site(&conn, site)?.id;
            stored::list(
                &conn,
                site_id,
                filters.from,
                filters.to,
                req.min_change,
                req.top,
            )?
        };
        let window = req.days * DAY;
        let mut report = ChangesReport {
            days: req.days,
            min_change: req.min_change,
            goals: false,
            changes: Vec::new(),
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
                change: c,
            });
        }
        Ok(report)
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
                r.change.added.join(" | ").into(),
                r.change.removed.join(" | ").into(),
                Cell::Rate(r.before.exit_rate.value),
                Cell::Rate(r.after.exit_rate.value),
                shift(&r.exit_rate_shift),
                Cell::Rate(r.before.conversion_rate.value),
                Cell::Rate(r.after.conversion_rate.value),
            ]);
        }
        Tables {
            summary: vec![
                ("window (days)", (self.days.max(0) as u64).into()),
                ("changes", self.changes.len().into()),
            ],
            tables: vec![t],
        }
    }
}
