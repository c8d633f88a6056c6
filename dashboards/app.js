// trailmap dashboards: shell (sign-in, site picker, range, filters, nav)
// and a hash router that renders one view module at a time.
import {
  h, clear, auth, api, loadSession, signIn, signOut, isShare, isAdmin, SHARE_GONE, readHash, hashFor, link, setParams,
  RANGES, DEFAULT_RANGE, revokeImages, closeMenu, hideTip, errorBox, loading, fmt, siteBase, rangeBounds, COMPARES, compareMode,
} from './js/core.js';
import * as overview from './js/overview.js';
import * as journeys from './js/journeys.js';
import * as transitions from './js/transitions.js';
import * as funnels from './js/funnels.js';
import * as stages from './js/stages.js';
import * as friction from './js/friction.js';
import * as conversions from './js/conversions.js';
import * as contrast from './js/contrast.js';
import * as why from './js/why.js';
import * as conformance from './js/conformance.js';
import * as changes from './js/changes.js';
import * as heatmaps from './js/heatmaps.js';
import * as sessions from './js/sessions.js';
import * as team from './js/team.js';
import { addCsvButtons } from './js/export.js';
import * as realtime from './js/realtime.js';
import * as sitesView from './js/sites.js';

// `compare`: the view shows its figures against an earlier range when asked
// (the toolbar's Compare control).
const VIEWS = [
  { group: 'Traffic' },
  { id: 'overview', label: 'Overview', mod: overview, compare: true, icon: 'M3 13h4v8H3zM10 8h4v13h-4zM17 3h4v18h-4z' },
  // Always the last few minutes: the date range and filters do not apply.
  { id: 'realtime', label: 'Now', mod: realtime, noToolbar: true, icon: 'M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18zM12 7v5l3 2' },
  { group: 'Behaviour' },
  { id: 'journeys', label: 'Journeys', mod: journeys, icon: 'M3 6c8 0 8 12 18 12M3 18c8 0 8-12 18-12' },
  { id: 'transitions', label: 'Transitions', mod: transitions, compare: true, icon: 'M4 12h16M14 6l6 6-6 6M4 6v12' },
  { id: 'heatmaps', label: 'Heatmaps', mod: heatmaps, icon: 'M12 3a9 9 0 1 0 0 18 9 9 0 0 0 0-18zm0 5a4 4 0 1 0 0 8 4 4 0 0 0 0-8z' },
  { id: 'sessions', label: 'Sessions', mod: sessions, icon: 'M4 5h16M4 12h16M4 19h10', aliases: ['session'] },
  { group: 'Conversion' },
  { id: 'funnels', label: 'Funnels', mod: funnels, icon: 'M3 4h18l-7 8v7l-4 2v-9z' },
  { id: 'stages', label: 'Stages', mod: stages, compare: true, icon: 'M3 20h4v-6H3zM10 20h4V9h-4zM17 20h4V4h-4z' },
  { id: 'conversions', label: 'Conversions', mod: conversions, compare: true, icon: 'M5 21V4M5 4h12l-2.5 4L17 12H5' },
  { id: 'contrast', label: 'Contrast', mod: contrast, icon: 'M12 3v18M8 21h8M5 7h14M5 7l-3 7a3 3 0 0 0 6 0zM19 7l-3 7a3 3 0 0 0 6 0z' },
  { id: 'why', label: 'Why they left', mod: why, icon: 'M13 3h6v18h-6M15 12H4M8 8l-4 4 4 4' },
  { id: 'conformance', label: 'Expected journey', mod: conformance, icon: 'M3 6a2 2 0 1 0 4 0a2 2 0 1 0-4 0M17 18a2 2 0 1 0 4 0a2 2 0 1 0-4 0M7 6h6a3 3 0 0 1 0 6h-2a3 3 0 0 0 0 6h6' },
  { id: 'changes', label: 'What changed', mod: changes, icon: 'M4 4h10l6 6v10H4zM14 4v6h6M8 14h8M8 17h5' },
  { id: 'friction', label: 'Friction', mod: friction, compare: true, icon: 'M12 3l10 18H2zM12 10v5M12 18v.5', aliases: ['frustration', 'moments'] },
  // Admins only; about people and links, not traffic: no range or filters.
  { group: 'Admin', admin: true },
  { id: 'team', label: 'Team', mod: team, admin: true, noToolbar: true, icon: 'M9 11a4 4 0 1 0 0-8 4 4 0 0 0 0 8zM2 21c0-4 3-7 7-7s7 3 7 7M16 3.5a4 4 0 0 1 0 7.5M18 14c2.5.8 4 3.3 4 7' },
  // Adding sites is for admins of every site (the server says 403 to others).
  { id: 'sites', label: 'Sites', mod: sitesView, admin: true, allSites: true, noToolbar: true, icon: 'M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18zM3 12h18M12 3c2.5 2.7 3.8 5.7 3.8 9s-1.3 6.3-3.8 9c-2.5-2.7-3.8-5.7-3.8-9S9.5 5.7 12 3z' },
];
const byId = new Map();
for (const v of VIEWS) if (v.id) { byId.set(v.id, v); for (const a of v.aliases || []) byId.set(a, v); }

const $ = (id) => document.getElementById(id);
let sites = null;
let renderSeq = 0;
let csvWatch = null;
let currentAbort = null;
let filterOptions = { key: '', channels: [], devices: [], countries: [], referrers: [] };

// ---------- sign-in ----------
// A share link, once opened, leaves this tab marked (a flag, no secret),
// so that when the link stops working a reload can say why instead of
// showing a bare sign-in form to someone who never had an account.
const SHARED_FLAG = 'trailmap_shared';
const flag = {
  get() { try { return sessionStorage.getItem(SHARED_FLAG) === '1'; } catch { return false; } },
  set(on) { try { if (on) sessionStorage.setItem(SHARED_FLAG, '1'); else sessionStorage.removeItem(SHARED_FLAG); } catch { /* private mode */ } },
};

function showSignIn(message) {
  $('app').hidden = true;
  $('signin').hidden = false;
  const err = $('signin-error');
  err.hidden = !message;
  err.textContent = message || '';
  $('signin-name').focus();
}

auth.onExpired = (msg) => { sites = null; filterOptions.key = ''; showSignIn(msg || ''); };

// One form, two ways in: name + password, or an API token (the server's or
// a user's). A token typed in wins; the server answers with the session
// JSON and sets the HttpOnly cookie, so nothing is kept here.
$('signin-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const name = $('signin-name').value.trim();
  const password = $('signin-password').value;
  const token = $('signin-token').value.trim();
  const btn = $('signin-submit');
  const err = $('signin-error');
  if (!token && !(name && password)) {
    err.hidden = false;
    err.textContent = name ? 'Enter your password.' : 'Enter your name and password, or an API token.';
    (name ? $('signin-password') : $('signin-name')).focus();
    return;
  }
  btn.disabled = true;
  btn.textContent = 'Signing in…';
  try {
    await signIn(token ? { token } : { name, password });
    flag.set(false);
    sites = null;
    filterOptions.key = '';
    $('signin-password').value = '';
    $('signin-token').value = '';
    err.hidden = true;
    start();
  } catch (ex) {
    err.hidden = false;
    // The server's own words (wrong name or password, token not accepted,
    // too many attempts), capitalised as a sentence.
    const msg = ex.message || 'Sign-in failed';
    err.textContent = msg.charAt(0).toUpperCase() + msg.slice(1) + (/[.!?]$/.test(msg) ? '' : '.');
  } finally {
    btn.disabled = false;
    btn.textContent = 'Sign in';
  }
});

$('signout-btn').addEventListener('click', async () => {
  const btn = $('signout-btn');
  btn.disabled = true;
  try { await signOut(); } catch { /* the page forgets the session anyway */ } finally { btn.disabled = false; }
  sites = null;
  showSignIn('You are signed out.');
});

const shareLabel = [...$('share-btn').childNodes];
$('share-btn').addEventListener('click', async () => {
  const btn = $('share-btn');
  try { await navigator.clipboard.writeText(location.href); btn.textContent = 'Copied'; } catch {
    window.prompt('Copy this link', location.href);
  }
  setTimeout(() => { btn.replaceChildren(...shareLabel); }, 1600);
});

// Who is signed in, in the top bar; a share link gets a badge instead of
// "Sign out" (there is nothing to sign out of) and no "Copy link" (the
// dashboard URL would not open for anyone else).
function renderWho() {
  const s = auth.session;
  const share = isShare(s);
  const who = $('whoami');
  clear(who);
  who.hidden = share;
  if (!share) {
    const label = s.name || 'API token';
    who.append(h('span.who-name', label), h('span.who-role', s.role + (s.name && s.kind === 'token' ? ' · token' : '')));
    who.title = 'Signed in as ' + label + ' (' + s.role + (s.sites ? ', sites: ' + s.sites.join(', ') : ', all sites') + ')';
  }
  $('signout-btn').hidden = share;
  $('share-btn').hidden = share;
  const badge = $('shared-badge');
  badge.hidden = !share;
  if (share) {
    const sh = s.share || {};
    badge.title = 'A read-only link to ' + (sh.site || 'one site')
      + (sh.view ? ', ' + sh.view + ' only' : '')
      + (sh.expires ? ', until ' + fmt.time(Date.parse(sh.expires)) : '');
  }
}

// ---------- boot ----------
// The cookie decides: GET /api/session answers 200 with the session (a
// signed-in user, or a share link just opened) or 401 (sign in).
// The first question may meet a server that is starting or busy (a
// restart, a 503): asked again a few times before the error is shown.
const BOOT_TRIES = 5;
async function askSession() {
  for (let i = 1; ; i++) {
    try { return await loadSession(); } catch (e) {
      if (i >= BOOT_TRIES || e.name === 'AbortError') throw e;
      await new Promise((r) => setTimeout(r, 400 * i));
    }
  }
}

async function start() {
  if (!auth.session) {
    let s;
    try { s = await askSession(); } catch (e) {
      $('signin').hidden = true; $('app').hidden = false;
      clear($('view')).appendChild(errorBox(e, start));
      return;
    }
    if (!s) {
      showSignIn(flag.get() ? SHARE_GONE : '');
      return;
    }
  }
  flag.set(isShare());
  if (!sites) {
    try { sites = await fetchSites(); } catch (e) {
      if (e.status === 401) return;
      $('signin').hidden = true; $('app').hidden = false;
      clear($('view')).appendChild(errorBox(e, start));
      return;
    }
  }
  renderWho();
  $('signin').hidden = true;
  $('app').hidden = false;
  route();
}

window.addEventListener('hashchange', () => { if (auth.session && sites) route(); });

// The server lists only the sites this session may see; a share link is
// about one site whatever else it lists.
async function fetchSites() {
  const list = (await api('/api/sites')).sites || [];
  const only = isShare() && auth.session.share && auth.session.share.site;
  return only ? list.filter((x) => x.name === only) : list;
}

// After a site is added (Sites view): the new list in the site picker at
// once, no reload. Resolves to the list.
async function refreshSites() {
  const list = await fetchSites();
  sites = list;
  renderSitePicker(readHash().params.get('site'));
  return list;
}

// The views this session may open: the Team view for admins only, the
// Sites view for admins of every site; a share link limited to one view
// gets just that one.
function allowed(v) {
  if (v.admin && !isAdmin()) return false;
  if (v.allSites && auth.session.sites !== null) return false;
  const only = isShare() && auth.session.share && auth.session.share.view;
  if (only && v.id && v.id !== only) return false;
  if (only && v.group) return false;
  return true;
}
function homeView() {
  const only = isShare() && auth.session.share && auth.session.share.view;
  return only && byId.get(only) ? only : 'overview';
}

function route() {
  closeMenu();
  hideTip();
  const { route: r, params } = readHash();
  const view = byId.get(r);
  if (!view || !allowed(view)) { location.replace(hashFor(homeView(), params)); return; }
  // Default site and range go into the URL so it is always shareable.
  const names = sites.map((x) => x.name);
  let fix = false;
  if (names.length && !names.includes(params.get('site'))) { params.set('site', names[0]); fix = true; }
  if (!params.get('range')) { params.set('range', DEFAULT_RANGE); fix = true; }
  if (fix) { history.replaceState(null, '', hashFor(r, params)); }

  renderNav(view.id);
  renderSitePicker(params.get('site'));
  const bar = $('toolbar');
  bar.hidden = !!view.noToolbar;
  if (view.noToolbar) clear(bar); else renderToolbar(params, view);
  const el = $('view');
  // With no site at all only the Sites view has something to do (add one).
  if (!names.length && view.id !== 'sites') {
    const sitesOk = allowed(byId.get('sites'));
    clear(el).appendChild(h('div.empty.big', h('h2', 'No sites yet'),
      sitesOk
        ? h('p', h('a', { href: hashFor('sites', {}) }, 'Add a site'), ', install the tracker on it, and its visits appear here.')
        : h('p', 'Add a site with the trailmap CLI, install the tracker on it, and its visits appear here.')));
    return;
  }
  if (currentAbort) currentAbort.abort();
  currentAbort = new AbortController();
  revokeImages();
  const seq = ++renderSeq;
  clear(el);
  el.dataset.view = view.id;
  document.title = view.label + (params.get('site') ? ' · ' + params.get('site') : '') + ' · trailmap';
  const ctx = {
    route: r, params, site: params.get('site'), base: siteBase(params),
    signal: currentAbort.signal, isCurrent: () => seq === renderSeq,
    siteInfo: sites.find((x) => x.name === params.get('site')),
    session: auth.session, sites, refreshSites,
  };
  // Tables may appear after the view's first paint (loaded parts): the
  // CSV buttons follow them.
  if (csvWatch) csvWatch.disconnect();
  csvWatch = new MutationObserver(() => addCsvButtons(el, view.id));
  csvWatch.observe(el, { childList: true, subtree: true });
  Promise.resolve(view.mod.render(el, ctx)).catch((e) => {
    if (e && (e.name === 'AbortError' || e.status === 401)) return;
    if (seq !== renderSeq) return;
    console.warn(e);
    clear(el).appendChild(errorBox(e, route));
  });
}

function renderNav(active) {
  const nav = clear($('sidenav'));
  const shown = VIEWS.filter(allowed);
  shown.forEach((v, i) => {
    if (v.group) {
      // A group heading only above views of its own.
      if (shown[i + 1] && !shown[i + 1].group) nav.appendChild(h('div.nav-group', v.group));
      return;
    }
    const icon = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
    icon.setAttribute('viewBox', '0 0 24 24');
    icon.setAttribute('aria-hidden', 'true');
    const p = document.createElementNS('http://www.w3.org/2000/svg', 'path');
    p.setAttribute('d', v.icon);
    icon.appendChild(p);
    nav.appendChild(h('a.nav-item', {
      href: link(v.id), class: v.id === active ? 'active' : '', 'aria-current': v.id === active ? 'page' : null,
      dataset: { nav: v.id },
    }, icon, h('span', v.label)));
  });
}

function renderSitePicker(current) {
  const sel = $('site-select');
  clear(sel);
  for (const x of sites) sel.appendChild(h('option', { value: x.name, selected: x.name === current }, x.name));
  // Nothing to pick from one site (always so for a share link).
  sel.disabled = sites.length < 2;
  sel.onchange = () => {
    const { route: r, params } = readHash();
    const keep = new URLSearchParams();
    keep.set('site', sel.value);
    for (const k of ['range', 'from', 'to', 'compare', 'minutes']) if (params.get(k)) keep.set(k, params.get(k));
    location.hash = hashFor(r === 'session' ? 'sessions' : r, keep);
  };
}

// ---------- toolbar: range + filters ----------
function renderToolbar(params, view) {
  const bar = clear($('toolbar'));
  const range = params.get('range') || DEFAULT_RANGE;
  const rangeSel = h('select#range-select', { 'aria-label': 'Date range' },
    RANGES.map(([v, l]) => h('option', { value: v, selected: v === range }, l)));
  rangeSel.addEventListener('change', () => {
    if (rangeSel.value === 'custom') {
      const today = new Date();
      const iso = (d) => d.getFullYear() + '-' + String(d.getMonth() + 1).padStart(2, '0') + '-' + String(d.getDate()).padStart(2, '0');
      const weekAgo = new Date(Date.now() - 6 * 86400000);
      setParams({ range: 'custom', from: params.get('from') || iso(weekAgo), to: params.get('to') || iso(today), offset: null, cursor: null });
    } else setParams({ range: rangeSel.value, from: null, to: null, offset: null, cursor: null });
  });
  const rangeBox = h('div.tb-range', rangeSel);
  if (range === 'custom') {
    const f = h('input#range-from', { type: 'date', value: params.get('from') || '', 'aria-label': 'From date' });
    const t = h('input#range-to', { type: 'date', value: params.get('to') || '', 'aria-label': 'To date (inclusive)' });
    const apply = () => setParams({ from: f.value, to: t.value, offset: null, cursor: null });
    f.addEventListener('change', apply);
    t.addEventListener('change', apply);
    rangeBox.append(f, h('span.muted', '–'), t);
  }
  // Compare with the same span just before, or a year earlier: kept in
  // the URL (and across views) like the range; only the views with
  // figures to compare show it, and over a range without a start (all
  // time) it is off, saying why.
  if (view.compare) {
    const asked = COMPARES.some(([v]) => v && v === params.get('compare')) ? params.get('compare') : '';
    const open = !!compareMode(new URLSearchParams({ range, from: params.get('from') || '', compare: 'previous' }));
    const cmpSel = h('select#compare-select', {
      'aria-label': 'Compare with', class: asked && open ? 'set' : '', disabled: !open,
      title: open ? 'Show the figures against an earlier range' : 'Comparing needs a range with a start: pick one other than ' + (range === 'all' ? 'All time' : 'this one'),
    }, COMPARES.map(([v, l]) => h('option', { value: v, selected: open ? v === asked : v === '' }, l)));
    cmpSel.addEventListener('change', () => setParams({ compare: cmpSel.value || null }));
    rangeBox.appendChild(h('label.tb-compare', { title: cmpSel.title }, h('span.tb-compare-label', 'Compare'), cmpSel));
  }
  bar.appendChild(rangeBox);

  const fbox = h('div.tb-filters');
  const active = ['channel', 'device', 'country', 'referrer'].filter((k) => params.get(k));
  const mkSelect = (key, label, opts) => {
    const cur = params.get(key) || '';
    const values = opts.slice();
    if (cur && !values.includes(cur)) values.unshift(cur);
    const sel = h('select.filter', { 'aria-label': label, class: cur ? 'set' : '', dataset: { filter: key } },
      h('option', { value: '' }, 'Any ' + label.toLowerCase()),
      values.map((v) => h('option', { value: v, selected: v === cur }, key === 'channel' ? fmt.label(v) : v)));
    sel.addEventListener('change', () => setParams({ [key]: sel.value, offset: null, cursor: null }));
    return sel;
  };
  fbox.appendChild(mkSelect('channel', 'Channel', filterOptions.channels));
  fbox.appendChild(mkSelect('device', 'Device', filterOptions.devices.length ? filterOptions.devices : ['desktop', 'mobile', 'tablet']));
  fbox.appendChild(mkSelect('country', 'Country', filterOptions.countries));
  const ref = h('input.filter#filter-referrer', {
    type: 'search', placeholder: 'Referrer domain', value: params.get('referrer') || '', list: 'referrer-options',
    'aria-label': 'Referrer domain', class: params.get('referrer') ? 'set' : '', dataset: { filter: 'referrer' },
  });
  const dl = h('datalist#referrer-options', filterOptions.referrers.map((r) => h('option', { value: r })));
  ref.addEventListener('change', () => setParams({ referrer: ref.value.trim(), offset: null, cursor: null }));
  fbox.append(ref, dl);
  if (active.length || params.get('bots') === '1') {
    fbox.appendChild(h('button.btn.btn-ghost.btn-sm#clear-filters', {
      type: 'button', on: { click: () => setParams({ channel: null, device: null, country: null, referrer: null, bots: null, offset: null, cursor: null }) },
    }, 'Clear filters'));
  }
  const bots = h('label.tb-check', h('input', {
    type: 'checkbox', checked: params.get('bots') === '1',
    on: { change: (e) => setParams({ bots: e.target.checked ? '1' : null }) },
  }), 'Include bots');
  fbox.appendChild(bots);
  bar.appendChild(fbox);
  loadFilterOptions(params);
}

// Options for the filter selects come from the unfiltered overview for
// the selected site and range (and referrers from recent sessions).
async function loadFilterOptions(params) {
  if (!params.get('site')) return; // no site yet: nothing to ask about
  const key = params.get('site') + '|' + (params.get('range') || '') + '|' + (params.get('from') || '') + '|' + (params.get('to') || '');
  if (filterOptions.key === key) return;
  filterOptions.key = key;
  try {
    const base = siteBase(params);
    const range = rangeBounds(params);
    const [ov, ss] = await Promise.all([
      api(base + '/overview', { top: 50, ...range }),
      api(base + '/sessions', { limit: 200, ...range }).catch(() => ({ sessions: [] })),
    ]);
    if (filterOptions.key !== key) return;
    const refs = new Map();
    for (const x of ss.sessions || []) if (x.referrer_domain) refs.set(x.referrer_domain, (refs.get(x.referrer_domain) || 0) + 1);
    filterOptions = {
      key,
      channels: (ov.channels || []).map((c) => c.name).filter(Boolean),
      devices: (ov.devices || []).map((c) => c.name).filter(Boolean),
      countries: (ov.countries || []).map((c) => c.name).filter(Boolean),
      referrers: [...refs.entries()].sort((a, b) => b[1] - a[1]).map((e) => e[0]),
    };
    const { route: r, params: p } = readHash();
    const view = byId.get(r);
    if (view && !view.noToolbar && auth.session) renderToolbar(p, view);
  } catch { /* options are a nicety */ filterOptions.key = ''; }
}

start();
