// Builds dist/t.min.js from src/t.js, dist/errors.min.js from src/errors.js
// and dist/replay.min.js from src/replay.js with terser. `npm run build`.
// test/build.test.mjs imports buildCode() to check that the committed builds
// are current, so the options live here only.
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { minify } from 'terser';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
export const SRC = here('./src/t.js');
export const DIST = here('./dist/t.min.js');

export const TERSER_OPTIONS = {
  ecma: 2017,
  compress: {
    passes: 3,
    unsafe: true,
    unsafe_arrows: true,
    unsafe_methods: true,
    pure_getters: true,
  },
  mangle: true,
  format: { comments: false },
};

// Every build: the source, the output and its terser options. The replay
// recorder needs CompressionStream (Chrome 80, Firefox 113, Safari 16.4),
// so it may use ES2020 syntax (object spread).
export const FILES = {
  't.min.js': { src: SRC, dist: DIST, options: TERSER_OPTIONS },
  'errors.min.js': { src: here('./src/errors.js'), dist: here('./dist/errors.min.js'), options: TERSER_OPTIONS },
  'replay.min.js': {
    src: here('./src/replay.js'),
    dist: here('./dist/replay.min.js'),
    options: { ...TERSER_OPTIONS, ecma: 2020 },
  },
};

/** A minified file (default: the tracker), as a string (deterministic for a given source). */
export async function buildCode(name = 't.min.js') {
  const { src, options } = FILES[name];
  const source = await readFile(src, 'utf8');
  const { code } = await minify(source, options);
  return code + '\n';
}

export function gzipSize(code) {
  return gzipSync(Buffer.from(code), { level: 9 }).length;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await mkdir(here('./dist'), { recursive: true });
  for (const [name, { dist }] of Object.entries(FILES)) {
    const code = await buildCode(name);
    await writeFile(dist, code);
    console.log(`dist/${name}: ${Buffer.byteLength(code)} bytes, ${gzipSize(code)} bytes gzipped (-9)`);
  }
}
