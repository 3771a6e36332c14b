// SPDX-License-Identifier: MIT
// Revocation reaches open agent websockets at once: livechat-fcgi (and livechatctl) publish
// {"type":"revoke","user_id":...} to <prefix>.nodes (broadcast.revoke) after logout,
// deactivation, deletion, password changes and group changes that take permissions away, and
// livechat-wsd closes the affected connections with 4401. The wsd runs with a periodic session
// check of an hour, so a close within the test's wait can only come from the event. With the
// broker unreachable the same REST calls still succeed (the periodic check is the fallback).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { api, login, startStack, userWith } from './helpers.mjs';

const require = createRequire((process.env.NODE_PATH ?? '.') + '/');
const WebSocket = require('ws');
const amqp = require('amqplib');

// Far beyond the wait below: only the event can close a connection in time.
const SESSION_CHECK_S = 3600;
const CLOSE_WAIT_MS = 5000;

// Open /ws/agent with the lc_session cookie; resolves after `hello` with the socket and a
// promise of its close {code, reason} (rejected when it has not closed within CLOSE_WAIT_MS of
// calling closedSoon()).
function openAgent(stack, token) {
  const url = stack.base.replace(/^http/, 'ws') + '/ws/agent';
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers: { cookie: `lc_session=${token}` } });
    let onClose;
    const closed = new Promise((res) => { onClose = res; });
    const timer = setTimeout(() => { ws.terminate(); reject(new Error('no hello within 5 s')); }, 5000);
    ws.on('close', (code, reason) => { clearTimeout(timer); onClose({ code, reason: String(reason) }); });
    ws.on('error', (e) => { clearTimeout(timer); reject(e); });
    ws.on('unexpected-response', (req, res) => { clearTimeout(timer); reject(new Error(`HTTP ${res.statusCode}`)); });
    ws.on('message', (m) => {
      const msg = JSON.parse(String(m));
      if (msg.type === 'hello') {
        clearTimeout(timer);
        resolve({
          ws, hello: msg,
          closedSoon: () => Promise.race([closed, new Promise((_, rej) => setTimeout(
            () => rej(new Error(`websocket still open ${CLOSE_WAIT_MS} ms after the revocation`)),
            CLOSE_WAIT_MS).unref())]),
        });
      } else if (msg.type === 'error') {
        clearTimeout(timer);
        reject(new Error(`error before hello: ${m}`));
      }
    });
  });
}

function ctl(stack, args, input) {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('LIVECHAT_')) delete env[k];
  return spawnSync(join(process.env.LC_TOP_BUILDDIR, 'fcgi', 'livechatctl'),
    ['-c', join(stack.dir, 'livechat.conf'), ...args], { input, encoding: 'utf8', env });
}

describe('with RabbitMQ up and one wsd', () => {
  let stack, admin;
  before(async () => {
    stack = await startStack({ wsd: 1, wsdSessionCheck: SESSION_CHECK_S });
    admin = await login(stack.base, stack.adminUser, stack.adminPassword);
  });
  after(async () => { await stack?.stop(); });

  test('logout closes the websocket opened with that session (4401)', async () => {
    const agent = await userWith(stack.base, admin, ['chats.accept']);
    const conn = await openAgent(stack, agent.token);
    assert.equal(conn.hello.user.id, agent.id);
    const r = await api(stack.base, 'POST', '/api/auth/logout', { cookie: `lc_session=${agent.token}`, headers: { origin: stack.base } });
    assert.equal(r.status, 204);
    assert.equal((await conn.closedSoon()).code, 4401);
  });

  test('deactivation by an admin closes the user\'s websockets (4401)', async () => {
    const agent = await userWith(stack.base, admin, ['chats.accept']);
    const conn = await openAgent(stack, agent.token);
    const r = await api(stack.base, 'PATCH', `/api/users/${agent.id}`, { token: admin, body: { active: false } });
    assert.equal(r.status, 200, r.text);
    assert.equal((await conn.closedSoon()).code, 4401);
  });

  test('a password reset by an admin closes the user\'s websockets (4401)', async () => {
    const agent = await userWith(stack.base, admin, ['chats.accept']);
    const conn = await openAgent(stack, agent.token);
    const r = await api(stack.base, 'PUT', `/api/users/${agent.id}/password`,
      { token: admin, body: { password: 'a-brand-new-password' } });
    assert.equal(r.status, 204, r.text);
    assert.equal((await conn.closedSoon()).code, 4401);
  });

  test('livechatctl reset-password closes the user\'s websockets (4401)', async () => {
    const agent = await userWith(stack.base, admin, ['chats.accept']);
    const conn = await openAgent(stack, agent.token);
    const r = ctl(stack, ['reset-password', agent.username], 'reset-by-livechatctl\n');
    assert.equal(r.status, 0, r.stderr);
    assert.equal((await conn.closedSoon()).code, 4401);
  });

  test('deleting a user closes their websockets (4401)', async () => {
    const agent = await userWith(stack.base, admin, ['chats.accept']);
    const conn = await openAgent(stack, agent.token);
    assert.equal((await api(stack.base, 'DELETE', `/api/users/${agent.id}`, { token: admin })).status, 204);
    assert.equal((await conn.closedSoon()).code, 4401);
  });

  test('a group losing chats.accept closes its members\' websockets (4401)', async () => {
    const agent = await userWith(stack.base, admin, ['chats.accept', 'canned.own']);
    const conn = await openAgent(stack, agent.token);
    const r = await api(stack.base, 'PATCH', `/api/groups/${agent.group}`,
      { token: admin, body: { permissions: ['canned.own'] } });
    assert.equal(r.status, 200, r.text);
    assert.equal((await conn.closedSoon()).code, 4401);
  });

  test('changing one\'s own password closes the other sessions\' websockets but not this one\'s', async () => {
    const agent = await userWith(stack.base, admin, ['chats.accept']);
    const other = await login(stack.base, agent.username, agent.password);
    const mine = await openAgent(stack, agent.token);
    const theirs = await openAgent(stack, other);
    const r = await api(stack.base, 'PUT', `/api/users/${agent.id}/password`,
      { token: agent.token, body: { password: 'my-own-new-password', current_password: agent.password } });
    assert.equal(r.status, 204, r.text);
    assert.equal((await theirs.closedSoon()).code, 4401);
    // Both connections were re-checked on the same event; the kept session's stays up.
    await new Promise((res) => setTimeout(res, 500));
    assert.equal(mine.ws.readyState, WebSocket.OPEN);
    mine.ws.close();
  });
});

describe('with no wsd running', () => {
  let stack, admin, conn;
  before(async () => {
    stack = await startStack();
    admin = await login(stack.base, stack.adminUser, stack.adminPassword);
    conn = await amqp.connect(process.env.LIVECHAT_AMQP_URL);
  });
  // stop() deletes the stack's exchanges (tests/stack.sh).
  after(async () => { await conn?.close(); await stack?.stop(); });

  test('livechat-fcgi declares <prefix>.nodes itself and publishes the documented revoke event', async () => {
    const exchange = `${stack.env.LIVECHAT_AMQP_PREFIX}.nodes`;
    const first = await userWith(stack.base, admin, ['chats.accept']);
    assert.equal((await api(stack.base, 'POST', '/api/auth/logout', { token: first.token })).status, 204);
    // No wsd ever ran with this prefix: the exchange exists because the API declared it.
    const ch = await conn.createChannel();
    ch.on('error', () => {});
    await ch.checkExchange(exchange);
    const { queue } = await ch.assertQueue('', { exclusive: true });
    await ch.bindQueue(queue, exchange, 'broadcast.*');
    const agent = await userWith(stack.base, admin, ['chats.accept']);
    assert.equal((await api(stack.base, 'POST', '/api/auth/logout', { token: agent.token })).status, 204);
    let msg = null;
    for (let i = 0; i < 50 && !msg; i++) {
      msg = await ch.get(queue, { noAck: true });
      if (!msg) await new Promise((res) => setTimeout(res, 100));
    }
    assert.ok(msg, 'no event on the exchange within 5 s');
    assert.equal(msg.fields.routingKey, 'broadcast.revoke');
    assert.deepEqual(JSON.parse(String(msg.content)), { type: 'revoke', user_id: agent.id });
    assert.equal(msg.properties.deliveryMode, 2);
    await ch.close();
  });
});

describe('with RabbitMQ unreachable', () => {
  let stack, admin;
  before(async () => {
    // Port 1 on loopback: refused at once, like a broker that is down.
    stack = await startStack({ set: { amqp_url: 'amqp://guest:guest@127.0.0.1:1/' } });
    admin = await login(stack.base, stack.adminUser, stack.adminPassword);
  });
  after(async () => { await stack?.stop(); });

  test('logout, deactivation, password reset and group changes still succeed and revoke in MongoDB', async () => {
    const agent = await userWith(stack.base, admin, ['chats.accept', 'canned.own']);
    let r = await api(stack.base, 'POST', '/api/auth/logout', { token: agent.token });
    assert.equal(r.status, 204);
    assert.equal((await api(stack.base, 'GET', '/api/auth/me', { token: agent.token })).status, 401);

    const token = await login(stack.base, agent.username, agent.password);
    r = await api(stack.base, 'PUT', `/api/users/${agent.id}/password`,
      { token: admin, body: { password: 'another-password-1' } });
    assert.equal(r.status, 204, r.text);
    assert.equal((await api(stack.base, 'GET', '/api/auth/me', { token })).status, 401);

    r = await api(stack.base, 'PATCH', `/api/groups/${agent.group}`,
      { token: admin, body: { permissions: ['canned.own'] } });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body.permissions, ['canned.own']);

    const token2 = await login(stack.base, agent.username, 'another-password-1');
    r = await api(stack.base, 'PATCH', `/api/users/${agent.id}`, { token: admin, body: { active: false } });
    assert.equal(r.status, 200, r.text);
    assert.equal((await api(stack.base, 'GET', '/api/auth/me', { token: token2 })).status, 401);

    // The failed publishes were logged as warnings, on the program's stderr (which the stack's
    // lighttpd, running in the foreground, passes on to DIR/log/lighttpd.out).
    const log = readdirSync(join(stack.dir, 'log'))
      .map((f) => readFileSync(join(stack.dir, 'log', f), 'utf8')).join('\n');
    assert.match(log, /could not publish the revocation of 1 user/);
  });

  test('livechatctl reset-password succeeds and warns', async () => {
    const r = ctl(stack, ['reset-password', stack.adminUser], 'new-admin-password\n');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /password of admin reset/);
    assert.match(r.stderr, /could not publish the revocation/);
  });
});
