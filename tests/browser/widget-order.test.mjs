// SPDX-License-Identifier: MIT
// tests/browser/widget-order.test.mjs: a customer's messages are stored in the order typed even when
// one of them has to be re-sent (issue 11, item 15; docs/websocket.md: a re-sent message is stored
// after whatever reached the server meanwhile). The widget's connection spends its rate-limit burst
// on typing frames, so the first message is answered `rate_limited`; the next ones are typed while
// the server would take them again. The widget's outbox (js/chat-state.js) holds them behind the
// first until it is acked; the room's stored messages (REST API) show the order typed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, launchBrowser, openPage, rest } from './lib.mjs';

const NAME = 'Olga Order';
let stack;
let browser;

before(async () => {
  stack = await startStack({ wsd: 1, name: 'browser-worder' });
  browser = await launchBrowser();
});

after(async () => {
  if (browser) await browser.close();
  if (stack) await stack.stop();
});

test('a message re-sent after rate_limited is not overtaken by the ones typed after it', async () => {
  const page = await openPage(browser, 'worder');
  await page.goto(stack.base + '/widget/demo.html');
  await page.getByTestId('lc-bubble').click();
  await page.getByTestId('lc-name').fill(NAME);
  await page.getByTestId('lc-start').click();
  // The server's waiting text: the room exists.
  await page.locator('[data-testid="lc-message"][data-sender="system"]').first().waitFor({ timeout: 15000 });

  const res = await page.evaluate(async () => {
    const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
    const w = window.livechatWidget;
    const onError = w.onError;
    const limited = [];
    w.onError = function (f) { if (f.code === 'rate_limited' && f.id) limited.push(f.id); return onError.call(this, f); };
    // The burst (20 frames) spent: the next message is refused for now.
    for (let i = 0; i < 25; i++) w.socket.send({ type: 'typing', state: true });
    w.postMessage('order 1');
    const first = [...w.outbox.keys()][0];
    // A few tenths of a second on the bucket has tokens again, long before the first's re-send.
    await sleep(400);
    w.postMessage('order 2');
    await sleep(100);
    w.postMessage('order 3');
    const t0 = Date.now();
    while (w.outbox.size > 0 && Date.now() - t0 < 20000) await sleep(100);
    w.onError = onError;
    return { firstLimited: limited.includes(first), left: w.outbox.size };
  });
  assert.ok(res.firstLimited, 'the first message should have been answered rate_limited');
  assert.equal(res.left, 0, 'every message should be acked');

  const login = await rest(stack.base, null, 'POST', '/api/auth/login', stack.admin);
  const rooms = await rest(stack.base, login.body.token, 'GET', '/api/rooms', undefined);
  const room = rooms.body.items.find((r) => r.customer_name === NAME);
  assert.ok(room, JSON.stringify(rooms.body.items));
  const msgs = await rest(stack.base, login.body.token, 'GET', `/api/rooms/${room.id}/messages`, undefined);
  assert.equal(msgs.status, 200, JSON.stringify(msgs.body));
  const stored = msgs.body.items.filter((m) => m.sender === 'customer').reverse();
  assert.deepEqual(stored.map((m) => m.text), ['order 1', 'order 2', 'order 3'],
                   `stored in seq order = typed order: ${JSON.stringify(stored.map((m) => [m.seq, m.text]))}`);
  assert.deepEqual(page.errors, []);
});
