// Expected journey (conformance): the journey the site intends (ordered
// steps, each a page pattern or event:NAME; a step may be optional or
// repeatable) against the ones sessions really took. Every session that
// touched a step is aligned to it: a required step passed over on the way
// to a later one is "skipped", a step that is not repeatable taken again
// is "repeated", coming back to an earlier step after a later one is "out
// of order". Fitness is the share of in-order touches (1: no deviation);
// a session conforms when it reached the last step without a deviation.
// The picture is the expected path with each step's reach and detours,
// then the deviations (with sessions to watch), a breakdown by segment
// (in the URL, `breakdown`) and the model's editor (admins; viewers see
// it read-only, share links not at all). The toolbar's range and filters
// apply. Step names, targets and segment values come from people and
// visitors: text (h()) only.
import {
  h, api, apiSend, clear, fmt, card, setParams, filterParams, empty, loading, errorBox, meter, table,
  targetLabel, targetSuggestions, watchLinks, isAdmin, isShare, lockEditor,
} from './core.js';
import { DIMENSIONS } from './contrast.js';
import { segmentText } from './why.js';

// A shop-like journey to start from when the site has none yet.
export const EXAMPLE = [
  { name: 'Product', target: '^/product/', repeatable: true },
  { name: 'Cart', target: '^/cart' },
  { name: 'Checkout', target: '^/checkout' },
  { name: 'Purchase', target: 'event:purchase' },
];
const MAX_STEPS = 20; // the server's limit

// Said once in the editor after a save (the view is drawn again).
let savedNote = '';

const noun = (n) => (n === 1 ? 'session' : 'sessions');
const dimLabel = (dim) => (DIMENSIONS.find(([v]) => v === dim) || [dim, dim])[1];
// Fitness as people read it: 0.97 (1 is a perfect session).
export const fitText = (x) => (x === null || x === undefined || Number.isNaN(x) ? '–' : Number(x).toFixed(2));

// A deviation in words: "Skipped Product", "Cart again", "Back to Product
// after Cart".
export function deviationText(d) {
  if (d.kind === 'skipped') return 'Skipped ' + d.step;
  if (d.kind === 'repeated') return d.step + ' again';
  return d.after ? 'Back to ' + d.step + ' after ' + d.after : d.step + ' out of order';
}

// ---------- render ----------
export async function render(el, ctx) {
  el.appendChild(h('div.view-head', h('h1', 'Expected journey'),
    h('p.muted', 'The journey this site intends, step by step, against the ones sessions really take: which steps they skip, repeat or come back to out of order, and how many follow it to the end.')));
  const breakdown = DIMENSIONS.some(([v]) => v === ctx.params.get('breakdown')) ? ctx.params.get('breakdown') : '';
  const body = h('div#cf-body', loading());
  el.appendChild(body);
  const opts = { signal: ctx.signal };
  const asking = api(ctx.base + '/conformance', { breakdown: breakdown || null, ...filterParams(ctx.params) }, opts);
  asking.catch(() => {}); // awaited below
  // The saved model for the editor (a share link has none to edit).
  const modelAsk = isShare() ? null : api(ctx.base + '/conformance/model', null, opts);
  if (modelAsk) modelAsk.catch(() => {});
  let data = null;
  let problem = null;
  try {
    data = await asking;
  } catch (e) {
    // 409: no expected journey yet; 400: one the server cannot use.
    if (e.status !== 409 && e.status !== 400) throw e;
    problem = e;
  }
  if (!ctx.isCurrent()) return;
  clear(body);
  const none = problem && problem.status === 409;
  if (none) {
    const box = h('div.cf-none#cf-none',
      h('h2', 'No expected journey for this site yet'),
      h('p.muted', isAdmin()
        ? 'Say which steps a visit should take, in order, below — a shop-like example is filled in to start from. Once saved, every session is aligned to it.'
        : 'An admin can set the steps a visit should take; every session is then aligned to them.'));
    body.appendChild(h('section.card', box));
  } else if (problem) {
    body.appendChild(h('section.card', h('p.form-status.err#cf-error', { role: 'alert' }, problem.message)));
  } else {
    paint(body, data, breakdown);
  }
  if (!modelAsk || (none && !isAdmin())) return;
  const edBox = h('div', loading());
  const ed = card(none ? 'Set the expected journey' : 'The expected journey', edBox,
    { sub: none ? 'an example to start from: edit it and save' : 'its steps, in order' });
  ed.id = 'cf-editor-card';
  ed.classList.add('cf-editor-card');
  body.appendChild(ed);
  let model;
  try {
    model = await modelAsk;
  } catch (e) {
    if (e.name === 'AbortError' || e.status === 401) return;
    clear(edBox).appendChild(errorBox(e));
    return;
  }
  if (!ctx.isCurrent()) return;
  const saved = (model && model.steps) || [];
  editor(edBox, ctx, saved.length ? saved : isAdmin() ? EXAMPLE : [], { example: !saved.length });
}

function paint(body, data, breakdown) {
  body.appendChild(headline(data));
  const path = card('The expected path', h('div', pathPicture(data),
    h('p.muted.small.cf-note', 'Arrows show the expected order. ',
      h('span.cf-key.skipped', '⤼ skipped'), ' (dashed, over the step): passed it by on the way to a later step. ',
      h('span.cf-key.repeated', '↻ again'), ': came to a step that is not repeatable once more. ',
      h('span.cf-key.back', '↩ back to it'), ': came back to it after a later step (returning to the furthest step afterwards is not a second deviation). Shares are of the ',
      fmt.n(data.touched), ' ', noun(data.touched), ' that touched the journey; pages and events of no step are left out.')),
  { sub: data.source === 'query' ? 'as given in the address' : 'as saved for this site', cls: 'cf-path-card' });
  path.id = 'cf-path-card';
  body.appendChild(path);
  if (!data.touched) return;
  const devs = card('Deviations', deviationsTable(data), { sub: 'most sessions first; a session can have several', cls: 'cf-devs-card' });
  devs.id = 'cf-deviations';
  body.appendChild(devs);
  body.appendChild(segmentsCard(data, breakdown));
}

// ---------- headline ----------
function headline(data) {
  const t = data.touched;
  const share = (x) => (t ? x / t : 0);
  const detours = Math.max(0, data.completed - data.conforming);
  const split = h('div.cf-split#cf-split', {
    role: 'img', 'aria-label': fmt.n(data.conforming) + ' followed it, ' + fmt.n(detours) + ' reached the end with a deviation, ' + fmt.n(t - data.completed) + ' stopped before the end',
  }, h('span.cf-split-ok'), h('span.cf-split-dev'), h('span.cf-split-stop'));
  split.children[0].style.width = share(data.conforming) * 100 + '%';
  split.children[1].style.width = share(detours) * 100 + '%';
  split.children[2].style.width = share(Math.max(0, t - data.completed)) * 100 + '%';
  const fig = (id, label, value, sub, raw) => h('div.cf-fig#' + id, { dataset: { value: String(raw) } },
    h('div.cf-fig-label', label), h('div.cf-fig-value', value), sub ? h('div.cf-fig-sub', sub) : null);
  return card(null, h('div.cf-head',
    h('div.cf-head-main',
      h('p.cf-headline#cf-headline', { dataset: { conforming: String(data.conforming), touched: String(t) } },
        h('strong.cf-big#cf-conforming', fmt.n(data.conforming)), ' of ', h('strong#cf-touched', fmt.n(t)), ' ',
        noun(t) + ' that touched the journey followed it to the end ', h('span.cf-pct#cf-rate', '(' + fmt.pct(data.conforming_rate, 0) + ')')),
      t ? split : null,
      t ? h('p.cf-legend.small',
        h('span.cf-lkey.ok', fmt.n(data.conforming) + ' followed it'),
        h('span.cf-lkey.dev', fmt.n(detours) + ' reached the end with a deviation'),
        h('span.cf-lkey.stop', fmt.n(t - data.completed) + ' stopped before the end')) : null,
      h('div.cf-figs',
        fig('cf-fitness', 'Mean fitness', fitText(data.mean_fitness), '1 = no deviation', data.mean_fitness),
        fig('cf-completed', 'Completed', fmt.n(data.completed), 'reached the last step · ' + fmt.pct(share(data.completed), 0), data.completed),
        fig('cf-sessions', 'Touched', fmt.n(t), 'of ' + fmt.n(data.sessions) + ' ' + noun(data.sessions) + ' in the range', data.sessions))),
    histogram(data.fitness || [])));
}

// Sessions by fitness in tenths, the last bar exactly 1.
function histogram(bins) {
  const max = Math.max(1, ...bins);
  const range = (k) => (k === 10 ? '1 (no deviation)' : (k / 10).toFixed(1) + '–' + ((k + 1) / 10).toFixed(1));
  return h('figure.cf-hist#cf-hist',
    h('figcaption.cf-fig-label', 'Sessions by fitness'),
    h('div.cf-hist-bars', { role: 'img', 'aria-label': 'Sessions by fitness: ' + bins.map((n, k) => range(k) + ': ' + fmt.n(n)).join(', ') },
      bins.map((n, k) => {
        const bar = h('span.cf-hist-bar', { class: k === 10 ? 'perfect' : k >= 5 ? 'mid' : 'low' }, h('span.cf-hist-n', n ? fmt.compact(n) : ''));
        bar.style.height = n ? Math.max(3, (n / max) * 100) + '%' : '0';
        return h('span.cf-hist-col', { title: fmt.n(n) + ' ' + noun(n) + ' with fitness ' + range(k), dataset: { bin: String(k), n: String(n) } }, bar);
      })),
    h('div.cf-hist-axis', { 'aria-hidden': 'true' }, h('span', '0'), h('span', '0.5'), h('span', '1')));
}

// ---------- the expected path ----------
// A target that may wrap after each slash ("/checkout/" "address…").
function breakable(str) {
  return str.split(/(?<=\/)(?=.)/).flatMap((part, i) => (i ? [h('wbr'), part] : [part]));
}

function pathPicture(data) {
  const t = data.touched;
  const steps = data.steps || [];
  const path = h('ol.cf-path#cf-path', { class: steps.some((s) => s.skipped) ? 'has-skips' : '' });
  steps.forEach((st, i) => {
    const share = t ? st.reached / t : 0;
    const tags = [st.optional ? h('span.tag.cf-tag.opt', { title: 'The journey may pass it by' }, 'optional') : null,
      st.repeatable ? h('span.tag.cf-tag.rep', { title: 'It may come again' }, '↻ repeatable') : null].filter(Boolean);
    const devs = [];
    if (st.repeated) {
      devs.push(h('li.cf-dev.repeated', { dataset: { kind: 'repeated', n: String(st.repeated) }, title: fmt.n(st.repeated) + ' ' + noun(st.repeated) + ' came to ' + st.name + ' again (it is not repeatable)' },
        h('span.cf-dev-icon', { 'aria-hidden': 'true' }, '↻'), ' again ', h('strong', fmt.n(st.repeated))));
    }
    if (st.out_of_order) {
      devs.push(h('li.cf-dev.back', { dataset: { kind: 'out_of_order', n: String(st.out_of_order) }, title: fmt.n(st.out_of_order) + ' ' + noun(st.out_of_order) + ' came back to ' + st.name + ' after a later step' },
        h('span.cf-dev-icon', { 'aria-hidden': 'true' }, '↩'), ' back to it ', h('strong', fmt.n(st.out_of_order))));
    }
    const skip = st.skipped ? h('div.cf-skip', {
      class: i === 0 ? 'first' : i === steps.length - 1 ? 'last' : '',
      dataset: { n: String(st.skipped) }, title: fmt.n(st.skipped) + ' ' + noun(st.skipped) + ' passed ' + st.name + ' by on the way to a later step',
    }, h('span.cf-skip-label', h('span.cf-dev-icon', { 'aria-hidden': 'true' }, '⤼'), ' skipped ', h('strong', fmt.n(st.skipped)))) : null;
    const fill = meter(share);
    path.appendChild(h('li.cf-step', {
      class: (st.optional ? 'optional ' : '') + (st.repeatable ? 'repeatable' : ''),
      dataset: { step: st.name, i: String(i), reached: String(st.reached), skipped: String(st.skipped), repeated: String(st.repeated), outOfOrder: String(st.out_of_order) },
    },
    i ? h('span.cf-arrow', { 'aria-hidden': 'true' }) : null,
    h('div.cf-lane', skip),
    h('div.cf-box',
      h('div.cf-box-top', h('span.cf-n', String(i + 1)), h('span.cf-name', { title: st.name }, st.name)),
      h('code.cf-target', { title: st.target }, breakable(targetLabel(st.target))),
      tags.length ? h('div.cf-tags', tags) : null,
      h('div.cf-reached', h('strong.cf-reached-n', fmt.n(st.reached)), h('span.cf-reached-pct', fmt.pct(share) + ' reached')),
      fill),
    devs.length ? h('ul.cf-devs', devs) : null));
  });
  return h('div.cf-path-wrap', path);
}

// ---------- deviations ----------

function deviationsTable(data) {
  const rows = data.deviations || [];
  if (!rows.length) {
    const e = empty('No deviations.', 'Every session that touched the journey kept to its order.');
    e.id = 'cf-no-deviations';
    return e;
  }
  const t = table([
    { label: 'Deviation', render: (d) => h('div.cf-dev-cell',
      h('span.cf-dev-label', h('span.cf-dot', { class: d.kind, 'aria-hidden': 'true' }), h('span.cf-dev-text', deviationText(d))),
      watchLinks(d.examples, 'cf')) },
    { label: 'Sessions', num: true, render: (d) => h('strong.cf-dev-n', fmt.n(d.sessions)) },
    { label: 'Of touched', num: true, title: 'Share of the sessions that touched the journey', render: (d) => h('span.cf-share', h('span.cf-share-pct', fmt.pct(d.share)), meter(d.share, d.kind)) },
  ], rows, { cls: 'cf-dev-table' });
  const trs = t.querySelectorAll('tbody tr');
  rows.forEach((d, i) => {
    if (!trs[i]) return;
    trs[i].dataset.kind = d.kind;
    trs[i].dataset.step = d.step;
    if (d.after) trs[i].dataset.after = d.after;
  });
  return t;
}

// ---------- segments ----------
function segmentsCard(data, breakdown) {
  const by = h('select#cf-breakdown', { 'aria-label': 'Break down by', class: breakdown ? 'set' : '' },
    h('option', { value: '' }, 'No breakdown'),
    DIMENSIONS.map(([v, l]) => h('option', { value: v, selected: v === breakdown }, l)));
  by.addEventListener('change', () => setParams({ breakdown: by.value || null }));
  const pick = h('div.cf-by-pick', h('label.ctl.cf-by-ctl', h('span', 'Break down by'), by));
  let content;
  if (!breakdown || !data.groups) {
    content = h('p.muted.small.cf-by-hint', 'Pick a dimension to see how each channel, device, country… follows the journey.');
  } else {
    const dim = data.breakdown || breakdown;
    const t = table([
      { label: dimLabel(dim), render: (g) => h('span.cf-seg-value', { title: g.value }, segmentText(dim, g.value)) },
      { label: 'Touched', num: true, title: 'Sessions that touched a step', render: (g) => h('span.cf-seg-touched', fmt.n(g.touched)) },
      { label: 'Conforming', num: true, title: 'Followed the journey to the end without a deviation', render: (g) => h('span.cf-seg-rate-cell',
        h('span.cf-seg-rate', fmt.pct(g.conforming_rate)), h('small.cf-seg-conf', fmt.n(g.conforming)), meter(g.conforming_rate, 'good')) },
      { label: 'Mean fitness', num: true, render: (g) => h('span.cf-seg-fit-cell', h('span.cf-seg-fit', fitText(g.mean_fitness)), meter(g.mean_fitness)) },
    ], data.groups, { cls: 'cf-by-table', empty: 'No segments.' });
    const trs = t.querySelectorAll('tbody tr');
    data.groups.forEach((g, i) => { if (trs[i]) trs[i].dataset.value = g.value; });
    content = t;
  }
  const c = card(breakdown ? 'By ' + dimLabel(breakdown).toLowerCase() : 'By segment', content,
    { sub: breakdown ? 'how each ' + dimLabel(breakdown).toLowerCase() + '’s sessions follow the journey, most sessions first' : null, cls: 'cf-by-card' });
  c.insertBefore(pick, content);
  c.id = 'cf-by';
  return c;
}

// ---------- the model's editor ----------
function editor(box, ctx, model, { example }) {
  const steps = model.map((s) => ({ name: s.name || '', target: s.target || '', optional: !!s.optional, repeatable: !!s.repeatable }));
  const admin = isAdmin();
  const list = h('ol.cf-ed-list#cf-ed-list');
  const status = h('div.form-status#cf-status', { role: 'status' });
  const targets = h('datalist#cf-target-list');
  const suggest = targetSuggestions(ctx, targets);
  const add = h('button.btn#cf-add', { type: 'button' }, '+ Add step');
  const rowsPaint = () => {
    clear(list);
    steps.forEach((st, i) => {
      const n = i + 1;
      const name = h('input.cf-ed-name', { type: 'text', value: st.name, maxlength: 64, placeholder: 'Name', 'aria-label': 'Step ' + n + ' name', spellcheck: 'false' });
      name.addEventListener('input', () => { st.name = name.value; });
      const target = h('input.mono.cf-ed-target', {
        type: 'text', value: st.target, placeholder: '^/cart or event:purchase', list: 'cf-target-list',
        'aria-label': 'Step ' + n + ' page pattern or event', spellcheck: 'false', autocomplete: 'off',
      });
      target.addEventListener('input', () => { st.target = target.value; });
      target.addEventListener('focus', suggest);
      const optional = h('input.cf-ed-optional', { type: 'checkbox', checked: st.optional, 'aria-label': 'Step ' + n + ' is optional' });
      optional.addEventListener('change', () => { st.optional = optional.checked; row.dataset.optional = st.optional ? '1' : '0'; });
      const repeat = h('input.cf-ed-repeat', { type: 'checkbox', checked: st.repeatable, 'aria-label': 'Step ' + n + ' is repeatable' });
      repeat.addEventListener('change', () => { st.repeatable = repeat.checked; });
      const mv = (d) => () => {
        const j = i + d;
        if (j < 0 || j >= steps.length) return;
        [steps[i], steps[j]] = [steps[j], steps[i]];
        rowsPaint();
        const again = list.children[j] && list.children[j].querySelector(d < 0 ? '.cf-ed-up' : '.cf-ed-down');
        if (again && !again.disabled) again.focus();
      };
      const row = h('li.cf-ed-row', { dataset: { i: String(i), optional: st.optional ? '1' : '0' } },
        h('span.fe-n.cf-ed-n', String(n)), name, target,
        h('div.cf-ed-flags',
          h('label.cf-ed-flag', { title: 'The journey may pass it by (not the first or last step)' }, optional, 'optional'),
          h('label.cf-ed-flag', { title: 'It may come again, like browsing several products' }, repeat, 'repeatable')),
        h('div.cf-ed-acts',
          h('button.icon-btn.cf-ed-up', { type: 'button', 'aria-label': 'Move step ' + n + ' up', title: 'Move up', disabled: i === 0, on: { click: mv(-1) } }, '↑'),
          h('button.icon-btn.cf-ed-down', { type: 'button', 'aria-label': 'Move step ' + n + ' down', title: 'Move down', disabled: i === steps.length - 1, on: { click: mv(1) } }, '↓'),
          h('button.icon-btn.danger.cf-ed-remove', { type: 'button', 'aria-label': 'Remove step ' + n, title: 'Remove', on: { click: () => { steps.splice(i, 1); rowsPaint(); } } }, '✕')));
      list.appendChild(row);
    });
    add.disabled = !admin || steps.length >= MAX_STEPS;
    if (!steps.length) list.appendChild(h('li.cf-ed-empty.muted.small', 'No steps: saving leaves the site without an expected journey.'));
  };
  add.addEventListener('click', () => {
    if (steps.length >= MAX_STEPS) return;
    steps.push({ name: '', target: '', optional: false, repeatable: false });
    rowsPaint();
    const last = list.querySelector('.cf-ed-row:last-of-type .cf-ed-name');
    if (last) last.focus();
  });
  rowsPaint();
  const save = h('button.btn.btn-primary#cf-save', { type: 'button' }, 'Save journey');
  save.addEventListener('click', async () => {
    const body = {
      steps: steps.map((st) => {
        const x = { name: st.name.trim(), target: st.target.trim() };
        if (st.optional) x.optional = true;
        if (st.repeatable) x.repeatable = true;
        return x;
      }),
    };
    save.disabled = true;
    status.className = 'form-status';
    status.textContent = 'Saving…';
    try {
      await apiSend('PUT', ctx.base + '/conformance/model', body);
    } catch (e) {
      status.className = 'form-status err';
      status.textContent = e.message;
      save.disabled = false;
      return;
    }
    if (!ctx.isCurrent()) return;
    savedNote = body.steps.length ? 'Saved: the sessions above are aligned to these steps.' : 'Saved: the site has no expected journey now.';
    // Drawn again with the new model (the same address).
    setParams({}, { replace: true });
  });
  const saveRow = h('div.row-actions.cf-save-row', save, status);
  clear(box).append(
    h('p.muted.small.cf-ed-help', 'In the order a visit should take them. A step is a page pattern (a regular expression over cleaned paths, like ^/product/) or event:NAME. ',
      h('strong', 'Optional'), ': the journey may pass it by (not the first or the last step). ', h('strong', 'Repeatable'), ': it may come again, like browsing several products. 2 to 20 steps.'),
    h('div.cf-ed-head', { 'aria-hidden': 'true' }, h('span'), h('span', 'Name'), h('span', 'Page pattern or event'), h('span', 'May be'), h('span')),
    list, targets,
    h('div.row-actions', add),
    saveRow);
  if (savedNote) {
    status.className = 'form-status ok';
    status.textContent = savedNote;
    savedNote = '';
  } else if (example && admin) {
    status.className = 'form-status';
    status.textContent = 'Not saved yet: an example for a shop.';
  }
  if (!admin) lockEditor(box, saveRow);
}
