// Drives real headless Chromium through the trailmap dashboards: sign-in
// (wrong token, then the right one), every view, a shared URL restored in
// a fresh tab, sign-out; fails on any console error, page error or CSP
// violation. Prints a JSON summary on stdout; exits non-zero on failure.
//
//   node tests/browser/dashboards.mjs BASE_URL TOKEN SCREENSHOT_DIR
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { chromium, LAUNCH } from './chromium.mjs';
import { measureFit } from './harness.mjs';

const [base0, TOKEN, SHOTS] = process.argv.slice(2);
if (!base0 || !TOKEN || !SHOTS) {
  console.error('usage: node tests/browser/dashboards.mjs BASE_URL TOKEN SCREENSHOT_DIR');
  process.exit(2);
}
const BASE = base0.replace(/\/+$/, '');
mkdirSync(SHOTS, { recursive: true });

const checks = [];
const problems = []; // console errors, page errors, CSP violations
const screenshots = [];
let expectHttpErrors = 0; // >0 while a step deliberately provokes 4xx replies
let shotN = 0;

function check(name, ok, detail) {
  checks.push({ name, ok: !!ok, ...(detail === undefined ? {} : { detail }) });
  return !!ok;
}
async function step(name, fn) {
  try { await fn(); } catch (e) { check(name, false, String(e && e.stack ? e.stack.split('\n').slice(0, 3).join(' | ') : e)); }
}

async function apiGet(path) {
  const res = await fetch(BASE + path, { headers: { Authorization: 'Bearer ' + TOKEN } });
  return { status: res.status, body: await res.json().catch(() => null) };
}

const browser = await chromium.launch(LAUNCH);
const context = await browser.newContext({ viewport: { width: 1360, height: 900 } });
// Report CSP violations through the console, where they are collected.
const reportCsp = () => {
  document.addEventListener('securitypolicyviolation', (e) => {
    console.error('CSP violation: ' + e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline') + ' at ' + e.sourceFile + ':' + e.lineNumber);
  });
};
await context.addInitScript(reportCsp);

function watch(page, label) {
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const text = m.text();
    if (expectHttpErrors > 0 && /Failed to load resource: the server responded with a status of 4\d\d/.test(text)) return;
    // Signed out, the app's first question (GET /api/session) is answered
    // 401, which Chromium logs.
    if (/status of 401/.test(text) && /\/api\/session$/.test((m.location() && m.location().url) || '')) return;
    problems.push({ page: label, kind: 'console', text, url: m.location() && m.location().url });
  });
  page.on('pageerror', (e) => problems.push({ page: label, kind: 'pageerror', text: String(e && e.message) }));
}

const page = await context.newPage();
watch(page, 'main');
// The boxes of the overview chart's x-axis labels, left to right.
const axisBoxes = () => page.evaluate(() => [...document.querySelectorAll('#sessions-chart svg > text.axis')]
  .map((t) => { const r = t.getBoundingClientRect(); return [Math.round(r.left), Math.round(r.right)]; })
  .sort((a, b) => a[0] - b[0]));
const axisClear = async () => { const b = await axisBoxes(); return b.length >= 2 && b.every((x, i) => i === 0 || x[0] >= b[i - 1][1]); };
// Apart, not just not overlapping: "Nov 22Nov 23" touches.
const axisApart = (b, gap = 4) => b.length >= 2 && b.every((x, i) => i === 0 || x[0] - b[i - 1][1] >= gap);
const q = (sel) => page.locator(sel);
const go = async (hash) => { await page.evaluate((x) => { location.hash = x; }, hash); };
const shot = async (name) => {
  const file = join(SHOTS, String(++shotN).padStart(2, '0') + '-' + name + '.png');
  await page.screenshot({ path: file, fullPage: true });
  screenshots.push(file);
};
const imgLoaded = (sel) => page.waitForFunction((s) => {
  const i = document.querySelector(s);
  return i && i.complete && i.naturalWidth > 0 && i.src.startsWith('blob:');
}, sel, { timeout: 15000 });
const T = { timeout: 15000 };
// A share as the dashboards print it (core.js fmt.pct).
const pct = (x) => (x * 100).toFixed(x === 0 || x === 1 ? 0 : 1) + '%';
const digits = (t) => (t || '').replace(/[^\d]/g, '');
// A report asked with the same range and filters as the page shows.
const askLikePage = (path, extra = {}) => page.evaluate(async ([pth, x, tok]) => {
  const core = await import('/dashboard/js/core.js');
  const qs = new URLSearchParams(Object.entries({ top: 10, ...x, ...core.filterParams() }).map(([k, v]) => [k, String(v)]));
  const r = await fetch(core.siteBase() + '/' + pth + '?' + qs, { headers: { Authorization: 'Bearer ' + tok } });
  return r.json();
}, [path, extra, TOKEN]);
// The numbers of one column of a table, summed.
const columnSum = (sel, col) => page.evaluate(([s, c]) => [...document.querySelectorAll(s + ' tbody tr')]
  .reduce((a, tr) => a + Number((tr.children[c].textContent || '').replace(/[^\d.]/g, '') || 0), 0), [sel, col]);

// The API itself refuses calls without a token.
await step('api requires token', async () => {
  const r = await fetch(BASE + '/api/sites');
  check('api without token is 401', r.status === 401, r.status);
});

const sites = (await apiGet('/api/sites')).body;
const site = sites && sites.sites && sites.sites[0] ? sites.sites[0].name : 'shop';

await step('sign-in', async () => {
  await page.goto(BASE + '/');
  check('root redirects to /dashboard/', new URL(page.url()).pathname === '/dashboard/', page.url());
  await q('#signin-token').waitFor({ state: 'visible', ...T });
  check('sign-in screen shown', await q('#signin').isVisible());
  check('app hidden before sign-in', !(await q('#app').isVisible()));
  await shot('signin');
  expectHttpErrors++;
  await q('#signin-token').fill('definitely-wrong-' + TOKEN);
  await q('#signin-submit').click();
  await q('#signin-error').waitFor({ state: 'visible', ...T });
  expectHttpErrors--;
  const err = await q('#signin-error').textContent();
  check('wrong token shows an error', /not accepted|token/i.test(err), err);
  check('still on sign-in after wrong token', !(await q('#app').isVisible()));
  await shot('signin-error');
  await q('#signin-token').fill(TOKEN);
  await q('#signin-submit').click();
  await q('#app').waitFor({ state: 'visible', ...T });
  check('signed in', await q('#app').isVisible());
  // The session is the server's HttpOnly cookie: the page keeps no token.
  const stored = await page.evaluate(() => JSON.stringify({ ...sessionStorage }) + JSON.stringify({ ...localStorage }) + document.cookie);
  check('no token in sessionStorage, localStorage or document.cookie', !stored.includes(TOKEN), stored);
  const jar = await context.cookies(BASE);
  check('the session cookie is HttpOnly', jar.some((c) => c.name === 'trailmap_session' && c.httpOnly), jar.map((c) => [c.name, c.httpOnly]));
});

await step('overview', async () => {
  await go(`#/overview?site=${site}&range=7d`);
  await q('[data-kpi=sessions] .kpi-value').waitFor(T);
  await q('#sessions-chart svg, #sessions-chart .empty').first().waitFor(T);
  // Same query as the page (same filters and range) straight from the API.
  const api = await page.evaluate(async (tok) => {
    const core = await import('/dashboard/js/core.js');
    const qs = new URLSearchParams(Object.entries({ top: 10, ...core.filterParams() }).map(([k, v]) => [k, String(v)]));
    const r = await fetch(core.siteBase() + '/overview?' + qs, { headers: { Authorization: 'Bearer ' + tok } });
    return r.json();
  }, TOKEN);
  const shown = (await q('[data-kpi=sessions] .kpi-value').textContent()).replace(/[^\d]/g, '');
  check('overview sessions equal API', shown === String(api.sessions), { shown, api: api.sessions });
  // The share of sessions that reached a goal, beside the other figures.
  const rate = (await q('[data-kpi=conversion_rate] .kpi-value').textContent()).trim();
  check('overview shows the conversion rate of the API', !!api.goals && rate === pct(api.goals.conversion_rate), { shown: rate, api: api.goals && api.goals.conversion_rate });
  check('overview lists the goals', (await q('#overview-goals .barlist-row').count()) === ((api.goals && api.goals.goals) || []).length);
  // A goal reads as its path (or event), not as its regex; the pattern
  // itself is in the title.
  const goalLabels = await q('#overview-goals .bl-label').evaluateAll((els) => els.map((e) => [e.textContent, e.getAttribute('title')]));
  check('overview goals read as paths or events, their patterns in the title', goalLabels.length > 0 && goalLabels.every(([text, raw], i) => raw === api.goals.goals[i].goal
    && (raw.startsWith('event:') ? text === raw.slice(6) + ' (event)' : text.startsWith('/') && !/[\^$|()\\[\]]/.test(text))), goalLabels);
  check('the time axis labels do not overlap', await axisClear(), await axisBoxes());
  // Every table can be downloaded as CSV: the entry pages, as shown.
  const entryCard = q('section.card:has(h2:text-is("Top entry pages"))');
  const [dl] = await Promise.all([page.waitForEvent('download', T), entryCard.locator('.csv-btn').click()]);
  const csv = readFileSync(await dl.path(), 'utf8').trim().split('\n');
  const shownRows = await entryCard.locator('.barlist-row').count();
  check('a table downloads as CSV, header first, a line per row', csv[0] === 'Page,Sessions' && csv.length === shownRows + 1 && /^\/[^,]*,\d+$/.test(csv[1]), { head: csv.slice(0, 3), lines: csv.length, shownRows, name: dl.suggestedFilename() });
  check('every table card has a CSV button', (await page.evaluate(() => [...document.querySelectorAll('#view .card')].filter((c) => c.querySelector('table, [role=table]') && c.querySelector(':scope > .card-head') && !c.querySelector('.csv-btn')).length)) === 0);
  // The CSV button stays on its title's line (a note beside the title goes
  // under it instead), at the widths where the cards are three abreast.
  const offLine = [];
  for (const w of [1440, 1360]) {
    await page.setViewportSize({ width: w, height: 900 });
    await page.waitForTimeout(250);
    offLine.push(...await page.evaluate(() => [...document.querySelectorAll('#view .card-head')].filter((hd) => hd.querySelector('.csv-btn')).map((hd) => {
      const t = hd.querySelector('h2').getBoundingClientRect(), b = hd.querySelector('.csv-btn').getBoundingClientRect();
      return b.top < t.bottom && b.bottom > t.top ? null : hd.querySelector('h2').textContent + ' @' + innerWidth;
    }).filter(Boolean)));
  }
  await page.setViewportSize({ width: 1360, height: 900 });
  check('card CSV buttons stay on the title line', offLine.length === 0, offLine);
  // Notes on the timeline: one made through the API is drawn on the chart
  // and listed; one added with the form appears; removing it works.
  const made = await fetch(BASE + `/api/sites/${site}/annotations`, { method: 'POST', headers: { Authorization: 'Bearer ' + TOKEN, 'Content-Type': 'application/json' },
    body: JSON.stringify({ at: Date.now() - 2 * 86400000, text: 'new shipping prices' }) });
  check('a note is made through the API', made.status === 201, made.status);
  await go(`#/overview?site=${site}&range=7d&metric=page_views`);
  await q('#sessions-chart .annotation').first().waitFor(T);
  check('the note is drawn on the chart', (await q('#sessions-chart .annotation title').first().textContent()) === 'new shipping prices');
  check('the note is listed under the chart', (await q('#overview-notes .note-text').allTextContents()).includes('new shipping prices'));
  await q('#note-text').fill('sale ends');
  await q('#note-add').click();
  await page.waitForFunction(() => [...document.querySelectorAll('#overview-notes .note-text')].some((e) => e.textContent === 'sale ends'), null, T);
  await q('#overview-notes .note:has-text("sale ends") .note-remove').click();
  await page.waitForFunction(() => ![...document.querySelectorAll('#overview-notes .note-text')].some((e) => e.textContent === 'sale ends'), null, T);
  check('a note added and removed in the dashboards', true);
  await go(`#/overview?site=${site}&range=7d`);
  await q('#sessions-chart svg').waitFor(T);
  // All time: hourly buckets with long labels ("Dec 4, 03:00 PM").
  await go(`#/overview?site=${site}&range=all`);
  await q('#sessions-chart svg').waitFor(T);
  await page.waitForTimeout(300);
  // At several widths, since where labels fall depends on the buckets.
  const crowded = [];
  for (const w of [1360, 1280, 1200, 1100, 1024, 960, 900, 800, 768]) {
    await page.setViewportSize({ width: w, height: 900 });
    await page.waitForTimeout(250);
    if (!(await axisClear())) crowded.push({ width: w, boxes: await axisBoxes() });
  }
  await page.setViewportSize({ width: 1360, height: 900 });
  check('the time axis labels do not overlap over all time', crowded.length === 0, crowded);
  // Thirty days by day at 1440 px (and other widths): no two axis labels
  // overlap or touch ("Nov 22Nov 23"), their boxes compared.
  await go(`#/overview?site=${site}&range=30d`);
  await q('#sessions-chart svg').waitFor(T);
  const crowded30 = [];
  for (const w of [1440, 1600, 1360, 1280, 1200, 1100, 1024, 900, 768, 390]) {
    await page.setViewportSize({ width: w, height: 900 });
    await page.waitForTimeout(250);
    const boxes = await axisBoxes();
    if (!axisApart(boxes)) crowded30.push({ width: w, boxes });
    if (w === 1440) check('30 days at 1440 px: several axis labels, none overlapping', boxes.length >= 4 && axisApart(boxes), boxes);
  }
  await page.setViewportSize({ width: 1360, height: 900 });
  check('the time axis labels stay apart over 30 days at every width', crowded30.length === 0, crowded30);
  // A range with no traffic: rates and averages are no figure ("–"), and
  // the countries card does not blame GeoIP.
  await go(`#/overview?site=${site}&range=custom&from=2001-01-01&to=2001-01-31`);
  await page.waitForFunction(() => document.querySelector('[data-kpi=sessions] .kpi-value') && document.querySelector('[data-kpi=sessions] .kpi-value').textContent === '0', null, T);
  const emptyKpis = await page.evaluate(() => ['bounce_rate', 'mean_duration', 'views_per'].map((k) => document.querySelector(`[data-kpi=${k}] .kpi-value`).textContent));
  check('an empty range shows no bounce rate or duration', emptyKpis.every((t) => t === '–'), emptyKpis);
  const countriesEmpty = await q('section.card:has(h2:text-is("Countries"))').textContent();
  check('an empty range: the countries card says so, not GeoIP', /No sessions in this range/.test(countriesEmpty) && !/GeoIP/.test(countriesEmpty), countriesEmpty);
  await go(`#/overview?site=${site}&range=7d`);
  await q('#sessions-chart svg').waitFor(T);
  const pv = (await q('[data-kpi=page_views] .kpi-value').textContent()).replace(/[^\d]/g, '');
  check('overview page views equal API', pv === String(api.page_views), { shown: pv, api: api.page_views });
  check('overview has sessions', api.sessions > 0, api.sessions);
  check('sessions chart drawn', (await q('#sessions-chart svg path.line').count()) === 1);
  // Last 7 days: a point for each day of the range, empty days at zero (not
  // a line between the days that had visits).
  check('series has every day of the range', api.bucket_ms === 86400000 && api.series.length >= 7, { bucket: api.bucket_ms, days: api.series.length });
  check('series steps one bucket at a time', api.series.every((b, i) => i === 0 || b.start - api.series[i - 1].start === api.bucket_ms), api.series.map((b) => b.start));
  check('a dot per bucket', (await q('#sessions-chart svg circle.dot').count()) === api.series.length);
  // The interval picker: weeks start on Monday (UTC), one dot each.
  check('hours offered for a week', (await q('#interval-select option[value=hour]').count()) === 1);
  await q('#interval-select').selectOption('week');
  await page.waitForFunction(() => location.hash.includes('interval=week'), null, T);
  await q('#sessions-chart svg, #sessions-chart .empty').first().waitFor(T);
  const weekly = (await apiGet(`/api/sites/${site}/overview?interval=week&from=${Date.now() - 6 * 86400000}`)).body;
  check('weekly series', weekly.interval === 'week' && weekly.bucket_ms === 7 * 86400000 && weekly.series.every((b) => new Date(b.start).getUTCDay() === 1), weekly.series);
  check('a dot per week', (await q('#sessions-chart svg circle.dot').count()) >= 1 && (await q('#sessions-chart svg circle.dot').count()) <= 2);
  await go(`#/overview?site=${site}&range=all&interval=hour`);
  await q('#sessions-chart svg, #sessions-chart .empty').first().waitFor(T);
  check('no hours over all time', (await q('#interval-select option[value=hour]').count()) === 0);
  check('entry pages listed', (await q('.card:has(h2:text("Top entry pages")) .barlist-row').count()) === Math.min(10, api.entry_pages.length));
  await shot('overview');
  // Clicking a device applies the filter everywhere (and lands in the URL).
  const dev = api.devices && api.devices[0] && api.devices[0].name;
  if (dev) {
    await q('.card:has(h2:text("Devices")) .barlist-row button').first().click();
    await page.waitForFunction((d) => location.hash.includes('device=' + d), dev, T);
    await q('[data-kpi=sessions] .kpi-value').waitFor(T);
    await page.waitForFunction(() => document.querySelector('select[data-filter=device]').value !== '', null, T);
    check('device filter applied from overview', (await q('select[data-filter=device]').inputValue()) === dev);
    await q('#clear-filters').click();
    await page.waitForFunction(() => !location.hash.includes('device='), null, T);
  }
});

await step('date presets', async () => {
  // Calendar presets: yesterday, this and last month, year to date.
  const options = await q('#range-select option').evaluateAll((os) => os.map((o) => o.value));
  for (const v of ['today', 'yesterday', '7d', '30d', '90d', 'month', 'lastmonth', 'ytd', 'all', 'custom']) {
    check(`range preset ${v} offered`, options.includes(v), options);
  }
  await go(`#/overview?site=${site}&range=yesterday`);
  await q('[data-kpi=sessions] .kpi-value').waitFor(T);
  const b = await page.evaluate(async () => {
    const core = await import('/dashboard/js/core.js');
    const today = new Date(); today.setHours(0, 0, 0, 0);
    const first = new Date(today.getFullYear(), today.getMonth(), 1);
    const prev = new Date(today.getFullYear(), today.getMonth() - 1, 1);
    const at = (range) => core.rangeBounds(new URLSearchParams({ range }));
    return { y: at('yesterday'), m: at('month'), lm: at('lastmonth'), ytd: at('ytd'), today: today.getTime(), first: first.getTime(), prev: prev.getTime(), jan: new Date(today.getFullYear(), 0, 1).getTime() };
  });
  check('yesterday ends at midnight and lasts a day', b.y.to === b.today && Math.abs(b.y.to - b.y.from - 86400000) <= 3600000, b);
  check('this month starts on the 1st', b.m.from === b.first && b.m.to === undefined, b);
  check('last month is the month before', b.lm.from === b.prev && b.lm.to === b.first, b);
  check('year to date starts on 1 January', b.ytd.from === b.jan, b);
  check('yesterday selected', (await q('#range-select').inputValue()) === 'yesterday');
});

await step('journeys', async () => {
  await go(`#/journeys?site=${site}&range=7d&steps=5&nodes=8`);
  await q('svg.sankey .node').first().waitFor(T);
  const nodes = await q('svg.sankey .node').count();
  check('sankey nodes drawn', nodes > 3, nodes);
  // The interactive chart paints each node in the colour the server gives
  // it (the rendered chart's palette).
  const graph = (await apiGet(`/api/sites/${site}/journeys?steps=5&nodes=8&from=${Date.now() - 7 * 86400000}`)).body;
  const fills = await page.evaluate(() => [...document.querySelectorAll('svg.sankey .node > rect:first-child')].map((r) => r.getAttribute('fill')));
  const served = new Set(graph.nodes.map((n) => n.colour));
  check('sankey nodes use the server colours', fills.length > 0 && fills.every((f) => served.has(f)), { fills: [...new Set(fills)], served: [...served] });
  // Every node can be named: a label where there is room, and a title.
  const unnamed = await page.evaluate(() => [...document.querySelectorAll('svg.sankey .node')].filter((g) => {
    const t = g.querySelector(':scope > title');
    return !t || !t.textContent.startsWith(g.dataset.page || 'Other pages');
  }).length);
  check('every sankey node has a title naming it', unnamed === 0, unnamed);
  const unlabelled = await q('svg.sankey .node:not(:has(text.node-label))').count();
  check('every sankey node of the demo is labelled', unlabelled === 0, unlabelled);
  await shot('journeys');
  // Expand an "other" node if there is one.
  if (await q('svg.sankey .node.other').count()) {
    await q('svg.sankey .node.other').first().click();
    await q('.popmenu .popmenu-item').first().waitFor(T);
    await q('.popmenu .popmenu-item').first().click();
    await page.waitForFunction(() => location.hash.includes('expand='), null, T);
    await q('svg.sankey .node').first().waitFor(T);
    // The chips of the expanded node come with the redrawn chart, which
    // may paint after its first node.
    const chip = await q('.chips .chip').first().waitFor(T).then(() => true, () => false);
    check('other node expanded', chip && (await q('.chips .chip').count()) >= 1);
  }
  // Click a page node, re-root there.
  const node = q('svg.sankey .node:not(.other)').nth(1);
  const pagePath = await node.getAttribute('data-page');
  await node.click();
  await q('.popmenu').waitFor(T);
  check('node menu offers sessions link', (await q('.popmenu a[href*="#/sessions"]').count()) === 1);
  await q('.popmenu button:has-text("Start journeys here")').click();
  await q('#root-chip').waitFor(T);
  await q('svg.sankey .node, #sankey .empty').first().waitFor(T);
  check('re-rooted on clicked node', decodeURIComponent(page.url()).includes('root=' + pagePath), pagePath);
  await shot('journeys-rooted');
  // The server-rendered chart.
  await q('.segmented button:has-text("Image")').click();
  await imgLoaded('#sankey-img');
  check('sankey image loaded', true);
  await shot('journeys-image');
  // Rules: a bad regex shows the server's 400 message.
  await q('#rules-add').click();
  const row = q('#rules-list .rule-row').last();
  await row.locator('input').nth(0).fill('(');
  await row.locator('input').nth(1).fill('/x');
  expectHttpErrors++;
  await q('#rules-save').click();
  await q('.form-status.err').waitFor(T);
  expectHttpErrors--;
  const msg = await q('.form-status.err').textContent();
  check('bad rule regex shows 400 message', /regex|rule/i.test(msg), msg.slice(0, 120));
  await row.locator('button[aria-label="Remove rule"]').click();
  await shot('journeys-rules');
});

await step('transitions', async () => {
  await go(`#/transitions?site=${site}&range=all&page=/cart.html`);
  await q('#transitions').waitFor(T);
  const api = (await apiGet(`/api/sites/${site}/transitions?page=/cart.html&top=6`)).body;
  const prev = await q('#transitions .tside').first().locator('a.bl-label').count();
  check('previous pages listed', prev === api.previous.length, { shown: prev, api: api.previous.length });
  if (await q('[data-more=more_prev]').count()) {
    await q('[data-more=more_prev]').click();
    await page.waitForFunction(() => location.hash.includes('more_prev=1'), null, T);
    await q('#transitions').waitFor(T);
    const after = await q('#transitions .tside').first().locator('a.bl-label').count();
    check('remainder expands', after === api.previous.length + api.previous_more.length, after);
  }
  await shot('transitions');
});

await step('funnels', async () => {
  await go(`#/funnels?site=${site}&range=7d`);
  await q('#funnel-editor .fe-row').first().waitFor(T);
  // The suggested funnel ends at the goal (the thank-you page).
  const suggestedLast = await q('#funnel-editor .fe-row').last().locator('input.step-input').inputValue();
  check('the suggested funnel ends at the goal page', suggestedLast.includes('thank'), suggestedLast);
  // Its steps are escaped paths ("^/cart\.html$"): the results read them as
  // paths, the pattern in the title.
  await q('#funnel-steps .fstep .fstep-re').first().waitFor(T);
  const suggestedShown = await q('#funnel-steps .fstep .fstep-re').evaluateAll((els) => els.map((e) => [e.textContent, e.getAttribute('title')]));
  check('suggested funnel steps read as paths', suggestedShown.length >= 2 && suggestedShown.every(([text, raw]) => /^\^\/.*\$$/.test(raw) && text.startsWith('/') && !/[\^$\\]/.test(text))
    && suggestedShown[suggestedShown.length - 1][0] === suggestedLast.replace(/^\^/, '').replace(/\$$/, '').replace(/\\(.)/g, '$1'), suggestedShown);
  // Define a three-step funnel on the page.
  while ((await q('#funnel-editor .fe-row').count()) < 3) await q('#funnel-add').click();
  while ((await q('#funnel-editor .fe-row').count()) > 3) await q('#funnel-editor .fe-row').last().locator('button[aria-label="Remove step"]').click();
  const steps = ['^/$', '/product/', '/cart'];
  for (let i = 0; i < 3; i++) await q('#funnel-editor .fe-row').nth(i).locator('input.step-input').fill(steps[i]);
  // Steps can be named: the name shows instead of the raw pattern.
  await q('#funnel-editor .fe-row').nth(0).locator('input.step-name').fill('Cart');
  await q('#funnel-run').click();
  // The suggested funnel may still be on screen: wait for the new one.
  await page.waitForFunction(() => document.querySelectorAll('#funnel-steps .fstep').length === 3, null, T).catch(() => {});
  check('funnel shows one row per step', (await q('#funnel-steps .fstep').count()) === 3);
  await imgLoaded('#funnel-img');
  check('funnel chart loaded', true);
  check('funnel steps in URL', (await page.evaluate(() => new URLSearchParams(location.hash.split('?')[1]).getAll('step'))).length === 3);
  check('a named step shows its name', (await q('#funnel-steps .fstep').first().locator('.fstep-name').textContent()) === 'Cart');
  await shot('funnels');
  // A broken pattern: the step is marked and the error points at it.
  expectHttpErrors++;
  await q('#funnel-editor .fe-row').nth(1).locator('input.step-input').fill('^/checkout(');
  await q('#funnel-run').click();
  await q('#funnel-step-error').waitFor(T);
  expectHttpErrors--;
  const stepErr = await q('#funnel-step-error').textContent();
  check('a regex error names the step', stepErr.includes('Step 2') && stepErr.includes('unclosed group'), stepErr);
  check('a regex error keeps its caret', /\^\/checkout\(\n\s*\^/.test(await q('#funnel-step-error pre').textContent()), await q('#funnel-step-error pre').textContent());
  check('the broken step is marked', (await q('#funnel-editor .fe-row').nth(1).locator('input.step-input.invalid').count()) === 1);
});

// The funnel API asked with the page's range and filters and the
// definition `def` (a query string), plus `extra`.
const askFunnel = (def, extra = {}) => page.evaluate(async ([d, x, tok]) => {
  const core = await import('/dashboard/js/core.js');
  const qs = new URLSearchParams(Object.entries({ ...x, ...core.filterParams() }).map(([k, v]) => [k, String(v)]));
  const r = await fetch(core.siteBase() + '/funnel?' + d + '&' + qs, { headers: { Authorization: 'Bearer ' + tok } });
  return r.json();
}, [def, extra, TOKEN]);
// The sessions each result row shows, in order.
const shownSteps = () => q('#funnel-steps .fstep .fstep-num').evaluateAll((els) => els.map((e) => Number(e.firstChild.textContent.replace(/[^\d]/g, ''))));
const sessHead = (id) => page.waitForFunction((i) => document.querySelector('.sess-head h1') && document.querySelector('.sess-head h1').textContent.includes('#' + i), id, T);

await step('funnels, deeper', async () => {
  const before = problems.length;
  const FUNNEL = ['^/product/', 'event:add_to_cart', 'event:purchase'];
  const defOf = (extra = '') => FUNNEL.map((x) => 'step=' + encodeURIComponent(x)).join('&') + extra;
  await go(`#/funnels?site=${site}&range=all`);
  await q('#funnel-editor .fe-row').first().waitFor(T);
  // A step can be a custom event: the hint says how, the site's events are offered.
  const hint = await q('#funnel-hint').textContent();
  check('the step hint explains event steps', hint.includes('event:NAME') && hint.includes('event:NAME KEY=VALUE'), hint);
  const offered = await q('#funnel-pages option').evaluateAll((els) => els.map((o) => o.value));
  check('the site’s events are offered as steps', offered.includes('event:add_to_cart') && offered.includes('event:purchase'), offered.filter((v) => v.startsWith('event:')));
  // A page step, then two event steps.
  while ((await q('#funnel-editor .fe-row').count()) < 3) await q('#funnel-add').click();
  while ((await q('#funnel-editor .fe-row').count()) > 3) await q('#funnel-editor .fe-row').last().locator('button[aria-label="Remove step"]').click();
  for (let i = 0; i < 3; i++) {
    const row = q('#funnel-editor .fe-row').nth(i);
    await row.locator('input.step-name').fill('');
    await row.locator('input.step-input').fill(FUNNEL[i]);
  }
  check('the first and last steps cannot be optional', (await q('#funnel-editor .fe-row').first().locator('input.step-optional').count()) === 0
    && (await q('#funnel-editor .fe-row').last().locator('input.step-optional').count()) === 0);
  await q('#funnel-run').click();
  await page.waitForFunction(() => document.querySelectorAll('#funnel-steps .fstep').length === 3
    && document.querySelector('#funnel-steps .fstep:last-child .fstep-re').getAttribute('title') === 'event:purchase', null, T);
  check('an event step reads as the event', (await q('#funnel-steps .fstep:last-child .fstep-re').textContent()) === 'purchase (event)');
  const plain = await askFunnel(defOf());
  const shown1 = await shownSteps();
  check('event funnel: the shown step counts equal the API', JSON.stringify(shown1) === JSON.stringify(plain.steps.map((x) => x.sessions)), { shown: shown1, api: plain.steps.map((x) => x.sessions) });
  check('the demo adds to cart and buys', plain.steps[1].sessions > 0 && plain.steps[2].sessions > 0, plain.steps.map((x) => x.sessions));
  // The time from the step before, the API's median and p90.
  const time = await q('#funnel-steps .fstep[data-step="1"] .fstep-time').evaluate((e) => ({ median: e.dataset.median, p90: e.dataset.p90, text: e.textContent }));
  check('a step shows its time from the step before', time.median === String(plain.steps[1].median_ms) && time.p90 === String(plain.steps[1].p90_ms)
    && /median [\d.]+ (s|min|h) · p90 [\d.]+ (s|min|h)/.test(time.text), { shown: time, api: [plain.steps[1].median_ms, plain.steps[1].p90_ms] });
  check('the first step has no time from a step before', (await q('#funnel-steps .fstep[data-step="0"] .fstep-time').count()) === 0);

  // Step 2 optional: the URL says so, the counts are the API's again.
  await q('#funnel-editor .fe-row').nth(1).locator('input.step-optional').check();
  await q('#funnel-run').click();
  await q('#funnel-steps .fstep[data-step="1"] .opt-tag').waitFor(T);
  check('the optional step is in the URL', await page.evaluate(() => new URLSearchParams(location.hash.split('?')[1]).getAll('optional').join() === '2'));
  const opt = await askFunnel(defOf('&optional=2'));
  const shown2 = await shownSteps();
  check('optional step: the shown step counts equal the API', JSON.stringify(shown2) === JSON.stringify(opt.steps.map((x) => x.sessions)), { shown: shown2, api: opt.steps.map((x) => x.sessions) });
  check('the API marks the step optional, with no drop-offs', opt.steps[1].optional === true && opt.steps[1].dropped === 0, opt.steps[1]);
  check('an optional step offers no drop-off list', (await q('#funnel-steps .fstep[data-step="1"] a.drop-link').count()) === 0);
  const dropShown = await q('#funnel-steps a.drop-link[data-step="1"]').textContent();
  check('step 1 shows the API’s drop-offs as a link', digits(dropShown) === String(opt.steps[0].dropped), { shown: dropShown, api: opt.steps[0].dropped });

  // A breakdown: one row per segment, their first steps add up to step 1.
  await q('#funnel-breakdown').selectOption('channel');
  await q('#funnel-groups-card .table-wrap[data-breakdown=channel]').waitFor(T);
  const byChannel = await askFunnel(defOf('&optional=2'), { breakdown: 'channel' });
  const firstSum = await columnSum('#funnel-groups', 1);
  check('segments: the first steps add up to step 1', firstSum === opt.steps[0].sessions, { sum: firstSum, step1: opt.steps[0].sessions });
  check('a row per segment', (await q('#funnel-groups tbody tr').count()) >= byChannel.groups.length && byChannel.groups.length > 0, byChannel.groups.length);
  check('the segments show every step side by side', (await q('#funnel-groups thead th').count()) === 2 + FUNNEL.length);
  check('the breakdown is kept in the URL', await page.evaluate(() => location.hash.includes('breakdown=channel')));

  // The sessions that dropped off after step 1, as the API lists them.
  await q('#funnel-steps a.drop-link[data-step="1"]').click();
  await q('#funnel-dropped-count[data-total]').waitFor(T);
  await q('#funnel-dropped-table tbody tr').first().waitFor(T);
  const dropped = await askFunnel(defOf('&optional=2'), { dropped_at: 1, limit: 50 });
  const total = await q('#funnel-dropped-count').getAttribute('data-total');
  check('the drop-off list total equals the API', Number(total) === dropped.dropped.total && dropped.dropped.total === opt.steps[0].dropped, { shown: total, api: dropped.dropped.total });
  const ids = await q('#funnel-dropped-table tbody tr').evaluateAll((els) => els.map((e) => e.dataset.id));
  check('the drop-off list lists the API’s sessions', JSON.stringify(ids) === JSON.stringify(dropped.dropped.sessions.map((x) => String(x.id))), { shown: ids.slice(0, 5), api: dropped.dropped.sessions.slice(0, 5).map((x) => x.id) });
  await page.evaluate(() => scrollTo(0, 0));
  await shot('funnels-deeper');
  if (check('two sessions dropped off after step 1', ids.length >= 2, ids.length)) {
    // The first opens in the player; its "next" is the second of the list.
    await q('#funnel-dropped-table tbody tr a.sess-link').first().click();
    await sessHead(ids[0]);
    await q('#player').waitFor(T);
    await page.waitForFunction(() => document.querySelector('#pl-next') && document.querySelector('#pl-next').getAttribute('href'), null, T);
    check('the first of the list has no previous', await page.evaluate(() => document.querySelector('#pl-prev').getAttribute('aria-disabled') === 'true'));
    await q('#pl-next').click();
    await sessHead(ids[1]);
    check('next goes to the second session of the drop-off list', true);
    await page.waitForFunction(() => document.querySelector('#pl-prev') && document.querySelector('#pl-prev').getAttribute('href'), null, T);
    check('the second session has the first as previous', (await q('#pl-prev').getAttribute('href')).includes('id=' + ids[0] + '&'));
    // Back to the funnel: the drop-off list is open again.
    await q('#session-back').click();
    await q('#funnel-dropped-table tbody tr').first().waitFor(T);
    check('back from the player returns to the drop-off list', (await q('#funnel-dropped-count').getAttribute('data-total')) === total);
  }

  // Saved under a name, listed by the API with its definition.
  const NAME = 'Browser walk ' + Date.now();
  await q('#funnel-save-name').fill(NAME);
  await q('#funnel-save').click();
  await page.waitForFunction(() => /Saved/.test(document.querySelector('#funnel-save-status').textContent), null, T);
  const saved = (await apiGet(`/api/sites/${site}/funnels`)).body;
  const mine = ((saved && saved.funnels) || []).find((x) => x.name === NAME);
  check('the funnel is saved with its steps and optional step', !!mine && JSON.stringify(mine.steps) === JSON.stringify(FUNNEL)
    && new URLSearchParams(mine.query).getAll('optional').join() === '2', mine);
  check('the picker shows the saved funnel', (await q('#funnel-saved-select').inputValue()) === NAME);
  // Another funnel on screen, a reload, then the saved one loaded from the list.
  await go(`#/funnels?site=${site}&range=all&step=${encodeURIComponent('^/$')}&step=/cart`);
  await page.waitForFunction(() => document.querySelectorAll('#funnel-steps .fstep').length === 2, null, T);
  await page.reload();
  await q('#funnel-saved-select').waitFor(T);
  await page.waitForFunction(() => document.querySelectorAll('#funnel-steps .fstep').length === 2, null, T);
  check('the picker lists the saved funnel after a reload', (await q('#funnel-saved-select option').allTextContents()).some((t) => t.startsWith(NAME)));
  await q('#funnel-saved-select').selectOption(NAME);
  await page.waitForFunction(() => document.querySelectorAll('#funnel-steps .fstep').length === 3 && document.querySelector('#funnel-steps .opt-tag'), null, T);
  const loaded = await q('#funnel-editor .step-input').evaluateAll((els) => els.map((e) => e.value));
  check('the saved funnel is loaded into the editor', JSON.stringify(loaded) === JSON.stringify(FUNNEL), loaded);
  check('the saved funnel’s optional step is loaded', await q('#funnel-editor .fe-row').nth(1).locator('input.step-optional').isChecked());
  const shown3 = await shownSteps();
  check('the loaded funnel shows the API’s counts', JSON.stringify(shown3) === JSON.stringify(opt.steps.map((x) => x.sessions)), { shown: shown3, api: opt.steps.map((x) => x.sessions) });
  // Deleted (after saying yes).
  page.once('dialog', (d) => d.accept());
  await q('#funnel-delete').click();
  await page.waitForFunction(() => /Deleted/.test(document.querySelector('#funnel-save-status').textContent), null, T);
  const after = (await apiGet(`/api/sites/${site}/funnels`)).body;
  check('the saved funnel is deleted', !((after && after.funnels) || []).some((x) => x.name === NAME), after);
  check('the picker no longer lists it', !(await q('#funnel-saved-select option').allTextContents()).some((t) => t.startsWith(NAME)));
  check('the deeper funnel logs no console error', problems.length === before, problems.slice(before));

  // The whole of it on a phone: breakdown and drop-off list open.
  await page.setViewportSize({ width: 390, height: 844 });
  await go(`#/funnels?site=${site}&range=all&${defOf('&optional=2')}&breakdown=entry_page&dropped=1`);
  await q('#funnel-groups-card .table-wrap[data-breakdown=entry_page]').waitFor(T);
  await q('#funnel-dropped-table tbody tr').first().waitFor(T);
  const f = await measureFit(page, '#signout-btn');
  check('the deeper funnel fits a phone', f.scroll <= f.width && f.onScreen, { scroll: f.scroll, width: f.width, wide: f.wide });
  const cut = await page.evaluate(() => [...document.querySelectorAll('.card-head h2')]
    .filter((e) => e.scrollWidth > e.clientWidth + 1 || e.getBoundingClientRect().width < 80).map((e) => e.textContent));
  check('the deeper funnel’s card titles are not cut on a phone', cut.length === 0, cut);
  await page.evaluate(() => scrollTo(0, 0));
  await shot('funnels-deeper-phone');
  await page.setViewportSize({ width: 1360, height: 900 });
});

await step('stages', async () => {
  await go(`#/stages?site=${site}&range=all`);
  await q('#stage-flow .sf-stage').first().waitFor(T);
  const api = (await apiGet(`/api/sites/${site}/stages`)).body;
  check('one block per stage', (await q('#stage-flow .sf-stage').count()) === api.stages.length);
  // Reading the FAQ is not progress: retention is a side stage, so no
  // main stage counts more sessions than the one before it, and the
  // headline is goal conversion.
  const main = api.stages.filter((st) => !st.side);
  check('retention is a side stage', api.stages.some((st) => st.stage === 'retention' && st.side), api.stages.map((st) => [st.stage, st.side]));
  check('reach never grows down the main line', main.every((st, i) => i === 0 || st.reached <= main[i - 1].reached), main.map((st) => st.reached));
  // Decision is reached only by sessions that saw a decision page or a
  // later page of the main line (advocacy), never by reading the FAQ.
  const at = (name) => api.stages.find((st) => st.stage === name) || { visited: 0 };
  check('decision reached only through decision or advocacy', at('decision').reached <= at('decision').visited + at('advocacy').visited,
    { reached: at('decision').reached, decision: at('decision').visited, advocacy: at('advocacy').visited });
  const headline = await q('#stage-conversion .kpi-value').textContent();
  check('headline is goal conversion', api.converted > 0 && headline.trim() === (api.conversion_rate * 100).toFixed(1) + '%', { headline, rate: api.conversion_rate });
  const align = await page.evaluate(() => [...document.querySelectorAll('table.data th.num')].map((th) => getComputedStyle(th).textAlign));
  check('number headers are right-aligned like their numbers', align.length > 0 && align.every((a) => a === 'right'), align);
  check('side stage drawn apart', (await q('#stage-flow .sf-stage[data-side="1"]').count()) === api.stages.filter((st) => st.side).length);
  await q('#stage-settings .ss-row').first().waitFor(T);
  check('stage settings editable', (await q('#stage-settings .ss-row').count()) > 0);
  await shot('stages');
});

await step('friction', async () => {
  await go(`#/friction?site=${site}&range=7d`);
  await q('.moments-table tbody tr, .card .empty').first().waitFor(T);
  check('moments listed', (await q('.moments-table tbody tr').count()) > 0);
  check('moments link to heatmaps', (await q('.moments-table a[href*="#/heatmaps"]').count()) > 0);
  await q('.segmented button:has-text("By frustration")').click();
  await page.waitForFunction(() => location.hash.includes('moments=frustration'), null, T);
  await q('.moments-table tbody tr, .card .empty').first().waitFor(T);
  await shot('friction');
  const worst = q('.worst-table a[href*="#/session?"]').first();
  if (await worst.count()) {
    await worst.click();
    await q('#session-timeline').waitFor(T);
    check('worst session opens session view', true);
  }
});

await step('conversions', async () => {
  const before = problems.length;
  await go(`#/conversions?site=${site}&range=7d`);
  await q('#goals-converted').waitFor(T);
  await q('#revenue-kpis').waitFor(T);
  await q('#events-card .events-table').waitFor(T);
  const goals = await askLikePage('goals', { breakdown: 'channel' });
  const rev = await askLikePage('revenue', { breakdown: 'utm_campaign' });
  const ev = await askLikePage('events');
  check('the demo converts and sells', goals.converted > 0 && rev.totals.orders > 0, { converted: goals.converted, orders: rev.totals.orders });
  // The goals card: "Converted: N of M sessions (x%)", a row per goal.
  const head = await q('#goals-converted').textContent();
  const m = /Converted: ([\d,. ]+) of ([\d,. ]+) sessions \(([^)]+)\)/.exec(head) || [];
  check('goals card converted equals API', digits(m[1]) === String(goals.converted) && digits(m[2]) === String(goals.sessions) && m[3] === pct(goals.conversion_rate),
    { shown: head, api: [goals.converted, goals.sessions, goals.conversion_rate] });
  const goalRows = await q('#goal-list .barlist-row .bl-value').evaluateAll((els) => els.map((e) => e.firstChild.textContent));
  check('each goal with its conversions', goalRows.length === goals.goals.length && goals.goals.every((g, i) => digits(goalRows[i]) === String(g.conversions)),
    { shown: goalRows, api: goals.goals.map((g) => g.conversions) });
  // A goal is one column of the breakdown, cut on screen, whole in its title.
  const titles = await q('#goals-card table th .goal-head').evaluateAll((els) => els.map((e) => e.getAttribute('title')));
  check('goal columns carry the whole goal', JSON.stringify(titles) === JSON.stringify(goals.goals.map((g) => g.goal)), titles);
  // The goals read as paths or events, in the list and the column heads.
  const readable = (text, raw) => (raw.startsWith('event:') ? text === raw.slice(6) + ' (event)' : text.startsWith('/') && !/[\^$|()\\[\]]/.test(text));
  const listed = await q('#goal-list .bl-label').evaluateAll((els) => els.map((e) => [e.textContent, e.getAttribute('title')]));
  const heads = await q('#goals-card table th .goal-head').evaluateAll((els) => els.map((e) => [e.textContent, e.getAttribute('title')]));
  check('goals read as paths or events, not regexes', listed.length === goals.goals.length && listed.every(([t, raw], i) => raw === goals.goals[i].goal && readable(t, raw))
    && heads.every(([t, raw]) => readable(t, raw)), { listed, heads });
  check('goals broken down by channel first', (await columnSum('#goals-card .goals-groups', 1)) === goals.sessions);
  // The revenue card: revenue and orders of the report, in its currency.
  const revenue = (await q('#revenue-kpis [data-kpi=revenue] .kpi-value').textContent()).replace(/[^\d.]/g, '');
  const orders = digits(await q('#revenue-kpis [data-kpi=orders] .kpi-value').textContent());
  check('revenue card revenue equals API', revenue === rev.totals.revenue.toFixed(2), { shown: revenue, api: rev.totals.revenue });
  check('revenue card orders equal API', orders === String(rev.totals.orders), { shown: orders, api: rev.totals.orders });
  const code = rev.currencies.length > 1 ? await q('#revenue-currency-select').inputValue() : await q('#revenue-currency').textContent();
  check('the currency code is shown', code === rev.currency, { shown: code, api: rev.currency });
  // Another breakdown: the table is asked again and still adds up.
  await q('#goals-breakdown').selectOption('device');
  await q('#goals-card .table-wrap[data-breakdown=device]').waitFor(T);
  check('goals by device add up to the sessions', (await columnSum('#goals-card .goals-groups', 1)) === goals.sessions);
  check('the breakdown is kept in the URL', await page.evaluate(() => location.hash.includes('goals_by=device')));
  // Entry pages are many: the rows beyond the largest ten come as one.
  await q('#revenue-breakdown').selectOption('entry_page');
  await q('#revenue-card .table-wrap[data-breakdown=entry_page]').waitFor(T);
  check('revenue by entry page adds up to the sessions', (await columnSum('#revenue-card .revenue-groups', 1)) === rev.totals.sessions);
  const revSum = await columnSum('#revenue-card .revenue-groups', 3);
  check('revenue by entry page adds up to the revenue', Math.abs(revSum - rev.totals.revenue) < 0.02, { sum: revSum, api: rev.totals.revenue });
  // Events, and the properties of the one picked.
  const evRows = await q('#events-card .events-table tbody tr').count();
  check('a row per event', evRows === ev.events.length, { shown: evRows, api: ev.events.length });
  const purchase = ev.events.find((e) => e.name === 'purchase');
  if (check('the demo sends purchase events', !!purchase)) {
    await q('#events-card .ev-name:text-is("purchase")').click();
    await page.waitForFunction(() => document.querySelector('#event-props-select') && document.querySelector('#event-props-select').value === 'purchase', null, T);
    const keys = await q('#props-card .props-table tbody tr td:nth-child(2) .mono').allTextContents();
    check('the picked event shows its properties', purchase.properties.every((p) => keys.includes(p.key)), { shown: keys, api: purchase.properties.map((p) => p.key) });
  }
  await shot('conversions');
  // Reload: the chosen breakdowns come back from the URL.
  await page.reload();
  await q('#goals-card .table-wrap[data-breakdown=device]').waitFor(T);
  check('reload keeps the breakdowns', (await q('#revenue-breakdown').inputValue()) === 'entry_page');
  // An event's sessions are a search away: as many as the report counts.
  if (purchase) {
    await q('#events-card tr[data-event=purchase] .acts a').click();
    await page.waitForFunction(() => location.hash.startsWith('#/sessions') && location.hash.includes('q=event'), null, T);
    await q('#session-count[data-total]').waitFor(T);
    const total = await q('#session-count').getAttribute('data-total');
    check('the sessions that sent purchase are found', Number(total) === purchase.sessions, { shown: total, api: purchase.sessions });
  }
  // A range without events says how to send them.
  await go(`#/conversions?site=${site}&range=custom&from=2001-01-01&to=2001-01-02`);
  await q('#events-empty').waitFor(T);
  check('no events: the tag call is explained', (await q('#events-empty').textContent()).includes("trailmap('purchase', {revenue: 89.5, currency: 'EUR'})"));
  check('conversions view logs no console error', problems.length === before, problems.slice(before));
});

await step('compare with an earlier range', async () => {
  const before = problems.length;
  // Over all time there is nothing to compare with: the control is off
  // and says why, and no figure is compared.
  await go(`#/overview?site=${site}&range=all&compare=previous`);
  await q('[data-kpi=sessions] .kpi-value').waitFor(T);
  const offTitle = await q('#compare-select').getAttribute('title');
  check('compare is off over all time, saying why', (await q('#compare-select').isDisabled()) && /start/.test(offTitle) && (await q('.kpi-cmp').count()) === 0, offTitle);
  // The last 12 hours against the 12 before: the demo's traffic (the last
  // 22 hours) is on both sides. The page's own query, asked again.
  await go(`#/overview?site=${site}&range=12h`);
  await q('[data-kpi=sessions] .kpi-value').waitFor(T);
  const asked = page.waitForResponse((r) => /\/overview\?/.test(r.url()) && r.url().includes('compare=previous'), T);
  await q('#compare-select').selectOption('previous');
  const res = await asked;
  await q('[data-kpi=sessions] .kpi-cmp').waitFor(T);
  check('the comparison is kept in the URL', await page.evaluate(() => location.hash.includes('compare=previous')));
  const u = new URL(res.url());
  const api = (await apiGet(u.pathname + u.search)).body;
  const cur = api.sessions;
  const prev = api.compare && api.compare.previous.sessions;
  check('the demo has sessions in both ranges', cur > 0 && prev > 0, { cur, prev, compare: api.compare && [api.compare.mode, api.compare.from, api.compare.to] });
  const was = digits(await q('[data-kpi=sessions] .kpi-was').textContent());
  check('the earlier sessions equal the API', was === String(prev), { shown: was, api: prev });
  // The change as the API's numbers make it: relative, one decimal under 10%.
  const r = (cur - prev) / prev;
  const a = Math.abs(r) * 100;
  const p = a.toFixed(a < 10 ? 1 : 0);
  const sign = Number(p) === 0 ? 0 : Math.sign(r);
  const expected = sign === 0 ? '±0%' : (sign > 0 ? '▲ ' : '▼ ') + p + '%';
  const d = q('[data-kpi=sessions] .delta');
  const text = await d.textContent();
  check('the sessions change equals the API', text === expected, { shown: text, expected, cur, prev });
  const dir = await d.getAttribute('data-dir');
  const cls = await d.getAttribute('class');
  check('the arrow follows the sign of the change', dir === (sign > 0 ? 'up' : sign < 0 ? 'down' : 'flat')
    && (sign === 0 || (text.startsWith(sign > 0 ? '▲' : '▼') && cls.includes(sign > 0 ? 'better' : 'worse'))), { dir, text, cls });
  const said = await d.getAttribute('aria-label');
  check('the arrow says it in words', new RegExp('^(up|down|no change)( ' + p.replace('.', '\\.') + '%)? from ').test(said) && digits(said.split('from')[1]) === String(prev), said);
  // Bounce rate: lower is better, in points.
  const bounce = q('[data-kpi=bounce_rate] .delta');
  const bd = api.bounce_rate - api.compare.previous.bounce_rate;
  const bdir = await bounce.getAttribute('data-dir');
  check('a lower bounce rate is the better one', (Math.abs(bd) < 0.0005 && bdir === 'flat') || (bdir === (bd > 0 ? 'up' : 'down')
    && (await bounce.getAttribute('class')).includes(bd > 0 ? 'worse' : 'better') && (await bounce.textContent()).endsWith(' pts')), { bd, bdir });
  // The chart: this range's line and the earlier one dashed, a point per
  // earlier bucket, and a legend.
  await q('#sessions-chart svg path.line-prev').waitFor(T);
  const lines = await page.evaluate(() => {
    const prevLine = document.querySelector('#sessions-chart svg path.line-prev');
    return {
      current: document.querySelectorAll('#sessions-chart svg path.line').length,
      earlier: document.querySelectorAll('#sessions-chart svg path.line-prev').length,
      dash: prevLine ? getComputedStyle(prevLine).strokeDasharray : 'none',
      points: prevLine ? (prevLine.getAttribute('d').match(/[ML]/g) || []).length : 0,
      legend: (document.querySelector('#series-legend') || {}).textContent || '',
    };
  });
  check('the chart has two series, the earlier one dashed', lines.current === 1 && lines.earlier === 1 && lines.dash !== 'none' && lines.points === api.compare.previous.series.length,
    { ...lines, buckets: api.compare.previous.series.length });
  check('the chart legend names both ranges', lines.legend.includes('this period') && lines.legend.includes('previous period'), lines.legend);
  // The lists: a change per row, matched by name.
  const entry = api.entry_pages[0];
  const earlierEntry = api.compare.previous.entry_pages.find((x) => x.name === entry.name);
  const entryLabel = await q('section.card:has(h2:text-is("Top entry pages")) .barlist-row .delta').first().getAttribute('aria-label');
  check('the top entry page shows its change', earlierEntry ? digits(entryLabel.split('from')[1]) === String(earlierEntry.sessions) : /^new/.test(entryLabel), { entry, earlierEntry, entryLabel });
  check('the goals card shows a change per goal', (await q('#overview-goals .barlist-row .delta').count()) === api.goals.goals.length);
  // CSV: the change column comes along, signed.
  const entryCard = q('section.card:has(h2:text-is("Top entry pages"))');
  const [dl] = await Promise.all([page.waitForEvent('download', T), entryCard.locator('.csv-btn').click()]);
  const csv = readFileSync(await dl.path(), 'utf8').trim().split('\n');
  check('the CSV has the change column', csv[0] === 'Page,Sessions,Change' && /^\/[^,]*,\d+,([+-][\d.]+%|0%|new)$/.test(csv[1]), csv.slice(0, 3));
  // A year earlier: the legend says so.
  await q('#compare-select').selectOption('year');
  await page.waitForFunction(() => location.hash.includes('compare=year'), null, T);
  await q('#series-legend, #sessions-chart .empty').first().waitFor(T);
  check('the legend names a year earlier', (await q('#sessions-chart').textContent()).includes('a year earlier'));
  await shot('compare-overview');

  // Conversions: the earlier revenue of the same query.
  const revUrls = [];
  const goalUrls = [];
  const seen = (x) => {
    if (!x.url().includes('compare=previous')) return;
    if (/\/revenue\?/.test(x.url())) revUrls.push(x.url());
    if (/\/goals\?/.test(x.url())) goalUrls.push(x.url());
  };
  page.on('response', seen);
  await go(`#/conversions?site=${site}&range=12h&compare=previous`);
  await q('#revenue-kpis [data-kpi=revenue] .kpi-was').waitFor(T);
  await q('#goals-compare').waitFor(T);
  page.off('response', seen);
  const ru = new URL(revUrls[revUrls.length - 1]);
  const rev = (await apiGet(ru.pathname + ru.search)).body;
  const earlierRev = rev.compare.previous.totals.revenue;
  const shownRev = (await q('#revenue-kpis [data-kpi=revenue] .kpi-was').textContent()).replace(/[^\d.]/g, '');
  check('conversions show the earlier revenue of the API', earlierRev > 0 && shownRev === earlierRev.toFixed(2), { shown: shownRev, api: earlierRev });
  const revDir = await q('#revenue-kpis [data-kpi=revenue] .delta').getAttribute('data-dir');
  check('the revenue arrow follows the change', revDir === (rev.totals.revenue > earlierRev ? 'up' : rev.totals.revenue < earlierRev ? 'down' : 'flat'), { revDir, now: rev.totals.revenue, before: earlierRev });
  const gu = new URL(goalUrls[goalUrls.length - 1]);
  const goalsApi = (await apiGet(gu.pathname + gu.search)).body;
  check('the goals headline shows the earlier conversions', (await q('#goals-compare').getAttribute('data-converted')) === String(goalsApi.compare.previous.converted),
    { shown: await q('#goals-compare').getAttribute('data-converted'), api: goalsApi.compare.previous.converted });
  check('each goal shows its change', (await q('#goal-list .barlist-row .delta').count()) === goalsApi.goals.length);
  const hadBefore = await q('#goals-compare').textContent();
  check('an earlier range with sessions shows its conversions', !goalsApi.compare.previous.sessions || hadBefore.includes(' of '), hadBefore);
  check('the breakdowns have a change column', (await q('#goals-card .goals-groups th:text-is("Change")').count()) === 1 && (await q('#revenue-card .revenue-groups th:text-is("Change")').count()) === 1);
  await shot('compare-conversions');

  // The last 7 days against the 7 before, when the demo sent nothing:
  // counts are new, rates have no earlier figure (grey).
  await go(`#/overview?site=${site}&range=7d&compare=previous`);
  await q('[data-kpi=sessions] .kpi-cmp').waitFor(T);
  const newText = await q('[data-kpi=sessions] .delta').textContent();
  const bounceNone = await q('[data-kpi=bounce_rate] .delta').getAttribute('data-dir');
  check('an empty earlier range: counts are new, rates have none', newText === '▲ new' && bounceNone === 'none'
    && (await q('[data-kpi=bounce_rate] .delta').getAttribute('class')).includes('same'), { newText, bounceNone });
  // The goals headline says so in words, not "0 of 0 sessions (–)".
  await go(`#/conversions?site=${site}&range=7d&compare=previous`);
  await q('#goals-compare').waitFor(T);
  const noBefore = await q('#goals-compare').textContent();
  check('an empty earlier range is said plainly in conversions', (await q('#goals-compare').getAttribute('data-sessions')) === '0'
    && noBefore.includes('no sessions in the earlier range') && !noBefore.includes('0 of 0'), noBefore);

  // At 390 px the compared views still fit.
  await page.setViewportSize({ width: 390, height: 844 });
  for (const view of ['overview', 'conversions', 'stages', 'friction', 'transitions']) {
    await go(`#/${view}?site=${site}&range=12h&compare=previous`);
    await page.waitForTimeout(600);
    await q('#view .card, #view .empty').first().waitFor(T).catch(() => {});
    const fit = await measureFit(page, '#signout-btn');
    check(`${view} compared fits a phone`, fit.scroll <= fit.width && fit.onScreen, fit);
  }
  await page.setViewportSize({ width: 1360, height: 900 });
  check('comparing logs no console error', problems.length === before, problems.slice(before));
});

await step('heatmaps', async () => {
  const ex = (await apiGet(`/api/sites/${site}/exits`)).body;
  const top = ex.pages.slice().sort((a, b) => b.views - a.views)[0].page;
  await go(`#/heatmaps?site=${site}&range=7d&page=${encodeURIComponent(top)}&viewport=desktop`);
  await imgLoaded('#heatmap-img');
  check('heatmap overlay loaded', true);
  await page.waitForFunction(() => document.querySelector('#hm-stage').dataset.doc, null, T);
  // The clicks are drawn in the coordinates of the layout shown behind
  // them: one width for both (the demo stores a layout of every page).
  const docs = await page.evaluate(() => [document.querySelector('#hm-stage').dataset.doc,
    (document.querySelector('.hm-layout-box') || { dataset: {} }).dataset.doc]);
  check('a stored layout is shown behind the heatmap', !!docs[1], docs);
  check('the overlay and the layout share one width', docs[1] && docs[0].split('x')[0] === docs[1].split('x')[0], docs);
  const facts = await q('.hm-side dl.facts').textContent();
  check('the page figures say they cover every device', facts.includes('Views, all devices'), facts);
  await shot('heatmaps');
  await q('.segmented button:has-text("Rage & dead")').click();
  await page.waitForFunction(() => location.hash.includes('layer=frustration'), null, T);
  await imgLoaded('#heatmap-img');
  await q('.segmented button:has-text("Scroll map")').click();
  await imgLoaded('#scrollmap-img');
  check('scroll map loaded', true);
  await shot('heatmaps-scroll');
});

let searchSupported = false;
await step('sessions', async () => {
  const probe = await apiGet(`/api/sites/${site}/sessions?q=${encodeURIComponent('page:/cart.html')}&limit=5`);
  searchSupported = probe.status === 200 && typeof probe.body.total === 'number';
  // Bots stay out of the list and of search unless "Include bots" is
  // checked (the demo sends Googlebot and bingbot visits).
  const botsThere = await apiGet(`/api/sites/${site}/sessions?q=device:bot&limit=5&include_bots=true`);
  check('the demo has bot sessions', botsThere.status === 200 && botsThere.body.total > 0, botsThere.body.total);
  await go(`#/sessions?site=${site}&range=all`);
  await q('#sessions-table tbody tr').first().waitFor(T);
  check('no bot in the session list', (await q('#sessions-table tbody .flag.bot').count()) === 0, await q('#sessions-table tbody .flag.bot').count());
  await go(`#/sessions?site=${site}&range=all&q=${encodeURIComponent('source:tracker')}`);
  await q('#sessions-table tbody tr').first().waitFor(T);
  check('no bot in search results', (await q('#sessions-table tbody .flag.bot').count()) === 0, await q('#sessions-table tbody .flag.bot').count());
  await go(`#/sessions?site=${site}&range=all&bots=1&q=${encodeURIComponent('device:bot')}`);
  await q('#sessions-table tbody .flag.bot').first().waitFor(T);
  // The example shown as the placeholder finds sessions on the demo; the
  // same question with a section typed as a page says what would match.
  await go(`#/sessions?site=${site}&range=all`);
  await q('#session-q').waitFor(T);
  const example = (await q('#session-q').getAttribute('placeholder')).replace(/^e\.g\. /, '');
  await q('#session-q').fill(example);
  // Its own answer, painted (the unfiltered list before it has rows too,
  // and may still be on the page): the count then says "match".
  await q('#session-search button[type=submit]').click();
  await page.waitForFunction(() => location.hash.includes('q=')
    && /match/.test(document.querySelector('#session-count')?.textContent || ''), null, T);
  await q('#sessions-table tbody tr, #session-results .empty').first().waitFor(T);
  check('the placeholder example finds sessions', (await q('#sessions-table tbody tr').count()) > 0, example);
  await go(`#/sessions?site=${site}&range=all&q=${encodeURIComponent('page:/checkout AND -page:/thank-you')}`);
  await q('#search-hints').waitFor(T);
  const hintText = await q('#search-hints').textContent();
  check('an exact page that is a section suggests its prefix', hintText.includes('page:/checkout/*'), hintText);
  await go(`#/sessions?site=${site}&range=7d`);
  await q('#session-q').waitFor(T);
  await q('#session-q').fill('page:/cart.html');
  // This very search's answer, painted: the list before it (the whole
  // range) has rows and a count too, and may still be on the page.
  const answered = page.waitForResponse((r) => {
    const u = new URL(r.url());
    return u.pathname.endsWith('/sessions') && u.searchParams.get('q') === 'page:/cart.html';
  }, T);
  await q('#session-search button[type=submit]').click();
  await page.waitForFunction(() => location.hash.includes('q=page'), null, T);
  await answered;
  if (searchSupported) {
    await page.waitForFunction((n) => document.querySelector('#session-count')?.getAttribute('data-total') === n,
      String(probe.body.total), T).catch(() => {});
  }
  await q('#sessions-table tbody tr').first().waitFor(T);
  const rows = await q('#sessions-table tbody tr').count();
  check('search page:/cart.html returns results', rows > 0, rows);
  if (searchSupported) {
    const total = await q('#session-count').getAttribute('data-total');
    check('result count equals API total', Number(total) === probe.body.total, { shown: total, api: probe.body.total });
  } else {
    check('fallback listing explained', await q('#search-fallback').isVisible());
  }
  await shot('sessions');
  const listedStart = await q('#sessions-table tbody tr a.sess-link').first().textContent();
  await q('#sessions-table tbody tr a.sess-link').first().click();
  await q('#session-timeline .tl-seg').first().waitFor(T);
  const segs = await q('#session-timeline .tl-seg').count();
  check('session timeline shows pages', segs > 0, segs);
  check('session events listed', (await q('#session-pages li.pv').count()) === segs);
  check('session source shown', (await q('#sess-source').textContent()).length > 0);
  // The session's start reads as it did in the list (one formatter).
  const headLine = await q('.sess-head p').textContent();
  check('the session header dates the session as the list does', headLine.startsWith(listedStart + ' · '), { list: listedStart, head: headLine });
  await shot('session');
  // On a phone every page path of the pages list keeps a readable width
  // (the times and links go under it).
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(300);
  const pathWidths = await q('#session-pages .pv-path').evaluateAll((els) => els.map((e) => Math.round(e.getBoundingClientRect().width)));
  check('session page paths are readable on a phone', pathWidths.length > 0 && pathWidths.every((w) => w >= 120), pathWidths);
  const fitSession = await measureFit(page, '#signout-btn');
  check('the session view fits a phone', fitSession.scroll <= fitSession.width && fitSession.onScreen, fitSession);
  await page.setViewportSize({ width: 1360, height: 900 });
  if (searchSupported) {
    await go(`#/sessions?site=${site}&range=7d&q=${encodeURIComponent('page:(')}`);
    expectHttpErrors++;
    await q('#search-error').waitFor(T);
    expectHttpErrors--;
    check('malformed query shows parser message', (await q('#search-error').textContent()).length > 0);
  }
});

await step('shared url', async () => {
  const hash = `#/journeys?site=${site}&range=30d&device=desktop&steps=4&nodes=5&root=/cart.html`;
  await go(hash);
  await q('#root-chip').waitFor(T);
  // Reload: still signed in, same view.
  await page.reload();
  await q('#root-chip').waitFor(T);
  check('reload restores view', (await q('#j-steps').inputValue()) === '4' && (await q('#range-select').inputValue()) === '30d');
  // Another browser (a fresh context: no session cookie there): sign in,
  // then the shared view is shown.
  const context2 = await browser.newContext({ viewport: { width: 1360, height: 900 } });
  await context2.addInitScript(reportCsp);
  const p2 = await context2.newPage();
  watch(p2, 'shared');
  await p2.goto(BASE + '/dashboard/' + hash);
  await p2.locator('#signin-token').waitFor({ state: 'visible', ...T });
  await p2.locator('#signin-token').fill(TOKEN);
  await p2.locator('#signin-submit').click();
  await p2.locator('#root-chip').waitFor(T);
  await p2.locator('svg.sankey .node, #sankey .empty').first().waitFor(T);
  const ok = (await p2.locator('#j-steps').inputValue()) === '4'
    && (await p2.locator('#j-nodes').inputValue()) === '5'
    && (await p2.locator('#range-select').inputValue()) === '30d'
    && (await p2.locator('select[data-filter=device]').inputValue()) === 'desktop'
    && (await p2.locator('#root-chip').textContent()).includes('/cart.html');
  check('shared URL restores view after sign-in', ok);
  const file = join(SHOTS, String(++shotN).padStart(2, '0') + '-shared-url.png');
  await p2.screenshot({ path: file, fullPage: true });
  screenshots.push(file);
  await context2.close();
});

await step('phone width', async () => {
  // At 390 px every view fits the screen: no sideways scroll, the sign-out
  // button on it. (Wide tables scroll inside their own box.)
  await page.setViewportSize({ width: 390, height: 844 });
  for (const view of ['overview', 'journeys', 'transitions', 'funnels', 'stages', 'conversions', 'friction', 'heatmaps', 'sessions']) {
    await go(`#/${view}?site=${site}&range=all`);
    await page.waitForTimeout(600);
    await q('#view .card, #view .empty').first().waitFor(T).catch(() => {});
    const f = await measureFit(page, '#signout-btn');
    const m = { scroll: f.scroll, width: f.width, signout: f.onScreen, wide: f.wide };
    check(`${view} fits a phone`, m.scroll <= m.width && m.signout, m);
    if (view === 'overview') check('the time axis labels do not overlap on a phone', await axisClear(), await axisBoxes());
    if (view === 'stages') {
      await q('#stage-settings .ss-row textarea').first().waitFor(T);
      const ws = await q('#stage-settings .ss-row textarea').evaluateAll((els) => els.map((e) => Math.round(e.getBoundingClientRect().width)));
      check('stage pattern boxes are usable on a phone', ws.length > 0 && ws.every((w) => w >= 250), ws);
    }
    // Card titles are whole: none is squeezed into a clipped sliver.
    const cut = await page.evaluate(() => [...document.querySelectorAll('.card-head h2')]
      .filter((e) => e.scrollWidth > e.clientWidth + 1 || e.getBoundingClientRect().width < 80).map((e) => e.textContent));
    check(`${view} card titles are not cut`, cut.length === 0, cut);
    if (view === 'journeys') {
      // The Sankey keeps readable labels (it scrolls inside its card).
      const px = await page.evaluate(() => {
        const t = document.querySelector('svg.sankey text.node-label, svg.sankey .node text');
        return t ? t.getBoundingClientRect().height : null;
      });
      check('sankey labels stay readable on a phone', px === null || px >= 9, px);
    }
    // No emoji: many machines (this one too) have no font for them.
    const emoji = await page.evaluate(() => (document.body.innerText.match(/[\u{1F300}-\u{1FAFF}]/gu) || []));
    check(`${view} shows no emoji`, emoji.length === 0, emoji);
  }
  await shot('phone');
  await page.setViewportSize({ width: 1360, height: 900 });
});

await step('sign-out and 401', async () => {
  await q('#signout-btn').click();
  await q('#signin').waitFor({ state: 'visible', ...T });
  check('sign-out returns to sign-in', !(await q('#app').isVisible()));
  expectHttpErrors++;
  const after = await page.evaluate(async () => (await fetch('/api/session')).status);
  await page.waitForTimeout(200);
  expectHttpErrors--;
  check('sign-out ends the session', after === 401, after);
  // A stale session cookie: the first 401 sends the user back to sign-in.
  await context.addCookies([{ name: 'trailmap_session', value: 'stale-session', url: BASE }]);
  expectHttpErrors++;
  await page.goto(BASE + `/dashboard/#/overview?site=${site}`);
  await q('#signin').waitFor({ state: 'visible', ...T });
  await page.waitForTimeout(300);
  expectHttpErrors--;
  check('401 returns to sign-in', !(await q('#app').isVisible()));
  // On a phone the sign-in card shows the brand word, not the logo alone.
  await page.setViewportSize({ width: 390, height: 844 });
  const brandW = await page.evaluate(() => {
    const word = [...document.querySelector('#signin .brand').childNodes].find((n) => n.nodeType === 3 && n.textContent.trim() === 'trailmap');
    if (!word) return 0;
    const r = document.createRange();
    r.selectNodeContents(word);
    return r.getBoundingClientRect().width;
  });
  check('the sign-in brand keeps its word on a phone', brandW > 50, brandW);
  await page.setViewportSize({ width: 1360, height: 900 });
});

await browser.close();
for (const p of problems) check('no console error / CSP violation', false, p);
const failed = checks.filter((c) => !c.ok);
const summary = { ok: failed.length === 0, search_supported: searchSupported, checks: checks.length, failed, problems, screenshots, passed: checks.filter((c) => c.ok).map((c) => c.name) };
console.log(JSON.stringify(summary, null, 2));
process.exit(summary.ok ? 0 : 1);
