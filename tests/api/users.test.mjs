// SPDX-License-Identifier: MIT
// Users through a real lighttpd: lifecycle, paging and filters, duplicates, password changes
// revoking sessions, deactivation and deletion revoking sessions (and deleting canned
// responses), and the last-active-admin protection.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { api, createUser, login, startStack } from './helpers.mjs';

let stack, admin, adminId;

before(async () => {
  stack = await startStack();
  admin = await login(stack.base, stack.adminUser, stack.adminPassword);
  adminId = (await api(stack.base, 'GET', '/api/auth/me', { token: admin })).body.user.id;
});
after(async () => { await stack?.stop(); });

describe('lifecycle', () => {
  test('create, read, update, list and delete a user', async () => {
    let r = await api(stack.base, 'POST', '/api/users',
      { token: admin, body: { username: 'alice', password: 'alice-password', display_name: 'Alice A.' } });
    assert.equal(r.status, 201);
    const alice = r.body;
    assert.equal(alice.username, 'alice');
    assert.equal(alice.display_name, 'Alice A.');
    assert.equal(alice.group, 'agent');
    assert.equal(alice.active, true);
    assert.equal(alice.password_hash, undefined);
    assert.ok(alice.created_at > 0 && alice.updated_at >= alice.created_at);

    r = await api(stack.base, 'GET', `/api/users/${alice.id}`, { token: admin });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, alice);

    r = await api(stack.base, 'PATCH', `/api/users/${alice.id}`,
      { token: admin, body: { display_name: 'Alice B.', group: 'supervisor' } });
    assert.equal(r.status, 200);
    assert.equal(r.body.display_name, 'Alice B.');
    assert.equal(r.body.group, 'supervisor');
    assert.equal(r.body.password_hash, undefined);

    r = await api(stack.base, 'GET', '/api/users', { token: admin });
    assert.ok(r.body.items.some((u) => u.id === alice.id && u.group === 'supervisor'));
    assert.ok(r.body.items.every((u) => u.password_hash === undefined));

    assert.equal((await api(stack.base, 'DELETE', `/api/users/${alice.id}`, { token: admin })).status, 204);
    assert.equal((await api(stack.base, 'GET', `/api/users/${alice.id}`, { token: admin })).status, 404);
    assert.equal((await api(stack.base, 'DELETE', `/api/users/${alice.id}`, { token: admin })).status, 404);
    assert.equal((await api(stack.base, 'PATCH', `/api/users/${alice.id}`, { token: admin, body: { active: true } })).status, 404);
  });

  test('display name defaults to the username', async () => {
    const u = await createUser(stack.base, admin, { username: 'plain', password: 'plain-password' });
    assert.equal(u.display_name, 'plain');
  });

  test('a taken username is 409', async () => {
    await createUser(stack.base, admin, { username: 'dup', password: 'dup-password' });
    const r = await api(stack.base, 'POST', '/api/users', { token: admin, body: { username: 'dup', password: 'other-password' } });
    assert.equal(r.status, 409);
    assert.equal(r.body.error.code, 'conflict');
  });

  test('an unknown or malformed id is 404', async () => {
    assert.equal((await api(stack.base, 'GET', '/api/users/0123456789abcdef01234567', { token: admin })).status, 404);
    assert.equal((await api(stack.base, 'GET', '/api/users/not-an-id', { token: admin })).status, 404);
  });
});

describe('paging and filters', () => {
  before(async () => {
    for (let i = 0; i < 5; i++) {
      await createUser(stack.base, admin, { username: `pg${i}`, password: 'pg-password', group: 'supervisor', active: i % 2 === 0 });
    }
  });

  test('filter by group and active, page with page/per_page and skip/limit', async () => {
    let r = await api(stack.base, 'GET', '/api/users?group=supervisor', { token: admin });
    const sup = r.body.items.map((u) => u.username);
    assert.ok(['pg0', 'pg1', 'pg2', 'pg3', 'pg4'].every((n) => sup.includes(n)));
    assert.ok(r.body.items.every((u) => u.group === 'supervisor'));
    assert.equal(r.body.total, r.body.items.length);

    r = await api(stack.base, 'GET', '/api/users?group=supervisor&active=false', { token: admin });
    assert.ok(r.body.items.length >= 2 && r.body.items.every((u) => u.active === false));

    const all = (await api(stack.base, 'GET', '/api/users?per_page=200', { token: admin })).body;
    const p2 = (await api(stack.base, 'GET', '/api/users?page=2&per_page=2', { token: admin })).body;
    assert.equal(p2.total, all.total);
    assert.equal(p2.skip, 2);
    assert.equal(p2.limit, 2);
    assert.deepEqual(p2.items.map((u) => u.id), all.items.slice(2, 4).map((u) => u.id));
    const sl = (await api(stack.base, 'GET', '/api/users?skip=3&limit=1', { token: admin })).body;
    assert.deepEqual(sl.items.map((u) => u.id), [all.items[3].id]);
    // Sorted by username.
    const names = all.items.map((u) => u.username);
    assert.deepEqual(names, [...names].sort());
  });
});

describe('passwords and sessions', () => {
  test('changing one\'s own password needs the current one and revokes the other sessions only', async () => {
    const u = await createUser(stack.base, admin, { username: 'bob', password: 'bob-password-1' });
    const t1 = await login(stack.base, 'bob', 'bob-password-1');
    const t2 = await login(stack.base, 'bob', 'bob-password-1');
    const r = await api(stack.base, 'PUT', `/api/users/${u.id}/password`,
      { token: t1, body: { password: 'bob-password-2', current_password: 'bob-password-1' } });
    assert.equal(r.status, 204);
    assert.equal((await api(stack.base, 'GET', '/api/auth/me', { token: t1 })).status, 200);
    assert.equal((await api(stack.base, 'GET', '/api/auth/me', { token: t2 })).status, 401);
    assert.equal((await api(stack.base, 'POST', '/api/auth/login', { body: { username: 'bob', password: 'bob-password-1' } })).status, 401);
    await login(stack.base, 'bob', 'bob-password-2');
  });

  test('an admin resetting someone\'s password revokes all of their sessions', async () => {
    const u = await createUser(stack.base, admin, { username: 'carol', password: 'carol-password' });
    const t = await login(stack.base, 'carol', 'carol-password');
    assert.equal((await api(stack.base, 'PUT', `/api/users/${u.id}/password`, { token: admin, body: { password: 'carol-new-password' } })).status, 204);
    assert.equal((await api(stack.base, 'GET', '/api/auth/me', { token: t })).status, 401);
    await login(stack.base, 'carol', 'carol-new-password');
  });

  test('deactivating a user revokes their sessions and blocks login; reactivating allows it again', async () => {
    const u = await createUser(stack.base, admin, { username: 'dave', password: 'dave-password' });
    const t = await login(stack.base, 'dave', 'dave-password');
    assert.equal((await api(stack.base, 'PATCH', `/api/users/${u.id}`, { token: admin, body: { active: false } })).status, 200);
    assert.equal((await api(stack.base, 'GET', '/api/auth/me', { token: t })).status, 401);
    assert.equal((await api(stack.base, 'POST', '/api/auth/login', { body: { username: 'dave', password: 'dave-password' } })).status, 401);
    assert.equal((await api(stack.base, 'PATCH', `/api/users/${u.id}`, { token: admin, body: { active: true } })).status, 200);
    await login(stack.base, 'dave', 'dave-password');
  });

  test('deleting a user revokes their sessions and deletes their canned responses', async () => {
    const u = await createUser(stack.base, admin, { username: 'erin', password: 'erin-password' });
    const t = await login(stack.base, 'erin', 'erin-password');
    const c = await api(stack.base, 'POST', '/api/canned', { token: t, body: { shortcut: 'bye', title: 'Bye', text: 'Bye {customer}' } });
    assert.equal(c.status, 201);
    assert.equal((await api(stack.base, 'DELETE', `/api/users/${u.id}`, { token: admin })).status, 204);
    assert.equal((await api(stack.base, 'GET', '/api/auth/me', { token: t })).status, 401);
    assert.equal((await api(stack.base, 'GET', `/api/canned/${c.body.id}`, { token: admin })).status, 404);
    const left = await api(stack.base, 'GET', `/api/canned?owner_id=${u.id}`, { token: admin });
    assert.equal(left.body.total, 0);
  });
});

describe('last active admin', () => {
  test('the only active admin cannot be demoted, deactivated or deleted (409)', async () => {
    for (const body of [{ group: 'agent' }, { active: false }]) {
      const r = await api(stack.base, 'PATCH', `/api/users/${adminId}`, { token: admin, body });
      assert.equal(r.status, 409, JSON.stringify(body));
      assert.equal(r.body.error.code, 'conflict');
    }
    assert.equal((await api(stack.base, 'DELETE', `/api/users/${adminId}`, { token: admin })).status, 409);
    const me = await api(stack.base, 'GET', '/api/auth/me', { token: admin });
    assert.equal(me.body.user.group, 'admin');
    assert.equal(me.body.user.active, true);
  });

  test('with a second active admin the first can be demoted, and then the second is protected', async () => {
    const second = await createUser(stack.base, admin, { username: 'admin2', password: 'admin2-password', group: 'admin' });
    const t2 = await login(stack.base, 'admin2', 'admin2-password');
    // An inactive admin does not count.
    await createUser(stack.base, admin, { username: 'admin3', password: 'admin3-password', group: 'admin', active: false });
    assert.equal((await api(stack.base, 'PATCH', `/api/users/${adminId}`, { token: t2, body: { group: 'supervisor' } })).status, 200);
    assert.equal((await api(stack.base, 'DELETE', `/api/users/${second.id}`, { token: t2 })).status, 409);
    assert.equal((await api(stack.base, 'PATCH', `/api/users/${second.id}`, { token: t2, body: { active: false } })).status, 409);
    // Restore for the other tests.
    assert.equal((await api(stack.base, 'PATCH', `/api/users/${adminId}`, { token: t2, body: { group: 'admin' } })).status, 200);
  });
});
