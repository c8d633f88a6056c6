// The committed build is current and within budget. `npm test`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { buildCode, gzipSize, DIST } from '../build.mjs';

const BUDGET = 2048;

test('dist/t.min.js is the build of src/t.js', async () => {
  const [built, committed] = await Promise.all([buildCode(), readFile(DIST, 'utf8')]);
  assert.ok(built === committed, 'the committed build is stale, run npm run build');
});

test(`dist/t.min.js is at most ${BUDGET} bytes minified and gzipped (-9)`, async () => {
  const code = await readFile(DIST);
  const size = gzipSize(code);
  console.log(`t.min.js: ${code.length} bytes, ${size} bytes gzipped`);
  assert.ok(size <= BUDGET, `${size} bytes gzipped, over the ${BUDGET}-byte budget`);
});

test('the build is deterministic', async () => {
  assert.equal(await buildCode(), await buildCode());
});
