// SPDX-License-Identifier: MIT
// The request pipeline's error answers through a real lighttpd: unknown route (404), wrong
// method (405), oversized body (413), malformed body (400), one JSON error shape everywhere,
// the request id in the answer and in the access log;
// and /api/health: 200 when MongoDB and RabbitMQ answer, 503 naming which is down, with the
// API answering 503 (not 500) while MongoDB is unreachable. The "down" cases use a private
// FerretDB this test starts and kills, and a RabbitMQ URL where nothing listens.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { api, login, startStack } from './helpers.mjs';

let stack, admin;
const started = [];   // every stack and process this file starts, stopped in after()

before(async () => {
  stack = await startStack({ set: { http_max_body: 2048 } });
  started.push(stack);
  admin = await login(stack.base, stack.adminUser, stack.adminPassword);
});
after(async () => {
  for (const s of started.reverse()) {
    try { await s.stop(); } catch (e) { console.error('cleanup:', e.message); }
  }
});

function assertErrorShape(r, status, code) {
  assert.equal(r.status, status, r.text);
  assert.match(r.headers.get('content-type'), /^application\/json/);
  assert.equal(r.body.error.code, code);
  assert.equal(typeof r.body.error.message, 'string');
}

describe('pipeline errors', () => {
  test('an unknown /api/ route is 404 not_found', async () => {
    assertErrorShape(await api(stack.base, 'GET', '/api/nothing/here', { token: admin }), 404, 'not_found');
  });

  test('a known path with another method is 405 with Allow', async () => {
    const r = await api(stack.base, 'DELETE', '/api/settings', { token: admin });
    assertErrorShape(r, 405, 'method_not_allowed');
    assert.equal(r.headers.get('allow'), 'GET, PATCH');
  });

  test('a body over http_max_body is 413, before authentication', async () => {
    const big = JSON.stringify({ shortcut: 'big', title: 't', text: 'x'.repeat(3000) });
    assertErrorShape(await api(stack.base, 'POST', '/api/canned', { token: admin, body: big }), 413, 'payload_too_large');
    assertErrorShape(await api(stack.base, 'POST', '/api/canned', { body: big }), 413, 'payload_too_large');
    // Just under the limit is handled normally.
    const ok = JSON.stringify({ shortcut: 'big', title: 't', text: 'x'.repeat(1900) });
    assert.equal((await api(stack.base, 'POST', '/api/canned', { token: admin, body: ok })).status, 201);
  });

  test('a much larger body is refused by the web server itself (413) and the server keeps serving', async () => {
    // lighttpd's limit is http_max_body in whole KiB plus 1 KiB (conf/lighttpd.conf.in).
    const huge = 'x'.repeat(1024 * 1024);
    const r = await api(stack.base, 'POST', '/api/users', { token: admin, body: huge });
    assert.equal(r.status, 413);
    assert.equal((await api(stack.base, 'GET', '/api/auth/me', { token: admin })).status, 200);
  });

  for (const [title, body] of [
    ['truncated JSON', '{"username": "a", '],
    ['trailing garbage', '{"username":"a","password":"b"} x'],
    ['not an object', '["username", "password"]'],
    ['a bare string', '"hello"'],
    ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d])],
  ]) {
    test(`a malformed body (${title}) is 400 bad_request`, async () => {
      const res = await fetch(stack.base + '/api/auth/login', { method: 'POST', body, headers: { 'content-type': 'application/json' } });
      const r = { status: res.status, headers: res.headers, body: JSON.parse(await res.text()) };
      assertErrorShape(r, 400, 'bad_request');
    });
  }

  test('a route that needs a body answers 400 without one', async () => {
    assertErrorShape(await api(stack.base, 'POST', '/api/groups', { token: admin }), 400, 'bad_request');
  });

  test('every answer carries a request id', async () => {
    const a = await api(stack.base, 'GET', '/api/health');
    const b = await api(stack.base, 'GET', '/api/health');
    assert.match(a.headers.get('x-request-id'), /^[0-9a-f]{16}$/);
    assert.notEqual(a.headers.get('x-request-id'), b.headers.get('x-request-id'));
  });

  test('each request leaves one access log line under its request id', async () => {
    const r = await api(stack.base, 'GET', '/api/users?page=1', { token: admin });
    const id = r.headers.get('x-request-id');
    const me = (await api(stack.base, 'GET', '/api/auth/me', { token: admin })).body.user.id;
    // lighttpd hands livechat-fcgi's stderr to its own: the stack's log/lighttpd.out.
    const line = new RegExp(`${id} 127\\.0\\.0\\.1 GET /api/users 200 \\d+ms user=${me}`);
    let lines = [];
    for (let i = 0; i < 50; i++) {
      lines = readFileSync(join(stack.dir, 'log', 'lighttpd.out'), 'utf8').split('\n').filter((l) => l.includes(id));
      if (lines.length > 0) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.match(lines[0], line);
    // The query string, which may carry search text, is not logged.
    assert.doesNotMatch(lines[0], /page=1/);
  });
});

async function freePort() {
  return new Promise((res, rej) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => res(port)); });
    s.on('error', rej);
  });
}

async function waitPort(port, ms) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const ok = await new Promise((res) => {
      const c = net.connect(port, '127.0.0.1', () => { c.destroy(); res(true); });
      c.on('error', () => res(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`port ${port} did not open`);
}

describe('health', () => {
  test('health is 200 with mongo and rabbitmq up, without a token', async () => {
    const r = await api(stack.base, 'GET', '/api/health');
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { status: 'ok', mongo: 'up', rabbitmq: 'up' });
  });

  test('health is 503 with rabbitmq down when the broker cannot be reached', async () => {
    const dead = await freePort();
    const s = await startStack({ set: { amqp_url: `amqp://guest:guest@127.0.0.1:${dead}/` } });
    started.push(s);
    const r = await api(s.base, 'GET', '/api/health');
    assert.equal(r.status, 503);
    assert.deepEqual(r.body, { status: 'unavailable', mongo: 'up', rabbitmq: 'down' });
    await s.stop();
  });

  test('with MongoDB gone, health is 503 with mongo down and API calls are 503 unavailable', async () => {
    const port = await freePort();
    const data = mkdtempSync(join(tmpdir(), 'lc-ferret-'));
    const bin = process.env.FERRETDB_BIN || '/usr/local/bin/ferretdb';
    const ferret = spawn(bin, ['--handler=sqlite', `--sqlite-url=file:${data}/`, `--state-dir=${data}`,
      `--listen-addr=127.0.0.1:${port}`, '--debug-addr=-', '--telemetry=disable', '--log-level=error'],
    { stdio: 'ignore' });
    const ferretHandle = {
      async stop() {
        if (ferret.exitCode === null && ferret.signalCode === null) {
          ferret.kill('SIGTERM');
          await new Promise((r) => ferret.once('exit', r));
        }
        rmSync(data, { recursive: true, force: true });
      },
    };
    started.push(ferretHandle);
    await waitPort(port, 10000);
    const saved = process.env.LIVECHAT_MONGO_URI;
    process.env.LIVECHAT_MONGO_URI = `mongodb://127.0.0.1:${port}/`;
    let s;
    try {
      s = await startStack();
    } finally {
      process.env.LIVECHAT_MONGO_URI = saved;
    }
    started.push(s);
    const token = await login(s.base, s.adminUser, s.adminPassword);
    assert.equal((await api(s.base, 'GET', '/api/health')).status, 200);
    await ferretHandle.stop();
    const h = await api(s.base, 'GET', '/api/health');
    assert.equal(h.status, 503);
    assert.deepEqual(h.body, { status: 'unavailable', mongo: 'down', rabbitmq: 'up' });
    const r = await api(s.base, 'GET', '/api/users', { token });
    assertErrorShape(r, 503, 'unavailable');
    assert.doesNotMatch(r.text, /127\.0\.0\.1|mongo|27017|suitable/i);
    const l = await api(s.base, 'POST', '/api/auth/login', { body: { username: s.adminUser, password: s.adminPassword } });
    assertErrorShape(l, 503, 'unavailable');
  });
});
