// The Sites view, the install check and the Now (realtime) view in real
// headless Chromium: the admin (server token) adds the site `blog` through
// the Sites form (the site picker offers it at once, no reload), a bad
// origin shows the server's words, the same form adds origins to a site;
// blog's tag snippet is built from the page's origin and its install check
// is pending until one tracker batch arrives from Node (then ok after
// "Check again"); the Now view of blog shows the visitor and the page in
// its feed (linked to the session), picks up a second page view by itself
// within 15 s, marks a goal page as a conversion, says so when nobody is
// on a site, stops asking once left, and fits 390 px. A viewer of shop sees Now but no
// Sites view; a share link sees Now unless limited to another view. Fails
// on any console error, page error or CSP violation. Prints a JSON
// summary on stdout; exits non-zero on failure.
//
//   node tests/browser/sites_realtime.mjs COLLECTOR_URL ADMIN_TOKEN SCREENSHOT_DIR

import { harness, measureFit } from './harness.mjs';

const [base0, TOKEN, SHOTS] = process.argv.slice(2);
if (!base0 || !TOKEN || !SHOTS) {
  console.error('usage: node tests/browser/sites_realtime.mjs COLLECTOR_URL ADMIN_TOKEN SCREENSHOT_DIR');
  process.exit(2);
}
const BASE = base0.replace(/\/+$/, '');
const SHOP = 'shop';
const BLOG = 'blog';
const BLOG_ORIGIN = 'http://blog.test';
const RITA = { name: 'rita', role: 'viewer', password: 'rita-password-1', sites: [SHOP] };
// A desktop Chrome: the collector files other agents (or none) as bots.
const UA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const { T, check, step, expecting4xx, apiAdmin, party: freshParty, finish } = await harness({ base: BASE, token: TOKEN, shots: SHOTS });

// One batch exactly as the tracker sends it from a page of blog.test.
async function pageview(sid, path, title) {
  const body = {
    site: BLOG, sid,
    events: [{ type: 'pageview', ts: Date.now(), url: BLOG_ORIGIN + path, title, vw: 1280, vh: 800, dw: 1280, dh: 2000 }],
  };
  const res = await fetch(BASE + '/api/collect', {
    method: 'POST',
    headers: { Origin: BLOG_ORIGIN, 'Content-Type': 'text/plain', 'User-Agent': UA },
    body: JSON.stringify(body),
  });
  return { status: res.status, text: await res.text() };
}

// A fresh context whose `realtime` counts the page's requests to the
// realtime endpoint (the Now view's refreshes).
async function party(label, viewport) {
  const p = { ...(await freshParty(label, viewport)), realtime: [] };
  p.page.on('request', (r) => { if (/\/api\/sites\/[^/]+\/realtime\b/.test(r.url())) p.realtime.push({ at: Date.now(), url: r.url() }); });
  return p;
}

const signInToken = (p) => p.signIn();

// At 390 px the page does not move sideways (a wide table may scroll in
// its own box) and "Sign out" / the badge is on the screen.
async function fitsPhone(p, label, lastSel, ready) {
  await p.page.setViewportSize({ width: 390, height: 844 });
  await p.page.waitForTimeout(400);
  if (ready) await p.q(ready).first().waitFor(T);
  const f = await measureFit(p.page, lastSel);
  const m = { scroll: f.scroll, width: f.width, last: f.onScreen, wide: f.wide };
  check(`${label} fits 390 px`, m.scroll <= m.width && m.last, m);
  return m;
}
const desktop = (p) => p.page.setViewportSize({ width: 1360, height: 900 });

const navIds = (p) => p.q('#sidenav [data-nav]').evaluateAll((as) => as.map((a) => a.dataset.nav));
const siteOptions = (p) => p.q('#site-select option').evaluateAll((os) => os.map((o) => o.value));
const hashParam = (p, k) => new URLSearchParams(p.page.url().split('#')[1].split('?')[1] || '').get(k);
const feedPages = (p) => p.q('#rt-feed .rt-page').allTextContents();

// ------------------------------------------------------------ 1. admin
const A = await party('admin');
await step('the admin signs in and finds Sites and Now in the nav', async () => {
  await signInToken(A);
  const nav = await navIds(A);
  check('Now comes right after Overview', nav.indexOf('realtime') === nav.indexOf('overview') + 1 && nav.includes('overview'), nav);
  check('Sites sits beside Team (admin group)', nav.includes('sites') && nav.indexOf('sites') === nav.indexOf('team') + 1, nav);
  const group = await A.page.evaluate(() => {
    const el = document.querySelector('#sidenav [data-nav=sites]');
    let g = el.previousElementSibling;
    while (g && !g.classList.contains('nav-group')) g = g.previousElementSibling;
    return g && g.textContent;
  });
  check('Sites is under the Admin heading', /admin/i.test(group || ''), group);
});

// ------------------------------------------------------ 2. Sites view
let origin = '';
await step('the Sites view lists the sites and the install check of shop', async () => {
  await A.q('#sidenav [data-nav=sites]').click();
  await A.q('#site-form').waitFor(T);
  await A.q('.sites-table').waitFor(T);
  origin = await A.page.evaluate(() => location.origin);
  check('the Sites view has no range or filters', await A.q('#toolbar').isHidden());
  const api = await apiAdmin('GET', '/api/sites');
  const rows = await A.q('.sites-table tbody tr').allTextContents();
  check('one row per site of GET /api/sites', rows.length === (api.body.sites || []).length, { rows, api: api.body });
  const shop = (api.body.sites || []).find((x) => x.name === SHOP) || { origins: [] };
  check('the shop row shows its origins', shop.origins.length > 0 && rows.some((r) => r.includes(SHOP) && shop.origins.every((o) => r.includes(o))), { rows, shop });
  check('the install card is of the current site (shop)', hashParam(A, 'site') === SHOP
    && (await A.q('#tag-snippet').textContent()).includes('data-site="shop"'));
  await A.q('#install-status.ok, #install-status.pending, #install-status.err').first().waitFor(T);
  const st = await A.q('#install-status').getAttribute('class');
  const text = await A.q('#install-status').textContent();
  check('the demo shop\'s install check is ok', /\bok\b/.test(st) && /^First event received from http:\/\/(127\.0\.0\.1|localhost):\d+ at .+\. Sessions from .+ to .+; [\d,.]+ sessions? \([\d,.]+ from the tracker\)/.test(text), { st, text });
});

await step('a bad origin shows the server\'s error as text', async () => {
  await A.q('#site-name').fill('oops');
  await A.q('#site-origins').fill('ftp://x');
  await expecting4xx(A.page, async () => {
    await A.q('#site-add').click();
    await A.q('#site-status.err').waitFor(T);
  });
  const msg = await A.q('#site-status').textContent();
  check('the error names the origin and the reason', /ftp:\/\/x/.test(msg) && /origin|scheme/i.test(msg), msg);
  const api = await apiAdmin('GET', '/api/sites');
  check('no site oops was made', !(api.body.sites || []).some((x) => x.name === 'oops'), api.body);
});

await step('the Sites form adds blog, and the site picker offers it without a reload', async () => {
  // A mark on the window: gone if the page reloaded.
  await A.page.evaluate(() => { window.__sameDocument = 1; });
  check('blog is not offered before', !(await siteOptions(A)).includes(BLOG));
  await A.q('#site-name').fill(BLOG);
  check('the button says it adds a site', /add site/i.test(await A.q('#site-add').textContent()));
  await A.q('#site-origins').fill(BLOG_ORIGIN);
  await A.q('#site-keep').fill('');
  await A.q('#site-add').click();
  await A.q('#site-status.ok').waitFor(T);
  check('it says the site was added', /Added blog/.test(await A.q('#site-status').textContent()), await A.q('#site-status').textContent());
  const opts = await siteOptions(A);
  check('the site picker offers blog now', opts.includes(BLOG) && opts.includes(SHOP), opts);
  check('without a reload', await A.page.evaluate(() => window.__sameDocument === 1));
  check('the table lists blog with its origin', (await A.q('.sites-table tbody tr').allTextContents()).some((r) => r.includes(BLOG) && r.includes(BLOG_ORIGIN)));
  const api = await apiAdmin('GET', '/api/sites');
  const blog = (api.body.sites || []).find((x) => x.name === BLOG);
  check('GET /api/sites lists blog with http://blog.test', blog && JSON.stringify(blog.origins) === JSON.stringify([BLOG_ORIGIN]), api.body);
});

await step('the same form with an existing name adds origins', async () => {
  await A.q('#site-name').fill(BLOG);
  check('the button says it adds origins', /add origins/i.test(await A.q('#site-add').textContent()), await A.q('#site-add').textContent());
  await A.q('#site-origins').fill('https://blog.test, https://www.blog.test');
  await A.q('#site-add').click();
  await A.page.waitForFunction(() => /Added 2 origins to blog/.test((document.querySelector('#site-status.ok') || {}).textContent || ''), null, T);
  const blog = ((await apiAdmin('GET', '/api/sites')).body.sites || []).find((x) => x.name === BLOG) || {};
  check('blog has the three origins', ['http://blog.test', 'https://blog.test', 'https://www.blog.test'].every((o) => (blog.origins || []).includes(o)), blog);
  check('still one blog in the picker', (await siteOptions(A)).filter((x) => x === BLOG).length === 1);
});

// ------------------------------------------------ 3. blog: the tag, pending
await step('blog selected: its tag and a pending install check', async () => {
  await A.q('#site-select').selectOption(BLOG);
  await A.page.waitForFunction(() => location.hash.startsWith('#/sites') && location.hash.includes('site=blog'), null, T);
  await A.page.waitForFunction(() => (document.querySelector('#tag-snippet') || {}).textContent?.includes('data-site="blog"'), null, T);
  await A.q('#install-status.pending').waitFor(T);
  const text = await A.q('#install-status').textContent();
  check('the install status says no events yet', text === "No events yet: paste the tag in your shop's <head> and open a page", text);
  const tag = await A.q('#tag-snippet').textContent();
  check('#tag-snippet holds data-site="blog" and the page\'s origin + /t.js', tag.includes('data-site="blog"') && tag.includes(origin + '/t.js'), { tag, origin });
  check('the tag is exactly the one to paste', tag === `<script defer src="${origin}/t.js" data-site="blog"></script>`, tag);
  check('the tag is shown read-only in a <pre>', await A.q('#tag-snippet').evaluate((e) => e.tagName === 'PRE' && !e.isContentEditable && !e.querySelector('input, textarea')));
  await A.q('#tag-replay').check();
  const withReplay = await A.q('#tag-snippet').textContent();
  check('"with session replay" adds data-replay', withReplay === `<script defer src="${origin}/t.js" data-site="blog" data-replay></script>`, withReplay);
  await A.q('#tag-errors').check();
  const withBoth = await A.q('#tag-snippet').textContent();
  check('"with JavaScript errors" adds data-errors', withBoth === `<script defer src="${origin}/t.js" data-site="blog" data-errors data-replay></script>`, withBoth);
  await A.q('#tag-replay').uncheck();
  await A.q('#tag-errors').uncheck();
  check('and unchecked takes them away', !/data-replay|data-errors/.test(await A.q('#tag-snippet').textContent()));
  // Copy: to the clipboard where the page may write it.
  await A.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin });
  await A.q('#tag-copy').click();
  await A.page.waitForFunction(() => /Copied|Copy/.test(document.querySelector('#tag-copy').textContent), null, T);
  const clip = await A.page.evaluate(() => navigator.clipboard.readText());
  check('Copy puts the tag on the clipboard', clip === tag, clip);
  await A.shot('sites-blog-pending');
});

await step('blog\'s overview, with no sessions yet, shows the install card', async () => {
  await A.go(`#/overview?site=${BLOG}&range=7d`);
  await A.q('#overview-install #tag-snippet').waitFor(T);
  await A.q('#overview-install #install-status.pending').waitFor(T);
  check('the overview\'s tag is blog\'s', (await A.q('#overview-install #tag-snippet').textContent()).includes('data-site="blog"'));
});

// ---------------------------------------------- 4. a real batch, then ok
await step('a tracker batch arrives and "Check again" turns the status ok', async () => {
  await A.go(`#/sites?site=${BLOG}`);
  await A.q('#install-status.pending').waitFor(T);
  const r = await pageview('rt1', '/hello', 'Hello');
  check('POST /api/collect from http://blog.test: 202', r.status === 202, r);
  // One click; a few more if the answer still says pending (the store
  // may take a moment to show the session).
  let clicks = 0;
  for (; clicks < 8; clicks++) {
    await A.q('#install-check').click();
    await A.page.waitForFunction(() => !document.querySelector('#install-check').disabled, null, T);
    // Ok, and naming the origin (noted just after the 202).
    if (await A.q('#install-status.ok').count() && /received from/.test(await A.q('#install-status').textContent())) break;
    await A.page.waitForTimeout(1000);
  }
  const text = await A.q('#install-status').textContent();
  check('the status turns ok', (await A.q('#install-status.ok').count()) === 1, { text, clicks: clicks + 1 });
  check('it names the origin, the times and 1 session from the tracker', /^First event received from http:\/\/blog\.test at .+\. Sessions from .+ to .+; 1 session \(1 from the tracker\)$/.test(text), text);
  check('"checked" time shown', /checked/.test(await A.q('#install-checked').textContent()));
  await A.shot('sites-blog-ok');
});

// -------------------------------------------------------- 5. Now view
await step('the Now view of blog shows the visitor and /hello', async () => {
  await A.q('#sidenav [data-nav=realtime]').click();
  await A.q('#rt-visitors').waitFor(T);
  check('the Now view has no date range (no toolbar)', (await A.q('#toolbar').isHidden()) && (await A.q('#range-select').count()) === 0);
  check('it is blog\'s', hashParam(A, 'site') === BLOG, A.page.url());
  const n = (await A.q('#rt-visitors').textContent()).trim();
  check('#rt-visitors shows 1', n === '1', n);
  check('one active session', (await A.q('#rt-sessions').textContent()).trim() === '1');
  const pages = await feedPages(A);
  check('the feed lists /hello', pages.includes('/hello'), pages);
  const cur = await A.q('.rt-pages .barlist-row').allTextContents();
  check('the current pages list /hello with 1 session', cur.length === 1 && cur[0].includes('/hello') && /1$/.test(cur[0].trim()), cur);
  const kind = await A.q('#rt-feed .rt-event').first().locator('.rt-kind').textContent();
  check('a page view, not a conversion', kind === 'Page view', kind);
  const upd = await A.q('#rt-updated').textContent();
  check('"updated hh:mm:ss" shown', /^updated \d{1,2}:\d{2}:\d{2}/.test(upd), upd);
  const api = await apiAdmin('GET', `/api/sites/${BLOG}/realtime?minutes=5`);
  check('the API agrees: 1 visitor, /hello in the feed', api.status === 200 && api.body.visitors === 1 && (api.body.feed || []).some((x) => x.page === '/hello'), api);
  const href = await A.q('#rt-feed .rt-page').first().getAttribute('href');
  const sid = api.body && api.body.feed && api.body.feed[0] && api.body.feed[0].session;
  check('the page links to that session in the Sessions view', href && href.startsWith('#/session?') && new URLSearchParams(href.split('?')[1]).get('id') === String(sid), { href, sid });
  await A.shot('now-blog');
});

await step('the Now view refreshes by itself (a second page view within 15 s)', async () => {
  const before = A.realtime.length;
  const upd0 = await A.q('#rt-updated').textContent();
  const r = await pageview('rt1', '/bye', 'Bye');
  check('the second batch: 202', r.status === 202, r);
  // No click: the view asks again every 10 s.
  await A.page.waitForFunction(() => [...document.querySelectorAll('#rt-feed .rt-page')].some((a) => a.textContent === '/bye'), null, { timeout: 15000 });
  const pages = await feedPages(A);
  check('/bye appeared without a click', pages.includes('/bye'), pages);
  check('newest first', pages[0] === '/bye' && pages.includes('/hello'), pages);
  check('it came with a refresh request', A.realtime.length > before, { before, after: A.realtime.length });
  check('"updated" moved on', (await A.q('#rt-updated').textContent()) !== upd0, { upd0, now: await A.q('#rt-updated').textContent() });
  check('still one visitor', (await A.q('#rt-visitors').textContent()).trim() === '1');
  const cur = await A.q('.rt-pages .barlist-row').allTextContents();
  check('the visitor\'s current page is now /bye', cur.length === 1 && cur[0].includes('/bye'), cur);
});

await step('a feed page opens its session', async () => {
  const sid = await A.q('#rt-feed .rt-event').first().getAttribute('data-session');
  await A.q('#rt-feed .rt-page').first().click();
  await A.q('#session-timeline .tl-seg').first().waitFor(T);
  const head = await A.q('#view h1').first().textContent();
  check('the Sessions view shows that session', head === 'Session #' + sid, { head, sid });
  check('with its two pages', (await A.q('#session-timeline .tl-seg').count()) === 2);
  await A.page.goBack();
  await A.q('#rt-feed').waitFor(T);
  check('back to the Now view', A.page.url().includes('#/realtime'), A.page.url());
});

await step('the minutes selector', async () => {
  const opts = await A.q('.rt-controls .segmented button').evaluateAll((bs) => bs.map((b) => b.dataset.value));
  check('5, 15, 30 and 60 minutes offered', JSON.stringify(opts) === '["5","15","30","60"]', opts);
  const before = A.realtime.length;
  await A.q('.rt-controls .segmented button[data-value="15"]').click();
  await A.page.waitForFunction(() => location.hash.includes('minutes=15'), null, T);
  await A.page.waitForFunction(() => /15 min/.test((document.querySelector('[data-kpi=visitors] .kpi-label') || {}).textContent || ''), null, T);
  check('it asks for 15 minutes', A.realtime.slice(before).some((x) => /[?&]minutes=15\b/.test(x.url)), A.realtime.slice(before));
  check('the feed is still there', (await feedPages(A)).includes('/bye'));
  await A.q('.rt-controls .segmented button[data-value="5"]').click();
  await A.page.waitForFunction(() => !location.hash.includes('minutes='), null, T);
  await A.q('#rt-feed').waitFor(T);
});

await step('a goal page comes in as a conversion', async () => {
  // blog has the default stage settings: /thank-you is a goal.
  const r = await pageview('rt1', '/thank-you', 'Thanks');
  check('the third batch: 202', r.status === 202, r);
  await A.page.waitForFunction(() => [...document.querySelectorAll('#rt-feed .rt-page')].some((a) => a.textContent === '/thank-you'), null, { timeout: 15000 });
  const first = A.q('#rt-feed .rt-event').first();
  check('newest first: /thank-you', (await first.locator('.rt-page').textContent()) === '/thank-you');
  check('marked "Conversion"', (await first.locator('.rt-kind').textContent()) === 'Conversion');
  check('and highlighted', /\bgoal\b/.test(await first.getAttribute('class')), await first.getAttribute('class'));
  check('the other page views are not', (await A.q('#rt-feed .rt-event.goal').count()) === 1);
  check('one conversion counted', (await A.q('#rt-conversions').textContent()).trim() === '1');
});

await step('Now and Sites fit 390 px', async () => {
  await fitsPhone(A, 'the Now view', '#signout-btn', '#rt-feed');
  await A.shot('now-phone');
  await desktop(A);
  await A.go(`#/sites?site=${BLOG}`);
  await A.q('.sites-table').waitFor(T);
  await A.shot('sites');
  await fitsPhone(A, 'the Sites view', '#signout-btn', '.sites-table');
  await A.shot('sites-phone');
  await desktop(A);
});

await step('a site nobody is on: the empty state', async () => {
  const r = await apiAdmin('POST', '/api/sites', { name: 'quiet', origins: ['https://quiet.example'], keep_query: [] });
  check('POST /api/sites with the bearer token makes quiet (201)', r.status === 201 && r.body && r.body.name === 'quiet', r);
  // Made behind the page's back: a reload shows it.
  await A.page.reload();
  await A.q('#app').waitFor({ state: 'visible', ...T });
  await A.go('#/realtime?site=quiet');
  await A.q('#rt-visitors').waitFor(T);
  check('quiet is the site shown', hashParam(A, 'site') === 'quiet', A.page.url());
  check('no visitor', (await A.q('#rt-visitors').textContent()).trim() === '0');
  const e = (await A.q('.rt-empty').textContent()) || '';
  check('"Nobody on the site right now."', e.includes('Nobody on the site right now.'), e);
  check('no feed', (await A.q('#rt-feed').count()) === 0);
  await A.go(`#/sites?site=${BLOG}`);
  await A.q('.sites-table').waitFor(T);
});

// The Sites view is open now: the Now view's timer must be gone.
const leftNowAt = Date.now();
const realtimeWhenLeft = A.realtime.length;

// ------------------------------------------------------- 6. a viewer
await step('a viewer of shop sees Now but not Sites', async () => {
  const r = await apiAdmin('POST', '/api/users', RITA);
  check('POST /api/users makes rita (201)', r.status === 201 && r.body && r.body.role === 'viewer', r);
  const R = await party('rita');
  await R.page.goto(BASE + '/dashboard/');
  await R.q('#signin-name').waitFor({ state: 'visible', ...T });
  await R.q('#signin-name').fill(RITA.name);
  await R.q('#signin-password').fill(RITA.password);
  await R.q('#signin-submit').click();
  await R.q('#app').waitFor({ state: 'visible', ...T });
  const nav = await navIds(R);
  check('no Sites item in rita\'s nav', !nav.includes('sites'), nav);
  check('rita has the Now item', nav.includes('realtime'), nav);
  check('rita is offered only shop', JSON.stringify(await siteOptions(R)) === '["shop"]');
  await R.go(`#/sites?site=${SHOP}`);
  await R.page.waitForFunction(() => !location.hash.startsWith('#/sites'), null, T);
  check('#/sites sends rita elsewhere', !R.page.url().includes('#/sites'), R.page.url());
  await R.q('#sidenav [data-nav=realtime]').click();
  await R.q('#rt-visitors').waitFor(T);
  // The demo may or may not have someone on the shop now: either the
  // numbers and the feed, or the empty state.
  const n = (await R.q('#rt-visitors').textContent()).trim();
  check('rita\'s Now shows a visitor count', /^\d[\d,.]*$/.test(n), n);
  const quiet = (await R.q('.rt-empty').count()) === 1;
  check('rita sees shop\'s feed or the empty state', quiet ? n === '0' : (await R.q('#rt-feed, .rt-pages').count()) > 0, { n, quiet });
  await R.shot('now-viewer');
  const post = await expecting4xx(R.page, () => R.pageFetch('/api/sites', { method: 'POST', body: { name: 'rita-site', origins: ['https://rita.example'], keep_query: [] }, csrf: true }));
  check('rita\'s POST /api/sites is refused: 403', post.status === 403, post);
  await R.context.close();
});

// ---------------------------------------------------- 7. share links
await step('a share link sees Now; one limited to the overview does not', async () => {
  for (const [view, wants] of [[null, true], ['overview', false]]) {
    const mk = await apiAdmin('POST', `/api/sites/${SHOP}/shares`, { view, expires_days: null, password: null });
    check(`share link (${view || 'any view'}) made`, mk.status === 201 && mk.body && mk.body.url, mk);
    const S = await party('share-' + (view || 'any'));
    await S.page.goto(BASE + mk.body.url);
    await S.q('#app').waitFor({ state: 'visible', ...T });
    await S.q('#view .card, #view .empty').first().waitFor(T);
    const nav = await navIds(S);
    check(`the share link (${view || 'any view'}) ${wants ? 'has' : 'has no'} Now`, nav.includes('realtime') === wants && !nav.includes('sites'), nav);
    if (wants) {
      await S.go(`#/realtime?site=${SHOP}`);
      await S.q('#rt-visitors').waitFor(T);
      check('the shared Now view opens', true);
    } else {
      await S.go(`#/realtime?site=${SHOP}`);
      await S.page.waitForFunction(() => location.hash.startsWith('#/overview'), null, T);
      check('#/realtime sends the overview-only link back to the overview', S.page.url().includes('#/overview'), S.page.url());
    }
    await S.context.close();
  }
});

// ------------------------------------- 8. the Now view's timer, once left
await step('the Now view stops asking once left', async () => {
  const wait = 11000 - (Date.now() - leftNowAt);
  if (wait > 0) await A.page.waitForTimeout(wait);
  const after = A.realtime.slice(realtimeWhenLeft);
  check('no realtime request in the 11 s after leaving the view', after.length === 0, after);
});

await finish();
