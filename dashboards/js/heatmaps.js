// Heatmaps: the click heatmap of a page (overlay style, transparent PNG at
// the page's document size) over a neutral canvas, or its scroll map.
import { h, api, apiImage, clear, fmt, card, link, setParams, filterParams, empty, loading, segmented, qv } from './core.js';
import { pagePicker } from './transitions.js';

// The stored layout of a page at a viewport class (session replay keeps
// them) as the background of the heatmap: the server's latest layout of
// the page, shown only through a sandboxed, script-less iframe of the
// trailmap server's frame route (never fetched into the dashboard). The
// iframe is laid out at the recorded viewport width and document height
// and scaled to the canvas; pointer events pass through to the overlay.
// Without a stored layout (404) this returns null: the neutral canvas stays.
const FRAME_URL = /^\/replay\/frame\/[^/?#]+\/[0-9a-f]{64}\?/;
export async function loadLayout(ctx, page, viewport) {
  let info;
  try {
    info = await api(ctx.base + '/layouts', { page, viewport }, { signal: ctx.signal });
  } catch (e) {
    if (e && e.name === 'AbortError') throw e;
    return null;
  }
  if (!info || typeof info.frame_url !== 'string' || !FRAME_URL.test(info.frame_url)) return null;
  const seen = info.seen || {};
  const px = (v) => (typeof v === 'number' && v > 0 ? Math.round(v) : 0);
  const vw = px(seen.vw) || px(seen.dw) || (viewport === 'mobile' ? 390 : viewport === 'tablet' ? 820 : 1440);
  const dw = Math.max(px(seen.dw), vw);
  const dh = Math.max(px(seen.dh), px(seen.vh), 400);
  const frame = h('iframe.hm-layout-frame', {
    sandbox: '', src: info.frame_url, scrolling: 'no', tabindex: '-1', 'aria-hidden': 'true',
    title: 'Stored layout of ' + page, referrerpolicy: 'no-referrer',
  });
  frame.style.width = vw + 'px';
  frame.style.height = dh + 'px';
  const box = h('div.hm-layout-box', { dataset: { hash: info.hash || '', doc: dw + 'x' + dh } }, frame);
  const ro = new ResizeObserver(() => {
    const w = box.clientWidth;
    if (w) frame.style.transform = 'scale(' + (w / dw) + ')';
  });
  ro.observe(box);
  if (ctx.signal) ctx.signal.addEventListener('abort', () => ro.disconnect(), { once: true });
  return box;
}

export async function render(el, ctx) {
  const p = ctx.params;
  const viewport = ['mobile', 'tablet', 'desktop'].includes(p.get('viewport')) ? p.get('viewport') : 'desktop';
  const count = p.get('count') === 'sessions' ? 'sessions' : 'clicks';
  const layer = ['clicks', 'frustration'].includes(p.get('layer')) ? p.get('layer') : 'both';
  const map = p.get('map') === 'scroll' ? 'scroll' : 'clicks';
  el.appendChild(h('div.view-head', h('h1', 'Heatmaps'),
    h('p.muted', 'Where visitors click, and how far down they scroll, per page and screen size.')));
  const controls = h('div.controls.hm-controls');
  el.appendChild(h('div.card', controls));
  const body = h('div', loading());
  el.appendChild(body);

  let page = p.get('page');
  const picker = await pagePicker(ctx, page, (v) => setParams({ page: v }), { id: 'hm-page' });
  if (!ctx.isCurrent()) return;
  if (!page && picker.pages.length) { page = picker.pages[0].page; picker.el.querySelector('input').value = page; }
  controls.append(picker.el,
    segmented([['clicks', 'Click map'], ['scroll', 'Scroll map']], map, (v) => setParams({ map: v === 'clicks' ? null : v }, { replace: true }), 'Map'),
    segmented([['mobile', 'Mobile'], ['tablet', 'Tablet'], ['desktop', 'Desktop']], viewport, (v) => setParams({ viewport: v }, { replace: true }), 'Viewport'));
  if (map === 'clicks') {
    controls.append(
      h('label.ctl', h('span', 'Count'), segmented([['clicks', 'Clicks'], ['sessions', 'Sessions']], count, (v) => setParams({ count: v === 'clicks' ? null : v }, { replace: true }), 'Count')),
      h('label.ctl', h('span', 'Layer'), segmented([['both', 'All'], ['clicks', 'Clicks'], ['frustration', 'Rage & dead']], layer, (v) => setParams({ layer: v === 'both' ? null : v }, { replace: true }), 'Layer')));
  }
  if (!page) { clear(body).appendChild(card(null, empty('No page views in this range.'))); return; }

  const info = picker.pages.find((x) => x.page === page);
  const side = h('div.hm-side',
    h('div.hm-page.mono', page),
    info ? h('dl.facts',
      // The page's figures cover every device; the map shows one class.
      h('dt', 'Views, all devices'), h('dd', fmt.n(info.views)),
      h('dt', 'Entries'), h('dd', fmt.n(info.entries)),
      h('dt', 'Exit rate'), h('dd', fmt.pct(info.exit_rate)),
      h('dt', 'Bounce rate'), h('dd', fmt.pct(info.bounce_rate))) : null,
    h('div.acts.col',
      h('a', { href: link('sessions', { q: 'page:' + qv(page) + ' AND device:' + viewport }) }, 'Sessions on ' + viewport),
      h('a', { href: link('transitions', { page }) }, 'Transitions'),
      h('a', { href: link('journeys', { root: page }) }, 'Journeys from here')),
    map === 'clicks' ? h('div.hm-legend', h('span.hm-ramp'), h('div.hm-ramp-l', h('span', 'fewer'), h('span', 'more ' + count)),
      h('p.small.muted', layer === 'frustration' ? 'Only rage and dead clicks.' : 'Circled spots: rage or dead clicks.')) : null);
  const stage = h('div.hm-stage#hm-stage', loading());
  clear(body).appendChild(h('div.hm-wrap', h('div.card.hm-card', stage), side));

  const f = filterParams(p);
  if (map === 'scroll') {
    const url = await apiImage(ctx.base + '/charts/scrollmap.png', { page, viewport, ...f }, { signal: ctx.signal });
    if (!ctx.isCurrent()) return;
    const img = h('img.chart-img#scrollmap-img', { alt: 'Scroll map of ' + page + ' on ' + viewport });
    img.src = url;
    clear(stage).appendChild(img);
    return;
  }
  // The layout first: the clicks are drawn onto its width, so that the
  // overlay and the page behind it share one coordinate system.
  const layout = await loadLayout(ctx, page, viewport);
  if (!ctx.isCurrent()) return;
  const onto = layout ? { layout_width: layout.dataset.doc.split('x')[0] } : {};
  const url = await apiImage(ctx.base + '/charts/heatmap.png',
    { page, viewport, count, layer, style: 'overlay', ...onto, ...f }, { signal: ctx.signal });
  if (!ctx.isCurrent()) return;
  const img = h('img.hm-overlay#heatmap-img', { alt: 'Click heatmap of ' + page + ' on ' + viewport });
  const canvas = h('div.hm-canvas' + (layout ? '.has-layout' : ''), { dataset: { viewport } });
  const frame = h('div.hm-frame', h('div.hm-chrome', h('span'), h('span'), h('span'), h('code', page)), canvas);
  if (layout) { layout.classList.add('hm-layout'); canvas.appendChild(layout); } else {
    canvas.appendChild(h('div.hm-neutral', h('span', 'No page layout stored — clicks are shown on a neutral canvas at the page’s real size.')));
  }
  canvas.appendChild(img);
  img.addEventListener('load', () => {
    // The overlay is at document size: show the frame at that aspect ratio,
    // at most the natural width.
    const w = img.naturalWidth, ht = img.naturalHeight;
    frame.style.maxWidth = w + 'px';
    canvas.style.aspectRatio = w + ' / ' + ht;
    stage.dataset.doc = w + 'x' + ht;
  });
  img.src = url;
  clear(stage).appendChild(frame);
}
