// Core helpers shared by every view: DOM building (text only, never HTML),
// the authenticated API client, URL state and formatting.

// ---------- DOM ----------
// h('div.card#id', {attrs}, ...children). Strings become text nodes, so
// visitor data can never turn into markup. Attributes named on* and
// style are refused (CSP forbids them anyway); use el.style from JS.
export function h(spec, attrs, ...children) {
  const m = /^([a-z0-9]+)?((?:[.#][\w-]+)*)$/i.exec(spec);
  const el = document.createElement((m && m[1]) || 'div');
  if (m && m[2]) {
    for (const part of m[2].match(/[.#][\w-]+/g)) {
      if (part[0] === '.') el.classList.add(part.slice(1)); else el.id = part.slice(1);
    }
  }
  if (attrs && (typeof attrs !== 'object' || attrs instanceof Node || Array.isArray(attrs))) {
    children.unshift(attrs);
    attrs = null;
  }
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'on') { for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn); continue; }
      if (k === 'class') { for (const c of String(v).split(/\s+/)) if (c) el.classList.add(c); continue; }
      if (k === 'dataset') { Object.assign(el.dataset, v); continue; }
      if (k === 'style' || /^on/i.test(k)) throw new Error('refused attribute ' + k);
      if (k === 'value') { el.value = v; continue; }
      if (k === 'checked' || k === 'disabled' || k === 'selected') { el[k] = !!v; continue; }
      el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

const SVGNS = 'http://www.w3.org/2000/svg';
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null) continue;
    if (k === 'on') { for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn); continue; }
    if (k === 'style' || /^on/i.test(k)) throw new Error('refused attribute ' + k);
    el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); return el; }

// ---------- auth ----------
// The session lives in the server's HttpOnly cookie: the page never sees
// or stores a token or password. It keeps only the session JSON of
// GET/POST /api/session (who, role, sites, share, the CSRF value) in
// memory, here.
export const auth = {
  session: null,
  onExpired: () => {},
};

export class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

// Viewers and share links may read only; the server refuses their writes
// (403) anyway, this just keeps the pages from offering them.
export function canWrite(session = auth.session) {
  return !!session && session.kind !== 'share' && session.role !== 'viewer';
}
export function isShare(session = auth.session) { return !!session && session.kind === 'share'; }
export function isAdmin(session = auth.session) { return !!session && session.kind !== 'share' && session.role === 'admin'; }

// Every request goes with the session cookie (same origin only); a write
// carries the session's CSRF value, which a page of another origin cannot
// read. A 401 drops the session and sends the user back to sign-in (the
// hash is kept, so the view returns); `quiet` (sign-in itself, boot)
// reports the 401 to the caller instead.
async function request(path, opts = {}) {
  const method = opts.method || 'GET';
  const headers = {};
  if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD' && auth.session && auth.session.csrf) headers['X-Trailmap-CSRF'] = auth.session.csrf;
  let res;
  try {
    res = await fetch(path, {
      method, headers, signal: opts.signal, credentials: 'same-origin',
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      cache: 'no-store',
    });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, 'Cannot reach the trailmap server');
  }
  if (res.status === 401 && !opts.quiet) {
    const was = auth.session;
    auth.session = null;
    auth.onExpired(isShare(was) ? SHARE_GONE : 'Your session ended. Sign in again.');
    throw new ApiError(401, 'Signed out');
  }
  if (!res.ok) {
    let msg = res.status + ' ' + res.statusText;
    try { const j = await res.json(); if (j && j.error) msg = j.error; } catch { /* not JSON */ }
    throw new ApiError(res.status, msg);
  }
  return res;
}

export const SHARE_GONE = 'This shared link was revoked or has expired. Ask whoever shared it for a new one.';

export async function api(path, params, opts) {
  const res = await request(withQuery(path, params), opts);
  return res.json();
}

export async function apiSend(method, path, body) {
  const res = await request(path, { method, body });
  const text = await res.text();
  return text ? JSON.parse(text) : {};
}

// Fetch an image with the session cookie and return an object URL.
// The caller (view) registers URLs so they are revoked on the next render.
const objectUrls = new Set();
export async function apiImage(path, params, opts) {
  const res = await request(withQuery(path, params), opts);
  const blob = await res.blob();
  const url = URL.createObjectURL(blob);
  objectUrls.add(url);
  return url;
}
export function revokeImages() {
  for (const u of objectUrls) URL.revokeObjectURL(u);
  objectUrls.clear();
}

// The current session (GET /api/session), or null when there is none (401).
export async function loadSession() {
  try {
    auth.session = await (await request('/api/session', { quiet: true })).json();
  } catch (e) {
    if (e.status === 401) { auth.session = null; return null; }
    throw e;
  }
  return auth.session;
}

// Sign in with {name, password} or {token}; the server sets the cookie.
// A 401 / 429 comes back as an ApiError carrying the server's message.
export async function signIn(body) {
  auth.session = await (await request('/api/session', { method: 'POST', body, quiet: true })).json();
  return auth.session;
}

// End the session on the server (its cookie is cleared there); whatever
// the answer, the page forgets it.
export async function signOut() {
  try { await request('/api/session', { method: 'DELETE', quiet: true }); } finally { auth.session = null; }
}

export function withQuery(path, params) {
  if (!params) return path;
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') continue;
    if (Array.isArray(v)) { for (const x of v) if (x !== '' && x != null) q.append(k, x); } else q.append(k, String(v));
  }
  const qs = q.toString();
  return qs ? path + (path.includes('?') ? '&' : '?') + qs : path;
}

// ---------- URL state ----------
// #/route?site=shop&range=7d&channel=email&root=/cart.html
export const GLOBAL_KEYS = ['site', 'range', 'from', 'to', 'compare', 'channel', 'device', 'country', 'referrer', 'bots'];

export function readHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const i = raw.indexOf('?');
  const route = (i < 0 ? raw : raw.slice(0, i)) || 'overview';
  const params = new URLSearchParams(i < 0 ? '' : raw.slice(i + 1));
  return { route, params };
}

export function hashFor(route, params) {
  const q = new URLSearchParams();
  for (const [k, v] of params instanceof URLSearchParams ? params.entries() : Object.entries(params)) {
    if (v === undefined || v === null || v === '') continue;
    if (Array.isArray(v)) v.forEach((x) => q.append(k, x)); else q.append(k, v);
  }
  const qs = q.toString().replace(/%2F/g, '/').replace(/%3A/g, ':');
  return '#/' + route + (qs ? '?' + qs : '');
}

// Build a link to another view keeping the global keys (site, range, filters).
export function link(route, extra = {}) {
  const { params } = readHash();
  const out = {};
  for (const k of GLOBAL_KEYS) if (params.get(k)) out[k] = params.get(k);
  return hashFor(route, Object.assign(out, extra));
}

// Update the current view's own state in the URL.
export function setParams(changes, { replace = false } = {}) {
  const { route, params } = readHash();
  for (const [k, v] of Object.entries(changes)) {
    params.delete(k);
    if (v === undefined || v === null || v === '') continue;
    if (Array.isArray(v)) v.forEach((x) => params.append(k, x)); else params.set(k, v);
  }
  const next = hashFor(route, params);
  if (replace) history.replaceState(null, '', next); else location.hash = next;
  if (replace) window.dispatchEvent(new HashChangeEvent('hashchange'));
}

// ---------- range + filters → API params ----------
export const RANGES = [
  ['today', 'Today'], ['yesterday', 'Yesterday'], ['12h', 'Last 12 hours'], ['24h', 'Last 24 hours'], ['7d', 'Last 7 days'], ['30d', 'Last 30 days'], ['90d', 'Last 90 days'],
  ['month', 'This month'], ['lastmonth', 'Last month'], ['ytd', 'Year to date'], ['all', 'All time'], ['custom', 'Custom…'],
];
export const DEFAULT_RANGE = '7d';

function localMidnight(d) { const x = new Date(d); x.setHours(0, 0, 0, 0); return x; }
function parseDay(str) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(str || '');
  return m ? new Date(+m[1], +m[2] - 1, +m[3]) : null;
}

export function rangeBounds(params) {
  const r = params.get('range') || DEFAULT_RANGE;
  const now = Date.now();
  const day = 86400000;
  switch (r) {
    case 'today': return { from: localMidnight(now).getTime() };
    // Calendar ranges in the viewer's time zone; `to` is exclusive.
    case 'yesterday': {
      const today = localMidnight(now);
      const y = new Date(today); y.setDate(y.getDate() - 1);
      return { from: y.getTime(), to: today.getTime() };
    }
    case 'month': { const d = new Date(now); return { from: new Date(d.getFullYear(), d.getMonth(), 1).getTime() }; }
    case 'lastmonth': {
      const d = new Date(now);
      return { from: new Date(d.getFullYear(), d.getMonth() - 1, 1).getTime(), to: new Date(d.getFullYear(), d.getMonth(), 1).getTime() };
    }
    case 'ytd': return { from: new Date(new Date(now).getFullYear(), 0, 1).getTime() };
    case '12h': return { from: now - day / 2 };
    case '24h': return { from: now - day };
    case '30d': return { from: localMidnight(now - 29 * day).getTime() };
    case '90d': return { from: localMidnight(now - 89 * day).getTime() };
    case 'all': return {};
    case 'custom': {
      const f = parseDay(params.get('from'));
      const t = parseDay(params.get('to'));
      const out = {};
      if (f) out.from = f.getTime();
      if (t) { t.setDate(t.getDate() + 1); out.to = t.getTime(); }
      return out;
    }
    default: return { from: localMidnight(now - 6 * day).getTime() };
  }
}

export function filterParams(params = readHash().params) {
  const out = rangeBounds(params);
  for (const k of ['channel', 'device', 'country', 'referrer']) if (params.get(k)) out[k] = params.get(k);
  if (params.get('bots') === '1') out.include_bots = 'true';
  return out;
}

// ---------- comparison with an earlier range ----------
// compare=previous (the same span just before) or compare=year (the
// range a calendar year earlier). The server needs a range with a start:
// over all time there is nothing to compare with.
export const COMPARES = [['', 'None'], ['previous', 'Previous period'], ['year', 'Previous year']];
export function compareMode(params = readHash().params) {
  const c = params.get('compare');
  if (c !== 'previous' && c !== 'year') return null;
  return rangeBounds(params).from === undefined ? null : c;
}
// How the earlier range is called in legends and sentences.
export const compareName = (mode) => (mode === 'year' ? 'a year earlier' : 'previous period');

// How a figure moved against the earlier range: ▲ or ▼ and the change
// (relative for counts and amounts, in points for rates), green when
// that is better and red when worse (`lowerBetter` for bounce rates,
// abandoned carts...), grey when nothing changed or there is no earlier
// figure (`none`: the earlier range had no sessions to make a rate of),
// "new" when the earlier figure was 0. Screen readers (and the title)
// get the sentence: "up 12% from 340". `neutral`: neither way is better
// (grey arrows).
export function delta(cur, prev, { rate = false, lowerBetter = false, neutral = false, show = rate ? fmt.pct : fmt.n, none = false, noneText = 'no earlier figure' } = {}) {
  const bad = (v) => v === null || v === undefined || Number.isNaN(v);
  let dir, text, label, csv, change = '';
  if (none || bad(prev) || bad(cur)) {
    dir = 'none'; text = '–'; label = noneText; csv = '';
  } else if (rate) {
    const d = (cur - prev) * 100;
    const pts = Math.abs(d).toFixed(1);
    change = String(cur - prev);
    if (pts === '0.0') { dir = 'flat'; text = '±0 pts'; label = 'no change from ' + show(prev); csv = '0 pts'; } else {
      dir = d > 0 ? 'up' : 'down';
      text = (d > 0 ? '▲ ' : '▼ ') + pts + ' pts';
      label = (d > 0 ? 'up ' : 'down ') + pts + ' points from ' + show(prev);
      csv = (d > 0 ? '+' : '-') + pts + ' pts';
    }
  } else if (prev === 0) {
    if (cur === 0) { dir = 'flat'; text = '±0%'; label = 'no change from ' + show(0); csv = '0%'; } else {
      dir = cur > 0 ? 'up' : 'down'; text = (cur > 0 ? '▲' : '▼') + ' new'; label = 'new: ' + (cur > 0 ? 'up' : 'down') + ' from ' + show(0); csv = 'new';
    }
  } else {
    const r = (cur - prev) / Math.abs(prev);
    const a = Math.abs(r) * 100;
    const p = a.toFixed(a < 10 ? 1 : 0);
    change = String(r);
    if (Number(p) === 0) { dir = 'flat'; text = '±0%'; label = 'no change from ' + show(prev); csv = '0%'; } else {
      dir = r > 0 ? 'up' : 'down';
      text = (r > 0 ? '▲ ' : '▼ ') + p + '%';
      label = (r > 0 ? 'up ' : 'down ') + p + '% from ' + show(prev);
      csv = (r > 0 ? '+' : '-') + p + '%';
    }
  }
  const tone = !neutral && (dir === 'up' || dir === 'down') ? ((dir === 'down') === lowerBetter ? 'better' : 'worse') : 'same';
  return h('span.delta', { class: dir + ' ' + tone, role: 'img', 'aria-label': label, title: label, dataset: { dir, change, csv } }, text);
}

// A headline figure's comparison line: the change and the earlier value.
export function compareLine(cur, prev, opts = {}) {
  const show = opts.show || (opts.rate ? fmt.pct : fmt.n);
  const d = delta(cur, prev, { ...opts, show });
  const gone = d.dataset.dir === 'none';
  // The arrow's words already say "from …": read once.
  return h('div.kpi-cmp', d, h('span.kpi-was', { 'aria-hidden': gone ? null : 'true', dataset: { value: gone ? '' : String(prev) } }, gone ? (opts.noneShort || 'none before') : 'from ' + show(prev)));
}

// A row's change in a list or table: the arrow, and the earlier value
// small beside it (left out of the CSV, which gets the signed change).
export function deltaCell(cur, prev, opts = {}) {
  const d = delta(cur, prev, opts);
  const show = opts.show || (opts.rate ? fmt.pct : fmt.n);
  return h('span.delta-cell', d, d.dataset.dir === 'none' || opts.short ? null : h('small.delta-was', { 'aria-hidden': 'true' }, ' from ' + show(prev)));
}

export function siteBase(params = readHash().params) {
  return '/api/sites/' + encodeURIComponent(params.get('site') || '');
}

// ---------- formatting ----------
const nf = new Intl.NumberFormat();
export const fmt = {
  n: (x) => (x === null || x === undefined || Number.isNaN(x) ? '–' : nf.format(Math.round(x))),
  compact: (x) => (x >= 10000 ? new Intl.NumberFormat(undefined, { notation: 'compact', maximumFractionDigits: 1 }).format(x) : nf.format(Math.round(x))),
  pct: (x, digits = 1) => (x === null || x === undefined || Number.isNaN(x) ? '–' : (x * 100).toFixed(x === 0 || x === 1 ? 0 : digits) + '%'),
  dur: (secs) => {
    if (secs === null || secs === undefined || Number.isNaN(secs)) return '–';
    secs = Math.round(secs);
    if (secs < 60) return secs + 's';
    const m = Math.floor(secs / 60), s2 = secs % 60;
    if (m < 60) return m + 'm ' + String(s2).padStart(2, '0') + 's';
    return Math.floor(m / 60) + 'h ' + String(m % 60).padStart(2, '0') + 'm';
  },
  time: (ms) => new Date(ms).toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' }),
  clock: (ms) => new Date(ms).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' }),
  label: (name) => (name ? String(name).replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase()) : '(none)'),
};

// Escape a literal path for use in a regex (funnel steps, stage pages).
export function reEscape(str) { return String(str).replace(/[.*+?^${}()|[\]\\]/g, '\\$&'); }

// ---------- goals and funnel steps, as people read them ----------
// A goal or a funnel step is a regular expression over page paths, or
// event:NAME [KEY=VALUE] (a custom event), or goal:any. On screen it reads
// as what it means where that is plain: "^/thank-you\.html$" is
// "/thank-you.html", "^/cart", "^/cart.*" or "^/cart([/.?]|$)" is "/cart…"
// (starts with), a group of alternatives is each path ("^/(a|b)$" is
// "/a, /b"), "event:purchase" is "purchase (event)". Anything else (an
// unanchored pattern, classes, repeats) is shown as written. Callers keep
// the raw text in the element's title.
export function targetLabel(text) {
  const raw = String(text ?? '');
  const ev = /^event:\s*(\S.*)$/.exec(raw.trim());
  if (ev) return ev[1].trim() + ' (event)';
  if (raw.trim() === 'goal:any') return 'any goal';
  const paths = anchoredPaths(raw);
  return paths ? paths.join(', ') : raw;
}

// How a pattern may end: exactly ($, an optional trailing slash), or
// anything after it (.*, a path or extension boundary, nothing at all).
const PATH_ENDS = [
  [/\.\*\$?$/, '…'], [/\((?:\?:)?(?:\[[/.?#\\]+\]|\\?\/)\|\$\)$/, '…'], [/\((?:\?:)?\\?\/\.\*\)\?\$$/, '…'],
  [/\/\?\$$/, ''], [/(?<!\\)\$$/, ''],
];
const MAX_PATHS = 6;

// The paths a simple anchored pattern stands for, or null.
function anchoredPaths(raw) {
  if (!/^\^\\?\//.test(raw)) return null;
  let body = raw.slice(1);
  let end = '…';
  for (const [re, mark] of PATH_ENDS) {
    if (re.test(body)) { body = body.replace(re, ''); end = mark; break; }
  }
  let i = 0;
  // A sequence of literals and groups, up to `|` or `)` (the caller's).
  const seq = () => {
    let out = [''];
    while (i < body.length && body[i] !== '|' && body[i] !== ')') {
      let part;
      const c = body[i];
      if (c === '(') {
        i += body.startsWith('(?:', i) ? 3 : 1;
        part = [];
        for (;;) {
          const alt = seq();
          if (!alt) return null;
          part.push(...alt);
          if (body[i] === '|') { i++; continue; }
          if (body[i] === ')') { i++; break; }
          return null;
        }
      } else if (c === '\\') {
        const e = body[i + 1];
        if (!e || /[A-Za-z0-9]/.test(e)) return null; // \d, \w, \b…: no plain path
        part = [e]; i += 2;
      } else if (/[A-Za-z0-9/_\-~%:=&,;@!'.]/.test(c)) {
        // An unescaped dot stands for itself here: "/thank-you.html".
        if (c === '.' && /[*+?{]/.test(body[i + 1] || '')) return null;
        part = [c]; i++;
      } else return null;
      // An optional character ("thank-?you") reads with the character.
      if (body[i] === '?' && part.length === 1 && part[0].length === 1) i++;
      if (/[*+?{]/.test(body[i] || '')) return null;
      const next = [];
      for (const a of out) for (const b of part) next.push(a + b);
      if (next.length > MAX_PATHS) return null;
      out = next;
    }
    return out;
  };
  const paths = seq();
  if (!paths || i !== body.length || !paths.length) return null;
  return [...new Set(paths)].map((p) => p + end);
}

// Example sessions to watch: "▶ Watch" (the newest), "2", "3", then the
// rest behind "+7 more"; classes named after the view (`prefix`).
const SHOWN_EXAMPLES = 3;
export function watchLinks(ids, prefix) {
  if (!ids || !ids.length) return null;
  const a = (id, i) => h(`a.${prefix}-watch-n`, { href: link('session', { id }), title: 'Watch session #' + id, 'aria-label': 'Watch session #' + id, dataset: { id: String(id) } },
    i === 0 ? '▶ Watch' : String(i + 1));
  const rest = ids.slice(SHOWN_EXAMPLES);
  const more = h(`span.${prefix}-more-ids`, { hidden: true }, rest.map((id, i) => a(id, i + SHOWN_EXAMPLES)));
  const btn = rest.length ? h(`button.linklike.${prefix}-more`, {
    type: 'button', 'aria-expanded': 'false',
    on: { click: () => { more.hidden = false; btn.remove(); } },
  }, '+' + rest.length + ' more') : null;
  return h(`span.acts.${prefix}-watch`, ids.slice(0, SHOWN_EXAMPLES).map(a), more, btn);
}

// Pages and events to offer in a target's box (a <datalist>): a listener
// that asks once, when the box is first focused, for the site's events
// and its most viewed pages in the range.
export function targetSuggestions(ctx, list) {
  let asked = false;
  return () => {
    if (asked) return;
    asked = true;
    const opts = { signal: ctx.signal };
    Promise.all([
      api(ctx.base + '/exits', filterParams(ctx.params), opts).catch(() => ({ pages: [] })),
      api(ctx.base + '/events', { top: 20, ...rangeBounds(ctx.params) }, opts).catch(() => ({ events: [] })),
    ]).then(([ex, evs]) => {
      const pages = (ex.pages || []).slice().sort((a, b) => b.views - a.views).slice(0, 40);
      list.append(
        ...(evs.events || []).map((e) => h('option', { value: 'event:' + e.name }, fmt.n(e.sessions) + ' sessions')),
        ...pages.map((p) => h('option', { value: '^' + p.page }, fmt.n(p.views) + ' views')));
    }).catch(() => {});
  };
}

// Quote a value for the session search syntax if it needs it.
export function qv(v) { return /^[^\s"()]+$/.test(v) ? v : '"' + String(v).replace(/["\\]/g, '\\$&') + '"'; }

// ---------- small UI pieces ----------
export function loading(label = 'Loading…') { return h('div.loading', h('span.spinner'), label); }
export function errorBox(err, retry) {
  return h('div.error-box', { role: 'alert' },
    h('strong', 'Something went wrong'), h('pre.err-msg', err && err.message ? err.message : String(err)),
    retry ? h('button.btn', { type: 'button', on: { click: retry } }, 'Try again') : null);
}
// A settings editor a viewer may look at but not change: every control
// in it disabled and a note saying why (the server would answer 403).
export const VIEWER_NOTE = 'Viewers cannot change settings: ask an admin.';
export function lockEditor(box, noteAfter) {
  for (const c of box.querySelectorAll('input, textarea, select, button')) c.disabled = true;
  const note = h('p.readonly-note', { role: 'note' }, VIEWER_NOTE);
  if (noteAfter) noteAfter.after(note); else box.appendChild(note);
  return note;
}
export function empty(text, hint) { return h('div.empty', h('p', text), hint ? h('p.muted', hint) : null); }

// The header: the title with its note (`sub`) beside it, or under it when
// the card is narrow, then the actions (and the CSV button export.js
// adds), which so stay on the title's line.
export function card(title, body, opts = {}) {
  return h('section.card' + (opts.cls ? '.' + opts.cls : ''),
    title ? h('header.card-head', h('div.card-title', h('h2', title), opts.sub ? h('span.card-sub', opts.sub) : null), opts.actions || null) : null,
    body);
}

// A bar-list row table: [{label, value, href?, sub?}] with proportional bars.
// With `changeHead` (a comparison), each row's `delta` (deltaCell) in a
// column of its own.
export function barList(rows, { valueLabel = 'Sessions', labelHead = 'Page', fmtValue = fmt.n, max, onPick, actions, changeHead } = {}) {
  if (!rows.length) return empty('No data for this range.');
  const top = max ?? Math.max(...rows.map((r) => r.value), 1);
  return h('div.barlist', { role: 'table', class: changeHead ? 'cmp' : '' },
    h('div.barlist-head', { role: 'row' }, h('span', { role: 'columnheader' }, labelHead), h('span', { role: 'columnheader' }, valueLabel),
      changeHead ? h('span.bl-delta', { role: 'columnheader' }, changeHead) : null),
    rows.map((r) => {
      const bar = h('span.bar');
      bar.style.width = Math.max(0.5, (r.value / top) * 100) + '%';
      const labelEl = r.href ? h('a.bl-label', { href: r.href, title: r.title || r.label }, r.label)
        : onPick ? h('button.bl-label.linklike', { type: 'button', title: 'Filter by ' + r.label, on: { click: () => onPick(r) } }, r.label)
          : h('span.bl-label', { title: r.title || r.label }, r.label);
      return h('div.barlist-row', { role: 'row' }, bar,
        h('span.bl-cell', { role: 'cell' }, labelEl, actions ? actions(r) : null),
        h('span.bl-value', { role: 'cell' }, fmtValue(r.value), r.sub ? h('small', r.sub) : null),
        changeHead ? h('span.bl-delta', { role: 'cell' }, r.delta || null) : null);
    }));
}

export function table(columns, rows, { empty: emptyText = 'No data for this range.', cls } = {}) {
  if (!rows.length) return empty(emptyText);
  return h('div.table-wrap', h('table.data' + (cls ? '.' + cls : ''),
    h('thead', h('tr', columns.map((c) => h('th', { class: c.num ? 'num' : '', title: c.title }, c.label)))),
    h('tbody', rows.map((r) => h('tr', columns.map((c) => {
      const v = c.render ? c.render(r) : r[c.key];
      return h('td', { class: c.num ? 'num' : c.cls || '' }, v);
    }))))));
}

export function meter(frac, cls = '') {
  const m = h('span.meter' + (cls ? '.' + cls : ''), h('span.meter-fill'));
  m.firstChild.style.width = Math.max(0, Math.min(1, frac || 0)) * 100 + '%';
  return m;
}

export function segmented(options, current, onChange, label) {
  return h('div.segmented', { role: 'group', 'aria-label': label },
    options.map(([val, text]) => h('button', {
      type: 'button', class: val === current ? 'on' : '', 'aria-pressed': String(val === current),
      dataset: { value: val }, on: { click: () => onChange(val) },
    }, text)));
}

// Menu anchored at a point (used for Sankey node clicks).
let openMenu = null;
export function popMenu(x, y, title, items) {
  closeMenu();
  const menu = h('div.popmenu', { role: 'menu' }, title ? h('div.popmenu-title', title) : null,
    items.map((it) => it.href
      ? h('a.popmenu-item', { role: 'menuitem', href: it.href, on: { click: closeMenu } }, it.label)
      : it.content ? it.content
        : h('button.popmenu-item', { role: 'menuitem', type: 'button', on: { click: () => { closeMenu(); it.action(); } } }, it.label)));
  document.body.appendChild(menu);
  const r = menu.getBoundingClientRect();
  menu.style.left = Math.min(x, innerWidth - r.width - 8) + 'px';
  menu.style.top = Math.min(y, innerHeight - r.height - 8) + 'px';
  openMenu = menu;
  setTimeout(() => document.addEventListener('pointerdown', outside, true), 0);
  const first = menu.querySelector('.popmenu-item');
  if (first) first.focus();
  return menu;
}
function outside(e) { if (openMenu && !openMenu.contains(e.target)) closeMenu(); }
export function closeMenu() {
  if (openMenu) { openMenu.remove(); openMenu = null; }
  document.removeEventListener('pointerdown', outside, true);
}
document.addEventListener('keydown', (e) => { if (e.key === 'Escape') closeMenu(); });

// Tooltip following the pointer.
let tip = null;
export function showTip(x, y, ...content) {
  if (!tip) { tip = h('div.tooltip', { role: 'tooltip' }); document.body.appendChild(tip); }
  clear(tip);
  append(tip, content);
  tip.hidden = false;
  const r = tip.getBoundingClientRect();
  tip.style.left = Math.max(8, Math.min(x + 14, innerWidth - r.width - 8)) + 'px';
  tip.style.top = Math.max(8, Math.min(y + 14, innerHeight - r.height - 8)) + 'px';
}
export function hideTip() { if (tip) tip.hidden = true; }
