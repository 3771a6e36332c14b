// SPDX-License-Identifier: MIT
// Permission groups through a real lighttpd: built-in seed, lifecycle, permissions taking
// effect, duplicates, built-in and in-use protection.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { api, createUser, login, startStack } from './helpers.mjs';

let stack, admin;

before(async () => {
  stack = await startStack();
  admin = await login(stack.base, stack.adminUser, stack.adminPassword);
});
after(async () => { await stack?.stop(); });

describe('groups', () => {
  test('the built-in groups are seeded with the documented permissions', async () => {
    const r = await api(stack.base, 'GET', '/api/groups', { token: admin });
    assert.equal(r.status, 200);
    const byName = Object.fromEntries(r.body.items.map((g) => [g.name, g]));
    assert.equal(byName.admin.permissions.length, 12);
    assert.deepEqual([...byName.agent.permissions].sort(), ['canned.own', 'chats.accept', 'chats.history']);
    assert.deepEqual([...byName.supervisor.permissions].sort(), ['canned.all', 'canned.own', 'chats.accept',
      'chats.end_any', 'chats.history', 'chats.monitor', 'groups.read', 'settings.read', 'users.read']);
    for (const g of ['admin', 'supervisor', 'agent']) assert.equal(byName[g].builtin, true);
    assert.equal(r.body.total, r.body.items.length);
  });

  test('create, read, update and delete a group; permissions are deduplicated', async () => {
    let r = await api(stack.base, 'POST', '/api/groups',
      { token: admin, body: { name: 'night-shift', permissions: ['chats.accept', 'canned.own', 'chats.accept'] } });
    assert.equal(r.status, 201);
    assert.equal(r.body.name, 'night-shift');
    assert.equal(r.body.id, 'night-shift');
    assert.equal(r.body.builtin, false);
    assert.deepEqual([...r.body.permissions].sort(), ['canned.own', 'chats.accept']);
    r = await api(stack.base, 'GET', '/api/groups/night-shift', { token: admin });
    assert.equal(r.status, 200);
    r = await api(stack.base, 'PATCH', '/api/groups/night-shift', { token: admin, body: { permissions: ['chats.monitor'] } });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.permissions, ['chats.monitor']);
    assert.equal((await api(stack.base, 'DELETE', '/api/groups/night-shift', { token: admin })).status, 204);
    assert.equal((await api(stack.base, 'GET', '/api/groups/night-shift', { token: admin })).status, 404);
    assert.equal((await api(stack.base, 'PATCH', '/api/groups/night-shift', { token: admin, body: { permissions: [] } })).status, 404);
    assert.equal((await api(stack.base, 'DELETE', '/api/groups/night-shift', { token: admin })).status, 404);
  });

  test('a changed permission set takes effect on the next request of its members', async () => {
    await api(stack.base, 'POST', '/api/groups', { token: admin, body: { name: 'readers', permissions: [] } });
    await createUser(stack.base, admin, { username: 'reader', password: 'reader-password', group: 'readers' });
    const t = await login(stack.base, 'reader', 'reader-password');
    assert.equal((await api(stack.base, 'GET', '/api/settings', { token: t })).status, 403);
    await api(stack.base, 'PATCH', '/api/groups/readers', { token: admin, body: { permissions: ['settings.read'] } });
    assert.equal((await api(stack.base, 'GET', '/api/settings', { token: t })).status, 200);
  });

  test('a duplicate group name is 409', async () => {
    await api(stack.base, 'POST', '/api/groups', { token: admin, body: { name: 'twice', permissions: [] } });
    const r = await api(stack.base, 'POST', '/api/groups', { token: admin, body: { name: 'twice', permissions: ['users.read'] } });
    assert.equal(r.status, 409);
    const b = await api(stack.base, 'POST', '/api/groups', { token: admin, body: { name: 'agent', permissions: [] } });
    assert.equal(b.status, 409);
  });

  test('built-in groups cannot be deleted and the admin set cannot change (409)', async () => {
    for (const g of ['admin', 'supervisor', 'agent']) {
      const r = await api(stack.base, 'DELETE', `/api/groups/${g}`, { token: admin });
      assert.equal(r.status, 409, g);
      assert.equal(r.body.error.code, 'conflict');
    }
    assert.equal((await api(stack.base, 'PATCH', '/api/groups/admin', { token: admin, body: { permissions: [] } })).status, 409);
    const me = await api(stack.base, 'GET', '/api/auth/me', { token: admin });
    assert.equal(me.body.permissions.length, 12);
  });

  test('a group still used by a user (even an inactive one) cannot be deleted (409) until it is empty', async () => {
    await api(stack.base, 'POST', '/api/groups', { token: admin, body: { name: 'busy', permissions: ['canned.own'] } });
    const u = await createUser(stack.base, admin, { username: 'busybee', password: 'busy-password', group: 'busy', active: false });
    const r = await api(stack.base, 'DELETE', '/api/groups/busy', { token: admin });
    assert.equal(r.status, 409);
    assert.match(r.body.error.message, /used/);
    await api(stack.base, 'PATCH', `/api/users/${u.id}`, { token: admin, body: { group: 'agent' } });
    assert.equal((await api(stack.base, 'DELETE', '/api/groups/busy', { token: admin })).status, 204);
  });
});
