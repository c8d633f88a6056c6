// Funnels: define steps (regexes over page paths) on the page, see
// conversion per step, the server chart, and where drop-offs went.
import { h, api, apiImage, clear, fmt, card, link, setParams, filterParams, empty, loading, errorBox, reEscape, qv } from './core.js';

export async function render(el, ctx) {
  const p = ctx.params;
  // Steps and their optional names travel as repeated step= and name=
  // parameters, aligned by position.
  const named = p.getAll('step').map((x, i) => [x, p.getAll('name')[i] || '']).filter(([x]) => x !== '');
  let steps = named.map(([x]) => x);
  let names = named.map(([, n]) => n);
  const win = Math.max(1, parseInt(p.get('window'), 10) || 60);
  const strict = p.get('strict') === '1';
  el.appendChild(h('div.view-head', h('h1', 'Funnels'),
    h('p.muted', 'Steps are regular expressions over page paths, in order. A session converts when it reaches each step in turn within the time window.')));

  const [exits, paths, settings] = await Promise.all([
    api(ctx.base + '/exits', filterParams(p), { signal: ctx.signal }).catch(() => ({ pages: [] })),
    steps.length ? null : api(ctx.base + '/paths', { steps: 5, top: 1, ...filterParams(p) }, { signal: ctx.signal }).catch(() => null),
    steps.length ? null : api(ctx.base + '/stages/settings', null, { signal: ctx.signal }).catch(() => null),
  ]);
  if (!ctx.isCurrent()) return;
  let suggested = false;
  if (!steps.length) {
    // A funnel is about converting: suggest the most common path into the
    // most viewed goal page (the site's goal patterns), else the most
    // common path.
    // Only page goals: an event goal (`event:NAME`) is no page pattern.
    const goals = ((settings && settings.goals) || []).filter((g) => !g.startsWith('event:'))
      .map((g) => { try { return new RegExp(g); } catch (e) { return null; } }).filter(Boolean);
    const goal = (exits.pages || []).filter((x) => goals.some((re) => re.test(x.page))).sort((a, b) => b.views - a.views)[0];
    const toGoal = goal ? await api(ctx.base + '/paths', { steps: 5, top: 1, end: goal.page, ...filterParams(p) }, { signal: ctx.signal }).catch(() => null) : null;
    if (!ctx.isCurrent()) return;
    const intoGoal = toGoal && toGoal.paths && toGoal.paths[0];
    const top = intoGoal && intoGoal.pages.length >= 2 ? intoGoal : paths && paths.paths && paths.paths[0];
    steps = top && top.pages.length >= 2 ? top.pages.map((x) => '^' + reEscape(x) + '$') : ['', ''];
    suggested = !!(top && top.pages.length >= 2);
  }
  const pages = (exits.pages || []).slice().sort((a, b) => b.views - a.views);

  // ---- editor ----
  const list = h('ol.funnel-editor#funnel-editor');
  const dl = h('datalist#funnel-pages', pages.slice(0, 300).map((x) => h('option', { value: '^' + reEscape(x.page) + '$' }, x.page)));
  let draft = steps.slice();
  let draftNames = steps.map((_, i) => names[i] || '');
  const paint = () => {
    clear(list);
    draft.forEach((v, i) => {
      const inp = h('input.mono.step-input', { type: 'text', value: v, list: 'funnel-pages', placeholder: i === 0 ? 'e.g. ^/$ or /product/' : 'e.g. ^/cart', 'aria-label': 'Step ' + (i + 1), spellcheck: 'false' });
      inp.addEventListener('input', () => { draft[i] = inp.value; });
      inp.addEventListener('keydown', (e) => { if (e.key === 'Enter') run(); });
      const nameIn = h('input.step-name', { type: 'text', value: draftNames[i] || '', maxlength: 60, placeholder: 'Name (optional)', 'aria-label': 'Name of step ' + (i + 1) });
      nameIn.addEventListener('input', () => { draftNames[i] = nameIn.value; });
      nameIn.addEventListener('keydown', (e) => { if (e.key === 'Enter') run(); });
      const swap = (a, x, y) => { [a[x], a[y]] = [a[y], a[x]]; };
      const mv = (d) => () => { const j = i + d; if (j < 0 || j >= draft.length) return; swap(draft, i, j); swap(draftNames, i, j); paint(); };
      list.appendChild(h('li.fe-row', h('span.fe-n', String(i + 1)), nameIn, inp,
        h('button.icon-btn', { type: 'button', 'aria-label': 'Move step up', disabled: i === 0, on: { click: mv(-1) } }, '↑'),
        h('button.icon-btn', { type: 'button', 'aria-label': 'Move step down', disabled: i === draft.length - 1, on: { click: mv(1) } }, '↓'),
        h('button.icon-btn.danger', { type: 'button', 'aria-label': 'Remove step', disabled: draft.length <= 2, on: { click: () => { draft.splice(i, 1); draftNames.splice(i, 1); paint(); } } }, '✕')));
    });
  };
  paint();
  const winIn = h('input#funnel-window', { type: 'number', min: 1, value: win, 'aria-label': 'Window in minutes' });
  const strictIn = h('input#funnel-strict', { type: 'checkbox', checked: strict });
  const run = () => {
    const kept = draft.map((x, i) => [x.trim(), (draftNames[i] || '').trim()]).filter(([x]) => x);
    setParams({ step: kept.map(([x]) => x), name: kept.some(([, n]) => n) ? kept.map(([, n]) => n) : null, window: +winIn.value === 60 ? null : Math.max(1, +winIn.value || 60), strict: strictIn.checked ? '1' : null });
  };
  el.appendChild(card('Steps', h('div',
    suggested ? h('p.notice', 'Suggested from your most common path. Edit the steps and press "Show funnel".') : null,
    list, dl,
    h('div.row-actions',
      h('button.btn#funnel-add', { type: 'button', on: { click: () => { draft.push(''); draftNames.push(''); paint(); list.lastChild.querySelector('input').focus(); } } }, '+ Add step'),
      h('label.ctl', h('span', 'Within'), winIn, h('span', 'minutes')),
      h('label.tb-check', strictIn, 'Strict order (no other pages between steps)'),
      h('span.topbar-spacer'),
      h('button.btn.btn-primary#funnel-run', { type: 'button', on: { click: run } }, 'Show funnel'))), { cls: 'funnel-card' }));

  const results = h('div#funnel-results', loading());
  el.appendChild(results);
  const active = steps.filter(Boolean);
  if (active.length < 2) { clear(results).appendChild(card(null, empty('Define at least two steps.'))); return; }
  const q = { step: active, name: names.some(Boolean) ? names : null, window_minutes: win, strict: strict ? 'true' : null, ...filterParams(p) };
  let data;
  try {
    data = await api(ctx.base + '/funnel', q, { signal: ctx.signal });
  } catch (e) {
    if (e.status === 400) { clear(results).appendChild(stepError(e, list, active)); return; }
    throw e;
  }
  if (!ctx.isCurrent()) return;
  clear(results);
  const first = data.steps[0] ? data.steps[0].sessions : 0;
  const last = data.steps.length ? data.steps[data.steps.length - 1].sessions : 0;
  results.appendChild(h('div.kpis',
    h('div.kpi', h('div.kpi-label', 'Entered funnel'), h('div.kpi-value', fmt.n(first))),
    h('div.kpi', h('div.kpi-label', 'Converted'), h('div.kpi-value', fmt.n(last))),
    h('div.kpi', { dataset: { kpi: 'overall' } }, h('div.kpi-label', 'Overall conversion'), h('div.kpi-value', fmt.pct(data.overall_conversion))),
    h('div.kpi', h('div.kpi-label', 'Window'), h('div.kpi-value', fmt.dur(data.window_ms / 1000)), h('div.kpi-sub', data.strict ? 'strict order' : 'other pages allowed between steps'))));

  const rows = data.steps.map((st, i) => {
    const bar = h('span.fbar-fill');
    bar.style.width = (first ? (st.sessions / first) * 100 : 0) + '%';
    const drop = st.dropped > 0 && i < data.steps.length - 1;
    const dropInfo = drop ? h('details.drop',
      h('summary', h('span.bad', '▼ ' + fmt.n(st.dropped) + ' dropped off'), ' before step ' + (i + 2),
        st.dropped_exited ? h('span.muted', ' · ' + fmt.n(st.dropped_exited) + ' left the site') : null),
      st.dropped_to && st.dropped_to.length
        ? h('ul.drop-list', st.dropped_to.map((d) => h('li', h('a', { href: link('transitions', { page: d.page }) }, d.page),
          h('span.num', fmt.n(d.sessions)), h('a.small', { href: link('sessions', { q: 'page:' + qv(d.page) }) }, 'sessions'))))
        : h('p.muted.small', 'No page recorded after the drop.')) : null;
    return h('div.fstep', { dataset: { step: i } },
      h('div.fstep-head', h('span.fe-n', String(i + 1)),
        st.name && st.name !== st.step ? h('span.fstep-name', st.name) : null, h('code.fstep-re', st.step),
        h('span.fstep-num', fmt.n(st.sessions), h('small', ' sessions'))),
      h('div.fbar', bar, h('span.fbar-label', fmt.pct(st.conversion_from_start) + ' of start')),
      h('div.fstep-meta', i > 0 ? h('span', fmt.pct(st.conversion_from_previous) + ' from previous step') : h('span.muted', 'Sessions that reached the first step')),
      dropInfo);
  });
  results.appendChild(card('Conversion by step', h('div.fsteps#funnel-steps', rows)));

  const chartBox = h('div', loading());
  results.appendChild(card('Funnel chart', chartBox, { sub: 'server-rendered (funnel.svg)' }));
  const url = await apiImage(ctx.base + '/charts/funnel.svg', q, { signal: ctx.signal });
  if (!ctx.isCurrent()) return;
  const img = h('img.chart-img#funnel-img', { alt: 'Funnel chart' });
  img.src = url;
  clear(chartBox).appendChild(img);
}

// A step the server refused ("step 1 ("(x") is not a valid regex: unclosed
// group at character 2"): that step's input is marked and the message is
// shown under the editor with the pattern and a caret at the character,
// instead of a generic error box. Other 400s keep the error box.
function stepError(e, list, active) {
  const m = /^step (\d+) \(.*?\) (.*?)(?: at character (\d+))?$/.exec(e.message || '');
  if (!m || !active[+m[1]]) return errorBox(e);
  const i = +m[1];
  const rows = list.querySelectorAll('.fe-row');
  // The editor has every row, the query only the non-empty ones.
  let seen = -1;
  for (const row of rows) {
    const inp = row.querySelector('.step-input');
    if (inp.value.trim()) seen += 1;
    if (seen === i) { inp.classList.add('invalid'); inp.setAttribute('aria-invalid', 'true'); inp.focus(); break; }
  }
  const col = m[3] ? +m[3] : 0;
  return h('div.error-box.step-error#funnel-step-error', { role: 'alert' },
    h('strong', 'Step ' + (i + 1) + ' ' + m[2]),
    h('pre.err-msg', active[i] + (col ? '\n' + ' '.repeat(col - 1) + '^' : '')));
}
