// SPDX-License-Identifier: MIT
// Every route through a real lighttpd: without a token (401), as a user whose group lacks the
// route's permission (403), and as a user whose group has exactly that permission (success).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { api, createUser, login, seed, startStack, userWith } from './helpers.mjs';

let stack, admin, nobody, roomId;
const users = {};
let n = 0;
const uniq = (p) => `${p}${++n}`;

// perm: the permission that grants the route (null: any authenticated user).
// prepare(user): returns {path, body} for a call that must succeed with `ok` status.
const routes = [
  { method: 'GET', pattern: '/api/auth/me', perm: null, ok: 200 },
  { method: 'POST', pattern: '/api/auth/logout', perm: null, ok: 204, fresh: true },
  { method: 'GET', pattern: '/api/users', perm: 'users.read', ok: 200 },
  { method: 'POST', pattern: '/api/users', perm: 'users.write', ok: 201,
    prepare: async () => ({ path: '/api/users', body: { username: uniq('new'), password: 'long-enough', group: 'empty' } }) },
  { method: 'GET', pattern: '/api/users/{id}', perm: 'users.read', ok: 200,
    prepare: async (u) => ({ path: `/api/users/${u.id}` }) },
  { method: 'PATCH', pattern: '/api/users/{id}', perm: 'users.write', ok: 200,
    prepare: async (u) => ({ path: `/api/users/${u.id}`, body: { display_name: 'Renamed' } }) },
  { method: 'DELETE', pattern: '/api/users/{id}', perm: 'users.write', ok: 204,
    prepare: async () => ({ path: `/api/users/${(await createUser(stack.base, admin, { username: uniq('del'), password: 'long-enough', group: 'empty' })).id}` }) },
  // Own password: any user; someone else's: users.write, checked after validation (see below).
  { method: 'PUT', pattern: '/api/users/{id}/password', perm: 'users.write', ok: 204, inHandler: true,
    prepare: async () => ({ path: `/api/users/${(await createUser(stack.base, admin, { username: uniq('pw'), password: 'long-enough', group: 'empty' })).id}/password`, body: { password: 'another-long-one' } }) },
  { method: 'GET', pattern: '/api/groups', perm: 'groups.read', ok: 200 },
  { method: 'POST', pattern: '/api/groups', perm: 'groups.write', ok: 201,
    prepare: async () => ({ path: '/api/groups', body: { name: uniq('grp'), permissions: ['groups.write'] } }) },
  { method: 'GET', pattern: '/api/groups/{name}', perm: 'groups.read', ok: 200,
    prepare: async () => ({ path: '/api/groups/agent' }) },
  { method: 'PATCH', pattern: '/api/groups/{name}', perm: 'groups.write', ok: 200,
    prepare: async () => ({ path: '/api/groups/empty', body: { permissions: ['groups.write'] } }) },
  { method: 'DELETE', pattern: '/api/groups/{name}', perm: 'groups.write', ok: 204,
    prepare: async () => {
      const name = uniq('gone');
      await api(stack.base, 'POST', '/api/groups', { token: admin, body: { name, permissions: [] } });
      return { path: `/api/groups/${name}` };
    } },
  { method: 'GET', pattern: '/api/canned', perm: 'canned.own', ok: 200 },
  { method: 'POST', pattern: '/api/canned', perm: 'canned.own', ok: 201,
    prepare: async () => ({ path: '/api/canned', body: { shortcut: uniq('s'), title: 'T', text: 'X' } }) },
  { method: 'GET', pattern: '/api/canned/{id}', perm: 'canned.own', ok: 200, prepare: ownCanned },
  { method: 'PATCH', pattern: '/api/canned/{id}', perm: 'canned.own', ok: 200,
    prepare: async (u) => ({ ...(await ownCanned(u)), body: { title: 'New title' } }) },
  { method: 'DELETE', pattern: '/api/canned/{id}', perm: 'canned.own', ok: 204, prepare: ownCanned },
  { method: 'GET', pattern: '/api/settings', perm: 'settings.read', ok: 200 },
  { method: 'PATCH', pattern: '/api/settings', perm: 'settings.write', ok: 200,
    prepare: async () => ({ path: '/api/settings', body: { history_limit: 40 } }) },
  { method: 'GET', pattern: '/api/rooms', perm: 'chats.monitor', ok: 200 },
  // chats.history alone lists only the rooms the caller took (rooms.test.mjs).
  { method: 'GET', pattern: '/api/rooms', perm: 'chats.history', ok: 200 },
  { method: 'GET', pattern: '/api/rooms/{id}', perm: 'chats.monitor', ok: 200,
    prepare: async () => ({ path: `/api/rooms/${roomId}` }) },
  // chats.history alone reads only a room the caller took (rooms.test.mjs: another's is 404).
  { method: 'GET', pattern: '/api/rooms/{id}', perm: 'chats.history', ok: 200,
    prepare: async (u) => ({ path: `/api/rooms/${ownRoom(u)}` }) },
  { method: 'GET', pattern: '/api/rooms/{id}/messages', perm: 'chats.history', ok: 200,
    prepare: async (u) => ({ path: `/api/rooms/${ownRoom(u)}/messages` }) },
  { method: 'GET', pattern: '/api/rooms/{id}/messages', perm: 'chats.monitor', ok: 200,
    prepare: async () => ({ path: `/api/rooms/${roomId}/messages` }) },
];

// A room u has taken (a fresh customer each time: a customer has one open room).
function ownRoom(u) {
  return seed(stack, 'room', uniq('perm-cust'), 2, `agent=${u.id}`).id;
}

async function ownCanned(u) {
  const r = await api(stack.base, 'POST', '/api/canned', { token: u.token, body: { shortcut: uniq('c'), title: 'T', text: 'X' } });
  assert.equal(r.status, 201, r.text);
  return { path: `/api/canned/${r.body.id}` };
}

const concrete = (p) => p.replace('{id}', '0123456789abcdef01234567').replace('{name}', 'agent');

before(async () => {
  stack = await startStack();
  admin = await login(stack.base, stack.adminUser, stack.adminPassword);
  nobody = await userWith(stack.base, admin, [], 'nobody');
  // Users and groups the one-permission users may manage: nobody grants what they lack.
  await api(stack.base, 'POST', '/api/groups', { token: admin, body: { name: 'empty', permissions: [] } });
  for (const perm of new Set(routes.map((r) => r.perm).filter(Boolean))) {
    users[perm] = await userWith(stack.base, admin, [perm], perm.replace('.', '_'));
  }
  roomId = seed(stack, 'room', 'perm-customer', 3).id;
});
after(async () => { await stack?.stop(); });

describe('without a token every route but login and health is 401', () => {
  for (const r of routes) {
    test(`${r.method} ${r.pattern} without a token is 401`, async () => {
      const res = await api(stack.base, r.method, concrete(r.pattern), { body: ['GET', 'DELETE'].includes(r.method) ? undefined : {} });
      assert.equal(res.status, 401);
      assert.equal(res.body.error.code, 'unauthorized');
    });
  }
  test('POST /api/auth/login and GET /api/health need no token', async () => {
    assert.equal((await api(stack.base, 'GET', '/api/health')).status, 200);
    assert.equal((await api(stack.base, 'POST', '/api/auth/login', { body: { username: 'x', password: 'y' } })).status, 401);
  });
});

describe('a group without the permission gets 403', () => {
  for (const r of routes.filter((x) => x.perm && !x.inHandler)) {
    test(`${r.method} ${r.pattern} without ${r.perm} is 403`, async () => {
      const res = await api(stack.base, r.method, concrete(r.pattern),
        { token: nobody.token, body: ['GET', 'DELETE'].includes(r.method) ? undefined : {} });
      assert.equal(res.status, 403);
      assert.equal(res.body.error.code, 'forbidden');
    });
  }
  test('setting another user\'s password without users.write is 403', async () => {
    const res = await api(stack.base, 'PUT', `/api/users/${users['users.read'].id}/password`,
      { token: nobody.token, body: { password: 'whatever-long' } });
    assert.equal(res.status, 403);
  });
});

describe('a group with exactly the permission succeeds', () => {
  for (const r of routes) {
    const who = r.perm ?? 'any user';
    test(`${r.method} ${r.pattern} with ${who} succeeds (${r.ok})`, async () => {
      let u = r.perm ? users[r.perm] : nobody;
      if (r.fresh) u = { ...u, token: await login(stack.base, u.username, u.password) };
      const { path, body } = r.prepare ? await r.prepare(u) : { path: r.pattern };
      const res = await api(stack.base, r.method, path, { token: u.token, body });
      assert.equal(res.status, r.ok, res.text);
    });
  }
});
