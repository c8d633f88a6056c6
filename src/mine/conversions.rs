//! Conversions: the shop's custom events counted, goals reached, and
//! revenue, orders and abandoned carts, for all sessions or per group (the
//! value of one dimension, [`JourneyRef::group`]).
//!
//! Pure counting over journeys and their events ([`JourneyRef::marks`]);
//! the caller resolves names and properties to the read engine's codes
//! ([`Target`]) and names the codes in the results. Every count is exact:
//! sums of revenue are in thousandths, in integers.

use rustc_hash::{FxHashMap, FxHashSet};

use super::{JourneyMark, JourneyRef, JourneySet, PageId, NO_CODE, NO_REVENUE};

/// What a goal (or an event funnel step) is reached by, in codes: a page
/// view of one of `pages`, or an event named `event` whose properties are
/// among `props` (any properties when `None`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Target {
    /// By cleaned page id: a view of the page reaches the target.
    pub pages: Vec<bool>,
    /// The event's name code ([`NO_CODE`]: an event no session has) and
    /// the property codes that meet its condition.
    pub event: Option<(u32, Option<FxHashSet<u32>>)>,
}

impl Target {
    pub(crate) fn page(&self, page: PageId) -> bool {
        self.pages.get(page as usize).copied().unwrap_or(false)
    }

    pub(crate) fn mark(&self, m: &JourneyMark) -> bool {
        match &self.event {
            Some((name, props)) => {
                *name != NO_CODE
                    && m.name == *name
                    && props.as_ref().is_none_or(|p| p.contains(&m.props))
            }
            None => false,
        }
    }

    /// Whether the journey reached the target anywhere.
    pub(crate) fn reached(&self, j: &JourneyRef<'_>) -> bool {
        match &self.event {
            Some(_) => j.marks.iter().any(|m| self.mark(m)),
            None => j.pages.iter().any(|p| self.page(*p)),
        }
    }
}

/// One group's sessions and who reached each goal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GoalGroup {
    /// The group's code ([`NO_CODE`] for sessions without a value).
    pub group: u32,
    pub sessions: u32,
    /// Sessions that reached any goal.
    pub converted: u32,
    /// Sessions that reached each goal, in the order of the targets.
    pub reached: Vec<u32>,
}

/// Goals per group, largest group first (then by code); with `grouped`
/// false, one group of every session.
pub(crate) fn goals(
    journeys: &(impl JourneySet + ?Sized),
    targets: &[Target],
    grouped: bool,
) -> Vec<GoalGroup> {
    let mut groups: FxHashMap<u32, GoalGroup> = FxHashMap::default();
    for block in journeys.blocks() {
        for j in block.iter() {
            let code = if grouped { j.group } else { NO_CODE };
            let g = groups.entry(code).or_insert_with(|| GoalGroup {
                group: code,
                sessions: 0,
                converted: 0,
                reached: vec![0; targets.len()],
            });
            g.sessions += 1;
            let mut any = false;
            for (t, reached) in targets.iter().zip(&mut g.reached) {
                if t.reached(&j) {
                    *reached += 1;
                    any = true;
                }
            }
            g.converted += u32::from(any);
        }
    }
    let mut out: Vec<GoalGroup> = groups.into_values().collect();
    out.sort_by(|a, b| b.sessions.cmp(&a.sessions).then(a.group.cmp(&b.group)));
    out
}

/// One event name's numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EventCount {
    pub name: u32,
    pub count: u32,
    /// Sessions with at least one.
    pub sessions: u32,
    /// Of those events, the ones with a revenue, and its sum.
    pub with_revenue: u32,
    pub revenue_milli: i64,
}

/// The custom events of a set of journeys.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct EventCounts {
    /// Journeys walked.
    pub sessions: u32,
    /// Journeys with any event.
    pub with_events: u32,
    /// By count, then by name code.
    pub events: Vec<EventCount>,
    /// How many events of each name had each set of properties.
    pub props: FxHashMap<(u32, u32), u32>,
}

/// Counts every custom event.
pub(crate) fn events(journeys: &(impl JourneySet + ?Sized)) -> EventCounts {
    let mut out = EventCounts::default();
    let mut by_name: FxHashMap<u32, EventCount> = FxHashMap::default();
    let mut seen: Vec<u32> = Vec::new();
    for block in journeys.blocks() {
        for j in block.iter() {
            out.sessions += 1;
            if j.marks.is_empty() {
                continue;
            }
            out.with_events += 1;
            seen.clear();
            for m in j.marks {
                let e = by_name.entry(m.name).or_insert(EventCount {
                    name: m.name,
                    count: 0,
                    sessions: 0,
                    with_revenue: 0,
                    revenue_milli: 0,
                });
                e.count += 1;
                if !seen.contains(&m.name) {
                    seen.push(m.name);
                    e.sessions += 1;
                }
                if m.revenue_milli != NO_REVENUE {
                    e.with_revenue += 1;
                    e.revenue_milli = e.revenue_milli.saturating_add(m.revenue_milli);
                }
                *out.props.entry((m.name, m.props)).or_default() += 1;
            }
        }
    }
    out.events = by_name.into_values().collect();
    out.events
        .sort_by(|a, b| b.count.cmp(&a.count).then(a.name.cmp(&b.name)));
    out
}

/// What revenue counts, in codes: which orders are in the currency asked
/// for, which events are cart additions and what each adds.
pub(crate) struct RevenueQuery<'a> {
    /// By property code: an order with these properties is in the
    /// currency reported ([`NO_CODE`], no properties, is at index `len`).
    pub in_currency: &'a dyn Fn(u32) -> bool,
    /// The name code of `add_to_cart` ([`NO_CODE`]: no session has one).
    pub cart: u32,
    /// A cart addition's value in thousandths, by property code (0: none
    /// or another currency).
    pub cart_value: &'a dyn Fn(u32) -> i64,
}

/// One group's revenue.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct RevenueGroup {
    pub group: u32,
    pub sessions: u32,
    /// Orders (events with a revenue) in the currency, and their sum.
    pub orders: u32,
    pub revenue_milli: i64,
    /// Sessions with an order in the currency.
    pub buyers: u32,
    /// Sessions that added to the cart.
    pub carts: u32,
    /// Sessions that added to the cart and ordered nothing (in any
    /// currency), and the value they left in it.
    pub abandoned: u32,
    pub abandoned_value_milli: i64,
}

/// Revenue, orders and abandoned carts per group, largest revenue first
/// (then most sessions, then by code); with `grouped` false, one group.
pub(crate) fn revenue(
    journeys: &(impl JourneySet + ?Sized),
    q: &RevenueQuery<'_>,
    grouped: bool,
) -> Vec<RevenueGroup> {
    let mut groups: FxHashMap<u32, RevenueGroup> = FxHashMap::default();
    for block in journeys.blocks() {
        for j in block.iter() {
            let code = if grouped { j.group } else { NO_CODE };
            let g = groups.entry(code).or_insert_with(|| RevenueGroup {
                group: code,
                ..RevenueGroup::default()
            });
            g.sessions += 1;
            let (mut orders, mut ordered_any, mut carted, mut cart_value) =
                (0u32, false, false, 0i64);
            for m in j.marks {
                if m.revenue_milli != NO_REVENUE {
                    ordered_any = true;
                    if (q.in_currency)(m.props) {
                        orders += 1;
                        g.revenue_milli = g.revenue_milli.saturating_add(m.revenue_milli);
                    }
                } else if m.name == q.cart && q.cart != NO_CODE {
                    carted = true;
                    cart_value = cart_value.saturating_add((q.cart_value)(m.props));
                }
            }
            g.orders += orders;
            g.buyers += u32::from(orders > 0);
            g.carts += u32::from(carted);
            if carted && !ordered_any {
                g.abandoned += 1;
                g.abandoned_value_milli = g.abandoned_value_milli.saturating_add(cart_value);
            }
        }
    }
    let mut out: Vec<RevenueGroup> = groups.into_values().collect();
    out.sort_by(|a, b| {
        b.revenue_milli
            .cmp(&a.revenue_milli)
            .then(b.sessions.cmp(&a.sessions))
            .then(a.group.cmp(&b.group))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mine::testing::Rng;
    use crate::mine::Journey;

    const CART: u32 = 0;
    const PURCHASE: u32 = 1;
    const SIGNUP: u32 = 2;

    fn mark(after: u32, name: u32, props: u32, revenue_milli: i64) -> JourneyMark {
        JourneyMark {
            after,
            time: 0,
            name,
            props,
            revenue_milli,
        }
    }

    /// Random sessions: pages 0-5, events cart/purchase/signup with props
    /// codes 0-2 (0 = EUR, 1 = USD, 2 = plan=pro), groups 0-3.
    fn sessions(n: usize, rng: &mut Rng) -> Vec<Journey> {
        (0..n as i64)
            .map(|id| {
                let views = 1 + rng.below(5) as usize;
                let mut j = Journey::from_pages(
                    id,
                    &(0..views).map(|_| rng.below(6) as u32).collect::<Vec<_>>(),
                );
                for _ in 0..rng.below(4) {
                    let name = rng.below(3) as u32;
                    let props = [NO_CODE, 0, 1, 2][rng.below(4) as usize];
                    let revenue = if name == PURCHASE && rng.below(3) > 0 {
                        rng.below(100_000) as i64
                    } else {
                        NO_REVENUE
                    };
                    j.marks.push(mark(
                        rng.below(views as u64 + 1) as u32,
                        name,
                        props,
                        revenue,
                    ));
                }
                j.marks.sort_by_key(|m| m.after);
                j
            })
            .collect()
    }

    fn grouped(journeys: &[Journey], rng: &mut Rng) -> crate::mine::Journeys {
        let mut all = crate::mine::Journeys::with_capacity(0, 0);
        for j in journeys {
            let mut r = j.as_ref();
            r.group = rng.below(4) as u32;
            all.push(r);
        }
        all
    }

    #[test]
    fn goals_count_each_session_once_per_goal_against_a_plain_count() {
        let mut rng = Rng(11);
        let journeys = grouped(&sessions(3000, &mut rng), &mut rng);
        let thanks = Target {
            pages: vec![false, false, false, false, false, true],
            event: None,
        };
        let pro = Target {
            pages: Vec::new(),
            event: Some((SIGNUP, Some([2].into_iter().collect()))),
        };
        let purchase = Target {
            pages: Vec::new(),
            event: Some((PURCHASE, None)),
        };
        let targets = [thanks, pro, purchase];
        let result = goals(&journeys, &targets, true);
        assert_eq!(result.iter().map(|g| g.sessions).sum::<u32>(), 3000);
        for g in &result {
            let members: Vec<JourneyRef<'_>> =
                journeys.iter().filter(|j| j.group == g.group).collect();
            let count = |f: &dyn Fn(&JourneyRef<'_>) -> bool| {
                members.iter().filter(|j| f(j)).count() as u32
            };
            let pages5 = |j: &JourneyRef<'_>| j.pages.contains(&5);
            let signup_pro =
                |j: &JourneyRef<'_>| j.marks.iter().any(|m| m.name == SIGNUP && m.props == 2);
            let bought = |j: &JourneyRef<'_>| j.marks.iter().any(|m| m.name == PURCHASE);
            assert_eq!(g.sessions, members.len() as u32);
            assert_eq!(
                g.reached,
                [count(&pages5), count(&signup_pro), count(&bought)]
            );
            assert_eq!(
                g.converted,
                count(&|j| pages5(j) || signup_pro(j) || bought(j))
            );
        }
        let all = goals(&journeys, &targets, false);
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].sessions, 3000);
        // An event no session has reaches nothing.
        let none = Target {
            pages: Vec::new(),
            event: Some((NO_CODE, None)),
        };
        assert_eq!(goals(&journeys, &[none], false)[0].reached, [0]);
    }

    #[test]
    fn events_and_revenue_add_up_to_a_plain_count() {
        let mut rng = Rng(5);
        let plain = sessions(2000, &mut rng);
        let journeys = grouped(&plain, &mut rng);
        let e = events(&journeys);
        assert_eq!(e.sessions, 2000);
        for c in &e.events {
            let marks = || {
                journeys
                    .iter()
                    .flat_map(|j| j.marks.iter())
                    .filter(|m| m.name == c.name)
            };
            assert_eq!(c.count as usize, marks().count());
            assert_eq!(
                c.sessions as usize,
                journeys
                    .iter()
                    .filter(|j| j.marks.iter().any(|m| m.name == c.name))
                    .count()
            );
            let paid: Vec<i64> = marks()
                .map(|m| m.revenue_milli)
                .filter(|r| *r != NO_REVENUE)
                .collect();
            assert_eq!(
                (c.with_revenue as usize, c.revenue_milli),
                (paid.len(), paid.iter().sum())
            );
        }
        assert_eq!(
            e.props.values().sum::<u32>(),
            e.events.iter().map(|c| c.count).sum::<u32>()
        );

        // EUR orders (props 0), cart additions worth 10.000 when in EUR.
        let in_eur = |p: u32| p == 0;
        let value = |p: u32| if p == 0 { 10_000 } else { 0 };
        let q = RevenueQuery {
            in_currency: &in_eur,
            cart: CART,
            cart_value: &value,
        };
        let result = revenue(&journeys, &q, true);
        assert_eq!(result.iter().map(|g| g.sessions).sum::<u32>(), 2000);
        for g in &result {
            let members: Vec<JourneyRef<'_>> =
                journeys.iter().filter(|j| j.group == g.group).collect();
            let eur_orders = |j: &JourneyRef<'_>| -> Vec<i64> {
                j.marks
                    .iter()
                    .filter(|m| m.revenue_milli != NO_REVENUE && m.props == 0)
                    .map(|m| m.revenue_milli)
                    .collect()
            };
            let orders: usize = members.iter().map(|j| eur_orders(j).len()).sum();
            let revenue: i64 = members
                .iter()
                .map(|j| eur_orders(j).iter().sum::<i64>())
                .sum();
            let carted = |j: &JourneyRef<'_>| {
                j.marks
                    .iter()
                    .any(|m| m.name == CART && m.revenue_milli == NO_REVENUE)
            };
            let ordered =
                |j: &JourneyRef<'_>| j.marks.iter().any(|m| m.revenue_milli != NO_REVENUE);
            let abandoned: Vec<&JourneyRef<'_>> = members
                .iter()
                .filter(|j| carted(j) && !ordered(j))
                .collect();
            let left: i64 = abandoned
                .iter()
                .flat_map(|j| j.marks.iter().filter(|m| m.name == CART && m.props == 0))
                .map(|_| 10_000)
                .sum();
            assert_eq!((g.orders as usize, g.revenue_milli), (orders, revenue));
            assert_eq!(
                g.buyers as usize,
                members.iter().filter(|j| !eur_orders(j).is_empty()).count()
            );
            assert_eq!(
                g.carts as usize,
                members.iter().filter(|j| carted(j)).count()
            );
            assert_eq!(
                (g.abandoned as usize, g.abandoned_value_milli),
                (abandoned.len(), left)
            );
        }
        assert!(result
            .windows(2)
            .all(|w| w[0].revenue_milli >= w[1].revenue_milli));
    }
}
