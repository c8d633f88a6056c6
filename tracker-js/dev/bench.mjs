// Page-load cost of data-replay: the load event's time (navigation start to
// loadEventStart), the recorder's own measures, and the transfer, with the
// tag with and without data-replay. Needs two dev/shop.mjs instances:
//
//   node dev/shop.mjs 8301 8302 & node dev/shop.mjs --no-replay 8303 8304 &
//   node dev/bench.mjs [LOADS=15] [CPU_SLOWDOWN=1]
//
// One browser context per shop (connections stay warm; the dev server sends
// no-store, so nothing is cached), loading the shop's pages in turn,
// alternating between the two shops. Prints JSON.
import { chromium } from 'playwright-core';

const loads = +(process.argv[2] || 15);
const slowdown = +(process.argv[3] || 1);
const SHOPS = { replay: 'http://127.0.0.1:8301', plain: 'http://127.0.0.1:8303' };
const PAGES = ['/', '/category/shoes.html', '/product/101.html', '/cart.html', '/checkout/address.html',
  '/help/faq.html', '/help/contact.html', '/gifts/', '/compare.html', '/search.html?q=boots'];
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : null;
};
const r2 = (x) => (x == null ? x : Math.round(x * 100) / 100);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const results = { replay: [], plain: [] };
const measures = { capture: [], hash: [], gzip: [] };
let replayScript = null;
const pages = {};
for (const mode of Object.keys(SHOPS)) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = (pages[mode] = await context.newPage());
  if (slowdown > 1) {
    const cdp = await context.newCDPSession(page);
    await cdp.send('Emulation.setCPUThrottlingRate', { rate: slowdown });
  }
  page.on('response', async (r) => {
    if (r.url().endsWith('/t/replay.js') && !replayScript) replayScript = (await r.body()).length;
  });
  await page.goto(SHOPS[mode] + '/help/faq.html', { waitUntil: 'load' }); // warm up
}
for (let i = 0; i < loads; i++) {
  for (const mode of i % 2 ? ['plain', 'replay'] : ['replay', 'plain']) {
    const page = pages[mode];
    const path = PAGES[i % PAGES.length];
    await page.goto(SHOPS[mode] + path, { waitUntil: 'load' });
    const load = await page.evaluate(() => performance.getEntriesByType('navigation')[0].loadEventStart);
    results[mode].push(load);
    if (mode === 'replay') {
      await page.waitForFunction(() => performance.getEntriesByName('trailmap:hash').length, null, { timeout: 10000 }).catch(() => {});
      await page.waitForTimeout(300);
      for (const name of Object.keys(measures)) {
        const e = await page.evaluate((n) => performance.getEntriesByName('trailmap:' + n).map((x) => x.duration), name);
        measures[name].push(...e);
      }
    }
  }
}
await browser.close();
console.log(JSON.stringify({
  loads_each: loads,
  cpu_slowdown: slowdown,
  load_event_ms_median: { with_replay: r2(median(results.replay)), without: r2(median(results.plain)) },
  load_event_ms_all: { with_replay: results.replay.map(r2), without: results.plain.map(r2) },
  recorder_ms_median: Object.fromEntries(Object.entries(measures).map(([k, v]) => [k, r2(median(v))])),
  recorder_samples: Object.fromEntries(Object.entries(measures).map(([k, v]) => [k, v.length])),
  replay_js_bytes_served: replayScript,
}));
