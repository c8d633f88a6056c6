//! Conversions for both doors: what a goal or an event step is (one
//! syntax for goals, funnel steps and search), and the `events`, `goals`
//! and `revenue` reports over an [`Analysis`].
//!
//! A target is written as text, the same everywhere:
//!
//! * `event:NAME` — a custom event (`trailmap('NAME', {...})` on the tag);
//! * `event:NAME KEY=VALUE` — one whose property KEY has that value
//!   (`event:signup plan=pro`);
//! * anything else (or `page:REGEX`) — a page view whose cleaned path the
//!   regex matches, as funnel steps and stages always were.
//!
//! Names and properties are resolved to the read engine's codes for the
//! site once per request ([`Analysis::target`]); mining then compares
//! integers ([`crate::mine::conversions`]).

use rustc_hash::FxHashSet;
use serde::Serialize;

use super::analysis::Analysis;
use super::error::{Result, ServiceError};
use super::table::{Cell, Table, Tables};
use crate::event::Dimension;
pub(crate) use crate::event::TargetSpec;
use crate::mine::conversions::{self, RevenueQuery, Target};
use crate::mine::{ratio, NO_CODE};

use crate::event::value_text;

/// The properties of each code, parsed once.
fn parsed_props(a: &Analysis) -> Vec<serde_json::Map<String, serde_json::Value>> {
    a.vocabulary
        .props
        .iter()
        .map(|p| serde_json::from_str(p).unwrap_or_default())
        .collect()
}

impl Analysis {
    /// The code of event `name` in this site ([`NO_CODE`]: no session has one).
    pub(crate) fn event_code(&self, name: &str) -> u32 {
        self.vocabulary
            .events
            .iter()
            .position(|e| &**e == name)
            .map_or(NO_CODE, |c| c as u32)
    }

    /// `spec` resolved against this site's pages and events.
    pub(crate) fn target(&self, spec: &TargetSpec, regex: Option<&regex::Regex>) -> Result<Target> {
        match spec {
            TargetSpec::Page(p) => {
                let compiled;
                let re = match regex {
                    Some(re) => re,
                    None => {
                        compiled = crate::mine::budget::PatternBudget::default()
                            .compile(p)
                            .map_err(|e| ServiceError::invalid(format!("{p:?} {e}")))?;
                        &compiled
                    }
                };
                let mut pages = vec![false; self.pages.len()];
                for page in self.pages.matching_until(re, &self.cancel) {
                    pages[page as usize] = true;
                }
                self.finished()?;
                Ok(Target { pages, event: None })
            }
            TargetSpec::Event { name, property } => {
                let code = self.event_code(name);
                let props = property.as_ref().map(|(key, value)| {
                    parsed_props(self)
                        .iter()
                        .enumerate()
                        .filter(|(_, p)| p.get(key).is_some_and(|v| value_text(v) == *value))
                        .map(|(c, _)| c as u32)
                        .collect::<FxHashSet<u32>>()
                });
                Ok(Target {
                    pages: Vec::new(),
                    event: Some((code, props)),
                })
            }
        }
    }

    /// The site's goals, resolved, with the text each was written as.
    pub(crate) fn goal_targets(&self) -> Result<Vec<(String, Target)>> {
        let compiled = self.stored_goals()?;
        compiled
            .iter()
            .map(|(text, spec, re)| Ok((text.clone(), self.target(spec, re.as_ref())?)))
            .collect()
    }

    /// The name of a group code of `dim`.
    pub(super) fn group_name(&self, dim: Option<Dimension>, code: u32) -> String {
        if code == NO_CODE {
            return "(none)".into();
        }
        match dim {
            Some(Dimension::EntryPage) => self.name(code),
            Some(_) => self
                .vocabulary
                .groups
                .get(code as usize)
                .map_or_else(|| "(none)".into(), |g| g.to_string()),
            None => "all".into(),
        }
    }

    /// `events`: every custom event with its sessions, revenue and the
    /// values of its properties (the `top` most common of each).
    pub(crate) fn events(&self, top: usize) -> EventsReport {
        let counts = conversions::events(&*self.journeys);
        let props = parsed_props(self);
        let events = counts
            .events
            .iter()
            .map(|e| {
                // Property values of this event, counted over its events.
                let mut values: std::collections::BTreeMap<
                    &str,
                    std::collections::HashMap<String, u32>,
                > = Default::default();
                for (&(name, code), &n) in &counts.props {
                    if name != e.name || code == NO_CODE {
                        continue;
                    }
                    for (key, value) in props.get(code as usize).into_iter().flatten() {
                        *values
                            .entry(key.as_str())
                            .or_default()
                            .entry(value_text(value))
                            .or_default() += n;
                    }
                }
                let properties = values
                    .into_iter()
                    .map(|(key, counts)| {
                        let mut sorted: Vec<(String, u32)> = counts.into_iter().collect();
                        sorted.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
                        let with = sorted.iter().map(|v| v.1).sum::<u32>();
                        let other = sorted.iter().skip(top).map(|v| v.1).sum();
                        sorted.truncate(top);
                        PropertyRow {
                            key: key.to_string(),
                            events: with,
                            values: sorted
                                .into_iter()
                                .map(|(value, count)| ValueRow {
                                    value,
                                    count,
                                    share: ratio(count, e.count),
                                })
                                .collect(),
                            other,
                        }
                    })
                    .collect();
                EventRow {
                    name: self
                        .vocabulary
                        .events
                        .get(e.name as usize)
                        .map_or_else(String::new, |n| n.to_string()),
                    count: e.count,
                    sessions: e.sessions,
                    session_share: ratio(e.sessions, counts.sessions),
                    orders: e.with_revenue,
                    revenue: (e.with_revenue > 0).then(|| money(e.revenue_milli)),
                    properties,
                }
            })
            .collect();
        EventsReport {
            sessions: counts.sessions,
            sessions_with_events: counts.with_events,
            events,
        }
    }

    /// `goals`: each goal's conversions and rate, overall and per value
    /// of `breakdown` (the `top` largest groups).
    pub(crate) fn goals(&self, breakdown: Option<Dimension>, top: usize) -> Result<GoalsReport> {
        let targets = self.goal_targets()?;
        let (names, targets): (Vec<String>, Vec<Target>) = targets.into_iter().unzip();
        // One pass: per group when a breakdown is asked (each session is
        // in one group, so the groups add up to the whole), else one group.
        let counted = conversions::goals(&*self.journeys, &targets, breakdown.is_some());
        let mut total = conversions::GoalGroup {
            group: NO_CODE,
            sessions: 0,
            converted: 0,
            reached: vec![0; targets.len()],
        };
        for g in &counted {
            total.sessions += g.sessions;
            total.converted += g.converted;
            for (t, n) in total.reached.iter_mut().zip(&g.reached) {
                *t += n;
            }
        }
        let row = |g: &conversions::GoalGroup| GoalGroupRow {
            value: self.group_name(breakdown, g.group),
            sessions: g.sessions,
            converted: g.converted,
            conversion_rate: ratio(g.converted, g.sessions),
            goals: g
                .reached
                .iter()
                .map(|n| GoalCell {
                    conversions: *n,
                    rate: ratio(*n, g.sessions),
                })
                .collect(),
        };
        let groups = match breakdown {
            None => Vec::new(),
            Some(_) => counted.iter().take(top).map(row).collect(),
        };
        self.finished()?;
        Ok(GoalsReport {
            sessions: total.sessions,
            converted: total.converted,
            conversion_rate: ratio(total.converted, total.sessions),
            goals: names
                .into_iter()
                .zip(&total.reached)
                .map(|(goal, n)| GoalRow {
                    goal,
                    conversions: *n,
                    conversion_rate: ratio(*n, total.sessions),
                })
                .collect(),
            breakdown: breakdown.map(|d| d.as_str().to_string()),
            unit: super::request::Unit::Session,
            groups,
        })
    }

    /// `revenue`: orders (events with a `revenue`), revenue, average
    /// order value and abandoned carts in one currency, overall and per
    /// value of `breakdown`.
    pub(crate) fn revenue(
        &self,
        breakdown: Option<Dimension>,
        currency: Option<&str>,
        top: usize,
    ) -> Result<RevenueReport> {
        let props = parsed_props(self);
        // Each property code's currency, read once (not at every event).
        let currencies: Vec<String> = props
            .iter()
            .map(|p| {
                p.get("currency")
                    .map(value_text)
                    .unwrap_or_default()
                    .to_uppercase()
            })
            .collect();
        let currency_of =
            |code: u32| -> &str { currencies.get(code as usize).map_or("", String::as_str) };
        // The currencies orders came in, most orders first; and carts'.
        let cart = self.event_code(CART_EVENT);
        let mut orders_by_currency: std::collections::HashMap<&str, u32> = Default::default();
        let mut carts_by_currency: std::collections::HashMap<&str, u32> = Default::default();
        for block in self.journeys.blocks() {
            for j in block.iter() {
                for m in j.marks {
                    if m.revenue_milli != crate::mine::NO_REVENUE {
                        *orders_by_currency.entry(currency_of(m.props)).or_default() += 1;
                    } else if m.name == cart && cart != NO_CODE {
                        *carts_by_currency.entry(currency_of(m.props)).or_default() += 1;
                    }
                }
            }
        }
        let mut seen: Vec<CurrencyRow> = orders_by_currency
            .into_iter()
            .map(|(currency, orders)| CurrencyRow {
                currency: currency.to_string(),
                orders,
            })
            .collect();
        seen.sort_by(|a, b| b.orders.cmp(&a.orders).then(a.currency.cmp(&b.currency)));
        let chosen = match currency {
            Some(c) => c.trim().to_uppercase(),
            // Without orders, the carts' currency, so that what they hold
            // still has one.
            None => match seen.first() {
                Some(c) => c.currency.clone(),
                None => carts_by_currency
                    .into_iter()
                    .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(a.0)))
                    .map(|(c, _)| c.to_string())
                    .unwrap_or_default(),
            },
        };
        let in_currency: Vec<bool> = (0..props.len() as u32)
            .map(|c| currency_of(c) == chosen)
            .collect();
        let no_props_in = chosen.is_empty();
        let in_currency = |code: u32| {
            if code == NO_CODE {
                no_props_in
            } else {
                in_currency.get(code as usize).copied().unwrap_or(false)
            }
        };
        let values: Vec<i64> = props
            .iter()
            .enumerate()
            .map(|(c, p)| {
                let value = p.get("value").and_then(|v| match v {
                    serde_json::Value::Number(n) => n.as_f64(),
                    serde_json::Value::String(s) => s.trim().parse().ok(),
                    _ => None,
                });
                match value {
                    Some(v) if v.is_finite() && in_currency(c as u32) => {
                        (v * 1000.0).round().clamp(-9e15, 9e15) as i64
                    }
                    _ => 0,
                }
            })
            .collect();
        let cart_value = |code: u32| values.get(code as usize).copied().unwrap_or(0);
        let q = RevenueQuery {
            in_currency: &in_currency,
            cart,
            cart_value: &cart_value,
        };
        // One pass, as for goals: the groups add up to the whole.
        let counted = conversions::revenue(&*self.journeys, &q, breakdown.is_some());
        let mut total = conversions::RevenueGroup {
            group: NO_CODE,
            ..Default::default()
        };
        for g in &counted {
            total.sessions += g.sessions;
            total.orders += g.orders;
            total.revenue_milli = total.revenue_milli.saturating_add(g.revenue_milli);
            total.buyers += g.buyers;
            total.carts += g.carts;
            total.abandoned += g.abandoned;
            total.abandoned_value_milli = total
                .abandoned_value_milli
                .saturating_add(g.abandoned_value_milli);
        }
        let groups = match breakdown {
            None => Vec::new(),
            Some(_) => counted
                .iter()
                .take(top)
                .map(|g| RevenueRow::of(g, self.group_name(breakdown, g.group)))
                .collect(),
        };
        self.finished()?;
        Ok(RevenueReport {
            currency: chosen,
            currencies: seen,
            totals: RevenueRow::of(&total, "all".into()),
            breakdown: breakdown.map(|d| d.as_str().to_string()),
            groups,
        })
    }
}

/// The event whose sessions count as carts (the GA4 name, which shops'
/// tags already send).
pub(crate) const CART_EVENT: &str = "add_to_cart";

/// Thousandths as a decimal amount.
fn money(milli: i64) -> f64 {
    milli as f64 / 1000.0
}

/// `events`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct EventsReport {
    pub sessions: u32,
    pub sessions_with_events: u32,
    pub events: Vec<EventRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct EventRow {
    pub name: String,
    pub count: u32,
    pub sessions: u32,
    /// sessions / all sessions in the report.
    pub session_share: f64,
    /// Events of this name with a revenue.
    pub orders: u32,
    /// Their revenue summed over currencies (see the `revenue` report for
    /// one currency at a time); none when no event carried one.
    pub revenue: Option<f64>,
    pub properties: Vec<PropertyRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct PropertyRow {
    pub key: String,
    /// Events that had this property.
    pub events: u32,
    /// The most common values.
    pub values: Vec<ValueRow>,
    /// Events with a value past those listed.
    pub other: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct ValueRow {
    pub value: String,
    pub count: u32,
    /// count / the event's count.
    pub share: f64,
}

/// `goals`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct GoalsReport {
    pub sessions: u32,
    /// Sessions that reached any goal.
    pub converted: u32,
    pub conversion_rate: f64,
    pub goals: Vec<GoalRow>,
    pub breakdown: Option<String>,
    /// What the counts count: sessions, or visitors (`unit=visitor`).
    pub unit: super::request::Unit,
    pub groups: Vec<GoalGroupRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct GoalRow {
    /// The goal as written in the site's settings.
    pub goal: String,
    pub conversions: u32,
    pub conversion_rate: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct GoalGroupRow {
    pub value: String,
    pub sessions: u32,
    pub converted: u32,
    pub conversion_rate: f64,
    /// In the order of `goals`.
    pub goals: Vec<GoalCell>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct GoalCell {
    pub conversions: u32,
    pub rate: f64,
}

/// `revenue`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct RevenueReport {
    /// The currency of every amount (upper-cased; empty: orders sent
    /// without one).
    pub currency: String,
    /// Every currency orders came in, most orders first.
    pub currencies: Vec<CurrencyRow>,
    pub totals: RevenueRow,
    pub breakdown: Option<String>,
    pub groups: Vec<RevenueRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct CurrencyRow {
    pub currency: String,
    pub orders: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct RevenueRow {
    pub value: String,
    pub sessions: u32,
    pub orders: u32,
    pub revenue: f64,
    pub average_order_value: f64,
    /// Sessions with an order.
    pub buyers: u32,
    /// buyers / sessions.
    pub conversion_rate: f64,
    /// Sessions that added to the cart.
    pub carts: u32,
    /// Carts left without an order, and what was in them.
    pub abandoned_carts: u32,
    pub abandoned_value: f64,
    /// abandoned carts / carts.
    pub abandonment_rate: f64,
}

impl RevenueRow {
    fn of(g: &conversions::RevenueGroup, value: String) -> RevenueRow {
        RevenueRow {
            value,
            sessions: g.sessions,
            orders: g.orders,
            revenue: money(g.revenue_milli),
            average_order_value: if g.orders == 0 {
                0.0
            } else {
                money(g.revenue_milli) / f64::from(g.orders)
            },
            buyers: g.buyers,
            conversion_rate: ratio(g.buyers, g.sessions),
            carts: g.carts,
            abandoned_carts: g.abandoned,
            abandoned_value: money(g.abandoned_value_milli),
            abandonment_rate: ratio(g.abandoned, g.carts),
        }
    }
}

impl EventsReport {
    pub(crate) fn tables(&self) -> Tables {
        let mut events = Table::new(
            "events",
            &[
                "event",
                "count",
                "sessions",
                "session share",
                "orders",
                "revenue",
            ],
        );
        let mut values = Table::new(
            "property values",
            &["event", "property", "value", "count", "share"],
        );
        for e in &self.events {
            events.row(vec![
                e.name.as_str().into(),
                e.count.into(),
                e.sessions.into(),
                Cell::Rate(e.session_share),
                e.orders.into(),
                e.revenue.map_or(Cell::Empty, Cell::Number),
            ]);
            for p in &e.properties {
                for v in &p.values {
                    values.row(vec![
                        e.name.as_str().into(),
                        p.key.as_str().into(),
                        v.value.as_str().into(),
                        v.count.into(),
                        Cell::Rate(v.share),
                    ]);
                }
            }
        }
        Tables {
            summary: vec![
                ("sessions", self.sessions.into()),
                ("sessions with events", self.sessions_with_events.into()),
            ],
            tables: vec![events, values],
        }
    }
}

impl GoalsReport {
    pub(crate) fn tables(&self) -> Tables {
        let mut goals = Table::new("goals", &["goal", "conversions", "conversion rate"]);
        for g in &self.goals {
            goals.row(vec![
                g.goal.as_str().into(),
                g.conversions.into(),
                Cell::Rate(g.conversion_rate),
            ]);
        }
        let mut tables = vec![goals];
        if self.breakdown.is_some() {
            let mut by = Table::new(
                "by segment",
                &[
                    "value",
                    "goal",
                    "sessions",
                    "conversions",
                    "conversion rate",
                ],
            );
            for g in &self.groups {
                by.row(vec![
                    g.value.as_str().into(),
                    "any goal".into(),
                    g.sessions.into(),
                    g.converted.into(),
                    Cell::Rate(g.conversion_rate),
                ]);
                for (goal, cell) in self.goals.iter().zip(&g.goals) {
                    by.row(vec![
                        g.value.as_str().into(),
                        goal.goal.as_str().into(),
                        g.sessions.into(),
                        cell.conversions.into(),
                        Cell::Rate(cell.rate),
                    ]);
                }
            }
            tables.push(by);
        }
        Tables {
            summary: vec![
                ("sessions", self.sessions.into()),
                ("converted", self.converted.into()),
                ("conversion rate", Cell::Rate(self.conversion_rate)),
            ],
            tables,
        }
    }
}

impl RevenueRow {
    fn cells(&self) -> Vec<Cell> {
        vec![
            self.value.as_str().into(),
            self.sessions.into(),
            self.orders.into(),
            Cell::Number(self.revenue),
            // No orders: no average, not an average of 0.
            if self.orders == 0 {
                Cell::Empty
            } else {
                Cell::Number(self.average_order_value)
            },
            self.buyers.into(),
            Cell::Rate(self.conversion_rate),
            self.carts.into(),
            self.abandoned_carts.into(),
            Cell::Number(self.abandoned_value),
            Cell::Rate(self.abandonment_rate),
        ]
    }
}

impl RevenueReport {
    pub(crate) fn tables(&self) -> Tables {
        let columns = [
            "value",
            "sessions",
            "orders",
            "revenue",
            "average order value",
            "buyers",
            "conversion rate",
            "carts",
            "abandoned carts",
            "abandoned value",
            "abandonment rate",
        ];
        let mut by = Table::new("revenue", &columns);
        by.row(self.totals.cells());
        for g in &self.groups {
            by.row(g.cells());
        }
        let mut currencies = Table::new("currencies", &["currency", "orders"]);
        for c in &self.currencies {
            currencies.row(vec![c.currency.as_str().into(), c.orders.into()]);
        }
        let t = &self.totals;
        Tables {
            summary: vec![
                ("currency", self.currency.as_str().into()),
                ("revenue", Cell::Number(t.revenue)),
                ("orders", t.orders.into()),
                (
                    "average order value",
                    if t.orders == 0 {
                        Cell::Empty
                    } else {
                        Cell::Number(t.average_order_value)
                    },
                ),
                ("abandoned carts", t.abandoned_carts.into()),
                ("abandoned value", Cell::Number(t.abandoned_value)),
            ],
            tables: vec![by, currencies],
        }
    }
}
