// The "Expected journey" view (conformance) in real headless Chromium,
// against the demo shop. First the site's model is cleared (PUT {"steps":
// []}) and a few sessions are sent to the collector as the tracker sends
// them, taking a checkout step twice and going back a step, so that there
// are deviations besides the demo's skipped product pages. Then: the view
// sits in the Conversion group right after "Why they left"; with no model
// the API answers 409 and the view shows the editor, prefilled with a
// shop-like example; the admin builds Product (repeatable) → Cart →
// Address → Shipping → Payment in the editor (changing rows, adding,
// moving and removing one), a bad target (^/( ) shows the server's own 400
// sentence and saves nothing, the good one is saved and GET
// conformance/model returns exactly it; the picture (each step's reached,
// share, skipped, again, back to it) and the headline (conforming of
// touched, rate, mean fitness, completed, the fitness histogram) are the
// API's for the very request the page made; the deviations table is the
// API's rows in its order ("Skipped Product", "Address again", "Back to
// Cart after Address"), and "Watch" opens the first example's session;
// breakdown=device (the select) is in the URL and shows the API's groups;
// a viewer sees the model read-only and the server refuses her PUT (403);
// the view fits 1440, 820 and 390 px. Fails on any console error, page
// error or CSP violation. Prints a JSON summary on stdout; exits non-zero
// on failure.
//
//   node tests/browser/conformance.mjs COLLECTOR_URL ADMIN_TOKEN SCREENSHOT_DIR

import { harness, measureFit, DESKTOP_UA as DESKTOP } from './harness.mjs';

const [base0, TOKEN, SHOTS] = process.argv.slice(2);
if (!base0 || !TOKEN || !SHOTS) {
  console.error('usage: node tests/browser/conformance.mjs COLLECTOR_URL ADMIN_TOKEN SCREENSHOT_DIR');
  process.exit(2);
}
const BASE = base0.replace(/\/+$/, '');
const SITE = 'shop';
const MODEL_PATH = `/api/sites/${SITE}/conformance/model`;
const { T, check, step, expecting4xx, apiAdmin, party, finish, siteOrigin } = await harness({ base: BASE, token: TOKEN, shots: SHOTS });

// The model the admin builds, as GET conformance/model must return it.
const WANT = [
  { name: 'Product', target: '^/product/', repeatable: true },
  { name: 'Cart', target: '^/cart.html' },
  { name: 'Address', target: '^/checkout/address' },
  { name: 'Shipping', target: '^/checkout/shipping' },
  { name: 'Payment', target: '^/checkout/payment' },
];
// The view's example when there is none (conformance.js EXAMPLE).
const EXAMPLE = [
  { name: 'Product', target: '^/product/', optional: false, repeatable: true },
  { name: 'Cart', target: '^/cart', optional: false, repeatable: false },
  { name: 'Checkout', target: '^/checkout', optional: false, repeatable: false },
  { name: 'Purchase', target: 'event:purchase', optional: false, repeatable: false },
];

// As the dashboards write them (core.js fmt.pct, fmt.n, targetLabel for
// these simple patterns; conformance.js fitText, deviationText).
const pct = (x, d = 1) => (x * 100).toFixed(x === 0 || x === 1 ? 0 : d) + '%';
const n = (x) => new Intl.NumberFormat('en-US').format(x);
const fit = (x) => Number(x).toFixed(2);
const label = (s) => (s ? String(s).replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase()) : '(none)');
const targetText = (t) => (/^event:/.test(t) ? t.slice(6).trim() + ' (event)' : t.replace(/^\^/, '') + '…');
const devText = (d) => (d.kind === 'skipped' ? 'Skipped ' + d.step : d.kind === 'repeated' ? d.step + ' again' : d.after ? `Back to ${d.step} after ${d.after}` : d.step + ' out of order');
const text = async (loc) => ((await loc.textContent()) || '').replace(/\s+/g, ' ').trim();
const hashParams = (url) => new URLSearchParams((url.split('#')[1] || '').split('?')[1] || '');
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

// ------------------------------------------------ a clean start, and detours
await step('the model is cleared and the API says 409', async () => {
  const put = await apiAdmin('PUT', MODEL_PATH, { steps: [] });
  check('PUT {"steps": []} clears the model', put.status === 200 && same(put.body, { steps: [] }), put);
  const get = await apiAdmin('GET', MODEL_PATH);
  check('GET conformance/model: {"steps": []}', get.status === 200 && same(get.body, { steps: [] }), get);
  const r = await apiAdmin('GET', `/api/sites/${SITE}/conformance?range=7d`);
  check('GET conformance: 409 "no expected journey for shop yet: …"', r.status === 409 && /^no expected journey for shop yet/.test((r.body || {}).error || ''), r);
});

const PHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1';
const ORIGIN = await siteOrigin(SITE);
const RUN = Date.now().toString(36);
async function visit(name, ua, paths) {
  const t0 = Date.now() - 12 * 60 * 1000;
  const events = paths.map((p, i) => ({ type: 'pageview', ts: t0 + i * 25000, url: ORIGIN + p, title: p, vw: 1280, vh: 800, dw: 1280, dh: 2400 }));
  const res = await fetch(BASE + '/api/collect', {
    method: 'POST',
    headers: { Origin: ORIGIN, 'Content-Type': 'text/plain', 'User-Agent': ua },
    body: JSON.stringify({ site: SITE, sid: 'conf_' + RUN + '_' + name, now: Date.now(), events }),
  });
  return res.status;
}
await step('sessions with detours reach the collector', async () => {
  check('the shop has an origin', !!ORIGIN);
  const statuses = [];
  // Address twice (two address pages): "Address again".
  for (let i = 0; i < 3; i++) {
    statuses.push(await visit('again' + i, i % 2 ? PHONE : DESKTOP, ['/product/10' + (i + 1) + '.html', '/cart.html', '/checkout/address.html',
      '/checkout/address-book.html', '/checkout/shipping.html']));
  }
  // From the address back to the cart, then on: "Back to Cart after Address".
  for (let i = 0; i < 2; i++) {
    statuses.push(await visit('back' + i, i ? PHONE : DESKTOP, ['/product/104.html', '/cart.html', '/checkout/address.html', '/cart.html',
      '/checkout/address.html', '/checkout/shipping.html', '/checkout/payment.html']));
  }
  check('every batch accepted (202)', statuses.every((s) => s === 202), statuses);
});

// ------------------------------------------------------------ the admin
const P = await party('admin', { width: 1440, height: 900 });
const { page, q, go, shot } = P;
// The model PUTs the page makes.
const puts = [];
page.on('request', (r) => {
  if (new URL(r.url()).pathname === MODEL_PATH && r.method() === 'PUT') puts.push(r.postData());
});

const signIn = () => P.signIn();
// The view painted: the headline, no model yet, or the server's sentence;
// and the editor (admins) loaded.
async function painted() {
  await q('#cf-headline, #cf-none, #cf-error').first().waitFor(T);
  await q('#cf-body .loading').waitFor({ state: 'detached', ...T });
}
// Every conformance request the page makes: the test asks the API the
// very same question with the server token.
const { asked, repainted, apiForPage } = P.watch(`/api/sites/${SITE}/conformance`, painted);
async function fits(name, width, lastSel) {
  await page.setViewportSize({ width, height: 900 });
  await page.waitForTimeout(300);
  const f = await measureFit(page, lastSel);
  check(`${name} fits ${width} px`, f.scroll <= f.width && f.onScreen, f);
  return f;
}
const editorRows = () => q('#cf-ed-list .cf-ed-row').evaluateAll((rows) => rows.map((r) => ({
  name: r.querySelector('.cf-ed-name').value,
  target: r.querySelector('.cf-ed-target').value,
  optional: r.querySelector('.cf-ed-optional').checked,
  repeatable: r.querySelector('.cf-ed-repeat').checked,
})));
const row = (i) => q('#cf-ed-list .cf-ed-row').nth(i);

await step('the view is in the Conversion group, right after "Why they left"', async () => {
  await signIn();
  const nav = await q('#sidenav [data-nav]').evaluateAll((as) => as.map((a) => a.dataset.nav));
  check('"conformance" comes right after "why"', nav.includes('conformance') && nav.indexOf('conformance') === nav.indexOf('why') + 1, nav);
  const lbl = (await q('#sidenav [data-nav=conformance]').textContent()).trim();
  check('labelled "Expected journey", with an icon', lbl === 'Expected journey' && (await q('#sidenav [data-nav=conformance] svg path').count()) === 1, lbl);
  const before = asked.length;
  await expecting4xx(page, async () => {
    await q('#sidenav [data-nav=conformance]').click();
    await repainted(before);
    await q('#cf-ed-list .cf-ed-row').first().waitFor(T);
  });
  check('the range and filters are offered (toolbar)', (await q('#range-select').count()) === 1 && await q('#toolbar').isVisible());
  check('the title says the view', (await text(q('.view-head h1'))) === 'Expected journey');
});

await step('no model: the API says 409 and the view shows the editor with an example', async () => {
  const r = await apiForPage();
  check('the page asked over the range, without a model in the query', r.params.has('from') && !r.params.has('step'), r.path);
  check('the API says 409 for that request', r.status === 409 && /^no expected journey for shop yet/.test(r.body.error), r);
  check('"No expected journey for this site yet"', (await text(q('#cf-none h2'))) === 'No expected journey for this site yet');
  check('no picture, no headline', (await q('#cf-path').count()) === 0 && (await q('#cf-headline').count()) === 0 && (await q('.error-box').count()) === 0);
  check('the editor is titled for setting one', (await text(q('#cf-editor-card .card-head h2'))) === 'Set the expected journey');
  const rows = await editorRows();
  check('the editor is prefilled with the shop-like example', same(rows, EXAMPLE), rows);
  check('the example is said to be unsaved', /Not saved yet/.test(await text(q('#cf-status'))), await text(q('#cf-status')));
  check('the first row cannot move up, the last cannot move down', await row(0).locator('.cf-ed-up').isDisabled() && await row(3).locator('.cf-ed-down').isDisabled()
    && !(await row(0).locator('.cf-ed-down').isDisabled()));
  await shot('conformance-none-1440');
});

await step('the admin builds the model in the editor; a bad target shows the server\'s 400', async () => {
  await row(1).locator('.cf-ed-target').fill('^/cart.html');
  await row(2).locator('.cf-ed-name').fill('Address');
  await row(2).locator('.cf-ed-target').fill('^/checkout/address');
  await row(3).locator('.cf-ed-name').fill('Shipping');
  await row(3).locator('.cf-ed-target').fill('^/checkout/shipping');
  // A step added at the end, then moved up and down, then removed.
  await q('#cf-add').click();
  check('"+ Add step" adds an empty row, its name focused', (await q('#cf-ed-list .cf-ed-row').count()) === 5
    && await row(4).locator('.cf-ed-name').evaluate((e) => e === document.activeElement));
  await row(4).locator('.cf-ed-name').fill('Scratch');
  await row(4).locator('.cf-ed-target').fill('^/scratch');
  await row(4).locator('.cf-ed-optional').check();
  await row(4).locator('.cf-ed-up').click();
  let rows = await editorRows();
  check('"↑" moves a step up', rows[3].name === 'Scratch' && rows[4].name === 'Shipping' && rows[3].optional, rows.map((x) => x.name));
  await row(3).locator('.cf-ed-down').click();
  rows = await editorRows();
  check('"↓" moves it back down', rows[4].name === 'Scratch' && rows[3].name === 'Shipping', rows.map((x) => x.name));
  await row(4).locator('.cf-ed-remove').click();
  check('"✕" removes it', (await q('#cf-ed-list .cf-ed-row').count()) === 4);
  await q('#cf-add').click();
  await row(4).locator('.cf-ed-name').fill('Payment');
  // A bad pattern first: the server's own sentence, nothing saved.
  await row(4).locator('.cf-ed-target').fill('^/(');
  await expecting4xx(page, async () => {
    await q('#cf-save').click();
    await q('#cf-status.err').waitFor(T);
  });
  const shown = await text(q('#cf-status'));
  const replay = await apiAdmin('PUT', MODEL_PATH, JSON.parse(puts[puts.length - 1]));
  check('the API: 400 for that very body, about the regex', replay.status === 400 && /^step "Payment": "\^\/\(" is not a valid regex/.test(replay.body.error), replay);
  check('the view shows the server\'s sentence', shown === replay.body.error, { shown, api: replay.body });
  const still = await apiAdmin('GET', MODEL_PATH);
  check('nothing was saved', same(still.body, { steps: [] }), still.body);
  check('still on the editor (no re-render)', (await q('#cf-none').count()) === 1 && (await q('#cf-ed-list .cf-ed-row').count()) === 5);
  await shot('conformance-bad-model');
  // The good one.
  await row(4).locator('.cf-ed-target').fill('^/checkout/payment');
  rows = await editorRows();
  check('the editor holds the model', same(rows.map((x) => ({ ...x })), WANT.map((x) => ({ name: x.name, target: x.target, optional: false, repeatable: !!x.repeatable }))), rows);
  const before = asked.length;
  await q('#cf-save').click();
  await repainted(before);
  await q('#cf-status.ok').waitFor(T);
  check('"Saved" is said after the view is drawn again', /^Saved/.test(await text(q('#cf-status'))), await text(q('#cf-status')));
  const saved = await apiAdmin('GET', MODEL_PATH);
  check('GET conformance/model returns exactly the model built', saved.status === 200 && same(saved.body, { steps: WANT }), saved.body);
  check('the PUT carried only the set flags', same(JSON.parse(puts[puts.length - 1]), { steps: WANT }), puts[puts.length - 1]);
  check('the editor now titles the saved journey, with its rows', (await text(q('#cf-editor-card .card-head h2'))) === 'The expected journey'
    && (await editorRows()).map((x) => x.name).join() === WANT.map((x) => x.name).join());
});

let api0 = null;
await step('the picture and the headline are the API\'s for the page\'s request', async () => {
  const r = await apiForPage();
  api0 = r.body;
  check('the page asked over the range (saved model, no breakdown)', r.status === 200 && r.params.has('from') && !r.params.get('breakdown') && api0.source === 'saved', r.path);
  check('the API has the saved steps', same(api0.steps.map((s) => s.name), WANT.map((s) => s.name)), api0.steps);
  const boxes = await q('#cf-path .cf-step').evaluateAll((lis) => lis.map((li) => ({
    step: li.dataset.step,
    name: li.querySelector('.cf-name').textContent,
    target: li.querySelector('.cf-target').textContent,
    raw: li.querySelector('.cf-target').title,
    reached: li.querySelector('.cf-reached-n').textContent,
    share: li.querySelector('.cf-reached-pct').textContent,
    skipped: li.querySelector('.cf-skip') ? li.querySelector('.cf-skip strong').textContent : '0',
    repeated: li.querySelector('.cf-dev.repeated') ? li.querySelector('.cf-dev.repeated strong').textContent : '0',
    back: li.querySelector('.cf-dev.back') ? li.querySelector('.cf-dev.back strong').textContent : '0',
    repeatable: !!li.querySelector('.cf-tag.rep'),
  })));
  const want = api0.steps.map((s) => ({
    step: s.name, name: s.name, target: targetText(s.target), raw: s.target, reached: n(s.reached), share: pct(api0.touched ? s.reached / api0.touched : 0) + ' reached',
    skipped: n(s.skipped), repeated: n(s.repeated), back: n(s.out_of_order), repeatable: !!s.repeatable,
  }));
  check('one box per step: name, target, reached, share of touched, skipped, again, back to it', same(boxes, want), { boxes, want });
  check('the demo skips product pages; the planted sessions repeat and go back', api0.steps[0].skipped > 0 && api0.steps.some((s) => s.repeated > 0)
    && api0.steps.some((s) => s.out_of_order > 0), api0.steps);
  check('the boxes go left to right', await q('#cf-path .cf-step').evaluateAll((lis) => lis.every((li, i) => !i || li.getBoundingClientRect().left > lis[i - 1].getBoundingClientRect().right)));
  check('an arrow between steps (none before the first)', (await q('#cf-path .cf-arrow').count()) === api0.steps.length - 1
    && (await q('#cf-path .cf-step').first().locator('.cf-arrow').count()) === 0);
  // The headline.
  const head = await text(q('#cf-headline'));
  const wantHead = `${n(api0.conforming)} of ${n(api0.touched)} sessions that touched the journey followed it to the end (${pct(api0.conforming_rate, 0)})`;
  check('the headline: conforming of touched, and the rate', head === wantHead && (await q('#cf-headline').getAttribute('data-conforming')) === String(api0.conforming)
    && (await q('#cf-headline').getAttribute('data-touched')) === String(api0.touched), { head, wantHead });
  check('mean fitness', (await text(q('#cf-fitness .cf-fig-value'))) === fit(api0.mean_fitness) && Number(await q('#cf-fitness').getAttribute('data-value')) === api0.mean_fitness,
    [await text(q('#cf-fitness .cf-fig-value')), api0.mean_fitness]);
  check('completed', (await text(q('#cf-completed .cf-fig-value'))) === n(api0.completed)
    && (await text(q('#cf-completed .cf-fig-sub'))) === 'reached the last step · ' + pct(api0.completed / api0.touched, 0));
  check('touched of the sessions in the range', (await text(q('#cf-sessions .cf-fig-value'))) === n(api0.touched)
    && (await text(q('#cf-sessions .cf-fig-sub'))) === `of ${n(api0.sessions)} sessions in the range`);
  const legend = (await q('.cf-legend .cf-lkey').allTextContents()).join(' ');
  check('the split: followed it, reached the end with a deviation, stopped before', legend === `${n(api0.conforming)} followed it ${n(api0.completed - api0.conforming)} reached the end with a deviation ${n(api0.touched - api0.completed)} stopped before the end`, legend);
  const bins = await q('#cf-hist .cf-hist-col').evaluateAll((cs) => cs.map((c) => Number(c.dataset.n)));
  check('the fitness histogram: 11 bars of the API\'s bins', bins.length === 11 && same(bins, api0.fitness), { bins, api: api0.fitness });
  const heights = await q('#cf-hist .cf-hist-bar').evaluateAll((bs) => bs.map((b) => b.getBoundingClientRect().height));
  const top = api0.fitness.indexOf(Math.max(...api0.fitness));
  check('the tallest bar is the API\'s biggest bin, empty bins are flat', heights[top] === Math.max(...heights) && api0.fitness.every((v, k) => v > 0 || heights[k] === 0), heights);
  await shot('conformance-1440');
});

await step('the deviations table is the API\'s rows, in its order', async () => {
  const rows = await q('#cf-deviations tbody tr').evaluateAll((trs) => trs.map((tr) => ({
    kind: tr.dataset.kind,
    text: tr.querySelector('.cf-dev-text').textContent,
    sessions: tr.querySelector('.cf-dev-n').textContent,
    share: tr.querySelector('.cf-share-pct').textContent,
    ids: [...tr.querySelectorAll('.cf-watch a')].map((a) => a.dataset.id),
  })));
  const want = api0.deviations.map((d) => ({ kind: d.kind, text: devText(d), sessions: n(d.sessions), share: pct(d.share), ids: d.examples.map(String) }));
  check('one row per deviation: its words, sessions and share, and every example linked', same(rows, want), { rows, want });
  const texts = rows.map((x) => x.text);
  check('"Skipped Product", "Address again" and "Back to Cart after Address" are there', texts.includes('Skipped Product') && texts.includes('Address again')
    && texts.includes('Back to Cart after Address'), texts);
  check('most sessions first', api0.deviations.every((d, i) => !i || api0.deviations[i - 1].sessions >= d.sessions));
  check('the deviations card has a CSV button', (await q('#cf-deviations .card-head .csv-btn').count()) === 1);
  // "▶ Watch 2 3", then "+N more".
  const first = q('#cf-deviations tbody tr').first();
  const visible = await first.locator('.cf-watch a').evaluateAll((as) => as.filter((a) => a.offsetParent !== null).map((a) => a.textContent));
  const ex = api0.deviations[0].examples;
  check('the first three examples shown ("▶ Watch", "2", "3")', same(visible, ['▶ Watch', '2', '3'].slice(0, Math.min(3, ex.length))), visible);
  if (ex.length > 3) {
    await first.locator('.cf-more').click();
    const all = await first.locator('.cf-watch a').evaluateAll((as) => as.filter((a) => a.offsetParent !== null).length);
    check('"+N more" shows every example', all === ex.length, all);
  }
});

await step('"Watch" opens the first example\'s session', async () => {
  const d = api0.deviations.find((x) => x.kind === 'out_of_order') || api0.deviations[0];
  const tr = q(`#cf-deviations tbody tr[data-kind="${d.kind}"][data-step="${d.step}"]`).first();
  const a = tr.locator('.cf-watch a').first();
  const href = await a.getAttribute('href');
  const hp = new URLSearchParams(href.split('?')[1]);
  check('the link is the session route of the first example, keeping site and range', href.startsWith('#/session?') && hp.get('id') === String(d.examples[0])
    && hp.get('site') === SITE && hp.get('range') === hashParams(page.url()).get('range'), href);
  await a.click();
  await page.waitForFunction(() => location.hash.startsWith('#/session?'), null, T);
  await q('.sess-head h1').waitFor(T);
  check('the session view shows that session', (await text(q('.sess-head h1'))) === `Session #${d.examples[0]}`, await text(q('.sess-head h1')));
  const before = asked.length;
  await page.goBack();
  await repainted(before);
});

await step('breakdown=device shows the API\'s groups', async () => {
  check('no breakdown at first: "By segment" asks for one', (await q('#cf-breakdown').inputValue()) === '' && (await text(q('#cf-by .card-head h2'))) === 'By segment'
    && (await q('#cf-by table').count()) === 0);
  const opts = await q('#cf-breakdown option').evaluateAll((os) => os.map((o) => o.value));
  check('the breakdown select: none, channel, device, country, referrer, campaign, entry page', same(opts, ['', 'channel', 'device', 'country', 'referrer', 'utm_campaign', 'entry_page']), opts);
  const before = asked.length;
  await q('#cf-breakdown').selectOption('device');
  await repainted(before);
  await q('#cf-by table').waitFor(T);
  const r = await apiForPage();
  check('the URL hash and the request have breakdown=device', hashParams(page.url()).get('breakdown') === 'device' && r.params.get('breakdown') === 'device'
    && r.body.breakdown === 'device' && Array.isArray(r.body.groups) && r.body.groups.length > 0, r.path);
  check('the card is "By device", the select shows it', (await text(q('#cf-by .card-head h2'))) === 'By device' && (await q('#cf-breakdown').inputValue()) === 'device');
  const rows = await q('#cf-by tbody tr').evaluateAll((trs) => trs.map((tr) => ({
    value: tr.dataset.value,
    shown: tr.querySelector('.cf-seg-value').textContent,
    touched: tr.querySelector('.cf-seg-touched').textContent,
    rate: tr.querySelector('.cf-seg-rate').textContent,
    conforming: tr.querySelector('.cf-seg-conf').textContent,
    fitness: tr.querySelector('.cf-seg-fit').textContent,
  })));
  const want = r.body.groups.map((g) => ({ value: g.value, shown: g.value, touched: n(g.touched), rate: pct(g.conforming_rate), conforming: n(g.conforming), fitness: fit(g.mean_fitness) }));
  check('one row per group: value, touched, conforming rate, mean fitness', same(rows, want), { rows, want });
  const head = await text(q('#cf-headline'));
  check('the headline follows the same request', head.startsWith(`${n(r.body.conforming)} of ${n(r.body.touched)} sessions`), head);
  await shot('conformance-device-1440');
});

await step('the view fits 1440, 820 and 390 px', async () => {
  await fits('the view', 1440, '#signout-btn');
  await fits('the view', 820, '#signout-btn');
  const inRow = await q('#cf-path .cf-step').evaluateAll((lis) => lis.every((li, i) => !i || Math.abs(li.getBoundingClientRect().top - lis[0].getBoundingClientRect().top) < 2));
  check('at 820 px the five steps still stand in one row', inRow);
  await shot('conformance-820');
  await fits('the view', 390, '#signout-btn');
  const stacked = await q('#cf-path .cf-step').evaluateAll((lis) => lis.every((li, i) => !i || li.getBoundingClientRect().top >= lis[i - 1].getBoundingClientRect().bottom));
  check('at 390 px the steps stack, one under the other', stacked);
  const out = await page.evaluate(() => [...document.querySelectorAll('#cf-path .cf-box, #cf-path .cf-skip-label, #cf-path .cf-dev, #cf-headline, #cf-hist, #cf-deviations .cf-dev-text, #cf-by select, #cf-editor-card input, #cf-editor-card button')]
    .filter((e) => e.getBoundingClientRect().right > innerWidth + 1).map((e) => e.className || e.id));
  check('at 390 px no box, label, control or input sticks out', out.length === 0, out);
  await shot('conformance-390');
  await page.setViewportSize({ width: 1440, height: 900 });
});

// ------------------------------------------------------------ a viewer
const VERA = { name: 'cfvera' + RUN, role: 'viewer', password: 'vera-password-' + RUN, sites: [SITE] };
await step('a viewer sees the model read-only; the server refuses her PUT', async () => {
  const made = await apiAdmin('POST', '/api/users', VERA);
  check('a viewer of the shop is made (201)', made.status === 201, made);
  const V = await party('viewer', { width: 1440, height: 900 });
  await V.page.goto(BASE + `/dashboard/#/conformance?site=${SITE}&range=7d`);
  await V.q('#signin-name').waitFor({ state: 'visible', ...T });
  await V.q('#signin-name').fill(VERA.name);
  await V.q('#signin-password').fill(VERA.password);
  await V.q('#signin-submit').click();
  await V.q('#cf-headline').waitFor(T);
  await V.q('#cf-ed-list .cf-ed-row').first().waitFor(T);
  const rows = await V.q('#cf-ed-list .cf-ed-row').count();
  const enabled = await V.q('#cf-editor-card input, #cf-editor-card button').evaluateAll((xs) => xs.filter((x) => !x.disabled).length);
  check('she sees the saved steps, every control disabled', rows === WANT.length && enabled === 0, { rows, enabled });
  check('a note says why', /Viewers cannot change settings/.test(await text(V.q('#cf-editor-card .readonly-note'))));
  const put = await expecting4xx(V.page, () => V.pageFetch(MODEL_PATH, { method: 'PUT', body: { steps: [] }, csrf: true }));
  check('her PUT: 403 "viewers cannot change settings: ask an admin"', put.status === 403 && put.body.error === 'viewers cannot change settings: ask an admin', put);
  const still = await apiAdmin('GET', MODEL_PATH);
  check('the model is unchanged', same(still.body, { steps: WANT }), still.body);
  await V.context.close();
  const gone = await apiAdmin('DELETE', '/api/users/' + encodeURIComponent(VERA.name));
  check('the viewer is removed again', gone.status === 200 || gone.status === 204, gone);
});

await finish();
