// JavaScript errors end to end in real headless Chromium: the demo shop's
// cart page, its tag given data-errors as the page is parsed, so t.js
// loads /t/errors.js from the collector. Clicking "Pay" throws (twice: one error per page view is
// kept), "Later" rejects a promise nobody handles. Then: the errors report
// holds them, the thrown one as an error click from the script whose URL
// lost its query string (no secret from a URL on disk), the rejection as
// kind `rejection` with its stack's first frame; `jserror:true` finds the session; the Friction view lists
// the errors with the API's numbers and shows the hostile message as text
// (no element made of it). Fails on any console error of the dashboards.
// Prints a JSON summary on stdout; exits non-zero on failure.
//
//   node tests/browser/errors.mjs COLLECTOR_URL ADMIN_TOKEN SCREENSHOT_DIR

import { harness, DESKTOP_UA as DESKTOP } from './harness.mjs';

const [base0, TOKEN, SHOTS] = process.argv.slice(2);
if (!base0 || !TOKEN || !SHOTS) {
  console.error('usage: node tests/browser/errors.mjs COLLECTOR_URL ADMIN_TOKEN SCREENSHOT_DIR');
  process.exit(2);
}
const BASE = base0.replace(/\/+$/, '');
const SITE = 'shop';
const { T, check, step, apiAdmin, party, finish, siteOrigin } = await harness({ base: BASE, token: TOKEN, shots: SHOTS });

const ORIGIN = await siteOrigin(SITE);
const MESSAGE = '<img src=x onerror="window.__pwned=1"> cart.total is undefined';
const THROWN = 'TypeError: ' + MESSAGE;
const PAGE = '/cart.html';

const P = await party('admin', { width: 1440, height: 900 });
const shop = await (await P.context.browser().newContext({ userAgent: DESKTOP })).newPage();
// The shop's own tag, with data-errors added as the page is parsed (t.js
// is deferred, so it reads the attribute when it runs).
await shop.addInitScript(() => {
  new MutationObserver(() => {
    const tag = document.querySelector('script[data-site]');
    if (tag) tag.dataset.errors = '';
  }).observe(document, { childList: true, subtree: true });
});

await step('a page with data-errors loads the capture and reports what it throws', async () => {
  check('the shop has an origin', !!ORIGIN);
  await shop.goto(ORIGIN + PAGE + '?coupon=SECRET42#pay');
  await shop.waitForFunction(() => [...document.scripts].some((s) => s.src.endsWith('/t/errors.js')) && typeof window.trailmap === 'function', null, T);
  // The page's own script, with a token in its URL: two listeners that
  // throw and one that rejects.
  await shop.route(ORIGIN + '/static/pay.js*', (route) => route.fulfill({
    status: 200,
    contentType: 'text/javascript',
    body: `
      document.getElementById('pay').addEventListener('click', () => { null.x; });
      document.getElementById('pay').addEventListener('click', () => { throw new TypeError(${JSON.stringify(MESSAGE)}); });
      document.getElementById('later').addEventListener('click', () => { Promise.reject(new Error('late failure')); });`,
  }));
  await shop.evaluate(() => new Promise((done) => {
    document.body.insertAdjacentHTML('beforeend', '<button id="pay">Pay</button> <button id="later">Later</button>');
    const code = document.createElement('script');
    code.src = '/static/pay.js?v=3&token=SECRET42';
    code.onload = done;
    document.body.append(code);
  }));
  await shop.waitForTimeout(300);
  await shop.click('#pay');
  await shop.click('#pay');
  await shop.click('#later');
  // The tracker sends its queue every 5 s.
  await shop.waitForTimeout(6000);
});

let report = null;
await step('the errors report holds both errors, as sent', async () => {
  const t0 = Date.now();
  while (Date.now() - t0 < 15000) {
    const r = await apiAdmin('GET', `/api/sites/${SITE}/errors`);
    report = r.body;
    if (report && (report.errors || []).length >= 3) break;
    await new Promise((res) => setTimeout(res, 200));
  }
  const errors = (report && report.errors) || [];
  const thrown = errors.find((e) => e.message === THROWN);
  const nullx = errors.find((e) => /null/.test(e.message) && e.kind === 'error');
  const rejected = errors.find((e) => e.kind === 'rejection');
  check('the thrown error is there, once (one page view), as an error click', thrown && thrown.views === 1 && thrown.sessions === 1 && thrown.error_clicks === 1, errors);
  check('its source is the script without its query string', thrown && thrown.source === ORIGIN + '/static/pay.js' && thrown.line === 3, thrown);
  check('its page is the page\'s path', thrown && thrown.pages[0] && thrown.pages[0].name === PAGE, thrown);
  check('the other listener\'s own error is a separate error', !!nullx, errors);
  check('the unhandled rejection is kind rejection, with its message and its stack\'s first frame', rejected && rejected.message === 'late failure'
    && rejected.error_clicks === 1 && rejected.source === ORIGIN + '/static/pay.js' && rejected.line === 4, rejected);
  check('no secret from the page URL in the report', !JSON.stringify(report).includes('SECRET42'), report);
  check('one session with errors', report && report.sessions_with_errors === 1, report);
});

await step('jserror:true finds the session', async () => {
  let total = 0;
  const t0 = Date.now();
  while (Date.now() - t0 < 10000 && total < 1) {
    const r = await apiAdmin('GET', `/api/sites/${SITE}/sessions?q=jserror%3Atrue`);
    total = (r.body && r.body.total) || 0;
    if (!total) await new Promise((res) => setTimeout(res, 200));
  }
  check('search finds one session with a JavaScript error', total === 1, total);
});

await step('the Friction view lists the errors, the message as text', async () => {
  const { page, q, go, shot } = P;
  await P.signIn();
  await go(`#/friction?site=${SITE}&range=7d`);
  await q('.js-errors-table').waitFor(T);
  await q('#js-errors-summary').waitFor(T);
  const rows = await q('.js-errors-table tbody tr').evaluateAll((trs) => trs.map((tr) => ({
    message: (tr.querySelector('.js-error-message') || {}).textContent,
    sessions: tr.children[1].textContent,
    clicks: tr.children[3].textContent,
  })));
  const errors = (report && report.errors) || [];
  check('one row per error of the API, in its order', JSON.stringify(rows.map((r) => r.message)) === JSON.stringify(errors.map((e) => e.message)), { rows, errors: errors.map((e) => e.message) });
  const thrown = rows.find((r) => r.message === THROWN);
  check('the thrown error shows its sessions and error clicks', thrown && thrown.sessions === '1' && thrown.clicks === '1', thrown);
  const made = await page.evaluate(() => ({ imgs: document.querySelectorAll('.js-errors-table img').length, pwned: !!window.__pwned }));
  check('the hostile message made no element and ran nothing', made.imgs === 0 && !made.pwned, made);
  const summary = await q('#js-errors-summary').textContent();
  check('the summary says how many sessions had an error', /^1 of \d+ sessions/.test(summary), summary);
  const search = await q('a[href*="jserror"]').first().getAttribute('href');
  check('a link searches sessions with errors', /q=jserror(%3A|:)true/.test(search), search);
  await shot('friction-errors');
});

await finish();
