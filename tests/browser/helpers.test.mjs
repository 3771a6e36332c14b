// SPDX-License-Identifier: MIT
// tests/browser/helpers.test.mjs: the dashboard's pure helpers (htdocs/js/dom.js) under node:test,
// no browser: characters counted as the server counts them, and a Retry-After said in words.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { charCount, waitWords } from '../../htdocs/js/dom.js';

test('characters are counted as code points, like the server\'s 4000-character limit', () => {
  assert.equal(charCount(''), 0);
  assert.equal(charCount('héllo'), 5);
  // one emoji is one character for the server (4 UTF-8 bytes), two UTF-16 units in JavaScript
  assert.equal(charCount('\u{1F600}'), 1);
  assert.equal(charCount('\u{1F600}'.repeat(4000)), 4000);
  assert.equal('\u{1F600}'.repeat(4000).length, 8000);
});

test('a wait in seconds is said in words, rounded up', () => {
  assert.equal(waitWords(1), '1 second');
  assert.equal(waitWords(45), '45 seconds');
  assert.equal(waitWords(60), '1 minute');
  assert.equal(waitWords(61), '2 minutes');
  assert.equal(waitWords(900), '15 minutes');
  assert.equal(waitWords(3600), '1 hour');
  assert.equal(waitWords(5400), '2 hours');
  assert.equal(waitWords(0), '1 second');
});
