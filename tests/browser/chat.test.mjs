// SPDX-License-Identifier: MIT
// tests/browser/chat.test.mjs: the whole chat in a real browser, through lighttpd with the
// shipped config and two livechat-wsd, against real FerretDB and RabbitMQ: an admin creates two
// agents, both see a widget customer's request, one declines, the other accepts, canned response,
// replies both ways, a reload mid-chat, an outage with resync, end; markup in messages stays text.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, launchBrowser, openPage, shot, login, waitOnline, publishToDocs } from './lib.mjs';

const T = 'chat';
const XSS = 'Hi, I need help <img src=x onerror="window.__xss=1"> with order 42';
const XSS2 = '<b>bold?</b><script>window.__xss=2</script> thanks';
let stack;
let browser;

before(async () => {
  stack = await startStack({ wsd: 2, name: 'browser-chat' });
  browser = await launchBrowser();
});

after(async () => {
  if (browser) await browser.close();
  if (stack) await stack.stop();
});

/** The texts of the messages shown in the agent's open chat. */
async function agentTexts(page) {
  return page.locator('[data-testid="chat"] [data-testid="message-text"]').allTextContents();
}

async function customerTexts(page) {
  return page.getByTestId('lc-message').locator('.text').allTextContents();
}

/** Asserts that text appears exactly once in list. */
function once(list, text, what) {
  assert.equal(list.filter((t) => t === text).length, 1, `${what}: "${text}" should be shown exactly once in ${JSON.stringify(list)}`);
}

async function noXss(page) {
  assert.equal(await page.evaluate(() => window.__xss), undefined, 'markup from a message was executed');
}

test('a widget customer and an agent hold a whole chat through two wsd nodes', async (t) => {
  const stamp = Date.now() % 100000;
  const ann = { username: `ann${stamp}`, name: 'Ann Agent', password: 'ann-secret-1' };
  const ben = { username: `ben${stamp}`, name: 'Ben Agent', password: 'ben-secret-1' };
  const admin = await openPage(browser, 'admin');
  const annPage = await openPage(browser, 'ann');
  const benPage = await openPage(browser, 'ben');
  const customer = await openPage(browser, 'customer');

  await t.test('an admin creates two agents on the users page', async () => {
    await login(admin, stack.base, stack.admin.username, stack.admin.password);
    await admin.getByTestId('nav-users').click();
    for (const u of [ann, ben]) {
      await admin.getByTestId('new-user-username').fill(u.username);
      await admin.getByTestId('new-user-display-name').fill(u.name);
      await admin.getByTestId('new-user-password').fill(u.password);
      await admin.getByTestId('new-user-group').selectOption('agent');
      await admin.getByTestId('new-user-submit').click();
      await admin.locator(`[data-testid="user-row"][data-username="${u.username}"]`).waitFor();
    }
    await shot(admin, T, 'users-created');
    // a short history, so that "load earlier" has something to load below
    await admin.getByTestId('nav-settings').click();
    await admin.getByTestId('setting-history_limit').fill('3');
    await admin.getByTestId('settings-save').click();
    await admin.getByTestId('toast').filter({ hasText: 'Settings saved' }).waitFor();
  });

  await t.test('agent Ann creates a canned response on her canned page', async () => {
    await login(annPage, stack.base, ann.username, ann.password);
    await annPage.getByTestId('nav-canned').click();
    await annPage.getByTestId('canned-shortcut').fill('greet');
    await annPage.getByTestId('canned-title').fill('Greeting');
    await annPage.getByTestId('canned-text').fill('Hello {customer}, I am {agent}. How can I help?');
    await annPage.getByTestId('canned-save').click();
    await annPage.locator('[data-testid="canned-row"][data-shortcut="greet"]').waitFor();
    await shot(annPage, T, 'canned-page');
    await annPage.getByTestId('nav-chats').click();
  });

  await t.test('both agents are online and show their name and group', async () => {
    await login(benPage, stack.base, ben.username, ben.password);
    for (const [page, u] of [[annPage, ann], [benPage, ben]]) {
      await waitOnline(page);
      assert.equal(await page.getByTestId('user-name').textContent(), u.name);
      assert.equal(await page.getByTestId('user-group').textContent(), 'agent');
    }
  });

  await t.test('the customer asks for an agent from the widget demo page', async () => {
    await customer.goto(stack.base + '/widget/demo.html');
    await customer.getByTestId('lc-bubble').click();
    await customer.getByTestId('lc-name').fill('Zoe <i>Customer</i>');
    await customer.getByTestId('lc-first-message').fill(XSS);
    await customer.getByTestId('lc-start').click();
    await customer.getByTestId('lc-message').filter({ hasText: 'Please wait' }).waitFor({ timeout: 15000 });
    await shot(customer, T, 'waiting');
  });

  await t.test('the request appears live for both agents with name, channel and first message', async () => {
    for (const page of [annPage, benPage]) {
      const req = page.getByTestId('request').filter({ hasText: 'Zoe <i>Customer</i>' });
      await req.waitFor({ timeout: 15000 });
      assert.equal(await req.getByTestId('request-channel').textContent(), 'widget');
      await req.getByTestId('request-first-message').filter({ hasText: XSS }).waitFor({ timeout: 15000 });
      assert.match(await req.getByTestId('request-waiting').textContent(), /waiting \d+ s/);
      await page.waitForFunction(() => document.title === '(1) livechat');
      // the beep (WebAudio) played for the new request
      assert.ok(Number(await page.evaluate(() => document.documentElement.dataset.beeps)) >= 1);
      assert.equal(await page.locator('[data-testid="request"] img').count(), 0, 'markup in the first message was rendered');
    }
    // the admin (allowed to accept too) has it in the desk while on another page
    await admin.waitForFunction(() => window.livechat.desk.requests.size === 1);
    await shot(benPage, T, 'request-offered');
  });

  await t.test('Ben declines: the request leaves his list only', async () => {
    await benPage.getByTestId('request').getByTestId('decline').click();
    await benPage.getByTestId('request').waitFor({ state: 'detached' });
    assert.equal(await benPage.title(), 'livechat');
    assert.equal(await annPage.getByTestId('request').count(), 1);
  });

  await t.test('Ann accepts: the chat opens with the history and the customer sees the join message', async () => {
    await annPage.getByTestId('request').getByTestId('accept').click();
    await annPage.getByTestId('chat').waitFor();
    await annPage.getByTestId('message-text').filter({ hasText: 'Ann Agent has entered the chat' }).waitFor({ timeout: 10000 });
    const texts = await agentTexts(annPage);
    once(texts, XSS, 'agent history');
    assert.equal(await annPage.getByTestId('request').count(), 0);
    assert.equal(await annPage.title(), 'livechat');
    // taken by Ann: gone at once from every other agent's list (the admin is on another node or not)
    await admin.waitForFunction(() => window.livechat.desk.requests.size === 0, null, { timeout: 5000 });
    assert.equal(await admin.title(), 'livechat');
    await customer.getByTestId('lc-message').filter({ hasText: 'Ann Agent has entered the chat' }).waitFor({ timeout: 15000 });
    assert.equal(await customer.getByTestId('lc-widget').getAttribute('data-phase'), 'joined');
    await shot(annPage, T, 'accepted');
    await shot(customer, T, 'joined');
  });

  await t.test('markup typed by the customer is shown as text on both sides', async () => {
    assert.equal(await annPage.locator('[data-testid="messages"] img').count(), 0);
    assert.equal(await customer.getByTestId('lc-messages').locator('img').count(), 0);
    once(await customerTexts(customer), XSS, 'customer transcript');
    await noXss(annPage);
    await noXss(customer);
  });

  const canned = 'Hello Zoe <i>Customer</i>, I am Ann Agent. How can I help?';
  await t.test('Ann inserts the canned response by /shortcut with the keyboard and sends it', async () => {
    const compose = annPage.getByTestId('compose');
    await compose.click();
    await compose.pressSequentially('/gre');
    const suggestion = annPage.getByTestId('canned-suggestion').filter({ hasText: '/greet' });
    await suggestion.waitFor();
    await shot(annPage, T, 'canned-suggestions');
    await compose.press('Enter');
    assert.equal(await compose.inputValue(), canned);
    await compose.press('Enter');
    await annPage.locator('[data-testid="message"][data-sender="agent"]').filter({ hasText: canned }).waitFor({ timeout: 10000 });
    await customer.getByTestId('lc-message').filter({ hasText: canned }).waitFor({ timeout: 15000 });
  });

  await t.test('the customer types (Ann sees the typing state) and replies, and Ann sees it live', async () => {
    await customer.getByTestId('lc-compose').fill(XSS2);
    await annPage.getByTestId('typing').filter({ hasText: 'Zoe <i>Customer</i> is typing' }).waitFor({ timeout: 15000 });
    await customer.getByTestId('lc-compose').press('Enter');
    await annPage.getByTestId('message-text').filter({ hasText: XSS2 }).waitFor({ timeout: 15000 });
    assert.equal(await annPage.getByTestId('typing').textContent(), '');
    await noXss(annPage);
  });

  const sam = await openPage(browser, 'sam');
  await t.test('a second customer asks while Ann chats, and Ann holds both chats at once', async () => {
    await sam.goto(stack.base + '/widget/demo.html');
    await sam.getByTestId('lc-bubble').click();
    await sam.getByTestId('lc-name').fill('Sam');
    await sam.getByTestId('lc-first-message').fill('Do you repair e-bikes?');
    await sam.getByTestId('lc-start').click();
    const req = annPage.getByTestId('request').filter({ hasText: 'Sam' });
    await req.getByTestId('request-first-message').filter({ hasText: 'Do you repair e-bikes?' }).waitFor({ timeout: 15000 });
    for (const text of ['It is a Gazelle.', 'The battery does not charge.']) {
      await sam.getByTestId('lc-compose').fill(text);
      await sam.getByTestId('lc-compose').press('Enter');
    }
    await sam.waitForFunction(() => window.livechatWidget.outbox.size === 0, null, { timeout: 10000 });
    // no leftover notices over the compose box in the picture the README shows
    await annPage.evaluate(() => document.querySelectorAll('[data-testid="toast"]').forEach((n) => n.remove()));
    const shotFile = await shot(annPage, T, 'dashboard-chat-and-request');
    publishToDocs(shotFile, 'dashboard.png');
    await req.getByTestId('accept').click();
    await annPage.getByTestId('chat-customer').filter({ hasText: 'Sam' }).waitFor();
    assert.equal(await annPage.getByTestId('chat-tab').count(), 2);
    // history_limit 3: the last three messages, then "load earlier" brings the older ones
    await annPage.getByTestId('message-text').filter({ hasText: 'Ann Agent has entered the chat' }).waitFor();
    assert.deepEqual(await agentTexts(annPage), ['It is a Gazelle.', 'The battery does not charge.', 'Ann Agent has entered the chat']);
    await annPage.getByTestId('load-earlier').click();
    await annPage.getByTestId('message-text').filter({ hasText: 'Do you repair e-bikes?' }).waitFor();
    assert.deepEqual(await agentTexts(annPage), ['Please wait, an agent will be with you shortly.', 'Do you repair e-bikes?',
      'It is a Gazelle.', 'The battery does not charge.', 'Ann Agent has entered the chat']);
    await annPage.getByTestId('load-earlier').waitFor({ state: 'hidden' });
    await annPage.getByTestId('compose').fill('Yes, we do.');
    await annPage.getByTestId('compose').press('Enter');
    await sam.getByTestId('lc-message').filter({ hasText: 'Yes, we do.' }).waitFor({ timeout: 15000 });
    await annPage.getByTestId('chat-tab').filter({ hasText: 'Zoe' }).click();
    await annPage.getByTestId('chat-customer').filter({ hasText: 'Zoe' }).waitFor();
    // the other chat's history stayed in its own pane
    assert.equal((await agentTexts(annPage)).includes('Yes, we do.'), false);
  });

  await t.test('Ann reloads mid-chat and gets every message once', async () => {
    await annPage.reload();
    await waitOnline(annPage);
    assert.equal(await annPage.getByTestId('chat-tab').count(), 2);
    await annPage.getByTestId('chat-tab').filter({ hasText: 'Zoe' }).click();
    await annPage.getByTestId('message-text').filter({ hasText: XSS2 }).waitFor({ timeout: 15000 });
    const texts = await agentTexts(annPage);
    for (const text of [XSS, 'Ann Agent has entered the chat', canned, XSS2]) once(texts, text, 'after reload');
    await shot(annPage, T, 'after-reload');
  });

  await t.test('while Ann is disconnected the banner shows; messages sent meanwhile arrive once after the resync', async () => {
    await annPage.evaluate(() => window.livechat.desk.socket.pause());
    await annPage.getByTestId('conn-banner').waitFor({ state: 'visible' });
    await shot(annPage, T, 'disconnected');
    for (const text of ['are you still there?', 'hello??']) {
      await customer.getByTestId('lc-compose').fill(text);
      await customer.getByTestId('lc-compose').press('Enter');
    }
    // the customer's messages are acknowledged (stored) before the agent comes back
    await customer.waitForFunction(() => window.livechatWidget.outbox.size === 0, null, { timeout: 10000 });
    await annPage.evaluate(() => window.livechat.desk.socket.resume());
    await waitOnline(annPage);
    assert.equal(await annPage.getByTestId('conn-banner').isVisible(), false);
    await annPage.getByTestId('message-text').filter({ hasText: 'hello??' }).waitFor({ timeout: 15000 });
    const texts = await agentTexts(annPage);
    for (const text of [XSS, canned, XSS2, 'are you still there?', 'hello??']) once(texts, text, 'after resync');
  });

  await t.test('the customer reloads the page and keeps the conversation', async () => {
    await customer.reload();
    await customer.getByTestId('lc-message').filter({ hasText: 'hello??' }).waitFor({ timeout: 15000 });
    const texts = await customerTexts(customer);
    for (const text of [XSS, canned, XSS2, 'hello??']) once(texts, text, 'customer after reload');
    assert.equal(await customer.getByTestId('lc-widget').getAttribute('data-phase'), 'joined');
    await customer.getByTestId('lc-compose').fill('back again');
    await customer.getByTestId('lc-compose').press('Enter');
    await annPage.getByTestId('message-text').filter({ hasText: 'back again' }).waitFor({ timeout: 15000 });
  });

  await t.test('a burst of customer messages beyond the rate limit is re-sent, not dropped', async () => {
    // 30 at once: past the widget's burst of 20, so some are answered rate_limited (counted here)
    // and must be re-sent by the widget with the same id until each is acked.
    const limited = await customer.evaluate(async () => {
      const w = window.livechatWidget;
      const onError = w.onError;
      let n = 0;
      w.onError = function (f) { if (f.code === 'rate_limited') n += 1; return onError.call(this, f); };
      for (let i = 0; i < 30; i++) w.postMessage(`burst ${i}`);
      const t0 = Date.now();
      while (w.outbox.size > 0 && Date.now() - t0 < 20000) await new Promise((r) => setTimeout(r, 100));
      w.onError = onError;
      return { n, left: w.outbox.size };
    });
    assert.ok(limited.n > 0, 'the burst should have met the rate limit');
    assert.equal(limited.left, 0, 'every message of the burst should be acked');
    await annPage.getByTestId('message-text').filter({ hasText: 'burst 29' }).waitFor({ timeout: 15000 });
    await annPage.waitForFunction(() => [...document.querySelectorAll('[data-testid="chat"] [data-testid="message-text"]')]
      .filter((n) => /^burst \d+$/.test(n.textContent)).length >= 30, null, { timeout: 15000 });
    const texts = await agentTexts(annPage);
    for (let i = 0; i < 30; i++) once(texts, `burst ${i}`, 'after the burst');
  });

  await t.test('Ann ends the chat and both sides see their closing message', async () => {
    annPage.once('dialog', (d) => d.accept());
    await annPage.getByTestId('end-chat').click();
    await annPage.getByTestId('chat-ended').waitFor({ state: 'visible', timeout: 10000 });
    await annPage.getByTestId('message-text').filter({ hasText: 'You ended the chat with Zoe <i>Customer</i>.' }).waitFor();
    await customer.getByTestId('lc-message').filter({ hasText: 'Ann Agent has ended the chat. Thank you for contacting us.' }).waitFor({ timeout: 15000 });
    await customer.getByTestId('lc-ended').waitFor({ state: 'visible' });
    await shot(annPage, T, 'ended');
    await shot(customer, T, 'ended');
  });

  await t.test('the second customer leaves and Ann sees that chat end', async () => {
    sam.once('dialog', (d) => d.accept());
    await sam.getByTestId('lc-leave').click();
    await sam.getByTestId('lc-ended').waitFor({ state: 'visible' });
    await annPage.getByTestId('chat-tab').filter({ hasText: 'Sam' }).click();
    await annPage.locator('[data-testid="chat"][data-ended="true"]').filter({ hasText: 'Sam' }).waitFor({ timeout: 15000 });
    await shot(sam, T, 'left');
  });

  await t.test('no page raised a script error', async () => {
    for (const page of [admin, annPage, benPage, customer, sam]) assert.deepEqual(page.errors, [], `${page.shotPrefix}: ${page.errors.join('; ')}`);
  });
});
