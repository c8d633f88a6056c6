// Why they left: of the sessions that reached a decision point (by
// default the site's "decision" stage: cart and checkout pages) and did
// not convert (reach a goal), what their last views show, as reasons: an
// error page, rage or dead clicks on the exit page, a quick bounce back, a
// loop between two pages, or no sign of trouble at all. Each reason with
// how many of those who left carry it, the pages they left from most (to
// the Transitions view), the sessions to watch in the player, and with a
// breakdown, how common it is in each segment. Funnels say where people
// drop off; this says what the evidence is before they go.
// The decision point (`at`) and the breakdown live in the URL, like the
// other views' choices; the toolbar's range and filters apply. Pages,
// targets and segment values come from visitors or people: rendered as
// text (h()) only.
import { h, api, clear, fmt, card, link, setParams, filterParams, empty, loading, meter, table, targetLabel, targetSuggestions, watchLinks } from './core.js';
import { DIMENSIONS } from './contrast.js';

const DEFAULT_AT = 'stage:decision';
const TARGET = '__target'; // the kind "A page or event…" in the select
const DEFAULT_TOP = 5; // exit pages and segments per reason (the server's default)

// The reasons the server gives, in a few words (column heads, chips); the
// sentence beside each row is the server's own label.
const REASONS = {
  error_page: 'Error page', js_error: 'JavaScript error', new_content: 'New content', rage_clicks: 'Rage clicks', dead_clicks: 'Dead clicks',
  quick_back: 'Quick back', loop: 'Loop', no_sign: 'No sign',
};
const reasonName = (code) => REASONS[code] || fmt.label(code);

const noun = (n) => (n === 1 ? 'session' : 'sessions');
const dimLabel = (dim) => (DIMENSIONS.find(([v]) => v === dim) || [dim, dim])[1];
// A segment value as the other views show it (channels by their label).
export const segmentText = (dim, v) => (dim === 'channel' ? fmt.label(v) : v === '' || v === null || v === undefined ? '(none)' : String(v));

// ---------- the decision point ----------
// `at` as people read it: "the decision stage", "/cart.html…", "the
// event begin_checkout". `stage` is the stage's name when it is one.
function parseAt(at) {
  const m = /^stage:(.*)$/.exec(at || '');
  if (m) return { stage: m[1].trim() };
  const ev = /^event:\s*(\S.*)$/.exec((at || '').trim());
  if (ev) return { event: ev[1].trim() };
  return { target: at || '' };
}

// "sessions that reached the decision stage", as nodes.
function reachedWords(at, n) {
  const p = parseAt(at);
  const s = noun(n);
  if (p.stage !== undefined) return [s + ' that reached the ', h('strong.why-at', p.stage), ' stage'];
  if (p.event !== undefined) return [s + ' with the event ', h('code.why-at', { title: at }, p.event)];
  return [s + ' that reached ', h('code.why-at', { title: at }, targetLabel(at))];
}
// The same in plain text (empty states).
function reachedText(at) {
  const p = parseAt(at);
  if (p.stage !== undefined) return 'reached the ' + p.stage + ' stage';
  if (p.event !== undefined) return 'had the event ' + p.event;
  return 'reached ' + targetLabel(at);
}

// ---------- picker ----------
// "Sessions that reached [the decision stage ▾]" (or a page or event typed
// in) and "Break down by [channel ▾]". A stage or a breakdown applies at
// once; a page or event on Enter or "Show".
function picker(ctx, state, stages, msg) {
  const at = state.at || DEFAULT_AT;
  const p = parseAt(at);
  const names = stages.map((s) => s.name);
  // The stage asked for is offered even when the site has no such stage
  // (the server says so beside the picker).
  const asked = p.stage !== undefined && !names.some((x) => x.toLowerCase() === p.stage.toLowerCase()) ? [{ name: p.stage }] : [];
  const kind = h('select#why-at', { 'aria-label': 'Sessions that reached' },
    [...stages, ...asked].map((s) => h('option', {
      value: 'stage:' + s.name, selected: p.stage !== undefined && s.name.toLowerCase() === p.stage.toLowerCase(),
    }, 'the ' + s.name + ' stage' + (s.side ? ' (side)' : ''))),
    h('option', { value: TARGET, selected: p.stage === undefined }, 'a page or event…'));
  const list = h('datalist#why-target-list');
  const target = h('input.mono.why-target#why-target', {
    type: 'text', value: p.stage === undefined ? at : '', placeholder: '^/cart or event:begin_checkout', list: 'why-target-list',
    'aria-label': 'A page pattern or event:NAME', spellcheck: 'false', autocomplete: 'off',
  });
  target.addEventListener('focus', targetSuggestions(ctx, list));
  target.addEventListener('input', () => target.classList.remove('invalid'));
  const targetBox = h('span.why-extra', target, list, h('button.btn.btn-primary#why-apply', { type: 'submit' }, 'Show'));
  const show = () => { targetBox.hidden = kind.value !== TARGET; };
  show();
  const by = h('select#why-breakdown', { 'aria-label': 'Break down by', class: state.breakdown ? 'set' : '' },
    h('option', { value: '' }, 'No breakdown'),
    DIMENSIONS.map(([v, l]) => h('option', { value: v, selected: v === state.breakdown }, l)));
  const form = h('form.why-form#why-form',
    h('label.ctl.why-ctl', h('span', 'Sessions that reached'), kind), targetBox,
    h('label.ctl.why-ctl', h('span', 'Break down by'), by));
  const apply = () => {
    let next = kind.value;
    if (next === TARGET) {
      next = target.value.trim();
      if (!next) {
        target.classList.add('invalid');
        clear(msg).appendChild(h('p.form-status.err#why-error', { role: 'alert' }, 'Type a page pattern (^/cart) or event:NAME.'));
        target.focus();
        return;
      }
    }
    setParams({ at: next === DEFAULT_AT ? null : next, breakdown: by.value || null });
  };
  kind.addEventListener('change', () => {
    show();
    if (kind.value === TARGET) target.focus(); else apply();
  });
  by.addEventListener('change', () => setParams({ breakdown: by.value || null }));
  form.addEventListener('submit', (e) => { e.preventDefault(); apply(); });
  const c = card(null, h('div', form, msg));
  c.classList.add('why-pick');
  c.id = 'why-pick';
  // The server's default point, once it is known (no `at` in the URL).
  const settle = (answered) => {
    if (state.at || !answered) return;
    const o = [...kind.options].find((x) => x.value.toLowerCase() === answered.toLowerCase());
    if (o) kind.value = o.value;
    show();
  };
  return { card: c, settle };
}

// ---------- render ----------
function readState(params) {
  return { at: params.get('at') || '', breakdown: DIMENSIONS.some(([v]) => v === params.get('breakdown')) ? params.get('breakdown') : '', top: params.get('top') || '' };
}

export async function render(el, ctx) {
  el.appendChild(h('div.view-head', h('h1', 'Why they left'),
    h('p.muted', 'Sessions that got as far as the cart or checkout and left without converting, and what their last views show: errors, something new on the page, rage clicks, dead clicks, bouncing back, going in circles — or no sign at all.')));
  const state = readState(ctx.params);
  const msg = h('div.why-msg#why-msg');
  const pickBox = h('div', loading());
  const body = h('div#why-body', loading());
  el.append(pickBox, body);
  const opts = { signal: ctx.signal };
  const asking = api(ctx.base + '/why', { at: state.at || null, breakdown: state.breakdown || null, top: state.top || null, ...filterParams(ctx.params) }, opts);
  asking.catch(() => {}); // awaited below
  // The stages to pick from; without them (a share link, a server that
  // will not say) the picker offers what the URL asks and pages.
  const settings = await api(ctx.base + '/stages/settings', null, opts).catch((e) => {
    if (e.name === 'AbortError') throw e;
    return null;
  });
  if (!ctx.isCurrent()) return;
  const stages = settings && settings.stages && settings.stages.length ? settings.stages : [{ name: 'decision' }];
  const pick = picker(ctx, state, stages, msg);
  pickBox.replaceWith(pick.card);
  let data;
  try {
    data = await asking;
  } catch (e) {
    // A point the server cannot make (no such stage, a bad pattern, top
    // out of range): its sentence beside the picker.
    if (e.status !== 400 && e.status !== 404) throw e;
    if (!ctx.isCurrent()) return;
    clear(msg).appendChild(h('p.form-status.err#why-error', { role: 'alert' }, e.message));
    const none = empty('Nothing to show.', 'Pick another stage, page or event above.');
    none.id = 'why-empty';
    clear(body).appendChild(h('section.card', none));
    return;
  }
  if (!ctx.isCurrent()) return;
  pick.settle(data.at);
  paint(body, data, Math.min(100, Math.max(1, Math.round(+state.top) || DEFAULT_TOP)));
}

function headline(data) {
  const leftShare = data.reached ? data.left / data.reached : 0;
  const split = h('div.why-split#why-split', { role: 'img', 'aria-label': fmt.n(data.left) + ' left, ' + fmt.n(data.converted) + ' converted' },
    h('span.why-split-left'), h('span.why-split-conv'));
  split.firstChild.style.width = leftShare * 100 + '%';
  split.lastChild.style.width = (data.reached ? data.converted / data.reached : 0) * 100 + '%';
  return card(null, h('div.why-head',
    h('p.why-headline#why-headline', { dataset: { left: String(data.left), reached: String(data.reached) } },
      h('strong.why-big#why-left', fmt.n(data.left)), ' of ', h('strong#why-reached', fmt.n(data.reached)), ' ',
      reachedWords(data.at, data.reached), ' left without converting ',
      h('span.why-pct#why-left-pct', '(' + fmt.pct(leftShare, 0) + ')')),
    data.reached ? split : null,
    data.reached ? h('p.why-legend.small',
      h('span.why-key.left', fmt.n(data.left) + ' left'),
      h('span.why-key.conv#why-converted', { dataset: { converted: String(data.converted) } },
        fmt.n(data.converted) + ' converted', h('span.muted', ' (' + fmt.pct(data.converted / data.reached, 0) + ')'))) : null));
}

// Where a reason's sessions left, most first: each page to its flow; for
// rage and dead clicks, the elements so clicked in the example sessions;
// for JavaScript errors their messages; for new content the lines the
// exit views showed that the views before did not (over all its sessions).
function exitsCell(r) {
  const exits = r.exits || [];
  if (!exits.length) return h('span.muted', '–');
  const list = h('ul.why-exits', exits.map((x) => h('li.why-exit', { dataset: { page: x.value } },
    h('a.why-exit-page', { href: link('transitions', { page: x.value }), title: x.value + ' — where visitors came from and went' }, h('code', x.value)),
    h('span.why-exit-n', fmt.n(x.sessions), h('small.muted', ' ' + fmt.pct(x.share))))));
  const els = r.elements || [];
  const errs = r.errors || [];
  const lines = r.lines || [];
  if (lines.length) {
    return h('div', list, h('ul.ch-diff.why-lines', lines.map((l) => h('li.added',
      h('span.ch-sign', { 'aria-hidden': 'true' }, '+'), h('span.why-line', l.line),
      h('small.muted', ' ' + fmt.n(l.sessions) + ' ' + noun(l.sessions))))));
  }
  const of = (r.examples || []).length;
  const examples = (n) => ' (' + fmt.n(n) + ' of ' + fmt.n(of) + ' examples)';
  if (errs.length) {
    return h('div', list, h('p.small.muted.why-errors', 'Errors: ',
      errs.map((e, i) => h('span', i ? ', ' : '', h('code', e.message), examples(e.sessions)))));
  }
  if (!els.length) return list;
  return h('div', list, h('p.small.muted.why-elements', 'Clicked: ',
    els.map((e, i) => h('span', i ? ', ' : '', h('code', e.selector), examples(e.sessions)))));
}


function reasonsTable(data) {
  const t = table([
    { label: 'Reason', render: (r) => h('div.why-reason',
      h('span.why-label', h('span.why-dot', { class: r.reason, 'aria-hidden': 'true' }), h('span.why-label-text', r.label)),
      h('small.why-code', reasonName(r.reason)), watchLinks(r.examples, 'why')) },
    { label: 'Sessions', num: true, render: (r) => h('strong.why-n', fmt.n(r.sessions)) },
    { label: 'Of those who left', num: true, title: 'Share of the sessions that left', render: (r) => h('span.why-share', h('span.why-pct', fmt.pct(r.share)), meter(r.share, r.reason === 'no_sign' ? 'why-quiet' : 'bad')) },
    { label: 'Left most on', title: 'Their exit pages, most first (share of this reason’s sessions)', render: exitsCell },
  ], data.reasons || [], { cls: 'why-table', empty: 'No reasons.' });
  const trs = t.querySelectorAll('tbody tr');
  (data.reasons || []).forEach((r, i) => { if (trs[i]) trs[i].dataset.reason = r.reason; });
  return t;
}

// With a breakdown: segments down, reasons across; a cell is the share of
// that segment's sessions that left which carry the reason. Each reason
// lists its top segments only: a segment absent from a full list is not
// known (–), from a shorter one it has none (0).
function breakdownTable(data, top) {
  const reasons = data.reasons || [];
  const dim = data.breakdown;
  const values = [];
  const seen = new Map();
  for (const r of reasons) {
    for (const g of r.groups || []) {
      if (!seen.has(g.value)) { seen.set(g.value, 0); values.push(g.value); }
      seen.set(g.value, seen.get(g.value) + g.sessions);
    }
  }
  values.sort((a, b) => seen.get(b) - seen.get(a));
  const cell = (r, v) => {
    const g = (r.groups || []).find((x) => x.value === v);
    if (!g) {
      const full = (r.groups || []).length >= top;
      return full ? h('span.muted', { title: 'Not among this reason’s top segments' }, '–') : h('span.muted', '0');
    }
    return h('span.why-seg', { title: fmt.n(g.sessions) + ' ' + noun(g.sessions) + ' of this ' + dimLabel(dim).toLowerCase() + '’s that left' },
      h('span.why-pct', fmt.pct(g.share)), meter(g.share, r.reason === 'no_sign' ? 'why-quiet' : 'bad'), h('small.why-seg-n', fmt.n(g.sessions) + ' ' + noun(g.sessions)));
  };
  const t = table([
    { label: dimLabel(dim), render: (v) => h('span.why-seg-value', { title: v }, segmentText(dim, v)) },
    ...reasons.map((r) => ({ label: reasonName(r.reason), num: true, title: r.label, render: (v) => cell(r, v) })),
  ], values, { cls: 'why-by-table', empty: 'No segments.' });
  const trs = t.querySelectorAll('tbody tr');
  values.forEach((v, i) => { if (trs[i]) trs[i].dataset.value = v; });
  const ths = t.querySelectorAll('thead th');
  reasons.forEach((r, i) => { if (ths[i + 1]) ths[i + 1].dataset.reason = r.reason; });
  // A phone shows each segment as a block of labelled cells (CSS, from
  // these names: ours, not visitors').
  for (const tr of trs) reasons.forEach((r, i) => { const td = tr.children[i + 1]; if (td) td.dataset.label = reasonName(r.reason); });
  return t;
}

function paint(body, data, top) {
  clear(body);
  if (!data.reached) {
    const box = empty('No session in this range ' + reachedText(data.at) + '.', 'Pick another stage, page or event, or a longer range.');
    box.id = 'why-empty';
    body.appendChild(h('section.card', box));
    return;
  }
  body.appendChild(headline(data));
  if (!data.left) {
    const box = empty('Every session that ' + reachedText(data.at) + ' converted.', 'Nobody left without converting: nothing to explain.');
    box.id = 'why-empty';
    body.appendChild(h('section.card', box));
    return;
  }
  const reasons = card('Reasons', h('div', reasonsTable(data),
    h('p.muted.small.why-note#why-note', 'A session can show several reasons, so the shares can add up to more than 100%. “Watch” opens the newest sessions in the player.'
      + (data.sample_rate < 1 ? ' Counted on a sample of ' + fmt.pct(data.sample_rate) + ' of the sessions: over 10,000 left, and each one’s layouts are read for new content.' : ''))),
  { sub: 'of the ' + fmt.n(data.left) + ' ' + noun(data.left) + ' that left, most common first', cls: 'why-card' });
  reasons.id = 'why-reasons';
  body.appendChild(reasons);
  if (data.breakdown) {
    const by = card('By ' + dimLabel(data.breakdown).toLowerCase(), breakdownTable(data, top),
      { sub: 'share of each ' + dimLabel(data.breakdown).toLowerCase() + '’s sessions that left, by reason', cls: 'why-card' });
    by.id = 'why-by';
    body.appendChild(by);
  }
}
