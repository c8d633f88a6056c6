// The demo's clicks sit on the elements they name: every click the demo
// stored is looked up on the layout the demo stored for its page, laid
// out by Chromium at the click's width through the server's own frame
// route, and must fall inside the box of the element its selector names
// there. Prints a JSON summary; exits non-zero when a click is outside.
// Usage: node demo_heatmap.mjs COLLECTOR_URL TOKEN
import { launch } from './chromium.mjs';

const [BASE, TOKEN] = process.argv.slice(2);
const api = async (path) => {
  const r = await fetch(BASE + path, { headers: { Authorization: 'Bearer ' + TOKEN } });
  if (!r.ok) throw new Error(`${path}: ${r.status} ${await r.text()}`);
  return r.json();
};
const classOf = (w) => (w < 768 ? 'mobile' : w < 1024 ? 'tablet' : 'desktop');

// Every click of every session, with its page and width.
const clicks = [];
const list = await api('/api/sites/shop/sessions?limit=1000');
for (const s of list.sessions) {
  const detail = await api(`/api/sites/shop/sessions/${s.id}`);
  for (const e of detail.events) {
    if (e.type === 'click' && e.sel) clicks.push({ page: e.page, w: e.dw, x: e.x, y: e.y, sel: e.sel, text: e.text ?? null });
  }
}

const browser = await launch();
// The frame route's policy sandboxes the layout (no script); the check
// below is the test's script, not the page's.
const context = await browser.newContext({ bypassCSP: true });
const groups = new Map();
for (const c of clicks) {
  const key = c.page + ' ' + c.w;
  if (!groups.has(key)) groups.set(key, []);
  groups.get(key).push(c);
}
const outside = [];
const widths = new Set();
const pages = new Set();
let checked = 0;
for (const [key, group] of groups) {
  const { page: path, w } = group[0];
  const layout = await api(`/api/sites/shop/layouts?page=${encodeURIComponent(path)}&viewport=${classOf(w)}`);
  if (!layout.frame_url) throw new Error(`no stored layout for ${key}`);
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
const summary = { ok: outside.length === 0 && checked > 50 && widths.size >= 4 && pages.size >= 10, checked, widths: [...widths], pages: pages.size, outside: outside.slice(0, 10) };
console.log(JSON.stringify(summary));
process.exit(summary.ok ? 0 : 1);
