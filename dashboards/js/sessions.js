// Sessions: search (query syntax), result list, and one session's view.
import { h, s, api, clear, fmt, card, link, setParams, filterParams, empty, loading, errorBox, showTip, hideTip, readHash, hashFor, qv } from './core.js';
import { createPlayer } from './player.js';
import { DROP_PAGE, definitionOnly, funnelLink } from './funnels.js';

const EXAMPLES = [
  ['page:/checkout/* AND -page:/thank-you.html', 'reached checkout but did not buy'],
  ['referrer:google.com', 'came from Google'],
  ['rage:true', 'had rage clicks'],
  ['duration:>60', 'lasted over a minute'],
  ['device:mobile AND country:SE', 'mobile visitors from Sweden'],
  ['page:/cart.html', 'viewed the cart'],
];

export function render(el, ctx) {
  return ctx.route === 'session' ? renderSession(el, ctx) : renderList(el, ctx);
}

// ---------------- list ----------------
async function renderList(el, ctx) {
  const p = ctx.params;
  const q = p.get('q') || '';
  const sort = p.get('sort') === 'longest' ? 'longest' : 'newest';
  const limit = [25, 50, 100].includes(+p.get('limit')) ? +p.get('limit') : 50;
  const offset = Math.max(0, parseInt(p.get('offset'), 10) || 0);
  const cursor = p.get('cursor') || '';

  el.appendChild(h('div.view-head', h('h1', 'Sessions'), h('p.muted', 'Find sessions by what happened in them, then replay their journey step by step.')));
  const input = h('input#session-q.mono', { type: 'search', value: q, placeholder: 'e.g. page:/checkout/* AND -page:/thank-you.html', 'aria-label': 'Search sessions', spellcheck: 'false', autocomplete: 'off' });
  const form = h('form.search-form#session-search', { role: 'search' },
    h('span.search-icon', { 'aria-hidden': 'true' }, '⌕'), input,
    h('button.btn.btn-primary', { type: 'submit' }, 'Search'));
  form.addEventListener('submit', (e) => { e.preventDefault(); setParams({ q: input.value.trim(), offset: null, cursor: null }); });
  const help = h('details.search-help',
    h('summary', 'Query syntax'),
    h('div.help-body',
      h('p', 'Terms are ', h('code', 'field:value'), '. Combine with ', h('code', 'AND'), ', ', h('code', 'OR'), ' and parentheses; negate with ', h('code', '-'), '. Numbers take ', h('code', '>'), ' / ', h('code', '<'), '.'),
      h('p.muted.small', 'Fields: page, entry, exit, referrer, channel, utm_source, utm_campaign, country, device, browser, os, duration (seconds), pages, rage, dead, error.'),
      h('ul.examples', EXAMPLES.map(([ex, what]) => h('li', h('button.linklike.mono', { type: 'button', on: { click: () => setParams({ q: ex, offset: null, cursor: null }) } }, ex), h('span.muted', ' — ' + what))))));
  const sortSel = h('select#session-sort', { 'aria-label': 'Sort' }, h('option', { value: 'newest', selected: sort === 'newest' }, 'Newest first'), h('option', { value: 'longest', selected: sort === 'longest' }, 'Longest first'));
  sortSel.addEventListener('change', () => setParams({ sort: sortSel.value === 'newest' ? null : sortSel.value, offset: null, cursor: null }));
  const limSel = h('select', { 'aria-label': 'Per page' }, [25, 50, 100].map((n) => h('option', { value: n, selected: n === limit }, n + ' per page')));
  limSel.addEventListener('change', () => setParams({ limit: +limSel.value === 50 ? null : limSel.value, offset: null, cursor: null }));
  const msg = h('div#search-msg');
  const results = h('div#session-results', loading());
  const countEl = h('h2#session-count', '…');
  el.appendChild(h('div.card', form, help, msg));
  el.appendChild(h('section.card', h('header.card-head', countEl, sortSel, limSel), results));

  const f = filterParams(p);
  let data;
  try {
    data = await api(ctx.base + '/sessions', { q: q || null, sort: sort === 'newest' ? null : sort, limit, offset: offset || null, cursor: cursor || null, ...f }, { signal: ctx.signal });
  } catch (e) {
    if (e.status === 400) {
      clear(msg).appendChild(h('div.form-status.err#search-error', { role: 'alert' }, e.message));
      countEl.textContent = 'No results';
      clear(results).appendChild(empty('Fix the query above and search again.'));
      return;
    }
    throw e;
  }
  if (!ctx.isCurrent()) return;
  const searchMode = typeof data.total === 'number';
  let list = data.sessions || [];
  if (!searchMode && q) {
    msg.appendChild(h('p.notice#search-fallback', 'This trailmap server does not support search yet, so all sessions are listed (newest first).'));
  }
  if (!searchMode && sort === 'longest') list = list.slice().sort((a, b) => b.duration_ms - a.duration_ms);
  countEl.textContent = searchMode ? fmt.n(data.total) + ' session' + (data.total === 1 ? '' : 's') + (q ? ' match' + (data.total === 1 ? 'es' : '') : '')
    : fmt.n(list.length) + ' sessions' + (data.next_cursor ? ' (more available)' : '');
  countEl.dataset.total = searchMode ? data.total : list.length;
  clear(results);
  if (!list.length) {
    // The server says which term matched no page, when it can tell.
    const hints = data.hints || [];
    if (hints.length) msg.appendChild(h('ul.notice#search-hints', hints.map((t) => h('li', t))));
    results.appendChild(empty(q ? 'No session matches this query.' : 'No sessions in this range.',
      hints.length ? 'See why above.' : 'Try a longer date range or fewer filters.'));
    return;
  }
  // The session view gets the list it came from (for next / previous).
  const back = { q: q || null, sort: sort === 'newest' ? null : sort, limit: limit === 50 ? null : limit, offset: offset || null, cursor: cursor || null, walk: 'search' };
  results.appendChild(sessionTable(list, back));

  const pager = h('div.pager');
  if (searchMode) {
    const total = data.total;
    const from = offset + 1, to = Math.min(offset + list.length, total);
    pager.append(
      h('button.btn.btn-sm#page-prev', { type: 'button', disabled: offset === 0, on: { click: () => setParams({ offset: Math.max(0, offset - limit) || null }) } }, '← Previous'),
      h('span.muted', fmt.n(from) + '–' + fmt.n(to) + ' of ' + fmt.n(total)),
      h('button.btn.btn-sm#page-next', { type: 'button', disabled: offset + limit >= total, on: { click: () => setParams({ offset: offset + limit }) } }, 'Next →'));
  } else {
    pager.append(
      h('button.btn.btn-sm#page-first', { type: 'button', disabled: !cursor, on: { click: () => setParams({ cursor: null }) } }, '← Newest'),
      h('button.btn.btn-sm#page-next', { type: 'button', disabled: !data.next_cursor, on: { click: () => setParams({ cursor: data.next_cursor }) } }, 'Older →'));
  }
  results.appendChild(pager);
}

// The sessions of a list (search results, a funnel's drop-offs); each row
// opens the session with `back`, the list it is in, for next / previous.
export function sessionTable(list, back, id = 'sessions-table') {
  const rows = list.map((x) => {
    const href = link('session', { id: x.id, ...back });
    const flags = h('span.flags',
      x.rage_clicks ? h('span.flag.rage', { title: 'Rage clicks' }, fmt.n(x.rage_clicks) + ' rage') : null,
      x.dead_clicks ? h('span.flag.dead', { title: 'Dead clicks' }, fmt.n(x.dead_clicks) + ' dead') : null,
      x.error_pages ? h('span.flag.err', { title: 'Pages with errors' }, fmt.n(x.error_pages) + ' error') : null,
      x.is_bot ? h('span.flag.bot', 'bot') : null);
    const src = x.referrer_domain || (x.channel === 'direct' ? 'Direct' : '');
    const tr = h('tr.session-row', { dataset: { id: x.id } },
      h('td', h('a.sess-link', { href }, fmt.time(Date.parse(x.start))), h('div.muted.small', '#' + x.id)),
      h('td.journey-cell', h('span.mono.ellip', { title: x.entry_page || '' }, x.entry_page || '–'), h('span.muted', x.page_count > 1 ? ' → ' : ''),
        x.page_count > 1 ? h('span.mono.ellip', { title: x.exit_page || '' }, x.exit_page || '–') : null),
      h('td.num', fmt.n(x.page_count)),
      h('td.num', fmt.dur(x.duration_ms / 1000)),
      h('td', h('div.ellip', { title: x.referrer || '' }, src || '–'), h('div.muted.small', fmt.label(x.channel), x.utm_campaign ? ' · ' + x.utm_campaign : '')),
      h('td', h('div', fmt.label(x.device)), h('div.muted.small', [x.browser, x.os].filter(Boolean).join(' · '))),
      h('td', x.country || h('span.muted', '–')),
      h('td', flags));
    tr.addEventListener('click', (e) => { if (!e.target.closest('a')) location.hash = href; });
    return tr;
  });
  return h('div.table-wrap', h('table.data.sessions-table#' + id,
    h('thead', h('tr', ['Started', 'Journey', 'Pages', 'Duration', 'Source', 'Device', 'Country', 'Signals'].map((c, i) => h('th', { class: i === 2 || i === 3 ? 'num' : '' }, c)))),
    h('tbody', rows)));
}

// ---------------- one session ----------------
// Which list a session was opened from is `walk` (search, funnel); not
// `from`, which is the first day of a custom range. (`from=list` is how
// older links said search.)
const LIST_KEYS = ['q', 'sort', 'limit', 'offset', 'cursor'];
const fromSearch = (p) => p.get('walk') === 'search' || p.get('from') === 'list';
// Where this session sits in the search results it was opened from: the
// links to the previous and next session there (null at either end), or
// null when it was opened on its own.
async function neighbours(ctx, id) {
  const p = ctx.params;
  if (!fromSearch(p)) return null;
  const q = p.get('q') || '';
  const sort = p.get('sort') === 'longest' ? 'longest' : null;
  const limit = [25, 50, 100].includes(+p.get('limit')) ? +p.get('limit') : 50;
  const offset = Math.max(0, parseInt(p.get('offset'), 10) || 0);
  const cursor = p.get('cursor') || '';
  const f = filterParams(p);
  const fetchPage = (o, c) => api(ctx.base + '/sessions', { q: q || null, sort, limit, offset: o || null, cursor: c || null, ...f }, { signal: ctx.signal });
  const hrefFor = (sid, o, c) => link('session', { id: sid, q: q || null, sort, limit: limit === 50 ? null : limit, offset: o || null, cursor: c || null, walk: 'search' });
  const data = await fetchPage(offset, cursor);
  const searchMode = typeof data.total === 'number';
  let list = data.sessions || [];
  if (!searchMode && sort === 'longest') list = list.slice().sort((a, b) => b.duration_ms - a.duration_ms);
  const i = list.findIndex((x) => String(x.id) === String(id));
  if (i < 0) return { prev: null, next: null };
  let prev = null, next = null;
  if (i > 0) prev = hrefFor(list[i - 1].id, offset, cursor);
  else if (searchMode && offset > 0) {
    const o = Math.max(0, offset - limit);
    const d = await fetchPage(o, '');
    const l = d.sessions || [];
    if (l.length) prev = hrefFor(l[l.length - 1].id, o, '');
  }
  if (i + 1 < list.length) next = hrefFor(list[i + 1].id, offset, cursor);
  else if (searchMode && offset + limit < data.total) {
    const d = await fetchPage(offset + limit, '');
    const l = d.sessions || [];
    if (l.length) next = hrefFor(l[0].id, offset + limit, '');
  } else if (!searchMode && data.next_cursor && sort !== 'longest') {
    const d = await fetchPage(0, data.next_cursor);
    const l = d.sessions || [];
    if (l.length) next = hrefFor(l[0].id, 0, data.next_cursor);
  }
  return { prev, next };
}

// The same for a session opened from a funnel's drop-off list: the
// funnel (its definition), the step (dropped_at) and the offset of the
// page of the list the session is on; the neighbours are asked of the
// funnel API, a page of the list at a time.
function funnelList(p) {
  const def = definitionOnly(p.get('funnel') || '');
  const at = parseInt(p.get('dropped_at'), 10);
  if (!def || !(at >= 1)) return null;
  return { def, at, offset: Math.max(0, parseInt(p.get('offset'), 10) || 0) };
}
async function funnelNeighbours(ctx, id) {
  const fl = funnelList(ctx.params);
  if (!fl) return null;
  const { def, at } = fl;
  const f = filterParams(ctx.params);
  const fetchPage = async (o) => {
    const d = await api(ctx.base + '/funnel?' + def, { dropped_at: at, limit: DROP_PAGE, offset: o || null, ...f }, { signal: ctx.signal });
    return d.dropped || { total: 0, sessions: [] };
  };
  const hrefFor = (sid, o) => link('session', { id: sid, walk: 'funnel', funnel: def, dropped_at: at, offset: o || null });
  const has = (d) => (d.sessions || []).findIndex((x) => String(x.id) === String(id));
  // Newer sessions may have joined the list since it was shown, pushing
  // this one onto the next page.
  let offset = fl.offset;
  let data = await fetchPage(offset);
  let i = has(data);
  if (i < 0 && offset + DROP_PAGE < data.total) {
    const d = await fetchPage(offset + DROP_PAGE);
    if (has(d) >= 0) { offset += DROP_PAGE; data = d; i = has(d); }
  }
  if (i < 0) return { prev: null, next: null };
  const list = data.sessions || [];
  let prev = null, next = null;
  if (i > 0) prev = hrefFor(list[i - 1].id, offset);
  else if (offset > 0) {
    const o = Math.max(0, offset - DROP_PAGE);
    const l = (await fetchPage(o)).sessions || [];
    if (l.length) prev = hrefFor(l[l.length - 1].id, o);
  }
  if (i + 1 < list.length) next = hrefFor(list[i + 1].id, offset);
  else if (offset + DROP_PAGE < data.total) {
    const l = (await fetchPage(offset + DROP_PAGE)).sessions || [];
    if (l.length) next = hrefFor(l[0].id, offset + DROP_PAGE);
  }
  return { prev, next };
}

async function renderSession(el, ctx) {
  const id = ctx.params.get('id');
  const fl = ctx.params.get('walk') === 'funnel' ? funnelList(ctx.params) : null;
  let backHref;
  if (fl) backHref = funnelLink(fl.def, { dropped: fl.at, doffset: fl.offset || null });
  else {
    const backParams = {};
    for (const k of LIST_KEYS) backParams[k] = ctx.params.get(k);
    backHref = link('sessions', backParams);
  }
  el.appendChild(h('a.back#session-back', { href: backHref }, fl ? '← Funnel drop-offs' : '← Sessions'));
  const body = h('div', loading());
  el.appendChild(body);
  let x;
  try {
    x = await api(ctx.base + '/sessions/' + encodeURIComponent(id || ''), null, { signal: ctx.signal });
  } catch (e) {
    if (e.status === 404 || e.status === 400) { clear(body).appendChild(empty('Session not found.', e.message)); return; }
    throw e;
  }
  if (!ctx.isCurrent()) return;
  clear(body);
  const events = (x.events || []).slice().sort((a, b) => a.seq - b.seq);
  const t0 = Date.parse(x.start);
  const t1 = Date.parse(x.end);
  body.appendChild(h('div.view-head.sess-head',
    h('h1', 'Session #' + x.id),
    h('p.muted', fmt.time(t0), ' · ', fmt.dur(x.duration_ms / 1000), ' · ', fmt.n(x.page_count) + ' pages · ', fmt.n(x.event_count) + ' events',
      x.source && x.source !== 'tracker' ? ' · source: ' + x.source : '')));

  const firstPv = events.find((e) => e.type === 'pageview') || {};
  const dd = (v) => (v === null || v === undefined || v === '' ? h('span.muted', '–') : String(v));
  body.appendChild(h('div.grid3',
    card('Came from', h('dl.facts#sess-source',
      h('dt', 'Channel'), h('dd', fmt.label(x.channel)),
      h('dt', 'Referrer'), h('dd.mono.break', dd(x.referrer)),
      h('dt', 'UTM source'), h('dd', dd(x.utm_source)),
      h('dt', 'UTM medium'), h('dd', dd(x.utm_medium)),
      h('dt', 'UTM campaign'), h('dd', dd(x.utm_campaign)),
      h('dt', 'Landing page'), h('dd.mono.break', dd(x.entry_page)))),
    card('Device', h('dl.facts#sess-device',
      h('dt', 'Device'), h('dd', fmt.label(x.device)),
      h('dt', 'Browser'), h('dd', dd(x.browser)),
      h('dt', 'OS'), h('dd', dd(x.os)),
      h('dt', 'Viewport'), h('dd', firstPv.vw ? firstPv.vw + ' × ' + firstPv.vh : dd(null)),
      h('dt', 'Bot'), h('dd', x.is_bot ? 'yes' : 'no'))),
    card('Location & signals', h('dl.facts#sess-location',
      h('dt', 'Country'), h('dd', dd(x.country)),
      h('dt', 'Region'), h('dd', dd(x.region)),
      h('dt', 'City'), h('dd', dd(x.city)),
      h('dt', 'Rage clicks'), h('dd', { class: x.rage_clicks ? 'bad' : '' }, fmt.n(x.rage_clicks)),
      h('dt', 'Dead clicks'), h('dd', { class: x.dead_clicks ? 'bad' : '' }, fmt.n(x.dead_clicks)),
      h('dt', 'Error pages'), h('dd', { class: x.error_pages ? 'bad' : '' }, fmt.n(x.error_pages))))));

  // Group events into page views.
  const views = [];
  let cur = null;
  for (const e of events) {
    if (e.type === 'pageview' || !cur || (e.page !== cur.page && e.type !== 'leave')) {
      cur = { page: e.page, start: e.ts, pv: e.type === 'pageview' ? e : null, events: [] };
      views.push(cur);
      if (e.type === 'pageview') continue;
    }
    cur.events.push(e);
  }
  views.forEach((v, i) => {
    const nextStart = i + 1 < views.length ? views[i + 1].start : null;
    const lastTs = Math.max(v.start, ...v.events.map((e) => e.ts));
    v.end = nextStart ?? Math.max(lastTs, Number.isFinite(t1) ? t1 : lastTs);
  });
  if (!views.length && (x.pages || []).length) {
    for (const pg of x.pages) views.push({ page: pg, start: t0, end: t0, events: [] });
  }
  // The replay player, above the facts.
  const nav = fromSearch(ctx.params) ? neighbours(ctx, x.id) : fl ? funnelNeighbours(ctx, x.id) : undefined;
  const player = createPlayer(ctx, x, events, {
    nav: nav && nav.catch(() => ({ prev: null, next: null })),
    navIn: fl ? 'the drop-off list' : 'the results',
  });
  const replayCard = card('Replay', player.el, {
    cls: 'replay-card',
    sub: player.model.hasLayouts ? 'Recorded layouts · cursor, clicks and scrolling' : 'Page timeline (no layouts recorded)',
  });
  const facts = body.querySelector('.grid3');
  body.insertBefore(replayCard, facts);
  const seek = (ms) => { player.seek(ms - player.model.T0); player.el.scrollIntoView({ block: 'nearest', behavior: 'smooth' }); player.el.focus({ preventScroll: true }); };

  body.appendChild(card('Timeline', timeline(views, t0, t1, seek), { sub: fmt.n(views.length) + ' page views · click to replay from there' }));
  body.appendChild(card('Pages and events', pageList(views, t0, seek)));
}

const COLORS = ['#6366f1', '#0ea5e9', '#10b981', '#f59e0b', '#ec4899', '#8b5cf6', '#14b8a6', '#f97316'];

function timeline(views, t0, t1, seek) {
  const start = views.length ? Math.min(t0, views[0].start) : t0;
  const end = Math.max(t1 || start, ...views.map((v) => v.end), start + 1000);
  const total = end - start;
  const pct = (t) => ((t - start) / total) * 100;
  const colour = new Map();
  const track = h('div.tl-track');
  const marks = h('div.tl-marks');
  views.forEach((v, i) => {
    if (!colour.has(v.page)) colour.set(v.page, COLORS[colour.size % COLORS.length]);
    const seg = h('div.tl-seg', { tabindex: 0, 'aria-label': (i + 1) + '. ' + v.page + ', ' + fmt.dur((v.end - v.start) / 1000) },
      h('span.tl-seg-label', v.page));
    seg.style.left = pct(v.start) + '%';
    seg.style.width = 'calc(' + Math.max(0.4, pct(v.end) - pct(v.start)) + '% - 2px)';
    seg.style.background = colour.get(v.page);
    seg.addEventListener('pointermove', (e) => showTip(e.clientX, e.clientY, h('strong', (i + 1) + '. ' + v.page),
      h('div', '+' + fmt.dur((v.start - start) / 1000) + ' · ' + fmt.dur((v.end - v.start) / 1000) + ' on page'),
      v.pv && v.pv.title ? h('div.muted', v.pv.title) : null));
    seg.addEventListener('pointerleave', hideTip);
    if (seek) {
      seg.addEventListener('click', () => seek(v.start));
      seg.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); seek(v.start); } });
    }
    track.appendChild(seg);
    for (const e of v.events) {
      if (e.type !== 'click' && e.type !== 'custom') continue;
      if (e.type === 'custom' && e.name === '$layout') continue; // replay bookkeeping
      const cls = e.type === 'custom' ? 'tl-custom' : e.rage ? 'tl-rage' : e.dead ? 'tl-dead' : 'tl-click';
      const m = h('span.tl-mark.' + cls);
      m.style.left = pct(e.ts) + '%';
      m.addEventListener('pointermove', (ev) => showTip(ev.clientX, ev.clientY,
        h('strong', e.type === 'custom' ? 'Event: ' + (e.name || '') : 'Click' + (e.rage ? ' (rage)' : e.dead ? ' (dead)' : '')),
        e.sel ? h('div.mono', e.sel) : null, e.text ? h('div', '“' + e.text + '”') : null, h('div.muted', v.page + ' · +' + fmt.dur((e.ts - start) / 1000))));
      m.addEventListener('pointerleave', hideTip);
      if (seek) m.addEventListener('click', () => seek(e.ts));
      marks.appendChild(m);
    }
  });
  const legend = h('div.legend',
    h('span.lg.tl-click'), h('span', 'click'), h('span.lg.tl-rage'), h('span', 'rage click'), h('span.lg.tl-dead'), h('span', 'dead click'), h('span.lg.tl-custom'), h('span', 'custom event'),
    h('span.topbar-spacer'), h('span.muted', '0s → ' + fmt.dur(total / 1000)));
  return h('div.timeline#session-timeline', { role: 'group', 'aria-label': 'Session timeline' }, track, marks, legend);
}

function pageList(views, t0, seek) {
  if (!views.length) return empty('No events recorded.');
  return h('ol.pv-list#session-pages', views.map((v, i) => {
    const pv = v.pv || {};
    return h('li.pv', { dataset: { page: v.page } },
      h('div.pv-head',
        h('span.pv-n', String(i + 1)),
        h('div.pv-main',
          h('div.pv-path.mono', v.page),
          pv.title ? h('div.pv-title', pv.title) : null,
          pv.url ? h('div.pv-url.muted.small.mono', pv.url) : null),
        h('div.pv-meta', h('div', '+' + fmt.dur((v.start - t0) / 1000)), h('div.muted.small', fmt.dur((v.end - v.start) / 1000) + ' on page')),
        h('span.acts', seek ? h('button.replay-from', { type: 'button', title: 'Replay from this page view', on: { click: () => seek(v.start) } }, '▶ replay') : null,
          h('a', { href: link('heatmaps', { page: v.page }) }, 'heatmap'), h('a', { href: link('transitions', { page: v.page }) }, 'flow'))),
      v.events.length ? h('ul.ev-list', v.events.map((e) => eventRow(e, v.start))) : null);
  }));
}

function eventRow(e, base) {
  const at = h('span.ev-at.muted', '+' + fmt.dur((e.ts - base) / 1000));
  switch (e.type) {
    case 'click':
      return h('li.ev.ev-click', at, h('span.ev-kind', e.rage ? 'Rage click' : e.dead ? 'Dead click' : 'Click'),
        e.rage ? h('span.flag.rage', 'rage') : null, e.dead ? h('span.flag.dead', 'dead') : null,
        e.sel ? h('code.ev-sel', e.sel) : null, e.text ? h('span.ev-text', '“' + e.text + '”') : null,
        e.href ? h('span.ev-href.mono.muted', '→ ' + e.href) : null,
        h('span.muted.small', ' at ' + Math.round(e.x) + ',' + Math.round(e.y)));
    case 'scroll':
      return h('li.ev', at, h('span.ev-kind', 'Scrolled'), h('span', e.depth != null ? Math.round(e.depth) + 'px' : ''), e.max_depth != null ? h('span.muted', ' (deepest ' + Math.round(e.max_depth) + 'px)') : null);
    case 'leave':
      return h('li.ev.ev-leave', at, h('span.ev-kind', 'Left page'),
        e.engaged_ms != null ? h('span', 'engaged ' + fmt.dur(e.engaged_ms / 1000)) : null,
        e.max_depth != null ? h('span.muted', ' · deepest scroll ' + Math.round(e.max_depth) + 'px') : null);
    case 'custom':
      if (e.name === '$layout' && e.props) {
        return h('li.ev.ev-layout.muted', at, h('span.ev-kind', 'Layout recorded'),
          h('span.small', [e.props.vw && e.props.vh ? e.props.vw + ' × ' + e.props.vh : null, e.props.dh ? 'page ' + e.props.dh + 'px tall' : null].filter(Boolean).join(' · ')));
      }
      return h('li.ev.ev-custom', at, h('span.ev-kind', 'Event'), h('code', e.name || ''),
        e.props && Object.keys(e.props).length ? h('code.ev-props', JSON.stringify(e.props)) : null);
    case 'pageview':
      return h('li.ev', at, h('span.ev-kind', 'Page view'), h('span.mono', e.url || e.page || ''));
    default:
      return h('li.ev', at, h('span.ev-kind', e.type || 'event'));
  }
}
