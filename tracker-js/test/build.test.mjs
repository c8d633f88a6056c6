// The committed builds are current and within budget. `npm test`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { buildCode, gzipSize, FILES } from '../build.mjs';

// Bytes, minified and gzipped at level 9.
const BUDGETS = { 't.min.js': 2048, 'errors.min.js': 1024, 'replay.min.js': 2560 };

for (const [name, budget] of Object.entries(BUDGETS)) {
  test(`dist/${name} is the build of its source`, async () => {
    const [built, committed] = await Promise.all([buildCode(name), readFile(FILES[name].dist, 'utf8')]);
    assert.ok(built === committed, `the committed dist/${name} is stale, run npm run build`);
  });

  test(`dist/${name} is at most ${budget} bytes minified and gzipped (-9)`, async () => {
    const code = await readFile(FILES[name].dist);
    const size = gzipSize(code);
    console.log(`${name}: ${code.length} bytes, ${size} bytes gzipped`);
    assert.ok(size <= budget, `${size} bytes gzipped, over the ${budget}-byte budget`);
  });

  test(`the build of ${name} is deterministic`, async () => {
    assert.equal(await buildCode(name), await buildCode(name));
  });
}

test('t.js loads errors.js and replay.js only with data-errors and data-replay, from its own origin', async () => {
  const code = await readFile(FILES['t.min.js'].dist, 'utf8');
  assert.match(
    code,
    /\["errors","replay"\]\.map\((\w+)=>\1 in \w+&&\(\w+\.appendChild\(\w+\.createElement\("script"\)\)\.src=new URL\("\/t\/"\+\1\+"\.js",\w+\.src\)\)\)/,
  );
});
