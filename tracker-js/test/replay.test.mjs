// The string masking of src/replay.js (the part between its "-- strings"
// markers, evaluated on its own: the rest needs a DOM, which
// tests/browser/replay_record.mjs drives in Chromium). `npm test`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { FILES } from '../build.mjs';

const source = await readFile(FILES['replay.min.js'].src, 'utf8');
const part = source.split('// -- strings')[1].split('// -- end strings --')[0].replace(/^.*\n/, '');
const { stars, scrub, SCRUBBED } = new Function(part + '\nreturn { stars, scrub, SCRUBBED };')();

test('stars keep the length and the white space', () => {
  assert.equal(stars('Jane Q. Public\n  x'), '**** ** ******\n  *');
  assert.equal(stars(''), '');
});

test('emails become stars of the same length', () => {
  const address = 'jane.doe+shop@mail.example.co.uk';
  assert.equal(scrub(`mail ${address} now`), `mail ${'*'.repeat(address.length)} now`);
  assert.equal(scrub('help@trailhead.example'), '*'.repeat(22));
  assert.equal(scrub('a@b'), 'a@b'); // no dot in the domain: not an address
});

test('runs of 6 or more digits, spaces and dashes inside, become stars', () => {
  assert.equal(scrub('card 4111 1111 1111 1111.'), 'card **** **** **** ****.');
  assert.equal(scrub('call 020-7946-0958'), 'call ' + '*'.repeat(13));
  assert.equal(scrub('Order TH-123456'), 'Order TH-******');
  assert.equal(scrub('IBAN DE89370400440532013000'), 'IBAN DE********************');
  assert.equal(scrub('12345 and 1 2 3 4 5'), '12345 and 1 2 3 4 5'); // 5 digits: kept
  assert.equal(scrub('$139.00, 2 x 42, size 10-12'), '$139.00, 2 x 42, size 10-12');
  assert.equal(scrub('12  34  56'), '12  34  56'); // two spaces break the run
});

test('text without personal data is unchanged', () => {
  const text = 'Trailhead Outfitters — Outdoor shoes, bags & hats. Since 2009.';
  assert.equal(scrub(text), text);
});

test('the scrubbed attributes', () => {
  for (const name of ['title', 'alt', 'value', 'placeholder', 'label', 'content', 'aria-label', 'data-user']) {
    assert.ok(SCRUBBED.test(name), name);
  }
  for (const name of ['src', 'srcset', 'style', 'class', 'id', 'd', 'viewBox', 'width']) {
    assert.ok(!SCRUBBED.test(name), name);
  }
});
