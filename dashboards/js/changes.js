// What changed: pages whose stored layout (the replay recorder's
// snapshots, data-replay on the tag) changed in what it says or how it is
// built, found automatically, newest first. Each change shows the lines
// added and removed, and the page before against after: its exit rate,
// frustration rate and the conversion of the sessions through it, each
// with its 95% interval, and the shift with its own (marked when the
// interval leaves out 0), whether it lasts (the page's views since: a
// page that shows each visitor their own content varies, and its changes
// are left out unless asked), and where visitors click before against after
// (asked per change: the share of the sessions clicking on the page that
// clicked each element) beside the page's heatmap over each window. The
// window and the threshold live in the URL;
// the toolbar's range picks the changes, its filters the sessions. Lines
// come from the shop's pages (visitor-facing text): rendered as text only.
import { h, api, clear, fmt, card, link, setParams, filterParams, empty, loading, table, segmented } from './core.js';

const DAYS = [['7', '7 days'], ['14', '14 days'], ['30', '30 days']];
const THRESHOLDS = [['0.1', '10%+'], ['0.25', '25%+'], ['0', 'Any']];

// A moment's local day, as custom ranges write it.
const day = (ms) => { const d = new Date(ms); return d.getFullYear() + '-' + String(d.getMonth() + 1).padStart(2, '0') + '-' + String(d.getDate()).padStart(2, '0'); };
const ci = (r) => h('span.ch-rate', h('strong', fmt.pct(r.value)), h('small.muted', ' ' + fmt.pct(r.low) + '–' + fmt.pct(r.high)));
const pts = (x) => (x >= 0 ? '+' : '') + (x * 100).toFixed(1) + ' pts';

// A shift; `worse` when a rise is bad (exits, frustration); `neutral`
// when neither way is better (where clicks go).
function shiftCell(s, riseIsBad, neutral) {
  if (!s) return h('span.muted', '–');
  const bad = !neutral && s.significant && (riseIsBad ? s.diff > 0 : s.diff < 0);
  const good = !neutral && s.significant && !bad;
  return h('span.ch-shift', { class: bad ? 'bad' : good ? 'good' : '', dataset: { significant: String(s.significant) } },
    h('strong', pts(s.diff)), h('small.muted', ' ' + pts(s.low) + ' to ' + pts(s.high)),
    s.significant ? h('small', ' · significant') : null);
}

// Where visitors click on the page before and after: asked for this one
// change (a page's clicks load at its first map, which can take seconds).
function clicksTable(k) {
  if (!k.before.sessions && !k.after.sessions) return h('p.small.muted.ch-clicks-none', 'No clicks recorded on the page (' + k.viewport + ') in either window.');
  const rows = k.elements;
  const sel = (x) => (x.selector ? h('code', x.selector) : h('span.muted', '(no selector)'));
  return h('div',
    h('p.small.muted', 'Of the ' + fmt.n(k.before.sessions) + ' sessions that clicked on the page before and the ' + fmt.n(k.after.sessions) + ' after (' + k.viewport + '), the share that clicked each element.'),
    table([
      { label: 'Element', render: sel },
      { label: 'Before', render: (r) => h('span', ci(r.before), h('small.muted.ch-n', ' · ' + fmt.n(r.before_sessions))) },
      { label: 'After', render: (r) => h('span', ci(r.after), h('small.muted.ch-n', ' · ' + fmt.n(r.after_sessions))) },
      { label: 'Shift', render: (r) => shiftCell(r.shift, false, true) },
    ], rows, { cls: 'ch-table.ch-clicks-table' }));
}

// Whether the change lasts, as the page's views since tell: the new
// layout kept, still confirming, or the page shows each visitor their own.
function verdict(c, views) {
  const seen = c.evidence.new + c.evidence.old + c.evidence.other;
  if (c.status === 'lasting') return h('span.badge.ch-status.lasting', { dataset: { status: c.status }, title: 'The page kept showing the new layout in ' + fmt.n(c.evidence.new) + ' of ' + fmt.n(seen) + ' views since.' }, 'lasting');
  if (c.status === 'varies') return h('span.badge.ch-status.varies', { dataset: { status: c.status }, title: 'The page went on showing the old layout or others as often: its content varies per visitor, or it runs an experiment.' }, 'varies per visitor');
  return h('span.badge.ch-status.pending', { dataset: { status: c.status }, title: 'Whether it lasts is told after ' + views + ' views of the page with a layout.' }, 'confirming · ' + fmt.n(seen) + ' of ' + views + ' views');
}

function changeCard(c, ctx, days, views) {
  const when = new Date(c.at_ms);
  const lines = (list, cls, sign) => list.map((l) => h('li', { class: cls }, h('span.ch-sign', sign), h('span', l)));
  const diff = h('ul.ch-diff', lines(c.removed || [], 'removed', '−'), lines(c.added || [], 'added', '+'));
  const rows = [
    { name: 'Exit rate', b: c.before.exit_rate, a: c.after.exit_rate, s: c.exit_rate_shift, bad: true, n: (x) => fmt.n(x.views) + ' views' },
    { name: 'Frustrated views', b: c.before.frustration_rate, a: c.after.frustration_rate, s: c.frustration_rate_shift, bad: true, n: (x) => fmt.n(x.views) + ' views' },
    { name: 'Conversion of sessions through it', b: c.before.conversion_rate, a: c.after.conversion_rate, s: c.conversion_rate_shift, bad: false, n: (x) => fmt.n(x.sessions) + ' sessions' },
  ];
  const t = table([
    { label: '', render: (r) => r.name },
    { label: 'Before', render: (r) => h('span', ci(r.b), h('small.muted.ch-n', ' · ' + r.n(c.before))) },
    { label: 'After', render: (r) => h('span', ci(r.a), h('small.muted.ch-n', ' · ' + r.n(c.after))) },
    { label: 'Shift', render: (r) => shiftCell(r.s, r.bad) },
  ], rows, { cls: 'ch-table' });
  const ask = h('button.btn.ch-clicks-btn', { type: 'button' }, 'Compare where they click');
  const clicks = h('div.ch-clicks', ask);
  ask.addEventListener('click', async () => {
    ask.disabled = true;
    clear(clicks).appendChild(loading());
    try {
      const one = await api(ctx.base + '/changes', { change: c.id, days, top: 10, ...filterParams(ctx.params) }, { signal: ctx.signal });
      const k = one.changes[0] && one.changes[0].clicks;
      clear(clicks).appendChild(k ? clicksTable(k) : h('p.small.muted', 'No clicks to compare.'));
    } catch (e) {
      if (e.name === 'AbortError') return;
      ask.disabled = false;
      clear(clicks).append(h('p.form-status.err', { role: 'alert' }, e.message), ask);
    }
  });
  const el = card(h('span.ch-title', h('code', c.page), h('small.muted', ' · ' + c.viewport + ' · ' + when.toLocaleString()), ' ', verdict(c, views)), h('div',
    h('p.small.muted', fmt.pct(c.share, 0) + ' of its text or structure changed. Windows: '
      + new Date(c.before.from).toLocaleDateString() + ' – ' + when.toLocaleDateString() + ' against ' + when.toLocaleDateString() + ' – ' + new Date(c.after.to).toLocaleDateString() + '.'),
    diff.children.length ? diff : h('p.small.muted', 'Only its structure changed (no line of text).'),
    t,
    clicks,
    h('p.small.acts',
      // Where visitors click, before against after: the page's heatmap
      // over each window (whole days, in the viewer's time zone).
      h('a.ch-heat-before', { href: link('heatmaps', { page: c.page, range: 'custom', from: day(c.before.from), to: day(c.at_ms - 1) }) }, 'clicks before'),
      h('a.ch-heat-after', { href: link('heatmaps', { page: c.page, range: 'custom', from: day(c.at_ms), to: day(Date.parse(c.after.to) - 1) }) }, 'clicks after'),
      h('a', { href: link('transitions', { page: c.page }) }, 'flow'),
      h('a', { href: link('sessions', { q: 'page:' + JSON.stringify(c.page) }) }, 'sessions'))), { cls: 'ch-card' });
  el.dataset.page = c.page;
  el.dataset.at = String(c.at_ms);
  return el;
}

export async function render(el, ctx) {
  el.appendChild(h('div.view-head', h('h1', 'What changed'),
    h('p.muted', 'Pages whose layout changed, found from the layouts the replay recorder stores — and what happened on them before and after.')));
  const days = DAYS.some(([v]) => v === ctx.params.get('days')) ? ctx.params.get('days') : '7';
  const min = THRESHOLDS.some(([v]) => v === ctx.params.get('min_change')) ? ctx.params.get('min_change') : '0.1';
  el.appendChild(h('div.row-actions.ch-controls',
    segmented(DAYS, days, (v) => setParams({ days: v === '7' ? null : v }), 'Window before and after'),
    segmented(THRESHOLDS, min, (v) => setParams({ min_change: v === '0.1' ? null : v }), 'How much changed')));
  const body = h('div#changes-body', loading());
  el.appendChild(body);
  const varying = ctx.params.get('varying') === '1';
  const data = await api(ctx.base + '/changes', { days, min_change: min, top: 20, include_varying: varying || null, ...filterParams(ctx.params) }, { signal: ctx.signal });
  if (!ctx.isCurrent()) return;
  clear(body);
  // Pages that show each visitor their own content (a cart) change with
  // every visitor: no change of the page, so left out unless asked.
  if (data.varying) {
    body.appendChild(h('p.small.muted#ch-varying', fmt.n(data.varying) + ' change' + (data.varying === 1 ? '' : 's') + ' left out: the page varies per visitor. ',
      h('button.linklike#ch-show-varying', { type: 'button', on: { click: () => setParams({ varying: '1' }) } }, 'Show them')));
  } else if (varying) {
    body.appendChild(h('p.small.muted#ch-varying', 'Showing the changes of pages that vary per visitor too. ',
      h('button.linklike#ch-hide-varying', { type: 'button', on: { click: () => setParams({ varying: null }) } }, 'Hide them')));
  }
  if (!data.changes.length) {
    body.appendChild(empty('No page changed in this range.',
      'Changes are found when a page’s stored layout is replaced by one that reads or is built differently: add data-replay to the tag, or lower the threshold.'));
    return;
  }
  if (!data.goals) body.appendChild(h('p.small.muted', 'The site has no goals yet: conversion is 0 on both sides (Stages, settings).'));
  for (const c of data.changes) body.appendChild(changeCard(c, ctx, days, data.verdict_views));
}
