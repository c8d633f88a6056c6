#!/usr/bin/env node
// Captures the demo shop as the replay recorder would store it, and where
// the demo visitors' click targets sit on it at each device width:
// writes src/demo/shop_layouts.json, which `trailmap demo` embeds.
//
// Why: the demo's simulated visitors click by element, not by guesswork.
// Each page is rendered in Chromium with its scripts running (the gift
// finder walked step by step, the search showing its results; the pages
// that show the cart once per product in it, the checkout walked to the
// thank-you page), its DOM is kept as the page's layout, and that layout,
// without scripts, is laid out at every width the demo's devices have; the
// box, text and tracker selector of every element a persona clicks are
// recorded there. The demo then places each click inside its element's
// box at the visitor's width, so its heatmaps look like real ones, and
// tests/browser.rs checks that on the stored layouts. The home page is
// captured a second time as it is after the demo's planted change (the
// sale banner became a link to the sale's packs, listed below it): the
// demo's visits after that moment show it, so What changed has a change
// to hold before against after.
//
// Usage (after changing the shop or the personas' targets):
//   node examples/storefront/capture.mjs
// Needs /usr/bin/chromium (or $CHROMIUM) and tracker-js/node_modules.
import { createServer } from 'node:http';
import { readFileSync, writeFileSync, existsSync, statSync } from 'node:fs';
import { dirname, join, extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch } from '../../tests/browser/chromium.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const OUT = join(here, '../../src/demo/shop_layouts.json');

// The demo's device widths and heights (src/demo/traffic.rs, DEVICES).
const DEVICES = [[1280, 800], [1440, 900], [1920, 1080], [390, 844], [412, 915], [820, 1180]];

// What the personas click, per page (CSS queries); every page also gets
// its card links (`a.card-link`, one target per product).
const HEADER = ['#search-input', 'nav.main-nav a[href="/gifts/"]'];
const PRODUCT = ['#add-to-cart', '#product-price'];
const TARGETS = {
  '/': ['#promo-banner', ...HEADER],
  '/cart.html': ['#checkout'],
  '/checkout/address.html': ['#to-shipping'],
  '/checkout/shipping.html': ['#to-payment'],
  '/checkout/payment.html': ['#pay'],
  '/help/faq.html': ['#faq-shipping>summary'],
  '/gifts/': ['#gift-start'],
  '/gifts/who': ['#who-friend'],
  '/gifts/budget': ['#budget-low'],
};
for (let id = 101; id <= 110; id++) TARGETS[`/product/${id}.html`] = PRODUCT;
// The spring campaign's product, the only one with a comparison.
TARGETS['/product/101.html'] = [...PRODUCT, '#compare-link'];

// Pages as the visitors see them: every page a persona or crawler views
// (with an empty cart; the cart's pages again per product below).
const PAGES = [
  '/', '/category/shoes.html', '/category/bags.html', '/category/hats.html',
  ...Array.from({ length: 10 }, (_, i) => `/product/${101 + i}.html`),
  '/product/999.html', '/compare.html', '/search.html?q=boots', '/cart.html',
  '/checkout/address.html', '/checkout/shipping.html', '/checkout/payment.html',
  '/thank-you.html', '/help/faq.html', '/help/contact.html',
];
// The demo's visitors hold one product in their cart (src/demo/traffic.rs).
const SKUS = Array.from({ length: 10 }, (_, i) => 101 + i);
// The sale's packs the changed home page lists (bags, as the banner says).
const SALE = ['105', '106', '107'];

// The shop, served as `trailmap demo` serves it (src/demo/storefront.rs):
// directories get their index, `/x` may be `x.html`, the SPA owns /gifts/,
// unknown paths get the 404 page. t.js points at a closed port: the
// capture needs the shop's own scripts, not the tracker.
const shop = join(here);
function resolve(path) {
  const rel = decodeURIComponent(path).replace(/^\/+/, '');
  if (rel.split('/').includes('..')) return null;
  if (rel === 'gifts' || rel.startsWith('gifts/')) return join(shop, 'gifts/index.html');
  for (const c of [rel, rel + '.html', (rel === '' || rel.endsWith('/') ? rel : rel + '/') + 'index.html']) {
    const f = join(shop, c);
    if (c !== '' && existsSync(f) && statSync(f).isFile()) return f;
  }
  return null;
}
const TYPES = { '.html': 'text/html; charset=utf-8', '.css': 'text/css', '.js': 'application/javascript', '.svg': 'image/svg+xml' };
const server = createServer((req, res) => {
  const path = new URL(req.url, 'http://x').pathname;
  const file = resolve(path) || join(shop, '404.html');
  let body = readFileSync(file);
  if (file.endsWith('.html')) {
    body = body.toString().replaceAll('{{TRAILMAP_URL}}', 'http://127.0.0.1:9').replaceAll('{{TRAILMAP_SITE}}', 'shop');
  }
  res.writeHead(resolve(path) ? 200 : 404, { 'content-type': TYPES[extname(file)] || 'text/plain' });
  res.end(body);
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const origin = `http://127.0.0.1:${server.address().port}`;

// The tracker's own selector rule (tracker-js/src/t.js), taken from its
// source so that the demo's clicks name elements exactly as t.js would.
const tracker = readFileSync(join(here, '../../tracker-js/src/t.js'), 'utf8');
const from = tracker.indexOf('  var meaningful = function');
const to = tracker.indexOf('  var body = function');
if (from < 0 || to < from) throw new Error('t.js no longer defines meaningful() then selector() before body()');
const SELECTOR = tracker.slice(from, to) + 'return selector;';
// And the replay recorder's own snapshot (tracker-js/src/replay.js): the
// DOM masked and stripped exactly as a visitor's browser would upload it.
const recorder = readFileSync(join(here, '../../tracker-js/src/replay.js'), 'utf8');
const [mask, measure] = [recorder.indexOf('  var MASK ='), recorder.indexOf('  // performance.measure(')];
if (mask < 0 || measure < mask) throw new Error('replay.js no longer defines MASK ... snapshot() before measure()');
const SNAPSHOT = 'var root = document.documentElement;' + recorder.slice(mask, measure) + 'return snapshot();';

const browser = await launch();
// A fixed clock: the thank-you page's order number comes from it.
const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
await context.clock.setFixedTime(new Date('2026-06-01T12:00:00Z'));
const page = await context.newPage();

// The recorder's <base> names the capture's origin: the demo's own is
// added when the demo stores the layout (storefront::snapshot).
const dom = () => page.evaluate((code) => new Function(code)(), SNAPSHOT).then((html) => html.replace(/<base [^>]*>/, ''));
const settle = () => page.waitForLoadState('networkidle').then(() => page.waitForTimeout(100));
// [where it goes in the output, its path, its layout]
const captured = [];
const keep = async (group, path) => captured.push([group, path, await dom()]);

for (const path of PAGES) {
  await page.goto(origin + path);
  await settle();
  await keep('pages', path.split('?')[0]);
}
// The home page after the planted change: the banner links to the sale,
// whose packs are listed below it (cards as the shop's own script makes).
await page.goto(origin + '/');
await settle();
await page.evaluate((sale) => {
  const old = document.getElementById('promo-banner');
  const link = document.createElement('a');
  link.className = old.className;
  link.id = old.id;
  link.href = '/category/bags.html';
  link.title = old.title;
  link.innerHTML = '<strong>Spring trail sale</strong> <span>Up to 30% off packs — shop the sale</span> <span class="promo-arrow" aria-hidden="true">→</span>';
  old.replaceWith(link);
  const section = document.createElement('section');
  section.id = 'sale';
  section.innerHTML = '<h2>On sale this spring</h2><div class="grid product-grid">'
    + sale.map((id) => window.TH_SHOP.cardHTML(window.TH_CATALOG.byId(id))).join('') + '</div>';
  link.after(section);
}, SALE);
await keep('changed', '/');
// Clicks through `steps` ([the button, the path it leads to]) as a
// visitor would, keeping each page reached in `group`.
const walk = async (group, steps) => {
  for (const [button, path] of steps) {
    await page.click(button);
    await page.waitForURL('**' + path);
    await settle();
    await keep(group, path);
  }
};
// Each product in the cart in turn, and the checkout walked to its end.
for (const sku of SKUS) {
  await page.evaluate(() => { localStorage.clear(); sessionStorage.clear(); });
  await page.goto(origin + `/product/${sku}.html`);
  await settle();
  await page.click('#add-to-cart');
  await page.goto(origin + '/cart.html');
  await settle();
  await keep(sku, '/cart.html');
  await walk(sku, [['#checkout', '/checkout/address.html']]);
  for (const [field, value] of [['#name', 'Sam Walker'], ['#email', 'sam@example.com'], ['#street', '1 Trail Road'], ['#city', 'Boulder']]) {
    await page.fill(field, value);
  }
  await walk(sku, [['#to-shipping', '/checkout/shipping.html'], ['#to-payment', '/checkout/payment.html'], ['#pay', '/thank-you.html']]);
}
await page.evaluate(() => { localStorage.clear(); sessionStorage.clear(); });
// The gift finder, walked as a visitor would (its steps are pushState).
await page.goto(origin + '/gifts/');
await settle();
await keep('pages', '/gifts/');
await walk('pages', [['#gift-start', '/gifts/who'], ['#who-friend', '/gifts/budget'], ['#budget-low', '/gifts/results']]);

// Each layout as it is stored and shown (the recorder left no script), laid out
// at every device width: the document size and the click targets' boxes.
// pages: path → layout; changed: path → layout after the planted change;
// carts: product → path → layout with that product in the cart.
const out = { widths: DEVICES.map((d) => d[0]), pages: {}, changed: {}, carts: {} };
for (const [group, path, html] of captured) {
  const bare = html.replace(/<script\b[\s\S]*?<\/script>/gi, '');
  const entry = { html: bare, dh: {}, targets: [] };
  const byKey = new Map();
  for (const [vw, vh] of DEVICES) {
    const p = await context.newPage();
    await p.setViewportSize({ width: vw, height: vh });
    await p.route('**/*', (route) => route.request().isNavigationRequest()
      ? route.fulfill({ contentType: 'text/html', body: bare.replace('<head>', `<head><base href="${origin}${path}">`) })
      : route.continue());
    await p.goto(origin + path);
    await p.waitForLoadState('networkidle');
    const seen = await p.evaluate(({ queries, SELECTOR }) => {
      const selector = new Function(SELECTOR)();
      const PRIVATE = 'input,textarea,select,[contenteditable],[data-trailmap-ignore]';
      const found = [];
      const add = (query, el) => {
        const r = el.getBoundingClientRect();
        if (!r.width || !r.height) return;
        const link = el.closest('a[href]');
        found.push({
          query,
          sel: selector(el),
          href: link ? new URL(link.href).pathname : null,
          // As t.js reads it: nothing from typed-in or ignored areas.
          text: el.closest(PRIVATE) || el.querySelector(PRIVATE) ? null : (el.innerText || '').trim().slice(0, 100),
          box: [r.left + scrollX, r.top + scrollY, r.width, r.height].map((v) => Math.round(v * 10) / 10),
        });
      };
      for (const q of queries) {
        const el = document.querySelector(q);
        if (el) add(q, el);
      }
      document.querySelectorAll('a.card-link').forEach((el) => add('a.card-link', el));
      return { dh: document.documentElement.scrollHeight, dw: document.documentElement.scrollWidth, found };
    }, { queries: TARGETS[path] || [], SELECTOR });
    await p.close();
    entry.dh[vw] = seen.dh;
    for (const t of seen.found) {
      const key = t.query + ' ' + (t.href || '');
      if (!byKey.has(key)) {
        byKey.set(key, { query: t.query, sel: t.sel, href: t.href, text: t.text, at: {} });
        entry.targets.push(byKey.get(key));
      }
      byKey.get(key).at[vw] = t.box;
    }
  }
  for (const q of TARGETS[path] || []) {
    if (!byKey.has(q + ' ') && ![...byKey.keys()].some((k) => k.startsWith(q + ' '))) {
      throw new Error(`${path}: the target ${q} is not on the page`);
    }
  }
  if (typeof group === 'number') (out.carts[group] ||= {})[path] = entry;
  else out[group][path] = entry;
}
await browser.close();
server.close();
writeFileSync(OUT, JSON.stringify(out, null, 1) + '\n');
console.log(`wrote ${OUT}: ${captured.length} layouts of ${Object.keys(out.pages).length} pages at ${out.widths.length} widths`);
