// Funnels: define steps (page patterns or custom events) on the page, see
// conversion per step, the time between steps, a breakdown per segment,
// the sessions that dropped off at a step, the server chart; save a
// definition under a name for the site.
// Step patterns, names, event names, segments and saved names come from
// visitors or people: rendered as text (h()) only.
import {
  h, api, apiSend, apiImage, clear, fmt, card, link, setParams, readHash, hashFor, filterParams, rangeBounds,
  empty, loading, errorBox, reEscape, qv, canWrite, targetLabel,
} from './core.js';
import { BREAKDOWNS } from './conversions.js';
import { sessionTable } from './sessions.js';

const DEFAULT_WINDOW = 60;
export const DROP_PAGE = 50;
const BY = new Set(BREAKDOWNS.map(([v]) => v));
const FILTERS = new Set(['channel', 'device', 'country', 'referrer']);
const quiet = (e) => e && (e.name === 'AbortError' || e.status === 401);
// "Saved …", said again once the view shows the funnel just saved.
let flash = '';

// ---------- the definition ----------
// {steps: [{step, name, optional, within}], window, strict}: what a funnel
// is, apart from the range, the filters and what is shown of it. It
// travels in three forms: the view's URL (step=, name=, window=, strict=1,
// optional=N, step_window=N:M), the API's query string (step=, name=,
// window_minutes=, strict=true, optional=N, step_window=N:M), which is
// also what a saved funnel keeps, and the editor's rows.
const posInt = (v) => { const n = parseInt(v, 10); return Number.isFinite(n) && n > 0 && String(n) === String(v).trim() ? n : 0; };

function defFrom(p, windowKey) {
  const names = p.getAll('name');
  const opt = new Set(p.getAll('optional').map(posInt));
  const within = new Map();
  for (const x of p.getAll('step_window')) {
    const m = /^(\d+):(.+)$/.exec(x.trim());
    if (m) within.set(+m[1], m[2]);
  }
  const steps = p.getAll('step').map((step, i) => ({
    step, name: names[i] && names[i] !== step ? names[i] : '', optional: opt.has(i + 1), within: within.has(i + 1) ? within.get(i + 1) : null,
  })).filter((x) => x.step !== '');
  const w = posInt(p.get(windowKey));
  const strict = ['1', 'true'].includes(p.get('strict'));
  return tidy({ steps, window: w || DEFAULT_WINDOW, strict });
}
// Only the middle steps may be optional; the first has no step before it.
function tidy(def) {
  const n = def.steps.length;
  const set = (v) => v !== null && v !== undefined && String(v).trim() !== '';
  def.steps = def.steps.map((x, i) => ({ ...x, optional: !!x.optional && i > 0 && i < n - 1, within: i > 0 && set(x.within) ? String(x.within).trim() : null }));
  return def;
}
const defFromHash = (p) => defFrom(p, 'window');
export const defFromQuery = (str) => defFrom(new URLSearchParams(String(str || '').replace(/^[?#]+/, '')), 'window_minutes');

// The API's query string of a definition (only the definition: no range,
// filters, breakdown or paging).
export function defQuery(def) {
  const q = new URLSearchParams();
  for (const x of def.steps) q.append('step', x.step);
  if (def.steps.some((x) => x.name)) for (const x of def.steps) q.append('name', x.name || '');
  if (def.window !== DEFAULT_WINDOW) q.set('window_minutes', String(def.window));
  if (def.strict) q.set('strict', 'true');
  def.steps.forEach((x, i) => { if (x.optional) q.append('optional', String(i + 1)); });
  def.steps.forEach((x, i) => { if (x.within !== null) q.append('step_window', (i + 1) + ':' + x.within); });
  return q.toString();
}
// The view's URL keys of a definition (for setParams / link).
function defHash(def) {
  return {
    step: def.steps.map((x) => x.step),
    // An unnamed step is named by its pattern here: the URL drops empty
    // values, and the names must stay aligned with the steps.
    name: def.steps.some((x) => x.name) ? def.steps.map((x) => x.name || x.step) : null,
    window: def.window === DEFAULT_WINDOW ? null : def.window,
    strict: def.strict ? '1' : null,
    optional: def.steps.map((x, i) => (x.optional ? String(i + 1) : null)).filter(Boolean),
    step_window: def.steps.map((x, i) => (x.within !== null ? (i + 1) + ':' + x.within : null)).filter(Boolean),
  };
}
const sameDef = (a, b) => defQuery(a) === defQuery(b);
// A definition from anywhere (a session URL) reduced to the definition.
export const definitionOnly = (str) => defQuery(defFromQuery(str));
// The Funnels view showing a definition (API query string), with extras.
export function funnelLink(query, extra = {}) { return link('funnels', { ...defHash(defFromQuery(query)), ...extra }); }

// The view's own choices in the URL without rendering the view again.
function keepParams(changes) {
  const { route, params } = readHash();
  for (const [k, v] of Object.entries(changes)) { if (v === null || v === undefined || v === '') params.delete(k); else params.set(k, v); }
  history.replaceState(null, '', hashFor(route, params));
}

// Time between steps: 40 s, 2.5 min, 1.2 h.
export function fmtGap(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return '–';
  const one = (x) => (x < 10 ? String(Math.round(x * 10) / 10) : String(Math.round(x)));
  const s = ms / 1000;
  if (s < 60) return one(s) + ' s';
  const m = s / 60;
  if (m < 60) return one(m) + ' min';
  return one(m / 60) + ' h';
}

// A step by its name, else as its pattern reads (targetLabel).
const stepLabel = (st) => (st.name && st.name !== st.step ? st.name : targetLabel(st.step));

// ---------- render ----------
export async function render(el, ctx) {
  const p = ctx.params;
  let def = defFromHash(p);
  const by = BY.has(p.get('breakdown')) ? p.get('breakdown') : '';
  el.appendChild(h('div.view-head', h('h1', 'Funnels'),
    h('p.muted', 'Steps are page patterns or custom events, in order. A session converts when it reaches each step in turn within the time window.')));

  const none = !def.steps.length;
  const opts = { signal: ctx.signal };
  const [exits, paths, settings, events, saved] = await Promise.all([
    api(ctx.base + '/exits', filterParams(p), opts).catch(() => ({ pages: [] })),
    none ? api(ctx.base + '/paths', { steps: 5, top: 1, ...filterParams(p) }, opts).catch(() => null) : null,
    none ? api(ctx.base + '/stages/settings', null, opts).catch(() => null) : null,
    // Event names for the step suggestions: the range, not the filters.
    api(ctx.base + '/events', { top: 1, ...rangeBounds(p) }, opts).catch(() => ({ events: [] })),
    api(ctx.base + '/funnels', null, opts).catch(() => null),
  ]);
  if (!ctx.isCurrent()) return;
  let suggested = false;
  if (none) {
    // A funnel is about converting: suggest the most common path into the
    // most viewed goal page (the site's goal patterns), else the most
    // common path.
    // Only page goals: an event goal (`event:NAME`) is no page pattern.
    const goals = ((settings && settings.goals) || []).filter((g) => !g.startsWith('event:'))
      .map((g) => { try { return new RegExp(g); } catch (e) { return null; } }).filter(Boolean);
    const goal = (exits.pages || []).filter((x) => goals.some((re) => re.test(x.page))).sort((a, b) => b.views - a.views)[0];
    const toGoal = goal ? await api(ctx.base + '/paths', { steps: 5, top: 1, end: goal.page, ...filterParams(p) }, opts).catch(() => null) : null;
    if (!ctx.isCurrent()) return;
    const intoGoal = toGoal && toGoal.paths && toGoal.paths[0];
    const top = intoGoal && intoGoal.pages.length >= 2 ? intoGoal : paths && paths.paths && paths.paths[0];
    suggested = !!(top && top.pages.length >= 2);
    const pats = suggested ? top.pages.map((x) => '^' + reEscape(x) + '$') : ['', ''];
    def = { ...def, steps: pats.map((step) => ({ step, name: '', optional: false, within: null })) };
  }
  const pages = (exits.pages || []).slice().sort((a, b) => b.views - a.views);
  const eventNames = [...new Set(((events && events.events) || []).map((e) => e.name).filter((n) => n && !n.startsWith('$')))];

  // ---- editor ----
  const list = h('ol.funnel-editor#funnel-editor');
  const dl = h('datalist#funnel-pages',
    eventNames.map((n) => h('option', { value: 'event:' + n }, 'custom event')),
    pages.slice(0, 300).map((x) => h('option', { value: '^' + reEscape(x.page) + '$' }, x.page)));
  const draft = def.steps.map((x) => ({ ...x }));
  const blank = () => ({ step: '', name: '', optional: false, within: null });
  const paint = () => {
    clear(list);
    const last = draft.length - 1;
    draft.forEach((r, i) => {
      if (i === 0) { r.optional = false; r.within = null; }
      if (i === last) r.optional = false;
      const inp = h('input.mono.step-input', { type: 'text', value: r.step, list: 'funnel-pages', placeholder: i === 0 ? 'e.g. ^/$ or /product/' : 'e.g. ^/cart or event:add_to_cart', 'aria-label': 'Step ' + (i + 1), spellcheck: 'false', autocomplete: 'off' });
      inp.addEventListener('input', () => { r.step = inp.value; });
      inp.addEventListener('keydown', (e) => { if (e.key === 'Enter') run(); });
      const nameIn = h('input.step-name', { type: 'text', value: r.name || '', maxlength: 60, placeholder: 'Name (optional)', 'aria-label': 'Name of step ' + (i + 1) });
      nameIn.addEventListener('input', () => { r.name = nameIn.value; });
      nameIn.addEventListener('keydown', (e) => { if (e.key === 'Enter') run(); });
      const mv = (d) => () => { const j = i + d; if (j < 0 || j >= draft.length) return; [draft[i], draft[j]] = [draft[j], draft[i]]; paint(); };
      // Per step: may be skipped (not the first or last), and a time limit
      // from the step before (not the first).
      const more = i === 0 ? null : h('div.fe-more',
        i < last ? h('label.tb-check.fe-opt', { title: 'Sessions may skip this step and still convert' },
          h('input.step-optional', { type: 'checkbox', checked: r.optional, 'aria-label': 'Step ' + (i + 1) + ' is optional', on: { change: (e) => { r.optional = e.target.checked; } } }),
          'Optional step') : null,
        h('label.tb-check.fe-within', 'Within',
          h('input.step-within', {
            type: 'number', min: 1, step: 1, value: r.within || '', placeholder: 'any', 'aria-label': 'Step ' + (i + 1) + ' within minutes of the step before',
            on: { input: (e) => { r.within = e.target.value === '' ? null : e.target.value; }, keydown: (e) => { if (e.key === 'Enter') run(); } },
          }),
          'min of the step before'));
      list.appendChild(h('li.fe-row', { dataset: { optional: r.optional ? '1' : '0' } }, h('span.fe-n', String(i + 1)), nameIn, inp,
        h('button.icon-btn', { type: 'button', 'aria-label': 'Move step up', disabled: i === 0, on: { click: mv(-1) } }, '↑'),
        h('button.icon-btn', { type: 'button', 'aria-label': 'Move step down', disabled: i === last, on: { click: mv(1) } }, '↓'),
        h('button.icon-btn.danger', { type: 'button', 'aria-label': 'Remove step', disabled: draft.length <= 2, on: { click: () => { draft.splice(i, 1); paint(); } } }, '✕'),
        more));
    });
  };
  paint();
  const winIn = h('input#funnel-window', { type: 'number', min: 1, value: def.window, 'aria-label': 'Window in minutes' });
  const strictIn = h('input#funnel-strict', { type: 'checkbox', checked: def.strict });
  // The editor's definition; a within that is no whole number is sent as
  // typed, for the server to say what is wrong with it.
  const draftDef = () => tidy({
    steps: draft.map((r) => ({ ...r, step: r.step.trim(), name: (r.name || '').trim() })).filter((r) => r.step),
    window: Math.max(1, Math.round(+winIn.value) || DEFAULT_WINDOW),
    strict: strictIn.checked,
  });
  const run = () => {
    const d = draftDef();
    setParams({ ...defHash(d), dropped: null, doffset: null });
  };

  const stepsCard = card('Steps', h('div',
    suggested ? h('p.notice', 'Suggested from your most common path. Edit the steps and press "Show funnel".') : null,
    savedBar(ctx, saved, none ? null : def, draftDef),
    list, dl,
    h('p.muted.small.fe-hint#funnel-hint', 'A step is a regular expression over page paths (', h('code', '^/cart'), '), or a custom event: ',
      h('code', 'event:NAME'), ', or ', h('code', 'event:NAME KEY=VALUE'), ' for one property value',
      eventNames.length ? h('span', ' (this site sends ', eventNames.slice(0, 4).map((n, i) => [i ? ', ' : '', h('code', n)]), eventNames.length > 4 ? ', …' : '', ')') : null,
      '; ', h('code', 'goal:any'), ' is any of the site\u2019s goals (Stages settings)',
      '. Optional steps may be skipped; a step can be limited to some minutes after the step before.'),
    h('div.row-actions',
      h('button.btn#funnel-add', { type: 'button', on: { click: () => { draft.push(blank()); paint(); list.lastChild.querySelector('.step-input').focus(); } } }, '+ Add step'),
      h('label.ctl', h('span', 'Within'), winIn, h('span', 'minutes')),
      h('label.tb-check', strictIn, 'Strict order (no other pages between steps)'),
      h('span.topbar-spacer'),
      h('button.btn.btn-primary#funnel-run', { type: 'button', on: { click: run } }, 'Show funnel'))), { cls: 'funnel-card' });
  el.appendChild(stepsCard);

  const results = h('div#funnel-results', loading());
  el.appendChild(results);
  if (def.steps.length < 2) { clear(results).appendChild(card(null, empty('Define at least two steps.'))); return; }
  const dq = defQuery(def);
  const path = ctx.base + '/funnel?' + dq;
  const f = filterParams(p);
  let data;
  try {
    data = await api(path, { ...f, breakdown: by || null }, opts);
  } catch (e) {
    if (e.status === 400) { clear(results).appendChild(stepError(e, list, def.steps.map((x) => x.step))); return; }
    throw e;
  }
  if (!ctx.isCurrent()) return;
  clear(results);
  const steps = data.steps || [];
  const first = steps[0] ? steps[0].sessions : 0;
  const last = steps.length ? steps[steps.length - 1].sessions : 0;
  results.appendChild(h('div.kpis',
    h('div.kpi', h('div.kpi-label', 'Entered funnel'), h('div.kpi-value', fmt.n(first))),
    h('div.kpi', h('div.kpi-label', 'Converted'), h('div.kpi-value', fmt.n(last))),
    h('div.kpi', { dataset: { kpi: 'overall' } }, h('div.kpi-label', 'Overall conversion'), h('div.kpi-value', fmt.pct(data.overall_conversion))),
    h('div.kpi', h('div.kpi-label', 'Window'), h('div.kpi-value', fmt.dur(data.window_ms / 1000)), h('div.kpi-sub', data.strict ? 'strict order' : 'other pages allowed between steps'))));

  // The drop-off lists and the breakdown are asked for on their own (the
  // funnel again with dropped_at / breakdown), their state kept in the URL.
  const viewKeep = { breakdown: by || null };
  // Cards shown only when asked for sit in slots (out of the page, not
  // just hidden, when closed).
  const show = (slot, cardEl, on) => { if (on) { if (cardEl.parentNode !== slot) slot.replaceChildren(cardEl); } else clear(slot); };
  const groupsSlot = h('div.card-slot#funnel-groups-slot');
  const dropSlot = h('div.card-slot#funnel-dropped-slot');
  const dropBox = h('div', loading());
  const dropTitle = h('h2', 'Dropped off');
  const dropCount = h('span.card-sub#funnel-dropped-count');
  // The title and its count as one piece (as core.js card() has them): the
  // buttons stay on the title's line.
  const dropCard = h('section.card#funnel-dropped', h('header.card-head', h('div.card-title', dropTitle, dropCount),
    h('button.btn.btn-ghost.btn-sm#dropped-close', { type: 'button', on: { click: () => { keepParams({ dropped: null, doffset: null }); show(dropSlot, dropCard, false); markDrop(0); } } }, 'Close')), dropBox);
  const markDrop = (n) => { for (const a of results.querySelectorAll('a.drop-link')) a.classList.toggle('on', +a.dataset.step === n); };
  let dropSeq = 0;
  const loadDropped = async (n, offset, scroll) => {
    const my = ++dropSeq;
    keepParams({ dropped: n, doffset: offset || null });
    markDrop(n);
    show(dropSlot, dropCard, true);
    const st = steps[n - 1] || {};
    dropTitle.textContent = 'Dropped off after step ' + n;
    dropTitle.title = stepLabel(st);
    const stale = dropBox.querySelector('.table-wrap');
    if (stale) stale.classList.add('stale'); else clear(dropBox).appendChild(loading());
    if (scroll) dropCard.scrollIntoView({ block: 'start', behavior: 'smooth' });
    try {
      const d = await api(path, { ...f, dropped_at: n, limit: DROP_PAGE, offset: offset || null }, opts);
      if (!ctx.isCurrent() || my !== dropSeq) return;
      paintDropped(dropBox, dropCount, d.dropped || { step: n, total: 0, sessions: [] }, n, offset, st, dq, (o) => loadDropped(n, o, true));
    } catch (e) {
      if (quiet(e) || !ctx.isCurrent() || my !== dropSeq) return;
      dropCount.textContent = '';
      clear(dropBox).appendChild(errorBox(e, () => loadDropped(n, offset)));
    }
  };

  const rows = steps.map((st, i) => {
    const bar = h('span.fbar-fill');
    bar.style.width = (first ? (st.sessions / first) * 100 : 0) + '%';
    const lastStep = i === steps.length - 1;
    // Drop-offs are counted at the steps that cannot be skipped.
    let dropInfo = null;
    if (!lastStep && st.optional) {
      dropInfo = h('p.muted.small.drop-none', 'Optional: a session that skips this step has not dropped off.');
    } else if (!lastStep) {
      const n = i + 1;
      const count = st.dropped > 0
        ? h('a.drop-link.bad', {
          href: link('funnels', { ...defHash(def), ...viewKeep, dropped: n }), dataset: { step: String(n), dropped: String(st.dropped) },
          title: 'List the sessions that reached step ' + n + ' and went no further',
          on: { click: (e) => { e.preventDefault(); loadDropped(n, 0, true); } },
        }, '▼ ' + fmt.n(st.dropped) + ' dropped off')
        : h('span.muted.drop-link-none', { dataset: { step: String(n), dropped: '0' } }, 'No drop-offs');
      dropInfo = h('div.drop',
        h('div.drop-line', count, ' after step ' + n,
          st.dropped_exited ? h('span.muted', ' · ' + fmt.n(st.dropped_exited) + ' left the site') : null),
        st.dropped > 0 ? h('details.drop-where',
          h('summary', 'Where they went'),
          st.dropped_to && st.dropped_to.length
            ? h('ul.drop-list', st.dropped_to.map((d) => h('li', h('a', { href: link('transitions', { page: d.page }) }, d.page),
              h('span.num', fmt.n(d.sessions)), h('a.small', { href: link('sessions', { q: 'page:' + qv(d.page) }) }, 'sessions'))))
            : h('p.muted.small', 'No page recorded after the drop.')) : null);
    }
    const time = i > 0 && st.median_ms !== null && st.median_ms !== undefined
      ? h('span.fstep-time', { dataset: { median: String(st.median_ms), p90: String(st.p90_ms ?? '') }, title: 'Time from the step reached before, over the sessions that reached this step' },
        'median ', h('strong', fmtGap(st.median_ms)), ' · p90 ', h('strong', fmtGap(st.p90_ms)), ' after the step before')
      : null;
    return h('div.fstep', { class: st.optional ? 'optional' : '', dataset: { step: String(i), sessions: String(st.sessions) } },
      h('div.fstep-head', h('span.fe-n', String(i + 1)),
        st.name && st.name !== st.step ? h('span.fstep-name', st.name) : null, h('code.fstep-re', { title: st.step }, targetLabel(st.step)),
        st.optional ? h('span.tag.opt-tag', { title: 'May be skipped: its drop-offs are counted at the next step that cannot be' }, 'optional') : null,
        h('span.fstep-num', fmt.n(st.sessions), h('small', ' sessions'))),
      h('div.fbar', bar, h('span.fbar-label', fmt.pct(st.conversion_from_start) + ' of start')),
      h('div.fstep-meta', i > 0 ? h('span', fmt.pct(st.conversion_from_previous) + ' from previous step') : h('span.muted', 'Sessions that reached the first step'), time),
      dropInfo);
  });

  const bySel = h('select#funnel-breakdown', { 'aria-label': 'Break down by' },
    h('option', { value: '', selected: !by }, 'None'),
    BREAKDOWNS.map(([v, l]) => h('option', { value: v, selected: v === by }, l)));
  const stepsResult = card('Conversion by step', h('div.fsteps#funnel-steps', rows), { actions: h('label.ctl', h('span', 'Break down by'), bySel) });
  results.appendChild(stepsResult);

  const groupsBox = h('div');
  const groupsCard = card('By segment', groupsBox, { sub: 'sessions at each step, and the share of the segment’s first step' });
  groupsCard.id = 'funnel-groups-card';
  results.append(groupsSlot, dropSlot);
  let groupsSeq = 0;
  const paintGroupsFor = (d, b) => { show(groupsSlot, groupsCard, true); paintGroups(groupsBox, d, b, def); };
  const loadGroups = async (b) => {
    const my = ++groupsSeq;
    viewKeep.breakdown = b || null;
    keepParams({ breakdown: b || null });
    if (!b) { show(groupsSlot, groupsCard, false); return; }
    show(groupsSlot, groupsCard, true);
    const stale = groupsBox.querySelector('.table-wrap');
    if (stale) stale.classList.add('stale'); else clear(groupsBox).appendChild(loading());
    try {
      const d = await api(path, { ...f, breakdown: b }, opts);
      if (!ctx.isCurrent() || my !== groupsSeq) return;
      paintGroupsFor(d, b);
    } catch (e) {
      if (quiet(e) || !ctx.isCurrent() || my !== groupsSeq) return;
      clear(groupsBox).appendChild(errorBox(e, () => loadGroups(b)));
    }
  };
  bySel.addEventListener('change', () => loadGroups(bySel.value));
  if (by) paintGroupsFor(data, by);

  const dn = posInt(p.get('dropped'));
  if (dn) loadDropped(dn, Math.max(0, parseInt(p.get('doffset'), 10) || 0), false);

  const chartBox = h('div', loading());
  results.appendChild(card('Funnel chart', chartBox, { sub: 'server-rendered (funnel.svg)' }));
  // The chart labels each bar by its step's name: a step without one is
  // named as it reads here ("/cart.html", not "^/cart\.html$"), for the
  // chart only (the definition and the URL keep no such name). The server
  // takes names of up to 60 characters.
  const fit60 = (t) => { const c = [...t]; return c.length <= 60 ? t : c.slice(0, 59).join('') + '…'; };
  const chartQ = defQuery({ ...def, steps: def.steps.map((x) => ({ ...x, name: fit60(stepLabel(x)) })) });
  const url = await apiImage(ctx.base + '/charts/funnel.svg?' + chartQ, f, opts);
  if (!ctx.isCurrent()) return;
  const img = h('img.chart-img#funnel-img', { alt: 'Funnel chart' });
  img.src = url;
  clear(chartBox).appendChild(img);
}

// ---------- saved funnels ----------
// A picker of the site's saved funnels (picking one loads it into the
// editor and shows it), and for admins "Save as" (the editor's definition
// under a name) and "Delete" (the picked one). The picker shows the saved
// funnel that is the one on screen, if any.
function savedBar(ctx, saved, current, draftDef) {
  if (!saved) return null; // not offered to this session (a share link)
  let list = saved.funnels || [];
  const sel = h('select#funnel-saved-select', { 'aria-label': 'Saved funnels' });
  const status = h('div.form-status#funnel-save-status', { role: 'status' });
  const say = (text, ok) => { status.className = 'form-status' + (ok === true ? ' ok' : ok === false ? ' err' : ''); status.textContent = text; status.setAttribute('role', ok === false ? 'alert' : 'status'); };
  const del = canWrite() ? h('button.btn.btn-sm.btn-danger#funnel-delete', { type: 'button', title: 'Delete the picked saved funnel' }, 'Delete') : null;
  const fill = (picked) => {
    clear(sel);
    sel.appendChild(h('option', { value: '' }, list.length ? 'Pick a saved funnel…' : 'No saved funnels yet'));
    for (const x of list) {
      sel.appendChild(h('option', { value: x.name, selected: x.name === picked }, x.name + ' (' + (x.steps || []).length + ' steps)'));
    }
    sel.disabled = !list.length;
    if (del) del.disabled = !sel.value;
  };
  const shown = current && list.find((x) => sameDef(defFromQuery(x.query), current));
  fill(shown ? shown.name : '');
  if (flash) { say(flash, true); flash = ''; }
  const refresh = async (picked) => {
    list = ((await api(ctx.base + '/funnels', null, { signal: ctx.signal })).funnels) || [];
    if (ctx.isCurrent()) fill(picked);
  };
  const pathOf = (name) => ctx.base + '/funnels/' + encodeURIComponent(name);

  sel.addEventListener('change', () => {
    if (del) del.disabled = !sel.value;
    const x = list.find((y) => y.name === sel.value);
    if (!x) return;
    say('');
    // Loaded into the editor and shown (the breakdown is kept).
    setParams({ ...defHash(defFromQuery(x.query)), dropped: null, doffset: null });
  });
  if (del) {
    del.addEventListener('click', async () => {
      const name = sel.value;
      if (!name || !window.confirm('Delete the saved funnel “' + name + '”? The funnel on screen stays.')) return;
      del.disabled = true;
      try {
        await apiSend('DELETE', pathOf(name));
        await refresh('');
        say('Deleted “' + name + '”.', true);
      } catch (e) {
        if (quiet(e)) return;
        say(e.message, false);
        if (del) del.disabled = !sel.value;
      }
    });
  }

  let form = null;
  if (canWrite()) {
    const nameIn = h('input#funnel-save-name', { type: 'text', maxlength: 60, placeholder: 'Name', 'aria-label': 'Name to save the funnel as', value: shown ? shown.name : '', autocomplete: 'off' });
    const save = h('button.btn.btn-sm#funnel-save', { type: 'submit' }, 'Save');
    form = h('form.fe-save#funnel-save-form', h('label.ctl', h('span', 'Save as…'), nameIn), save);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const name = nameIn.value.trim();
      if (!name) { say('Give the funnel a name to save it under.', false); nameIn.focus(); return; }
      const d = draftDef();
      save.disabled = true;
      say('Saving…');
      try {
        const had = list.some((x) => x.name === name);
        const out = await apiSend('PUT', pathOf(name), { query: defQuery(d) });
        if (!ctx.isCurrent()) return;
        // The editor's funnel, if not the one on screen yet, is shown.
        const said = (had ? 'Replaced' : 'Saved') + ' “' + (out.name || name) + '”.';
        if (!current || !sameDef(d, current)) { flash = said; setParams({ ...defHash(d), dropped: null, doffset: null }); return; }
        await refresh(out.name || name);
        say(said, true);
      } catch (ex) {
        if (quiet(ex)) return;
        say(ex.message, false);
      } finally { save.disabled = false; }
    });
  }
  return h('div.fe-saved#funnel-saved', h('div.fe-saved-row', h('label.ctl', h('span', 'Saved funnels'), sel), del, h('span.topbar-spacer'), form), status);
}

// ---------- breakdown ----------
// One row per segment: its sessions at each step (and the share of its
// own first step), side by side, and its overall conversion. Segments the
// API leaves out (if it lists only the largest) make one row of their own,
// so the first column adds up to the funnel's first step.
function segmentCell(by, v, def) {
  if (v === '(none)' || v === null || v === undefined || v === '') return h('span.muted', '(none)');
  const text = by === 'channel' || by === 'device' ? fmt.label(v) : v;
  const cls = by === 'entry_page' ? 'seg-cell.mono' : 'seg-cell';
  if (FILTERS.has(by)) return h('a.' + cls, { href: link('funnels', { ...defHash(def), breakdown: by, [by]: v }), title: 'Filter by ' + v }, text);
  return h('span.' + cls, { title: v }, text);
}
function paintGroups(box, data, by, def) {
  clear(box);
  const steps = data.steps || [];
  const groups = (data.groups || []).map((g) => ({ ...g }));
  if (!groups.length) { box.appendChild(empty('No sessions to break down.')); return; }
  const firstOf = (g) => (g.steps && g.steps[0]) || 0;
  const restFirst = (steps[0] ? steps[0].sessions : 0) - groups.reduce((a, g) => a + firstOf(g), 0);
  if (restFirst > 0) {
    const rest = steps.map((st, i) => Math.max(0, st.sessions - groups.reduce((a, g) => a + ((g.steps && g.steps[i]) || 0), 0)));
    groups.push({ rest: true, value: null, steps: rest, overall_conversion: rest[0] ? rest[rest.length - 1] / rest[0] : 0 });
  }
  const label = (BREAKDOWNS.find(([v]) => v === by) || [by, by])[1];
  const wrap = h('div.table-wrap', { dataset: { breakdown: by } }, h('table.data.funnel-groups#funnel-groups',
    h('thead', h('tr', h('th', label),
      steps.map((st, i) => h('th.num', { title: st.step }, h('span.fg-head', (i + 1) + '. ' + stepLabel(st)), st.optional ? h('small.muted', ' (optional)') : null)),
      h('th.num', 'Overall'))),
    h('tbody', groups.map((g) => h('tr', { dataset: { value: g.rest ? '' : String(g.value) } },
      h('td', g.rest ? h('span.muted.seg-rest', 'Other segments') : segmentCell(by, g.value, def)),
      steps.map((_, i) => {
        const n = (g.steps && g.steps[i]) || 0;
        return h('td.num', fmt.n(n), i > 0 ? h('small.muted', ' ' + fmt.pct(firstOf(g) ? n / firstOf(g) : 0)) : null);
      }),
      h('td.num', h('strong', fmt.pct(g.overall_conversion))))))));
  box.appendChild(wrap);
}

// ---------- drop-offs ----------
// The sessions that reached step n and went no further, a page at a time;
// each opens in the player, which walks the same list (next / previous).
function paintDropped(box, countEl, dropped, n, offset, st, dq, go) {
  clear(box);
  const total = dropped.total || 0;
  const list = dropped.sessions || [];
  countEl.textContent = fmt.n(total) + ' session' + (total === 1 ? '' : 's') + ' reached ' + stepLabel(st) + ' and went no further';
  countEl.dataset.total = String(total);
  if (!list.length) { box.appendChild(empty('No sessions dropped off here.')); return; }
  const back = { walk: 'funnel', funnel: dq, dropped_at: n, offset: offset || null };
  box.appendChild(sessionTable(list, back, 'funnel-dropped-table'));
  if (total > DROP_PAGE || offset) {
    const to = Math.min(offset + list.length, total);
    box.appendChild(h('div.pager',
      h('button.btn.btn-sm#dropped-prev', { type: 'button', disabled: offset === 0, on: { click: () => go(Math.max(0, offset - DROP_PAGE)) } }, '← Previous'),
      h('span.muted', fmt.n(offset + 1) + '–' + fmt.n(to) + ' of ' + fmt.n(total)),
      h('button.btn.btn-sm#dropped-next', { type: 'button', disabled: offset + DROP_PAGE >= total, on: { click: () => go(offset + DROP_PAGE) } }, 'Next →')));
  }
}

// A step the server refused ("step 1 ("(x") is not a valid regex: unclosed
// group at character 2", counted from 1): that step's input is marked and the message is
// shown under the editor with the pattern and a caret at the character,
// instead of a generic error box. Other 400s keep the error box.
function stepError(e, list, active) {
  // (An event step's message has a colon: 'step 1 ("event:"): event: needs a name'.)
  const m = /^step (\d+) \(.*?\)(:?) (.*?)(?: at character (\d+))?$/.exec(e.message || '');
  if (!m || !active[+m[1] - 1]) return errorBox(e);
  const i = +m[1] - 1;
  const rows = list.querySelectorAll('.fe-row');
  // The editor has every row, the query only the non-empty ones.
  let seen = -1;
  for (const row of rows) {
    const inp = row.querySelector('.step-input');
    if (inp.value.trim()) seen += 1;
    if (seen === i) { inp.classList.add('invalid'); inp.setAttribute('aria-invalid', 'true'); inp.focus(); break; }
  }
  const col = m[4] ? +m[4] : 0;
  return h('div.error-box.step-error#funnel-step-error', { role: 'alert' },
    h('strong', 'Step ' + (i + 1) + (m[2] ? ': ' : ' ') + m[3]),
    h('pre.err-msg', active[i] + (col ? '\n' + ' '.repeat(col - 1) + '^' : '')));
}
