// The "What changed" view and the overview's automatic notes in real
// headless Chromium, against the demo's collector. The script uploads two
// layouts of the shipping page as the replay recorder does (the second
// shows a shipping cost, and a line of text that looks like markup), and
// posts sessions before and after as the tracker sends them: a fifth
// leave at shipping before, four in five after. Then: the view lists the
// change with the lines added and removed as text (no element made of
// them), the API's before and after rates and the shift marked
// significant, for the very request the page made, its verdict (still
// confirming), and heatmap links over each window; six visitors' own carts
// are one change, judged to vary per visitor, left out and counted, and
// listed marked so on "Show them"; "Compare where they click" shows the API's share of the
// clicking sessions per element before and after (who went on clicked
// Continue; after the change, who left clicked the cost's help); "Any" puts
// min_change=0 in the URL and the request; the overview draws the change
// on its time series and lists it among the notes, linked to the view and
// without a remove button; the view fits 390 px. Fails on any console
// error, page error or CSP violation. Prints a JSON summary on stdout;
// exits non-zero on failure.
//
//   node tests/browser/changes.mjs COLLECTOR_URL ADMIN_TOKEN SCREENSHOT_DIR

import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { harness, measureFit, DESKTOP_UA as DESKTOP } from './harness.mjs';

const [base0, TOKEN, SHOTS] = process.argv.slice(2);
if (!base0 || !TOKEN || !SHOTS) {
  console.error('usage: node tests/browser/changes.mjs COLLECTOR_URL ADMIN_TOKEN SCREENSHOT_DIR');
  process.exit(2);
}
const BASE = base0.replace(/\/+$/, '');
const SITE = 'shop';
const { T, check, step, apiAdmin, party, finish, siteOrigin } = await harness({ base: BASE, token: TOKEN, shots: SHOTS });
const ORIGIN = await siteOrigin(SITE);
const PAGE = '/checkout/shipping.html';
const HOSTILE = '<img src=x onerror="window.__pwned=1"> Free returns';
const text = async (loc) => ((await loc.textContent()) || '').replace(/\s+/g, ' ').trim();

const shipping = (cost, extra) => `<!DOCTYPE html><html><head><title>Shipping</title></head><body><h1>Shipping</h1>
<p>Standard delivery: ${cost}</p><p>Arrives in 3-5 days</p>${extra}<button>Continue</button></body></html>`;
const escaped = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

// The recorder on a page view: "do you have it?" (a sighting), and the
// layout when the collector wants it.
async function upload(html, path = PAGE) {
  const hash = createHash('sha256').update(html).digest('hex');
  const q = new URLSearchParams({ site: SITE, url: ORIGIN + path, vw: '1280', vh: '800', dw: '1280', dh: '2000' });
  const url = `${BASE}/api/replay/snapshots/${hash}?${q}`;
  const probe = await fetch(url, { method: 'POST', headers: { Origin: ORIGIN } });
  if (probe.status === 204) return 204;
  const r = await fetch(url, { method: 'POST', headers: { Origin: ORIGIN }, body: gzipSync(html) });
  return r.status;
}
// Each visitor's own cart: a page that varies, no change of the page.
const cart = (i) => `<!DOCTYPE html><html><body><h1>Your cart</h1><ul><li>Item ${i}</li><li>$${20 + i}.00</li></ul><button>Check out</button></body></html>`;
async function visits(tag, t0, n, leaves) {
  const statuses = [];
  for (let i = 0; i < n; i++) {
    const t = t0 + i * 10;
    const pages = ['/', '/cart.html', PAGE, ...(leaves(i) ? [] : ['/thank-you.html'])];
    const events = pages.map((p, k) => ({ type: 'pageview', ts: t + k * 300, url: ORIGIN + p, title: p, vw: 1280, vh: 800, dw: 1280, dh: 2000 }));
    // Who goes on clicks Continue; after the change, who leaves asks
    // about the cost first.
    const sel = leaves(i) ? (tag === 'after' ? '#cost-help' : null) : '#continue';
    if (sel) events.splice(3, 0, { type: 'click', ts: t + 700, url: ORIGIN + PAGE, x: 300, y: 400, sel, ox: 4, oy: 4, text: 'Go' });
    const res = await fetch(BASE + '/api/collect', {
      method: 'POST',
      headers: { Origin: ORIGIN, 'Content-Type': 'text/plain', 'User-Agent': DESKTOP },
      body: JSON.stringify({ site: SITE, sid: `chg_${tag}_${i}`, now: Date.now(), events }),
    });
    statuses.push(res.status);
  }
  return statuses;
}

await step('two layouts of the shipping page and sessions around them reach the collector', async () => {
  check('the shop has an origin', !!ORIGIN);
  const goals = await apiAdmin('GET', `/api/sites/${SITE}/stages/settings`);
  check('the demo has goals', (goals.body.goals || []).length > 0, goals.body);
  const first = await upload(shipping('free', ''));
  const before = await visits('before', Date.now() - 3 * 3600 * 1000, 20, (i) => i % 5 === 0);
  const second = await upload(shipping('$19.95', `<p>${escaped(HOSTILE)}</p>`));
  const at = Date.now();
  await new Promise((res) => setTimeout(res, 1500));
  const after = await visits('after', at + 50, 20, (i) => i % 5 !== 0);
  check('both layouts stored', first === 201 && second === 201, [first, second]);
  const carts = [];
  for (let round = 0; round < 30; round++) carts.push(await upload(cart(round % 6), '/cart.html'));
  check('six carts stored, then seen again', carts.filter((s) => s === 201).length === 6 && carts.slice(6).every((s) => s === 204), carts);
  check('every batch accepted', [...before, ...after].every((s) => s === 202), [...before, ...after]);
});

const P = await party('admin', { width: 1440, height: 900 });
const { page, q, go, shot } = P;
async function painted() {
  await q('#changes-body .ch-card, #changes-body .empty').first().waitFor(T);
}
const { asked, repainted, apiForPage } = P.watch(`/api/sites/${SITE}/changes`, painted);

await step('the view lists the change as the API has it', async () => {
  await P.signIn();
  await go(`#/changes?site=${SITE}&range=7d`);
  await painted();
  const api = await apiForPage();
  check('the API answered the page\'s question', api.status === 200 && api.body.changes.length >= 1, api);
  const c = api.body.changes.find((x) => x.page === PAGE);
  check('the shipping page\'s change is there', !!c, api.body);
  if (!c) return;
  const cardEl = q(`.ch-card[data-page="${PAGE}"]`);
  await cardEl.waitFor(T);
  const added = await cardEl.locator('.ch-diff li.added').evaluateAll((lis) => lis.map((li) => li.lastChild.textContent));
  const removed = await cardEl.locator('.ch-diff li.removed').evaluateAll((lis) => lis.map((li) => li.lastChild.textContent));
  check('the lines added and removed are the API\'s, as text', JSON.stringify(added) === JSON.stringify(c.added)
    && JSON.stringify(removed) === JSON.stringify(c.removed) && added.includes(HOSTILE), { added, removed, api: [c.added, c.removed] });
  const made = await page.evaluate(() => ({ imgs: document.querySelectorAll('.ch-diff img').length, pwned: !!window.__pwned }));
  check('a line that looks like markup made no element and ran nothing', made.imgs === 0 && !made.pwned, made);
  const pct = (x) => (x * 100).toFixed(x === 0 || x === 1 ? 0 : 1) + '%';
  const rows = await cardEl.locator('.ch-table tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.children].map((td) => (td.querySelector('strong') || td).textContent.trim())));
  check('exit rate before and after are the API\'s', rows[0] && rows[0][1] === pct(c.before.exit_rate.value) && rows[0][2] === pct(c.after.exit_rate.value),
    { row: rows[0], api: [c.before.exit_rate.value, c.after.exit_rate.value] });
  check('the counts are what was sent (20 views each side, 4 then 16 exits)', c.before.views === 20 && c.after.views === 20
    && c.before.exits === 4 && c.after.exits === 16, c);
  const status = cardEl.locator('.ch-status');
  const seen = c.evidence.new + c.evidence.old + c.evidence.other;
  check('the verdict is the API\'s: confirming, with the views seen since', c.status === 'pending' && await status.getAttribute('data-status') === 'pending'
    && (await text(status)) === `confirming · ${seen} of ${api.body.verdict_views} views`, { api: [c.status, c.evidence], shown: await text(status) });
  check('the carts that vary per visitor are left out and counted', api.body.varying === 1 && !api.body.changes.some((x) => x.page === '/cart.html')
    && (await text(q('#ch-varying'))).startsWith('1 change left out: the page varies per visitor.'), api.body.varying);
  const sig = await cardEl.locator('.ch-table tbody tr').first().locator('.ch-shift').getAttribute('data-significant');
  check('the exit rate\'s shift is marked significant, as the API says', sig === 'true' && c.exit_rate_shift.significant === true, { sig, shift: c.exit_rate_shift });
  const before = new URLSearchParams((await cardEl.locator('a.ch-heat-before').getAttribute('href')).split('?')[1]);
  const after = new URLSearchParams((await cardEl.locator('a.ch-heat-after').getAttribute('href')).split('?')[1]);
  const day = (ms) => { const d = new Date(ms); return d.getFullYear() + '-' + String(d.getMonth() + 1).padStart(2, '0') + '-' + String(d.getDate()).padStart(2, '0'); };
  check('the heatmap links cover the windows before and after', before.get('page') === PAGE && before.get('range') === 'custom'
    && before.get('from') === day(Date.parse(c.before.from)) && before.get('to') === day(c.at_ms - 1)
    && after.get('from') === day(c.at_ms) && after.get('to') === day(Date.parse(c.after.to) - 1), { before: [...before], after: [...after] });
  await shot('changes');
});

await step('"Compare where they click" shows the API\'s click shares', async () => {
  const cardEl = q(`.ch-card[data-page="${PAGE}"]`);
  const id = (await apiForPage()).body.changes.find((x) => x.page === PAGE).id;
  await cardEl.locator('.ch-clicks-btn').click();
  await cardEl.locator('.ch-clicks-table').waitFor(T);
  const api = await apiAdmin('GET', `/api/sites/${SITE}/changes?change=${id}&days=7&top=10`);
  const k = api.body.changes[0].clicks;
  check('the API counts what was sent (16 went on before; 4 on, 16 asked after)', k.before.sessions === 16 && k.after.sessions === 20
    && k.elements.some((e) => e.selector === '#continue' && e.before_sessions === 16 && e.after_sessions === 4)
    && k.elements.some((e) => e.selector === '#cost-help' && e.before_sessions === 0 && e.after_sessions === 16), k);
  const pct = (x) => (x * 100).toFixed(x === 0 || x === 1 ? 0 : 1) + '%';
  const rows = await cardEl.locator('.ch-clicks-table tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.children].map((td) => (td.querySelector('strong, code') || td).textContent.trim())));
  const want = k.elements.map((e) => [e.selector, pct(e.before.value), pct(e.after.value)]);
  check('one row per element, with the API\'s shares', JSON.stringify(rows.map((r) => r.slice(0, 3))) === JSON.stringify(want), { rows, want });
  await shot('changes-clicks');
});

await step('"Any" asks for every change', async () => {
  const before = asked.length;
  await q('.ch-controls button:has-text("Any")').click();
  await repainted(before);
  const api = await apiForPage();
  check('min_change=0 in the URL and the request', page.url().includes('min_change=0') && api.params.get('min_change') === '0', { url: page.url(), asked: api.path });
});

await step('"Show them" lists the page that varies, marked so', async () => {
  const before = asked.length;
  await q('#ch-show-varying').click();
  await repainted(before);
  const api = await apiForPage();
  const c = api.body.changes.find((x) => x.page === '/cart.html');
  check('include_varying in the request, varying=1 in the URL', api.params.get('include_varying') === 'true' && page.url().includes('varying=1'), { url: page.url(), asked: api.path });
  check('the API judged the carts: the page varies', !!c && c.status === 'varies', c);
  const badge = q('.ch-card[data-page="/cart.html"] .ch-status');
  check('its card says it varies per visitor', (await badge.getAttribute('data-status')) === 'varies' && (await text(badge)) === 'varies per visitor', await text(badge));
  const back = asked.length;
  await q('#ch-hide-varying').click();
  await repainted(back);
  check('"Hide them" leaves it out again', (await q('.ch-card[data-page="/cart.html"]').count()) === 0);
});

await step('the overview draws the change and lists it among the notes', async () => {
  await go(`#/overview?site=${SITE}&range=7d`);
  await q('#overview-notes li.note.auto').first().waitFor(T);
  const note = q('#overview-notes li.note.auto').first();
  check('the note says which page changed', (await text(note)).includes('Page changed: ' + PAGE), await text(note));
  check('it links to What changed and cannot be removed', (await note.locator('a[href*="changes"]').count()) === 1
    && (await note.locator('.note-remove').count()) === 0, await note.innerHTML());
  await q('.series .annotation.auto').first().waitFor({ state: 'attached', ...T });
  check('the time series marks it', (await q('.series .annotation.auto').count()) >= 1);
});

await step('the view fits a phone', async () => {
  await go(`#/changes?site=${SITE}&range=7d`);
  await painted();
  await page.setViewportSize({ width: 390, height: 900 });
  await page.waitForTimeout(300);
  const f = await measureFit(page, '.ch-card');
  check('What changed fits 390 px', f.scroll <= f.width && f.onScreen, f);
  await shot('changes-390');
});

await finish();
