// Manual check of the built tracker in a real Chromium (not part of `npm test`).
//
//   node dev/browser.mjs            # dist/t.min.js (run `npm run build` first)
//   node dev/browser.mjs --src      # src/t.js, unminified
//   TRAILMAP_BIN=../target/release/trailmap node dev/browser.mjs
//                                        # also: a page sending to the real server
//   CHROMIUM=/path/to/chromium node dev/browser.mjs
//
// Two local servers: a fake collector on one port (serves t.js, records every
// POST /api/collect, answers 202 with CORS, or 503 + Retry-After on demand)
// and a shop on another (pages carrying the tag). Playwright drives Chromium
// through page views, clicks, rage clicks, a dead click, scrolling, pushState,
// typing, an ignored area, a 503 and a page change with unsent batches, then
// checks what the collector received. Prints each check; exits 1 on failure.
import http from 'node:http';
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { spawn, execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const SCRIPT = process.argv.includes('--src') ? here('../src/t.js') : here('../dist/t.min.js');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let failures = 0;
function check(ok, what, detail) {
  console.log(
    `${ok ? 'ok  ' : 'FAIL'} ${what}${!ok && detail !== undefined ? `\n     ${JSON.stringify(detail)}` : ''}`,
  );
  if (!ok) failures++;
}

// ---- the fake collector -------------------------------------------------
const received = []; // {at, status, contentType, origin, body (parsed), bytes}
let answers = []; // queued non-202 answers: {status, retryAfter}
let failAll = null; // when set, every POST gets this answer
let trackerCode; // read in main()

const collector = http.createServer((req, res) => {
  const origin = req.headers.origin;
  const cors = origin
    ? {
        'access-control-allow-origin': origin,
        'access-control-expose-headers': 'retry-after',
        vary: 'Origin',
      }
    : {};
  if (req.url === '/t.js') {
    res.writeHead(200, { 'content-type': 'text/javascript', 'cache-control': 'no-store' });
    return res.end(trackerCode);
  }
  if (req.url === '/api/collect' && req.method === 'OPTIONS') {
    received.push({ at: Date.now(), preflight: true });
    res.writeHead(204, {
      ...cors,
      'access-control-allow-methods': 'POST',
      'access-control-allow-headers': 'content-type',
    });
    return res.end();
  }
  if (req.url === '/api/collect' && req.method === 'POST') {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const answer = failAll || answers.shift() || { status: 202 };
      let body;
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch (e) {
        body = { unparsable: raw.toString('utf8') };
      }
      received.push({
        at: Date.now(),
        status: answer.status,
        contentType: req.headers['content-type'],
        origin,
        bytes: raw.length,
        body,
      });
      const headers = { ...cors };
      if (answer.retryAfter) headers['retry-after'] = String(answer.retryAfter);
      res.writeHead(answer.status, headers);
      res.end(answer.status === 202 ? '' : '{"error":"busy"}');
    });
    return;
  }
  res.writeHead(404);
  res.end();
});

// ---- the shop -----------------------------------------------------------
const STUB = 'window.trailmap=window.trailmap||function(){(trailmap.q=trailmap.q||[]).push(arguments)}';
const page = ({ title, tag, head = '', body }) => `<!doctype html>
<html><head><meta charset="utf-8"><title>${title}</title>
<script>${STUB}</script>
<script>trailmap('signup', {plan: 'pro', n: 3, nested: {no: 1}})</script>
<script>addEventListener('pageshow', function (e) { window.restored = e.persisted })</script>
${tag}
${head}
<style>body{margin:0;font:16px sans-serif} button,a,p,input{display:block;margin:8px;padding:6px}
.tall{height:3000px} .card{display:inline-block;margin:4px}</style>
</head><body>${body}</body></html>`;

let collectorBase; // http://127.0.0.1:PORT
let realApi = null; // collect URL of a real trailmap, when TRAILMAP_BIN is set
const tag = (extra = '') => `<script defer src="${collectorBase}/t.js" data-site="shop"${extra}></script>`;

const MAIN_BODY = `<main>
  <button id="buy" onclick="document.getElementById('log').append('bought ')">Buy now</button>
  <div class="cards">
    <div class="card"><button class="add btn">Add one</button></div>
    <div class="card"><button class="add btn">Add two</button></div>
  </div>
  <button class="noop">Does nothing</button>
  <p class="para">Plain text to rage on</p>
  <a href="/shop/cart" id="cartlink">Cart</a>
  <input id="email" name="email" placeholder="email">
  <label class="lab">Name <input class="name"></label>
  <div data-trailmap-ignore><button class="secret">Private <b>button</b></button></div>
  <div id="log"></div>
  <div class="tall"></div>
</main>
<script>
  document.getElementById('cartlink').addEventListener('click', function (e) {
    e.preventDefault();
    history.pushState({}, '', '/shop/cart');
    document.title = 'Cart';
  });
</script>`;

const shop = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  let html;
  if (url.pathname === '/favicon.ico') {
    res.writeHead(404);
    return res.end();
  } else if (url.pathname === '/other') {
    html = page({
      title: 'Other',
      tag: tag(),
      body: '<p id="other">Another page</p><div class="tall"></div>',
    });
  } else if (url.pathname === '/missing') {
    html = page({
      title: 'Not found',
      tag: tag(),
      head: '<meta name="trailmap-status" content="404">',
      body: '<p>No such page</p>',
    });
  } else if (url.pathname === '/dnt') {
    html = page({ title: 'DNT', tag: tag(' data-respect-dnt'), body: '<button id="b">b</button>' });
  } else if (url.pathname === '/real') {
    html = page({
      title: 'Real',
      tag: tag(` data-api="${realApi}"`),
      body: '<button id="go">Go</button><div class="tall"></div>',
    });
  } else {
    html = page({ title: 'Test shop', tag: tag(), body: MAIN_BODY });
  }
  // no-store would keep pages out of the back/forward cache.
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache' });
  res.end(html);
});

const listen = (server) =>
  new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));
let SHOP; // http://127.0.0.1:PORT

// ---- helpers over what was received -------------------------------------
const posts = () => received.filter((r) => !r.preflight);
const events = (filter = () => true) =>
  posts()
    .filter((r) => r.status === 202)
    .flatMap((r) => r.body.events || [])
    .filter(filter);
async function waitFor(what, fn, ms = 12000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) {
      check(false, `timed out waiting for ${what}`);
      return null;
    }
    await sleep(100);
  }
}

// What the server would reject (README "Collecting events").
function validate(r) {
  const problems = [];
  const b = r.body;
  if (!/^text\/plain/.test(r.contentType || '')) problems.push(`content-type ${r.contentType}`);
  if (r.origin !== SHOP) problems.push(`origin ${r.origin}`);
  if (r.bytes > 65536) problems.push(`body ${r.bytes} bytes`);
  if (b.site !== 'shop') problems.push('site');
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(b.sid)) problems.push(`sid ${b.sid}`);
  if (typeof b.now !== 'number') problems.push('now');
  if (!Array.isArray(b.events) || !b.events.length || b.events.length > 200) problems.push('events count');
  for (const [i, e] of (b.events || []).entries()) {
    const bad = (what) => problems.push(`events[${i}] (${e.type}) ${what}`);
    if (!['pageview', 'click', 'scroll', 'leave', 'custom'].includes(e.type)) bad('type');
    if (typeof e.ts !== 'number' || e.ts > b.now + 1 || b.now - e.ts > 864e5) bad('ts');
    if (e.url != null && !/^https?:\/\//.test(e.url)) bad('url');
    if (e.type === 'pageview' && !e.url) bad('pageview without url');
    if (e.type === 'custom' && !(typeof e.name === 'string' && e.name.trim())) bad('name');
    for (const k of ['vw', 'vh', 'dw', 'dh', 'depth', 'max_depth', 'x', 'y'])
      if (e[k] != null && !(typeof e[k] === 'number' && e[k] >= 0 && e[k] <= 1e6)) bad(k);
    for (const k of ['ox', 'oy'])
      if (e[k] != null && !(typeof e[k] === 'number' && Math.abs(e[k]) <= 1e6)) bad(k);
    if (e.engaged_ms != null && !(e.engaged_ms >= 0 && e.engaged_ms <= 864e5)) bad('engaged_ms');
    if (e.status != null && !(e.status >= 100 && e.status <= 599)) bad('status');
    for (const k of ['url', 'referrer', 'title', 'sel', 'href', 'text', 'name'])
      if (e[k] != null && typeof e[k] !== 'string') bad(k);
    for (const k of ['rage', 'dead']) if (e[k] != null && typeof e[k] !== 'boolean') bad(k);
    if (e.props != null) {
      const entries = Object.entries(e.props);
      if (entries.length > 20) bad('props count');
      for (const [k, v] of entries)
        if (!(v === null || ['string', 'number', 'boolean'].includes(typeof v))) bad(`props.${k}`);
    }
  }
  return problems;
}

// ---- the run -------------------------------------------------------------
// A manual check, outside test/ so that `npm test` does not pick it up.
await main();

async function main() {
  trackerCode = await readFile(SCRIPT);
  collectorBase = `http://127.0.0.1:${await listen(collector)}`;
  SHOP = `http://127.0.0.1:${await listen(shop)}`;
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    // Playwright turns the back/forward cache off; the tracker handles it.
    ignoreDefaultArgs: ['--disable-back-forward-cache'],
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  let serverProcess = null;
  let serverDir = null;
  try {
    const context = await browser.newContext({ viewport: { width: 800, height: 600 } });
    const tab = await context.newPage();
    const pageErrors = [];
    tab.on('pageerror', (e) => pageErrors.push(String(e)));
    const requestsBefore = [];
    tab.on('request', (r) => requestsBefore.push(r.url()));

    console.log(`tracker: ${SCRIPT}`);
    const t0 = Date.now();
    await tab.goto(`${SHOP}/shop/product/42?utm_source=news`);
    const first = await waitFor('the first batch', () => posts()[0]);
    console.log(`first batch after ${first.at - t0} ms`);
    const [pv] = events((e) => e.type === 'pageview');
    check(pv && pv.url === `${SHOP}/shop/product/42?utm_source=news`, 'pageview url', pv);
    check(pv && !pv.referrer && pv.title === 'Test shop', 'pageview referrer empty, title', pv);
    check(pv && pv.vw === 800 && pv.vh === 600 && pv.dw === 800 && pv.dh > 3000, 'pageview vw/vh/dw/dh', pv);
    check(pv && pv.status === undefined, 'no status without the meta tag', pv);
    const signup = events((e) => e.type === 'custom')[0];
    check(
      signup && signup.name === 'signup' && signup.props.plan === 'pro' && signup.props.n === 3,
      'custom event from the pre-load stub',
      signup,
    );
    check(signup && signup.props.nested === '[object Object]', 'nested prop sent as a string', signup);
    check(signup && pv && signup.ts >= pv.ts, 'stub event after the page view', [pv, signup]);
    const sid = first.body.sid;
    check(/^[a-z0-9]{12,}$/.test(sid), `sid ${sid}`);
    check(!received.some((r) => r.preflight), 'no CORS preflight');

    // Clicks.
    await tab.click('#buy'); // live: its handler changes the DOM
    await tab.click('.card:nth-of-type(2) .add'); // no id: tag, classes, nth-of-type
    await tab.click('.noop'); // a button that does nothing: dead
    await sleep(300);
    const para = await tab.locator('.para').boundingBox();
    const px = para.x + 20;
    const py = para.y + para.height / 2;
    for (let i = 0; i < 4; i++) {
      await tab.mouse.click(px + i * 3, py);
      await sleep(120);
    }
    await tab.click('#email');
    await tab.keyboard.type('secret@example.com');
    await tab.click('.name');
    await tab.keyboard.type('Jane Secret');
    await tab.click('.secret b'); // inside data-trailmap-ignore: dropped
    await tab.evaluate(() => trailmap('added', { sku: 'A1' }));
    await waitFor('the clicks', () => events((e) => e.type === 'click').length >= 9);
    const clicks = events((e) => e.type === 'click');
    console.log('clicks:', clicks.map((c) => `${c.sel} rage=${c.rage} dead=${c.dead}`).join(' | '));
    const buy = clicks.find((c) => c.sel === '#buy');
    const buyBox = await tab.locator('#buy').boundingBox();
    check(
      buy,
      'click on #buy, selector #buy',
      clicks.map((c) => c.sel),
    );
    if (buy) {
      check(
        Math.abs(buy.x - (buyBox.x + buyBox.width / 2)) < 2 &&
          Math.abs(buy.y - (buyBox.y + buyBox.height / 2)) < 2,
        `click x/y are document coordinates (${buy.x},${buy.y})`,
        [buy, buyBox],
      );
      check(
        Math.abs(buy.ox - buyBox.width / 2) < 2 && Math.abs(buy.oy - buyBox.height / 2) < 2,
        `click ox/oy within the target (${buy.ox},${buy.oy})`,
        buy,
      );
      check(buy.text === 'Buy now' && buy.dw === 800, 'click text and dw', buy);
      check(
        buy.dead === false && buy.rage === false,
        'a click whose handler changed the DOM is not dead',
        buy,
      );
      check(buy.url === pv.url, 'click carries the page url', buy);
    }
    const add = clicks.find((c) => /add/.test(c.sel || ''));
    check(
      add && add.sel === 'div.cards>div.card:nth-of-type(2)>button.add.btn',
      `selector without id: ${add && add.sel}`,
    );
    check(add && add.text === 'Add two', 'text of a button without id', add);
    const noop = clicks.find((c) => c.sel === 'button.noop');
    check(noop && noop.dead === true, 'a button that does nothing: dead', noop);
    const rage = clicks.filter((c) => c.sel === 'p.para');
    check(
      rage.length === 4 && rage.map((c) => c.rage).join() === 'false,false,true,true',
      'rage flags on 4 quick clicks: 3rd and 4th',
      rage.map((c) => c.rage),
    );
    check(
      rage.every((c) => c.dead === false),
      'clicks on plain text are never dead',
      rage,
    );
    const email = clicks.find((c) => c.sel === '#email');
    check(email && email.text === undefined, 'click on an input has no text', email);
    const label = clicks.find((c) => /name/.test(c.sel || ''));
    check(label && label.text === undefined, 'click on an input in a label has no text', label);
    check(
      !clicks.some((c) => /secret|Private/.test(JSON.stringify(c))),
      'clicks in data-trailmap-ignore dropped',
    );
    const all = () => JSON.stringify(posts().map((r) => r.body));
    check(!/secret@example|Jane Secret|Jane/.test(all()), 'no typed text anywhere');

    // Scroll.
    for (const y of [300, 800, 1500, 1200]) {
      await tab.evaluate((y) => scrollTo(0, y), y);
      await sleep(400);
    }
    await sleep(1500);
    await waitFor('scroll samples', () => events((e) => e.type === 'scroll').length >= 2);
    const scrolls = events((e) => e.type === 'scroll');
    console.log('scrolls:', scrolls.map((s) => `${s.depth}/${s.max_depth}`).join(' '));
    const lastScroll = scrolls[scrolls.length - 1];
    check(
      lastScroll && lastScroll.depth === 1800 && lastScroll.max_depth === 2100,
      'scroll depth and max_depth',
      lastScroll,
    );
    check(lastScroll && lastScroll.dh > 3000, 'scroll carries dh', lastScroll);
    const gaps = scrolls.slice(1).map((s, i) => s.ts - scrolls[i].ts);
    check(
      scrolls.length <= 3 && gaps.every((g) => g >= 900),
      `scroll samples throttled to ~1/s (${scrolls.length} for 4 scrolls over 1.6 s)`,
      gaps,
    );

    // SPA transition by pushState.
    const beforeSpa = Date.now();
    await tab.evaluate(() => scrollTo(0, 0));
    await tab.click('#cartlink');
    await waitFor(
      'the SPA page view',
      () => events((e) => e.type === 'pageview' && /cart/.test(e.url)).length,
    );
    const spaEvents = events((e) => e.ts >= beforeSpa - 5 && e.type !== 'click' && e.type !== 'scroll');
    const leave1 = spaEvents.find((e) => e.type === 'leave');
    const pv2 = spaEvents.find((e) => e.type === 'pageview');
    check(leave1 && leave1.url === pv.url, 'leave for the previous page before the SPA page view', spaEvents);
    check(leave1 && leave1.max_depth === 2100, 'leave max_depth', leave1);
    check(
      leave1 && leave1.engaged_ms > 3000 && leave1.engaged_ms < Date.now() - t0,
      `leave engaged_ms ${leave1 && leave1.engaged_ms}`,
      leave1,
    );
    check(
      pv2 && pv2.referrer === pv.url && pv2.url === `${SHOP}/shop/cart`,
      'SPA page view: url, referrer = previous url',
      pv2,
    );
    check(pv2 && pv2.title === 'Cart', 'SPA page view: the title set after pushState', pv2);
    check(leave1 && pv2 && leave1.ts <= pv2.ts, 'leave before pageview', spaEvents);
    const cartClick = events((e) => e.type === 'click' && e.sel === '#cartlink')[0];
    await waitFor('the link click', () => events((e) => e.type === 'click' && e.sel === '#cartlink')[0]);
    const cart = events((e) => e.type === 'click' && e.sel === '#cartlink')[0] || cartClick;
    check(
      cart && cart.url === pv.url && cart.href === `${SHOP}/shop/cart` && cart.dead === false,
      'link click: old page url, href, not dead (URL changed)',
      cart,
    );
    await tab.evaluate(() => history.replaceState({ x: 1 }, '')); // same URL: nothing
    await tab.evaluate(() => (location.hash = 'reviews'));
    await waitFor(
      'the hash page view',
      () => events((e) => e.type === 'pageview' && /#reviews/.test(e.url)).length,
    );
    check(
      events((e) => e.type === 'pageview').length === 3,
      'replaceState to the same URL is no page view; a hash change is',
    );

    // 503 with Retry-After: the next send is refused, the retry waits >= 3 s.
    answers.push({ status: 503, retryAfter: 3 });
    await tab.evaluate(() => trailmap('after503'));
    const refused = await waitFor('the 503', () => posts().find((r) => r.status === 503), 8000);
    const retried = await waitFor(
      'the retry after the 503',
      () =>
        posts().find(
          (r) => r.status === 202 && r.at > refused.at && r.body.events.some((e) => e.name === 'after503'),
        ),
      10000,
    );
    if (refused && retried) {
      const gap = retried.at - refused.at;
      check(gap >= 2900 && gap < 6000, `retry ${gap} ms after a 503 with Retry-After: 3`);
    }
    // A 400 is final: no retry.
    answers.push({ status: 400 });
    await tab.evaluate(() => trailmap('bad'));
    await waitFor('the 400', () => posts().find((r) => r.status === 400), 8000);
    await sleep(4000);
    check(posts().filter((r) => JSON.stringify(r.body).includes('"bad"')).length === 1, '4xx not retried');

    // Unsent batches survive a page change in the tab.
    failAll = { status: 503, retryAfter: 30 };
    await tab.evaluate(() => trailmap('stuck', { k: 'v' }));
    await waitFor('the refused stuck batch', () =>
      posts().find((r) => r.status === 503 && JSON.stringify(r.body).includes('stuck')),
    );
    failAll = null;
    const beforeNav = Date.now();
    await tab.evaluate(() => (location.href = '/other'));
    await waitFor(
      'the stuck event, resent from the next page',
      () => events((e) => e.name === 'stuck').length,
    );
    const stuck = posts().find((r) => r.status === 202 && JSON.stringify(r.body).includes('stuck'));
    check(
      stuck && stuck.at - beforeNav < 3000,
      `unsent batch resent by the next page (${stuck && stuck.at - beforeNav} ms)`,
    );
    await waitFor(
      'the /other page view',
      () => events((e) => e.type === 'pageview' && /other/.test(e.url)).length,
    );
    const leaveCart = events((e) => e.type === 'leave' && /#reviews/.test(e.url));
    check(leaveCart.length === 1, 'one leave for the last SPA page at the page change', leaveCart);
    const otherPv = events((e) => e.type === 'pageview' && /other/.test(e.url))[0];
    check(
      otherPv && otherPv.referrer === `${SHOP}/shop/cart`,
      'document.referrer on a full page load',
      otherPv,
    );
    check(
      posts().every((r) => r.body.sid === sid),
      'same sid on every page of the tab',
    );

    // The tab is hidden (simulated: headless pages stay visible), then shown:
    // a leave goes at once by beacon; the next leave is cumulative.
    await sleep(1000);
    const hiddenAt = Date.now();
    await tab.evaluate(() => {
      Object.defineProperty(document, 'hidden', { configurable: true, get: () => true });
      document.dispatchEvent(new Event('visibilitychange'));
    });
    const hiddenLeave = await waitFor('the leave at visibilitychange', () =>
      posts().find(
        (r) => r.at >= hiddenAt && r.body.events.some((e) => e.type === 'leave' && /other$/.test(e.url)),
      ),
    );
    check(
      hiddenLeave && hiddenLeave.at - hiddenAt < 1000,
      `hidden: leave sent at once (${hiddenLeave && hiddenLeave.at - hiddenAt} ms)`,
    );
    await tab.evaluate(() => {
      document.dispatchEvent(new Event('visibilitychange')); // still hidden: no second leave
      delete document.hidden;
      document.dispatchEvent(new Event('visibilitychange'));
    });
    await sleep(1000);
    // Page change with sendBeacon: the leave of /other arrives.
    await tab.click('#other');
    await tab.goto(`${SHOP}/missing`);
    await waitFor(
      'the leave of /other',
      () => events((e) => e.type === 'leave' && /other$/.test(e.url)).length > 1,
    );
    const otherLeaves = events((e) => e.type === 'leave' && /other$/.test(e.url));
    check(
      otherLeaves.length === 2 && otherLeaves[1].engaged_ms >= otherLeaves[0].engaged_ms + 900,
      `hidden then shown then left: 2 leaves, cumulative engaged_ms (${otherLeaves.map((e) => e.engaged_ms)})`,
      otherLeaves,
    );
    const otherClick = await waitFor(
      'the held click on /other, sent at pagehide',
      () => events((e) => e.type === 'click' && e.sel === '#other')[0],
    );
    check(otherClick && otherClick.dead === false, 'a click held at pagehide is sent unflagged', otherClick);
    const pv404 = await waitFor(
      'the 404 page view',
      () => events((e) => e.type === 'pageview' && /missing/.test(e.url))[0],
    );
    check(pv404 && pv404.status === 404, 'status 404 from <meta name="trailmap-status">', pv404);

    // Back to /other: a bfcache restore (when Chromium keeps the page) is a new page view.
    await tab.goBack({ waitUntil: 'commit' }); // a bfcache restore fires no load
    await sleep(500);
    const persisted = await tab.evaluate(() => window.restored);
    await sleep(6000);
    const otherViews = events((e) => e.type === 'pageview' && /other$/.test(e.url)).length;
    console.log(`going back to /other: ${persisted ? 'restored from the bfcache' : 'reloaded'}`);
    check(otherViews === 2, 'going back counts a page view');

    // Do-not-track.
    const dntContext = await browser.newContext();
    await dntContext.addInitScript(() =>
      Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', { get: () => true }),
    );
    const dntTab = await dntContext.newPage();
    const countBefore = posts().length;
    await dntTab.goto(`${SHOP}/dnt`);
    await dntTab.click('#b');
    await sleep(6000);
    const dntStub = await dntTab.evaluate(() => Array.isArray(window.trailmap.q));
    check(
      dntStub &&
        posts()
          .slice(countBefore)
          .every((r) => !JSON.stringify(r.body).includes('/dnt')),
      'data-respect-dnt with GPC: nothing sent, stub left alone',
    );
    await dntContext.close();

    // Every batch is one the server accepts.
    await tab.goto('about:blank');
    await sleep(500);
    const invalid = posts()
      .map((r) => [r, validate(r)])
      .filter(([, p]) => p.length);
    check(
      !invalid.length,
      `all ${posts().length} batches valid for the server`,
      invalid.map(([r, p]) => p),
    );
    check(
      posts().every((r) => r.body.events.length <= 25),
      'batches of at most 25 events',
    );
    check(!pageErrors.length, 'no page errors', pageErrors);
    const minified = await readFile(here('../dist/t.min.js'), 'utf8');
    check(!/localStorage|cookie/i.test(minified), 'no cookies, no localStorage in dist/t.min.js');
    const eventTypes = events().map((e) => e.type);
    console.log(`received ${posts().length} batches, ${eventTypes.length} events in 202 batches`);

    // Optional: the real server.
    if (process.env.TRAILMAP_BIN) {
      serverDir = await mkdtemp(join(tmpdir(), 'trailmap-dev-'));
      const db = join(serverDir, 'db.sqlite');
      const bin = process.env.TRAILMAP_BIN;
      execFileSync(bin, ['site', 'add', 'shop', '--origin', SHOP, '--db', db]);
      const port = 20000 + Math.floor(Math.random() * 20000);
      const token = 'dev-browser-token-123456';
      serverProcess = spawn(bin, ['serve', '--db', db, '--listen', `127.0.0.1:${port}`, '--token', token], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let serverLog = '';
      serverProcess.stdout.on('data', (d) => (serverLog += d));
      serverProcess.stderr.on('data', (d) => (serverLog += d));
      const base = `http://127.0.0.1:${port}`;
      realApi = `${base}/api/collect`;
      await waitFor('the real server', () => serverLog.includes('listening'));
      const realTab = await context.newPage();
      await realTab.goto(`${SHOP}/real`);
      await realTab.click('#go');
      await realTab.evaluate(() => scrollTo(0, 900));
      await sleep(1200);
      await realTab.evaluate(() => history.pushState({}, '', '/real/next'));
      await realTab.evaluate(() => trailmap('checkout', { total: 12.5, coupon: null }));
      await realTab.goto('about:blank');
      await sleep(1500);
      const auth = { headers: { authorization: `Bearer ${token}` } };
      const list = await (await fetch(`${base}/api/sites/shop/sessions`, auth)).json();
      const s = list.sessions && list.sessions[0];
      const detail =
        s &&
        (await (await fetch(`${base}/api/sites/shop/sessions/${encodeURIComponent(s.id)}`, auth)).json());
      const types = detail ? detail.events.map((e) => e.type) : [];
      console.log('real server session:', detail && detail.pages, types.join(','));
      check(
        ['pageview', 'click', 'scroll', 'leave', 'pageview', 'custom', 'leave'].every((t) =>
          types.includes(t),
        ) && detail.pages.length === 2,
        'the real server stored the session (2 pages, every event type)',
        detail,
      );
      const metrics = await (await fetch(`${base}/metrics`)).text();
      const rejected = metrics
        .split('\n')
        .filter((l) => /^trailmap_batches_rejected_total/.test(l) && !/ 0$/.test(l));
      const accepted = metrics.split('\n').filter((l) => /^trailmap_events_accepted_total/.test(l));
      console.log(accepted.join(' '));
      check(!rejected.length, 'no batch rejected by the real server', rejected);
    }
  } finally {
    await browser.close();
    if (serverProcess) serverProcess.kill('SIGTERM');
    if (serverDir) await rm(serverDir, { recursive: true, force: true });
    collector.close();
    shop.close();
  }
  console.log(failures ? `${failures} check(s) failed` : 'all checks passed');
  process.exit(failures ? 1 : 0);
}
