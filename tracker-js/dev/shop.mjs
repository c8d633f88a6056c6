// The demo shop and a fake collector with the replay snapshot protocol, for
// developing replay.js without the Rust server (not part of `npm test`).
//
//   node dev/shop.mjs [--src] [--no-replay] [--same-origin] [SHOP_PORT [COLLECTOR_PORT]]
//
// Shop (examples/storefront, placeholders replaced, data-replay added to the
// tag unless --no-replay) on SHOP_PORT (default 8301); collector on
// COLLECTOR_PORT (default 8302), or the shop's own port with --same-origin.
// The collector serves /t.js and /t/replay.js (dist/, or src/ with --src),
// answers POST /api/collect with 202 and implements
//   POST /api/replay/snapshots/{hash}?site=&url=&vw=&vh=&dw=&dh=
// in memory: empty body -> 204 known / 404 unknown; gzipped body -> 201
// stored / 200 already stored / 400 bad / 413 too large. CORS as the real
// server (Access-Control-Allow-Origin: the request's Origin).
// GET /__dev/state (on the collector) returns what it saw, as JSON.
import http from 'node:http';
import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { extname, join, normalize } from 'node:path';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const args = process.argv.slice(2);
const flag = (name) => args.includes(name);
const [shopPort = 8301, collectorPort = 8302] = args.filter((a) => /^\d+$/.test(a)).map(Number);
const sameOrigin = flag('--same-origin');
const SHOP_DIR = here('../../examples/storefront');
const SCRIPTS = flag('--src')
  ? { '/t.js': here('../src/t.js'), '/t/replay.js': here('../src/replay.js') }
  : { '/t.js': here('../dist/t.min.js'), '/t/replay.js': here('../dist/replay.min.js') };
const TYPES = { '.html': 'text/html; charset=utf-8', '.css': 'text/css', '.js': 'text/javascript', '.svg': 'image/svg+xml' };

const collectorOrigin = `http://127.0.0.1:${sameOrigin ? shopPort : collectorPort}`;
const state = { snapshots: {}, probes: [], uploads: [], preflights: 0, collect: 0, events: [] };

function body(req) {
  return new Promise((resolve) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
  });
}

async function collector(req, res) {
  const url = new URL(req.url, collectorOrigin);
  const cors = req.headers.origin ? { 'access-control-allow-origin': req.headers.origin, vary: 'Origin' } : {};
  const send = (status, json, headers = {}) => {
    res.writeHead(status, { ...cors, ...headers, ...(json ? { 'content-type': 'application/json' } : {}) });
    res.end(json ? JSON.stringify(json) : undefined);
  };
  if (SCRIPTS[url.pathname]) {
    res.writeHead(200, { 'content-type': 'text/javascript', 'cache-control': 'no-store' });
    return res.end(await readFile(SCRIPTS[url.pathname]));
  }
  if (url.pathname === '/__dev/state') return send(200, state);
  if (req.method === 'OPTIONS') {
    state.preflights++;
    return send(204, null, { 'access-control-allow-methods': 'POST', 'access-control-allow-headers': 'content-type' });
  }
  if (url.pathname === '/api/collect' && req.method === 'POST') {
    const raw = await body(req);
    state.collect++;
    try {
      for (const e of JSON.parse(raw).events) if (e.type !== 'scroll') state.events.push(e);
    } catch (e) {}
    return send(202);
  }
  const m = /^\/api\/replay\/snapshots\/([0-9a-f]{64})$/.exec(url.pathname);
  if (m && req.method === 'POST') {
    const hash = m[1];
    const site = url.searchParams.get('site');
    const key = `${site}/${hash}`;
    const raw = await body(req);
    const meta = Object.fromEntries(url.searchParams);
    if (!site) return send(400, { error: 'site is required' });
    if (!raw.length) {
      state.probes.push({ hash, ...meta, known: !!state.snapshots[key] });
      return send(state.snapshots[key] ? 204 : 404);
    }
    if (raw.length > 2 << 20) return send(413, { error: 'snapshot over 2 MiB compressed' });
    let html;
    try {
      html = gunzipSync(raw, { maxOutputLength: 16 << 20 });
    } catch (e) {
      return send(e.code === 'ERR_BUFFER_TOO_LARGE' ? 413 : 400, { error: 'not gzip, or over 16 MiB' });
    }
    if (createHash('sha256').update(html).digest('hex') !== hash) return send(400, { error: 'hash mismatch' });
    const known = !!state.snapshots[key];
    state.uploads.push({ hash, ...meta, gzip: raw.length, raw: html.length, contentType: req.headers['content-type'] || null });
    state.snapshots[key] = { raw: html.length, gzip: raw.length };
    return send(known ? 200 : 201);
  }
  send(404, { error: 'not found' });
}

async function shop(req, res) {
  let path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
  if (path.endsWith('/')) path += 'index.html';
  if (path.startsWith('/gifts/')) path = '/gifts/index.html';
  let status = 200;
  let file = join(SHOP_DIR, normalize(path));
  let data;
  try {
    if (!file.startsWith(SHOP_DIR)) throw new Error();
    data = await readFile(file);
  } catch (e) {
    status = 404;
    file = join(SHOP_DIR, '404.html');
    data = await readFile(file);
  }
  if (extname(file) === '.html') {
    let html = data
      .toString('utf8')
      .replaceAll('{{TRAILMAP_URL}}', collectorOrigin)
      .replaceAll('{{TRAILMAP_SITE}}', 'shop');
    if (!flag('--no-replay')) html = html.replace(/(<script defer src="[^"]*\/t\.js" data-site="[^"]*")/, '$1 data-replay');
    data = html;
  }
  res.writeHead(status, { 'content-type': TYPES[extname(file)] || 'application/octet-stream', 'cache-control': 'no-store' });
  res.end(data);
}

const handle = (fn) => (req, res) =>
  fn(req, res).catch((e) => {
    res.writeHead(500);
    res.end(String(e));
  });

if (sameOrigin) {
  http
    .createServer(handle((req, res) => (/^\/(t\.js|t\/replay\.js|api\/|__dev\/)/.test(req.url) ? collector(req, res) : shop(req, res))))
    .listen(shopPort, '127.0.0.1');
} else {
  http.createServer(handle(shop)).listen(shopPort, '127.0.0.1');
  http.createServer(handle(collector)).listen(collectorPort, '127.0.0.1');
}
console.log(JSON.stringify({ shop: `http://127.0.0.1:${shopPort}`, collector: collectorOrigin }));
