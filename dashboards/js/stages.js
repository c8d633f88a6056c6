// Stages: how far sessions get through the customer-journey stages,
// where they drop off, which stages they skip, and the stage settings.
import {
  h, api, apiSend, clear, fmt, card, filterParams, empty, loading, errorBox, meter, table, canWrite, isShare, lockEditor,
  compareMode, compareName, compareLine, delta, deltaCell,
} from './core.js';

const COLOURS = ['#3b6ea8', '#ef8a2b', '#4e9a4e', '#9467bd', '#2a9d8f', '#c2597a', '#8c6d31'];

export async function render(el, ctx) {
  el.appendChild(h('div.view-head', h('h1', 'Stages'),
    h('p.muted', 'Each page belongs to a stage (by the rules below). See how far sessions get, where they drop off and which stages they skip.')));
  const body = h('div', loading());
  el.append(body);
  // A share link is a read-only window on the charts: no settings at all.
  if (!isShare()) {
    const settingsBox = h('div', loading());
    el.append(card('Stage settings', settingsBox, { sub: 'which pages belong to which stage' }));
    renderSettings(settingsBox, ctx).catch((e) => { if (e.name !== 'AbortError' && e.status !== 401) clear(settingsBox).appendChild(errorBox(e)); });
  }
  const data = await api(ctx.base + '/stages', { compare: compareMode(ctx.params), ...filterParams(ctx.params) }, { signal: ctx.signal });
  if (!ctx.isCurrent()) return;
  clear(body);
  const stages = data.stages || [];
  // Compared: each stage matched by name in the earlier report.
  const prev = data.compare ? data.compare.previous : null;
  const before = (name) => (prev ? (prev.stages || []).find((x) => x.stage === name) || { reached: 0, conversion_from_start: 0 } : null);
  if (!data.sessions) { body.appendChild(card(null, empty('No sessions in this range.'))); return; }
  const colour = new Map(stages.map((s2, i) => [s2.stage, COLOURS[i % COLOURS.length]]));

  // flow: one block per stage, height ∝ reached, arrows with conversion
  const flow = h('div.stage-flow#stage-flow');
  stages.forEach((st, i) => {
    const fill = h('span.sf-fill');
    fill.style.height = (data.sessions ? (st.reached / data.sessions) * 100 : 0) + '%';
    fill.style.background = colour.get(st.stage);
    // A side stage (help, account) is off the main line: no arrow into it.
    if (i > 0 && !st.side) flow.appendChild(h('div.sf-arrow', h('span', fmt.pct(st.conversion_from_previous)), h('span.muted', '→')));
    flow.appendChild(h('div.sf-stage' + (st.side ? '.sf-side' : ''), { dataset: { stage: st.stage, side: st.side ? '1' : '0' } },
      h('div.sf-bar', fill),
      h('div.sf-name', st.stage + (st.side ? ' (side)' : '')),
      h('div.sf-num', fmt.n(st.reached)),
      h('div.sf-sub', fmt.pct(st.conversion_from_start) + ' of all'),
      prev ? h('div.sf-delta', delta(st.reached, before(st.stage).reached)) : null));
  });
  // The headline is what the stages lead to: goal conversions.
  const noPrev = prev ? !prev.sessions : false;
  body.appendChild(h('div.kpis',
    h('div.kpi#stage-conversion', h('div.kpi-label', 'Converted (reached a goal)'), h('div.kpi-value', fmt.pct(data.conversion_rate)), h('div.kpi-sub', fmt.n(data.converted) + ' sessions'),
      prev ? compareLine(data.conversion_rate, prev.conversion_rate, { rate: true, none: noPrev, noneText: 'no sessions before' }) : null),
    h('div.kpi', h('div.kpi-label', 'Sessions'), h('div.kpi-value', fmt.n(data.sessions)), prev ? compareLine(data.sessions, prev.sessions) : null),
    h('div.kpi', h('div.kpi-label', 'Without any stage'), h('div.kpi-value', fmt.n(data.unstaged)), h('div.kpi-sub', fmt.pct(data.unstaged / data.sessions) + ' of sessions'),
      prev ? compareLine(data.unstaged, prev.unstaged, { neutral: true }) : null),
    ...stages.filter((st) => !st.side).slice(-1).map((st) => h('div.kpi', h('div.kpi-label', 'Reached ' + st.stage), h('div.kpi-value', fmt.pct(st.conversion_from_start)),
      prev ? compareLine(st.conversion_from_start, before(st.stage).conversion_from_start, { rate: true, none: noPrev, noneText: 'no sessions before' }) : null))));
  body.appendChild(card('Progress through the stages', h('div', flow,
    h('p.muted.small', '"Reached" counts sessions that got to a stage or any later one of the main line; a side stage (help, account) counts who visited it and implies nothing before it. The arrow shows the share that went on from the previous stage.'))));

  body.appendChild(card('Stage details', table([
    { label: 'Stage', render: (r) => h('span.stage-name', h('span.dot-c', { dataset: { c: '' } }), r.stage) },
    { label: 'Reached', num: true, render: (r) => fmt.n(r.reached) },
    ...(prev ? [{ label: 'Change', num: true, title: 'Reached, against the ' + compareName(data.compare.mode), render: (r) => deltaCell(r.reached, before(r.stage).reached) }] : []),
    { label: 'Visited', num: true, title: 'Sessions that viewed a page of this stage', render: (r) => fmt.n(r.visited) },
    { label: 'Skipped', num: true, title: 'Reached a later stage without visiting this one', render: (r) => h('span', fmt.n(r.skipped), r.reached ? h('small.muted', ' ' + fmt.pct(r.skipped / r.reached)) : null) },
    { label: 'Ended here', num: true, title: 'Sessions whose deepest stage was this one', render: (r) => fmt.n(r.deepest) },
    { label: 'Drop-off', num: true, render: (r) => h('span', fmt.pct(r.drop_off_rate), meter(r.drop_off_rate, r.drop_off_rate > 0.5 ? 'bad' : 'warn')) },
    { label: 'From previous', num: true, render: (r) => fmt.pct(r.conversion_from_previous) },
    { label: 'From start', num: true, render: (r) => fmt.pct(r.conversion_from_start) },
  ], stages, { cls: 'stages-table' })));
  for (const dot of body.querySelectorAll('.stages-table tbody tr')) {
    const name = dot.querySelector('.stage-name').lastChild.textContent;
    dot.querySelector('.dot-c').style.background = colour.get(name) || '#999';
  }

  const seqs = data.sequences || [];
  const maxSeq = Math.max(1, ...seqs.map((x) => x.sessions));
  body.appendChild(card('Most common stage sequences', seqs.length ? h('div.seqs#stage-sequences', seqs.map((sq) => {
    const bar = h('span.bar'); bar.style.width = (sq.sessions / maxSeq) * 100 + '%';
    return h('div.barlist-row.seq-row', bar, h('span.bl-cell.seq-chain', sq.stages.map((name, i) => {
      const c = h('span.seq-stage', name); c.style.borderColor = colour.get(name) || '#999';
      return [i ? h('span.muted', '→') : null, c];
    })), h('span.bl-value', fmt.n(sq.sessions), h('small', fmt.pct(sq.sessions / data.sessions))));
  })) : empty('No sequences.')));
}

async function renderSettings(box, ctx) {
  const cfg = await api(ctx.base + '/stages/settings', null, { signal: ctx.signal });
  if (!ctx.isCurrent()) return;
  let stages = (cfg.stages || []).map((x) => ({ name: x.name, pages: (x.pages || []).join('\n'), side: !!x.side }));
  const goals = h('textarea#stage-goals', { rows: Math.max(2, (cfg.goals || []).length), spellcheck: 'false', 'aria-label': 'Goals' });
  goals.value = (cfg.goals || []).join('\n');
  const list = h('div.stage-settings#stage-settings');
  const status = h('div.form-status', { role: 'status' });
  const paint = () => {
    clear(list);
    stages.forEach((st, i) => {
      const name = h('input', { type: 'text', value: st.name, 'aria-label': 'Stage ' + (i + 1) + ' name' });
      const pages = h('textarea', { rows: Math.max(2, st.pages.split('\n').length), spellcheck: 'false', 'aria-label': 'Stage ' + (i + 1) + ' page patterns' });
      pages.value = st.pages;
      name.addEventListener('input', () => { st.name = name.value; });
      const side = h('input.ss-side', { type: 'checkbox', checked: st.side, 'aria-label': 'Stage ' + (i + 1) + ' is a side stage' });
      side.addEventListener('change', () => { st.side = side.checked; });
      pages.addEventListener('input', () => { st.pages = pages.value; });
      const mv = (d) => () => { const j = i + d; if (j < 0 || j >= stages.length) return; [stages[i], stages[j]] = [stages[j], stages[i]]; paint(); };
      const sw = h('span.dot-c'); sw.style.background = COLOURS[i % COLOURS.length];
      list.appendChild(h('div.ss-row', h('div.ss-name', sw, name,
        h('label.small.muted', { title: 'Off the main line (help, account): a visit implies no progress through the stages before it' }, side, ' side stage')), pages,
        h('div.ss-acts',
          h('button.icon-btn', { type: 'button', 'aria-label': 'Move stage up', disabled: i === 0, on: { click: mv(-1) } }, '↑'),
          h('button.icon-btn', { type: 'button', 'aria-label': 'Move stage down', disabled: i === stages.length - 1, on: { click: mv(1) } }, '↓'),
          h('button.icon-btn.danger', { type: 'button', 'aria-label': 'Remove stage', on: { click: () => { stages.splice(i, 1); paint(); } } }, '✕'))));
    });
  };
  paint();
  const save = h('button.btn.btn-primary#stages-save', { type: 'button' }, 'Save settings');
  save.addEventListener('click', async () => {
    const body = {
      stages: stages.map((st) => ({ name: st.name.trim(), pages: st.pages.split('\n').map((x) => x.trim()).filter(Boolean), side: st.side })),
      goals: goals.value.split('\n').map((x) => x.trim()).filter(Boolean),
    };
    save.disabled = true; status.className = 'form-status'; status.textContent = 'Saving…';
    try {
      await apiSend('PUT', ctx.base + '/stages/settings', body);
      status.className = 'form-status ok';
      status.textContent = 'Saved. Reload the page to see the stages recomputed.';
    } catch (e) { status.className = 'form-status err'; status.textContent = e.message; } finally { save.disabled = false; }
  });
  clear(box).append(
    h('p.muted.small', 'One regular expression per line; a page belongs to the first stage with a matching pattern. Order = the order of the journey.'),
    h('div.ss-head', h('span', 'Stage'), h('span', 'Page patterns'), h('span')),
    list,
    h('div.row-actions', h('button.btn', { type: 'button', on: { click: () => { stages.push({ name: 'new stage', pages: '' }); paint(); } } }, '+ Add stage')),
    h('label.field', h('span', 'Goals'), goals, h('small.muted', 'What counts as a conversion, one per line: a page pattern (a regular expression over cleaned paths, e.g. ^/thank-you), or event:NAME, or event:NAME KEY=VALUE for a custom event (e.g. event:signup plan=pro).')),
    h('div.row-actions', save, status));
  if (!canWrite()) lockEditor(box, save.parentElement);
}
