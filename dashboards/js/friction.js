// Friction: "moments that matter" (pages where sessions are lost),
// frustration signals (rage/dead clicks, error pages, JavaScript errors and
// error clicks, quick backs, loops) and the JavaScript errors themselves.
import { h, api, clear, fmt, card, link, setParams, filterParams, loading, meter, table, segmented, qv, compareMode, compareName, compareLine, deltaCell } from './core.js';

const pageActs = (page) => h('span.acts',
  h('a', { href: link('heatmaps', { page }), title: 'Click heatmap of this page' }, 'heatmap'),
  h('a', { href: link('sessions', { q: 'page:' + qv(page) }), title: 'Sessions that viewed this page' }, 'sessions'),
  h('a', { href: link('transitions', { page }), title: 'Where visitors came from and went' }, 'flow'));
// Views with a JavaScript error, and of them those right after a click.
const jsErrorsCell = (r) => h('span', r.js_errors ? fmt.n(r.js_errors) : h('span.muted', '0'),
  r.error_clicks ? h('small.bad.js-error-clicks', ' · ' + fmt.n(r.error_clicks) + ' after a click') : null);
const pageCell = (page) => h('span.page-line', h('span.page-cell.mono', { title: page }, page), pageActs(page));

export async function render(el, ctx) {
  el.appendChild(h('div.view-head', h('h1', 'Friction'),
    h('p.muted', 'Where sessions are lost and where visitors get frustrated — the pages worth fixing first.')));
  const body = h('div', loading());
  el.appendChild(body);
  const f = filterParams(ctx.params);
  const mode = compareMode(ctx.params);
  const [mom, fr, errs] = await Promise.all([
    api(ctx.base + '/moments', { top: 10, compare: mode, ...f }, { signal: ctx.signal }),
    api(ctx.base + '/frustration', { worst: 20, compare: mode, ...f }, { signal: ctx.signal }),
    api(ctx.base + '/errors', { top: 20, ...f }, { signal: ctx.signal }),
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
    { label: 'Error pages', num: true, render: (r) => cnt(r.errors) },
    { label: 'JS errors', num: true, title: 'Views with a JavaScript error (of them, after a click: error clicks)', render: jsErrorsCell },
    { label: 'Quick backs', num: true, render: (r) => cnt(r.quick_backs) },
    { label: 'Loops', num: true, render: (r) => cnt(r.loops) },
  ], pages, { cls: 'frustration-table', empty: 'No frustration signals in this range.' })));

  body.appendChild(card('Most frustrated sessions', table([
    { label: 'Session', render: (r) => h('a', { href: link('session', { id: r.session_id }) }, '#' + r.session_id) },
    { label: 'Score', num: true, render: (r) => h('strong', fmt.n(r.score)) },
    { label: 'Rage clicks', num: true, render: (r) => cnt(r.rage_clicks) },
    { label: 'Dead clicks', num: true, render: (r) => cnt(r.dead_clicks) },
    { label: 'Error pages', num: true, render: (r) => cnt(r.errors) },
    { label: 'JS errors', num: true, render: jsErrorsCell },
    { label: 'Quick backs', num: true, render: (r) => cnt(r.quick_backs) },
    { label: 'Loops', num: true, render: (r) => cnt(r.loops) },
    { label: '', render: (r) => h('a.btn.btn-sm', { href: link('session', { id: r.session_id }) }, 'Open') },
  ], fr.worst_sessions || [], { cls: 'worst-table', empty: 'No frustrated sessions.' }), {
    actions: h('a.btn.btn-sm', { href: link('sessions', { q: 'rage:true' }) }, 'Search rage-click sessions'),
  }));

  body.appendChild(errorsCard(errs));
}

// The JavaScript errors (the tag's data-errors capture), most sessions
// first; each message is the visitor's browser's text, shown as text.
function errorsCard(errs) {
  const where = (e) => (e.source ? e.source.replace(/^https?:\/\//, '') + (e.line ? ':' + e.line : '') : 'unknown script');
  const rows = errs.errors || [];
  return card('JavaScript errors', h('div',
    h('p.muted.small#js-errors-summary', errs.sessions
      ? fmt.n(errs.sessions_with_errors) + ' of ' + fmt.n(errs.sessions) + ' sessions (' + fmt.pct(errs.error_rate) + ') had a JavaScript error; ' + fmt.n(errs.distinct) + ' distinct.'
      : 'No sessions in this range.'),
    table([
      { label: 'Error', render: (e) => h('div.js-error',
        h('code.js-error-message', e.message),
        h('small.muted.js-error-where', { title: e.source || '' }, (e.kind === 'rejection' ? 'unhandled rejection · ' : '') + where(e))) },
      { label: 'Sessions', num: true, render: (e) => h('strong', fmt.n(e.sessions)) },
      { label: 'Views', num: true, render: (e) => fmt.n(e.views) },
      { label: 'Error clicks', num: true, title: 'Views where it came less than 1 s after a click', render: (e) => (e.error_clicks ? h('span.bad', fmt.n(e.error_clicks)) : h('span.muted', '0')) },
      { label: 'Page', render: (e) => (e.pages && e.pages[0] && e.pages[0].name ? pageCell(e.pages[0].name) : h('span.muted', '–')) },
      { label: 'Last seen', render: (e) => fmt.time(e.last_ms) },
      { label: '', render: (e) => h('span.acts', (e.examples || []).slice(0, 3).map((id) => h('a', { href: link('session', { id }), title: 'Replay this session' }, '#' + id))) },
    ], rows, { cls: 'js-errors-table', empty: 'No JavaScript errors in this range. Add data-errors to the tag to capture them.' })), {
    actions: h('a.btn.btn-sm', { href: link('sessions', { q: 'jserror:true' }) }, 'Search sessions with errors'),
  });
}
