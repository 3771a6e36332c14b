// SPDX-License-Identifier: MIT
// tests/browser/embed.test.mjs: the widget embedded the way customers' sites embed it, on a page
// of ANOTHER origin with one script tag pointing at the chat server. The shop is a small Node HTTP
// server on another loopback port (Chromium lets a page load from a loopback address only when
// the page itself came from one, so the browser's request interception cannot play the shop). livechat-widget.js then imports its ES modules (widget/,
// js/ws.js, js/dom.js ...) across origins, which works only because the web server sends CORS
// headers for them; the widget's options from the tag and its websocket reach the chat server.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { once } from 'node:events';
import { startStack, launchBrowser, openPage, shot, rest } from './lib.mjs';

const T = 'embed';
let shop;
let stack;
let browser;

/** The shop's one page: its own content, and the chat server's script tag. */
function shopPage(chatBase) {
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Shop</title>
    <link rel="icon" href="data:,"></head><body><h1>A shop on another site</h1>
    <script src="${chatBase}/widget/livechat-widget.js" data-title="Ask the shop" async></script>
    </body></html>`;
}

/** The shop's policy: its own resources, plus the chat server's script, stylesheet and websocket. */
function strictCsp(chatBase) {
  const ws = chatBase.replace(/^http/, 'ws');
  return `default-src 'self'; img-src 'self' data:; script-src 'self' ${chatBase}; ` +
    `style-src 'self' ${chatBase}; connect-src 'self' ${ws}`;
}

before(async () => {
  stack = await startStack({ wsd: 1, name: 'browser-embed' });
  shop = http.createServer((req, res) => {
    const headers = { 'Content-Type': 'text/html; charset=utf-8' };
    // /strict: the CSP docs/widget.md tells a site to add, and nothing more (no 'unsafe-inline').
    if (req.url === '/strict') headers['Content-Security-Policy'] = strictCsp(stack.base);
    res.writeHead(200, headers);
    res.end(shopPage(stack.base));
  });
  shop.listen(0, '127.0.0.1');
  await once(shop, 'listening');
  browser = await launchBrowser();
});

after(async () => {
  if (browser) await browser.close();
  if (stack) await stack.stop();
  if (shop) shop.close();
});

test('a page of another site embeds the widget with one script tag and asks for an agent', async () => {
  const page = await openPage(browser, 'shop');
  const origin = `http://127.0.0.1:${shop.address().port}`;
  assert.notEqual(origin, stack.base);
  await page.goto(`${origin}/`);
  const bubble = page.getByTestId('lc-bubble');
  await bubble.waitFor({ timeout: 15000 });
  assert.equal(await bubble.getAttribute('title'), 'Ask the shop', 'the script tag\'s data-title reached the widget');
  await bubble.click();
  await page.getByTestId('lc-name').fill('Erin Embed');
  await page.getByTestId('lc-first-message').fill('Do you ship abroad?');
  await page.getByTestId('lc-start').click();
  await page.getByTestId('lc-message').filter({ hasText: 'Do you ship abroad?' }).waitFor({ timeout: 15000 });
  // The server's waiting text: the room exists.
  await page.locator('[data-testid="lc-message"][data-sender="system"]').first().waitFor({ timeout: 15000 });
  await shot(page, T, 'waiting');
  assert.deepEqual(page.errors, []);

  // The request reached the chat server: a waiting room of this customer.
  const login = await rest(stack.base, null, 'POST', '/api/auth/login', stack.admin);
  const rooms = await rest(stack.base, login.body.token, 'GET', '/api/rooms', undefined);
  assert.equal(rooms.status, 200, JSON.stringify(rooms.body));
  assert.ok(rooms.body.items.some((r) => r.customer_name === 'Erin Embed'), JSON.stringify(rooms.body.items));
});

test('under a strict CSP (style-src without unsafe-inline) the widget is styled and nothing is refused', async () => {
  const page = await openPage(browser, 'strict');
  // Recorded from the first script on (an init script is not subject to the page's policy).
  await page.addInitScript(() => {
    window.cspViolations = [];
    document.addEventListener('securitypolicyviolation',
      (e) => window.cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  const origin = `http://127.0.0.1:${shop.address().port}`;
  const res = await page.goto(`${origin}/strict`);
  assert.match(res.headers()['content-security-policy'], /style-src 'self' http:\/\/127\.0\.0\.1:\d+;/);
  const bubble = page.getByTestId('lc-bubble');
  await bubble.waitFor({ timeout: 15000 });
  // The stylesheet applied: the bubble is the round blue button of widget.css, fixed in the corner.
  const look = await bubble.evaluate((b) => {
    const cs = getComputedStyle(b);
    return { position: cs.position, background: cs.backgroundColor, radius: cs.borderRadius, width: cs.width };
  });
  assert.deepEqual(look, { position: 'fixed', background: 'rgb(36, 99, 235)', radius: '50%', width: '60px' });
  await bubble.click();
  const panel = page.getByTestId('lc-panel');
  await panel.waitFor({ timeout: 5000 });
  assert.equal(await panel.evaluate((p) => getComputedStyle(p).display), 'flex');
  // The websocket is allowed too: the widget gets as far as asking for an agent.
  await page.getByTestId('lc-name').fill('Cora Csp');
  await page.getByTestId('lc-start').click();
  await page.locator('[data-testid="lc-message"][data-sender="system"]').first().waitFor({ timeout: 15000 });
  await shot(page, T, 'strict-csp');
  assert.deepEqual(await page.evaluate(() => window.cspViolations), []);
  assert.deepEqual(page.errors, []);
});
