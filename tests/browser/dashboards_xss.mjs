// Hostile visitor strings in the real dashboards: a session whose URL,
// title, referrer, utm tags, click selector and text, and custom event
// carry HTML and script payloads is shown on every view that lists it
// (Why they left names the rage-clicked element by its selector).
// Nothing may run and nothing may become markup: the payload must appear
// as text, no element it describes may exist, no CSP violation may fire.
//
//   node tests/browser/dashboards_xss.mjs BASE_URL TOKEN SESSION_ID

import { chromium, LAUNCH } from './chromium.mjs';

const [base0, TOKEN, SESSION] = process.argv.slice(2);
const BASE = base0.replace(/\/+$/, '');
const browser = await chromium.launch(LAUNCH);
const context = await browser.newContext({ viewport: { width: 1360, height: 900 } });
await context.addInitScript(() => {
  document.addEventListener('securitypolicyviolation', (e) => {
    window.__violations = (window.__violations || 0) + 1;
    console.error('CSP violation: ' + e.violatedDirective);
  });
});
const page = await context.newPage();
const problems = [];
page.on('pageerror', (e) => problems.push('pageerror: ' + e.message));
page.on('console', (m) => { if (m.type() === 'error' && !/status of 4\d\d/.test(m.text())) problems.push(m.text()); });
page.on('dialog', async (d) => { problems.push('dialog: ' + d.message()); await d.dismiss(); });

await page.goto(BASE + '/');
await page.fill('#signin-token', TOKEN);
await page.click('#signin-submit');
await page.waitForSelector('#app:not([hidden])');

const views = [
  ['session', `#/session?site=shop&id=${SESSION}`, '#session-timeline'],
  ['sessions', '#/sessions?site=shop&range=all', '#sessions-table tbody tr'],
  ['overview', '#/overview?site=shop&range=all', '.view .card'],
  ['friction', '#/friction?site=shop&range=all', '.view .card'],
  ['transitions', '#/transitions?site=shop&range=all', '.view .card'],
  // The event's name and property, and the utm_campaign as a segment
  // (the hostile session is a bot's: counted with bots only).
  ['conversions', '#/conversions?site=shop&range=all&bots=1', '#events-card table, #events-card .empty'],
  // Why they left from the hostile page: its rage click's selector named
  // as the element clicked.
  ['why', '#/why?site=shop&range=all&bots=1&at=%5E%2Fp', '#why-reasons tbody tr, #why-empty'],
];
const results = [];
for (const [name, hash, ready] of views) {
  await page.evaluate((h) => { location.hash = h; }, hash);
  await page.waitForSelector(ready, { timeout: 15000 }).catch(() => problems.push(`${name}: never rendered`));
  await page.waitForTimeout(700);
  const r = await page.evaluate(() => ({
    pwned: !!window.__pwned,
    violations: window.__violations || 0,
    injected: document.querySelectorAll('img[src="x"], img[src*="pwn"], svg[onload], [onerror], [onclick], iframe, object, embed, script:not([src])').length,
    // What the page shows as text holds the payloads' angle brackets.
    shown: document.body.innerText.includes('<img') || document.body.innerText.includes('<script'),
  }));
  results.push({ view: name, ...r });
  if (r.pwned || r.violations || r.injected) problems.push(`${name}: ${JSON.stringify(r)}`);
}
if (!results.find((r) => r.view === 'why').shown) problems.push('why: the rage-clicked element (the hostile selector) was not shown');
const shownSomewhere = results.some((r) => r.shown);
if (!shownSomewhere) problems.push('the payloads were never shown as text: is the hostile session on screen?');
console.log(JSON.stringify({ ok: problems.length === 0, results, problems }, null, 2));
await browser.close();
process.exit(problems.length === 0 ? 0 : 1);
