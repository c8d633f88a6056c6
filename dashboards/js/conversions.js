// Conversions: the site's goals (pages or custom events) and who reaches
// them, revenue from orders (custom events with a numeric `revenue`) and
// abandoned carts, and the custom events with their properties.
// Goal names, segments, currencies, event names and property values come
// from visitors or people: rendered as text (h()) only.
// With a comparison (compare=previous|year) every headline figure shows
// the earlier one and the change, and the tables a change column.
import {
  h, api, clear, fmt, card, link, readHash, hashFor, filterParams, empty, loading, errorBox, meter, table, barList, qv,
  compareMode, compareName, compareLine, delta, deltaCell, targetLabel,
} from './core.js';

export const BREAKDOWNS = [
  ['channel', 'Channel'], ['device', 'Device'], ['country', 'Country'], ['referrer', 'Referrer'],
  ['utm_campaign', 'Campaign'], ['entry_page', 'Entry page'],
];
const BY = new Set(BREAKDOWNS.map(([v]) => v));
const TOP = 10;
const TAG_CALL = "trailmap('purchase', {revenue: 89.5, currency: 'EUR'})";

// The view's own choices live in the URL (a reload or a shared link shows
// the same tables) without re-rendering the whole view: each card asks
// again for itself.
function keepParam(key, value) {
  const { route, params } = readHash();
  if (value === null || value === '') params.delete(key); else params.set(key, value);
  history.replaceState(null, '', hashFor(route, params));
}
const choice = (params, key, fallback) => (BY.has(params.get(key)) ? params.get(key) : fallback);
const quiet = (e) => e && (e.name === 'AbortError' || e.status === 401);

// ---------- money ----------
// Amounts are shown as numbers with the digits of their currency (two
// when Intl does not know the code: it comes from the events), the code
// beside them.
function digitsOf(cur) {
  try { return new Intl.NumberFormat(undefined, { style: 'currency', currency: cur }).resolvedOptions().maximumFractionDigits; } catch { return 2; }
}
function amount(x, cur) {
  if (x === null || x === undefined || Number.isNaN(x)) return '–';
  const d = cur ? digitsOf(cur) : 2;
  return new Intl.NumberFormat(undefined, { minimumFractionDigits: d, maximumFractionDigits: d }).format(x);
}

// ---------- pieces ----------
function byPicker(id, current, onChange) {
  const sel = h('select#' + id, { 'aria-label': 'Break down by' },
    BREAKDOWNS.map(([v, l]) => h('option', { value: v, selected: v === current }, l)));
  sel.addEventListener('change', () => onChange(sel.value));
  return h('label.ctl', h('span', 'By'), sel);
}

// A segment of a breakdown: channels and devices read as words, pages as
// code, "(none)" and the computed rest muted. Where the toolbar has the
// same filter, the segment links to the view filtered by it.
const FILTERS = new Set(['channel', 'device', 'country', 'referrer']);
function segmentCell(by, row, keep) {
  if (row.rest) return h('span.muted.seg-rest', { title: 'Every segment beyond the ' + TOP + ' largest' }, 'Other segments');
  const v = row.value;
  if (v === '(none)' || v === null || v === undefined || v === '') return h('span.muted', '(none)');
  const text = by === 'channel' || by === 'device' ? fmt.label(v) : v;
  const cls = by === 'entry_page' ? 'seg-cell.mono' : 'seg-cell';
  if (FILTERS.has(by)) return h('a.' + cls, { href: link('conversions', { ...keep(), [by]: v }), title: 'Filter by ' + v }, text);
  return h('span.' + cls, { title: v }, text);
}

// The API lists the largest segments only; every session is in exactly
// one segment, so the rest is the totals minus what is listed (a row of
// its own, so the table adds up to the totals).
function restRow(groups, totals, additive) {
  const sum = (k) => groups.reduce((a, g) => a + (g[k] || 0), 0);
  const sessions = (totals.sessions || 0) - sum('sessions');
  if (sessions <= 0) return null;
  const row = { rest: true, value: null, sessions };
  for (const k of additive) {
    const v = (totals[k] || 0) - sum(k);
    row[k] = Math.abs(v) < 1e-6 ? 0 : Math.round(v * 100) / 100;
  }
  return row;
}

// The currency most add_to_cart events carry ('' when none says).
function cartCurrency(events) {
  const cart = (events.events || []).find((e) => e.name === 'add_to_cart');
  const prop = cart && (cart.properties || []).find((p) => p.key === 'currency');
  const top = prop && (prop.values || [])[0];
  return top && /^[A-Za-z]{3}$/.test(top.value) ? top.value : '';
}

const pctCell = (rate, cls) => h('span', fmt.pct(rate), meter(rate, cls));

// A row's match in the earlier report's list: by `key`; absent from a
// list shorter than TOP means none then (a zero row), from a full one
// unknown (null: beyond the earlier top rows). The computed rest row
// matches the earlier rest.
function earlierRow(list, row, key, rest) {
  if (!list) return undefined;
  if (row.rest) return rest || { sessions: 0 };
  const found = list.find((x) => x[key] === row[key]);
  return found || (list.length < TOP ? {} : null);
}
const NOT_LISTED = 'not among the earlier top ' + TOP;
const cap = (text) => text.charAt(0).toUpperCase() + text.slice(1);

// ---------- render ----------
export async function render(el, ctx) {
  el.appendChild(h('div.view-head', h('h1', 'Conversions'),
    h('p.muted', 'Which sessions reach a goal, what they buy, and the custom events your pages send.')));
  const f = filterParams(ctx.params);
  const mode = compareMode(ctx.params);
  const opts = { signal: ctx.signal };
  // The events are asked once: the events card shows them and the revenue
  // card needs them to say why it has no orders.
  const askEvents = () => { const p = api(ctx.base + '/events', { top: TOP, compare: mode, ...f }, opts); p.catch(() => {}); return p; };
  let eventsP = askEvents(); // each card reports its own failure
  const state = {
    goalsBy: choice(ctx.params, 'goals_by', 'channel'),
    revenueBy: choice(ctx.params, 'revenue_by', 'utm_campaign'),
    currency: ctx.params.get('currency') || '',
    event: ctx.params.get('event') || '',
  };
  // The view's choices, for links that keep them (a segment filter).
  const keep = () => ({
    goals_by: state.goalsBy === 'channel' ? null : state.goalsBy,
    revenue_by: state.revenueBy === 'utm_campaign' ? null : state.revenueBy,
    currency: state.currency || null, event: state.event || null,
  });
  const goalsBox = h('div', loading());
  const revenueBox = h('div', loading());
  const eventsBox = h('div', loading());
  const goalsCard = card('Goals', goalsBox, { actions: byPicker('goals-breakdown', state.goalsBy, (v) => { state.goalsBy = v; keepParam('goals_by', v === 'channel' ? null : v); loadGoals(); }) });
  goalsCard.id = 'goals-card';
  const revActions = h('div.row-actions.rev-actions', h('span.rev-currency-slot'),
    byPicker('revenue-breakdown', state.revenueBy, (v) => { state.revenueBy = v; keepParam('revenue_by', v === 'utm_campaign' ? null : v); loadRevenue(); }));
  const revenueCard = card('Revenue', revenueBox, { actions: revActions });
  revenueCard.id = 'revenue-card';
  const eventsCard = card('Events', eventsBox, { sub: 'custom events sent by your pages' });
  eventsCard.id = 'events-card';
  const propsCard = card('Event properties', h('div.props-box'), { sub: 'top values of each property' });
  propsCard.id = 'props-card';
  propsCard.hidden = true;
  el.append(goalsCard, revenueCard, eventsCard, propsCard);

  let goalsSeq = 0;
  const loadGoals = async () => {
    const my = ++goalsSeq;
    const by = state.goalsBy;
    const table0 = goalsBox.querySelector('.goals-groups');
    if (table0) table0.classList.add('stale'); else clear(goalsBox).appendChild(loading());
    try {
      const data = await api(ctx.base + '/goals', { breakdown: by, top: TOP, compare: mode, ...f }, opts);
      if (!ctx.isCurrent() || my !== goalsSeq) return;
      paintGoals(goalsBox, data, by, keep);
    } catch (e) {
      if (quiet(e) || !ctx.isCurrent() || my !== goalsSeq) return;
      clear(goalsBox).appendChild(errorBox(e, loadGoals));
    }
  };

  let revenueSeq = 0;
  const loadRevenue = async () => {
    const my = ++revenueSeq;
    const by = state.revenueBy;
    const table0 = revenueBox.querySelector('.revenue-groups');
    if (table0) table0.classList.add('stale'); else clear(revenueBox).appendChild(loading());
    try {
      const ask = (currency) => api(ctx.base + '/revenue', { breakdown: by, currency: currency || null, top: TOP, compare: mode, ...f }, opts);
      let data = await ask(state.currency);
      if (!ctx.isCurrent() || my !== revenueSeq) return;
      const events = data.currencies && data.currencies.length ? null : await eventsP.catch(() => null);
      if (!ctx.isCurrent() || my !== revenueSeq) return;
      // Without any order the report has no currency, and so no value for
      // the abandoned carts: asked again in the carts' own currency.
      const cartCur = events && !state.currency && data.totals && data.totals.carts ? cartCurrency(events) : '';
      if (cartCur) {
        data = await ask(cartCur);
        if (!ctx.isCurrent() || my !== revenueSeq) return;
      }
      // Each range picks the currency most of its orders came in: the
      // earlier one is asked again in this one's, so the amounts compare.
      const before = data.compare && data.compare.previous;
      if (before && data.currency && before.currency && before.currency !== data.currency) {
        data = await ask(data.currency);
        if (!ctx.isCurrent() || my !== revenueSeq) return;
      }
      paintCurrency(revActions.querySelector('.rev-currency-slot'), data, (cur) => {
        state.currency = cur;
        keepParam('currency', cur);
        loadRevenue();
      });
      paintRevenue(revenueBox, data, by, events, keep);
    } catch (e) {
      if (quiet(e) || !ctx.isCurrent() || my !== revenueSeq) return;
      clear(revenueBox).appendChild(errorBox(e, loadRevenue));
    }
  };

  const loadEvents = async (again) => {
    if (again) { eventsP = askEvents(); clear(eventsBox).appendChild(loading()); }
    try {
      const data = await eventsP;
      if (!ctx.isCurrent()) return;
      paintEvents(eventsBox, propsCard, data, state);
    } catch (e) {
      if (quiet(e) || !ctx.isCurrent()) return;
      clear(eventsBox).appendChild(errorBox(e, () => loadEvents(true)));
    }
  };

  await Promise.all([loadGoals(), loadRevenue(), loadEvents(false)]);
}

// ---------- goals ----------
function paintGoals(box, data, by, keep) {
  clear(box);
  const goals = data.goals || [];
  if (!goals.length) {
    box.appendChild(empty('No goals are set for this site.',
      h('span', 'Add them in ', h('a', { href: link('stages') }, 'Stages'), ' → Stage settings → Goals: a page pattern, or event:NAME for a custom event.')));
    return;
  }
  if (!data.sessions) { box.appendChild(empty('No sessions in this range.')); return; }
  box.appendChild(h('p.goals-headline#goals-converted', { dataset: { converted: String(data.converted), sessions: String(data.sessions) } },
    'Converted: ', h('strong', fmt.n(data.converted)), ' of ', fmt.n(data.sessions), ' sessions (', h('strong', fmt.pct(data.conversion_rate)), ')',
    h('span.acts', h('a', { href: link('sessions', { q: 'converted:true' }), title: 'The sessions that reached a goal' }, 'sessions'))));
  const cmp = data.compare || null;
  const prev = cmp ? cmp.previous : null;
  // An earlier range without sessions has nothing to compare with: said
  // so, rather than "0 of 0" and arrows from nothing.
  if (prev) {
    box.appendChild(h('p.goals-compare#goals-compare', { dataset: { converted: String(prev.converted), sessions: String(prev.sessions) } },
      h('span.muted', cap(compareName(cmp.mode)) + ':'),
      prev.sessions ? [
        h('span', fmt.n(prev.converted) + ' of ' + fmt.n(prev.sessions) + ' sessions (' + fmt.pct(prev.conversion_rate) + ')'),
        h('span.gc-item', h('span.muted', 'converted '), delta(data.converted, prev.converted)),
        h('span.gc-item', h('span.muted', 'rate '), delta(data.conversion_rate, prev.conversion_rate, { rate: true })),
      ] : h('span.goals-compare-none', 'no sessions in the earlier range')));
  }
  const prevGoal = (name) => { const g = prev && (prev.goals || []).find((x) => x.goal === name); return g ? g.conversions : 0; };
  box.appendChild(h('div.goal-list#goal-list', barList(goals.map((g) => ({
    label: targetLabel(g.goal), value: g.conversions, sub: fmt.pct(g.conversion_rate), title: g.goal,
    delta: prev ? deltaCell(g.conversions, prevGoal(g.goal)) : null,
  })), { labelHead: 'Goal', valueLabel: 'Conversions', max: data.sessions, changeHead: prev ? 'Change' : null })));
  box.appendChild(h('p.muted.small', 'A session converts when it reaches any goal; each goal counts the sessions that reached it.'));

  const groups = (data.groups || []).slice();
  const rest = restRow(groups, { ...data, ...Object.fromEntries(goals.map((g, i) => ['g' + i, g.conversions])) }, ['converted', ...goals.map((_, i) => 'g' + i)]);
  const rows = groups.map((g) => ({ ...g, ...Object.fromEntries((g.goals || []).map((x, i) => ['g' + i, x.conversions])) }));
  if (rest) rows.push(rest);
  const prevGroups = prev ? prev.groups || [] : null;
  const prevRest = prev ? restRow(prevGroups, prev, ['converted']) : null;
  const label = (BREAKDOWNS.find(([v]) => v === by) || [by, by])[1];
  const t = table([
    { label, render: (r) => segmentCell(by, r, keep) },
    { label: 'Sessions', num: true, render: (r) => fmt.n(r.sessions) },
    { label: 'Converted', num: true, render: (r) => fmt.n(r.converted) },
    ...(prev ? [{
      label: 'Change', num: true, title: 'Converted, against the ' + compareName(cmp.mode),
      render: (r) => { const e = earlierRow(prevGroups, r, 'value', prevRest); return deltaCell(r.converted, e ? e.converted || 0 : null, { noneText: NOT_LISTED }); },
    }] : []),
    { label: 'Rate', num: true, render: (r) => pctCell(r.sessions ? r.converted / r.sessions : 0, 'good') },
    ...goals.map((g, i) => ({
      label: h('span.goal-head', { title: g.goal }, targetLabel(g.goal)), num: true, title: g.goal,
      render: (r) => h('span', fmt.n(r['g' + i]), h('small.muted', ' ' + fmt.pct(r.sessions ? r['g' + i] / r.sessions : 0))),
    })),
  ], rows, { cls: 'goals-groups', empty: 'No sessions to break down.' });
  t.dataset.breakdown = by;
  box.appendChild(h('h3.sub-head', 'By ' + label.toLowerCase()));
  box.appendChild(t);
}

// ---------- revenue ----------
function paintCurrency(slot, data, onPick) {
  clear(slot);
  const list = (data.currencies || []).map((c) => c.currency);
  if (data.currency && !list.includes(data.currency)) list.unshift(data.currency);
  if (list.length < 2) {
    if (data.currency) slot.appendChild(h('span.cur-code#revenue-currency', { title: 'All amounts are in ' + data.currency }, data.currency));
    return;
  }
  const orders = new Map((data.currencies || []).map((c) => [c.currency, c.orders]));
  const sel = h('select#revenue-currency-select', { 'aria-label': 'Currency' }, list.map((c) => h('option', { value: c, selected: c === data.currency },
    c + (orders.has(c) ? ' (' + fmt.n(orders.get(c)) + ' orders)' : ''))));
  sel.addEventListener('change', () => onPick(sel.value));
  slot.appendChild(h('label.ctl', h('span', 'Currency'), sel));
}

function paintRevenue(box, data, by, events, keep) {
  clear(box);
  const t = data.totals || {};
  const cur = data.currency || '';
  if (!t.sessions) { box.appendChild(empty('No sessions in this range.')); return; }
  const noOrders = !(data.currencies && data.currencies.length);
  if (noOrders) {
    const anyEvents = events && events.events && events.events.length;
    box.appendChild(h('div.empty.conv-hint#revenue-empty',
      h('p', 'No orders in this range.'),
      h('p.muted', anyEvents
        ? 'Orders are custom events with a numeric revenue property; the events of this range carry none. Send one when an order is placed, e.g.'
        : 'Orders are custom events with a numeric revenue property, and this range has no custom events at all. Send one from the order confirmation page:'),
      h('pre.snippet.tag-call', h('code', TAG_CALL))));
    // Carts are add_to_cart events: their abandonment still means something.
    if (!t.carts) return;
  }
  // The earlier report, when compared (its amounts in the same currency:
  // loadRevenue asks it so).
  const cmp = data.compare || null;
  const prev = cmp ? cmp.previous : null;
  const pt = prev ? prev.totals || {} : null;
  const sameCur = prev && (!prev.currency || !cur || prev.currency === cur);
  const money = (v) => amount(v, cur);
  const line = (key, opts = {}) => {
    if (!pt) return null;
    if (opts.money && !sameCur) return compareLine(t[key], null, { noneText: 'the earlier amounts are in ' + prev.currency, noneShort: 'in ' + prev.currency + ' before' });
    return compareLine(t[key], pt[key], { show: opts.money ? money : undefined, ...opts });
  };
  const kpi = (key, label, value, sub, cmpLine) => h('div.kpi', { dataset: { kpi: key } }, h('div.kpi-label', label), h('div.kpi-value', value), sub ? h('div.kpi-sub', sub) : null, cmpLine || null);
  box.appendChild(h('div.kpis.kpis-card#revenue-kpis',
    noOrders ? null : [
      kpi('revenue', 'Revenue', amount(t.revenue, cur), cur, line('revenue', { money: true })),
      kpi('orders', 'Orders', fmt.n(t.orders), fmt.n(t.buyers) + ' buying sessions', line('orders')),
      kpi('average_order_value', 'Average order', amount(t.orders ? t.average_order_value : null, cur), cur, line('average_order_value', { money: true, none: pt && !pt.orders, noneText: 'no orders before' })),
      kpi('conversion_rate', 'Conversion rate', fmt.pct(t.conversion_rate), 'sessions with an order', line('conversion_rate', { rate: true, none: pt && !pt.sessions, noneText: 'no sessions before' })),
    ],
    kpi('abandoned_carts', 'Abandoned carts', fmt.n(t.abandoned_carts), 'of ' + fmt.n(t.carts) + ' carts', line('abandoned_carts', { lowerBetter: true })),
    kpi('abandoned_value', 'Abandoned value', cur ? amount(t.abandoned_value, cur) : '–', cur ? cur + ', in the carts left' : 'no currency known',
      cur ? line('abandoned_value', { money: true, lowerBetter: true }) : null),
    kpi('abandonment_rate', 'Abandonment rate', fmt.pct(t.abandonment_rate), 'carts without an order',
      line('abandonment_rate', { rate: true, lowerBetter: true, none: pt && !pt.carts, noneText: 'no carts before' }))));
  if (pt && noOrders && pt.orders) {
    box.appendChild(h('p.muted.small#revenue-earlier-orders', cap(compareName(cmp.mode)) + ': ' + fmt.n(pt.orders) + ' orders, '
      + amount(pt.revenue, prev.currency) + (prev.currency ? ' ' + prev.currency : '') + '.'));
  }
  box.appendChild(h('p.muted.small', 'Orders are custom events with a numeric revenue; carts are sessions with an add_to_cart event, abandoned when no order followed.'));

  const groups = (data.groups || []).slice();
  const rest = restRow(groups, t, ['orders', 'revenue', 'buyers', 'carts', 'abandoned_carts', 'abandoned_value']);
  if (rest) {
    rest.average_order_value = rest.orders ? rest.revenue / rest.orders : 0;
    rest.conversion_rate = rest.sessions ? rest.buyers / rest.sessions : 0;
    groups.push(rest);
  }
  const label = (BREAKDOWNS.find(([v]) => v === by) || [by, by])[1];
  const code = cur ? ' (' + cur + ')' : '';
  const prevGroups = prev ? prev.groups || [] : null;
  const prevRest = prev ? restRow(prevGroups, pt, ['revenue']) : null;
  const tbl = table([
    { label, render: (r) => segmentCell(by, r, keep) },
    { label: 'Sessions', num: true, render: (r) => fmt.n(r.sessions) },
    { label: 'Orders', num: true, render: (r) => fmt.n(r.orders) },
    { label: 'Revenue' + code, num: true, render: (r) => amount(r.revenue, cur) },
    ...(prev ? [{
      label: 'Change', num: true, title: 'Revenue, against the ' + compareName(cmp.mode),
      render: (r) => {
        if (!sameCur) return deltaCell(r.revenue, null, { noneText: 'the earlier amounts are in ' + prev.currency });
        const e = earlierRow(prevGroups, r, 'value', prevRest);
        return deltaCell(r.revenue, e ? e.revenue || 0 : null, { show: money, noneText: NOT_LISTED });
      },
    }] : []),
    { label: 'AOV' + code, num: true, title: 'Average order value', render: (r) => (r.orders ? amount(r.average_order_value, cur) : '–') },
    { label: 'Buyers', num: true, title: 'Sessions with an order', render: (r) => fmt.n(r.buyers) },
    { label: 'Conv. rate', num: true, title: 'Buyers per session', render: (r) => fmt.pct(r.conversion_rate) },
    { label: 'Carts', num: true, title: 'Sessions with an add_to_cart event', render: (r) => fmt.n(r.carts) },
    { label: 'Abandoned', num: true, title: 'Carts without an order', render: (r) => fmt.n(r.abandoned_carts) },
    { label: 'Abandoned value' + code, num: true, render: (r) => (cur ? amount(r.abandoned_value, cur) : '–') },
  ], groups, { cls: 'revenue-groups', empty: 'No sessions to break down.' });
  tbl.dataset.breakdown = by;
  box.appendChild(h('h3.sub-head', 'By ' + label.toLowerCase()));
  box.appendChild(tbl);
}

// ---------- events ----------
function paintEvents(box, propsCard, data, state) {
  clear(box);
  const events = data.events || [];
  if (!events.length) {
    propsCard.hidden = true;
    box.appendChild(h('div.empty.conv-hint#events-empty',
      h('p', 'No custom events in this range.'),
      h('p.muted', 'Pages send them with the tag’s trailmap() call; an event with a numeric revenue counts as an order:'),
      h('pre.snippet.tag-call', h('code', TAG_CALL)),
      h('p.muted.small', 'Call it after the tag, or anywhere after the queue stub shown in the README.')));
    return;
  }
  box.appendChild(h('p.muted.small#events-summary', fmt.n(data.sessions_with_events) + ' of ' + fmt.n(data.sessions) + ' sessions sent a custom event.'));
  const prev = data.compare ? data.compare.previous : null;
  const propsBox = propsCard.querySelector('.props-box');
  const pick = (name, write = true) => {
    state.event = name;
    if (write) keepParam('event', name);
    paintProps(propsBox, events, name, pick);
    for (const tr of box.querySelectorAll('.events-table tbody tr')) tr.classList.toggle('picked', tr.dataset.event === name);
  };
  const tbl = table([
    { label: 'Event', render: (r) => h('span.page-line',
      h('button.linklike.bl-label.ev-name.mono', { type: 'button', title: 'Show the properties of ' + r.name, on: { click: () => pick(r.name) } }, r.name),
      h('span.acts', h('a', { href: link('sessions', { q: 'event:' + qv(r.name) }), title: 'Sessions that sent ' + r.name }, 'sessions'))) },
    { label: 'Count', num: true, render: (r) => fmt.n(r.count) },
    ...(prev ? [{
      label: 'Change', num: true, title: 'Count, against the ' + compareName(data.compare.mode),
      render: (r) => { const e = earlierRow(prev.events || [], r, 'name'); return deltaCell(r.count, e ? e.count || 0 : null, { noneText: NOT_LISTED }); },
    }] : []),
    { label: 'Sessions', num: true, render: (r) => fmt.n(r.sessions) },
    { label: 'Share of sessions', num: true, render: (r) => pctCell(r.session_share) },
    { label: 'Orders', num: true, title: 'Events with a numeric revenue', render: (r) => fmt.n(r.orders) },
    { label: 'Revenue', num: true, title: 'Sum of their revenue (every currency)', render: (r) => (r.revenue === null || r.revenue === undefined ? h('span.muted', '-') : amount(r.revenue)) },
  ], events, { cls: 'events-table' });
  const rows = tbl.querySelectorAll('tbody tr');
  events.forEach((e, i) => { if (rows[i]) rows[i].dataset.event = e.name; });
  box.appendChild(tbl);
  box.appendChild(h('p.muted.small', 'Pick an event to see its properties below.'));
  propsCard.hidden = false;
  pick(events.some((e) => e.name === state.event) ? state.event : events[0].name, false);
}

// The properties of one event: each key's top values. The event is picked
// in the events table (or the select here, handier on a phone).
function paintProps(box, events, name, pick) {
  clear(box);
  const ev = events.find((e) => e.name === name) || events[0];
  const sel = h('select#event-props-select', { 'aria-label': 'Event' }, events.map((e) => h('option', { value: e.name, selected: e.name === ev.name }, e.name)));
  sel.addEventListener('change', () => pick(sel.value));
  box.appendChild(h('div.controls', h('label.ctl', h('span', 'Event'), sel)));
  const rows = [];
  for (const p of ev.properties || []) {
    for (const v of p.values || []) rows.push({ key: p.key, keyEvents: p.events, value: v.value, count: v.count, share: v.share });
    if (p.other) rows.push({ key: p.key, keyEvents: p.events, value: null, count: p.other, share: p.events ? p.other / p.events : 0 });
  }
  box.appendChild(table([
    { label: 'Event', render: () => h('span.mono', ev.name) },
    { label: 'Property', render: (r) => h('span', h('span.mono', r.key), r.keyEvents < ev.count ? h('small.muted', ' on ' + fmt.n(r.keyEvents) + ' of ' + fmt.n(ev.count)) : null) },
    { label: 'Value', render: (r) => (r.value === null ? h('span.muted', 'other values') : h('span.page-line', h('span.prop-value.mono', { title: r.value }, r.value),
      /^[\w-]+$/.test(r.key) ? h('span.acts', h('a', { href: link('sessions', { q: 'event:' + qv(ev.name) + ' AND prop.' + r.key + ':' + qv(r.value) }), title: 'Sessions with this ' + r.key }, 'sessions')) : null)) },
    { label: 'Count', num: true, render: (r) => fmt.n(r.count) },
    { label: 'Share', num: true, title: 'Of the events carrying this property', render: (r) => pctCell(r.share) },
  ], rows, { cls: 'props-table', empty: 'This event carries no properties.' }));
}
