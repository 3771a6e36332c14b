// SPDX-License-Identifier: MIT
// tests/browser/outage.test.mjs: MongoDB goes away in the middle of a chat. The stack runs on a
// PRIVATE FerretDB (tests/wsd/private.mjs; the shared one on 27117 is never touched) that the test
// kills and starts again on the same data: the agent's message answered `unavailable` stays in the
// dashboard as "not sent yet — retrying", is re-sent with the same id until acknowledged, and then
// shows once for the agent, once for the widget customer, and is stored once (REST API).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, launchBrowser, openPage, shot, login, waitOnline, tokenFor, rest } from './lib.mjs';
import { PrivateFerret } from '../wsd/private.mjs';

const T = 'outage';
const TEXT = 'Sorry, one moment: written while the database was down.';
let ferret;
let stack;
let browser;

before(async () => {
  ferret = await new PrivateFerret().start();
  stack = await startStack({ wsd: 1, name: 'browser-outage', env: { LIVECHAT_MONGO_URI: ferret.url } });
  browser = await launchBrowser();
});

after(async () => {
  if (browser) await browser.close();
  if (stack) await stack.stop();
  if (ferret) await ferret.stop();
});

async function agentTexts(page) {
  return page.locator('[data-testid="chat"] [data-testid="message-text"]').allTextContents();
}

async function customerTexts(page) {
  return page.getByTestId('lc-message').locator('.text').allTextContents();
}

function count(list, text) {
  return list.filter((t) => t === text).length;
}

test('an agent message written while MongoDB is down is retried and delivered once', async (t) => {
  const agent = await openPage(browser, 'agent');
  const customer = await openPage(browser, 'customer');
  const token = await tokenFor(stack.base, stack.admin.username, stack.admin.password);
  let roomId;

  await t.test('an agent and a widget customer are in an engaged chat', async () => {
    await login(agent, stack.base, stack.admin.username, stack.admin.password);
    await waitOnline(agent);
    await customer.goto(stack.base + '/widget/demo.html');
    await customer.getByTestId('lc-bubble').click();
    await customer.getByTestId('lc-name').fill('Olga Outage');
    await customer.getByTestId('lc-first-message').fill('Is anybody there?');
    await customer.getByTestId('lc-start').click();
    const req = agent.getByTestId('request').filter({ hasText: 'Olga Outage' });
    await req.waitFor({ timeout: 15000 });
    await req.getByTestId('accept').click();
    await agent.getByTestId('chat').waitFor();
    roomId = await agent.getByTestId('chat').getAttribute('data-room-id');
    assert.match(roomId, /^[0-9a-f]{24}$/);
    await customer.getByTestId('lc-message').filter({ hasText: 'has entered the chat' }).waitFor({ timeout: 15000 });
    await agent.getByTestId('message-text').filter({ hasText: 'Is anybody there?' }).waitFor({ timeout: 15000 });
  });

  await t.test('with FerretDB killed, the message stays in the chat as not sent yet, retrying', async () => {
    await ferret.kill();
    await agent.getByTestId('compose').fill(TEXT);
    await agent.getByTestId('compose').press('Enter');
    const pending = agent.getByTestId('message-pending').filter({ hasText: TEXT });
    await pending.waitFor({ timeout: 5000 });
    // the server's `unavailable` arrives within a few seconds; the message is then marked retrying
    await agent.locator('[data-testid="message-pending"][data-state="retrying"]').filter({ hasText: TEXT }).waitFor({ timeout: 30000 });
    assert.match(await pending.locator('.meta').textContent(), /not sent yet — retrying/);
    assert.equal(count(await agentTexts(agent), TEXT), 0, 'shown as sent while the database is down');
    // it stays pending across several retries while the database is down
    await new Promise((r) => setTimeout(r, 4000));
    assert.equal(await pending.count(), 1);
    assert.equal(count(await customerTexts(customer), TEXT), 0, 'the customer got a message that was not stored');
    await shot(agent, T, 'retrying');
  });

  await t.test('FerretDB back on the same data: the message is sent, shown once on both sides, stored once', async () => {
    await ferret.boot();
    await agent.getByTestId('message-text').filter({ hasText: TEXT }).waitFor({ timeout: 60000 });
    await agent.getByTestId('message-pending').waitFor({ state: 'detached', timeout: 5000 });
    await customer.getByTestId('lc-message').filter({ hasText: TEXT }).waitFor({ timeout: 30000 });
    // a late ack or redelivery would show up a moment later: look again after a while
    await new Promise((r) => setTimeout(r, 3000));
    assert.equal(count(await agentTexts(agent), TEXT), 1, `agent: ${JSON.stringify(await agentTexts(agent))}`);
    assert.equal(await agent.getByTestId('message-pending').count(), 0);
    assert.equal(count(await customerTexts(customer), TEXT), 1, `customer: ${JSON.stringify(await customerTexts(customer))}`);
    const r = await rest(stack.base, token, 'GET', `/api/rooms/${roomId}/messages?limit=200`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const stored = r.body.items.filter((m) => m.text === TEXT);
    assert.equal(stored.length, 1, `stored: ${JSON.stringify(r.body.items)}`);
    assert.equal(stored[0].sender, 'agent');
    await shot(agent, T, 'sent');
    await shot(customer, T, 'received');
  });

  await t.test('the agent can chat on after the outage', async () => {
    await customer.getByTestId('lc-compose').fill('Thanks, got it.');
    await customer.getByTestId('lc-compose').press('Enter');
    await agent.getByTestId('message-text').filter({ hasText: 'Thanks, got it.' }).waitFor({ timeout: 15000 });
    await waitOnline(agent);
  });

  await t.test('no page raised a script error', async () => {
    for (const page of [agent, customer]) assert.deepEqual(page.errors, [], `${page.shotPrefix}: ${page.errors.join('; ')}`);
  });
});
