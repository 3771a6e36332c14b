// SPDX-License-Identifier: MIT
// examples/websocket-demo/demo.test.mjs: the demo over real loopback connections: demo-server on
// a port the kernel picks, the C client demo-client, a Node `ws` client, and the page in Debian's
// Chromium. Echo, broadcast, ping/pong both ways, close codes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { once } from 'node:events';
import path from 'node:path';
import { launchBrowser, openPage, shot } from '../../tests/browser/lib.mjs';

// ESM ignores NODE_PATH; require() honours it (tests/run-node-test.sh sets it).
const require = createRequire(import.meta.url);
const WebSocket = require('ws');
const here = path.dirname(new URL(import.meta.url).pathname);
const BIN = process.env.LC_DEMO_BIN || here;
const PAGE = process.env.LC_DEMO_PAGE || path.join(here, 'page');

// Every wait ends: a test that hangs fails after 30 s instead.
const LIMIT = { timeout: 30000 };
let server;
let port;
let serverLog = '';

/** Resolves once `pred(items)` holds for what `source` has collected; fails after 10 s saying `what`. */
function waitFor(source, pred, what) {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (!pred(source.items)) return false;
      clearTimeout(timer);
      source.off('item', check);
      resolve(source.items);
      return true;
    };
    const timer = setTimeout(() => {
      source.off('item', check);
      reject(new Error(`no ${what} within 10 s; got ${JSON.stringify(source.items)}\nserver: ${serverLog}`));
    }, 10000);
    if (!check()) source.on('item', check);
  });
}

/** Collects the lines a stream writes as `stream.items`, emitting 'item' for each. */
function lines(stream) {
  let rest = '';
  stream.items = [];
  stream.on('data', (d) => {
    const parts = (rest + d).split('\n');
    rest = parts.pop();
    for (const l of parts) { stream.items.push(l); stream.emit('item'); }
  });
  return stream;
}

/** A Node client of "demo-chat"; `ws.items` holds the texts received. */
async function nodeClient() {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`, 'demo-chat');
  ws.items = [];
  ws.on('message', (d) => { ws.items.push(String(d)); ws.emit('item'); });
  await once(ws, 'open');
  assert.equal(ws.protocol, 'demo-chat', 'the server names the subprotocol it accepted');
  return ws;
}

/** demo-client, fed through its stdin; `c.stdout.items` holds the lines it printed. */
function cClient() {
  const c = spawn(path.join(BIN, 'demo-client'), ['-p', String(port)], { stdio: ['pipe', 'pipe', 'pipe'] });
  lines(c.stdout);
  c.stderr.on('data', (d) => { c.errText = (c.errText || '') + d; });
  return c;
}

before(async () => {
  // -i 1: an idle client is pinged after one second, so the test sees the server's ping.
  server = spawn(path.join(BIN, 'demo-server'), ['-p', '0', '-d', PAGE, '-i', '1'],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  server.stderr.on('data', (d) => { serverLog += d; });
  const [first] = await waitFor(lines(server.stdout), (l) => l.length > 0, 'listening line');
  port = Number(/^listening on http:\/\/127\.0\.0\.1:(\d+)\/$/.exec(first)?.[1]);
  assert.ok(port > 0, `demo-server said: ${first}`);
});

after(async () => {
  server.kill('SIGTERM');
  const [code] = await once(server, 'exit');
  assert.equal(code, 0, 'demo-server stops cleanly on SIGTERM');
});

test('the C client and a Node client each get their own message back and the other\'s', LIMIT, async () => {
  const ws = await nodeClient();
  const c = cClient();
  c.stdin.write('hello from C\n');
  // When Node sees the C client's message, the C client is connected and will see Node's.
  await waitFor(ws, (m) => m.includes('hello from C'), 'broadcast of the C client\'s message');
  ws.send('hello from Node');
  await waitFor(ws, (m) => m.includes('hello from Node'), 'echo of Node\'s message');
  await waitFor(c.stdout, (l) => l.includes('hello from Node'), 'broadcast of Node\'s message');
  assert.deepEqual(c.stdout.items, ['hello from C', 'hello from Node'], 'the C client saw its echo first');

  c.stdin.write('/ping\n');
  await waitFor(c.stdout, (l) => l.includes('pong'), 'pong for the C client\'s ping');
  ws.ping();
  await once(ws, 'pong');

  // The end of stdin closes with 1000; the client exits 0 once the server answered the close.
  c.stdin.end();
  const [exitCode] = await once(c, 'exit');
  assert.equal(exitCode, 0, `demo-client: ${c.errText}`);
  assert.match(serverLog, /client closed: 1000 bye/);
  ws.close(1000, 'done');
  const [code, reason] = await once(ws, 'close');
  assert.deepEqual([code, String(reason)], [1000, 'done'], 'the server echoes the close frame');
  assert.match(serverLog, /client closed: 1000 done/);
});

test('the server pings an idle client, which answers by itself', LIMIT, async () => {
  const ws = await nodeClient();
  await once(ws, 'ping');
  ws.close(1000);
  await once(ws, 'close');
});

test('the server closes with 1003 on a binary frame, 1007 on text that is not UTF-8 and 1009 on a message over 4096 bytes', LIMIT, async () => {
  const bin = await nodeClient();
  bin.send(Buffer.from([1, 2, 3]));
  const [code1, reason1] = await once(bin, 'close');
  assert.deepEqual([code1, String(reason1)], [1003, 'text frames only']);
  const big = await nodeClient();
  big.send('x'.repeat(4097));
  const [code2, reason2] = await once(big, 'close');
  assert.deepEqual([code2, String(reason2)], [1009, 'message too big']);
  const bad = await nodeClient();
  bad.send(Buffer.from([0x68, 0xff, 0xfe]), { binary: false });
  const [code3] = await once(bad, 'close');
  assert.equal(code3, 1007);
});

test('a websocket that asks for no subprotocol is refused at the handshake', LIMIT, async () => {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
  ws.on('open', () => assert.fail('the server accepted a websocket without "demo-chat"'));
  const [err] = await once(ws, 'error').catch((e) => [e]);
  assert.match(String(err), /socket hang up|Unexpected server response/);
});

test('the page in Chromium chats with a Node client and closes with 1000', LIMIT, async () => {
  const browser = await launchBrowser();
  try {
    const page = await openPage(browser, 'demo');
    await page.goto(`http://127.0.0.1:${port}/`);
    await page.getByTestId('state').filter({ hasText: 'open' }).waitFor({ timeout: 10000 });
    const ws = await nodeClient();
    await page.getByTestId('text').fill('<b>from the page</b>');
    await page.getByTestId('send').click();
    await waitFor(ws, (m) => m.includes('<b>from the page</b>'), 'the page\'s message');
    ws.send('from Node');
    const log = page.getByTestId('log').locator('li');
    await log.filter({ hasText: 'from Node' }).waitFor({ timeout: 10000 });
    // What was typed shows as text: the markup is not parsed.
    assert.deepEqual(await log.allTextContents(), ['<b>from the page</b>', 'from Node']);
    await shot(page, 'websocket-demo', 'chat');
    await page.getByTestId('close').click();
    await page.getByTestId('state').filter({ hasText: 'closed 1000 bye' }).waitFor({ timeout: 10000 });
    assert.deepEqual(page.errors, []);
    ws.close(1000);
    await once(ws, 'close');
  } finally {
    await browser.close();
  }
});
