// The Contrast view in real headless Chromium, against the demo shop:
// it sits in the Conversion group after Conversions; its headline says
// the API's sessions_a / sessions_b (for the very request the page made,
// range and filters included); the first row of each non-empty list shows
// the API's first row (item, counts, shares, difference, lift) and an
// empty list says "Nothing stands out"; a row's "sessions in B" link opens
// the Sessions view with its search, counting what the search API counts;
// the CSV button saves a list as shown; picking A = Reached… ^/cart.html
// puts it in the URL and shows the API's numbers for it (no session links
// where the API has no search); an impossible group (channel=nowhere)
// shows the server's own sentence beside the pickers; a group with no
// session says so with a hint; the view fits 1440, 820 and 390 px. Fails
// on any console error, page error or CSP violation. Prints a JSON
// summary on stdout; exits non-zero on failure.
//
//   node tests/browser/contrast.mjs COLLECTOR_URL ADMIN_TOKEN SCREENSHOT_DIR

import { readFileSync } from 'node:fs';
import { harness, measureFit } from './harness.mjs';

const [base0, TOKEN, SHOTS] = process.argv.slice(2);
if (!base0 || !TOKEN || !SHOTS) {
  console.error('usage: node tests/browser/contrast.mjs COLLECTOR_URL ADMIN_TOKEN SCREENSHOT_DIR');
  process.exit(2);
}
const BASE = base0.replace(/\/+$/, '');
const SITE = 'shop';
const CART = '^/cart.html';
const { T, check, step, expecting4xx, apiAdmin, party, finish } = await harness({ base: BASE, token: TOKEN, shots: SHOTS });

// As the dashboards write them (core.js fmt.pct, contrast.js points / lift).
const pct = (x) => (x * 100).toFixed(x === 0 || x === 1 ? 0 : 1) + '%';
const n = (x) => new Intl.NumberFormat('en-US').format(x);
const points = (d) => { const p = d * 100; const a = Math.abs(p); return (p > 0 ? '+' : p < 0 ? '-' : '±') + (a >= 9.95 ? a.toFixed(0) : a.toFixed(1)) + ' pts'; };
const lift = (x) => (x === null ? '–' : '×' + String(Number(x.toFixed(x >= 10 ? 0 : x >= 1 ? 1 : 2))));
const itemOf = (row) => (row.kind === 'event' ? row.steps[0].replace(/^event:/, '') : row.steps.join(' … '));
const hashParams = (url) => new URLSearchParams((url.split('#')[1] || '').split('?')[1] || '');

const P = await party('admin', { width: 1440, height: 900 });
const { page, q, go, shot } = P;
// Every contrast / sessions request the page makes: the test asks the API
// the very same question with the server token.
const contrastAsked = P.watch(`/api/sites/${SITE}/contrast`, painted);
const asked = { contrast: contrastAsked.asked, sessions: [] };
page.on('request', (r) => {
  const u = new URL(r.url());
  if (u.pathname === `/api/sites/${SITE}/sessions` && u.searchParams.has('q')) asked.sessions.push(u.pathname + u.search);
});
const { repainted, apiForPage } = contrastAsked;

const signIn = () => P.signIn();

// The view painted (headline, or the server's error) after a request.
async function painted() {
  await q('#contrast-headline, #contrast-error').first().waitFor(T);
  await q('#contrast-body .loading').waitFor({ state: 'detached', ...T });
}


async function headlineMatches(label, api) {
  const a = await q('#contrast-count-a').getAttribute('data-sessions');
  const b = await q('#contrast-count-b').getAttribute('data-sessions');
  const ta = (await q('#contrast-count-a strong').textContent()).trim();
  const tb = (await q('#contrast-count-b strong').textContent()).trim();
  check(`${label}: the headline shows sessions_a and sessions_b of the API`, a === String(api.sessions_a) && b === String(api.sessions_b)
    && ta === n(api.sessions_a) && tb === n(api.sessions_b), { shown: [ta, tb, a, b], api: [api.sessions_a, api.sessions_b] });
}

async function fits(label, width, lastSel) {
  await page.setViewportSize({ width, height: 900 });
  await page.waitForTimeout(300);
  const f = await measureFit(page, lastSel);
  check(`${label} fits ${width} px`, f.scroll <= f.width && f.onScreen, f);
}

let api0 = null;
await step('the Contrast view is in the Conversion group, after Conversions', async () => {
  await signIn();
  const nav = await q('#sidenav [data-nav]').evaluateAll((as) => as.map((a) => a.dataset.nav));
  check('Contrast comes right after Conversions', nav.includes('contrast') && nav.indexOf('contrast') === nav.indexOf('conversions') + 1, nav);
  const label = (await q('#sidenav [data-nav=contrast]').textContent()).trim();
  check('labelled "Contrast", with an icon', label === 'Contrast' && (await q('#sidenav [data-nav=contrast] svg path').count()) === 1, label);
  await q('#sidenav [data-nav=contrast]').click();
  await painted();
  check('the range and filters are offered (toolbar)', (await q('#range-select').count()) === 1);
});

await step('default groups: the headline and the lists are the API\'s', async () => {
  const r = await apiForPage();
  api0 = r.body;
  const u = new URL(BASE + r.path);
  check('the page asked a=converted, b=rest over the range', r.status === 200 && u.searchParams.get('a') === 'converted' && u.searchParams.get('b') === 'rest'
    && u.searchParams.has('from'), r.path);
  await headlineMatches('converted vs rest', api0);
  const head = (await q('#contrast-headline').textContent()).replace(/\s+/g, ' ').trim();
  check('the headline reads "N sessions converted · M did not"', head === `A${n(api0.sessions_a)} sessions converted·B${n(api0.sessions_b)} did not`, head);
  const explain = await q('#contrast-explain').textContent();
  check('it says what is listed and how many items were tested', explain === `Items listed differ significantly (q ≤ ${api0.alpha} of ${n(api0.tested)} tested); ranked by difference in share`, explain);
  check('left out only when some are', (await q('#contrast-left-out').count()) === (api0.left_out > 0 ? 1 : 0));
  check('sampled only when sampled', (await q('#contrast-sampled').count()) === (api0.sample_rate < 1 ? 1 : 0));
  let nonEmpty = 0;
  for (const key of ['pages', 'events', 'patterns']) {
    for (const [which, list] of [['a', api0[key].more_in_a], ['b', api0[key].more_in_b]]) {
      const box = q(`#contrast-${key}-${which}`);
      const title = (await box.locator('.card-head h2').textContent()).trim();
      check(`${key} ${which}: the card says what it lists`, title === `${key[0].toUpperCase() + key.slice(1)} more common in ${which.toUpperCase()}`, title);
      if (!list.length) {
        const e = (await box.locator('.empty').textContent()).trim();
        check(`${key} ${which}: an empty list says "Nothing stands out"`, e === 'Nothing stands out' && (await box.locator('table').count()) === 0, e);
        continue;
      }
      nonEmpty++;
      const rows = box.locator('tbody tr');
      check(`${key} ${which}: one row per API row`, (await rows.count()) === list.length, { shown: await rows.count(), api: list.length });
      const first = rows.first();
      const r0 = list[0];
      const cells = await first.locator('td').allTextContents();
      const item = (await first.locator('.ct-item-text').textContent()).trim();
      const want = {
        item: itemOf(r0),
        a: [pct(r0.share_a), `${n(r0.a)} of ${n(api0.sessions_a)}`], b: [pct(r0.share_b), `${n(r0.b)} of ${n(api0.sessions_b)}`],
        diff: points(r0.difference), lift: lift(r0.lift),
      };
      const ok = item === want.item && cells[1].includes(want.a[0]) && cells[1].includes(want.a[1]) && cells[2].includes(want.b[0]) && cells[2].includes(want.b[1])
        && cells[3].trim() === want.diff && cells[4].trim() === want.lift;
      check(`${key} ${which}: the first row is the API's first row`, ok, { item, cells, want });
      check(`${key} ${which}: the difference has the list's sign`, (which === 'a') === cells[3].trim().startsWith('+'), cells[3]);
      const also = (r0.also || []).map((st) => (r0.kind === 'event' ? st[0].replace(/^event:/, '') : st.join(' … ')));
      const alsoShown = (await first.locator('.ct-also').count()) ? (await first.locator('.ct-also').textContent()).trim() : '';
      const alsoWant = also.length ? '= ' + also.slice(0, 2).join(', ') + (also.length > 2 ? ` and ${also.length - 2} more` : '') : '';
      check(`${key} ${which}: the items of the same sessions are named under the first`, alsoShown === alsoWant, { alsoShown, alsoWant });
      if (key === 'patterns') check(`patterns ${which}: each step shown as code`, (await first.locator('.ct-item-text code').count()) === r0.steps.length);
    }
  }
  check('the demo has something to contrast', nonEmpty >= 2, nonEmpty);
  check('every list card with a table has a CSV button', (await page.evaluate(() => [...document.querySelectorAll('#contrast-body .card')]
    .filter((c) => c.querySelector('table') && !c.querySelector('.csv-btn')).length)) === 0);
  await shot('contrast-1440');
});

await step('a list downloads as CSV, as shown', async () => {
  const box = q('#contrast-pages-a');
  const [dl] = await Promise.all([page.waitForEvent('download', T), box.locator('.csv-btn').click()]);
  const csv = readFileSync(await dl.path(), 'utf8').trim().split('\n');
  const r0 = api0.pages.more_in_a[0];
  check('CSV: header, then the first page with its shares', csv[0] === 'Page,In A,In B,Difference,Lift'
    && csv[1] === [r0.steps[0], pct(r0.share_a), pct(r0.share_b), points(r0.difference), lift(r0.lift)].join(',')
    && csv.length === api0.pages.more_in_a.length + 1, { head: csv.slice(0, 3), name: dl.suggestedFilename() });
});

await step('"sessions in B" opens the Sessions view with the row\'s search', async () => {
  const row = api0.pages.more_in_b.find((r) => r.search_b) || api0.pages.more_in_a.find((r) => r.search_b);
  check('a page row with a search for B', !!row, api0.pages);
  const box = row === api0.pages.more_in_b.find((r) => r.search_b) ? '#contrast-pages-b' : '#contrast-pages-a';
  const tr = q(`${box} tbody tr`).filter({ has: page.locator('.ct-item-text', { hasText: row.steps[0] }) }).first();
  const linkB = tr.locator('a[data-group=B]');
  const href = await linkB.getAttribute('href');
  const hp = new URLSearchParams(href.split('?')[1]);
  check('the link searches search_b, keeping site and range', href.startsWith('#/sessions?') && hp.get('q') === row.search_b
    && hp.get('site') === SITE && hp.get('range') === hashParams(page.url()).get('range'), { href, search_b: row.search_b });
  check('the row links A\'s sessions too', (await tr.locator('a[data-group=A]').count()) === (row.search_a ? 1 : 0));
  const before = asked.sessions.length;
  await linkB.click();
  await page.waitForFunction(() => location.hash.startsWith('#/sessions'), null, T);
  await q('#session-count[data-total]').waitFor(T);
  const input = await q('#session-q').inputValue();
  check('the Sessions view shows the query', input === row.search_b, input);
  const sent = asked.sessions.slice(before).pop();
  const api = await apiAdmin('GET', sent);
  const total = await q('#session-count').getAttribute('data-total');
  check('its result count is what the search API counts', api.status === 200 && total === String(api.body.total), { total, api: api.body && api.body.total, sent });
  check('the search finds the sessions the row counted', api.body && api.body.total === row.b, { counted: row.b, found: api.body && api.body.total, q: row.search_b });
  const back = asked.contrast.length;
  await page.goBack();
  await repainted(back);
  check('back to the Contrast view', page.url().includes('#/contrast'), page.url());
});

await step('A = Reached… ^/cart.html: in the URL, with the API\'s numbers', async () => {
  const before = asked.contrast.length;
  await q('#contrast-a-kind').selectOption('reached');
  check('the target box appears, focused', await q('#contrast-a-target').isVisible() && await q('#contrast-a-target').evaluate((e) => e === document.activeElement));
  check('nothing asked before the target is typed', asked.contrast.length === before);
  await q('#contrast-a-target').fill(CART);
  await q('#contrast-a-target').press('Enter');
  await page.waitForFunction(() => location.hash.includes('a=reached'), null, T);
  check('the URL hash keeps a=reached:^/cart.html', hashParams(page.url()).get('a') === 'reached:' + CART, page.url());
  await repainted(before);
  const r = await apiForPage();
  check('the page asked a=reached:^/cart.html', new URL(BASE + r.path).searchParams.get('a') === 'reached:' + CART && r.status === 200, r.path);
  await headlineMatches('reached ^/cart.html vs rest', r.body);
  const head = (await q('#contrast-headline').textContent()).replace(/\s+/g, ' ').trim();
  check('the headline says "reached ^/cart.html"', head.includes(`${n(r.body.sessions_a)} sessions reached ${CART}`) && head.endsWith('did not'), head);
  const all = ['pages', 'events', 'patterns'].flatMap((k) => [...r.body[k].more_in_a, ...r.body[k].more_in_b]);
  check('a link to sessions only where the API has a search', (await q('#contrast-body a[data-group=A]').count()) === all.filter((x) => x.search_a).length
    && (await q('#contrast-body a[data-group=B]').count()) === all.filter((x) => x.search_b).length, { links: await q('#contrast-body a[data-group]').count() });
  check('the defining page is not listed', !all.some((x) => x.kind === 'page' && x.steps[0] === '/cart.html')
    && !(await q('#contrast-body .ct-page').allTextContents()).includes('/cart.html'));
  await shot('contrast-reached-cart');
});

await step('an impossible group shows the server\'s sentence beside the pickers', async () => {
  await q('#contrast-a-kind').selectOption('segment');
  await q('#contrast-a-dim').selectOption('channel');
  await q('#contrast-a-value').fill('nowhere');
  const before404 = asked.contrast.length;
  await expecting4xx(page, async () => {
    await q('#contrast-apply').click();
    await repainted(before404);
  });
  const r = await apiForPage();
  const text = (await q('#contrast-error').textContent()).trim();
  check('the API says 404 "no session in this range has channel=nowhere"', r.status === 404 && r.body.error === 'no session in this range has channel=nowhere', r);
  check('the view shows that sentence', text === r.body.error, text);
  check('in the picker card, the pickers still there', (await q('#contrast-pick #contrast-error').count()) === 1 && await q('#contrast-form').isVisible()
    && (await q('#contrast-a-value').inputValue()) === 'nowhere');
  check('not an error page', (await q('.error-box').count()) === 0);
  // A bad pick of two dimensions: 400, its sentence too.
  await q('#contrast-a-value').fill('mobile');
  await q('#contrast-a-dim').selectOption('device');
  await q('#contrast-b-kind').selectOption('segment');
  await q('#contrast-b-dim').selectOption('channel');
  await q('#contrast-b-value').fill('email');
  const before400 = asked.contrast.length;
  await expecting4xx(page, async () => {
    await q('#contrast-apply').click();
    await repainted(before400);
  });
  const r2 = await apiForPage();
  const text2 = (await q('#contrast-error').textContent()).trim();
  check('two dimensions: the server\'s 400 sentence', r2.status === 400 && text2 === r2.body.error, { status: r2.status, text2, api: r2.body });
  // Nothing typed: said at once, nothing asked.
  const before = asked.contrast.length;
  await q('#contrast-b-value').fill('');
  await q('#contrast-apply').click();
  await q('#contrast-error').waitFor(T);
  check('an empty value is asked for, without a request', /Type a channel for group B/.test(await q('#contrast-error').textContent()) && asked.contrast.length === before,
    await q('#contrast-error').textContent());
  await shot('contrast-error');
});

await step('a group with no session says so, with a hint', async () => {
  let before = asked.contrast.length;
  await go(`#/contrast?site=${SITE}&range=7d&a=${encodeURIComponent('reached:^/no-such-page-zzz')}`);
  await repainted(before);
  const r = await apiForPage();
  check('the API: no session in A', r.status === 200 && r.body.sessions_a === 0, r.body && r.body.sessions_a);
  const e = (await q('#contrast-empty').textContent()).replace(/\s+/g, ' ').trim();
  check('"No session in this range reached …"', e.startsWith('No session in this range reached ^/no-such-page-zzz.'), e);
  before = asked.contrast.length;
  await go(`#/contrast?site=${SITE}&range=custom&from=2001-01-01&to=2001-01-02`);
  await repainted(before);
  const r2 = await apiForPage();
  const e2 = (await q('#contrast-empty').textContent()).replace(/\s+/g, ' ').trim();
  check('no conversion: the hint to set goals in Conversions', r2.body.sessions_a === 0
    && e2 === 'No session in this range converted.Set goals in Conversions or pick another group.'
    && (await q('#contrast-empty a').getAttribute('href')).startsWith('#/conversions?'), e2);
});

await step('the view fits 1440, 820 and 390 px', async () => {
  const before = asked.contrast.length;
  await go(`#/contrast?site=${SITE}&range=7d`);
  await repainted(before);
  await q('#contrast-patterns-b').waitFor(T);
  await fits('the Contrast view', 1440, '#signout-btn');
  const side = await page.evaluate(() => {
    const a = document.querySelector('#contrast-pages-a').getBoundingClientRect();
    const b = document.querySelector('#contrast-pages-b').getBoundingClientRect();
    return { sideBySide: Math.abs(a.top - b.top) < 2 && b.left > a.right };
  });
  check('A and B side by side at 1440 px', side.sideBySide, side);
  await fits('the Contrast view', 820, '#signout-btn');
  await shot('contrast-820');
  await fits('the Contrast view', 390, '#signout-btn');
  const stacked = await page.evaluate(() => {
    const a = document.querySelector('#contrast-pages-a').getBoundingClientRect();
    const b = document.querySelector('#contrast-pages-b').getBoundingClientRect();
    const items = [...document.querySelectorAll('#contrast-body .ct-item-text')].filter((e) => e.getBoundingClientRect().right > innerWidth);
    return { stacked: b.top >= a.bottom, itemsOut: items.length };
  });
  check('A and B stacked at 390 px, no item sticking out', stacked.stacked && stacked.itemsOut === 0, stacked);
  await shot('contrast-390');
  await page.setViewportSize({ width: 1440, height: 900 });
});

await finish();
