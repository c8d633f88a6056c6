// The demo's clicks sit on the elements they name: every click the demo
// stored is looked up on the layout its page view showed (the view's
// `$layout`: a cart shows the visitor's product; the home page changed
// halfway), laid out by Chromium at the click's width through the
// server's own frame route, and must fall inside the box of the element
// its selector names there. Prints a JSON summary; exits non-zero when a click is outside.
// Usage: node demo_heatmap.mjs COLLECTOR_URL TOKEN
import { launch } from './chromium.mjs';

const [BASE, TOKEN] = process.argv.slice(2);
const api = async (path) => {
  const r = await fetch(BASE + path, { headers: { Authorization: 'Bearer ' + TOKEN } });
  if (!r.ok) throw new Error(`${path}: ${r.status} ${await r.text()}`);
  return r.json();
};

// Every click of every session, with its page, width and the layout its
// page view showed.
const clicks = [];
const list = await api('/api/sites/shop/sessions?limit=1000');
for (const s of list.sessions) {
  const detail = await api(`/api/sites/shop/sessions/${s.id}`);
  let shown = null;
  for (const e of detail.events) {
    if (e.type === 'pageview') shown = null;
    if (e.type === 'custom' && e.name === '$layout') shown = e.props.hash;
    if (e.type === 'click' && e.sel) clicks.push({ page: e.page, layout: shown, w: e.dw, x: e.x, y: e.y, sel: e.sel, text: e.text ?? null });
  }
}

const browser = await launch();
// The frame route's policy sandboxes the layout (no script); the check
// below is the test's script, not the page's.
const context = await browser.newContext({ bypassCSP: true });
const groups = new Map();
for (const c of clicks) {
  const key = c.layout + ' ' + c.w;
  if (!groups.has(key)) groups.set(key, []);
  groups.get(key).push(c);
}
const outside = [];
const widths = new Set();
const pages = new Set();
const layouts = new Set();
let checked = 0;
for (const [key, group] of groups) {
  const { page: path, w, layout: hash } = group[0];
  if (!hash) throw new Error(`a click on ${path} at ${w} px in a view with no layout`);
  const layout = await api(`/api/sites/shop/layouts/${hash}`);
  if (!layout.frame_url) throw new Error(`no stored layout for ${key}`);
  layouts.add(hash);
  const page = await context.newPage();
  await page.setViewportSize({ width: w, height: 900 });
  // `load` waits for the shop's stylesheet, which sets every box.
  await page.goto(BASE + layout.frame_url, { waitUntil: 'load' });
  const boxes = await page.evaluate((sels) => sels.map((sel) => {
    const el = document.querySelector(sel);
    if (!el) return null;
    const r = el.getBoundingClientRect();
    return { box: [r.left + scrollX, r.top + scrollY, r.width, r.height], text: (el.innerText || '').trim().slice(0, 100) };
  }), group.map((c) => c.sel));
  await page.close();
  group.forEach((c, i) => {
    const found = boxes[i];
    checked += 1;
    widths.add(w);
    pages.add(path);
    const inside = found && c.x >= found.box[0] && c.x <= found.box[0] + found.box[2]
      && c.y >= found.box[1] && c.y <= found.box[1] + found.box[3];
    // The click's text is the element's text (none for typed-in areas).
    const sameText = !found || c.text === null || c.text === found.text;
    if (!inside || !sameText) outside.push({ ...c, found });
  });
}
await browser.close();
const summary = { ok: outside.length === 0 && checked > 50 && widths.size >= 4 && pages.size >= 10 && layouts.size > pages.size, checked, widths: [...widths], pages: pages.size, layouts: layouts.size, outside: outside.slice(0, 10) };
console.log(JSON.stringify(summary));
process.exit(summary.ok ? 0 : 1);
