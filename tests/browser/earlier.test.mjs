// SPDX-License-Identifier: MIT
// tests/browser/earlier.test.mjs: a widget customer with a long conversation reloads the page and
// sees the newest page of it at once; "Earlier messages" loads the pages before, one per click,
// above what is shown, until the first message (docs/websocket.md, widget "history").
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { BUILD, startStack, launchBrowser, openPage, shot } from './lib.mjs';

let stack;
let browser;

before(async () => {
  stack = await startStack({ wsd: 1, name: 'browser-earlier' });
  browser = await launchBrowser();
});

after(async () => {
  if (browser) await browser.close();
  if (stack) await stack.stop();
});

/** Stores n agent messages of len characters in the room, as its writer would. */
function fill(roomId, n, len) {
  const out = execFileSync(path.join(BUILD, 'tests/wsd/wsd_fixture'), ['fill', roomId, String(n), String(len)],
                           { env: { ...process.env, LIVECHAT_MONGO_DB: stack.env.LIVECHAT_MONGO_DB }, encoding: 'utf8' });
  return JSON.parse(out);
}

test('a long conversation shows its newest page after a reload, and earlier pages on request', async () => {
  const customer = await openPage(browser, 'customer');
  const texts = () => customer.getByTestId('lc-message').locator('.text').allTextContents();
  await customer.goto(stack.base + '/widget/demo.html');
  await customer.getByTestId('lc-bubble').click();
  await customer.getByTestId('lc-name').fill('Lars Long');
  await customer.getByTestId('lc-start').click();
  await customer.getByTestId('lc-message').filter({ hasText: 'Please wait' }).waitFor({ timeout: 15000 });
  const roomId = await customer.evaluate(() => window.livechatWidget.roomId);
  assert.match(roomId, /^[0-9a-f]{24}$/);
  fill(roomId, 250, 40);

  await customer.reload();
  await customer.getByTestId('lc-message').first().waitFor({ state: 'attached', timeout: 15000 });
  // The panel stays open across the reload when it was (the widget remembers it).
  if (!(await customer.getByTestId('lc-panel').isVisible())) await customer.getByTestId('lc-bubble').click();
  const earlier = customer.getByTestId('lc-earlier');
  await earlier.waitFor({ state: 'visible', timeout: 15000 });
  assert.equal((await texts()).length, 100, 'the newest page (widget_page_messages)');
  await shot(customer, 'earlier', 'newest-page');
  await earlier.click();
  await customer.waitForFunction(() => window.livechatWidget.list.childElementCount === 200, null, { timeout: 15000 });
  await earlier.click();
  await customer.waitForFunction(() => window.livechatWidget.list.childElementCount === 251, null, { timeout: 15000 });
  await earlier.waitFor({ state: 'hidden' });
  const all = await texts();
  assert.match(all[0], /^Please wait/, 'the first message on top');
  assert.equal(all.filter((t) => t === 'x'.repeat(40)).length, 250);
  await shot(customer, 'earlier', 'all-pages');
  assert.deepEqual(customer.errors, []);
});
