// Journeys: an interactive Sankey (drawn here from /journeys) and the
// server-rendered sankey.svg, plus the path-cleaning rules editor.
import {
  h, s, api, apiImage, apiSend, clear, fmt, card, link, setParams, filterParams, showTip, hideTip,
  popMenu, empty, loading, errorBox, segmented, qv, canWrite, isShare, lockEditor,
} from './core.js';

const STEP_CHOICES = [2, 3, 4, 5, 6, 7, 8, 10];
const NODE_CHOICES = [3, 5, 8, 10, 12, 15, 20];

export async function render(el, ctx) {
  const p = ctx.params;
  const steps = clampInt(p.get('steps'), 2, 10, 5);
  const nodes = clampInt(p.get('nodes'), 2, 30, 8);
  const minLink = clampInt(p.get('min_link'), 1, 1e6, 1);
  const root = p.get('root') || '';
  const expand = p.getAll('expand');
  const mode = p.get('chart') === 'image' ? 'image' : 'interactive';

  el.appendChild(h('div.view-head', h('h1', 'Journeys'),
    h('p.muted', 'The paths sessions take, step by step. Click a page to start the journeys there, expand "other", or see its sessions.')));

  // Controls
  const stepsSel = h('select#j-steps', { 'aria-label': 'Steps' }, STEP_CHOICES.map((n) => h('option', { value: n, selected: n === steps }, n + ' steps')));
  stepsSel.addEventListener('change', () => setParams({ steps: stepsSel.value }));
  const nodesSel = h('select#j-nodes', { 'aria-label': 'Pages per step' }, NODE_CHOICES.map((n) => h('option', { value: n, selected: n === nodes }, n + ' pages / step')));
  nodesSel.addEventListener('change', () => setParams({ nodes: nodesSel.value }));
  const minIn = h('input#j-minlink', { type: 'number', min: 1, value: minLink, 'aria-label': 'Minimum sessions per link', title: 'Hide links with fewer sessions' });
  minIn.addEventListener('change', () => setParams({ min_link: Math.max(1, +minIn.value || 1) === 1 ? null : Math.max(1, +minIn.value) }));
  const controls = h('div.controls',
    h('label.ctl', h('span', 'Depth'), stepsSel),
    h('label.ctl', h('span', 'Detail'), nodesSel),
    h('label.ctl', h('span', 'Min. link'), minIn),
    segmented([['interactive', 'Interactive'], ['image', 'Image']], mode, (v) => setParams({ chart: v === 'interactive' ? null : v }, { replace: true }), 'Chart mode'),
  );
  const chips = h('div.chips');
  if (root) {
    chips.appendChild(h('span.chip#root-chip', 'Starting at ', h('code', root),
      h('button.chip-x', { type: 'button', 'aria-label': 'Clear start page', title: 'Start from entry pages again', on: { click: () => setParams({ root: null, expand: null }) } }, '×')));
  }
  for (const e of expand) {
    chips.appendChild(h('span.chip', 'Expanded ', h('code', e.replace(/^(\d+):/, (m, n) => 'step ' + (+n + 1) + ': ')),
      h('button.chip-x', { type: 'button', 'aria-label': 'Collapse', on: { click: () => setParams({ expand: expand.filter((x) => x !== e) }) } }, '×')));
  }
  const chartBox = h('div.sankey-box#sankey', loading());
  el.appendChild(card(root ? 'Journeys from ' + root : 'Journeys from entry pages', h('div', controls, chips, chartBox), { cls: 'sankey-card' }));

  // A share link is a read-only window on the charts: no settings at all.
  if (!isShare()) {
    const rulesBox = h('div', loading());
    el.appendChild(card('Path-cleaning rules', rulesBox, { sub: 'applied to every page path before it is counted' }));
    renderRules(rulesBox, ctx).catch((e) => { if (e.name !== 'AbortError' && e.status !== 401) clear(rulesBox).appendChild(errorBox(e)); });
  }

  const q = { steps, nodes, min_link: minLink, root: root || null, expand: expand.length ? expand.join(',') : null, ...filterParams(p) };
  if (mode === 'image') {
    await renderImage(chartBox, ctx, q);
    return;
  }
  const [data, stageCfg] = await Promise.all([
    api(ctx.base + '/journeys', q, { signal: ctx.signal }),
    api(ctx.base + '/stages/settings', null, { signal: ctx.signal }).catch(() => null),
  ]);
  if (!ctx.isCurrent()) return;
  const stageOf = stageMatcher(stageCfg);
  const draw = () => drawSankey(chartBox, data, ctx, { expand, root, stageOf });
  draw();
  let lastW = chartBox.clientWidth;
  const ro = new ResizeObserver(() => { if (Math.abs(chartBox.clientWidth - lastW) > 4) { lastW = chartBox.clientWidth; draw(); } });
  ro.observe(chartBox);
  ctx.signal.addEventListener('abort', () => ro.disconnect());
}

function clampInt(v, lo, hi, d) { const n = parseInt(v, 10); return Number.isFinite(n) ? Math.max(lo, Math.min(hi, n)) : d; }

async function renderImage(box, ctx, q) {
  const width = Math.max(200, Math.min(4000, Math.round(box.clientWidth || 1000)));
  const height = Math.max(150, Math.min(4000, Math.round(Math.max(420, q.nodes * 58))));
  const url = await apiImage(ctx.base + '/charts/sankey.svg', { ...q, width, height }, { signal: ctx.signal });
  if (!ctx.isCurrent()) return;
  const img = h('img.chart-img#sankey-img', { alt: 'Journeys Sankey chart', width, height });
  const dl = (ext) => async () => {
    const u = ext === 'svg' ? url : await apiImage(ctx.base + '/charts/sankey.png', { ...q, width: width * 2, height: height * 2 });
    const a = h('a', { href: u, download: 'journeys-' + ctx.site + '.' + ext });
    document.body.appendChild(a); a.click(); a.remove();
  };
  clear(box).append(
    h('div.img-actions', h('button.btn.btn-sm', { type: 'button', on: { click: dl('svg') } }, 'Download SVG'),
      h('button.btn.btn-sm', { type: 'button', on: { click: dl('png') } }, 'Download PNG')),
    img);
  img.src = url;
}

// Only for a server that sends no colours: the answer's own `colour` of
// each node and `stages` win (the rendered chart's palette).
const STAGE_COLOURS = ['#3b6ea8', '#f08a24', '#4ea05a', '#9b6ab5', '#2aa198', '#d4a71f', '#9c755f'];
const NO_STAGE = '#3b6ea8';

// Pages are coloured by their stage (stage settings' regexes, first match).
function stageMatcher(cfg) {
  const stages = ((cfg && cfg.stages) || []).map((st, i) => ({
    name: st.name, colour: STAGE_COLOURS[i % STAGE_COLOURS.length],
    res: (st.pages || []).map((src) => { try { return new RegExp(src); } catch { return null; } }).filter(Boolean),
  }));
  const f = (page) => stages.find((st) => st.res.some((re) => re.test(page))) || null;
  f.stages = stages;
  return f;
}

function drawSankey(box, data, ctx, { expand, root, stageOf }) {
  clear(box);
  const nodes = data.nodes || [];
  if (!nodes.length) { box.appendChild(empty('No journeys in this range.', root ? 'No session visited ' + root + ' with these filters.' : 'Try a longer date range or fewer filters.')); return; }
  const stepsN = Math.max(...nodes.map((n) => n.step)) + 1;
  const W = Math.max(640, box.clientWidth || 1000);
  const cols = [];
  for (let i = 0; i < stepsN; i++) cols.push([]);
  nodes.forEach((n, i) => { n.i = i; n.out = []; n.in = []; cols[n.step].push(n); });
  const links = (data.links || []).filter((l) => nodes[l.from] && nodes[l.to]);
  for (const l of links) { nodes[l.from].out.push(l); nodes[l.to].in.push(l); }
  const maxPer = Math.max(...cols.map((c) => c.length));
  const H = Math.max(360, Math.min(1400, maxPer * 62 + 40));
  const m = { t: 28, b: 12, l: 8, r: Math.round(Math.min(240, Math.max(140, W * 0.19))) };
  const nodeW = 12, gap = 14;
  const colX = (i) => m.l + (stepsN === 1 ? 0 : (i / (stepsN - 1)) * (W - m.l - m.r - nodeW));
  // One scale for every column: the busiest column fills the height.
  const scale = Math.min(...cols.map((c) => {
    const total = c.reduce((a, n) => a + n.sessions, 0);
    return total ? (H - m.t - m.b - gap * (c.length - 1)) / total : Infinity;
  }));
  // The server gives each node its colour (its stage's, from the same
  // palette as the rendered chart), so both charts colour a page alike.
  const colourOf = (n) => n.colour || (n.other ? '#c4c9d1' : NO_STAGE);
  for (const c of cols) {
    let y = m.t;
    for (const n of c) { n.x = colX(n.step); n.y = y; n.h = Math.max(2, n.sessions * scale); y += n.h + gap; }
  }
  // Stack links at both ends in the order of the node at the other end.
  for (const n of nodes) {
    let oy = n.y;
    for (const l of n.out.slice().sort((a, b) => nodes[a.to].y - nodes[b.to].y)) { l.sy = oy; l.w = Math.max(1, l.sessions * scale); oy += l.sessions * scale; }
    // Drop-off leaves below the outgoing links, as in the rendered chart.
    n.dropY = Math.min(oy, n.y + n.h - Math.max(1.5, n.drop_off * scale));
    let iy = n.y;
    for (const l of n.in.slice().sort((a, b) => nodes[a.from].y - nodes[b.from].y)) { l.ty = iy; iy += l.sessions * scale; }
  }

  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, width: W, height: H, class: 'sankey', role: 'img', 'aria-label': 'Journeys Sankey chart' });
  const head = s('g', { class: 'step-heads' });
  for (let i = 0; i < stepsN; i++) {
    head.appendChild(s('text', { x: colX(i), y: 14, 'text-anchor': 'start', class: 'step-label' },
      i === 0 ? (root ? 'Start' : 'Entry') : 'Step ' + (i + 1)));
  }
  svg.appendChild(head);
  const gl = s('g', { class: 'links' });
  const linkEls = [];
  for (const l of links) {
    const a = nodes[l.from], b = nodes[l.to];
    const x0 = a.x + nodeW, x1 = b.x, mx = (x0 + x1) / 2;
    const y0 = l.sy + l.w / 2, y1 = l.ty + l.w / 2;
    const path = s('path', { d: `M${x0},${y0}C${mx},${y0} ${mx},${y1} ${x1},${y1}`, 'stroke-width': l.w, stroke: colourOf(a), class: 'link' });
    path.addEventListener('pointermove', (e) => showTip(e.clientX, e.clientY,
      h('strong', nodeName(a) + ' → ' + nodeName(b)), h('div', fmt.n(l.sessions) + ' sessions'),
      h('div.muted', fmt.pct(a.sessions ? l.sessions / a.sessions : 0) + ' of ' + nodeName(a))));
    path.addEventListener('pointerleave', hideTip);
    l.el = path;
    linkEls.push(path);
    gl.appendChild(path);
  }
  svg.appendChild(gl);
  const colGap = stepsN > 1 ? colX(1) - colX(0) : W;
  // Which nodes get a label: every node tall enough for one, and a smaller
  // one (the larger first) wherever its label keeps a line's height from
  // the labels above and below it in its column. Every node also carries
  // its name and count in a <title>.
  const LINE = 13;
  const labelled = new Set();
  for (const c of cols) {
    const mid = (n) => n.y + n.h / 2;
    const taken = [];
    for (const n of c) if (n.h >= 9) { labelled.add(n); taken.push(mid(n)); }
    for (const n of c.filter((x) => x.h < 9).sort((a, b) => b.sessions - a.sessions)) {
      const y = mid(n);
      if (y + LINE / 2 <= H && taken.every((t) => Math.abs(t - y) >= LINE)) { labelled.add(n); taken.push(y); }
    }
  }
  const gn = s('g', { class: 'nodes' });
  for (const n of nodes) {
    const g = s('g', { class: 'node' + (n.other ? ' other' : ''), tabindex: 0, role: 'button', 'aria-label': nodeName(n) + ', ' + n.sessions + ' sessions, step ' + (n.step + 1), 'data-step': n.step, 'data-page': n.page ?? '' });
    g.appendChild(s('rect', { x: n.x, y: n.y, width: nodeW, height: n.h, rx: 2, fill: colourOf(n) }));
    if (n.drop_off > 0) {
      // A short band bending down and away from the node, as the rendered
      // chart draws those who left.
      const dh = Math.max(1.5, n.drop_off * scale), x = n.x + nodeW, y0 = n.dropY, y1 = y0 + dh, w = 8, dy = 6;
      g.appendChild(s('path', {
        d: `M${x},${y0}C${x + w / 2},${y0} ${x + w / 2},${y0 + dy} ${x + w},${y0 + dy}L${x + w},${y1 + dy}C${x + w / 2},${y1 + dy} ${x + w / 2},${y1} ${x},${y1}Z`,
        class: 'dropoff', fill: data.drop_colour || '#dc3d3d',
      }));
    }
    const last = n.step === stepsN - 1;
    const maxChars = Math.max(6, Math.floor(((last ? m.r : colGap) - nodeW - 34) / 6.8));
    const labelY = n.y + n.h / 2;
    if (labelled.has(n)) {
      const t = s('text', { x: n.x + nodeW + 6, y: labelY, dy: '0.32em', 'text-anchor': 'start', class: 'node-label' },
        truncate(nodeName(n), maxChars), s('tspan', { class: 'node-count', dx: 6 }, fmt.compact(n.sessions)));
      g.appendChild(t);
    }
    g.appendChild(s('rect', { x: n.x - 4, y: n.y - 2, width: nodeW + 8, height: n.h + 4, class: 'node-hit' }));
    g.appendChild(s('title', {}, nodeName(n) + ' · ' + fmt.n(n.sessions) + ' sessions, step ' + (n.step + 1)));
    const highlight = (on) => {
      svg.classList.toggle('focus', on);
      for (const l of [...n.in, ...n.out]) l.el.classList.toggle('hl', on);
    };
    g.addEventListener('pointerenter', () => highlight(true));
    g.addEventListener('pointermove', (e) => showTip(e.clientX, e.clientY, h('strong', nodeName(n)),
      h('div', fmt.n(n.sessions) + ' sessions at step ' + (n.step + 1)),
      n.drop_off ? h('div.bad', fmt.n(n.drop_off) + ' left the site here (' + fmt.pct(n.drop_off / n.sessions) + ')') : null,
      h('div.muted', 'Click for options')));
    g.addEventListener('pointerleave', () => { highlight(false); hideTip(); });
    const open = (e) => {
      hideTip();
      const r = e.currentTarget.getBoundingClientRect ? e.currentTarget.getBoundingClientRect() : { right: e.clientX, top: e.clientY };
      nodeMenu(n, data, ctx, expand, e.clientX || r.right, e.clientY || r.top);
    };
    g.addEventListener('click', open);
    g.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); const r = g.getBoundingClientRect(); nodeMenu(n, data, ctx, expand, r.right, r.top); } });
    gn.appendChild(g);
  }
  svg.appendChild(gn);
  box.appendChild(h('div.sankey-scroll', svg));
  // The legend is the server's: its stages in the colours it drew them in
  // (pages in no stage share the first stage's colour, in both charts).
  const legend = h('div.legend');
  for (const st of (data.stages || stageOf.stages)) {
    const sw = h('span.lg'); sw.style.background = st.colour;
    legend.append(sw, h('span', st.name));
  }
  legend.append(h('span.lg.lg-other'), h('span', 'other pages (click to expand)'), h('span.lg.lg-drop'), h('span', 'left the site here'));
  box.appendChild(legend);
}

function nodeName(n) { return n.other ? 'Other pages' : n.page; }
function truncate(t, n) { return t.length > n ? t.slice(0, n - 1) + '…' : t; }

function nodeMenu(n, data, ctx, expand, x, y) {
  if (n.other) {
    const others = (data.other_pages || [])[n.step] || [];
    const list = h('div.popmenu-list', others.length ? others.slice(0, 30).map((o) => h('button.popmenu-item.split', {
      type: 'button', title: 'Show ' + o.page + ' as its own node',
      on: { click: () => setParams({ expand: [...expand, n.step + ':' + o.page] }) },
    }, h('span.pm-page', o.page), h('span.pm-count', fmt.n(o.sessions)))) : h('div.muted.pad', 'Nothing more to expand.'));
    popMenu(x, y, 'Other pages at step ' + (n.step + 1) + ' — click one to expand it', [{ content: list }]);
    return;
  }
  popMenu(x, y, n.page + ' · ' + fmt.n(n.sessions) + ' sessions', [
    { label: '↳ Start journeys here', action: () => setParams({ root: n.page, expand: null }) },
    { label: '☰ Sessions through this page', href: link('sessions', { q: 'page:' + qv(n.page) }) },
    { label: '⇄ Transitions for this page', href: link('transitions', { page: n.page }) },
    { label: '◉ Heatmap of this page', href: link('heatmaps', { page: n.page }) },
  ]);
}

// ---------- rules editor ----------
async function renderRules(box, ctx) {
  const data = await api(ctx.base + '/rules', null, { signal: ctx.signal });
  if (!ctx.isCurrent()) return;
  let rules = (data.rules || []).map((r) => ({ pattern: r.pattern, replacement: r.replacement }));
  let keep = (data.keep_query || []).slice();
  const status = h('div.form-status', { role: 'status' });
  const list = h('div.rules#rules-list');
  const keepIn = h('input#keep-query', { type: 'text', value: keep.join(', '), placeholder: 'e.g. q, page, sort', 'aria-label': 'Kept query parameters', spellcheck: 'false' });

  const paint = () => {
    clear(list);
    if (!rules.length) list.appendChild(h('p.muted.pad', 'No rules: page paths are used as recorded. Add one to merge paths like /product/123 into /product/:id.'));
    rules.forEach((r, i) => {
      const pat = h('input.mono', { type: 'text', value: r.pattern, placeholder: '^/product/\\d+$', 'aria-label': 'Pattern ' + (i + 1), spellcheck: 'false' });
      const rep = h('input.mono', { type: 'text', value: r.replacement, placeholder: '/product/:id', 'aria-label': 'Replacement ' + (i + 1), spellcheck: 'false' });
      pat.addEventListener('input', () => { r.pattern = pat.value; });
      rep.addEventListener('input', () => { r.replacement = rep.value; });
      const move = (d) => () => { const j = i + d; if (j < 0 || j >= rules.length) return; [rules[i], rules[j]] = [rules[j], rules[i]]; paint(); };
      list.appendChild(h('div.rule-row', { dataset: { index: i } },
        h('span.rule-n', String(i + 1)), pat, h('span.arrow', '→'), rep,
        h('button.icon-btn', { type: 'button', title: 'Move up', 'aria-label': 'Move rule up', disabled: i === 0, on: { click: move(-1) } }, '↑'),
        h('button.icon-btn', { type: 'button', title: 'Move down', 'aria-label': 'Move rule down', disabled: i === rules.length - 1, on: { click: move(1) } }, '↓'),
        h('button.icon-btn.danger', { type: 'button', title: 'Remove', 'aria-label': 'Remove rule', on: { click: () => { rules.splice(i, 1); paint(); } } }, '✕')));
    });
  };
  paint();
  const save = h('button.btn.btn-primary#rules-save', { type: 'button' }, 'Save rules');
  save.addEventListener('click', async () => {
    keep = keepIn.value.split(/[\s,]+/).map((x) => x.trim()).filter(Boolean);
    save.disabled = true;
    status.className = 'form-status';
    status.textContent = 'Saving…';
    try {
      const out = await apiSend('PUT', ctx.base + '/rules', { rules: rules.filter((r) => r.pattern !== ''), keep_query: keep });
      if (out && out.rules) rules = out.rules.map((r) => ({ pattern: r.pattern, replacement: r.replacement }));
      paint();
      status.className = 'form-status ok';
      status.textContent = 'Saved. New rules apply to the charts from now on.';
    } catch (e) {
      status.className = 'form-status err';
      status.textContent = e.message;
    } finally { save.disabled = false; }
  });
  clear(box).append(
    h('p.muted.small', 'Rules run in order; each is a regular expression matched against the path, replaced by the replacement ($1 refers to a group).'),
    list,
    h('div.row-actions', h('button.btn#rules-add', { type: 'button', on: { click: () => { rules.push({ pattern: '', replacement: '' }); paint(); list.querySelector('.rule-row:last-child input').focus(); } } }, '+ Add rule')),
    h('label.field', h('span', 'Kept query parameters'), keepIn, h('small.muted', 'Query parameters kept in page paths (all others are dropped), comma-separated.')),
    h('div.row-actions', save, status));
  if (!canWrite()) lockEditor(box, save.parentElement);
}
