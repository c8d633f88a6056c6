// Drives real headless Chromium through the demo shop, with the real
// tracker talking to the real collector, and prints (as JSON on stdout)
// what the page itself measured, for tests/browser.rs to check against
// what the server stored.
//
//   node tests/browser/journey.mjs SHOP_URL

import { chromium, LAUNCH } from './chromium.mjs';

const shop = process.argv[2];
const SECRET = 'secret-visitor@example.com';
const browser = await chromium.launch(LAUNCH);
const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
// The page's own record of every click (document coordinates) and of the
// deepest scroll, installed before any page script, the tracker included.
await context.addInitScript(() => {
  const log = JSON.parse(sessionStorage.getItem('journey_log') || '[]');
  const save = () => sessionStorage.setItem('journey_log', JSON.stringify(log));
  addEventListener('click', (e) => {
    log.push({ kind: 'click', path: location.pathname, x: e.pageX, y: e.pageY, cx: e.clientX, cy: e.clientY,
      id: e.target.id || null, cls: e.target.className || null,
      within: (e.target.closest("[id]") || {}).id || null });
    save();
  }, true);
  let deepest = 0;
  addEventListener('scroll', () => {
    const d = scrollY + innerHeight;
    if (d > deepest) {
      deepest = d;
      log.push({ kind: 'scroll', path: location.pathname, depth: d });
      save();
    }
  }, { passive: true });
});
const page = await context.newPage();
const settle = (ms = 300) => page.waitForTimeout(ms);
const loaded = async () => {
  await page.waitForLoadState('load');
  await page.waitForFunction(() => window.trailmap && !window.trailmap.q);
};

await page.goto(`${shop}/`);
await loaded();
// The banner is in view at the top: clicking it scrolls nothing, and it
// does nothing, so the tracker must judge the click dead after about 1 s.
await page.click('#promo-banner');
await settle(1500);
await page.fill('#newsletter-email', SECRET);
await page.click('main a[href="/category/shoes.html"]');
await loaded();
await page.click('a.card-link[href="/product/101.html"]');
await loaded();
await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
await settle(1200);
// Scrolled down, a click in the sticky header: it is drawn at the top of
// the page, so that is where the tracker must place it.
await page.click('#search-input');
await settle(200);
await page.evaluate(() => window.scrollTo(0, 0));
await settle(300);
for (let i = 0; i < 4; i++) await page.click('.price-lg', { delay: 20 });
await settle(200);
await page.click('#add-to-cart');
await settle(200);
await page.click('#cart-link');
await loaded();
await page.click('a[href="/gifts/"]');
await loaded();
await page.click('#gift-start');
await settle();
await page.click('#who-friend');
await settle();
await page.click('#budget-low');
await settle();
const log = await page.evaluate(() => JSON.parse(sessionStorage.getItem('journey_log') || '[]'));
// Closing runs pagehide: the tracker sends what is left with sendBeacon.
await page.close({ runBeforeUnload: true });
await new Promise((r) => setTimeout(r, 1500));
await browser.close();
process.stdout.write(JSON.stringify({ secret: SECRET, log }) + '\n');
