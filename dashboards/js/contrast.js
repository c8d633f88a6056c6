// Contrast: what sets two groups of sessions apart. By default the
// sessions that converted (reached a goal) against the rest: the pages,
// custom events and page patterns (pages visited in this order, others
// allowed between) that one group has significantly more often than the
// other (Fisher's exact test, Benjamini-Hochberg q ≤ alpha), ranked by the
// difference in share. It answers "what do buyers do that others do not"
// without a funnel to guess first.
// The groups (a, b) and the list length (top) live in the URL, like the
// other views' choices; the toolbar's range and filters apply. Pages,
// event names, targets and segment values come from visitors or people:
// rendered as text (h()) only.
import { h, api, clear, fmt, card, link, setParams, filterParams, empty, loading, meter, table } from './core.js';

export const DIMENSIONS = [
  ['channel', 'Channel'], ['device', 'Device'], ['country', 'Country'], ['referrer', 'Referrer'],
  ['utm_campaign', 'Campaign'], ['entry_page', 'Entry page'],
];
const DIMS = new Set(DIMENSIONS.map(([v]) => v));
const EXAMPLE = { channel: 'email', device: 'mobile', country: 'SE', referrer: 'google.com', utm_campaign: 'spring_sale', entry_page: '/' };
const TOPS = [10, 25, 50];
const ALSO_SHOWN = 2;
const DEFAULT_A = 'converted';
const DEFAULT_B = 'rest';
const KINDS_A = [['converted', 'Converted (any goal)'], ['reached', 'Reached…'], ['segment', 'Segment…']];
const KINDS_B = [['rest', 'Everyone else'], ...KINDS_A];
const SECTIONS = [['pages', 'Pages', 'Page'], ['events', 'Events', 'Event'], ['patterns', 'Patterns', 'Pattern']];

// ---------- groups ----------
// A group as the URL and the API write it (converted, rest, reached:TARGET,
// DIMENSION=VALUE), read into what the picker shows; null when it is none
// of these (the server says why).
export function parseGroup(text) {
  if (text === 'converted' || text === 'rest') return { kind: text };
  if (text.startsWith('reached:')) return { kind: 'reached', target: text.slice('reached:'.length) };
  const m = /^([a-z_]+)=(.*)$/.exec(text);
  if (m && DIMS.has(m[1])) return { kind: 'segment', dim: m[1], value: m[2] };
  return null;
}

const dimLabel = (dim) => (DIMENSIONS.find(([v]) => v === dim) || [dim, dim])[1];

// What a group's sessions did, after "91 sessions …".
function groupWords(g, other) {
  if (!g) return 'in this group';
  if (g.kind === 'converted') return 'converted';
  if (g.kind === 'rest') return other && other.kind === 'segment' ? 'others' : 'did not';
  if (g.kind === 'reached') return ['reached ', h('code', g.target)];
  const v = g.value;
  switch (g.dim) {
    case 'channel': return 'from ' + fmt.label(v);
    case 'device': return 'on ' + v;
    case 'country': return 'from ' + v;
    case 'referrer': return 'referred by ' + v;
    case 'utm_campaign': return ['of campaign ', h('code', v)];
    default: return ['entering on ', h('code', v)];
  }
}

// A group in a few plain words (card subtitles, column titles).
function groupName(g, raw) {
  if (!g) return raw;
  if (g.kind === 'converted') return 'sessions that converted';
  if (g.kind === 'rest') return 'everyone else';
  if (g.kind === 'reached') return 'reached ' + g.target;
  return dimLabel(g.dim).toLowerCase() + ' = ' + g.value;
}

const noun = (n) => (n === 1 ? 'session' : 'sessions');
const sessionsN = (n) => fmt.n(n) + ' ' + noun(n);
const badge = (which) => h('span.ct-badge', { class: which.toLowerCase() }, which);

// ---------- picker ----------
// The values the shell's filters already know for a dimension (the
// toolbar's selects and referrer list): offered as suggestions.
function knownValues(dim) {
  const sel = dim === 'referrer' ? null : document.querySelector('#toolbar select.filter[data-filter="' + dim + '"]');
  const opts = dim === 'referrer' ? document.querySelectorAll('#referrer-options option') : sel ? sel.options : [];
  return [...opts].map((o) => o.value).filter(Boolean);
}

// One group's controls: the kind, then the target (Reached…) or the
// dimension and value (Segment…). `read` gives the group as text, or a
// sentence saying what is missing.
function groupPicker(which, kinds, text) {
  const id = 'contrast-' + which.toLowerCase();
  const g = parseGroup(text);
  const kindOf = g && kinds.some(([v]) => v === g.kind) ? g.kind : kinds[0][0];
  const kind = h('select#' + id + '-kind', { 'aria-label': 'Group ' + which }, kinds.map(([v, l]) => h('option', { value: v, selected: v === kindOf }, l)));
  const target = h('input.mono.ct-target#' + id + '-target', {
    type: 'text', value: g && g.kind === 'reached' ? g.target : '', placeholder: '^/cart or event:add_to_cart',
    'aria-label': 'Group ' + which + ': a page pattern or event:NAME', spellcheck: 'false', autocomplete: 'off',
  });
  const dim = h('select#' + id + '-dim', { 'aria-label': 'Group ' + which + ': dimension' },
    DIMENSIONS.map(([v, l]) => h('option', { value: v, selected: g && g.kind === 'segment' && g.dim === v }, l)));
  const values = h('datalist#' + id + '-values');
  const value = h('input.ct-value#' + id + '-value', {
    type: 'text', value: g && g.kind === 'segment' ? g.value : '', list: id + '-values',
    'aria-label': 'Group ' + which + ': value', spellcheck: 'false', autocomplete: 'off',
  });
  const suggest = () => clear(values).append(...knownValues(dim.value).map((v) => h('option', { value: v })));
  const hint = () => { value.placeholder = 'e.g. ' + EXAMPLE[dim.value]; };
  hint();
  value.addEventListener('focus', suggest);
  dim.addEventListener('change', () => { hint(); suggest(); value.focus(); });
  const reachedBox = h('span.ct-extra', target);
  const segmentBox = h('span.ct-extra', dim, value, values);
  const show = () => { reachedBox.hidden = kind.value !== 'reached'; segmentBox.hidden = kind.value !== 'segment'; };
  show();
  const read = () => {
    if (kind.value === 'reached') {
      const t = target.value.trim();
      return t ? { text: 'reached:' + t } : { error: 'Type a page pattern (^/cart) or event:NAME for group ' + which + '.', field: target };
    }
    if (kind.value === 'segment') {
      const v = value.value.trim();
      return v ? { text: dim.value + '=' + v } : { error: 'Type a ' + dimLabel(dim.value).toLowerCase() + ' for group ' + which + '.', field: value };
    }
    return { text: kind.value };
  };
  const el = h('div.ct-group#' + id + '-group', badge(which), kind, reachedBox, segmentBox);
  return { el, kind, read, show, focus: () => (kind.value === 'reached' ? target : value).focus() };
}

// The pickers and the list length; a kind with nothing to type applies at
// once, the others on Enter or "Compare".
function picker(state, msg) {
  const A = groupPicker('A', KINDS_A, state.a);
  const B = groupPicker('B', KINDS_B, state.b);
  const topSel = h('select#contrast-top', { 'aria-label': 'Rows per list' }, TOPS.map((n) => h('option', { value: n, selected: n === state.top }, n)));
  const form = h('form.ct-form#contrast-form',
    A.el, h('span.ct-vs', 'vs'), B.el,
    h('label.ctl', h('span', 'Top'), topSel),
    h('button.btn.btn-primary#contrast-apply', { type: 'submit' }, 'Compare'));
  const apply = () => {
    const a = A.read();
    const b = B.read();
    const bad = a.error ? a : b.error ? b : null;
    for (const [p, r] of [[A, a], [B, b]]) p.el.classList.toggle('invalid', !!r.error);
    if (bad) {
      clear(msg).appendChild(h('p.form-status.err#contrast-error', { role: 'alert' }, bad.error));
      bad.field.focus();
      return;
    }
    setParams({ a: a.text === DEFAULT_A ? null : a.text, b: b.text === DEFAULT_B ? null : b.text, top: +topSel.value === TOPS[0] ? null : topSel.value });
  };
  for (const p of [A, B]) {
    p.kind.addEventListener('change', () => {
      p.show();
      if (p.kind.value === 'reached' || p.kind.value === 'segment') p.focus(); else apply();
    });
  }
  topSel.addEventListener('change', apply);
  form.addEventListener('submit', (e) => { e.preventDefault(); apply(); });
  const c = card(null, h('div', form, msg));
  c.classList.add('ct-pick');
  c.id = 'contrast-pick';
  return { card: c, A, B };
}

// ---------- rows ----------
const eventName = (step) => String(step).replace(/^event:/, '');

// The item: a page as code, an event by its name, a pattern as its pages
// joined by " … " (others may come between).
function itemText(row) {
  const steps = row.steps || [];
  if (row.kind === 'event') return h('span.ct-item-text.ct-event.mono', { title: steps[0] }, eventName(steps[0]));
  if (row.kind === 'pattern') {
    const parts = [];
    steps.forEach((s, i) => { if (i) parts.push(h('span.ct-gap', ' … ')); parts.push(h('code', s)); });
    return h('span.ct-item-text.ct-pattern', { title: steps.join(' … ') }, parts);
  }
  return h('code.ct-item-text.ct-page', { title: steps[0] }, steps[0]);
}

// Items held by exactly the same sessions, said once: "= /gifts/budget,
// /gifts/who" under the row's own item.
function alsoText(row) {
  const also = row.also || [];
  if (!also.length) return null;
  const said = also.map((steps) => (row.kind === 'event' ? eventName(steps[0]) : steps.join(' … ')));
  // Small groups hold many patterns in the very same sessions: two named,
  // the rest counted (all of them in the title).
  const shown = said.slice(0, ALSO_SHOWN).join(', ');
  const more = said.length > ALSO_SHOWN ? ' and ' + (said.length - ALSO_SHOWN) + ' more' : '';
  return h('small.muted.ct-also', { title: 'The same sessions as ' + (row.steps || []).join(' … ') + ':\n' + said.join('\n') }, '= ' + shown + more);
}

// Links to the Sessions view searching each group's sessions with it
// (none where the search cannot say the group).
function rowLinks(row) {
  const one = (q, which) => (q ? h('a', { href: link('sessions', { q }), title: 'Search: ' + q, dataset: { group: which } }, 'sessions in ' + which) : null);
  const a = one(row.search_a, 'A');
  const b = one(row.search_b, 'B');
  return a || b ? h('span.acts.ct-acts', a, b) : null;
}

function shareCell(share, n, total, which) {
  return h('span.ct-share', { title: fmt.n(n) + ' of ' + sessionsN(total) + ' in ' + which },
    h('span.ct-pct', fmt.pct(share)), meter(share, which === 'B' ? 'ct-b' : ''), h('small.ct-n', fmt.n(n) + ' of ' + fmt.n(total)));
}

// The difference in share, in points: "+57 pts", "-19 pts".
export function points(d) {
  const p = d * 100;
  const a = Math.abs(p);
  return (p > 0 ? '+' : p < 0 ? '-' : '±') + (a >= 9.95 ? a.toFixed(0) : a.toFixed(1)) + ' pts';
}
// How many times as common in A: "×2.3", "×0.43"; "–" when B has none.
export function lift(x) {
  if (x === null || x === undefined || Number.isNaN(x)) return '–';
  return '×' + String(Number(x.toFixed(x >= 10 ? 0 : x >= 1 ? 1 : 2)));
}

function rowsTable(rows, head, data) {
  const t = table([
    { label: head, render: (r) => h('div.ct-item', itemText(r), alsoText(r), rowLinks(r)) },
    { label: 'In A', num: true, title: 'Share of A’s sessions with it', render: (r) => shareCell(r.share_a, r.a, data.sessions_a, 'A') },
    { label: 'In B', num: true, title: 'Share of B’s sessions with it', render: (r) => shareCell(r.share_b, r.b, data.sessions_b, 'B') },
    { label: 'Difference', num: true, title: 'Share in A minus share in B', render: (r) => h('strong.ct-diff', points(r.difference)) },
    { label: 'Lift', num: true, title: 'Share in A ÷ share in B', render: (r) => lift(r.lift) },
  ], rows, { cls: 'ct-table', empty: 'Nothing stands out' });
  const trs = t.querySelectorAll('tbody tr');
  rows.forEach((r, i) => { if (trs[i]) trs[i].dataset.steps = (r.steps || []).join(' … '); });
  return t;
}

// ---------- render ----------
function readState(params) {
  const top = +params.get('top');
  return { a: params.get('a') || DEFAULT_A, b: params.get('b') || DEFAULT_B, top: TOPS.includes(top) ? top : TOPS[0] };
}

export async function render(el, ctx) {
  el.appendChild(h('div.view-head', h('h1', 'Contrast'),
    h('p.muted', 'What sets two groups of sessions apart: the pages, events and page patterns one group has far more often than the other.')));
  const state = readState(ctx.params);
  const msg = h('div.ct-msg#contrast-msg');
  const { card: pickCard } = picker(state, msg);
  const body = h('div#contrast-body', loading());
  el.append(pickCard, body);
  let data;
  try {
    data = await api(ctx.base + '/contrast', { a: state.a, b: state.b, top: state.top, ...filterParams(ctx.params) }, { signal: ctx.signal });
  } catch (e) {
    // A group the server cannot make (a bad segment, two dimensions, a
    // value no session has): its sentence beside the pickers.
    if (e.status !== 400 && e.status !== 404) throw e;
    if (!ctx.isCurrent()) return;
    clear(msg).appendChild(h('p.form-status.err#contrast-error', { role: 'alert' }, e.message));
    clear(body).appendChild(empty('Nothing to compare.', 'Pick other groups above.'));
    return;
  }
  if (!ctx.isCurrent()) return;
  paint(body, data, parseGroup(data.a || state.a), parseGroup(data.b || state.b), data.a || state.a, data.b || state.b);
}

function headline(data, ga, gb) {
  const count = (which, n, words) => h('span.ct-count#contrast-count-' + which.toLowerCase(), { dataset: { sessions: String(n) } },
    badge(which), h('strong', fmt.n(n)), ' ', which === 'A' ? noun(n) + ' ' : '', words);
  const facts = [];
  if (data.left_out > 0) facts.push(h('span#contrast-left-out', sessionsN(data.left_out) + ' in both or neither are left out'));
  if (data.sample_rate < 1) facts.push(h('span#contrast-sampled', 'sampled: 1 in ' + fmt.n(Math.round(1 / data.sample_rate)) + ' sessions'));
  facts.push(h('span#contrast-explain', 'Items listed differ significantly (q ≤ ' + data.alpha + ' of ' + fmt.n(data.tested) + ' tested); ranked by difference in share'));
  return [
    h('p.ct-headline#contrast-headline', count('A', data.sessions_a, groupWords(ga, gb)), h('span.ct-dot', { 'aria-hidden': 'true' }, '·'), count('B', data.sessions_b, groupWords(gb, ga))),
    h('p.ct-facts.muted.small', facts.map((f, i) => [i ? h('span.ct-dot', { 'aria-hidden': 'true' }, '·') : null, f])),
  ];
}

// A group with no session: nothing to contrast, and a hint where to go.
function noSessions(g, which) {
  if (g && g.kind === 'converted') {
    return empty('No session in this range converted.',
      h('span', 'Set goals in ', h('a', { href: link('conversions') }, 'Conversions'), ' or pick another group.'));
  }
  const words = g && g.kind === 'reached' ? 'reached ' + g.target : g && g.kind === 'rest' ? 'is left for everyone else' : 'is in group ' + which;
  return empty('No session in this range ' + words + '.', 'Pick another group, or a longer range.');
}

function paint(body, data, ga, gb, rawA, rawB) {
  clear(body);
  body.append(...headline(data, ga, gb));
  if (!data.sessions_a || !data.sessions_b) {
    const box = noSessions(data.sessions_a ? gb : ga, data.sessions_a ? 'B' : 'A');
    box.id = 'contrast-empty';
    body.appendChild(h('section.card', box));
    return;
  }
  for (const [key, title, head] of SECTIONS) {
    const lists = data[key] || {};
    const half = (which, rows, g, raw) => {
      const c = card([title + ' more common in ', badge(which)],
        h('div', key === 'patterns' ? h('p.muted.small.ct-note', 'Pages visited in this order; other pages may come between.') : null, rowsTable(rows || [], head, data)),
        { sub: groupName(g, raw), cls: 'ct-card' });
      c.id = 'contrast-' + key + '-' + which.toLowerCase();
      return c;
    };
    body.appendChild(h('div.ct-pair', half('A', lists.more_in_a, ga, rawA), half('B', lists.more_in_b, gb, rawB)));
  }
}
