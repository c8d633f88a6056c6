// Now: who is on the site in the last few minutes (GET /realtime), the
// page each of them is on, and a feed of the page views as they come in,
// conversions (goal pages) marked. Always "now": no date range or filters;
// it asks again every 10 s for as long as the view is open.
// Pages, devices and countries come from visitors: text (h()) only.
import { h, api, auth, fmt, card, barList, link, setParams, empty, segmented } from './core.js';

const MINUTES = [5, 15, 30, 60];
const EVERY_MS = 10000;

export async function render(el, ctx) {
  const asked = Number(ctx.params.get('minutes'));
  const minutes = MINUTES.includes(asked) ? asked : 5;
  const updated = h('span.rt-updated#rt-updated', { 'aria-live': 'polite' });
  el.appendChild(h('div.view-head.rt-head',
    h('div', h('h1', 'Now'), h('p.muted', 'Who is on ' + ctx.site + ' right now. Checks again every 10 seconds.')),
    h('div.rt-controls',
      segmented(MINUTES.map((m) => [String(m), m + ' min']), String(minutes),
        (v) => setParams({ minutes: v === '5' ? null : v }, { replace: true }), 'Time window'),
      updated)));
  const body = h('div#rt-body');
  el.appendChild(body);

  // The feed items seen so far, to mark the ones that came in since.
  const seen = new Set();
  let busy = false;
  let first = true;
  const load = async () => {
    if (busy || !ctx.isCurrent()) return;
    busy = true;
    try {
      const data = await api(ctx.base + '/realtime', { minutes }, { signal: ctx.signal });
      if (!ctx.isCurrent()) return;
      draw(body, data, minutes, seen, first);
      first = false;
      const at = Date.parse(data.now);
      updated.className = 'rt-updated';
      updated.dataset.at = fmt.clock(Number.isNaN(at) ? Date.now() : at);
      updated.textContent = 'updated ' + updated.dataset.at;
    } catch (e) {
      // The first answer is the view's: the router shows its error. A later
      // one keeps the numbers on screen and says they are getting old.
      if (first || e.name === 'AbortError' || e.status === 401) throw e;
      if (!ctx.isCurrent()) return;
      updated.className = 'rt-updated stale';
      updated.textContent = 'not updated since ' + (updated.dataset.at || '…') + ': ' + e.message;
    } finally { busy = false; }
  };
  await load();
  if (ctx.signal.aborted) return;
  // A background tab does not ask; it catches up when shown again. Signed
  // out (a 401 on the way), it stops: the sign-in form is up, and signing
  // in again renders the view anew.
  const tick = () => {
    if (!auth.session) { clearInterval(timer); return; }
    if (!document.hidden) load().catch(() => {});
  };
  const timer = setInterval(tick, EVERY_MS);
  document.addEventListener('visibilitychange', tick, { signal: ctx.signal });
  ctx.signal.addEventListener('abort', () => clearInterval(timer), { once: true });
}

function draw(body, data, minutes, seen, first) {
  const feed = data.feed || [];
  const pages = data.pages || [];
  const live = h('span.rt-live', { class: data.visitors ? 'on' : '', 'aria-hidden': 'true' });
  const kpis = h('div.kpis.rt-kpis',
    h('div.kpi.rt-big', { dataset: { kpi: 'visitors' } },
      h('div.kpi-label', live, 'Visitors, last ' + minutes + ' min'),
      h('div.kpi-value#rt-visitors', fmt.n(data.visitors))),
    h('div.kpi', { dataset: { kpi: 'sessions' } },
      h('div.kpi-label', 'Active sessions'),
      h('div.kpi-value#rt-sessions', fmt.n(data.sessions))),
    h('div.kpi', { dataset: { kpi: 'conversions' } },
      h('div.kpi-label', 'Conversions'),
      h('div.kpi-value#rt-conversions', fmt.n(feed.filter((x) => x.kind === 'goal').length)),
      feed.length >= 50 ? h('div.kpi-sub', 'among the latest 50 page views') : null));
  if (!data.sessions && !feed.length) {
    body.replaceChildren(kpis, card(null, empty('Nobody on the site right now.',
      'Page views show up here within seconds of arriving; this page checks again every 10 seconds.'), { cls: 'rt-empty' }));
    return;
  }
  const pageRows = pages.map((p) => ({ label: p.page, value: p.sessions }));
  // Only the current feed is remembered: an item that left it never returns.
  const keys = feed.map((x) => x.ts + '|' + x.session + '|' + x.page);
  const before = new Set(seen);
  seen.clear();
  for (const k of keys) seen.add(k);
  const list = h('ol.rt-feed#rt-feed', feed.map((x, i) => {
    const fresh = !first && !before.has(keys[i]);
    const goal = x.kind === 'goal';
    const ms = Date.parse(x.ts);
    return h('li.rt-event', { class: (goal ? 'goal' : '') + (fresh ? ' fresh' : ''), dataset: { session: String(x.session) } },
      h('time.rt-time', { datetime: x.ts, title: new Date(ms).toLocaleString() }, fmt.clock(ms)),
      h('span.rt-kind', { class: goal ? 'conv' : 'pv' }, goal ? 'Conversion' : 'Page view'),
      h('a.rt-page', { href: link('session', { id: x.session }), title: 'Open session #' + x.session + ': ' + x.page }, x.page),
      h('span.rt-meta', (x.device ? fmt.label(x.device) : '–') + ' · ' + (x.country || '–')));
  }));
  body.replaceChildren(kpis, h('div.grid2.rt-grid',
    card('Current pages', pageRows.length ? barList(pageRows, { labelHead: 'Page', valueLabel: 'Sessions' }) : empty('No page open right now.'),
      { cls: 'rt-pages', sub: 'the last page of each active session' }),
    card('Live feed', feed.length ? list : empty('No page views in the last ' + minutes + ' minutes.'),
      { cls: 'rt-feed-card', sub: 'newest first · click a page for its session' })));
}
