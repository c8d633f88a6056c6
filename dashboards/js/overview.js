// Overview: KPIs, sessions over time, top pages, channels, countries, devices.
import { h, s, api, apiSend, clear, fmt, card, barList, link, setParams, filterParams, showTip, hideTip, empty, loading, canWrite } from './core.js';
import { installCard, hasEvents } from './install.js';

export async function render(el, ctx) {
  el.appendChild(h('div.view-head', h('h1', 'Overview'), h('p.muted', 'How many people came, where from, and where they landed and left.')));
  const body = h('div', loading());
  el.appendChild(body);
  // The series' interval: hours only for ranges of a month or less (the
  // server's bound is 31 days).
  const range = ctx.params.get('range') || '7d';
  const hourOK = ['today', 'yesterday', '24h', '7d', '30d'].includes(range);
  let interval = ['hour', 'day', 'week', 'month'].includes(ctx.params.get('interval')) ? ctx.params.get('interval') : '';
  if (interval === 'hour' && !hourOK) interval = '';
  const data = await api(ctx.base + '/overview', { top: 10, interval: interval || null, ...filterParams(ctx.params) }, { signal: ctx.signal });
  if (!ctx.isCurrent()) return;
  clear(body);
  // Nothing in this range: if the site has had nothing ever, the tag is
  // probably not installed yet, so say how (at the top, above the zeros).
  if (!data.sessions) {
    const slot = h('div#overview-install');
    body.appendChild(slot);
    api(ctx.base + '/install', null, { signal: ctx.signal }).then((x) => {
      if (ctx.isCurrent() && !hasEvents(x)) slot.appendChild(installCard(ctx, { initial: x }));
    }).catch(() => { /* the card is a hint; the overview stands without it */ });
  }

  const kpis = [
    ['sessions', 'Sessions', fmt.n(data.sessions)],
    ['visitors', 'Visitors', fmt.n(data.visitors)],
    ['page_views', 'Page views', fmt.n(data.page_views)],
    ['bounce_rate', 'Bounce rate', fmt.pct(data.bounce_rate)],
    ['mean_duration', 'Visit duration', fmt.dur(data.mean_duration_s)],
    ['views_per', 'Views / session', data.sessions ? (data.page_views / data.sessions).toFixed(1) : '–'],
  ];
  // Sessions that reached any goal (a goal page or a goal event).
  const goals = data.goals || null;
  if (goals) kpis.push(['conversion_rate', 'Conversion rate', fmt.pct(goals.conversion_rate), fmt.n(goals.converted) + ' converted', link('conversions')]);
  body.appendChild(h('div.kpis.kpis-overview', kpis.map(([k, label, v, sub, href]) => h('div.kpi', { dataset: { kpi: k } },
    h('div.kpi-label', href ? h('a.kpi-link', { href, title: 'Goals, revenue and events' }, label) : label), h('div.kpi-value', v), sub ? h('div.kpi-sub', sub) : null))));

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
  const draw = () => drawSeries(chartBox, data.series || [], data.bucket_ms, metric, data.interval, notes);
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
  const rows = (list, mapHref) => (list || []).map((x) => ({ label: x.name ?? '(unknown)', key: x.name, value: x.sessions, href: mapHref ? mapHref(x.name) : null }));
  body.appendChild(h('div.grid2',
    card('Top entry pages', barList(rows(data.entry_pages, (p) => link('journeys', { root: p })), { labelHead: 'Page' }), { sub: 'click: journeys from here' }),
    card('Top exit pages', barList(rows(data.exit_pages, (p) => link('transitions', { page: p })), { labelHead: 'Page' }), { sub: 'click: transitions' }),
    card('Channels', barList(rows(data.channels).map((r) => ({ ...r, label: fmt.label(r.label) })), { labelHead: 'Channel', onPick: pick('channel') }), { sub: 'click to filter' }),
    card('Countries', data.countries && data.countries.length
      ? barList(rows(data.countries), { labelHead: 'Country', onPick: pick('country') })
      : empty('No country data.', 'Countries appear when the server has a GeoIP database configured.'), { sub: 'click to filter' }),
    card('Devices', barList(rows(data.devices).map((r) => ({ ...r, label: fmt.label(r.label) })), { labelHead: 'Device', onPick: pick('device') }), { sub: 'click to filter' }),
    goals ? goalsCard(goals) : null,
  ));
}

// The site's goals: each with the sessions that reached it, linking to
// the Conversions view. Goal names can be long regexes: cut on screen,
// whole in their title.
function goalsCard(goals) {
  const list = goals.goals || [];
  const c = card('Goals', list.length
    ? h('div', barList(list.map((g) => ({ label: g.goal, title: g.goal, value: g.conversions, sub: fmt.pct(g.conversion_rate), href: link('conversions') })),
      { labelHead: 'Goal', valueLabel: 'Conversions', max: goals.sessions || 1 }),
    h('p.muted.small.goals-note', fmt.n(goals.converted) + ' of ' + fmt.n(goals.sessions) + ' sessions reached a goal.'))
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
  const list = h('ul.note-list', notes.map((a) => h('li.note', { dataset: { id: a.id } },
    h('span.note-at', new Date(a.at).toLocaleDateString(undefined, { month: 'short', day: 'numeric', year: 'numeric' })),
    h('span.note-text', a.text),
    canWrite() ? h('button.linkish.note-remove', { type: 'button', 'aria-label': 'Remove note', on: { click: async () => {
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

function drawSeries(box, series, bucket, metric, interval, notes = []) {
  clear(box);
  // The server fills every bucket of the range (zeros where nobody came).
  if (!series.some((p) => p.sessions)) { box.appendChild(empty('No sessions in this range.')); return; }
  const W = Math.max(320, box.clientWidth || 800), H = 240;
  const m = { l: 44, r: 12, t: 12, b: 28 };
  const iw = W - m.l - m.r, ih = H - m.t - m.b;
  const vals = series.map((p) => p[metric] || 0);
  const ymax = niceMax(Math.max(...vals, 1));
  const n = series.length;
  const x = (i) => m.l + (n === 1 ? iw / 2 : (i / (n - 1)) * iw);
  const y = (v) => m.t + ih - (v / ymax) * ih;
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img', 'aria-label': `${metric} over time`, class: 'series' });
  const grid = s('g', { class: 'grid' });
  for (let i = 0; i <= 4; i++) {
    const v = (ymax / 4) * i;
    grid.appendChild(s('line', { x1: m.l, x2: W - m.r, y1: y(v), y2: y(v) }));
    grid.appendChild(s('text', { x: m.l - 8, y: y(v), dy: '0.32em', 'text-anchor': 'end', class: 'axis' }, fmt.compact(v)));
  }
  svg.appendChild(grid);
  // Axis labels: as many as fit at about 7 px a character. The first is
  // drawn from its tick to the right and the last to the left of it, so a
  // middle label must keep one and a half label widths from either end.
  const labelW = Math.max(...series.map((b) => bucketLabel(b.start, bucket, interval).length)) * 7;
  const ticks = Math.min(n, Math.max(2, Math.floor(iw / (labelW + 24))));
  const at = [...new Set(Array.from({ length: ticks }, (_, k) => (ticks === 1 ? 0 : Math.round((k / (ticks - 1)) * (n - 1)))))];
  const ends = [at[0], at[at.length - 1]];
  const shown = at.filter((i) => ends.includes(i) || (x(i) - x(ends[0]) >= labelW * 1.5 && x(ends[1]) - x(i) >= labelW * 1.5));
  shown.forEach((i, k) => {
    const anchor = shown.length === 1 ? 'start' : k === 0 ? 'start' : k === shown.length - 1 ? 'end' : 'middle';
    svg.appendChild(s('text', { x: x(i), y: H - 8, 'text-anchor': anchor, class: 'axis' }, bucketLabel(series[i].start, bucket, interval)));
  });
  const pts = vals.map((v, i) => [x(i), y(v)]);
  const line = pts.map((p, i) => (i ? 'L' : 'M') + p[0].toFixed(1) + ',' + p[1].toFixed(1)).join('');
  const area = line + `L${x(n - 1).toFixed(1)},${y(0)}L${x(0).toFixed(1)},${y(0)}Z`;
  const defs = s('defs', {}, s('linearGradient', { id: 'area-grad', x1: 0, x2: 0, y1: 0, y2: 1 },
    s('stop', { offset: '0%', class: 'grad-top' }), s('stop', { offset: '100%', class: 'grad-bottom' })));
  svg.append(defs, s('path', { d: area, class: 'area', fill: 'url(#area-grad)' }), s('path', { d: line, class: 'line' }));
  if (n <= 60) for (const p of pts) svg.appendChild(s('circle', { cx: p[0], cy: p[1], r: 2.5, class: 'dot' }));
  const cross = s('line', { class: 'cross', y1: m.t, y2: m.t + ih, x1: -10, x2: -10 });
  const hot = s('circle', { class: 'hot', r: 5, cx: -10, cy: -10 });
  svg.append(cross, hot);
  const hit = s('rect', { x: m.l, y: m.t, width: iw, height: ih, class: 'hit' });
  hit.addEventListener('pointermove', (e) => {
    const r = svg.getBoundingClientRect();
    const px = ((e.clientX - r.left) / r.width) * W;
    const i = Math.max(0, Math.min(n - 1, Math.round(((px - m.l) / iw) * (n - 1))));
    cross.setAttribute('x1', x(i)); cross.setAttribute('x2', x(i));
    hot.setAttribute('cx', x(i)); hot.setAttribute('cy', y(vals[i]));
    const p = series[i];
    showTip(e.clientX, e.clientY, h('strong', bucketLabel(p.start, bucket, interval)),
      h('div', fmt.n(p.sessions) + ' sessions'), h('div', fmt.n(p.page_views) + ' page views'));
  });
  hit.addEventListener('pointerleave', () => { hideTip(); cross.setAttribute('x1', -10); cross.setAttribute('x2', -10); hot.setAttribute('cx', -10); });
  svg.appendChild(hit);
  // Notes: a dashed line and a flag at their time, placed between the
  // bucket starts around it; their text on hover.
  const starts = series.map((p) => new Date(p.start).getTime());
  const xAt = (t) => {
    if (n === 1 || t <= starts[0]) return x(0);
    for (let i = 0; i + 1 < n; i++) if (t < starts[i + 1]) return x(i + (t - starts[i]) / (starts[i + 1] - starts[i]));
    return x(n - 1);
  };
  for (const a of notes) {
    const t = new Date(a.at).getTime();
    if (!(t >= starts[0] && t < starts[n - 1] + (bucket || 0))) continue;
    const ax = xAt(t);
    const g = s('g', { class: 'annotation', 'data-id': a.id });
    g.append(s('line', { x1: ax, x2: ax, y1: m.t, y2: m.t + ih }), s('rect', { x: ax - 4, y: m.t, width: 8, height: 8, rx: 2 }), s('title', {}, a.text));
    g.addEventListener('pointermove', (e) => showTip(e.clientX, e.clientY, h('strong', new Date(t).toLocaleString()), h('div', a.text)));
    g.addEventListener('pointerleave', hideTip);
    svg.appendChild(g);
  }
  box.appendChild(svg);
}
