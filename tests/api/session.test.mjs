// SPDX-License-Identifier: MIT
// What a request reads. Authenticating: the session document alone (one _id lookup), which
// carries the user and its group's permissions; every change to users and groups rewrites
// those copies at once; livechat-fcgi and livechat-wsd share the one check, so a group deleted
// under its members gives the same answer in both. GET /api/canned: the owner's own document.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { agentSocket, api, login, seed, startStack, userWith } from './helpers.mjs';

const require = createRequire((process.env.NODE_PATH ?? '.') + '/');
const WebSocket = require('ws');

let stack;
let admin;
before(async () => {
  stack = await startStack({ wsd: 1 });
  admin = await login(stack.base, stack.adminUser, stack.adminPassword);
});
after(async () => { await stack?.stop(); });

// The close code of an agent websocket that the server refuses after the upgrade.
function refusedWith(token) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(stack.base.replace(/^http/, 'ws') + '/ws/agent',
      { headers: { cookie: `lc_session=${token}` } });
    const timer = setTimeout(() => { ws.terminate(); reject(new Error('not closed within 5 s')); }, 5000);
    ws.on('close', (code) => { clearTimeout(timer); resolve(code); });
    ws.on('error', () => {});
  });
}

test('a change of display name, group or group permissions reaches the session at once', async () => {
  const u = await userWith(stack.base, admin, ['canned.own'], 's');
  let r = await api(stack.base, 'PATCH', `/api/users/${u.id}`, { token: admin, body: { display_name: 'Renamed' } });
  assert.equal(r.status, 200, r.text);
  r = await api(stack.base, 'GET', '/api/auth/me', { token: u.token });
  assert.equal(r.body.user.display_name, 'Renamed');
  r = await api(stack.base, 'PATCH', `/api/groups/${u.group}`, { token: admin, body: { permissions: ['canned.own', 'users.read'] } });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual((await api(stack.base, 'GET', '/api/auth/me', { token: u.token })).body.permissions,
    ['users.read', 'canned.own']);
  assert.equal((await api(stack.base, 'GET', '/api/users', { token: u.token })).status, 200);
  r = await api(stack.base, 'PATCH', `/api/users/${u.id}`, { token: admin, body: { group: 'agent' } });
  assert.equal(r.status, 200, r.text);
  const me = (await api(stack.base, 'GET', '/api/auth/me', { token: u.token })).body;
  assert.equal(me.user.group, 'agent');
  assert.ok(!me.permissions.includes('users.read'));
  assert.equal((await api(stack.base, 'GET', '/api/users', { token: u.token })).status, 403);
});

test('a group deleted under its members: no permission in the REST API, and wsd refuses the agent (4403)', async () => {
  const u = await userWith(stack.base, admin, ['chats.accept', 'canned.own'], 'g');
  const before = await agentSocket(stack.base, u.token);
  before.ws.close();
  assert.equal(before.msg.type, 'hello');
  seed(stack, 'delete-group', u.group);
  const me = await api(stack.base, 'GET', '/api/auth/me', { token: u.token });
  assert.equal(me.status, 200);
  assert.deepEqual(me.body.permissions, []);
  assert.equal((await api(stack.base, 'GET', '/api/canned', { token: u.token })).status, 403);
  assert.equal(await refusedWith(u.token), 4403);
});

test('GET /api/canned reads the owner\'s list by _id: it still lists with the canned collection dropped', async () => {
  const u = await userWith(stack.base, admin, ['canned.own'], 'c');
  for (const shortcut of ['b', 'a']) {
    const r = await api(stack.base, 'POST', '/api/canned', { token: u.token, body: { shortcut, title: 'T', text: `Text ${shortcut}` } });
    assert.equal(r.status, 201, r.text);
  }
  seed(stack, 'drop', 'canned');
  const r = await api(stack.base, 'GET', '/api/canned?q=TEXT', { token: u.token });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.items.map((x) => x.shortcut), ['a', 'b']);
  assert.equal(r.body.total, 2);
});

// Last: it takes the users and groups away from this stack.
test('an authenticated request reads the session only: it still answers with users and groups dropped', async () => {
  const u = await userWith(stack.base, admin, ['canned.own'], 'd');
  seed(stack, 'drop', 'users');
  seed(stack, 'drop', 'groups');
  const me = await api(stack.base, 'GET', '/api/auth/me', { token: u.token });
  assert.equal(me.status, 200, me.text);
  assert.equal(me.body.user.username, u.username);
  assert.equal(me.body.user.id, u.id);
  assert.equal(me.body.user.password_hash, undefined);
  assert.deepEqual(me.body.permissions, ['canned.own']);
  assert.equal((await api(stack.base, 'GET', '/api/canned', { token: u.token })).status, 200);
});
