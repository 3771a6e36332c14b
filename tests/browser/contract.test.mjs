// SPDX-License-Identifier: MIT
// tests/browser/contract.test.mjs: what a person reads in the dashboard and the widget when
// things are not plain (issue 12, items 7-11), in Debian's Chromium through lighttpd, two wsd,
// real FerretDB and RabbitMQ: the 4000-character limit on both sides (shown while typing, never
// a lost text, a refused message marked failed with edit and resend), the agent's name in the
// widget's typing line, blank messages, earlier chats set apart by a dated divider, the first
// message of a request shown as it arrives, validation reasons in words, the wait of a throttled
// login, toasts that do not pile up over buttons, and a name error that goes once the name is typed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, launchBrowser, openPage, shot, login, waitOnline, rest, tokenFor } from './lib.mjs';

const T = 'contract';
const LIMIT = 4000;
let stack;
let browser;
let token;

before(async () => {
  stack = await startStack({ wsd: 2, name: 'browser-contract' });
  browser = await launchBrowser();
  token = await tokenFor(stack.base, stack.admin.username, stack.admin.password);
});

after(async () => {
  if (browser) await browser.close();
  if (stack) await stack.stop();
});

async function createUser(username, group, displayName) {
  const r = await rest(stack.base, token, 'POST', '/api/users',
    { username, password: `${username}-pass-1`, group, display_name: displayName });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return { username, password: `${username}-pass-1`, name: displayName };
}

/** The rectangles of two locators' elements overlap. */
function overlaps(a, b) {
  return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
}

/** Texts of the widget's messages. */
async function customerTexts(page) {
  return page.getByTestId('lc-message').locator('.text').allTextContents();
}

test('limits, typing, earlier chats and errors read well in the dashboard and the widget', async (t) => {
  const stamp = Date.now() % 100000;
  const ann = await createUser(`ann${stamp}`, 'agent', 'Ann Agent');
  // A group that may take chats but not read history over REST: the first message of a request
  // can reach it only through the websocket's request_updated.
  const g = await rest(stack.base, token, 'POST', '/api/groups', { name: 'takers', permissions: ['chats.accept'] });
  assert.equal(g.status, 201, JSON.stringify(g.body));
  const dan = await createUser(`dan${stamp}`, 'takers', 'Dan Desk');
  const admin = await openPage(browser, 'admin');
  const annPage = await openPage(browser, 'ann');
  const danPage = await openPage(browser, 'dan');
  const customer = await openPage(browser, 'customer');
  let roomId;

  await t.test('a login refused for too many failures says how long to wait (Retry-After)', async () => {
    const victim = `victim${stamp}`;
    let last;
    for (let i = 0; i < 6; i += 1) last = await rest(stack.base, null, 'POST', '/api/auth/login', { username: victim, password: 'wrong-password' });
    assert.equal(last.status, 429, JSON.stringify(last.body));
    await admin.goto(stack.base + '/');
    await admin.getByTestId('login-username').fill(victim);
    await admin.getByTestId('login-password').fill('wrong-password');
    await admin.getByTestId('login-submit').click();
    // the default login_window is 900 s
    await admin.getByTestId('login-error').filter({ hasText: 'try again in 15 minutes' }).waitFor({ timeout: 5000 });
    await shot(admin, T, 'login-throttled');
  });

  await t.test('a refused username says in words which characters are allowed', async () => {
    await login(admin, stack.base, stack.admin.username, stack.admin.password);
    await admin.getByTestId('nav-users').click();
    await admin.getByTestId('new-user-username').fill('no spaces please');
    await admin.getByTestId('new-user-password').fill('long-enough-1');
    await admin.getByTestId('new-user-submit').click();
    const err = admin.getByTestId('new-user-error');
    await err.filter({ hasText: /.+/ }).waitFor();
    const text = await err.textContent();
    assert.match(text, /username: must contain only letters, digits, '\.', '_', '@' and '-'/, text);
    assert.doesNotMatch(text, /\[|\]|\*|pattern/, `a regular expression is shown: ${text}`);
    await shot(admin, T, 'username-in-words');
  });

  await t.test('the websocket words a refused id the same way', async () => {
    const reply = await admin.evaluate(() => new Promise((resolve, reject) => {
      const ws = new WebSocket(`${location.origin.replace(/^http/, 'ws')}/ws/widget`);
      ws.onopen = () => ws.send(JSON.stringify({ type: 'hello' }));
      ws.onmessage = (ev) => {
        const f = JSON.parse(ev.data);
        if (f.type === 'welcome') ws.send(JSON.stringify({ type: 'message', id: 'no spaces!', text: 'hi', ref: 'bad' }));
        if (f.type === 'error') {
          ws.close();
          resolve(f);
        }
      };
      ws.onerror = () => reject(new Error('websocket failed'));
    }));
    assert.equal(reply.code, 'validation_failed');
    assert.equal(reply.message, "id: must contain only letters, digits, '_' and '-'");
  });

  await t.test('toasts do not pile up over the buttons of the users table', async () => {
    const names = [];
    for (let i = 0; i < 9; i += 1) names.push((await createUser(`pile${stamp}x${i}`, 'agent', `Pile ${i}`)).username);
    await admin.getByTestId('nav-groups').click();
    await admin.getByTestId('nav-users').click();
    await admin.locator(`[data-testid="user-row"][data-username="${names[8]}"]`).waitFor();
    for (const name of names.slice(0, 7)) {
      const row = admin.locator(`[data-testid="user-row"][data-username="${name}"]`);
      await row.getByTestId('user-toggle-active').click();
      await row.getByTestId('user-active').filter({ hasText: 'inactive' }).waitFor();
    }
    const toasts = await admin.getByTestId('toast').all();
    assert.ok(toasts.length >= 1 && toasts.length <= 3, `${toasts.length} toasts shown at once`);
    const buttons = await admin.locator('[data-testid="users-page"] button:visible').all();
    assert.ok(buttons.length > 20, `${buttons.length} buttons`);
    for (const toast of toasts) {
      const tb = await toast.boundingBox();
      for (const button of buttons) {
        const bb = await button.boundingBox();
        if (bb && tb) assert.ok(!overlaps(tb, bb), `a toast covers the button "${await button.textContent()}"`);
      }
    }
    await shot(admin, T, 'toasts');
  });

  await t.test('the widget\'s name error goes away once a name is typed', async () => {
    await customer.goto(stack.base + '/widget/demo.html');
    await customer.getByTestId('lc-bubble').click();
    await customer.getByTestId('lc-start').click();
    const err = customer.getByTestId('lc-intro-error');
    await err.filter({ hasText: 'Please tell us your name.' }).waitFor();
    await customer.getByTestId('lc-name').fill('Zoe');
    assert.equal(await err.textContent(), '');
    // the first message is held to the same limit as any other
    await customer.getByTestId('lc-first-message').fill('f'.repeat(LIMIT + 1));
    await customer.getByTestId('lc-first-note').filter({ hasText: `${LIMIT + 1} / ${LIMIT}` }).waitFor();
    assert.equal(await customer.getByTestId('lc-start').isDisabled(), true);
    await shot(customer, T, 'first-message-too-long');
  });

  await t.test('a customer asks once: "Please wait" shows once and the agents see the first message', async () => {
    await login(annPage, stack.base, ann.username, ann.password);
    await login(danPage, stack.base, dan.username, dan.password);
    await waitOnline(annPage);
    await waitOnline(danPage);
    await customer.getByTestId('lc-first-message').fill('My bike has a flat tyre');
    await customer.getByTestId('lc-start').click();
    await customer.getByTestId('lc-message').filter({ hasText: 'My bike has a flat tyre' }).waitFor({ timeout: 15000 });
    await customer.waitForFunction(() => window.livechatWidget.outbox.size === 0, null, { timeout: 10000 });
    // Dan's group cannot read messages over REST: only the websocket can tell him the text
    const req = danPage.getByTestId('request').filter({ hasText: 'Zoe' });
    await req.getByTestId('request-first-message').filter({ hasText: 'My bike has a flat tyre' }).waitFor({ timeout: 15000 });
    const texts = await customerTexts(customer);
    assert.equal(texts.filter((x) => x.startsWith('Please wait')).length, 1, JSON.stringify(texts));
    await shot(danPage, T, 'request-first-message');
  });

  await t.test('the widget\'s typing line names the agent without a reload', async () => {
    await annPage.getByTestId('request').filter({ hasText: 'Zoe' }).getByTestId('accept').click();
    await annPage.getByTestId('chat').waitFor();
    roomId = await annPage.getByTestId('chat').getAttribute('data-room-id');
    await customer.getByTestId('lc-message').filter({ hasText: 'Ann Agent has entered the chat' }).waitFor({ timeout: 15000 });
    await annPage.getByTestId('compose').pressSequentially('Let me');
    await customer.getByTestId('lc-status').filter({ hasText: 'Ann Agent is typing…' }).waitFor({ timeout: 10000 });
    await shot(customer, T, 'agent-typing');
    await annPage.getByTestId('compose').fill('');
  });

  await t.test('a blank widget message is cleared and the agent does not read "is typing"', async () => {
    const compose = customer.getByTestId('lc-compose');
    await compose.pressSequentially('   ');
    await compose.press('Enter');
    assert.equal(await compose.inputValue(), '');
    // The dashboard's own fallback would clear it after 15 s; the widget says it at once.
    await annPage.waitForFunction(() => document.querySelector('[data-testid="typing"]').textContent === '', null, { timeout: 8000 });
  });

  await t.test('the widget tells the customer that a 5000-character paste is too long, and keeps it', async () => {
    const compose = customer.getByTestId('lc-compose');
    const long = 'p'.repeat(5000);
    await compose.fill(long);
    assert.equal((await compose.inputValue()).length, 5000, 'the paste was cut');
    const note = customer.getByTestId('lc-compose-note');
    await note.filter({ hasText: '5000 / 4000' }).waitFor();
    await compose.press('Enter');
    assert.equal((await compose.inputValue()).length, 5000, 'the text was lost');
    assert.equal(await customer.evaluate(() => window.livechatWidget.outbox.size), 0, 'an over-long message was sent');
    assert.equal(await customer.getByTestId('lc-send').isDisabled(), true);
    await shot(customer, T, 'widget-too-long');
    await compose.fill('Short again');
    assert.equal(await note.isVisible(), false);
    await compose.press('Enter');
    await annPage.getByTestId('message-text').filter({ hasText: 'Short again' }).waitFor({ timeout: 15000 });
  });

  await t.test('the agent sees the limit while typing and cannot send over it; the text stays', async () => {
    const compose = annPage.getByTestId('compose');
    await compose.fill('a'.repeat(LIMIT + 1));
    await annPage.getByTestId('compose-count').filter({ hasText: `${LIMIT + 1} / ${LIMIT}` }).waitFor();
    assert.equal(await annPage.getByTestId('send').isDisabled(), true);
    await compose.press('Enter');
    assert.equal((await compose.inputValue()).length, LIMIT + 1, 'the compose box was cleared');
    assert.equal(await annPage.getByTestId('message-pending').count(), 0, 'an over-long message was sent');
    await shot(annPage, T, 'agent-too-long');
    await compose.press('Backspace');
    assert.equal(await annPage.getByTestId('send').isDisabled(), false);
    // a blank message is not sent, and the box is cleared
    await compose.fill('  \n  ');
    await compose.press('Enter');
    assert.equal(await compose.inputValue(), '');
    assert.equal(await annPage.getByTestId('message-pending').count(), 0, 'a blank message was sent');
  });

  await t.test('a message the server refuses is marked failed, and can be edited and sent again', async () => {
    // What the page itself no longer sends: the server's refusal of an over-long text.
    const long = `${'b'.repeat(LIMIT)}!`;
    await annPage.evaluate(([id, text]) => window.livechat.desk.rooms.get(id).post(text), [roomId, long]);
    const failed = annPage.locator('[data-testid="message-pending"][data-state="failed"]');
    await failed.waitFor({ timeout: 10000 });
    assert.equal(await failed.locator('.meta').textContent(), 'not sent');
    assert.equal(await failed.getByTestId('message-failure').textContent(), 'text: must be at most 4000 characters');
    await shot(annPage, T, 'agent-refused');
    await failed.getByTestId('message-resend').click();
    await annPage.locator('[data-testid="message-pending"][data-state="failed"]').waitFor({ timeout: 10000 });
    assert.equal(await annPage.getByTestId('message-pending').count(), 1, 'resend made a second bubble');
    await failed.getByTestId('message-edit').click();
    assert.equal(await annPage.getByTestId('message-pending').count(), 0);
    const compose = annPage.getByTestId('compose');
    assert.equal(await compose.inputValue(), long);
    await compose.press('Backspace');
    await compose.press('Enter');
    await customer.getByTestId('lc-message').filter({ hasText: 'b'.repeat(LIMIT) }).waitFor({ timeout: 15000 });
    assert.equal(await compose.inputValue(), '');
    // The agent's ack and the customer's copy leave wsd together, on two paths (the agent's
    // socket; the broker to the widget's node): the bubble goes when the ack is read, which may
    // come just after the customer shows the text.
    await annPage.getByTestId('message-pending').waitFor({ state: 'detached', timeout: 10000 });
  });

  await t.test('a returning customer\'s earlier chats are set apart by dated dividers', async () => {
    annPage.once('dialog', (d) => d.accept());
    await annPage.getByTestId('end-chat').click();
    await customer.getByTestId('lc-ended').waitFor({ state: 'visible', timeout: 15000 });
    await annPage.getByTestId('close-chat').click();
    // a second chat the customer leaves while waiting: it holds only "Please wait"
    await customer.getByTestId('lc-new-chat').click();
    await customer.getByTestId('lc-start').click();
    await annPage.getByTestId('request').filter({ hasText: 'Zoe' }).waitFor({ timeout: 15000 });
    customer.once('dialog', (d) => d.accept());
    await customer.getByTestId('lc-leave').click();
    await annPage.getByTestId('request').filter({ hasText: 'Zoe' }).waitFor({ state: 'detached', timeout: 15000 });
    await customer.getByTestId('lc-new-chat').click();
    await customer.getByTestId('lc-first-message').fill('Back about the tyre');
    await customer.getByTestId('lc-start').click();
    const req = annPage.getByTestId('request').filter({ hasText: 'Zoe' });
    await req.getByTestId('request-first-message').filter({ hasText: 'Back about the tyre' }).waitFor({ timeout: 15000 });
    await req.getByTestId('accept').click();
    const chat = annPage.getByTestId('chat');
    await chat.getByTestId('message-text').filter({ hasText: 'Back about the tyre' }).waitFor({ timeout: 15000 });
    const newRoom = await chat.getAttribute('data-room-id');
    const texts = await customerTexts(customer);
    assert.equal(texts.filter((x) => x.startsWith('Please wait')).length, 1, JSON.stringify(texts));

    const dividers = chat.getByTestId('room-divider');
    assert.equal(await dividers.count(), 3, 'one divider for each earlier chat, one for this one');
    const year = String(new Date().getFullYear());
    const labels = await dividers.allTextContents();
    for (const label of labels.slice(0, 2)) {
      assert.match(label, /^Earlier chat · /, label);
      assert.ok(label.includes(year), `no date in "${label}"`);
    }
    assert.match(labels[2], /^This chat · /, labels[2]);
    // Each chat's messages follow their own divider: "Please wait" never shows twice in a row.
    const order = await chat.locator('[data-testid="room-divider"], [data-testid="message"]').evaluateAll((nodes) =>
      nodes.map((n) => ({ kind: n.dataset.testid, room: n.dataset.roomId, text: n.querySelector('.text')?.textContent || '' })));
    assert.equal(order[0].kind, 'room-divider');
    assert.equal(order[0].room, roomId, 'the first chat comes first');
    assert.equal(order.at(-1).room, newRoom);
    for (let i = 1; i < order.length; i += 1) {
      if (order[i].kind !== 'message') continue;
      const prev = order[i - 1];
      if (prev.room !== order[i].room) assert.fail(`a message of ${order[i].room} follows ${prev.kind} of ${prev.room} without its divider`);
      if (order[i].text.startsWith('Please wait')) assert.equal(prev.kind, 'room-divider', `"Please wait" twice in a row: ${JSON.stringify(order)}`);
    }
    await shot(annPage, T, 'earlier-chats');
  });

  await t.test('no page raised a script error', async () => {
    for (const page of [admin, annPage, danPage, customer]) assert.deepEqual(page.errors, [], `${page.shotPrefix}: ${page.errors.join('; ')}`);
  });
});
