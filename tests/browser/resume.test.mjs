// SPDX-License-Identifier: MIT
// tests/browser/resume.test.mjs: the dashboard and the widget resume from the highest seq below
// which they hold every message (docs/websocket.md, "resume"), not from the highest they hold. A
// message stored by a node that died before passing it on (stored here with wsd_fixture, and
// published nowhere) is overtaken by a higher seq (the agent's own ack, the agent's next
// message); after a reconnect each client still gets it, once.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { BUILD, startStack, launchBrowser, openPage, login, waitOnline } from './lib.mjs';

let stack;
let browser;

before(async () => {
  stack = await startStack({ wsd: 2, name: 'browser-resume' });
  browser = await launchBrowser();
});

after(async () => {
  if (browser) await browser.close();
  if (stack) await stack.stop();
});

/** Stores a message in the stack's database the way a node does just before it dies. */
function storeLost(roomId, id, sender, author, text) {
  const out = execFileSync(path.join(BUILD, 'tests/wsd/wsd_fixture'), ['append', roomId, id, sender, author, text],
                           { env: { ...process.env, LIVECHAT_MONGO_DB: stack.env.LIVECHAT_MONGO_DB }, encoding: 'utf8' });
  return JSON.parse(out);
}

const count = (list, text) => list.filter((t) => t === text).length;

test('a message overtaken by a higher seq reaches the dashboard and the widget after a reconnect', async (t) => {
  const agent = await openPage(browser, 'agent');
  const customer = await openPage(browser, 'customer');
  let roomId;
  const agentTexts = () => agent.locator('[data-testid="chat"] [data-testid="message-text"]').allTextContents();
  const customerTexts = () => customer.getByTestId('lc-message').locator('.text').allTextContents();

  await t.test('an agent and a widget customer are in an engaged chat', async () => {
    await login(agent, stack.base, stack.admin.username, stack.admin.password);
    await waitOnline(agent);
    await customer.goto(stack.base + '/widget/demo.html');
    await customer.getByTestId('lc-bubble').click();
    await customer.getByTestId('lc-name').fill('Rita Resume');
    await customer.getByTestId('lc-start').click();
    const req = agent.getByTestId('request').filter({ hasText: 'Rita Resume' });
    await req.waitFor({ timeout: 15000 });
    await req.getByTestId('accept').click();
    await agent.getByTestId('chat').waitFor();
    roomId = await agent.getByTestId('chat').getAttribute('data-room-id');
    await customer.getByTestId('lc-message').filter({ hasText: 'has entered the chat' }).waitFor({ timeout: 15000 });
  });

  await t.test('the dashboard resumes below a customer message it never got', async () => {
    const lost = storeLost(roomId, 'lost-customer-1', 'customer', 'Rita Resume', 'lost with its node');
    await agent.getByTestId('compose').fill('written after it');
    await agent.getByTestId('compose').press('Enter');
    await agent.getByTestId('message-text').filter({ hasText: 'written after it' }).waitFor();
    await agent.waitForFunction(() => document.querySelector('[data-testid="message-pending"]') === null);
    const floor = await agent.evaluate((id) => window.livechat.desk.rooms.get(id).floor, roomId);
    assert.equal(floor, lost.seq - 1, 'the floor stays below the missing seq');
    await agent.evaluate(() => window.livechat.desk.socket.pause());
    await agent.evaluate(() => window.livechat.desk.socket.resume());
    await waitOnline(agent);
    await agent.getByTestId('message-text').filter({ hasText: 'lost with its node' }).waitFor({ timeout: 15000 });
    const texts = await agentTexts();
    for (const text of ['lost with its node', 'written after it']) assert.equal(count(texts, text), 1, `${text} once in ${texts}`);
    assert.ok(texts.indexOf('lost with its node') < texts.indexOf('written after it'), 'in seq order');
  });

  await t.test('the widget reconnects below an agent message it never got', async () => {
    await customer.getByTestId('lc-message').filter({ hasText: 'written after it' }).waitFor({ timeout: 15000 });
    storeLost(roomId, 'lost-agent-1', 'agent', 'Admin', 'the agent message that was lost');
    await agent.getByTestId('compose').fill('and the next one');
    await agent.getByTestId('compose').press('Enter');
    await customer.getByTestId('lc-message').filter({ hasText: 'and the next one' }).waitFor({ timeout: 15000 });
    await customer.evaluate(() => window.livechatWidget.ws.close());
    await customer.getByTestId('lc-message').filter({ hasText: 'the agent message that was lost' }).waitFor({ timeout: 15000 });
    const texts = await customerTexts();
    for (const text of ['written after it', 'the agent message that was lost', 'and the next one']) {
      assert.equal(count(texts, text), 1, `${text} once in ${texts}`);
    }
    assert.deepEqual(agent.errors, []);
    assert.deepEqual(customer.errors, []);
  });
});
