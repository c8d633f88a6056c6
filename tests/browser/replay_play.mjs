// Drives real headless Chromium through the session replay player of the
// trailmap dashboards: the recorded layout is shown in a sandboxed iframe,
// the cursor lands on the element each click was recorded on (checked
// against the element's box in the frame's own DOM), no typed input value
// is in the frame, speed / pause / skip-idle / scrubbing work, next and
// previous follow the search results, and a session without layouts (or
// whose layouts are gone) replays as a page timeline. With --hostile, a
// session whose layout carries scripts, event handlers, a meta refresh and
// requests to the dashboard's origin is opened: nothing may run, the
// dashboard's token must stay unreadable, and no request from the frame may
// reach the dashboard origin except the frame URL itself.
// Prints a JSON summary on stdout; exits 1 when a check fails.
//
//   node tests/browser/replay_play.mjs BASE_URL TOKEN SITE SESSION_ID EXPECT_JSON SCREENSHOT_DIR
//        [--nolayout SESSION_ID] [--hostile SESSION_ID]
//     EXPECT_JSON: {"clicks":[{"sel":"#add-to-cart","x":1075,"y":679},...],
//                   "secret":"text typed into an input, never in a layout"}
//     SESSION_ID may be "-" to run only the --nolayout / --hostile checks.
//
//   node tests/browser/replay_play.mjs --seed BASE_URL TOKEN SITE SHOP_URL
//     Records replay data for the tests against a running `trailmap demo`
//     (its shop at SHOP_URL, an origin registered for SITE): real layouts
//     of shop pages (taken in Chromium, script-free like the recorder's),
//     uploaded like the recorder does, and three sessions through
//     /api/collect: one with layouts, one without, one with a hostile
//     layout. Prints {"session","nolayout","hostile","expect"} as JSON.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';

import { chromium, LAUNCH } from './chromium.mjs';

const argv = process.argv.slice(2);
const flag = (name) => {
  const i = argv.indexOf(name);
  if (i < 0) return null;
  const v = argv[i + 1];
  argv.splice(i, 2);
  return v;
};

if (argv[0] === '--seed') {
  await seed(...argv.slice(1));
  process.exit(0);
}

const NOLAYOUT = flag('--nolayout');
const HOSTILE = flag('--hostile');
const [base0, TOKEN, SITE, SESSION, EXPECT_RAW, SHOTS] = argv;
if (!base0 || !TOKEN || !SITE || !SESSION || !SHOTS) {
  console.error('usage: node tests/browser/replay_play.mjs BASE_URL TOKEN SITE SESSION_ID EXPECT_JSON SCREENSHOT_DIR [--nolayout ID] [--hostile ID]\n'
    + '       node tests/browser/replay_play.mjs --seed BASE_URL TOKEN SITE SHOP_URL');
  process.exit(2);
}
const BASE = base0.replace(/\/+$/, '');
const ORIGIN = new URL(BASE).origin;
const EXPECT = EXPECT_RAW && EXPECT_RAW !== '-' ? JSON.parse(EXPECT_RAW) : {};
mkdirSync(SHOTS, { recursive: true });

const checks = [];
const problems = [];
const screenshots = [];
const info = {};
let shotN = 0;
let expect404 = 0; // >0 while layouts are made to 404 on purpose

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
await context.addInitScript(() => {
  document.addEventListener('securitypolicyviolation', (e) => {
    console.error('CSP violation: ' + e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline') + ' at ' + e.sourceFile + ':' + e.lineNumber);
  });
});
const page = await context.newPage();
const T = { timeout: 20000 };
const isFrameUrl = (u) => /\/replay\/frame\//.test(u || '');

// Console: errors of the dashboard are problems; anything the layout frame
// says is recorded (the browser's own sandbox / CSP refusals are expected
// there; messages of the page's scripts are not, as none may run).
const frameConsole = [];
page.on('console', (m) => {
  const loc = m.location() || {};
  const text = m.text();
  if (isFrameUrl(loc.url) || /pwned/i.test(text)) { frameConsole.push({ type: m.type(), text: text.slice(0, 300), url: loc.url }); return; }
  if (m.type() !== 'error') return;
  if (/Blocked script execution in '.*\/replay\/frame\//.test(text)) { frameConsole.push({ type: 'sandbox', text: text.slice(0, 200) }); return; }
  // Layout frame CSP refusals are reported against the frame.
  if (/Refused to .*because it violates the following Content Security Policy directive/.test(text) && !/\/dashboard\//.test(loc.url || '')) {
    frameConsole.push({ type: 'csp', text: text.slice(0, 200), url: loc.url });
    return;
  }
  if (expect404 > 0 && /status of 404/.test(text)) return;
  // Signed out, the app's first question (GET /api/session) is answered
  // 401 (before sign-in).
  if (/status of 401/.test(text) && /\/api\/session$/.test(loc.url || '')) return;
  // A layout that is not stored (404) is an expected reply of the API.
  if (/status of 404/.test(text) && /\/layouts(\/|\?|$)/.test(loc.url || '')) return;
  problems.push({ kind: 'console', text: text.slice(0, 300), url: loc.url });
});
page.on('pageerror', (e) => problems.push({ kind: 'pageerror', text: String(e && e.message) }));
const dialogs = [];
page.on('dialog', async (d) => { dialogs.push(d.message()); await d.dismiss().catch(() => {}); });
// Every request, with the frame it came from.
// A request blocked by the frame's CSP is still announced; it "reached" the
// server only when a response came back.
const requests = [];
const byRequest = new Map();
page.on('request', (r) => {
  let fromFrame = null;
  try { const f = r.frame(); fromFrame = f === page.mainFrame() ? 'main' : f.url(); } catch { fromFrame = '?'; }
  const rec = { url: r.url(), from: fromFrame, type: r.resourceType(), reached: false, failure: null };
  byRequest.set(r, rec);
  requests.push(rec);
});
page.on('response', (res) => { const rec = byRequest.get(res.request()); if (rec) { rec.reached = true; rec.status = res.status(); } });
page.on('requestfailed', (r) => { const rec = byRequest.get(r); if (rec) rec.failure = (r.failure() || {}).errorText || 'failed'; });

const shot = async (name, locator) => {
  const file = join(SHOTS, String(++shotN).padStart(2, '0') + '-' + name + '.png');
  if (locator) {
    // Below the sticky top bar and toolbar, so the whole element shows.
    await locator.evaluate((el) => window.scrollBy(0, el.getBoundingClientRect().top - 124));
    await locator.screenshot({ path: file });
  } else await page.screenshot({ path: file });
  screenshots.push(file);
};
const go = async (hash) => { await page.evaluate((x) => { location.hash = x; }, hash); };
const player = (attr) => page.evaluate((a) => { const p = document.querySelector('#player'); return p ? p.dataset[a] : undefined; }, attr);
const waitPlayer = (pred, arg, t = T) => page.waitForFunction(pred, arg, t);
async function openSession(id, extra = '') {
  await go(`#/session?site=${encodeURIComponent(SITE)}&range=all&id=${encodeURIComponent(id)}${extra}`);
  await page.waitForFunction((i) => {
    const p = document.querySelector('#player');
    return p && document.querySelector('.sess-head h1') && document.querySelector('.sess-head h1').textContent.includes('#' + i);
  }, String(id), T);
  await page.evaluate(() => document.querySelector('#player').scrollIntoView({ block: 'center' }));
}
async function setSpeed(x) {
  await page.click(`#pl-speed button[data-speed="${x}"]`);
  await waitPlayer((v) => document.querySelector('#player').dataset.speed === String(v), x);
}
async function setSkip(on) {
  if ((await player('skip')) !== (on ? '1' : '0')) await page.click('label.pl-toggle');
  await waitPlayer((v) => document.querySelector('#player').dataset.skip === v, on ? '1' : '0');
}
async function pausePlayer() {
  const st = await player('state');
  if (st === 'playing' || st === 'buffering') await page.click('#pl-play');
  await waitPlayer(() => !['playing', 'buffering'].includes(document.querySelector('#player').dataset.state));
}
async function seekStart() {
  await page.focus('#pl-scrub');
  await page.keyboard.press('Home');
  await waitPlayer(() => document.querySelector('#player').dataset.play === '0');
}
// The layout frame (Playwright sees into it although it runs no script).
function layoutFrame(hash) {
  return page.frames().find((f) => f !== page.mainFrame() && isFrameUrl(f.url()) && f.url().includes(hash)) || null;
}
async function frameReady(hash) {
  for (let i = 0; i < 100; i++) {
    const f = layoutFrame(hash);
    if (f) {
      try {
        const ok = await f.evaluate(() => document.readyState === 'complete' && !!document.body);
        if (ok) return f;
      } catch { /* navigating */ }
    }
    await page.waitForTimeout(100);
  }
  return null;
}
// Records the cursor, the shown iframe and the viewport box each time the
// player passes a click (data-last-click changes), in the same task as the
// render that moved them.
async function installClickLog() {
  await page.evaluate(() => {
    const p = document.querySelector('#player');
    window.__clickLog = [];
    window.__maxScroll = {};
    if (window.__clickObs) window.__clickObs.disconnect();
    const rect = (el) => { if (!el) return null; const r = el.getBoundingClientRect(); return { left: r.left, top: r.top, width: r.width, height: r.height }; };
    const snap = () => {
      const frame = p.querySelector('iframe.pl-frame.shown');
      return {
        seq: p.dataset.lastClick, hash: p.dataset.layout, layoutState: p.dataset.layoutState, view: p.dataset.view,
        scroll: +p.dataset.scroll, play: +p.dataset.play,
        cursor: rect(p.querySelector('#pl-cursor')), cursorHidden: p.querySelector('#pl-cursor').hidden,
        frame: rect(frame), frameW: frame ? frame.offsetWidth : 0, screen: rect(p.querySelector('.pl-screen')),
      };
    };
    window.__clickObs = new MutationObserver((recs) => {
      for (const r of recs) {
        if (r.attributeName === 'data-last-click' && p.dataset.lastClick) window.__clickLog.push(snap());
        if (r.attributeName === 'data-scroll') {
          const v = p.dataset.view;
          window.__maxScroll[v] = Math.max(window.__maxScroll[v] || 0, +p.dataset.scroll);
        }
      }
    });
    window.__clickObs.observe(p, { attributes: true, attributeFilter: ['data-last-click', 'data-scroll'] });
    window.__snapPlayer = snap;
  });
}

// What the player should do, from the session's events (the API's reply).
function expectations(session) {
  const evs = (session.events || []).slice().sort((a, b) => a.seq - b.seq);
  let T0 = Date.parse(session.start);
  for (const e of evs) if (e.ts < T0) T0 = e.ts;
  let last = 0;
  const rs = evs.map((e) => (last = Math.max(last, e.ts - T0)));
  const end = Math.max(last, Date.parse(session.end) - T0, 1000);
  const times = [0, ...rs, end].sort((a, b) => a - b);
  // The layout shown at each click: the last $layout of its page view
  // at or before it, or the view's first. A $layout whose capture path and
  // time name an earlier page view belongs to that one (the player's rule).
  const clicks = [];
  const views = [];
  let view = null;
  evs.forEach((e, i) => {
    const r = rs[i];
    // A click sent after the page view it caused belongs to the view before
    // (the player's rule).
    if (e.type === 'click' && view && e.page !== view.page && r - view.r < 1500 && views.length > 1 && views[views.length - 2].page === e.page) {
      if (typeof e.x === 'number') clicks.push({ seq: e.seq, sel: e.sel, x: e.x, y: e.y, view: views[views.length - 2], r: Math.max(views[views.length - 2].r, view.r - 1) });
      return;
    }
    if (e.type === 'pageview' || !view || (e.page !== view.page && e.type !== 'leave')) views.push((view = { page: e.page, r, layouts: [] }));
    if (e.type === 'custom' && e.name === '$layout' && e.props && /^[0-9a-f]{64}$/.test(e.props.hash || '')) {
      view.layouts.push({ hash: e.props.hash, r, path: e.props.path, at: e.props.at });
    }
    if (e.type === 'click' && typeof e.x === 'number') clicks.push({ seq: e.seq, sel: e.sel, x: e.x, y: e.y, view, r });
    if (e.type === 'leave' && typeof e.engaged_ms === 'number') view.engaged = Math.max(view.engaged ?? 0, e.engaged_ms);
  });
  // Skip idle (the player's rule): a gap over 3 s shrinks towards 1 s, by
  // at most its page view's time not engaged (duration - engaged_ms), in
  // order; a page view without engagement data may skip all of its gaps.
  views.forEach((v, i) => { v.end = i + 1 < views.length ? views[i + 1].r : end; v.left = v.engaged === undefined ? Infinity : Math.max(0, v.end - v.r - v.engaged); });
  let skipped = 0, prev = 0;
  for (const r of times) {
    if (r <= prev) continue;
    const d = r - prev;
    const v = views.find((w) => w.r <= prev && prev < w.end);
    if (d > 3000) { const cut = Math.min(d - 1000, v ? v.left : Infinity); skipped += cut; if (v) v.left -= cut; }
    prev = r;
  }
  for (const v of views) {
    for (const l of v.layouts.slice()) {
      if (!l.path || l.path === v.page || typeof l.at !== 'number') continue;
      const at = l.at - T0;
      const home = views.filter((w) => w.page === l.path && w.r <= at + 1).pop();
      if (!home || home === v) continue;
      v.layouts.splice(v.layouts.indexOf(l), 1);
      l.r = Math.max(home.r, Math.min(at, l.r));
      home.layouts.push(l);
      home.layouts.sort((a, b) => a.r - b.r);
    }
  }
  for (const c of clicks) {
    const shown = c.view.layouts.filter((l, k) => k === 0 || l.r <= c.r);
    c.hash = shown.length ? shown[shown.length - 1].hash : null;
  }
  return { end, durationSkip: end - skipped, durationFull: end, clicks, scrolls: evs.filter((e) => e.type === 'scroll').length, hashes: [...new Set(evs.filter((e) => e.name === '$layout' && e.props).map((e) => e.props.hash))] };
}

// Is the cursor tip (the top-left of #pl-cursor) on the element `sel` of
// the layout frame shown at that moment?
async function cursorOnElement(entry, sel, tol = 3) {
  const f = await frameReady(entry.hash);
  if (!f) return { ok: false, why: 'frame of ' + entry.hash + ' not found' };
  const box = await f.evaluate((s) => {
    const el = document.querySelector(s);
    if (!el) return null;
    const r = el.getBoundingClientRect();
    return { left: r.left, top: r.top, width: r.width, height: r.height };
  }, sel);
  if (!box) return { ok: false, why: 'no element ' + sel + ' in the frame' };
  if (!entry.frame || !entry.cursor) return { ok: false, why: 'no frame or cursor on screen' };
  const k = entry.frame.width / entry.frameW; // the player's scale
  const el = { left: entry.frame.left + box.left * k, top: entry.frame.top + box.top * k, width: box.width * k, height: box.height * k };
  const cx = entry.cursor.left, cy = entry.cursor.top;
  const inside = cx >= el.left - tol && cx <= el.left + el.width + tol && cy >= el.top - tol && cy <= el.top + el.height + tol;
  const sc = entry.screen;
  const visible = cx >= sc.left - tol && cx <= sc.left + sc.width + tol && cy >= sc.top - tol && cy <= sc.top + sc.height + tol;
  const r = (o) => Object.fromEntries(Object.entries(o).map(([a, b]) => [a, Math.round(b * 10) / 10]));
  return { ok: inside && visible && !entry.cursorHidden, inside, visible, cursor: r({ x: cx, y: cy }), element: r(el), scale: Math.round(k * 1000) / 1000 };
}

// ---------------------------------------------------------------- sign in
await step('sign-in', async () => {
  await page.goto(BASE + '/dashboard/');
  await page.locator('#signin-token').waitFor({ state: 'visible', ...T });
  await page.fill('#signin-token', TOKEN);
  await page.click('#signin-submit');
  await page.locator('#app').waitFor({ state: 'visible', ...T });
  check('signed in', await page.locator('#app').isVisible());
});

// ---------------------------------------------------------------- main session
if (SESSION !== '-') {
  const sess = (await apiGet(`/api/sites/${encodeURIComponent(SITE)}/sessions/${encodeURIComponent(SESSION)}`)).body;
  const X = sess ? expectations(sess) : null;
  check('session found in the API', !!X, SESSION);
  info.session = { id: SESSION, layouts: X && X.hashes.length, clicks: X && X.clicks.length, duration_ms: X && X.end };

  await step('layout shown', async () => {
    await openSession(SESSION);
    await waitPlayer(() => document.querySelector('#player').dataset.layoutState === 'ready', null, T);
    const attrs = await page.evaluate(() => [...document.querySelectorAll('#player iframe')].map((f) => ({
      sandbox: f.getAttribute('sandbox'), src: f.getAttribute('src'), srcdoc: f.hasAttribute('srcdoc'), shown: f.classList.contains('shown'),
      pointer: getComputedStyle(f).pointerEvents,
    })));
    check('layout iframes exist', attrs.length >= 1, attrs.length);
    check('every layout iframe has sandbox=""', attrs.every((a) => a.sandbox === ''), attrs.map((a) => a.sandbox));
    check('no srcdoc iframes', attrs.every((a) => !a.srcdoc));
    check('iframes load the signed frame route of this origin', attrs.every((a) => /^\/replay\/frame\/[^/]+\/[0-9a-f]{64}\?expires=\d+&sig=/.test(a.src)), attrs.map((a) => a.src.slice(0, 60)));
    check('iframes take no pointer events', attrs.every((a) => a.pointer === 'none'));
    const hash = await player('layout');
    const f = await frameReady(hash);
    check('the frame document loaded', !!f, hash);
    if (f) {
      const content = await f.evaluate(() => ({ text: (document.body && document.body.innerText || '').trim().length, els: document.querySelectorAll('body *').length, title: document.title }));
      check('the frame holds the page content', content.text > 40 && content.els > 10, content);
      const first = (EXPECT.clicks || [])[0];
      if (first) check('the first clicked element is in the first layout', await f.evaluate((s) => !!document.querySelector(s), first.sel), first.sel);
    }
    const dash = await page.evaluate(() => ({ scale: +document.querySelector('#player').dataset.scale, vp: document.querySelector('.pl-vp').textContent }));
    info.session.scale = dash.scale;
    check('the recorded viewport is shown scaled to fit', dash.scale > 0 && dash.scale <= 1, dash);
    check('player is in the dark chrome with controls', await page.locator('#pl-play').isVisible() && await page.locator('#pl-scrub').isVisible() && await page.locator('#pl-speed').isVisible() && await page.locator('label.pl-toggle').isVisible());
    check('next/previous hidden when the session was opened on its own', !(await page.locator('#pl-prev').isVisible()) && !(await page.locator('#pl-next').isVisible()));
    await shot('player-start', page.locator('#player'));
  });

  await step('skip idle', async () => {
    await pausePlayer();
    await setSkip(true);
    const on = +(await player('duration'));
    await setSkip(false);
    const off = +(await player('duration'));
    await setSkip(true);
    check('idle gaps compressed (duration with skip idle)', Math.abs(on - X.durationSkip) <= 2, { shown: on, expected: X.durationSkip });
    check('full duration without skip idle', Math.abs(off - X.durationFull) <= 2, { shown: off, expected: X.durationFull });
    info.session.duration_play_ms = { skip: on, full: off };
  });

  await step('speed and pause', async () => {
    await seekStart();
    await setSkip(false); // so that play time = session time here
    const rate = async (x) => {
      await setSpeed(x);
      await page.click('#pl-play');
      await waitPlayer(() => document.querySelector('#player').dataset.state === 'playing');
      const a = await page.evaluate(() => [performance.now(), +document.querySelector('#player').dataset.play]);
      await page.waitForTimeout(700);
      const b = await page.evaluate(() => [performance.now(), +document.querySelector('#player').dataset.play]);
      await pausePlayer();
      return (b[1] - a[1]) / (b[0] - a[0]);
    };
    const r1 = await rate(1);
    const r4 = await rate(4);
    check('1× plays in real time', r1 > 0.7 && r1 < 1.3, Math.round(r1 * 100) / 100);
    check('4× plays four times as fast', r4 / r1 > 3 && r4 / r1 < 5, Math.round((r4 / r1) * 100) / 100);
    const p0 = +(await player('play'));
    await page.waitForTimeout(600);
    const p1 = +(await player('play'));
    check('pause stops the clock', p0 === p1 && (await player('state')) === 'paused', { p0, p1 });
    await setSkip(true);
    info.session.rates = { x1: Math.round(r1 * 100) / 100, x4: Math.round(r4 * 100) / 100 };
  });

  await step('play to each click', async () => {
    await setSpeed(4);
    await setSkip(true);
    await seekStart();
    await installClickLog();
    await page.click('#pl-play');
    let shotPlaying = false;
    const t0 = Date.now();
    // A screenshot while playing, after the first click of the second page view.
    const second = X.clicks.find((c) => c.view !== (X.clicks[0] || {}).view) || X.clicks[0];
    if (second) {
      await waitPlayer((s) => document.querySelector('#player').dataset.lastClick === String(s), second.seq, { timeout: 60000 }).then(async () => {
        await shot('player-playing', page.locator('#player'));
        shotPlaying = true;
      }).catch(() => {});
    }
    await waitPlayer(() => document.querySelector('#player').dataset.state === 'ended', null, { timeout: 120000 });
    info.session.play_wall_ms = Date.now() - t0;
    const log = await page.evaluate(() => window.__clickLog);
    const maxScroll = await page.evaluate(() => window.__maxScroll);
    info.session.max_scroll = maxScroll;
    const results = [];
    for (const c of X.clicks) {
      const entry = log.find((l) => l.seq === String(c.seq));
      if (!entry) { results.push({ seq: c.seq, ok: false, why: 'never passed' }); continue; }
      const want = (EXPECT.clicks || []).find((w) => w.sel === c.sel && Math.abs(w.x - c.x) <= 1 && Math.abs(w.y - c.y) <= 1);
      const r = await cursorOnElement(entry, c.sel);
      results.push({ seq: c.seq, sel: c.sel, expected: !!want, layout_ok: !c.hash || entry.hash === c.hash, ...r });
    }
    const expected = (EXPECT.clicks || []).length;
    const matched = results.filter((r) => r.expected).length;
    check('every expected click is in the session', matched >= expected, { expected, matched });
    check('playing puts the cursor on each clicked element', results.length > 0 && results.every((r) => r.ok), results.filter((r) => !r.ok));
    check('each click is shown on the layout recorded for its time', results.every((r) => r.layout_ok), results.filter((r) => !r.layout_ok).map((r) => r.seq));
    if (X.scrolls) check('recorded scrolling moves the page', Object.values(maxScroll).some((v) => v > 0), maxScroll);
    check('screenshot while playing', !second || shotPlaying);
    info.session.clicks_checked = results.map((r) => ({ seq: r.seq, sel: r.sel, ok: r.ok, cursor: r.cursor, scale: r.scale }));
  });

  await step('seek to each click', async () => {
    await pausePlayer();
    const bad = [];
    for (const c of X.clicks) {
      await page.evaluate((s) => document.querySelector(`#pl-scrub .pl-mark[data-seq="${s}"]`).click(), c.seq);
      await waitPlayer((s) => document.querySelector('#player').dataset.lastClick === String(s) && document.querySelector('#player').dataset.layoutState !== 'loading', c.seq);
      const entry = await page.evaluate(() => window.__snapPlayer());
      const r = await cursorOnElement(entry, c.sel);
      if (!r.ok) bad.push({ seq: c.seq, sel: c.sel, ...r });
    }
    check('seeking to a click puts the cursor on its element', bad.length === 0, bad);
    // Screenshots paused on a rage click and on a dead click.
    for (const kind of ['rage', 'dead']) {
      const e = (sess.events || []).find((x) => x.type === 'click' && x[kind]);
      if (!e) continue;
      await page.evaluate((s) => document.querySelector(`#pl-scrub .pl-mark[data-seq="${s}"]`).click(), e.seq);
      await page.waitForTimeout(100);
      await shot('player-' + kind + '-click', page.locator('#player'));
    }
  });

  await step('no input value in the layouts', async () => {
    const secret = EXPECT.secret;
    if (!secret) { check('secret given', false, 'EXPECT_JSON has no secret'); return; }
    const frames = page.frames().filter((f) => isFrameUrl(f.url()));
    let seen = 0;
    const leaks = [];
    for (const f of frames) {
      const html = await f.content().catch(() => '');
      if (html) seen++;
      if (html.includes(secret)) leaks.push(f.url().slice(0, 80));
      const vals = await f.evaluate(() => [...document.querySelectorAll('input, textarea')].map((i) => i.value).join('\n')).catch(() => '');
      if (vals.includes(secret)) leaks.push('value in ' + f.url().slice(0, 80));
    }
    check('layout frames read', seen >= Math.min(1, X.hashes.length), seen);
    check('the typed secret is in no layout frame', leaks.length === 0, leaks);
    check('the typed secret is nowhere in the dashboard', !(await page.content()).includes(secret));
  });

  await step('next and previous in the results', async () => {
    // Headless Chromium says so in its user agent: a bot, listed when asked.
    await go(`#/sessions?site=${encodeURIComponent(SITE)}&range=all&bots=1`);
    await page.locator('#sessions-table a.sess-link').first().waitFor(T);
    const ids = await page.evaluate(() => [...document.querySelectorAll('#sessions-table tr.session-row')].map((r) => r.dataset.id));
    if (ids.length < 2) { check('two sessions to step through', false, ids.length); return; }
    await page.locator('#sessions-table a.sess-link').first().click();
    await page.waitForFunction((i) => document.querySelector('.sess-head h1') && document.querySelector('.sess-head h1').textContent.includes('#' + i), ids[0], T);
    await page.waitForFunction(() => document.querySelector('#pl-next') && document.querySelector('#pl-next').getAttribute('href'), null, T);
    check('previous disabled on the first result', await page.evaluate(() => { const b = document.querySelector('#pl-prev'); return !b.hidden && b.getAttribute('aria-disabled') === 'true'; }));
    await page.click('#pl-next');
    await page.waitForFunction((i) => document.querySelector('.sess-head h1') && document.querySelector('.sess-head h1').textContent.includes('#' + i), ids[1], T);
    check('next opens the next result', true);
    await page.waitForFunction(() => document.querySelector('#pl-prev') && document.querySelector('#pl-prev').getAttribute('href'), null, T);
    check('next session starts playing', await page.waitForFunction(() => ['playing', 'buffering', 'ended'].includes(document.querySelector('#player').dataset.state), null, T).then(() => true, () => false));
    await pausePlayer();
    await page.click('#pl-prev');
    await page.waitForFunction((i) => document.querySelector('.sess-head h1') && document.querySelector('.sess-head h1').textContent.includes('#' + i), ids[0], T);
    check('previous goes back', true);
    await pausePlayer();
  });

  await step('layouts gone: page timeline', async () => {
    // The same session when its layouts are not stored (expired, quota).
    expect404++;
    await page.route('**/api/sites/*/layouts/*', (r) => r.fulfill({ status: 404, contentType: 'application/json', body: '{"error":"no such layout"}' }));
    await openSession(SESSION, '&gone=1');
    await waitPlayer(() => document.querySelector('#player').dataset.layoutState === 'missing', null, T);
    const card = await page.evaluate(() => { const c = document.querySelector('.pl-pagecard'); return c && !c.hidden ? c.textContent : null; });
    check('a page card replaces a missing layout', !!card && card.includes(X.clicks.length ? '/' : ''), card && card.slice(0, 160));
    check('no iframe for a missing layout', (await page.locator('#player iframe').count()) === 0);
    await setSpeed(8);
    await seekStart();
    await installClickLog();
    await page.click('#pl-play');
    await waitPlayer(() => document.querySelector('#player').dataset.state === 'ended', null, { timeout: 120000 });
    const log = await page.evaluate(() => window.__clickLog);
    check('clicks still replayed without layouts', X.clicks.every((c) => log.some((l) => l.seq === String(c.seq) && !l.cursorHidden)), log.length);
    await page.evaluate((s) => { const m = document.querySelector(`#pl-scrub .pl-mark[data-seq="${s}"]`); if (m) m.click(); }, X.clicks.length ? X.clicks[Math.min(1, X.clicks.length - 1)].seq : -1);
    await page.waitForTimeout(150);
    await shot('player-layouts-missing', page.locator('#player'));
    await page.unroute('**/api/sites/*/layouts/*');
    expect404--;
  });
}

// ---------------------------------------------------------------- no layouts
if (NOLAYOUT) {
  await step('session without layouts', async () => {
    await openSession(NOLAYOUT);
    await waitPlayer(() => document.querySelector('#player').dataset.layoutState, null, T);
    const st = await page.evaluate(() => {
      const p = document.querySelector('#player');
      const c = document.querySelector('.pl-pagecard');
      return { has: p.dataset.hasLayouts, state: p.dataset.layoutState, card: c && !c.hidden ? c.textContent : null, frames: p.querySelectorAll('iframe').length, duration: +p.dataset.duration };
    });
    check('no-layout session: no layout iframe', st.frames === 0 && st.has === '0' && st.state === 'none', st);
    check('no-layout session: page card with the page', !!st.card && st.card.includes('/'), st.card && st.card.slice(0, 120));
    check('no-layout session: same controls', await page.locator('#pl-play').isVisible() && await page.locator('#pl-scrub').isVisible() && await page.locator('#pl-speed').isVisible());
    await setSpeed(8);
    await seekStart();
    await page.click('#pl-play');
    await page.waitForTimeout(400);
    await shot('player-no-layouts', page.locator('#player'));
    await waitPlayer(() => document.querySelector('#player').dataset.state === 'ended', null, { timeout: 120000 });
    const end = await page.evaluate(() => +document.querySelector('#player').dataset.play);
    check('no-layout session plays to the end', end === st.duration, { end, duration: st.duration });
  });
}

// ---------------------------------------------------------------- hostile layout
if (HOSTILE) {
  await step('hostile layout', async () => {
    const before = requests.length;
    dialogs.length = 0;
    const consoleBefore = frameConsole.length;
    await openSession(HOSTILE);
    await waitPlayer(() => ['ready', 'missing'].includes(document.querySelector('#player').dataset.layoutState), null, T);
    const state = await player('layoutState');
    check('hostile layout shown in a frame', state === 'ready', state);
    const hash = await player('layout');
    const f = await frameReady(hash);
    check('hostile frame loaded', !!f);
    await page.waitForTimeout(2500); // a meta refresh, a late onerror…
    await page.click('#pl-play');
    await page.waitForTimeout(1500);
    await pausePlayer();
    const sandbox = await page.evaluate(() => [...document.querySelectorAll('#player iframe')].map((x) => x.getAttribute('sandbox')));
    check('hostile iframe has sandbox=""', sandbox.length > 0 && sandbox.every((x) => x === ''), sandbox);
    check('no dialog opened', dialogs.length === 0, dialogs);
    const fc = frameConsole.slice(consoleBefore);
    info.hostile = { frame_console: fc };
    check('no console message from the frame’s code', !fc.some((m) => /pwned/i.test(m.text) || ['log', 'info', 'debug', 'warning', 'warn'].includes(m.type)), fc);
    if (f) {
      check('frame still on the frame URL (no meta refresh)', isFrameUrl(f.url()) && f.url().includes(hash), f.url());
      check('window.__pwned undefined in the frame', (await f.evaluate(() => typeof window.__pwned)) === 'undefined');
      const storage = await f.evaluate(() => { try { parent.sessionStorage.length; return 'readable'; } catch { return 'blocked'; } });
      check("dashboard's sessionStorage unreadable from the frame", storage === 'blocked', storage);
      const top = await f.evaluate(() => { try { return String(top.location.href); } catch { return 'blocked'; } });
      check("dashboard's URL unreadable from the frame", top === 'blocked', top);
      const origin = await f.evaluate(() => String(self.origin));
      check('frame has an opaque origin', origin === 'null', origin);
      const html = await f.content();
      info.hostile.sanitized = {
        script: /<script/i.test(html), onerror: /\sonerror=/i.test(html), onload: /\sonload=/i.test(html), refresh: /http-equiv=["']?refresh/i.test(html),
        dashboard_urls: (html.match(new RegExp(ORIGIN.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'g')) || []).length,
      };
      check('no nested frame of the dashboard inside the layout', !f.childFrames().some((c) => c.url().startsWith(ORIGIN) && !isFrameUrl(c.url())), f.childFrames().map((c) => c.url()));
    }
    const mine = requests.slice(before);
    const fromFrames = mine.filter((r) => r.from !== 'main');
    const bad = fromFrames.filter((r) => r.url.startsWith(ORIGIN) && r.reached && !(isFrameUrl(r.url) && r.url.includes(hash)));
    info.hostile.frame_requests = fromFrames.map((r) => ({ url: r.url.slice(0, 120), type: r.type, reached: r.reached, status: r.status, failure: r.failure }));
    check('no request from the frame reached the dashboard origin (except the frame URL)', bad.length === 0, bad);
    const leaks = mine.filter((r) => /leak=/.test(r.url));
    check('every leak request was blocked', leaks.every((r) => !r.reached), leaks);
    check('dashboard still on its page', new URL(page.url()).pathname === '/dashboard/', page.url());
    check('dashboard session still there', (await page.evaluate(async () => (await fetch('/api/session')).status)) === 200);
    await shot('player-hostile', page.locator('#player'));
  });
}

// ---------------------------------------------------------------- heatmap
await step('heatmap layout background', async () => {
  // The same layouts under a heatmap (the page of the first expected click's
  // layout, when there is one); a 404 keeps the neutral canvas.
  if (SESSION === '-') return;
  const sess = (await apiGet(`/api/sites/${encodeURIComponent(SITE)}/sessions/${encodeURIComponent(SESSION)}`)).body;
  const pv = (sess.events || []).find((e) => e.type === 'pageview');
  if (!pv) return;
  const vp = pv.vw >= 1024 ? 'desktop' : pv.vw >= 768 ? 'tablet' : 'mobile';
  await go(`#/heatmaps?site=${encodeURIComponent(SITE)}&range=all&page=${encodeURIComponent(pv.page)}&viewport=${vp}`);
  await page.locator('#heatmap-img').waitFor(T);
  await page.waitForFunction(() => { const i = document.querySelector('#heatmap-img'); return i && i.complete && i.naturalWidth > 0; }, null, T);
  const api = await apiGet(`/api/sites/${encodeURIComponent(SITE)}/layouts?page=${encodeURIComponent(pv.page)}&viewport=${vp}`);
  const got = await page.evaluate(() => {
    const f = document.querySelector('.hm-canvas iframe');
    return f ? { sandbox: f.getAttribute('sandbox'), src: f.getAttribute('src'), pointer: getComputedStyle(f).pointerEvents, neutral: !!document.querySelector('.hm-neutral') } : { neutral: !!document.querySelector('.hm-neutral') };
  });
  if (api.status === 200) {
    check('heatmap shows the stored layout under the overlay', got.sandbox === '' && /^\/replay\/frame\//.test(got.src || '') && got.pointer === 'none' && !got.neutral, got);
    await page.waitForTimeout(800);
    await shot('heatmap-with-layout', page.locator('.hm-wrap'));
  } else check('heatmap keeps the neutral canvas without a layout', !got.src && got.neutral, got);
});

// ---------------------------------------------------------------- summary
check('no console errors or page errors in the dashboard', problems.length === 0, problems.slice(0, 10));
await browser.close();
const failed = checks.filter((c) => !c.ok);
console.log(JSON.stringify({ ok: failed.length === 0, passed: checks.length - failed.length, failed: failed.length, checks, info, screenshots }, null, 2));
process.exit(failed.length ? 1 : 0);

// ---------------------------------------------------------------- seeding
async function seed(base1, token, site, shop1) {
  if (!base1 || !token || !site || !shop1) {
    console.error('usage: node tests/browser/replay_play.mjs --seed BASE_URL TOKEN SITE SHOP_URL');
    process.exit(2);
  }
  const base = base1.replace(/\/+$/, '');
  const shop = new URL(shop1).origin;
  const secret = 'zqx-typed-secret-' + Math.random().toString(36).slice(2, 8);
  const b = await chromium.launch(LAUNCH);
  const ctx = await b.newContext({ viewport: { width: 1280, height: 800 } });
  const pg = await ctx.newPage();
  await pg.route(/\/t\.js(\?|$)/, (r) => r.abort()); // the shop's own tracker stays out
  // A layout as the recorder takes it (no scripts, no input values, a <base>),
  // with the document boxes of some elements.
  const snap = (sels) => pg.evaluate(({ sels, secret }) => {
    for (const i of document.querySelectorAll('input[type=search], input[type=email], input:not([type])')) i.value = secret;
    const root = document.documentElement;
    const clone = root.cloneNode(true);
    clone.querySelectorAll('script,noscript,base,meta[http-equiv]').forEach((el) => el.remove());
    clone.querySelectorAll('input').forEach((el) => { if (!/^(submit|button|reset)$/.test(el.type)) el.removeAttribute('value'); });
    const bse = document.createElement('base');
    bse.href = document.baseURI.replace(/[?#].*/, '');
    (clone.querySelector('head') || clone).prepend(bse);
    const boxes = {};
    for (const s of sels) {
      const el = document.querySelector(s);
      if (!el) continue;
      const r = el.getBoundingClientRect();
      boxes[s] = { x: r.left + scrollX, y: r.top + scrollY, w: r.width, h: r.height };
    }
    return { html: '<!DOCTYPE html>' + clone.outerHTML, vw: innerWidth, vh: innerHeight, dw: root.scrollWidth, dh: root.scrollHeight, boxes, url: location.href, title: document.title };
  }, { sels, secret });
  const upload = async (html, url, size) => {
    const raw = Buffer.from(html, 'utf8');
    const hash = createHash('sha256').update(raw).digest('hex');
    const q = new URLSearchParams({ site, url, vw: size.vw, vh: size.vh, dw: size.dw, dh: size.dh });
    const r = await fetch(`${base}/api/replay/snapshots/${hash}?${q}`, { method: 'POST', headers: { Origin: shop }, body: gzipSync(raw) });
    if (![200, 201].includes(r.status)) throw new Error('snapshot upload: ' + r.status + ' ' + (await r.text()));
    return hash;
  };
  const collect = async (sid, events) => {
    const r = await fetch(`${base}/api/collect`, { method: 'POST', headers: { Origin: shop, 'Content-Type': 'text/plain' }, body: JSON.stringify({ site, sid, events }) });
    if (r.status !== 202) throw new Error('collect: ' + r.status + ' ' + (await r.text()));
  };
  const at = (bx, dx = 0.5, dy = 0.5) => ({ x: Math.round(bx.x + bx.w * dx), y: Math.round(bx.y + bx.h * dy), ox: Math.round(bx.w * dx), oy: Math.round(bx.h * dy) });
  const ev = [];
  const clicks = [];
  const pv = (ts, s) => ev.push({ type: 'pageview', ts, url: s.url, title: s.title, vw: s.vw, vh: s.vh, dw: s.dw, dh: s.dh });
  const lay = (ts, s, hash) => ev.push({ type: 'custom', ts, url: s.url, name: '$layout', props: { hash, vw: s.vw, vh: s.vh, dw: s.dw, dh: s.dh } });
  const click = (ts, s, sel, extra = {}, dx, dy) => {
    if (!s.boxes[sel]) throw new Error('no ' + sel + ' on ' + s.url);
    const c = at(s.boxes[sel], dx, dy);
    ev.push({ type: 'click', ts, url: s.url, sel, ...c, ...extra });
    clicks.push({ sel, x: c.x, y: c.y });
  };
  const scroll = (ts, s, y) => ev.push({ type: 'scroll', ts, url: s.url, depth: y + s.vh, max_depth: y + s.vh });
  const leave = (ts, s, ms) => ev.push({ type: 'leave', ts, url: s.url, engaged_ms: ms, max_depth: s.dh });

  const t0 = Date.now() - 10 * 60 * 1000;
  let t = t0;
  await pg.goto(shop + '/category/shoes.html', { waitUntil: 'load' });
  const cat = await snap(['.product-card .card-link']);
  pv(t, cat); lay(t + 400, cat, await upload(cat.html, cat.url, cat));
  if (cat.dh > cat.vh) { scroll(t + 2500, cat, cat.dh - cat.vh); scroll(t + 4200, cat, 0); }
  click(t + 6000, cat, '.product-card .card-link', { href: '/product/101.html', text: 'Ridgeline Mid Waterproof Hiker' });
  leave(t + 6100, cat, 6000);

  t += 7000;
  await pg.goto(shop + '/product/101.html', { waitUntil: 'load' });
  const sels = ['#add-to-cart', '#size', '.product-img', '.stars', '#compare-link'];
  const prod = await snap(sels);
  pv(t, prod); lay(t + 350, prod, await upload(prod.html, prod.url, prod));
  click(t + 2500, prod, '#size');
  click(t + 4500, prod, '#add-to-cart', { text: 'Add to cart' });
  await pg.click('#add-to-cart');
  await pg.waitForTimeout(300);
  // The page changed (cart count, message): a second layout in the same view.
  const prod2 = await snap(sels);
  lay(t + 5600, prod2, await upload(prod2.html, prod2.url, prod2));
  // 25 s idle, then rage clicks on the picture and a dead click on the stars.
  click(t + 31000, prod2, '.product-img', {}, 0.4, 0.5);
  click(t + 31250, prod2, '.product-img', {}, 0.42, 0.52);
  click(t + 31500, prod2, '.product-img', { rage: true }, 0.41, 0.49);
  click(t + 34000, prod2, '.stars', { dead: true }, 0.3, 0.5);
  scroll(t + 36000, prod2, Math.max(0, Math.min(prod2.dh - prod2.vh, 600)));
  click(t + 38000, prod2, '#compare-link', { href: '/compare.html', text: 'Compare' });
  leave(t + 38100, prod2, 12000);

  t += 39000;
  await pg.goto(shop + '/cart.html', { waitUntil: 'load' });
  await pg.waitForTimeout(200);
  const cart = await snap(['#checkout']);
  pv(t, cart); lay(t + 500, cart, await upload(cart.html, cart.url, cart));
  click(t + 3000, cart, '#checkout', { text: 'Checkout' });
  leave(t + 4000, cart, 4000);
  const rnd = () => Math.random().toString(36).slice(2, 10);
  await collect('replay-' + rnd(), ev);

  // Without layouts: the same visit a minute later, no $layout, and a last
  // page view without viewport or coordinates (as from an access log).
  const t1 = t0 + 60000;
  const evB = ev.filter((e) => e.name !== '$layout').map((e) => ({ ...e, ts: e.ts - t0 + t1 }));
  const lastTs = evB[evB.length - 1].ts;
  evB.push({ type: 'pageview', ts: lastTs + 1500, url: shop + '/thank-you.html', title: 'Thank you' });
  await collect('replay-nl-' + rnd(), evB);

  // Hostile: scripts, handlers, a meta refresh and requests to the dashboard.
  const hostile = `<!DOCTYPE html><html><head><base href="${shop}/product/102.html"><meta http-equiv="refresh" content="0;url=${base}/dashboard/"><title>Hostile</title>
<link rel="stylesheet" href="${base}/api/sites?leak=css"><style>@import url("${base}/api/sites?leak=import"); body{font:16px sans-serif;margin:24px}</style>
<script>window.__pwned=1;alert('pwned-script');console.log('pwned-console')</script></head>
<body><h1 id="hostile-h">Hostile layout</h1>
<img src=x onerror="window.__pwned=2;alert('pwned-img');console.log('pwned-img')">
<svg onload="window.__pwned=3;alert('pwned-svg')"><circle r=5 /></svg>
<img id="leak" src="${base}/api/sites?leak=1">
<iframe src="${base}/dashboard/"></iframe>
<a id="js-link" href="javascript:alert('pwned-a')">link</a>
<form action="${base}/api/sites"><button id="hostile-btn">Go</button></form>
<object data="${base}/api/sites?leak=obj"></object>
<div style="background:url(${base}/api/sites?leak=bg);height:40px">bg</div>
</body></html>`;
  const hsize = { vw: 1280, vh: 800, dw: 1280, dh: 1200 };
  const hh = await upload(hostile, shop + '/product/102.html', hsize);
  const tc = Date.now() - 5 * 60 * 1000;
  const u = shop + '/product/102.html';
  await collect('replay-hx-' + rnd(), [
    { type: 'pageview', ts: tc, url: u, title: 'Hostile', ...hsize },
    { type: 'custom', ts: tc + 100, url: u, name: '$layout', props: { hash: hh, ...hsize } },
    { type: 'click', ts: tc + 2000, url: u, x: 100, y: 40, sel: '#hostile-h', ox: 5, oy: 5 },
    { type: 'leave', ts: tc + 3000, url: u, engaged_ms: 3000, max_depth: 800 },
  ]);
  await b.close();

  // The server's ids, by start time.
  const findId = async (start) => {
    for (let i = 0; i < 60; i++) {
      const r = await fetch(`${base}/api/sites/${encodeURIComponent(site)}/sessions?limit=100&include_bots=true`, { headers: { Authorization: 'Bearer ' + token } });
      const j = await r.json();
      for (const x of j.sessions || []) if (Date.parse(x.start) === start) return x.id;
      await new Promise((res) => setTimeout(res, 250));
    }
    throw new Error('session starting at ' + start + ' not found');
  };
  console.log(JSON.stringify({
    session: await findId(t0), nolayout: await findId(t1), hostile: await findId(tc),
    expect: { clicks, secret },
  }));
}
