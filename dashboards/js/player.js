// Session replay player: the session's page views on a timeline, each shown
// in its recorded layout (a sandboxed, script-less iframe served by the
// trailmap server) at the recorded viewport size, with the visitor's cursor,
// clicks and scrolling animated over it.
//
// The layout frame cannot be scripted (sandbox="" and a CSP without
// scripts), so scrolling is drawn by moving the iframe, sized to the whole
// document, inside a clipping box of the viewport's size; the box is scaled
// to fit the player with a CSS transform. Page views without a stored
// layout (access-log sessions, expired layouts) are drawn as a neutral page
// card on a canvas of the recorded size, with the same cursor and controls.
import { h, s, api, clear, fmt, showTip, hideTip } from './core.js';

const IDLE_GAP = 3000; // gaps longer than this between events may be idle…
const IDLE_PLAY = 1000; // …and take this long when idle time is skipped
const MOVE_MS = 650; // cursor travel between clicks, wall-clock ms
const HOLD_MS = 320; // the cursor rests on a click at most this long (wall)
const SCROLL_MS = 550; // scroll animation, wall-clock ms
const RIPPLE_MS = 750; // click ripple, wall-clock ms
const BADGE_MS = 1600; // "Rage click" / "Dead click" badge, wall-clock ms
const CAPTION_MS = 2200;
const BUFFER_MAX_MS = 6000; // wait at most this long for a layout to load
const SPEEDS = [1, 2, 4, 8];
const PREFS_KEY = 'trailmap_player';
const AUTOPLAY_KEY = 'trailmap_player_autoplay';
const DEFAULT_VIEWPORT = { vw: 1280, vh: 800 };
const COLORS = ['#6366f1', '#0ea5e9', '#10b981', '#f59e0b', '#ec4899', '#8b5cf6', '#14b8a6', '#f97316'];
const HASH_RE = /^[0-9a-f]{64}$/;

const clamp = (v, lo, hi) => Math.max(lo, Math.min(hi, v));
const ease = (u) => (u < 0.5 ? 4 * u * u * u : 1 - Math.pow(-2 * u + 2, 3) / 2);
const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const pos = (v) => { const n = num(v); return n !== null && n > 0 ? n : null; };

function readPrefs() {
  try {
    const p = JSON.parse(sessionStorage.getItem(PREFS_KEY) || '{}');
    return { speed: SPEEDS.includes(p.speed) ? p.speed : 1, skip: p.skip !== false };
  } catch { return { speed: 1, skip: true }; }
}
function savePrefs(p) { try { sessionStorage.setItem(PREFS_KEY, JSON.stringify(p)); } catch { /* private mode */ } }

// Ask the next session view (reached with next/previous) to start playing.
export function requestAutoplay() { try { sessionStorage.setItem(AUTOPLAY_KEY, '1'); } catch { /* ignore */ } }
function takeAutoplay() {
  try { const v = sessionStorage.getItem(AUTOPLAY_KEY) === '1'; sessionStorage.removeItem(AUTOPLAY_KEY); return v; } catch { return false; }
}

export function clock(ms) {
  ms = Math.max(0, Math.round(ms / 1000));
  const hh = Math.floor(ms / 3600), m = Math.floor((ms % 3600) / 60), sec = ms % 60;
  return (hh ? hh + ':' + String(m).padStart(2, '0') : String(m)) + ':' + String(sec).padStart(2, '0');
}

// ---------------------------------------------------------------- model
// Page views with their layouts ("scenes"), clicks and scroll positions, in
// real time (ms from the session start).
export function buildModel(session, events) {
  const evs = (events || []).slice().sort((a, b) => a.seq - b.seq);
  const t0raw = Date.parse(session.start);
  let T0 = Number.isFinite(t0raw) ? t0raw : (evs.length ? evs[0].ts : 0);
  for (const e of evs) if (num(e.ts) !== null && e.ts < T0) T0 = e.ts;
  const views = [];
  let cur = null;
  let last = 0;
  for (const e of evs) {
    // Times never run backwards (clock skew between batches).
    const r = Math.max(last, num(e.ts) !== null ? e.ts - T0 : last);
    last = r;
    // A click is sent after a short wait (to tell dead clicks), so one that
    // started an SPA step arrives after that step's page view: it belongs
    // just before it, in the page view it happened on.
    if (e.type !== 'pageview' && cur && e.page && e.page !== cur.page && r - cur.r < 1500) {
      const back = views[views.length - 2];
      if (back && back.page === e.page) {
        const item = { e, r: Math.max(back.r, cur.r - 1) };
        back.events.push(item);
        if (e.type === 'click' && num(e.x) !== null && num(e.y) !== null) back.clicks.push(item);
        continue;
      }
    }
    if (e.type === 'pageview' || !cur || (e.page !== cur.page && e.type !== 'leave')) {
      cur = { index: views.length, page: e.page || '', r, pv: e.type === 'pageview' ? e : null, layouts: [], clicks: [], scrolls: [], events: [] };
      views.push(cur);
    }
    const item = { e, r };
    cur.events.push(item);
    if (e.type === 'custom' && e.name === '$layout' && e.props && HASH_RE.test(String(e.props.hash || ''))) {
      cur.layouts.push({ r, hash: e.props.hash, vw: pos(e.props.vw), vh: pos(e.props.vh), dw: pos(e.props.dw), dh: pos(e.props.dh),
        at: num(e.props.at), path: typeof e.props.path === 'string' ? e.props.path : null });
    } else if (e.type === 'click' && num(e.x) !== null && num(e.y) !== null) {
      cur.clicks.push(item);
    } else if (e.type === 'scroll' && num(e.depth) !== null) {
      cur.scrolls.push(item);
    }
  }
  // A layout captured just before an SPA step lands in the next page view
  // (its hash is known a moment later): give it back to the page view its
  // capture time and path name.
  for (const v of views) {
    for (const l of v.layouts.slice()) {
      if (!l.path || l.path === v.page || num(l.at) === null) continue;
      const at = l.at - T0;
      const home = views.filter((w) => w.page === l.path && w.r <= at + 1).pop();
      if (!home || home === v) continue;
      v.layouts.splice(v.layouts.indexOf(l), 1);
      l.r = Math.max(home.r, Math.min(at, l.r));
      home.layouts.push(l);
      home.layouts.sort((a, b) => a.r - b.r);
    }
  }
  const t1raw = Date.parse(session.end);
  const end = Math.max(last, Number.isFinite(t1raw) ? t1raw - T0 : 0, 1000);
  for (const [i, v] of views.entries()) {
    v.end = i + 1 < views.length ? views[i + 1].r : end;
    const pv = v.pv || {};
    // Scenes: the layout shown from a time on. The first layout stands for
    // the whole start of the page view (it is recorded just after it).
    const base = { vw: pos(pv.vw), vh: pos(pv.vh), dw: pos(pv.dw), dh: pos(pv.dh) };
    v.scenes = v.layouts.length
      ? v.layouts.map((l, k) => ({ r: k === 0 ? v.r : l.r, hash: l.hash, vw: l.vw || base.vw, vh: l.vh || base.vh, dw: l.dw || base.dw, dh: l.dh || base.dh }))
      : [{ r: v.r, hash: null, ...base }];
    for (const sc of v.scenes) {
      sc.known = !!(sc.vw && sc.vh);
      sc.vw = Math.round(sc.vw || DEFAULT_VIEWPORT.vw);
      sc.vh = Math.round(sc.vh || DEFAULT_VIEWPORT.vh);
    }
    const maxY = Math.max(0, ...v.clicks.map((c) => c.e.y + 40), ...v.scrolls.map((c) => c.e.depth));
    v.docH = Math.max(...v.scenes.map((sc) => Math.max(sc.dh || 0, sc.vh)), maxY);
    // Scroll keyframes: the viewport top. A scroll event gives the bottom
    // edge (depth); a click outside the viewport scrolls it into view.
    let top = 0;
    v.kf = [{ r: v.r, top: 0 }];
    for (const it of v.events) {
      const sc = sceneAtR(v, it.r);
      const maxTop = Math.max(0, v.docH - sc.vh);
      let target = null;
      if (it.e.type === 'scroll' && num(it.e.depth) !== null) target = clamp(it.e.depth - sc.vh, 0, maxTop);
      else if (it.e.type === 'click' && num(it.e.y) !== null && (it.e.y < top + 8 || it.e.y > top + sc.vh - 8)) {
        target = clamp(it.e.y - sc.vh / 2, 0, maxTop);
      }
      if (target !== null && Math.abs(target - top) > 0.5) { v.kf.push({ r: it.r, top: target }); top = target; }
    }
  }
  // Time the page view was visible and focused, from its last leave (the
  // tracker's engaged_ms is cumulative); null when unknown (access logs).
  for (const v of views) {
    const leaves = v.events.filter((x) => x.e.type === 'leave' && num(x.e.engaged_ms) !== null);
    v.engaged = leaves.length ? Math.max(...leaves.map((x) => x.e.engaged_ms)) : null;
  }
  const times = [0, ...views.flatMap((v) => v.events.map((x) => x.r)), end].sort((a, b) => a - b);
  return { T0, end, views, times, hasLayouts: views.some((v) => v.layouts.length > 0) };
}

function sceneAtR(v, r) {
  let sc = v.scenes[0];
  for (const x of v.scenes) if (x.r <= r) sc = x;
  return sc;
}

// Real time ↔ play time. With idle skipping, gaps over IDLE_GAP between
// events are compressed towards IDLE_PLAY, but only by the time the page
// view was not engaged (hidden or unfocused: its duration minus its
// engaged_ms), earliest gaps first: a visitor reading a page for a minute
// is watched for that minute at 1×, a tab left in the background is
// skipped. Page views without engagement data (access logs) skip every
// long gap.
export function buildClock(times, skip, views = []) {
  const knots = [{ r: 0, p: 0 }];
  const gaps = [];
  const idle = views.map((v) => ({ r0: v.r, r1: v.end, left: v.engaged == null ? Infinity : Math.max(0, v.end - v.r - v.engaged) }));
  const budgetAt = (r) => idle.find((b) => b.r0 <= r && r < b.r1) || { left: Infinity };
  let p = 0, prev = 0;
  for (const r of times) {
    if (r <= prev) continue;
    const d = r - prev;
    const b = skip && d > IDLE_GAP ? budgetAt(prev) : null;
    const cut = b ? Math.min(d - IDLE_PLAY, b.left) : 0;
    if (cut > 0) {
      b.left -= cut;
      gaps.push({ r0: prev, r1: r, p0: p, p1: p + d - cut });
    }
    p += d - cut;
    knots.push({ r, p });
    prev = r;
  }
  const interp = (x, a, b) => {
    if (x <= knots[0][a]) return knots[0][b];
    let lo = 0, hi = knots.length - 1;
    if (x >= knots[hi][a]) return knots[hi][b];
    while (hi - lo > 1) { const mid = (lo + hi) >> 1; if (knots[mid][a] <= x) lo = mid; else hi = mid; }
    const k0 = knots[lo], k1 = knots[hi];
    const span = k1[a] - k0[a];
    return span > 0 ? k0[b] + ((x - k0[a]) / span) * (k1[b] - k0[b]) : k0[b];
  };
  return { duration: p, gaps, toPlay: (r) => interp(r, 'r', 'p'), toReal: (pp) => interp(pp, 'p', 'r') };
}

// ---------------------------------------------------------------- icons
function icon(d, cls = '') {
  const svg = s('svg', { viewBox: '0 0 24 24', 'aria-hidden': 'true', class: 'pl-icon ' + cls });
  for (const p of [].concat(d)) svg.appendChild(s('path', { d: p }));
  return svg;
}
const ICONS = {
  play: 'M7 4.5v15l12.5-7.5z',
  pause: ['M6.5 4.5h4v15h-4z', 'M13.5 4.5h4v15h-4z'],
  replay: 'M12 4.5a7.5 7.5 0 1 1-7.07 10h2.2A5.4 5.4 0 1 0 12 6.6v2.9L7.5 5.55 12 1.6z',
  prev: ['M5 5h2.5v14H5z', 'M19 5l-10 7 10 7z'],
  next: ['M16.5 5H19v14h-2.5z', 'M5 5l10 7-10 7z'],
};

function cursorSvg() {
  const svg = s('svg', { viewBox: '0 0 24 24', width: 24, height: 24, 'aria-hidden': 'true', class: 'pl-cursor-svg' });
  svg.appendChild(s('path', { d: 'M0 0 L0 17.5 L4.6 13.4 L7.7 20.6 L10.9 19.2 L7.9 12.2 L14 12.1 Z', class: 'pl-cursor-arrow' }));
  return svg;
}

// ---------------------------------------------------------------- player
// createPlayer(ctx, session, events, {nav}) → {el, seek(realMs), destroy()}.
// nav: {prev, next} hrefs (null: none) or undefined when the session was
// opened on its own (then the buttons are hidden); may be a Promise.
// navIn: what list they walk ("the results", "the drop-off list").
export function createPlayer(ctx, session, events, opts = {}) {
  const model = buildModel(session, events);
  const prefs = readPrefs();
  const st = {
    P: 0, playing: false, speed: prefs.speed, skip: prefs.skip, clock: null,
    view: -1, scene: null, raf: 0, lastWall: 0, bufferSince: 0, destroyed: false, dragging: false,
  };
  const frames = new Map(); // hash → {state, el, info, promise}
  const colour = new Map();
  for (const v of model.views) if (!colour.has(v.page)) colour.set(v.page, COLORS[colour.size % COLORS.length]);

  // ---- DOM
  const root = h('section.player#player', { tabindex: '0', 'aria-label': 'Session replay', dataset: { state: 'paused' } });
  const pgIndex = h('span.pl-pg-index');
  const pgTitle = h('span.pl-pg-title');
  const pgUrl = h('span.pl-url.mono');
  const vpChip = h('span.pl-chip.pl-vp');
  const layoutChip = h('span.pl-chip.pl-layout-chip');
  const top = h('div.pl-top',
    h('div.pl-dots', h('span'), h('span'), h('span')),
    h('div.pl-address', pgIndex, h('div.pl-address-main', pgTitle, pgUrl)),
    vpChip, layoutChip);

  const docLayer = h('div.pl-doc');
  const framesBox = h('div.pl-frames');
  const neutral = h('div.pl-neutral');
  const marks = h('div.pl-marks');
  const cursor = h('div.pl-cursor#pl-cursor', { 'aria-hidden': 'true' }, cursorSvg());
  docLayer.append(neutral, framesBox, marks, cursor);
  const cardTitle = h('div.pl-card-title');
  const cardPath = h('div.pl-card-path.mono');
  const cardNote = h('div.pl-card-note');
  const pageCard = h('div.pl-pagecard', h('div.pl-card-glyph', { 'aria-hidden': 'true' }, h('span'), h('span'), h('span')), h('div.pl-card-body', cardTitle, cardPath, cardNote));
  const loadingBox = h('div.pl-loading', h('span.spinner'), 'Loading layout…');
  const viewport = h('div.pl-viewport', docLayer);
  // The card and the spinner are at screen size (not scaled with the page).
  const screen = h('div.pl-screen', viewport, pageCard, loadingBox);
  const idleBadge = h('div.pl-idle', { 'aria-live': 'polite' });
  const caption = h('div.pl-caption', { 'aria-live': 'polite' });
  const bigPlay = h('button.pl-bigplay', { type: 'button', 'aria-label': 'Play' }, icon(ICONS.play));
  const stage = h('div.pl-stage', screen, idleBadge, caption, bigPlay);

  // scrubber
  const scrubSegs = h('div.pl-scrub-segs');
  const scrubGaps = h('div.pl-scrub-gaps');
  const scrubFill = h('div.pl-scrub-fill');
  const scrubMarks = h('div.pl-scrub-marks');
  const scrubThumb = h('div.pl-scrub-thumb');
  const scrub = h('div.pl-scrub#pl-scrub', { role: 'slider', tabindex: '0', 'aria-label': 'Seek', 'aria-valuemin': '0' },
    h('div.pl-scrub-track', scrubSegs, scrubGaps, scrubFill), scrubMarks, scrubThumb);

  const playBtn = h('button.pl-btn.pl-play#pl-play', { type: 'button', 'aria-label': 'Play', title: 'Play (space)' }, icon(ICONS.play));
  const navIn = opts.navIn || 'the results';
  const prevBtn = h('a.pl-btn.pl-nav#pl-prev', { 'aria-label': 'Previous session', title: 'Previous session in ' + navIn }, icon(ICONS.prev), h('span', 'Prev'));
  const nextBtn = h('a.pl-btn.pl-nav#pl-next', { 'aria-label': 'Next session', title: 'Next session in ' + navIn }, h('span', 'Next'), icon(ICONS.next));
  const timeLabel = h('span.pl-time#pl-time');
  const speedBox = h('div.pl-speed#pl-speed', { role: 'group', 'aria-label': 'Playback speed' },
    SPEEDS.map((x) => h('button', { type: 'button', dataset: { speed: String(x) }, 'aria-pressed': 'false', on: { click: () => setSpeed(x) } }, x + '×')));
  const skipInput = h('input#pl-skip', { type: 'checkbox', checked: st.skip });
  const skipBox = h('label.pl-toggle', { title: 'Skip the time the tab was hidden or unfocused (gaps of more than 3 s between events)' }, skipInput, h('span.pl-switch', { 'aria-hidden': 'true' }), h('span', 'Skip idle'));
  const controls = h('div.pl-controls',
    h('div.pl-ctl-left', prevBtn, playBtn, nextBtn, timeLabel),
    h('div.pl-ctl-right', skipBox, speedBox));
  root.append(top, stage, h('div.pl-bottom', scrub, controls));

  if (!model.views.length) {
    clear(stage).appendChild(h('div.pl-empty', 'Nothing to replay: this session has no recorded events.'));
  }

  // ---- next / previous
  const setNav = (nav) => {
    for (const [btn, href] of [[prevBtn, nav && nav.prev], [nextBtn, nav && nav.next]]) {
      if (!nav) { btn.hidden = true; continue; }
      btn.hidden = false;
      if (href) { btn.setAttribute('href', href); btn.removeAttribute('aria-disabled'); btn.classList.remove('disabled'); } else {
        btn.removeAttribute('href'); btn.setAttribute('aria-disabled', 'true'); btn.classList.add('disabled');
      }
    }
  };
  setNav(opts.nav === undefined ? null : { prev: null, next: null });
  Promise.resolve(opts.nav).then((nav) => { if (!st.destroyed) setNav(opts.nav === undefined ? null : nav || { prev: null, next: null }); }, () => setNav({ prev: null, next: null }));
  for (const b of [prevBtn, nextBtn]) b.addEventListener('click', (e) => { if (!b.getAttribute('href')) { e.preventDefault(); return; } requestAutoplay(); });

  // ---- time base
  function rebuild() {
    const r = st.clock ? st.clock.toReal(st.P) : 0;
    st.clock = buildClock(model.times, st.skip, model.views);
    const c = st.clock;
    for (const v of model.views) {
      v.p = c.toPlay(v.r);
      v.pEnd = c.toPlay(v.end);
      for (const sc of v.scenes) sc.p = c.toPlay(sc.r);
      for (const k of v.kf) k.p = c.toPlay(k.r);
      for (const it of v.events) it.p = c.toPlay(it.r);
    }
    st.P = clamp(c.toPlay(r), 0, c.duration);
    drawScrubber();
    root.dataset.duration = String(Math.round(c.duration));
    root.dataset.skip = st.skip ? '1' : '0';
  }

  function drawScrubber() {
    const D = Math.max(1, st.clock.duration);
    const pct = (p) => (p / D) * 100 + '%';
    clear(scrubSegs); clear(scrubMarks); clear(scrubGaps);
    for (const v of model.views) {
      const seg = h('div.pl-scrub-seg');
      seg.style.left = pct(v.p);
      seg.style.width = 'calc(' + ((v.pEnd - v.p) / D) * 100 + '% - 1px)';
      seg.style.background = colour.get(v.page);
      scrubSegs.appendChild(seg);
      for (const it of v.events) {
        const e = it.e;
        const kind = e.type === 'click' ? (e.rage ? 'rage' : e.dead ? 'dead' : 'click') : e.type === 'custom' && e.name !== '$layout' ? 'custom' : null;
        if (!kind) continue;
        const m = h('button.pl-mark.pl-mark-' + kind, { type: 'button', tabindex: '-1', 'aria-label': 'Go to ' + kind + ' at ' + clock(it.r), dataset: { seq: String(e.seq) } });
        m.style.left = pct(it.p);
        m.addEventListener('pointerdown', (ev) => ev.stopPropagation());
        m.addEventListener('click', (ev) => { ev.stopPropagation(); seekReal(it.r); });
        m.addEventListener('pointermove', (ev) => showTip(ev.clientX, ev.clientY,
          h('strong', kind === 'custom' ? 'Event: ' + (e.name || '') : kind === 'rage' ? 'Rage click' : kind === 'dead' ? 'Dead click' : 'Click'),
          e.sel ? h('div.mono', e.sel) : null, e.text ? h('div', '“' + e.text + '”') : null,
          h('div.muted', v.page + ' · ' + clock(it.r))));
        m.addEventListener('pointerleave', hideTip);
        scrubMarks.appendChild(m);
      }
    }
    for (const g of st.clock.gaps) {
      const el = h('div.pl-scrub-gap', { title: 'Idle ' + fmt.dur(((g.r1 - g.r0) - (g.p1 - g.p0)) / 1000) + ' (skipped)' });
      el.style.left = pct(g.p0);
      el.style.width = ((g.p1 - g.p0) / D) * 100 + '%';
      scrubGaps.appendChild(el);
    }
    scrub.setAttribute('aria-valuemax', String(Math.round(model.end / 1000)));
  }

  // ---- layouts
  function frameFor(hash) {
    let f = frames.get(hash);
    if (f) return f;
    f = { state: 'loading', el: null, info: null };
    frames.set(hash, f);
    f.promise = api(ctx.base + '/layouts/' + encodeURIComponent(hash), null, { signal: ctx.signal }).then((info) => {
      if (st.destroyed) return;
      const url = info && typeof info.frame_url === 'string' ? info.frame_url : '';
      // Only the server's own frame route, on this origin.
      if (!/^\/replay\/frame\/[^/?#]+\/[0-9a-f]{64}\?/.test(url)) throw new Error('no frame URL');
      f.info = info;
      const el = h('iframe.pl-frame', {
        sandbox: '', src: url, scrolling: 'no', tabindex: '-1', title: 'Recorded layout of ' + (info.url || 'the page'),
        referrerpolicy: 'no-referrer', 'aria-hidden': 'true', dataset: { hash },
      });
      el.addEventListener('load', () => { f.state = 'ready'; el.classList.add('loaded'); render(); }, { once: true });
      f.el = el;
      framesBox.appendChild(el);
      render();
    }).catch((e) => {
      if (e && e.name === 'AbortError') return;
      f.state = 'missing';
      f.reason = e && e.status === 404 ? 'not stored' : 'unavailable';
      render();
    });
    return f;
  }
  // Layouts of this page view and the next one start loading.
  function prefetch(vi) {
    for (const v of model.views.slice(vi, vi + 2)) for (const sc of v.scenes) if (sc.hash) frameFor(sc.hash);
  }

  // ---- scaling
  let fit = { w: 0, h: 0 };
  const ro = new ResizeObserver(() => {
    const r = stage.getBoundingClientRect();
    // The whole player fits under the sticky top bar and toolbar.
    fit = { w: r.width - 32, h: Math.max(300, Math.min(window.innerHeight - 330, 860)) };
    layoutScreen();
    render();
  });
  ro.observe(stage);
  let scale = 1;
  function layoutScreen() {
    const sc = st.scene;
    if (!sc || !fit.w) return;
    scale = Math.min(1, fit.w / sc.vw, fit.h / sc.vh);
    screen.style.width = Math.round(sc.vw * scale) + 'px';
    screen.style.height = Math.round(sc.vh * scale) + 'px';
    viewport.style.width = sc.vw + 'px';
    viewport.style.height = sc.vh + 'px';
    viewport.style.transform = 'scale(' + scale + ')';
    root.style.setProperty('--pl-inv', String(1 / scale));
    root.dataset.scale = scale.toFixed(4);
  }

  // ---- per page view overlay
  let clickEls = [];
  function enterView(vi) {
    st.view = vi;
    const v = model.views[vi];
    prefetch(vi);
    clear(marks);
    clickEls = v.clicks.map((it) => {
      const e = it.e;
      const kind = e.rage ? 'rage' : e.dead ? 'dead' : 'click';
      const dot = h('div.pl-dot.pl-' + kind);
      const ring = h('div.pl-ring.pl-' + kind);
      const badge = kind === 'click' ? null : h('div.pl-badge.pl-' + kind, kind === 'rage' ? 'Rage click' : 'Dead click');
      for (const el of [dot, ring, badge]) {
        if (!el) continue;
        el.style.left = e.x + 'px';
        el.style.top = e.y + 'px';
        marks.appendChild(el);
      }
      return { it, dot, ring, badge };
    });
    cursor.hidden = !v.clicks.length;
    const pv = v.pv || {};
    pgIndex.textContent = (vi + 1) + ' / ' + model.views.length;
    pgTitle.textContent = pv.title || v.page || '(page)';
    pgUrl.textContent = pv.url || v.page || '';
    pgUrl.title = pv.url || v.page || '';
    cardTitle.textContent = pv.title || v.page || '(page)';
    cardPath.textContent = v.page || '';
    pageCard.classList.toggle('centered', !v.clicks.length);
    root.dataset.view = String(vi);
  }

  function setScene(sc, v) {
    st.scene = sc;
    layoutScreen();
    docLayer.style.width = sc.vw + 'px';
    docLayer.style.height = v.docH + 'px';
    neutral.style.height = v.docH + 'px';
    vpChip.textContent = sc.known ? sc.vw + ' × ' + sc.vh : 'viewport unknown';
  }

  // ---- state at play time P
  function scrollTop(v, P) {
    const kf = v.kf;
    let k = 0;
    while (k + 1 < kf.length && kf[k + 1].p <= P) k++;
    if (k + 1 < kf.length) {
      const a = kf[k], b = kf[k + 1];
      const dur = Math.min(SCROLL_MS * st.speed, b.p - a.p);
      const start = b.p - dur;
      if (P > start && dur > 0) return a.top + (b.top - a.top) * ease((P - start) / dur);
    }
    return kf[k].top;
  }
  function cursorAt(v, P, sc) {
    const pts = [{ p: v.p, x: sc.vw * 0.5, y: sc.vh * 0.55, start: true }, ...v.clicks.map((it) => ({ p: it.p, x: it.e.x, y: it.e.y }))];
    let k = 0;
    while (k + 1 < pts.length && pts[k + 1].p <= P) k++;
    const a = pts[k];
    if (k + 1 >= pts.length) return { x: a.x, y: a.y };
    const b = pts[k + 1];
    const gap = b.p - a.p;
    const hold = a.start ? 0 : Math.min(gap * 0.35, HOLD_MS * st.speed);
    const dur = Math.min(MOVE_MS * st.speed, gap - hold);
    const start = b.p - dur;
    if (P <= start || dur <= 0) return { x: a.x, y: a.y };
    const u = ease((P - start) / dur);
    // A slight arc, as hands move.
    const dx = b.x - a.x, dy = b.y - a.y, len = Math.hypot(dx, dy) || 1;
    const arc = Math.sin(Math.PI * u) * Math.min(36, len * 0.12);
    return { x: a.x + dx * u - (dy / len) * arc, y: a.y + dy * u + (dx / len) * arc };
  }

  function render() {
    if (st.destroyed || !model.views.length) return;
    const P = st.P;
    const c = st.clock;
    let vi = 0;
    for (let i = 0; i < model.views.length; i++) if (model.views[i].p <= P) vi = i;
    const v = model.views[vi];
    if (vi !== st.view) enterView(vi);
    let sc = v.scenes[0];
    for (const x of v.scenes) if (x.p <= P) sc = x;
    if (sc !== st.scene) setScene(sc, v);

    // layout frame
    const f = sc.hash ? frameFor(sc.hash) : null;
    let lstate = f ? f.state : 'none';
    for (const [hash, g] of frames) if (g.el) g.el.classList.toggle('shown', hash === sc.hash && g.state === 'ready');
    if (f && f.el) {
      f.el.style.width = sc.vw + 'px';
      f.el.style.height = Math.max(sc.dh || 0, sc.vh) + 'px';
    }
    const showCard = lstate !== 'ready';
    neutral.hidden = lstate === 'ready';
    pageCard.hidden = !showCard || lstate === 'loading';
    loadingBox.hidden = lstate !== 'loading';
    cardNote.textContent = lstate === 'missing' ? 'The layout of this page view is ' + (f.reason || 'not stored') + ' (expired, over quota or never uploaded): replaying as a page timeline.'
      : lstate === 'none' ? (sc.known ? 'No layout was recorded for this page view: replaying as a page timeline.' : 'No layout or viewport was recorded for this page view (e.g. from an access log).')
        : '';
    layoutChip.textContent = lstate === 'ready' ? 'Recorded layout' : lstate === 'loading' ? 'Loading layout…' : lstate === 'missing' ? 'Layout not stored' : 'No layout';
    layoutChip.dataset.state = lstate;
    root.dataset.layout = sc.hash || '';
    root.dataset.layoutState = lstate;

    // scroll + cursor
    const topPx = scrollTop(v, P);
    docLayer.style.transform = 'translate3d(0,' + (-topPx).toFixed(1) + 'px,0)';
    root.dataset.scroll = String(Math.round(topPx));
    if (v.clicks.length) {
      const cp = cursorAt(v, P, sc);
      cursor.style.transform = 'translate(' + cp.x.toFixed(1) + 'px,' + cp.y.toFixed(1) + 'px) scale(var(--pl-inv, 1))';
    }
    let lastClick = null;
    for (const ce of clickEls) {
      const passed = ce.it.p <= P;
      ce.dot.classList.toggle('on', passed);
      if (passed) lastClick = ce.it;
      const age = passed ? (P - ce.it.p) / st.speed : Infinity;
      if (age < RIPPLE_MS) {
        const u = age / RIPPLE_MS;
        ce.ring.style.opacity = String(0.95 * (1 - u));
        ce.ring.style.transform = 'translate(-50%,-50%) scale(calc(var(--pl-inv, 1) * ' + (0.25 + 0.95 * ease(u)).toFixed(3) + '))';
        ce.ring.classList.add('on');
      } else ce.ring.classList.remove('on');
      if (ce.badge) ce.badge.classList.toggle('on', age < BADGE_MS);
    }
    root.dataset.lastClick = lastClick ? String(lastClick.e.seq) : '';

    // caption: the latest event, for a moment
    let capItem = null;
    for (const it of v.events) {
      if (it.p > P) break;
      if (it.e.type === 'click' || (it.e.type === 'custom' && it.e.name !== '$layout')) capItem = it;
    }
    if (capItem && (P - capItem.p) / st.speed < CAPTION_MS) {
      const e = capItem.e;
      const what = e.type === 'custom' ? 'Event · ' + (e.name || '') : (e.rage ? 'Rage click' : e.dead ? 'Dead click' : 'Click') + (e.sel ? ' · ' + e.sel : '') + (e.text ? ' · “' + e.text + '”' : '');
      if (caption.textContent !== what) caption.textContent = what;
      caption.className = 'pl-caption on' + (e.rage ? ' rage' : e.dead ? ' dead' : e.type === 'custom' ? ' custom' : '');
    } else caption.className = 'pl-caption';

    // idle skipping
    const r = c.toReal(P);
    const gap = c.gaps.find((g) => P > g.p0 && P < g.p1);
    idleBadge.textContent = gap ? 'Skipping ' + fmt.dur(((gap.r1 - gap.r0) - (gap.p1 - gap.p0)) / 1000) + ' of inactivity' : '';
    idleBadge.classList.toggle('on', !!gap);

    // scrubber + time
    const D = Math.max(1, c.duration);
    const frac = clamp(P / D, 0, 1);
    scrubFill.style.width = frac * 100 + '%';
    scrubThumb.style.left = frac * 100 + '%';
    scrub.setAttribute('aria-valuenow', String(Math.round(r / 1000)));
    scrub.setAttribute('aria-valuetext', clock(r) + ' of ' + clock(model.end) + ', page ' + (vi + 1) + ': ' + v.page);
    timeLabel.textContent = clock(r) + ' / ' + clock(model.end);
    root.dataset.play = String(Math.round(P));
    root.dataset.time = String(Math.round(r));
  }

  // ---- transport
  function setState(name) {
    root.dataset.state = name;
    const playing = name === 'playing' || name === 'buffering';
    clear(playBtn).appendChild(icon(playing ? ICONS.pause : name === 'ended' ? ICONS.replay : ICONS.play));
    playBtn.setAttribute('aria-label', playing ? 'Pause' : name === 'ended' ? 'Replay' : 'Play');
    playBtn.title = (playing ? 'Pause' : name === 'ended' ? 'Replay' : 'Play') + ' (space)';
    // The big button only at the start and at the end: it would hide the page.
    bigPlay.hidden = playing || (name === 'paused' && st.P > 0);
    clear(bigPlay).appendChild(icon(name === 'ended' ? ICONS.replay : ICONS.play));
    root.classList.toggle('is-playing', playing);
  }
  function play() {
    if (!model.views.length) return;
    if (st.P >= st.clock.duration - 1) st.P = 0;
    st.playing = true;
    st.lastWall = performance.now();
    st.bufferSince = 0;
    setState('playing');
    cancelAnimationFrame(st.raf);
    st.raf = requestAnimationFrame(tick);
  }
  function pause(state = 'paused') {
    st.playing = false;
    cancelAnimationFrame(st.raf);
    setState(state);
    render();
  }
  function tick(now) {
    if (st.destroyed || !st.playing) return;
    if (!root.isConnected) { destroy(); return; }
    const dt = Math.min(250, now - st.lastWall);
    st.lastWall = now;
    // Wait (a while) for the layout on screen to load, like a video buffers.
    const sc = st.scene;
    const f = sc && sc.hash ? frames.get(sc.hash) : null;
    if (f && f.state === 'loading') {
      if (!st.bufferSince) st.bufferSince = now;
      if (now - st.bufferSince < BUFFER_MAX_MS) {
        if (root.dataset.state !== 'buffering') setState('buffering');
        render();
        st.raf = requestAnimationFrame(tick);
        return;
      }
    } else {
      st.bufferSince = 0;
      if (root.dataset.state === 'buffering') setState('playing');
    }
    if (!st.dragging) {
      // Never jump over a click in one frame (slow frames, high speeds):
      // every click gets its frame with the cursor on it.
      let next = Math.min(st.clock.duration, st.P + dt * st.speed);
      for (const v of model.views) for (const it of v.clicks) if (it.p > st.P && it.p < next) next = it.p;
      st.P = next;
    }
    render();
    if (st.P >= st.clock.duration) { pause('ended'); return; }
    st.raf = requestAnimationFrame(tick);
  }
  function toggle() { if (st.playing) pause(); else play(); }
  function seekPlay(P) {
    st.P = clamp(P, 0, st.clock.duration);
    if (!st.playing) setState(st.P >= st.clock.duration ? 'ended' : 'paused');
    render();
  }
  function seekReal(r) { seekPlay(st.clock.toPlay(r)); }
  function setSpeed(x) {
    st.speed = x;
    for (const b of speedBox.querySelectorAll('button')) {
      const on = +b.dataset.speed === x;
      b.classList.toggle('on', on);
      b.setAttribute('aria-pressed', String(on));
    }
    root.dataset.speed = String(x);
    savePrefs({ speed: st.speed, skip: st.skip });
    render();
  }

  playBtn.addEventListener('click', toggle);
  bigPlay.addEventListener('click', () => { play(); root.focus({ preventScroll: true }); });
  skipInput.addEventListener('change', () => {
    st.skip = skipInput.checked;
    savePrefs({ speed: st.speed, skip: st.skip });
    rebuild();
    render();
  });
  viewport.addEventListener('click', toggle);

  // scrubbing
  const seekFromPointer = (ev) => {
    const r = scrub.getBoundingClientRect();
    seekPlay(((ev.clientX - r.left) / Math.max(1, r.width)) * st.clock.duration);
  };
  scrub.addEventListener('pointerdown', (ev) => {
    if (ev.button !== 0) return;
    st.dragging = true;
    scrub.setPointerCapture(ev.pointerId);
    scrub.classList.add('dragging');
    seekFromPointer(ev);
  });
  scrub.addEventListener('pointermove', (ev) => {
    if (st.dragging) { seekFromPointer(ev); return; }
    const r = scrub.getBoundingClientRect();
    const P = ((ev.clientX - r.left) / Math.max(1, r.width)) * st.clock.duration;
    const real = st.clock.toReal(P);
    let v = model.views[0];
    for (const x of model.views) if (x.p <= P) v = x;
    if (v) showTip(ev.clientX, ev.clientY - 40, h('strong', clock(real)), h('div.mono', v.page));
  });
  const endDrag = () => { st.dragging = false; scrub.classList.remove('dragging'); };
  scrub.addEventListener('pointerup', endDrag);
  scrub.addEventListener('pointercancel', endDrag);
  scrub.addEventListener('pointerleave', hideTip);
  scrub.addEventListener('keydown', (ev) => {
    const step = { ArrowLeft: -5000, ArrowRight: 5000, PageDown: -30000, PageUp: 30000 }[ev.key];
    if (step) { ev.preventDefault(); ev.stopPropagation(); seekReal(clamp(st.clock.toReal(st.P) + step, 0, model.end)); } else if (ev.key === 'Home') { ev.preventDefault(); seekPlay(0); } else if (ev.key === 'End') { ev.preventDefault(); seekPlay(st.clock.duration); }
  });
  root.addEventListener('keydown', (ev) => {
    if (ev.target.closest('input, select, textarea, a, button:not(.pl-bigplay)') && ev.target !== root) return;
    if (ev.key === ' ' || ev.key === 'k') { ev.preventDefault(); toggle(); } else if (ev.key === 'ArrowLeft' || ev.key === 'ArrowRight') {
      ev.preventDefault();
      seekReal(clamp(st.clock.toReal(st.P) + (ev.key === 'ArrowLeft' ? -5000 : 5000), 0, model.end));
    }
  });

  function destroy() {
    if (st.destroyed) return;
    st.destroyed = true;
    st.playing = false;
    cancelAnimationFrame(st.raf);
    ro.disconnect();
  }
  if (ctx.signal) ctx.signal.addEventListener('abort', destroy, { once: true });

  // ---- start
  rebuild();
  setSpeed(st.speed);
  setState('paused');
  if (model.views.length) {
    render();
    if (takeAutoplay()) play();
  }
  root.dataset.hasLayouts = model.hasLayouts ? '1' : '0';

  return {
    el: root,
    model,
    seek(realMs) { seekReal(realMs); },
    play, pause: () => pause(),
    destroy,
  };
}
