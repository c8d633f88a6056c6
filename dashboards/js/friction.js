// Friction: "moments that matter" (pages where sessions are lost) and
// frustration signals (rage/dead clicks, errors, quick backs, loops).
import { h, api, clear, fmt, card, link, setParams, filterParams, loading, meter, table, segmented, qv, compareMode, compareName, compareLine, deltaCell } from './core.js';

const pageActs = (page) => h('span.acts',
  h('a', { href: link('heatmaps', { page }), title: 'Click heatmap of this page' }, 'heatmap'),
  h('a', { href: link('sessions', { q: 'page:' + qv(page) }), title: 'Sessions that viewed this page' }, 'sessions'),
  h('a', { href: link('transitions', { page }), title: 'Where visitors came from and went' }, 'flow'));
const pageCell = (page) => h('span.page-line', h('span.page-cell.mono', { title: page }, page), pageActs(page));

export async function render(el, ctx) {
  el.appendChild(h('div.view-head', h('h1', 'Friction'),
    h('p.muted', 'Where sessions are lost and where visitors get frustrated — the pages worth fixing first.')));
  const body = h('div', loading());
  el.appendChild(body);
  const f = filterParams(ctx.params);
  const mode = compareMode(ctx.params);
  const [mom, fr] = await Promise.all([
    api(ctx.base + '/moments', { top: 10, compare: mode, ...f }, { signal: ctx.signal }),
    api(ctx.base + '/frustration', { worst: 20, compare: mode, ...f }, { signal: ctx.signal }),
  ]);
  if (!ctx.isCurrent()) return;
  clear(body);
  // Compared: the earlier reports (fewer frustrated sessions and exits is better).
  const pm = mom.compare ? mom.compare.previous : null;
  const pf = fr.compare ? fr.compare.previous : null;

  body.appendChild(h('div.kpis',
    h('div.kpi', { dataset: { kpi: 'sessions' } }, h('div.kpi-label', 'Sessions'), h('div.kpi-value', fmt.n(fr.sessions)), pf ? compareLine(fr.sessions, pf.sessions) : null),
    h('div.kpi', { dataset: { kpi: 'frustrated' } }, h('div.kpi-label', 'Frustrated sessions'), h('div.kpi-value', fmt.n(fr.frustrated_sessions)),
      h('div.kpi-sub', fr.sessions ? fmt.pct(fr.frustrated_sessions / fr.sessions) + ' of sessions' : ''),
      pf ? compareLine(fr.frustrated_sessions, pf.frustrated_sessions, { lowerBetter: true }) : null),
    h('div.kpi', { dataset: { kpi: 'exit_rate' } }, h('div.kpi-label', 'Site exit rate'), h('div.kpi-value', fmt.pct(mom.exit_rate)), h('div.kpi-sub', 'exits per page view'),
      pm ? compareLine(mom.exit_rate, pm.exit_rate, { rate: true, lowerBetter: true, none: !pm.sessions, noneText: 'no sessions before' }) : null)));
  // A page's earlier impact: from any of the earlier lists; absent from
  // lists that were all shorter than asked, none (0).
  const earlierLists = pm ? [pm.overall || [], pm.by_exits || [], pm.by_frustration || []] : [];
  const earlierImpact = (page) => {
    for (const l of earlierLists) { const r = l.find((x) => x.page === page); if (r) return r.impact; }
    return earlierLists.every((l) => l.length < 10) ? 0 : null;
  };
  const earlierRate = (page) => { const r = pf && (pf.pages || []).find((x) => x.page === page); return r ? r.frustration_rate : null; };

  const tab = ['overall', 'exits', 'frustration'].includes(ctx.params.get('moments')) ? ctx.params.get('moments') : 'overall';
  const rows = tab === 'exits' ? mom.by_exits : tab === 'frustration' ? mom.by_frustration : mom.overall;
  const maxImpact = Math.max(1, ...(rows || []).map((r) => r.impact));
  body.appendChild(card('Moments that matter', h('div',
    h('p.muted.small', 'Impact ≈ sessions lost or hurt on a page: exits beyond the site’s usual exit rate, plus frustrated views.'),
    table([
      { label: 'Page', render: (r) => pageCell(r.page) },
      { label: 'Views', num: true, render: (r) => fmt.n(r.views) },
      { label: 'Exit rate', num: true, render: (r) => h('span', { class: r.exit_rate > mom.exit_rate * 1.5 ? 'bad' : '' }, fmt.pct(r.exit_rate)) },
      { label: 'Excess exits', num: true, title: 'Exits above the site-wide exit rate', render: (r) => (r.excess_exits > 0 ? '+' + fmt.n(r.excess_exits) : fmt.n(r.excess_exits)) },
      { label: 'Frustrated', num: true, render: (r) => h('span', fmt.n(r.frustrated_views), h('small.muted', ' ' + fmt.pct(r.frustration_rate))) },
      { label: 'Impact', num: true, render: (r) => h('span', fmt.n(r.impact), meter(r.impact / maxImpact, 'bad')) },
      ...(pm ? [{ label: 'Change', num: true, title: 'Impact, against the ' + compareName(mom.compare.mode),
        render: (r) => deltaCell(r.impact, earlierImpact(r.page), { lowerBetter: true, noneText: 'not among the earlier top 10' }) }] : []),
    ], rows || [], { cls: 'moments-table' })), {
    actions: segmented([['overall', 'Overall'], ['exits', 'By exits'], ['frustration', 'By frustration']], tab, (v) => setParams({ moments: v === 'overall' ? null : v }, { replace: true }), 'Rank moments by'),
  }));

  const pages = fr.pages || [];
  const cnt = (v) => (v ? fmt.n(v) : h('span.muted', '0'));
  body.appendChild(card('Frustration by page', table([
    { label: 'Page', render: (r) => pageCell(r.page) },
    { label: 'Views', num: true, render: (r) => fmt.n(r.views) },
    { label: 'Frustrated', num: true, render: (r) => h('span', fmt.pct(r.frustration_rate), meter(r.frustration_rate, r.frustration_rate > 0.3 ? 'bad' : 'warn')) },
    ...(pf ? [{ label: 'Change', num: true, title: 'Frustrated share of views, against the ' + compareName(fr.compare.mode),
      render: (r) => deltaCell(r.frustration_rate, earlierRate(r.page), { rate: true, lowerBetter: true, noneText: 'not in the earlier list' }) }] : []),
    { label: 'Rage clicks', num: true, render: (r) => cnt(r.rage_clicks) },
    { label: 'Dead clicks', num: true, render: (r) => cnt(r.dead_clicks) },
    { label: 'Errors', num: true, render: (r) => cnt(r.errors) },
    { label: 'Quick backs', num: true, render: (r) => cnt(r.quick_backs) },
    { label: 'Loops', num: true, render: (r) => cnt(r.loops) },
  ], pages, { cls: 'frustration-table', empty: 'No frustration signals in this range.' })));

  body.appendChild(card('Most frustrated sessions', table([
    { label: 'Session', render: (r) => h('a', { href: link('session', { id: r.session_id }) }, '#' + r.session_id) },
    { label: 'Score', num: true, render: (r) => h('strong', fmt.n(r.score)) },
    { label: 'Rage clicks', num: true, render: (r) => cnt(r.rage_clicks) },
    { label: 'Dead clicks', num: true, render: (r) => cnt(r.dead_clicks) },
    { label: 'Errors', num: true, render: (r) => cnt(r.errors) },
    { label: 'Quick backs', num: true, render: (r) => cnt(r.quick_backs) },
    { label: 'Loops', num: true, render: (r) => cnt(r.loops) },
    { label: '', render: (r) => h('a.btn.btn-sm', { href: link('session', { id: r.session_id }) }, 'Open') },
  ], fr.worst_sessions || [], { cls: 'worst-table', empty: 'No frustrated sessions.' }), {
    actions: h('a.btn.btn-sm', { href: link('sessions', { q: 'rage:true' }) }, 'Search rage-click sessions'),
  }));
}
