// Users, roles and share links in real headless Chromium, each party in a
// browser context of its own (own cookies): a viewer made through the API
// signs in with name + password, sees its site, no Team view, disabled
// settings, and its writes are refused (403), as are cookie writes without
// the CSRF header; the admin signs in with the server token, makes a share
// link limited to the funnels view in the Team view; the link opens the
// funnels of that one site read-only; revoked in the Team view, it stops
// working at once. Fails on any console error, page error or CSP
// violation. Prints a JSON summary on stdout; exits non-zero on failure.
//
//   node tests/browser/team.mjs COLLECTOR_URL ADMIN_TOKEN SCREENSHOT_DIR

import { harness } from './harness.mjs';

const [base0, TOKEN, SHOTS] = process.argv.slice(2);
if (!base0 || !TOKEN || !SHOTS) {
  console.error('usage: node tests/browser/team.mjs COLLECTOR_URL ADMIN_TOKEN SCREENSHOT_DIR');
  process.exit(2);
}
const BASE = base0.replace(/\/+$/, '');
const ORIGIN = new URL(BASE).origin;
const SITE = 'shop';
const VERA = { name: 'vera', role: 'viewer', password: 'vera-password-1', sites: [SITE] };
const { T, check, step, expecting4xx, apiAdmin, party, finish } = await harness({ base: BASE, token: TOKEN, shots: SHOTS });

// What the page may see of the session: nothing secret in storage, the
// cookie HttpOnly.
async function noSecretsStored(p, label, secrets) {
  const stored = await p.page.evaluate(() => {
    const all = [];
    for (const st of [sessionStorage, localStorage]) for (let i = 0; i < st.length; i++) all.push(st.key(i) + '=' + st.getItem(st.key(i)));
    return { all, cookie: document.cookie };
  });
  const leaked = secrets.filter((x) => stored.all.some((v) => v.includes(x)) || stored.cookie.includes(x));
  check(`${label}: no token or password in sessionStorage / localStorage / document.cookie`, leaked.length === 0, stored);
  const jar = await p.context.cookies(BASE);
  const sess = jar.find((c) => c.name === 'trailmap_session' || c.name === 'trailmap_share');
  check(`${label}: the session cookie is HttpOnly`, sess && sess.httpOnly, jar.map((c) => ({ name: c.name, httpOnly: c.httpOnly, sameSite: c.sameSite })));
}

// Page width at 390 px: no sideways scroll, the top bar's last control on
// the screen.
async function fitsPhone(p, label, lastSel) {
  await p.page.setViewportSize({ width: 390, height: 844 });
  await p.page.waitForTimeout(400);
  const m = await p.page.evaluate((sel) => {
    const last = document.querySelector(sel).getBoundingClientRect();
    return { scroll: document.documentElement.scrollWidth, width: innerWidth, last: last.width > 0 && last.right <= innerWidth };
  }, lastSel);
  check(`${label} fits 390 px`, m.scroll <= m.width && m.last, m);
  await p.page.setViewportSize({ width: 1360, height: 900 });
}

const navIds = (p) => p.q('#sidenav [data-nav]').evaluateAll((as) => as.map((a) => a.dataset.nav));
const siteOptions = (p) => p.q('#site-select option').evaluateAll((os) => os.map((o) => o.value));

// ---------------------------------------------------------------- 1. vera
await step('create a viewer through the API', async () => {
  const r = await apiAdmin('POST', '/api/users', VERA);
  check('POST /api/users makes vera (201)', r.status === 201, r);
  check('vera is a viewer of shop', r.body && r.body.role === 'viewer' && JSON.stringify(r.body.sites) === '["shop"]', r.body);
  const list = await apiAdmin('GET', '/api/users');
  check('GET /api/users lists vera', list.status === 200 && (list.body.users || []).some((u) => u.name === 'vera' && u.role === 'viewer'), list);
});

// ------------------------------------------------------ 2. vera signs in
const V = await party('vera');
await step('vera signs in with name and password', async () => {
  await V.page.goto(BASE + '/dashboard/');
  await V.q('#signin-name').waitFor({ state: 'visible', ...T });
  check('the sign-in form has name, password and token fields',
    (await V.q('#signin-password').isVisible()) && (await V.q('#signin-token').count()) === 1);
  await expecting4xx(V.page, async () => {
    await V.q('#signin-name').fill(VERA.name);
    await V.q('#signin-password').fill('not-' + VERA.password);
    await V.q('#signin-submit').click();
    await V.q('#signin-error').waitFor({ state: 'visible', ...T });
  });
  const err = await V.q('#signin-error').textContent();
  check('a wrong password shows the server\'s error', /wrong name or password/i.test(err), err);
  check('still on sign-in after a wrong password', !(await V.q('#app').isVisible()));
  await V.q('#signin-password').fill(VERA.password);
  await V.q('#signin-submit').click();
  await V.q('#app').waitFor({ state: 'visible', ...T });
  await V.q('#view .card, #view .empty').first().waitFor(T);
  check('vera signed in', await V.q('#app').isVisible());
  check('the password field is emptied', (await V.q('#signin-password').inputValue()) === '');
  const opts = await siteOptions(V);
  check('vera sees the shop', JSON.stringify(opts) === '["shop"]', opts);
  check('the view shows the shop', new URLSearchParams(V.page.url().split('?')[1] || '').get('site') === SITE, V.page.url());
  const nav = await navIds(V);
  check('no Team view in vera\'s nav', !nav.includes('team') && nav.includes('overview'), nav);
  const who = (await V.q('#whoami').textContent()) || '';
  check('the top bar says vera, viewer', /vera/.test(who) && /viewer/.test(who), who);
  check('vera can sign out', await V.q('#signout-btn').isVisible());
  await noSecretsStored(V, 'vera', [VERA.password, TOKEN]);
  const s = await V.pageFetch('/api/session');
  check('GET /api/session: vera, viewer, shop, a CSRF value', s.status === 200 && s.body.kind === 'user' && s.body.name === 'vera'
    && s.body.role === 'viewer' && JSON.stringify(s.body.sites) === '["shop"]' && /^[0-9a-f]{16,}$/i.test(s.body.csrf || ''), s);
  // The Team view is not there for her even by URL.
  await V.go(`#/team?site=${SITE}`);
  await V.page.waitForFunction(() => !location.hash.startsWith('#/team'), null, T);
  check('#/team sends vera elsewhere', !V.page.url().includes('#/team'), V.page.url());
  await fitsPhone(V, 'vera\'s top bar', '#signout-btn');
});

// ------------------------------------------------------ 3. vera's writes
await step('vera cannot write', async () => {
  await V.go(`#/journeys?site=${SITE}&range=7d`);
  await V.q('#rules-save').waitFor(T);
  check('the rules save button is disabled for a viewer', await V.q('#rules-save').isDisabled());
  const note = (await V.q('.readonly-note').first().textContent()) || '';
  check('a note says viewers cannot change settings', /Viewers cannot change settings/.test(note) && await V.q('.readonly-note').first().isVisible(), note);
  await V.go(`#/stages?site=${SITE}&range=all`);
  await V.q('#stages-save').waitFor(T);
  check('the stage settings save button is disabled for a viewer', await V.q('#stages-save').isDisabled());
  check('the stages view has the note too', (await V.q('#view .readonly-note').count()) === 1);
  const rules = (await V.pageFetch(`/api/sites/${SITE}/rules`)).body;
  const put = await expecting4xx(V.page, () => V.pageFetch(`/api/sites/${SITE}/rules`, { method: 'PUT', body: { rules: [] }, csrf: true }));
  check('vera\'s PUT rules (with the CSRF header) is refused: 403', put.status === 403, put);
  check('the refusal says why', put.body && /viewer/i.test(put.body.error || ''), put.body);
  const put2 = await expecting4xx(V.page, () => V.pageFetch(`/api/sites/${SITE}/stages/settings`, { method: 'PUT', body: { stages: [], goals: [] }, csrf: true }));
  check('vera\'s PUT stage settings is refused: 403', put2.status === 403, put2);
  const mk = await expecting4xx(V.page, () => V.pageFetch(`/api/sites/${SITE}/shares`, { method: 'POST', body: { view: null, expires_days: null, password: null }, csrf: true }));
  check('vera cannot make a share link: 403', mk.status === 403, mk);
  const after = (await apiAdmin('GET', `/api/sites/${SITE}/rules`)).body;
  check('the rules are unchanged', JSON.stringify(after && after.rules) === JSON.stringify(rules && rules.rules), { before: rules, after });
  await V.shot('viewer-stages');
});

// ------------------------------------------------ 4. cookie without CSRF
await step('a cookie write without the CSRF header is refused', async () => {
  const put = await expecting4xx(V.page, () => V.pageFetch(`/api/sites/${SITE}/rules`, { method: 'PUT', body: { rules: [] } }));
  check('PUT with the cookie, without X-Trailmap-CSRF: 403', put.status === 403, put);
  const out = await expecting4xx(V.page, () => V.pageFetch('/api/session', { method: 'DELETE' }));
  check('sign-out without X-Trailmap-CSRF: 403', out.status === 403, out);
  check('vera still signed in after it', (await V.pageFetch('/api/session')).status === 200);
});

// ---------------------------------------------- 5. the admin, share link
const A = await party('admin');
let shareUrl = '';
let shareId = '';
await step('the admin signs in with the token and makes a share link', async () => {
  await A.page.goto(BASE + '/dashboard/');
  await A.q('#signin-token').waitFor({ state: 'visible', ...T });
  await A.q('#signin-token').fill(TOKEN);
  await A.q('#signin-submit').click();
  await A.q('#app').waitFor({ state: 'visible', ...T });
  const who = (await A.q('#whoami').textContent()) || '';
  check('the top bar says API token, admin', /API token/.test(who) && /admin/.test(who), who);
  await noSecretsStored(A, 'admin', [TOKEN]);
  const nav = await navIds(A);
  check('the admin has the Team view', nav.includes('team'), nav);
  await A.q('#sidenav [data-nav=team]').click();
  await A.q('#share-form').waitFor(T);
  check('the Team view has no range or filters', await A.q('#toolbar').isHidden());
  await A.q('.users-table').waitFor(T);
  const users = await A.q('.users-table tbody tr').allTextContents();
  check('the users table lists vera as a viewer of shop', users.some((r) => r.includes('vera') && r.includes('viewer') && r.includes('shop')), users);
  check('a remove button per user', (await A.q('.users-table button[data-user=vera]').count()) === 1);

  // The admin's cookie writes: refused without the CSRF header, accepted
  // with it (the same rules written back).
  const rules = (await A.pageFetch(`/api/sites/${SITE}/rules`)).body;
  const bare = await expecting4xx(A.page, () => A.pageFetch(`/api/sites/${SITE}/rules`, { method: 'PUT', body: rules }));
  check('the admin\'s PUT without X-Trailmap-CSRF: 403', bare.status === 403, bare);
  const ok = await A.pageFetch(`/api/sites/${SITE}/rules`, { method: 'PUT', body: rules, csrf: true });
  check('the admin\'s PUT with X-Trailmap-CSRF: 200', ok.status === 200, ok);

  await A.q('#share-view').selectOption('funnels');
  await A.q('#share-create').click();
  await A.q('#share-url').waitFor(T);
  shareUrl = await A.q('#share-url').inputValue();
  check('the share link is an absolute /s/ URL', new RegExp('^' + ORIGIN.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') + '/s/[^/?#]+$').test(shareUrl), shareUrl);
  check('the share link input is read-only', (await A.q('#share-url').getAttribute('readonly')) !== null);
  const list = await apiAdmin('GET', `/api/sites/${SITE}/shares`);
  const sh = (list.body && list.body.shares || []).find((x) => x.view === 'funnels');
  shareId = sh ? String(sh.id) : '';
  check('the API lists the funnels share', !!sh, list);
  check('the Team view lists it, limited to Funnels', (await A.q(`.shares-table button[data-share="${shareId}"]`).count()) === 1
    && (await A.q('.shares-table tbody tr').allTextContents()).some((r) => r.includes('Funnels')));
  await A.shot('team');
  await fitsPhone(A, 'the Team view', '#signout-btn');
});

// ------------------------------------------------- 6. the link, opened
const S = await party('share');
await step('the share link opens the funnels of the shop, read-only', async () => {
  if (!shareUrl) throw new Error('no share link');
  await S.page.goto(shareUrl);
  await S.q('#app').waitFor({ state: 'visible', ...T });
  await S.q('#view[data-view=funnels]').waitFor(T);
  await S.q('#funnel-editor, #view .empty').first().waitFor(T);
  const u = new URL(S.page.url());
  check('it lands in the dashboards on the funnels view of shop', u.pathname === '/dashboard/' && u.hash.startsWith('#/funnels')
    && new URLSearchParams(u.hash.split('?')[1] || '').get('site') === SITE, S.page.url());
  check('the signin form is not shown', await S.q('#signin').isHidden());
  const opts = await siteOptions(S);
  check('no other site to pick', JSON.stringify(opts) === '["shop"]', opts);
  const nav = await navIds(S);
  check('the nav shows only funnels', JSON.stringify(nav) === '["funnels"]', nav);
  check('a "Shared view" badge instead of sign out', (await S.q('#shared-badge').isVisible())
    && /Shared view/.test(await S.q('#shared-badge').textContent()) && (await S.q('#signout-btn').isHidden()));
  const sites = await S.pageFetch('/api/sites');
  check('fetch(/api/sites) from the shared page lists only shop', sites.status === 200 && JSON.stringify((sites.body.sites || []).map((x) => x.name)) === '["shop"]', sites);
  const s = await S.pageFetch('/api/session');
  check('GET /api/session: a share of shop, funnels only', s.status === 200 && s.body.kind === 'share' && s.body.role === 'viewer'
    && s.body.share && s.body.share.site === SITE && s.body.share.view === 'funnels', s);
  await noSecretsStored(S, 'share', [TOKEN, shareUrl.split('/s/')[1]]);
  const put = await expecting4xx(S.page, () => S.pageFetch(`/api/sites/${SITE}/rules`, { method: 'PUT', body: { rules: [] }, csrf: true }));
  check('a PUT rules through the share link is refused: 403', put.status === 403, put);
  const users = await expecting4xx(S.page, () => S.pageFetch('/api/users'));
  check('the share link cannot list users', users.status === 403 || users.status === 404, users);
  // Every other route comes back to funnels; no write control on it.
  for (const hash of [`#/overview?site=${SITE}`, `#/team?site=${SITE}`, `#/journeys?site=${SITE}`]) {
    await S.go(hash);
    await S.page.waitForFunction(() => location.hash.startsWith('#/funnels'), null, T);
    check(`${hash.split('?')[0]} redirects to the funnels`, S.page.url().includes('#/funnels'), S.page.url());
  }
  await S.q('#view[data-view=funnels] #funnel-editor, #view .empty').first().waitFor(T);
  check('no write control on the shared page', (await S.q('#rules-save, #stages-save, #share-form, #user-form, #signout-btn:visible').count()) === 0);
  await S.shot('share-view');
  await fitsPhone(S, 'the shared view', '#shared-badge');
});

// ------------------------------------------------- 7. revoke as admin
await step('the admin revokes the link in the Team view', async () => {
  if (!shareId) throw new Error('no share id');
  await A.q(`.shares-table button[data-share="${shareId}"]`).click();
  await A.page.waitForFunction((id) => !document.querySelector(`.shares-table button[data-share="${id}"]`) && document.querySelector('#share-form'), shareId, T);
  check('the link left the Team view\'s table', (await A.q(`button[data-share="${shareId}"]`).count()) === 0);
  const list = await apiAdmin('GET', `/api/sites/${SITE}/shares`);
  check('the API no longer lists it', list.status === 200 && !(list.body.shares || []).some((x) => String(x.id) === shareId), list);
});

// --------------------------------------------- 8. the link, after it
await step('the revoked link stops working at once', async () => {
  await expecting4xx(S.page, async () => {
    const r = await S.pageFetch('/api/sites');
    check('the share page\'s API calls now answer 401', r.status === 401, r);
    await S.page.reload();
    await S.q('#signin').waitFor({ state: 'visible', ...T });
    await S.page.waitForTimeout(300);
  });
  check('the app is gone after the reload', await S.q('#app').isHidden());
  const msg = (await S.q('#signin-error').textContent()) || '';
  check('it says the link was revoked or expired', /revoked|expired/i.test(msg) && await S.q('#signin-error').isVisible(), msg);
  await S.shot('share-revoked');
  const again = await fetch(shareUrl, { redirect: 'manual' });
  check('opening the link again: 404 or 410', again.status === 404 || again.status === 410, again.status);
});

// ----------------------- users and API tokens in the Team view (an admin)
await step('the Team view adds and removes a user', async () => {
  await A.q('#user-form').waitFor(T);
  await A.q('#user-name').fill('walt');
  await A.q('#user-role').selectOption('viewer');
  await A.q('#user-password').fill('walt-password-1');
  await A.q('#user-all-sites').uncheck();
  await A.q('#user-sites input[data-site=shop]').check();
  await A.q('#user-add').click();
  await A.q('.users-table button[data-user=walt]').waitFor(T);
  const walt = ((await apiAdmin('GET', '/api/users')).body.users || []).find((u) => u.name === 'walt');
  check('walt made through the form, a viewer of shop', walt && walt.role === 'viewer' && JSON.stringify(walt.sites) === '["shop"]', walt);
  await A.q('.users-table button[data-user=walt]').click();
  await A.page.waitForFunction(() => !document.querySelector('.users-table button[data-user=walt]'), null, T);
  check('walt removed through the form', !((await apiAdmin('GET', '/api/users')).body.users || []).some((u) => u.name === 'walt'));
});

await step('an admin user makes and deletes an API token', async () => {
  const ada = await apiAdmin('POST', '/api/users', { name: 'ada', role: 'admin', password: 'ada-password-1', sites: null });
  check('ada made (admin of every site)', ada.status === 201, ada);
  const D = await party('ada');
  await D.page.goto(BASE + `/dashboard/#/team?site=${SITE}`);
  await D.q('#signin-name').waitFor({ state: 'visible', ...T });
  await D.q('#signin-name').fill('ada');
  await D.q('#signin-password').fill('ada-password-1');
  await D.q('#signin-submit').click();
  await D.q('#token-form').waitFor(T);
  check('after sign-in the Team view of the URL opens', D.page.url().includes('#/team'), D.page.url());
  await D.q('#token-label').fill('ci');
  await D.q('#token-create').click();
  await D.q('#new-token').waitFor(T);
  const tok = await D.q('#new-token').inputValue();
  check('the new token is shown once', tok.length >= 16, tok.length);
  const r = await fetch(BASE + '/api/sites', { headers: { Authorization: 'Bearer ' + tok } });
  check('the new token works as a bearer', r.status === 200, r.status);
  const rows = await D.q('.tokens-table tbody tr').allTextContents();
  check('the token is listed by its label', rows.some((x) => x.includes('ci')), rows);
  await D.q('.tokens-table button[data-token]').first().click();
  await D.page.waitForFunction(() => !document.querySelector('.tokens-table button[data-token]'), null, T);
  const r2 = await fetch(BASE + '/api/sites', { headers: { Authorization: 'Bearer ' + tok } });
  check('a deleted token no longer works', r2.status === 401, r2.status);
  await D.context.close();
});

await step('sign-out ends the session', async () => {
  await V.q('#signout-btn').click();
  await V.q('#signin').waitFor({ state: 'visible', ...T });
  const after = await expecting4xx(V.page, () => V.pageFetch('/api/session'));
  check('after sign-out GET /api/session is 401', after.status === 401, after);
});

await finish();
