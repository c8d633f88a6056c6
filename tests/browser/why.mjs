// The "Why they left" view in real headless Chromium, against the demo
// shop. First a few sessions are sent to the collector as the tracker
// sends them (from the shop's origin), leaving checkout with rage clicks,
// dead clicks, an error page, a quick back and a loop, so that there are
// reasons besides the demo's "no sign". Then: the view sits in the
// Conversion group right after Contrast; its headline says the API's
// reached / left / converted (for the very request the page made, range
// included); each reason row shows the API's label, sessions and share,
// in the API's order; the first reason's top exit page is the API's and
// links to the Transitions view of that page; "Watch" opens the session
// view of the first example (which shows that session) and "+N more" shows
// every example; picking "a page or event…" ^/cart.html and another stage
// puts `at` in the URL and shows the API's numbers; breakdown=device shows
// the API's segments and their shares; a bad `at` (stage:nowhere, a bad
// regex) shows the server's own sentence beside the picker, an empty one
// is asked for without a request; a point nobody reached or nobody left
// (the purchase event: all converted) says so; the
// view fits 1440, 820 and 390 px. Fails on any console error, page error
// or CSP violation. Prints a JSON summary on stdout; exits non-zero on
// failure.
//
//   node tests/browser/why.mjs COLLECTOR_URL ADMIN_TOKEN SCREENSHOT_DIR

import { harness, measureFit, DESKTOP_UA as DESKTOP } from './harness.mjs';

const [base0, TOKEN, SHOTS] = process.argv.slice(2);
if (!base0 || !TOKEN || !SHOTS) {
  console.error('usage: node tests/browser/why.mjs COLLECTOR_URL ADMIN_TOKEN SCREENSHOT_DIR');
  process.exit(2);
}
const BASE = base0.replace(/\/+$/, '');
const SITE = 'shop';
const CART = '^/cart.html';
const { T, check, step, expecting4xx, apiAdmin, party, finish, siteOrigin } = await harness({ base: BASE, token: TOKEN, shots: SHOTS });

// As the dashboards write them (core.js fmt.pct, fmt.n, fmt.label).
const pct = (x, d = 1) => (x * 100).toFixed(x === 0 || x === 1 ? 0 : d) + '%';
const n = (x) => new Intl.NumberFormat('en-US').format(x);
const label = (s) => (s ? String(s).replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase()) : '(none)');
const text = async (loc) => ((await loc.textContent()) || '').replace(/\s+/g, ' ').trim();
const hashParams = (url) => new URLSearchParams((url.split('#')[1] || '').split('?')[1] || '');

// ------------------------------------------------ sessions with reasons
// A desktop and a phone browser: the collector files other agents as bots.
const PHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1';
const ORIGIN = await siteOrigin(SITE);
const RUN = Date.now().toString(36);
let seeded = 0;
// One session as one tracker batch: steps of [path, seconds after the
// start, extra fields], clicks as ['click', path, seconds, {rage|dead}].
async function visit(name, ua, steps) {
  const t0 = Date.now() - 10 * 60 * 1000;
  const events = steps.map(([kind, path, s, extra]) => (kind === 'pageview'
    ? { type: 'pageview', ts: t0 + s * 1000, url: ORIGIN + path, title: path, vw: 1280, vh: 800, dw: 1280, dh: 2400, ...(extra || {}) }
    : { type: 'click', ts: t0 + s * 1000, url: ORIGIN + path, x: 320, y: 410, sel: 'main>form>button', ox: 4, oy: 4, text: 'Continue', ...(extra || {}) }));
  const res = await fetch(BASE + '/api/collect', {
    method: 'POST',
    headers: { Origin: ORIGIN, 'Content-Type': 'text/plain', 'User-Agent': ua },
    body: JSON.stringify({ site: SITE, sid: 'why_' + RUN + '_' + name, now: Date.now(), events }),
  });
  if (res.status === 202) seeded++;
  return res.status;
}
const pv = (path, s, extra) => ['pageview', path, s, extra];
const click = (path, s, extra) => ['click', path, s, extra];
await step('sessions leaving checkout with reasons reach the collector', async () => {
  check('the shop has an origin', !!ORIGIN);
  const ship = '/checkout/shipping.html';
  const statuses = [];
  for (let i = 0; i < 6; i++) {
    statuses.push(await visit('rage' + i, i % 2 ? PHONE : DESKTOP, [pv('/', 0), pv('/cart.html', 20), pv(ship, 45),
      click(ship, 50, { rage: true }), click(ship, 51, { rage: true }), click(ship, 52, { rage: true })]));
  }
  for (let i = 0; i < 2; i++) {
    statuses.push(await visit('ragedead' + i, PHONE, [pv('/', 0), pv('/cart.html', 30),
      click('/cart.html', 40, { rage: true }), click('/cart.html', 44, { dead: true })]));
  }
  for (let i = 0; i < 3; i++) {
    statuses.push(await visit('dead' + i, DESKTOP, [pv('/', 0), pv('/cart.html', 20), pv(ship, 40), click(ship, 55, { dead: true })]));
  }
  for (let i = 0; i < 2; i++) {
    statuses.push(await visit('error' + i, i ? PHONE : DESKTOP, [pv('/', 0), pv('/cart.html', 20), pv('/checkout/payment.html', 40, { status: 500 })]));
  }
  statuses.push(await visit('quickback', DESKTOP, [pv('/', 0), pv('/cart.html', 20), pv(ship, 40), pv('/cart.html', 43)]));
  statuses.push(await visit('loop', PHONE, [pv('/', 0), pv('/cart.html', 20), pv(ship, 45), pv('/cart.html', 75), pv(ship, 105)]));
  check('every batch accepted (202)', statuses.every((s) => s === 202), statuses);
});

const P = await party('admin', { width: 1440, height: 900 });
const { page, q, go, shot } = P;
const signIn = () => P.signIn();

// The view painted (headline, the server's error, or nobody there) after
// a request.
async function painted() {
  await q('#why-headline, #why-error, #why-empty').first().waitFor(T);
  await q('#why-body .loading').waitFor({ state: 'detached', ...T });
}
// Every why request the page makes: the test asks the API the very same
// question with the server token.
const { asked, repainted, apiForPage } = P.watch(`/api/sites/${SITE}/why`, painted);

// The headline sentence as the view writes it.
function headlineText(api, words) {
  const share = api.reached ? api.left / api.reached : 0;
  return `${n(api.left)} of ${n(api.reached)} ${api.reached === 1 ? 'session' : 'sessions'} ${words} left without converting (${pct(share, 0)})`;
}

async function headlineMatches(name, api, words) {
  const head = await text(q('#why-headline'));
  check(`${name}: the headline says the API's left and reached`, head === headlineText(api, words)
    && (await q('#why-headline').getAttribute('data-left')) === String(api.left)
    && (await q('#why-headline').getAttribute('data-reached')) === String(api.reached), { head, want: headlineText(api, words) });
  if (api.reached) {
    const conv = await text(q('#why-converted'));
    check(`${name}: "N converted" is the API's`, conv === `${n(api.converted)} converted (${pct(api.converted / api.reached, 0)})`
      && api.reached === api.left + api.converted, { conv, api: [api.reached, api.converted, api.left] });
  }
}

// Each row: the API's reason, label, sessions and share, in its order.
async function rowsMatch(name, api) {
  const rows = q('#why-reasons tbody tr');
  const shown = await rows.evaluateAll((trs) => trs.map((tr) => ({
    reason: tr.dataset.reason,
    label: tr.querySelector('.why-label-text').textContent,
    sessions: tr.querySelector('.why-n').textContent,
    share: tr.querySelector('.why-share .why-pct').textContent,
  })));
  const want = api.reasons.map((r) => ({ reason: r.reason, label: r.label, sessions: n(r.sessions), share: pct(r.share) }));
  check(`${name}: one row per reason of the API, with its label, sessions and share`, JSON.stringify(shown) === JSON.stringify(want), { shown, want });
  check(`${name}: reasons most sessions first`, api.reasons.every((r, i) => !i || api.reasons[i - 1].sessions >= r.sessions), api.reasons.map((r) => r.sessions));
}

async function fits(name, width, lastSel) {
  await page.setViewportSize({ width, height: 900 });
  await page.waitForTimeout(300);
  const f = await measureFit(page, lastSel);
  check(`${name} fits ${width} px`, f.scroll <= f.width && f.onScreen, f);
  return f;
}

let api0 = null;
await step('the view is in the Conversion group, right after Contrast', async () => {
  await signIn();
  const nav = await q('#sidenav [data-nav]').evaluateAll((as) => as.map((a) => a.dataset.nav));
  check('"why" comes right after "contrast"', nav.includes('why') && nav.indexOf('why') === nav.indexOf('contrast') + 1, nav);
  const lbl = (await q('#sidenav [data-nav=why]').textContent()).trim();
  check('labelled "Why they left", with an icon', lbl === 'Why they left' && (await q('#sidenav [data-nav=why] svg path').count()) === 1, lbl);
  await q('#sidenav [data-nav=why]').click();
  await painted();
  check('the range and filters are offered (toolbar)', (await q('#range-select').count()) === 1 && await q('#toolbar').isVisible());
  check('the title says the view', (await text(q('.view-head h1'))) === 'Why they left');
});

await step('the decision stage: the headline and the reasons are the API\'s', async () => {
  const r = await apiForPage();
  api0 = r.body;
  check('the page asked over the range, at the server\'s default', r.status === 200 && r.params.has('from') && !r.params.has('at') && api0.at === 'stage:decision', r.path);
  await headlineMatches('decision stage', api0, 'that reached the decision stage');
  check('the demo has sessions that left', api0.left > 0 && api0.reasons.length > 0, api0);
  await rowsMatch('decision stage', api0);
  const codes = api0.reasons.map((x) => x.reason);
  check('the seeded reasons are there (rage clicks among them, and no sign)', seeded > 0 && codes.includes('rage_clicks') && codes.includes('no_sign'), codes);
  // The rage-clicked elements of the examples, as the API names them.
  const rage = api0.reasons.find((x) => x.reason === 'rage_clicks');
  const shownEls = await text(q('#why-reasons tbody tr[data-reason="rage_clicks"] .why-elements'));
  const wantEls = (rage.elements || []).map((e) => `${e.selector} (${e.sessions} of ${rage.examples.length} examples)`);
  check('rage clicks name the elements clicked on the exit page', wantEls.length > 0 && wantEls.every((w) => shownEls.includes(w)), { shownEls, wantEls });
  // The demo's shipping step shows its delivery options and their cost
  // beside the address step's summary: new content, line by line.
  const fresh = api0.reasons.find((x) => x.reason === 'new_content');
  check('the demo\'s layouts give new content with its lines', !!fresh && (fresh.lines || []).length > 0, codes);
  if (fresh) {
    const shownLines = await q('#why-reasons tbody tr[data-reason="new_content"] .why-lines li').evaluateAll((lis) => lis.map((li) => li.textContent.replace(/\s+/g, ' ').trim()));
    const wantLines = fresh.lines.map((l) => `+${l.line} ${n(l.sessions)} ${l.sessions === 1 ? 'session' : 'sessions'}`);
    check('new content lists the API\'s lines, each with its sessions', JSON.stringify(shownLines) === JSON.stringify(wantLines), { shownLines, wantLines });
  }
  const sum = api0.reasons.reduce((a, x) => a + x.share, 0);
  check('the muted line says shares can add up to more than 100%', /more than 100%/.test(await text(q('#why-note'))) && sum > 1, { sum });
  // The stage picker: the site's stages, the decision stage picked.
  const st = await apiAdmin('GET', `/api/sites/${SITE}/stages/settings`);
  const opts = await q('#why-at option').evaluateAll((os) => os.map((o) => o.value));
  check('the picker offers the site\'s stages, then a page or event', JSON.stringify(opts) === JSON.stringify([...st.body.stages.map((s) => 'stage:' + s.name), '__target']), opts);
  check('the decision stage is picked', (await q('#why-at').inputValue()) === 'stage:decision' && await q('#why-target').isHidden());
  check('the reasons card has a CSV button', (await q('#why-reasons .card-head .csv-btn').count()) === 1);
  check('no breakdown picked', (await q('#why-breakdown').inputValue()) === '' && (await q('#why-by').count()) === 0);
  await shot('why-1440');
});

await step('the first reason: its top exit page, linked to Transitions', async () => {
  const r0 = api0.reasons[0];
  const row = q(`#why-reasons tbody tr[data-reason="${r0.reason}"]`);
  const exits = await row.locator('.why-exit').evaluateAll((ls) => ls.map((l) => ({ page: l.dataset.page, code: l.querySelector('code').textContent, n: l.querySelector('.why-exit-n').textContent })));
  const want = r0.exits.map((x) => ({ page: x.value, code: x.value, n: n(x.sessions) + ' ' + pct(x.share) }));
  check('the first reason lists the API\'s exit pages, the top one first', exits.length > 0 && JSON.stringify(exits) === JSON.stringify(want), { exits, want });
  const a = row.locator('.why-exit a').first();
  const href = await a.getAttribute('href');
  const hp = new URLSearchParams(href.split('?')[1]);
  check('the top exit links to Transitions for that page, keeping site and range', href.startsWith('#/transitions?') && hp.get('page') === r0.exits[0].value
    && hp.get('site') === SITE && hp.get('range') === hashParams(page.url()).get('range'), href);
  await a.click();
  await page.waitForFunction(() => location.hash.startsWith('#/transitions'), null, T);
  await q('#page-picker').waitFor(T);
  check('the Transitions view opens on that page', (await q('#page-picker').inputValue()) === r0.exits[0].value);
  const before = asked.length;
  await page.goBack();
  await repainted(before);
});

await step('"Watch" opens the session player on the first example', async () => {
  const r0 = api0.reasons.find((x) => x.reason === 'rage_clicks') || api0.reasons[0];
  const row = q(`#why-reasons tbody tr[data-reason="${r0.reason}"]`);
  const links = row.locator('.why-watch a');
  const shownIds = await links.evaluateAll((as) => as.filter((a) => a.offsetParent !== null).map((a) => a.dataset.id));
  check('the first three examples are linked ("▶ Watch 2 3")', JSON.stringify(shownIds) === JSON.stringify(r0.examples.slice(0, 3).map(String))
    && (await text(links.first())) === '▶ Watch', { shownIds, examples: r0.examples });
  if (r0.examples.length > 3) {
    await row.locator('.why-more').click();
    const all = await row.locator('.why-watch a').evaluateAll((as) => as.filter((a) => a.offsetParent !== null).map((a) => a.dataset.id));
    check('"+N more" shows every example', JSON.stringify(all) === JSON.stringify(r0.examples.map(String)), all);
  }
  const id = r0.examples[0];
  const href = await links.first().getAttribute('href');
  check('the link is the session route of the first example', href.startsWith('#/session?') && new URLSearchParams(href.split('?')[1]).get('id') === String(id), href);
  await links.first().click();
  await page.waitForFunction(() => location.hash.startsWith('#/session?'), null, T);
  await q('.sess-head h1').waitFor(T);
  check('the session view shows that session', (await text(q('.sess-head h1'))) === `Session #${id}`, await text(q('.sess-head h1')));
  const one = await apiAdmin('GET', `/api/sites/${SITE}/sessions/${id}`);
  check('that session left with the reason (API)', one.status === 200 && (r0.reason !== 'rage_clicks' || one.body.rage_clicks > 0), one.body && one.body.rage_clicks);
  const before = asked.length;
  await page.goBack();
  await repainted(before);
});

await step('a page typed in (^/cart.html): in the URL, with the API\'s numbers', async () => {
  let before = asked.length;
  await q('#why-at').selectOption('__target');
  check('the target box appears, focused', await q('#why-target').isVisible() && await q('#why-target').evaluate((e) => e === document.activeElement));
  check('nothing asked before it is typed', asked.length === before);
  await q('#why-target').fill(CART);
  await q('#why-target').press('Enter');
  await page.waitForFunction(() => location.hash.includes('at='), null, T);
  check('the URL hash keeps at=^/cart.html', hashParams(page.url()).get('at') === CART, page.url());
  await repainted(before);
  const r = await apiForPage();
  check('the page asked at=^/cart.html', r.status === 200 && r.params.get('at') === CART && r.body.at === CART, r.path);
  await headlineMatches('^/cart.html', r.body, 'that reached /cart.html…');
  await rowsMatch('^/cart.html', r.body);
  check('the picker keeps the page', (await q('#why-at').inputValue()) === '__target' && (await q('#why-target').inputValue()) === CART);
  // Another stage, from the select: applies at once.
  before = asked.length;
  await q('#why-at').selectOption('stage:consideration');
  await repainted(before);
  const r2 = await apiForPage();
  check('the URL hash keeps at=stage:consideration', hashParams(page.url()).get('at') === 'stage:consideration' && r2.params.get('at') === 'stage:consideration', page.url());
  await headlineMatches('consideration stage', r2.body, 'that reached the consideration stage');
  await rowsMatch('consideration stage', r2.body);
  check('the numbers changed with the point', r2.body.reached !== api0.reached || r2.body.left !== api0.left, [r2.body.reached, api0.reached]);
  // Back to the decision stage: the default, out of the URL.
  before = asked.length;
  await q('#why-at').selectOption('stage:decision');
  await repainted(before);
  check('the default point leaves the URL', !hashParams(page.url()).has('at'), page.url());
});

await step('breakdown=device shows the API\'s segments', async () => {
  const before = asked.length;
  await q('#why-breakdown').selectOption('device');
  await repainted(before);
  await q('#why-by').waitFor(T);
  const r = await apiForPage();
  check('the URL hash and the request have breakdown=device', hashParams(page.url()).get('breakdown') === 'device' && r.params.get('breakdown') === 'device'
    && r.body.breakdown === 'device', r.path);
  check('the card is "By device"', (await text(q('#why-by .card-head h2'))) === 'By device');
  const values = [...new Set(r.body.reasons.flatMap((x) => x.groups.map((g) => g.value)))];
  const shownValues = await q('#why-by tbody tr').evaluateAll((trs) => trs.map((tr) => tr.dataset.value));
  check('one row per segment of the API', values.length > 0 && [...shownValues].sort().join() === [...values].sort().join(), { shownValues, values });
  const heads = await q('#why-by thead th').evaluateAll((ths) => ths.slice(1).map((th) => th.dataset.reason));
  check('one column per reason, in the API\'s order', JSON.stringify(heads) === JSON.stringify(r.body.reasons.map((x) => x.reason)), heads);
  const bad = [];
  for (const [ri, reason] of r.body.reasons.entries()) {
    for (const g of reason.groups) {
      const cell = q(`#why-by tbody tr[data-value="${g.value}"] td`).nth(ri + 1);
      const t = [await text(cell.locator('.why-pct')), await text(cell.locator('.why-seg-n'))].join(' ');
      const want = `${pct(g.share)} ${n(g.sessions)} ${g.sessions === 1 ? 'session' : 'sessions'}`;
      if (t !== want) bad.push({ reason: reason.reason, value: g.value, t, want });
    }
  }
  check('each segment\'s share and sessions are the API\'s', bad.length === 0, bad);
  const label0 = await text(q('#why-by tbody tr td').first());
  check('a segment shows its value', values.includes(label0) || values.map(label).includes(label0), label0);
  await headlineMatches('breakdown=device', r.body, 'that reached the decision stage');
  await shot('why-device-1440');
});

await step('a bad point shows the server\'s sentence beside the picker', async () => {
  let before = asked.length;
  await expecting4xx(page, async () => {
    await go(`#/why?site=${SITE}&range=7d&at=stage:nowhere`);
    await repainted(before);
  });
  const r = await apiForPage();
  const shown = (await q('#why-error').textContent()).trim();
  check('the API: 404 "at: no stage \\"nowhere\\" (the site\'s stages: …)"', r.status === 404 && /^at: no stage "nowhere" \(the site's stages: .+\)$/.test(r.body.error), r.body);
  check('the view shows that sentence, in the picker card', shown === r.body.error && (await q('#why-pick #why-error').count()) === 1, shown);
  check('the picker shows what was asked', (await q('#why-at').inputValue()) === 'stage:nowhere');
  check('not an error page; nothing to show', (await q('.error-box').count()) === 0 && (await q('#why-empty').count()) === 1);
  await shot('why-error');
  // A bad pattern typed in: the server's 400 sentence.
  await q('#why-at').selectOption('__target');
  await q('#why-target').fill('^(bad');
  before = asked.length;
  await expecting4xx(page, async () => {
    await q('#why-apply').click();
    await repainted(before);
  });
  const r2 = await apiForPage();
  const shown2 = (await q('#why-error').textContent()).trim();
  check('a bad regex: the server\'s 400 sentence', r2.status === 400 && shown2 === r2.body.error && /regex/.test(shown2), { shown2, api: r2.body });
  // Nothing typed: asked for at once, nothing sent.
  before = asked.length;
  await q('#why-target').fill('');
  await q('#why-apply').click();
  await page.waitForTimeout(200);
  check('an empty target is asked for, without a request', /Type a page pattern/.test(await q('#why-error').textContent()) && asked.length === before,
    await q('#why-error').textContent());
});

await step('a point nobody reached, or nobody left, says so', async () => {
  const before = asked.length;
  await go(`#/why?site=${SITE}&range=7d&at=${encodeURIComponent('^/no-such-page-zzz')}`);
  await repainted(before);
  const r = await apiForPage();
  check('the API: nobody reached it', r.status === 200 && r.body.reached === 0, r.body);
  const e = await text(q('#why-empty'));
  check('"No session in this range reached …"', e.startsWith('No session in this range reached /no-such-page-zzz…'), e);
  check('no headline, no reasons table', (await q('#why-reasons').count()) === 0 && (await q('#why-headline').count()) === 0);
  // Those who bought (the goal event) all converted: nobody left.
  const before2 = asked.length;
  await go(`#/why?site=${SITE}&range=7d&at=event:purchase`);
  await repainted(before2);
  const r2 = await apiForPage();
  check('the API: every session with a purchase converted', r2.status === 200 && r2.body.reached > 0 && r2.body.left === 0, r2.body);
  await headlineMatches('event:purchase', r2.body, 'with the event purchase');
  const e2 = await text(q('#why-empty'));
  check('"Every session that had the event purchase converted."', e2.startsWith('Every session that had the event purchase converted.'), e2);
});

await step('the view fits 1440, 820 and 390 px', async () => {
  const before = asked.length;
  await go(`#/why?site=${SITE}&range=7d&breakdown=device`);
  await repainted(before);
  await q('#why-by').waitFor(T);
  await fits('the view', 1440, '#signout-btn');
  await fits('the view', 820, '#signout-btn');
  await shot('why-820');
  await fits('the view', 390, '#signout-btn');
  const out = await page.evaluate(() => [...document.querySelectorAll('#why-reasons .why-label, #why-reasons .why-exit, #why-headline, #why-pick select, #why-pick input')]
    .filter((e) => e.getBoundingClientRect().right > innerWidth + 1).map((e) => e.className || e.id));
  check('at 390 px no label, exit page or control sticks out', out.length === 0, out);
  await shot('why-390');
  await page.setViewportSize({ width: 1440, height: 900 });
});

await finish();
