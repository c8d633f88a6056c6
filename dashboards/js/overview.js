// Overview: KPIs, sessions over time, top pages, channels, countries, devices.
// With a comparison (compare=previous|year) each figure shows the earlier
// one and the change, the chart the earlier series dashed.
import {
  h, s, api, apiSend, clear, fmt, card, barList, link, setParams, filterParams, showTip, hideTip, empty, loading, canWrite,
  compareMode, compareName, compareLine, deltaCell, targetLabel,
} from './core.js';
import { installCard, hasEvents } from './install.js';

export async function render(el, ctx) {
  el.appendChild(h('div.view-head', h('h1', 'Overview'), h('p.muted', 'How many people came, where from, and where they landed and left.')));
  const body = h('div', loading());
  el.appendChild(body);
  // The series' interval: hours only for ranges of a month or less (the
  // server's bound is 31 days).
  const range = ctx.params.get('range') || '7d';
  const hourOK = ['today', 'yesterday', '12h', '24h', '7d', '30d'].includes(range);
  let interval = ['hour', 'day', 'week', 'month'].includes(ctx.params.get('interval')) ? ctx.params.get('interval') : '';
  if (interval === 'hour' && !hourOK) interval = '';
  // Compared, the lists are asked longer than shown, so that a row is
  // matched with its earlier figure even when it moved in the ranking.
  const mode = compareMode(ctx.params);
  const f = filterParams(ctx.params);
  const data = await api(ctx.base + '/overview', { top: mode ? CMP_TOP : TOP, interval: interval || null, compare: mode, ...f }, { signal: ctx.signal });
  if (!ctx.isCurrent()) return;
  clear(body);
  const cmp = data.compare || null;
  const prev = cmp ? cmp.previous : null;
  // Nothing in this range: if the site has had nothing ever, the tag is
  // probably not installed yet, so say how (at the top, above the zeros).
  if (!data.sessions) {
    const slot = h('div#overview-install');
    body.appendChild(slot);
    api(ctx.base + '/install', null, { signal: ctx.signal }).then((x) => {
      if (ctx.isCurrent() && !hasEvents(x)) slot.appendChild(installCard(ctx, { initial: x }));
    }).catch(() => { /* the card is a hint; the overview stands without it */ });
  }

  // Each figure: [key, label, shown, sub, href, compared line].
  // A rate or an average of no sessions is no figure: "–", not 0.
  const perSession = (x) => (x && x.sessions ? x.page_views / x.sessions : null);
  const none = !data.sessions;
  // This range without sessions against an earlier one with: the rate
  // then, and no change.
  const emptyNow = (was0, show) => (none && prev && prev.sessions ? { noneText: 'no sessions in this range', noneShort: 'was ' + show(was0) } : {});
  const was = (cur, get, opts = {}) => {
    if (!prev) return null;
    const rated = opts.rate || opts.avg;
    const show = opts.show || (opts.rate ? fmt.pct : fmt.n);
    return compareLine(cur, get(prev), { none: rated ? !prev.sessions : false, ...(rated ? emptyNow(get(prev), show) : {}), ...opts });
  };
  const kpis = [
    ['sessions', 'Sessions', fmt.n(data.sessions), null, null, was(data.sessions, (p) => p.sessions)],
    ['visitors', 'Visitors', fmt.n(data.visitors), null, null, was(data.visitors, (p) => p.visitors)],
    ['page_views', 'Page views', fmt.n(data.page_views), null, null, was(data.page_views, (p) => p.page_views)],
    ['bounce_rate', 'Bounce rate', none ? '–' : fmt.pct(data.bounce_rate), null, null, was(none ? null : data.bounce_rate, (p) => p.bounce_rate, { rate: true, lowerBetter: true })],
    ['mean_duration', 'Visit duration', none ? '–' : fmt.dur(data.mean_duration_s), null, null, was(none ? null : data.mean_duration_s, (p) => p.mean_duration_s, { avg: true, show: fmt.dur })],
    ['views_per', 'Views / session', data.sessions ? perSession(data).toFixed(1) : '–', null, null,
      was(perSession(data), perSession, { avg: true, show: (v) => (v === null ? '–' : v.toFixed(1)) })],
  ];
  // Sessions that reached any goal (a goal page or a goal event).
  const goals = data.goals || null;
  const prevGoals = prev && prev.goals ? prev.goals : null;
  if (goals) {
    kpis.push(['conversion_rate', 'Conversion rate', goals.sessions ? fmt.pct(goals.conversion_rate) : '–', fmt.n(goals.converted) + ' converted', link('conversions'),
      prevGoals ? compareLine(goals.sessions ? goals.conversion_rate : null, prevGoals.conversion_rate, { rate: true, none: !prevGoals.sessions, ...emptyNow(prevGoals.conversion_rate, fmt.pct) }) : null]);
  }
  body.appendChild(h('div.kpis.kpis-overview', kpis.map(([k, label, v, sub, href, line]) => h('div.kpi', { dataset: { kpi: k } },
    h('div.kpi-label', href ? h('a.kpi-link', { href, title: 'Goals, revenue and events' }, label) : label), h('div.kpi-value', v), sub ? h('div.kpi-sub', sub) : null, line))));
  if (cmp) {
    body.appendChild(h('p.muted.small.compare-note#compare-note', 'Compared with the ' + (cmp.mode === 'year' ? 'same range a year earlier' : 'previous period') + ': ',
      when(cmp.from) + ' – ' + when(cmp.to) + '.'));
  }

  const metric = ctx.params.get('metric') === 'page_views' ? 'page_views' : 'sessions';
  const toggle = h('div.segmented', { role: 'group', 'aria-label': 'Chart metric' },
    [['sessions', 'Sessions'], ['page_views', 'Page views']].map(([v, l]) => h('button', {
      type: 'button', class: v === metric ? 'on' : '', 'aria-pressed': String(v === metric),
      on: { click: () => setParams({ metric: v === 'sessions' ? null : v }, { replace: true }) },
    }, l)));
  const intervalSel = h('select#interval-select', { 'aria-label': 'Interval' },
    [['', 'Auto'], ['hour', 'By hour'], ['day', 'By day'], ['week', 'By week'], ['month', 'By month']]
      .filter(([v]) => v !== 'hour' || hourOK)
      .map(([v, l]) => h('option', { value: v, selected: v === interval }, l)));
  intervalSel.addEventListener('change', () => setParams({ interval: intervalSel.value || null }, { replace: true }));
  const chartBox = h('div.chart#sessions-chart');
  // The site's notes in this range ("campaign launched"), drawn on the
  // series and listed under it; admins add and remove them here.
  let notes = [];
  const notesBox = h('div.notes#overview-notes');
  body.appendChild(card(metric === 'sessions' ? 'Sessions over time' : 'Page views over time', h('div', chartBox, notesBox), { actions: h('div.row-actions', intervalSel, toggle), cls: 'chart-card' }));
  // The earlier series is drawn over the current one: shifted by the
  // distance between the two ranges' starts.
  const earlier = prev && f.from !== undefined
    ? { series: prev.series || [], offset: f.from - Date.parse(cmp.from), name: compareName(cmp.mode) } : null;
  const draw = () => drawSeries(chartBox, data.series || [], data.bucket_ms, metric, data.interval, notes, earlier);
  const loadNotes = async () => {
    try { notes = (await api(ctx.base + '/annotations', filterParams(ctx.params), { signal: ctx.signal })).annotations || []; } catch { notes = []; }
    if (!ctx.isCurrent()) return;
    paintNotes(notesBox, notes, ctx, loadNotes);
    draw();
  };
  loadNotes();
  requestAnimationFrame(draw);
  const ro = new ResizeObserver(() => draw());
  ro.observe(chartBox);
  ctx.signal.addEventListener('abort', () => ro.disconnect());

  const pick = (key) => (r) => setParams({ [key]: r.key });
  // A row's earlier figure, matched by name: absent from a list that was
  // not cut at its length means none that time (0); from a longer one,
  // unknown (beyond the earlier top rows).
  const earlierOf = (key, name) => {
    const list = prev ? prev[key] || [] : [];
    const row = list.find((x) => x.name === name);
    return row ? row.sessions : list.length < CMP_TOP ? 0 : null;
  };
  const rows = (key, mapHref) => (data[key] || []).slice(0, TOP).map((x) => ({
    label: x.name ?? '(unknown)', key: x.name, value: x.sessions, href: mapHref ? mapHref(x.name) : null,
    delta: prev ? deltaCell(x.sessions, earlierOf(key, x.name), { short: true, noneText: 'not among the earlier top ' + CMP_TOP }) : null,
  }));
  const change = prev ? 'Change' : null;
  body.appendChild(h('div.grid2',
    card('Top entry pages', barList(rows('entry_pages', (p) => link('journeys', { root: p })), { labelHead: 'Page', changeHead: change }), { sub: 'click: journeys from here' }),
    card('Top exit pages', barList(rows('exit_pages', (p) => link('transitions', { page: p })), { labelHead: 'Page', changeHead: change }), { sub: 'click: transitions' }),
    card('Channels', barList(rows('channels').map((r) => ({ ...r, label: fmt.label(r.label) })), { labelHead: 'Channel', onPick: pick('channel'), changeHead: change }), { sub: 'click to filter' }),
    // No country for sessions there are: GeoIP is missing; for none at all
    // there is just nothing to show.
    card('Countries', data.countries && data.countries.length
      ? barList(rows('countries'), { labelHead: 'Country', onPick: pick('country'), changeHead: change })
      : none ? empty('No sessions in this range.')
        : empty('No country data.', 'Countries appear when the server has a GeoIP database configured.'), { sub: 'click to filter' }),
    card('Devices', barList(rows('devices').map((r) => ({ ...r, label: fmt.label(r.label) })), { labelHead: 'Device', onPick: pick('device'), changeHead: change }), { sub: 'click to filter' }),
    goals ? goalsCard(goals, prevGoals) : null,
  ));
}

// The earlier range's bounds, with their year (a year earlier reads the
// same otherwise).
const when = (iso) => new Date(Date.parse(iso)).toLocaleString(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });

const TOP = 10; // rows per list
const CMP_TOP = 50; // rows asked per list when compared

// The site's goals: each with the sessions that reached it, linking to
// the Conversions view. A goal reads as its path or event (targetLabel),
// cut on screen, its pattern whole in the title.
// Compared, each goal's change against its earlier conversions.
function goalsCard(goals, prevGoals) {
  const list = goals.goals || [];
  const earlier = (name) => {
    const g = prevGoals && (prevGoals.goals || []).find((x) => x.goal === name);
    return g ? g.conversions : 0;
  };
  const c = card('Goals', list.length
    ? h('div', barList(list.map((g) => ({
      label: targetLabel(g.goal), title: g.goal, value: g.conversions, sub: goals.sessions ? fmt.pct(g.conversion_rate) : null, href: link('conversions'),
      delta: prevGoals ? deltaCell(g.conversions, earlier(g.goal), { short: true }) : null,
    })), { labelHead: 'Goal', valueLabel: 'Conversions', max: goals.sessions || 1, changeHead: prevGoals ? 'Change' : null }),
    h('p.muted.small.goals-note', goals.sessions ? fmt.n(goals.converted) + ' of ' + fmt.n(goals.sessions) + ' sessions reached a goal.' : 'No sessions in this range.'))
    : empty('No goals are set.', 'Add them in the Stages settings: a page pattern, or event:NAME for a custom event.'),
  { actions: h('a.btn.btn-sm#overview-conversions', { href: link('conversions') }, 'Conversions') });
  c.id = 'overview-goals';
  return c;
}

function bucketLabel(ms, bucket, interval) {
  const d = new Date(ms);
  // Weeks and months start at UTC midnight: named in UTC.
  if (interval === 'month') return d.toLocaleDateString(undefined, { month: 'short', year: 'numeric', timeZone: 'UTC' });
  if (interval === 'week') return 'wk ' + d.toLocaleDateString(undefined, { month: 'short', day: 'numeric', timeZone: 'UTC' });
  if (bucket >= 86400000) return d.toLocaleDateString(undefined, { month: 'short', day: 'numeric' });
  return d.toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

// Widths of texts in the chart's axis font (11px, the box's family), in
// px: the SVG is drawn at the box's own width, so a px is a px.
let measurer = null;
function textWidth(box) {
  if (!measurer) measurer = document.createElement('canvas').getContext('2d');
  measurer.font = '11px ' + (getComputedStyle(box).fontFamily || 'sans-serif');
  return (t) => Math.ceil(measurer.measureText(t).width);
}

function niceMax(v) {
  if (v <= 5) return 5;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

// The notes under the chart: each with its date, and for admins a remove
// button and a form to add one.
function paintNotes(box, notes, ctx, reload) {
  clear(box);
  // A page's layout changing is an automatic note: it links to What
  // changed, and only people's notes can be removed.
  const list = h('ul.note-list', notes.map((a) => h('li.note', { dataset: { id: a.id, kind: a.kind || 'note' }, class: a.kind === 'change' ? 'auto' : '' },
    h('span.note-at', new Date(a.at).toLocaleDateString(undefined, { month: 'short', day: 'numeric', year: 'numeric' })),
    a.kind === 'change' ? h('a.note-text', { href: link('changes') }, a.text) : h('span.note-text', a.text),
    canWrite() && a.kind !== 'change' ? h('button.linkish.note-remove', { type: 'button', 'aria-label': 'Remove note', on: { click: async () => {
      await apiSend('DELETE', ctx.base + '/annotations/' + a.id); reload();
    } } }, 'remove') : null)));
  if (notes.length) box.appendChild(list);
  if (!canWrite()) return;
  const at = h('input#note-at', { type: 'date', value: new Date().toISOString().slice(0, 10), 'aria-label': 'Date of the note' });
  const text = h('input#note-text', { type: 'text', maxlength: 200, placeholder: 'Add a note: campaign launched, new shipping prices…', 'aria-label': 'Note' });
  const status = h('span.form-status');
  const add = async () => {
    if (!text.value.trim()) return;
    try {
      await apiSend('POST', ctx.base + '/annotations', { at: at.value, text: text.value });
      text.value = '';
      reload();
    } catch (e) { status.className = 'form-status err'; status.textContent = e.message; }
  };
  text.addEventListener('keydown', (e) => { if (e.key === 'Enter') add(); });
  box.appendChild(h('div.note-form', at, text, h('button.btn#note-add', { type: 'button', on: { click: add } }, 'Add note'), status));
}

// `earlier` (a comparison): {series, offset, name}, the earlier range's
// series, drawn dashed at its bucket times + offset.
function drawSeries(box, series, bucket, metric, interval, notes = [], earlier = null) {
  clear(box);
  // The server fills every bucket of the range (zeros where nobody came).
  const before = earlier ? earlier.series.map((p) => ({ t: p.start + earlier.offset, v: p[metric] || 0, p })) : [];
  if (!series.some((p) => p.sessions) && !before.some((b) => b.p.sessions)) {
    box.appendChild(empty(earlier ? 'No sessions in this range or the ' + earlier.name + '.' : 'No sessions in this range.'));
    return;
  }
  const W = Math.max(320, box.clientWidth || 800), H = 240;
  const m = { l: 44, r: 12, t: 12, b: 28 };
  const iw = W - m.l - m.r, ih = H - m.t - m.b;
  const vals = series.map((p) => p[metric] || 0);
  const ymax = niceMax(Math.max(...vals, ...before.map((b) => b.v), 1));
  const n = series.length;
  const x = (i) => m.l + (n === 1 ? iw / 2 : (i / (n - 1)) * iw);
  const y = (v) => m.t + ih - (v / ymax) * ih;
  const what = metric === 'page_views' ? 'page views' : 'sessions';
  const svg = s('svg', {
    viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img', class: 'series',
    'aria-label': `${what} over time` + (earlier ? `, the ${earlier.name} dashed` : ''),
  });
  const grid = s('g', { class: 'grid' });
  for (let i = 0; i <= 4; i++) {
    const v = (ymax / 4) * i;
    grid.appendChild(s('line', { x1: m.l, x2: W - m.r, y1: y(v), y2: y(v) }));
    grid.appendChild(s('text', { x: m.l - 8, y: y(v), dy: '0.32em', 'text-anchor': 'end', class: 'axis' }, fmt.compact(v)));
  }
  svg.appendChild(grid);
  // Axis labels: what fits. Each label's width is measured in the axis
  // font; every `every`-th bucket is labelled, that the fewest buckets
  // whose spacing holds the widest label and a gap. Labels are centred on
  // their ticks, but the first and last run inwards from theirs where
  // centred they would leave the chart; a label too close to the one
  // before it is left out.
  const texts = series.map((b) => bucketLabel(b.start, bucket, interval));
  const widths = texts.map(textWidth(box));
  const GAP = 12;
  const dx = n > 1 ? iw / (n - 1) : iw;
  const every = Math.max(1, Math.ceil((Math.max(...widths, 0) + GAP) / dx));
  const spanOf = (i, anchor) => (anchor === 'start' ? [x(i), x(i) + widths[i]] : anchor === 'end' ? [x(i) - widths[i], x(i)] : [x(i) - widths[i] / 2, x(i) + widths[i] / 2]);
  const shown = [];
  for (let i = 0; i < n - 1; i += every) {
    const anchor = i === 0 && x(0) - widths[0] / 2 < 0 ? 'start' : 'middle';
    const sp = spanOf(i, anchor);
    if (!shown.length || sp[0] >= shown[shown.length - 1].sp[1] + GAP) shown.push({ i, anchor, sp });
  }
  // The last bucket is labelled too, in place of the middle ones it would
  // touch (never of the first: then it goes without).
  if (n > 1) {
    const anchor = x(n - 1) + widths[n - 1] / 2 > W ? 'end' : 'middle';
    const sp = spanOf(n - 1, anchor);
    while (shown.length > 1 && shown[shown.length - 1].sp[1] + GAP > sp[0]) shown.pop();
    if (shown[shown.length - 1].sp[1] + GAP <= sp[0]) shown.push({ i: n - 1, anchor, sp });
  } else shown.push({ i: 0, anchor: 'middle' });
  for (const { i, anchor } of shown) {
    svg.appendChild(s('text', { x: x(i), y: H - 8, 'text-anchor': anchor, class: 'axis' }, texts[i]));
  }
  const pts = vals.map((v, i) => [x(i), y(v)]);
  const line = pts.map((p, i) => (i ? 'L' : 'M') + p[0].toFixed(1) + ',' + p[1].toFixed(1)).join('');
  const area = line + `L${x(n - 1).toFixed(1)},${y(0)}L${x(0).toFixed(1)},${y(0)}Z`;
  const defs = s('defs', {}, s('linearGradient', { id: 'area-grad', x1: 0, x2: 0, y1: 0, y2: 1 },
    s('stop', { offset: '0%', class: 'grad-top' }), s('stop', { offset: '100%', class: 'grad-bottom' })));
  svg.append(defs, s('path', { d: area, class: 'area', fill: 'url(#area-grad)' }));
  // Times to x: between the bucket starts around them, and beyond the
  // ends a bucket's width apart (clipped to the plot).
  const starts = series.map((p) => new Date(p.start).getTime());
  const step = n > 1 ? x(1) - x(0) : iw;
  const span = (i) => (n > 1 ? starts[Math.min(i + 1, n - 1)] - starts[Math.min(i, n - 2)] : bucket || 1);
  const xAt = (t) => {
    if (n === 1) return x(0) + ((t - starts[0]) / (bucket || 1)) * step;
    if (t <= starts[0]) return x(0) + ((t - starts[0]) / span(0)) * step;
    for (let i = 0; i + 1 < n; i++) if (t < starts[i + 1]) return x(i + (t - starts[i]) / (starts[i + 1] - starts[i]));
    return x(n - 1) + ((t - starts[n - 1]) / span(n - 2)) * step;
  };
  // The earlier range: a lighter dashed line under the current one.
  let hotPrev = null;
  if (earlier && before.length) {
    svg.appendChild(s('clipPath', { id: 'plot-clip' }, s('rect', { x: m.l, y: 0, width: iw, height: H })));
    const bp = before.map((b) => [xAt(b.t), y(b.v)]);
    const d = bp.map((p, i) => (i ? 'L' : 'M') + p[0].toFixed(1) + ',' + p[1].toFixed(1)).join('');
    svg.appendChild(s('path', { d, class: 'line-prev', 'clip-path': 'url(#plot-clip)' }, s('title', {}, earlier.name)));
    hotPrev = s('circle', { class: 'hot-prev', r: 4, cx: -10, cy: -10 });
  }
  svg.appendChild(s('path', { d: line, class: 'line' }));
  if (n <= 60) for (const p of pts) svg.appendChild(s('circle', { cx: p[0], cy: p[1], r: 2.5, class: 'dot' }));
  // The earlier bucket nearest a current one (within half a bucket).
  const earlierAt = (i) => {
    let best = null;
    for (const b of before) if (!best || Math.abs(b.t - starts[i]) < Math.abs(best.t - starts[i])) best = b;
    return best && Math.abs(best.t - starts[i]) <= (bucket || span(0)) / 2 ? best : null;
  };
  const cross = s('line', { class: 'cross', y1: m.t, y2: m.t + ih, x1: -10, x2: -10 });
  const hot = s('circle', { class: 'hot', r: 5, cx: -10, cy: -10 });
  svg.append(cross, hot);
  if (hotPrev) svg.appendChild(hotPrev);
  const hit = s('rect', { x: m.l, y: m.t, width: iw, height: ih, class: 'hit' });
  hit.addEventListener('pointermove', (e) => {
    const r = svg.getBoundingClientRect();
    const px = ((e.clientX - r.left) / r.width) * W;
    const i = Math.max(0, Math.min(n - 1, Math.round(((px - m.l) / iw) * (n - 1))));
    cross.setAttribute('x1', x(i)); cross.setAttribute('x2', x(i));
    hot.setAttribute('cx', x(i)); hot.setAttribute('cy', y(vals[i]));
    const p = series[i];
    const b = earlier ? earlierAt(i) : null;
    if (hotPrev) { hotPrev.setAttribute('cx', b ? xAt(b.t) : -10); hotPrev.setAttribute('cy', b ? y(b.v) : -10); }
    showTip(e.clientX, e.clientY, h('strong', bucketLabel(p.start, bucket, interval)),
      h('div', fmt.n(p.sessions) + ' sessions'), h('div', fmt.n(p.page_views) + ' page views'),
      earlier ? h('div.muted', earlier.name + ' (' + bucketLabel(b ? b.p.start : starts[i] - earlier.offset, bucket, interval) + '): '
        + (b ? fmt.n(b.p[metric] || 0) + ' ' + what : 'no figure')) : null);
  });
  hit.addEventListener('pointerleave', () => {
    hideTip(); cross.setAttribute('x1', -10); cross.setAttribute('x2', -10); hot.setAttribute('cx', -10);
    if (hotPrev) hotPrev.setAttribute('cx', -10);
  });
  svg.appendChild(hit);
  // Notes: a dashed line and a flag at their time, placed between the
  // bucket starts around it; their text on hover.
  for (const a of notes) {
    const t = new Date(a.at).getTime();
    if (!(t >= starts[0] && t < starts[n - 1] + (bucket || 0))) continue;
    const ax = Math.min(xAt(t), x(n - 1));
    const g = s('g', { class: a.kind === 'change' ? 'annotation auto' : 'annotation', 'data-id': a.id });
    g.append(s('line', { x1: ax, x2: ax, y1: m.t, y2: m.t + ih }), s('rect', { x: ax - 4, y: m.t, width: 8, height: 8, rx: 2 }), s('title', {}, a.text));
    g.addEventListener('pointermove', (e) => showTip(e.clientX, e.clientY, h('strong', new Date(t).toLocaleString()), h('div', a.text)));
    g.addEventListener('pointerleave', hideTip);
    svg.appendChild(g);
  }
  box.appendChild(svg);
  if (earlier) {
    box.appendChild(h('div.legend.series-legend#series-legend',
      h('span.lg.lg-line', { 'aria-hidden': 'true' }), h('span', 'this period'),
      h('span.lg.lg-dash', { 'aria-hidden': 'true' }), h('span', earlier.name)));
  }
}
