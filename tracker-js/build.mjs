// Builds dist/t.min.js from src/t.js with terser. `npm run build`.
// test/build.test.mjs imports buildCode() to check that the committed build
// is current, so the options live here only.
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

/** The minified tracker, as a string (deterministic for a given source). */
export async function buildCode() {
  const source = await readFile(SRC, 'utf8');
  const { code } = await minify(source, TERSER_OPTIONS);
  return code + '\n';
}

export function gzipSize(code) {
  return gzipSync(Buffer.from(code), { level: 9 }).length;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const code = await buildCode();
  await mkdir(here('./dist'), { recursive: true });
  await writeFile(DIST, code);
  console.log(`dist/t.min.js: ${Buffer.byteLength(code)} bytes, ${gzipSize(code)} bytes gzipped (-9)`);
}
