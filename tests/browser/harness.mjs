// What the browser walks over people and sites share (team.mjs,
// sites_realtime.mjs): named checks and steps, fresh browser contexts
// ("parties": no cookies shared) whose console is watched (a 4xx line is
// expected only inside expecting4xx, and the signed-out boot's 401 on
// /api/session always), screenshots, fetch run inside a page (its cookies,
// with the session's CSRF value when asked), the API with the server's
// token, and the JSON summary that tests/browser.rs reads.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, LAUNCH } from './chromium.mjs';

// How the page at its current size fits across: the document's width
// against the viewport's, whether the element `sel` is on the screen, and
// up to five elements sticking out on the right (inside a box that
// scrolls or clips on its own, like a wide table, is fine: the page
// itself does not move sideways).
export function measureFit(page, sel) {
  return page.evaluate((s) => {
    const el = document.querySelector(s);
    const r = el ? el.getBoundingClientRect() : { width: 0, right: Infinity };
    const inScroller = (e) => {
      for (let a = e.parentElement; a && a !== document.body; a = a.parentElement) {
        if (['auto', 'scroll', 'hidden'].includes(getComputedStyle(a).overflowX)) return true;
      }
      return false;
    };
    const wide = [...document.querySelectorAll('body *')].filter((e) => {
      const b = e.getBoundingClientRect();
      return b.width > 0 && b.right > innerWidth + 1 && !inScroller(e);
    }).slice(0, 5).map((e) => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className && typeof e.className === 'string' ? '.' + e.className.split(' ').join('.') : '') + ' ' + Math.round(e.getBoundingClientRect().right));
    return { scroll: document.documentElement.scrollWidth, width: innerWidth, onScreen: r.width > 0 && r.right <= innerWidth, wide };
  }, sel);
}

// A desktop browser's agent for events a script sends itself (the
// collector files headless Chromium's own agent as a bot).
export const DESKTOP_UA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

export async function harness({ base, token, shots }) {
  mkdirSync(shots, { recursive: true });
  const checks = [];
  const problems = []; // console errors, page errors, CSP violations
  const screenshots = [];
  let expectHttpErrors = 0; // >0 while a step deliberately provokes 4xx replies
  let shotN = 0;
  const T = { timeout: 15000 };
  const browser = await chromium.launch(LAUNCH);
  // Signed out, the app's first question (GET /api/session) is answered
  // 401, which Chromium logs.
  const bootProbe = (m) => /status of 401/.test(m.text()) && /\/api\/session$/.test((m.location() && m.location().url) || '');

  function check(name, ok, detail) {
    checks.push({ name, ok: !!ok, ...(detail === undefined ? {} : { detail }) });
    return !!ok;
  }
  async function step(name, fn) {
    try { await fn(); } catch (e) { check(name, false, String(e && e.stack ? e.stack.split('\n').slice(0, 3).join(' | ') : e)); }
  }
  // A deliberate 4xx: its "Failed to load resource" console line is expected
  // (it may come a moment after the answer, hence the wait).
  async function expecting4xx(page, fn) {
    expectHttpErrors++;
    try { return await fn(); } finally { await page.waitForTimeout(250); expectHttpErrors--; }
  }

  // The API with the server token (a bearer: no cookie, no CSRF header).
  async function apiAdmin(method, path, body) {
    const res = await fetch(base + path, {
      method,
      headers: { Authorization: 'Bearer ' + token, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let json = null;
    try { json = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
    return { status: res.status, body: json };
  }

  // A fresh context (no cookies shared with the others), its page watched;
  // dialogs (remove / revoke ask first) are answered yes.
  async function party(label, viewport = { width: 1360, height: 900 }) {
    const context = await browser.newContext({ viewport });
    await context.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (e) => {
        console.error('CSP violation: ' + e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline') + ' at ' + e.sourceFile + ':' + e.lineNumber);
      });
    });
    const page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() !== 'error') return;
      const text = m.text();
      if (expectHttpErrors > 0 && /Failed to load resource: the server responded with a status of 4\d\d/.test(text)) return;
      if (bootProbe(m)) return;
      problems.push({ page: label, kind: 'console', text, url: m.location() && m.location().url });
    });
    page.on('pageerror', (e) => problems.push({ page: label, kind: 'pageerror', text: String(e && e.message) }));
    page.on('dialog', (d) => d.accept().catch(() => {}));
    const q = (sel) => page.locator(sel);
    const go = (hash) => page.evaluate((x) => { location.hash = x; }, hash);
    const shot = async (name) => {
      const file = join(shots, String(++shotN).padStart(2, '0') + '-' + name + '.png');
      await page.evaluate(() => scrollTo(0, 0));
      await page.screenshot({ path: file, fullPage: true });
      screenshots.push(file);
    };
    // Fetch in the page (its cookies, same origin); the CSRF value from
    // GET /api/session when asked for.
    const pageFetch = (path, { method = 'GET', body, csrf = false } = {}) => page.evaluate(async ([pth, m, b, c]) => {
      const headers = {};
      if (b !== null) headers['content-type'] = 'application/json';
      if (c) headers['X-Trailmap-CSRF'] = (await (await fetch('/api/session')).json()).csrf;
      const r = await fetch(pth, { method: m, headers, body: b === null ? undefined : JSON.stringify(b) });
      const text = await r.text();
      let json = null;
      try { json = JSON.parse(text); } catch { /* not JSON */ }
      return { status: r.status, body: json };
    }, [path, method, body === undefined ? null : body, csrf]);
    // Signs in on the dashboards' form with an API token (the admin's
    // unless told).
    const signIn = async (with_ = token) => {
      await page.goto(base + '/dashboard/');
      await q('#signin-token').waitFor({ state: 'visible', ...T });
      await q('#signin-token').fill(with_);
      await q('#signin-submit').click();
      await q('#app').waitFor({ state: 'visible', ...T });
    };
    // A view's report requests as the page makes them (`asked`: paths with
    // their queries); `repainted(before)` waits for a request after the
    // `before`-th and for `painted()`; `apiForPage()` asks the API the
    // page's last question with the admin token.
    const watch = (pathname, painted) => {
      const asked = [];
      page.on('request', (r) => {
        const u = new URL(r.url());
        if (u.pathname === pathname) asked.push(u.pathname + u.search);
      });
      const repainted = async (before) => {
        const t0 = Date.now();
        while (asked.length <= before) {
          if (Date.now() - t0 > T.timeout) throw new Error('no new request to ' + pathname);
          await page.waitForTimeout(50);
        }
        await painted();
      };
      const apiForPage = async () => {
        const path = asked[asked.length - 1];
        const r = await apiAdmin('GET', path);
        return { path, status: r.status, body: r.body, params: new URL(base + path).searchParams };
      };
      return { asked, repainted, apiForPage };
    };
    return { context, page, q, go, shot, pageFetch, signIn, watch };
  }

  // Closes the browser, prints the summary and exits (non-zero on failure).
  async function finish() {
    await browser.close();
    for (const p of problems) check('no console error / CSP violation', false, p);
    const failed = checks.filter((c) => !c.ok);
    const summary = { ok: failed.length === 0, failed, problems, screenshots, checks };
    console.log(JSON.stringify(summary, null, 2));
    process.exit(summary.ok ? 0 : 1);
  }

  // The first registered origin of `site` (where its tracker runs), or
  // undefined.
  async function siteOrigin(site) {
    const r = await apiAdmin('GET', '/api/sites');
    return (((r.body && r.body.sites) || []).find((x) => x.name === site) || { origins: [] }).origins[0];
  }

  return { T, check, step, expecting4xx, apiAdmin, party, finish, siteOrigin };
}
