// Drives real headless Chromium through the demo shop with the replay
// recorder on (data-replay), intercepts every layout snapshot the page
// uploads, and checks what it holds: no typed secret, no script, masked
// emails, digit runs and marked areas, a <base href>, a snapshot for every
// page view, the same hash for the same page. Prints a JSON summary on stdout;
// exits 1 (after printing it) when a check fails.
//
//   node tests/browser/replay_record.mjs SHOP_URL
//
// The shop's t.js tag should carry data-replay; when it does not, the page
// gets it before t.js runs (summary: tag_had_replay false).
import { gunzipSync } from 'node:zlib';

import { chromium, LAUNCH } from './chromium.mjs';

const shop = process.argv[2].replace(/\/$/, '');
// Typed into inputs only: none of these may ever reach a snapshot.
const SECRETS = {
  search: 'zqxsecretsearchterm',
  newsletter: 'secret-newsletter@example.com',
  email: 'secret-visitor@example.com',
  street: '742 Zqxsecret Street',
  city: 'Zqxsecretville',
  contact: 'zqxsecret message body',
  attribute: 'zqxsecretattribute', // written into a value attribute (as React does)
};
// Written into the page's text by the fixture (FAQ page): must be masked.
const FIXTURE = {
  email: 'jane.fixture@example.org',
  card: '4111 1111 1111 1111',
  phone: '020-7946-0958',
  masked: 'Zqxmasked Person',
  cssom: '.zqx-cssom-rule',
};

const failures = [];
const check = (ok, what, detail) => {
  if (!ok) failures.push(detail === undefined ? what : `${what}: ${JSON.stringify(detail).slice(0, 300)}`);
};
const median = (xs) => {
  const s = xs.filter((x) => typeof x === 'number').sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : null;
};
const round = (x, d = 2) => (x == null ? x : Math.round(x * 10 ** d) / 10 ** d);

const browser = await chromium.launch(LAUNCH);
const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
await context.addInitScript((FIXTURE) => {
  // data-replay on the tracker's tag, unless the shop already has it.
  new MutationObserver((records, observer) => {
    const tag = document.querySelector('script[data-site][src$="/t.js"]');
    if (tag) {
      sessionStorage.setItem('replay_tag_had', tag.hasAttribute('data-replay') ? '1' : '0');
      tag.setAttribute('data-replay', '');
      observer.disconnect();
    }
  }).observe(document, { childList: true, subtree: true });
  // The recorder's own timings (performance.measure), kept across pages.
  new PerformanceObserver((list) => {
    const log = JSON.parse(sessionStorage.getItem('replay_measures') || '[]');
    for (const e of list.getEntries()) {
      if (e.name.startsWith('trailmap:')) log.push({ name: e.name.slice(9), ms: e.duration, path: location.pathname });
    }
    sessionStorage.setItem('replay_measures', JSON.stringify(log));
  }).observe({ type: 'measure' });
  // A fixture on the FAQ page: personal data in text, a masked area, a
  // script handler, a javascript: link, a CSS-in-JS sheet and a canvas.
  if (location.pathname === '/help/faq.html') {
    addEventListener('DOMContentLoaded', () => {
      const box = document.createElement('section');
      box.id = 'replay-fixture';
      box.innerHTML =
        `<p title="mail ${FIXTURE.email}">Write to ${FIXTURE.email}, call ${FIXTURE.phone}, ` +
        `card ${FIXTURE.card}.</p>` +
        `<p data-trailmap-mask>${FIXTURE.masked}</p>` +
        `<a id="fixture-js" href="javascript:void(0)" onclick="alert(1)">js link</a>` +
        `<canvas id="fixture-canvas" width="40" height="20"></canvas>` +
        `<style id="fixture-cssom"></style>`;
      document.querySelector('main').append(box);
      document.getElementById('fixture-cssom').sheet.insertRule(`${FIXTURE.cssom} { color: red }`);
    });
  }
}, FIXTURE);

// The page's own record of what the recorder and the tracker send: fetch
// and sendBeacon are wrapped (before any page script) to pass each snapshot
// request, its body and its answer, and each tracker batch, to this script.
// (Playwright's request events carry no body for a Blob.) The wrappers only
// look: they call the originals with the same arguments.
const snapshotRequests = []; // {kind: probe|upload, hash, params, status, raw, gzip, html}
const networkContentTypes = []; // Content-Type of every snapshot request on the wire
await context.exposeBinding('__replayReport', (source, kind, id, url, data) => {
  if (kind === 'status') {
    const entry = snapshotRequests.find((r) => r.id === id);
    if (entry) entry.status = data;
  } else {
    const u = new URL(url);
    const entry = { id, kind, hash: u.pathname.split('/').pop(), params: Object.fromEntries(u.searchParams), status: null };
    if (kind === 'upload') {
      const body = Buffer.from(data, 'base64');
      entry.gzip = body.length;
      try {
        const html = gunzipSync(body);
        entry.raw = html.length;
        entry.html = html.toString('utf8');
      } catch (e) {
        entry.error = 'not gzip';
      }
    }
    snapshotRequests.push(entry);
  }
});
await context.addInitScript(() => {
  let seq = 0;
  const report = (...args) => window.__replayReport(...args);
  // The tracker's $layout events, kept in sessionStorage (a beacon at
  // pagehide is too late for a binding call).
  const keep = (body) => {
    try {
      const layouts = JSON.parse(body).events.filter((e) => e.type === 'custom' && e.name === '$layout');
      const log = JSON.parse(sessionStorage.getItem('replay_layouts') || '[]');
      sessionStorage.setItem('replay_layouts', JSON.stringify(log.concat(layouts)));
    } catch (e) {}
  };
  // Every page differs from the previous run's (a collector that kept them
  // would answer 204 and get no body to check); the same page stays the same
  // within the run.
  if (!sessionStorage.getItem('replay_run')) sessionStorage.setItem('replay_run', Math.random().toString(36).replace(/[^a-z]/g, ''));
  addEventListener('DOMContentLoaded', () =>
    document.documentElement.setAttribute('data-replay-run', sessionStorage.getItem('replay_run')),
  );
  const fetch = window.fetch;
  window.fetch = function (input, init) {
    const url = String((input && input.url) || input);
    const body = init && init.body;
    const promise = fetch.apply(this, arguments);
    if (url.includes('/api/replay/snapshots/')) {
      const id = ++seq + ':' + Math.random();
      const answer = () =>
        promise.then((r) => report('status', id, url, r.status), () => report('status', id, url, 'failed'));
      if (body instanceof Blob) {
        body.arrayBuffer().then((buffer) => {
          let binary = '';
          const bytes = new Uint8Array(buffer);
          for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
          report('upload', id, url, btoa(binary)).then(answer);
        });
      } else {
        report(body ? 'upload' : 'probe', id, url, body ? btoa(body) : null).then(answer);
      }
    } else if (url.includes('/api/collect') && typeof body === 'string') {
      keep(body);
    }
    return promise;
  };
  const beacon = navigator.sendBeacon;
  navigator.sendBeacon = function (url, data) {
    if (String(url).includes('/api/collect')) keep(String(data));
    return beacon.apply(this, arguments);
  };
});

const page = await context.newPage();
// Console output of the pages (the recorder must add none of its own).
const consoleLines = [];
page.on('console', (m) => {
  if (m.type() === 'error' || m.type() === 'warning') consoleLines.push({ type: m.type(), text: m.text(), url: m.location().url });
});
page.on('pageerror', (e) => consoleLines.push({ type: 'pageerror', text: String(e) }));
page.on('request', (req) => {
  if (req.url().includes('/api/replay/snapshots/')) networkContentTypes.push(req.headers()['content-type'] || null);
});

// Page views as the tracker sees them: every load and every URL change.
const views = [];
const settle = (ms) => page.waitForTimeout(ms);
// A snapshot is due after load, and a URL change; the recorder checks every
// 0.5 s and waits for 1 s of DOM quiet, then for an idle moment.
// (Only requests from index `from` on count.)
const snapped = async (url, from) => {
  for (let i = 0; i < 50; i++) {
    // Answered, and after a 200 ("wanted") the upload answered too: the test moves on
    // only when the recorder is done (a visitor leaving within those few
    // milliseconds loses that layout; the test is about its content).
    const recent = snapshotRequests.slice(from);
    const done = (p) => p.status === 204 || recent.some((u) => u.kind === 'upload' && u.hash === p.hash && u.status);
    if (recent.some((r) => r.kind === 'probe' && r.params.url === url && r.status && done(r))) return true;
    await settle(100);
  }
  return false;
};
const visit = async (path, before) => {
  const from = snapshotRequests.length;
  await page.goto(shop + path, { waitUntil: 'domcontentloaded' });
  if (before) await before();
  await page.waitForLoadState('load');
  const url = page.url();
  views.push(url);
  check(await snapped(url, from), 'a snapshot of the page view', url);
};
const spa = async (selector) => {
  const from = snapshotRequests.length;
  await page.click(selector);
  const url = page.url();
  views.push(url);
  check(await snapped(url, from), 'a snapshot of the SPA page view', url);
};

// 1. Home: secrets typed into the search box and the newsletter field
//    before the snapshot is taken (right after DOMContentLoaded).
await visit('/', async () => {
  await page.fill('#search-input', SECRETS.search);
  await page.fill('#newsletter-email', SECRETS.newsletter);
});
// 2. A category, a product (added to the cart), the cart.
// A page view reached by a click: `action` leads to a page matching `path`.
const follow = async (action, path) => {
  const from = snapshotRequests.length;
  await action();
  await page.waitForURL('**' + path);
  await page.waitForLoadState('load');
  views.push(page.url());
  check(await snapped(page.url(), from), 'a snapshot of the page view', page.url());
};
await follow(() => page.click('main a[href="/category/shoes.html"]'), '/category/shoes.html');
await visit('/product/101.html');
await page.click('#add-to-cart');
await settle(300);
await visit('/cart.html');
// 3. Checkout: the address form filled in; a value attribute set by script.
await visit('/checkout/address.html', async () => {
  await page.fill('#name', 'Testy');
  await page.fill('#email', SECRETS.email);
  await page.fill('#street', SECRETS.street);
  await page.fill('#city', SECRETS.city);
  await page.evaluate((v) => document.querySelector('#city').setAttribute('value', v), SECRETS.attribute);
});
// A big mutation on the same page: more than 50 elements added.
const beforeBig = snapshotRequests.filter((r) => r.kind === 'probe').length;
await page.evaluate(() => {
  const list = document.createElement('ul');
  list.id = 'replay-big-mutation';
  for (let i = 0; i < 80; i++) list.append(Object.assign(document.createElement('li'), { textContent: 'row ' + i }));
  document.querySelector('main').append(list);
});
for (let i = 0; i < 50 && snapshotRequests.filter((r) => r.kind === 'probe').length === beforeBig; i++) await settle(100);
const bigMutation = snapshotRequests.filter((r) => r.kind === 'probe').length > beforeBig;
check(bigMutation, 'a snapshot after a big mutation');
await follow(() => page.click('#to-shipping'), '/checkout/shipping.html');
await follow(() => page.click('#to-payment'), '/checkout/payment.html');
await follow(() => page.click('#pay'), '/thank-you.html');
// 4. The FAQ (fixture), the contact form (typed), the FAQ again (dedup).
await visit('/help/faq.html');
await visit('/help/contact.html', async () => {
  await page.fill('#contact-name', 'Testy');
  await page.fill('#contact-email', SECRETS.email);
  await page.fill('#contact-message', SECRETS.contact);
});
await visit('/help/faq.html');
await visit('/help/faq.html');
// 5. The SPA gift finder: every step is a page view of its own.
await visit('/gifts/');
await spa('#gift-start');
await spa('#who-friend');
await spa('#budget-low');
// Back (popstate) to the budget step: the same layout as before.
const beforeBack = snapshotRequests.length;
await page.goBack();
views.push(page.url());
check(await snapped(page.url(), beforeBack), 'a snapshot after popstate', page.url());
await settle(500);

const measures = await page.evaluate(() => JSON.parse(sessionStorage.getItem('replay_measures') || '[]'));
const tagHad = await page.evaluate(() => sessionStorage.getItem('replay_tag_had') === '1');
// The tracker's last batch: a page view ends (pagehide, sendBeacon); the
// next page of the tab (same origin) still has the session's storage.
const before404 = snapshotRequests.length;
await page.goto(shop + '/404.html');
// Closing the browser mid-upload would leave a request unanswered: wait
// for the recorder to finish with this page too.
await snapped(page.url(), before404);
const layoutEvents = await page.evaluate(() => JSON.parse(sessionStorage.getItem('replay_layouts') || '[]'));
await page.close({ runBeforeUnload: true });
await browser.close();

// REPLAY_DUMP=DIR: every uploaded snapshot as DIR/HASH.html, for a look.
if (process.env.REPLAY_DUMP) {
  const { mkdirSync, writeFileSync } = await import('node:fs');
  mkdirSync(process.env.REPLAY_DUMP, { recursive: true });
  for (const u of snapshotRequests) if (u.html) writeFileSync(`${process.env.REPLAY_DUMP}/${u.hash}.html`, u.html);
}

// ---- checks on what was sent ------------------------------------------
const probes = snapshotRequests.filter((r) => r.kind === 'probe');
const uploads = snapshotRequests.filter((r) => r.kind === 'upload');
check(probes.length > 0, 'at least one snapshot probe');
for (const r of snapshotRequests) {
  check(/^[0-9a-f]{64}$/.test(r.hash), 'the hash is 64 hex digits', r.hash);
  check(r.params.site && r.params.url && ['vw', 'vh', 'dw', 'dh'].every((k) => /^\d+$/.test(r.params[k] || '')),
    'site, url, vw, vh, dw, dh in the query', r.params);
}
check(networkContentTypes.length >= snapshotRequests.length, 'every snapshot request seen on the wire', networkContentTypes.length);
check(networkContentTypes.every((t) => t === null), 'no Content-Type on snapshot requests (simple requests)', networkContentTypes);
for (const r of probes) check([204, 200].includes(r.status), 'a probe gets 204 (known) or 200 (wanted)', r.status);
for (const r of uploads) {
  check(!r.error, 'the upload is gzip', r.hash);
  // No status: the page navigated first; the keepalive request goes on
  // without it, and tests/browser.rs checks the server stored the layout.
  check(r.status == null || [200, 201].includes(r.status), 'an upload gets 201 or 200', { status: r.status, hash: r.hash });
  const probe = probes.find((p) => p.hash === r.hash);
  check(probe && probe.status === 200, 'an upload follows a "wanted" probe of the same hash', r.hash);
}
for (const p of probes.filter((p) => p.status === 200)) {
  check(uploads.some((u) => u.hash === p.hash), 'a "wanted" probe is followed by an upload', p.hash);
}
const htmls = uploads.filter((u) => u.html);
for (const u of htmls) {
  const html = u.html;
  const lower = html.toLowerCase();
  for (const [name, secret] of Object.entries(SECRETS)) {
    check(!lower.includes(secret.toLowerCase()), `the typed secret (${name}) is not in the snapshot`, u.params.url);
  }
  check(html.startsWith('<!DOCTYPE html><html'), 'the snapshot starts with <!DOCTYPE html><html', html.slice(0, 40));
  check(!/<script/i.test(html), 'no <script in the snapshot', u.params.url);
  check(!/<noscript/i.test(html), 'no <noscript in the snapshot', u.params.url);
  check(!/\son[a-z]+=/i.test(html), 'no on* handler attributes', (html.match(/.{40}\son[a-z]+=.{20}/i) || [])[0]);
  check(!/javascript:/i.test(html), 'no javascript: URLs', u.params.url);
  check(/<head><base href="http[^"]+">/.test(html), '<base href> first in <head>', html.slice(0, 200));
  const base = (html.match(/<base href="([^"]+)">/) || [])[1];
  check(base && !/[?#]/.test(base) && u.params.url.startsWith(base), 'the base is the page URL without query and hash', { base, url: u.params.url });
  // Whatever looks like an email or a 6+ digit run in text is masked.
  const text = html.replace(/<style[^>]*>[\s\S]*?<\/style>/gi, '').replace(/<[^>]*>/g, ' ');
  check(!/[\w.+-]+@[\w-]+\.[\w.-]+/.test(text), 'no email in text', (text.match(/\S+@\S+/) || [])[0]);
  check(!/\d([ -]?\d){5,}/.test(text), 'no 6+ digit run in text', (text.match(/\d([ -]?\d){5,}/) || [])[0]);
}
// The fixture page and the natural data of the shop.
const faq = htmls.find((u) => u.html.includes('id="replay-fixture"'));
check(faq, 'the FAQ snapshot with the fixture was uploaded');
if (faq) {
  const h = faq.html;
  for (const [name, value] of Object.entries(FIXTURE).filter(([k]) => k !== 'cssom')) {
    check(!h.includes(value), `fixture ${name} is masked`);
    check(h.includes(value.replace(/\S/g, '*')), `fixture ${name} is replaced by stars of the same length`);
  }
  check(h.includes(FIXTURE.cssom), 'a CSSOM-built style is written into the snapshot');
  check(/<canvas id="fixture-canvas"[^>]*width="40"/.test(h), 'the canvas keeps its box');
  check(/<a id="fixture-js">/.test(h), 'the javascript: link loses its href and handler', (h.match(/<a id="fixture-js"[^>]*>/) || [])[0]);
}
const contact = htmls.find((u) => u.params.url.endsWith('/help/contact.html'));
if (contact) check(!contact.html.includes('help@trailhead.example') && contact.html.includes('*'.repeat(22)), 'the shop email on the contact page is masked');
const thanks = htmls.find((u) => u.params.url.endsWith('/thank-you.html'));
if (thanks) check(/TH-\*{6}/.test(thanks.html), 'the order number is masked', (thanks.html.match(/TH-[^<]*/) || [])[0]);
// A snapshot for every page view.
for (const url of views) check(probes.some((p) => p.params.url === url), 'every page view has a snapshot', url);
// Dedup: the same page gives the same hash.
const faqHashes = [...new Set(probes.filter((p) => p.params.url.endsWith('/help/faq.html')).map((p) => p.hash))];
check(faqHashes.length === 1, 'the FAQ page, loaded 3 times, has one hash', faqHashes);
const faqUploads = uploads.filter((u) => faqHashes.includes(u.hash));
check(faqUploads.length === 1 || (faqUploads.length === 0 && probes.some((p) => faqHashes.includes(p.hash) && p.status === 204)),
  'the FAQ layout is uploaded at most once', faqUploads.length);
check(probes.filter((p) => faqHashes.includes(p.hash)).slice(1).every((p) => p.status === 204),
  'later probes of the FAQ layout get 204');
// (The gift finder's budget step, seen again after the results, differs:
// the results are rendered into the page by then.)
// $layout events: one per probe, with the probe's hash and sizes. (The
// last page only flushes the tracker: its own batch is sent as the test
// closes the tab, after the events were read.)
for (const p of probes.slice(0, probes.length - (probes.length && probes[probes.length - 1].params.url.endsWith('/404.html') ? 1 : 0))) {
  const e = layoutEvents.find((l) => l.props.hash === p.hash && l.url === p.params.url);
  check(e, 'a $layout event for each snapshot', { hash: p.hash, url: p.params.url });
  if (e) check(['vw', 'vh', 'dw', 'dh'].every((k) => String(e.props[k]) === p.params[k]), '$layout sizes match the probe', e.props);
}
const unanswered = (r) => r.status === 'failed' || (!r.status && r.kind !== 'upload');
check(!snapshotRequests.some(unanswered), 'every snapshot request got an answer',
  snapshotRequests.filter(unanswered).map((r) => [r.kind, r.params.url, r.status]));
// Console: nothing from the recorder. The one line allowed is the browser's
// own for the shop's error page, whose document is answered 404 (a probe
// answered 404 would log the same words, with the probe's URL).
const noise = consoleLines.filter((l) => !(/status of 404/.test(l.text) && l.url === shop + '/404.html'));
check(noise.length === 0, 'no console errors or warnings', noise);

const byName = (name) => measures.filter((m) => m.name === name).map((m) => m.ms);
const summary = {
  ok: failures.length === 0,
  failures,
  tag_had_replay: tagHad,
  page_views: views.length,
  snapshots: probes.length,
  uploads: uploads.length,
  probes_204: probes.filter((p) => p.status === 204).length,
  probes_404: probes.filter((p) => p.status === 404).length,
  distinct_hashes: new Set(probes.map((p) => p.hash)).size,
  big_mutation_snapshot: bigMutation,
  layout_events: layoutEvents.length,
  console_404_lines: consoleLines.length - noise.length,
  bytes_raw_median: median(uploads.map((u) => u.raw)),
  bytes_gzip_median: median(uploads.map((u) => u.gzip)),
  capture_ms_median: round(median(byName('capture'))),
  hash_ms_median: round(median(byName('hash'))),
  gzip_ms_median: round(median(byName('gzip'))),
  per_snapshot: probes.map((p) => {
    const u = uploads.find((x) => x.hash === p.hash);
    return { url: p.params.url.replace(shop, ''), hash: p.hash.slice(0, 12), probe: p.status, raw: u ? u.raw : null, gzip: u ? u.gzip : null };
  }),
  measures: measures.map((m) => ({ ...m, ms: round(m.ms) })),
};
process.stdout.write(JSON.stringify(summary) + '\n');
process.exit(failures.length ? 1 : 0);
