// Transitions: for one page, where sessions came from and where they went.
import { h, api, clear, fmt, card, link, setParams, filterParams, empty, loading, qv, compareMode, delta } from './core.js';

export const TOP = 6; // rows per side before "Show all"

export async function pagePicker(ctx, current, onPick, { id = 'page-picker', label = 'Page' } = {}) {
  const data = await api(ctx.base + '/exits', filterParams(ctx.params), { signal: ctx.signal });
  const pages = (data.pages || []).slice().sort((a, b) => b.views - a.views);
  const input = h('input#' + id, { type: 'search', list: id + '-list', value: current || '', placeholder: 'Type or pick a page path', 'aria-label': label, spellcheck: 'false', autocomplete: 'off' });
  const dl = h('datalist#' + id + '-list', pages.slice(0, 500).map((p) => h('option', { value: p.page }, fmt.n(p.views) + ' views')));
  const go = () => { const v = input.value.trim(); if (v && v !== current) onPick(v); };
  input.addEventListener('change', go);
  input.addEventListener('keydown', (e) => { if (e.key === 'Enter') go(); });
  return { el: h('label.ctl.page-pick', h('span', label), input, dl), pages };
}

export async function render(el, ctx) {
  el.appendChild(h('div.view-head', h('h1', 'Transitions'),
    h('p.muted', 'Pick a page: see where its visitors came from and where they went next. Click any page to walk the flow.')));
  const head = h('div.controls');
  const body = h('div', loading());
  el.append(h('div.card', head), body);
  let page = ctx.params.get('page');
  const picker = await pagePicker(ctx, page, (v) => setParams({ page: v, more_prev: null, more_next: null }));
  if (!ctx.isCurrent()) return;
  head.appendChild(picker.el);
  if (!page) {
    if (!picker.pages.length) { clear(body).appendChild(empty('No page views in this range.')); return; }
    page = picker.pages[0].page;
    picker.el.querySelector('input').value = page;
  }
  const data = await api(ctx.base + '/transitions', { page, top: TOP, compare: compareMode(ctx.params), ...filterParams(ctx.params) }, { signal: ctx.signal });
  if (!ctx.isCurrent()) return;
  clear(body);
  // Compared: each row's change against the earlier report, whose lists
  // (top rows and the rest) name every page, so a page absent there had
  // no views then. Neither way is better: the arrows are grey.
  const prev = data.compare ? data.compare.previous : null;
  const earlierViews = (list, more, p) => {
    const r = [...(list || []), ...(more || [])].find((x) => x.page === p);
    return r ? r.views : 0;
  };
  const change = (n, before) => (prev ? delta(n, before, { neutral: true }) : null);
  const views = data.views || 0;
  const pct = (n) => (views ? fmt.pct(n / views) : '');
  const moreP = ctx.params.get('more_prev') === '1';
  const moreN = ctx.params.get('more_next') === '1';

  // Bars are scaled to the largest row on either side, so they read well.
  const all = [data.entries, data.exits, data.previous_other, data.next_other,
    ...[...(data.previous || []), ...(data.next || []), ...(data.previous_more || []), ...(data.next_more || [])].map((x) => x.views)];
  const maxRow = Math.max(1, ...all.filter((n) => Number.isFinite(n)));
  const row = (label, n, { href, cls, title, before } = {}) => {
    const bar = h('span.bar' + (cls ? '.' + cls : ''));
    bar.style.width = Math.max(0.5, (n / maxRow) * 100) + '%';
    return h('div.barlist-row.trow', bar,
      h('span.bl-cell', href ? h('a.bl-label', { href, title: title || label }, label) : h('span.bl-label.special', { title: title || label }, label)),
      h('span.bl-value', fmt.n(n), h('small', pct(n)), before === undefined ? null : change(n, before)));
  };
  const side = (list, more, other, expanded, key, special, prevList, prevMore) => {
    const rows = [];
    const before = (p) => (prev ? earlierViews(prevList, prevMore, p) : undefined);
    if (special) rows.push(special);
    for (const x of list || []) rows.push(row(x.page, x.views, { href: link('transitions', { page: x.page }), before: before(x.page) }));
    if (other > 0) {
      if (expanded) {
        for (const x of more || []) rows.push(row(x.page, x.views, { href: link('transitions', { page: x.page }), cls: 'soft', before: before(x.page) }));
        rows.push(h('button.btn.btn-sm.btn-ghost.more-btn', { type: 'button', on: { click: () => setParams({ [key]: null }, { replace: true }) } }, 'Show fewer'));
      } else {
        const r = row('Other pages (' + (more || []).length + ')', other, { cls: 'soft' });
        const b = h('button.btn.btn-sm.btn-ghost.more-btn', { type: 'button', dataset: { more: key }, on: { click: () => setParams({ [key]: '1' }, { replace: true }) } }, 'Show all');
        rows.push(r, b);
      }
    }
    return rows.length ? h('div.barlist', rows) : empty('None.');
  };
  const cameFrom = side(data.previous, data.previous_more, data.previous_other, moreP, 'more_prev',
    data.entries ? row('Entered the site here', data.entries, { cls: 'entry', title: 'Sessions that started on this page', before: prev ? prev.entries : undefined }) : null,
    prev && prev.previous, prev && prev.previous_more);
  const wentTo = side(data.next, data.next_more, data.next_other, moreN, 'more_next',
    data.exits ? row('Left the site', data.exits, { cls: 'exit', title: 'Sessions that ended on this page', before: prev ? prev.exits : undefined }) : null,
    prev && prev.next, prev && prev.next_more);
  const centre = h('div.tcentre',
    h('div.tc-page', data.page),
    h('div.tc-stats',
      h('div', h('strong', fmt.n(views)), h('span', 'views'), prev ? change(views, prev.views) : null),
      h('div', h('strong', fmt.n(data.entries)), h('span', 'entries'), prev ? change(data.entries, prev.entries) : null),
      h('div', h('strong', fmt.n(data.exits)), h('span', 'exits · ' + pct(data.exits)), prev ? change(data.exits, prev.exits) : null)),
    h('div.acts',
      h('a', { href: link('sessions', { q: 'page:' + qv(data.page) }) }, 'Sessions'),
      h('a', { href: link('heatmaps', { page: data.page }) }, 'Heatmap'),
      h('a', { href: link('journeys', { root: data.page }) }, 'Journeys from here')));
  body.appendChild(h('div.transitions#transitions',
    card('Came from', cameFrom, { sub: 'previous page', cls: 'tside' }),
    centre,
    card('Went to', wentTo, { sub: 'next page', cls: 'tside' })));
}
