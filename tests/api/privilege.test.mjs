// SPDX-License-Identifier: MIT
// Privilege boundaries through a real lighttpd (issue 11, defects 8 and 9): the last-admin guard
// holds against concurrent demotions in several FastCGI processes, and nobody grants, removes
// or takes over permissions they do not hold themselves (users.write does not make an admin,
// groups.write does not extend a group beyond the writer's own set).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { api, createUser, login, startStack, userWith } from './helpers.mjs';

let stack, admin;

before(async () => {
  stack = await startStack();
  admin = await login(stack.base, stack.adminUser, stack.adminPassword);
});
after(async () => { await stack?.stop(); });

const activeAdmins = async (token) =>
  (await api(stack.base, 'GET', '/api/users?group=admin&active=true', { token })).body.items;

describe('last active admin, concurrently', () => {
  test('admins demoting or deactivating themselves all at once: exactly one stays, in every round', async () => {
    const admins = [{ username: stack.adminUser, password: stack.adminPassword }];
    for (let i = 0; i < 3; i++) {
      const u = { username: `racing-admin-${i}`, password: `racing-admin-pw-${i}` };
      await createUser(stack.base, admin, { ...u, group: 'admin' });
      admins.push(u);
    }
    for (let round = 0; round < 6; round++) {
      // One login at a time: password checks from one address run one at a time (abuse.test.mjs).
      const tokens = [];
      for (const a of admins) tokens.push(await login(stack.base, a.username, a.password));
      const ids = await Promise.all(tokens.map(async (t) => (await api(stack.base, 'GET', '/api/auth/me', { token: t })).body.user.id));
      // Half of them leave by demotion, half by deactivation, all in the same instant.
      const answers = await Promise.all(ids.map((id, i) => api(stack.base, 'PATCH', `/api/users/${id}`,
        { token: tokens[i], body: i % 2 ? { active: false } : { group: 'agent' } })));
      const statuses = answers.map((r) => r.status);
      assert.equal(statuses.filter((s) => s === 200).length, admins.length - 1, `round ${round}: ${statuses}`);
      assert.equal(statuses.filter((s) => s === 409).length, 1, `round ${round}: ${statuses}`);
      const stayed = tokens[statuses.indexOf(409)];
      const left = await activeAdmins(stayed);
      assert.equal(left.length, 1, `round ${round}`);
      // The one left puts the others back.
      for (const id of ids.filter((_, i) => statuses[i] === 200)) {
        const r = await api(stack.base, 'PATCH', `/api/users/${id}`, { token: stayed, body: { group: 'admin', active: true } });
        assert.equal(r.status, 200, r.text);
      }
    }
  });

  test('two admins deleting each other at once: one of them remains', async () => {
    for (let round = 0; round < 4; round++) {
      const a = await createUser(stack.base, admin, { username: `dueller-a${round}`, password: 'dueller-password', group: 'admin' });
      const b = await createUser(stack.base, admin, { username: `dueller-b${round}`, password: 'dueller-password', group: 'admin' });
      // Everyone else stops being an admin, so a and b are the last two.
      const others = (await activeAdmins(admin)).filter((u) => u.id !== a.id && u.id !== b.id);
      const ta = await login(stack.base, a.username, 'dueller-password');
      const tb = await login(stack.base, b.username, 'dueller-password');
      for (const o of others)
        assert.equal((await api(stack.base, 'PATCH', `/api/users/${o.id}`, { token: ta, body: { active: false } })).status, 200);
      const [ra, rb] = await Promise.all([
        api(stack.base, 'DELETE', `/api/users/${b.id}`, { token: ta }),
        api(stack.base, 'DELETE', `/api/users/${a.id}`, { token: tb }),
      ]);
      assert.deepEqual([ra.status, rb.status].sort(), [204, 409], `round ${round}`);
      const survivor = ra.status === 204 ? ta : tb;
      assert.equal((await activeAdmins(survivor)).length, 1);
      for (const o of others)
        assert.equal((await api(stack.base, 'PATCH', `/api/users/${o.id}`, { token: survivor, body: { active: true } })).status, 200);
      admin = await login(stack.base, stack.adminUser, stack.adminPassword);
    }
  });
});

describe('nobody grants what they do not hold', () => {
  test('users.write cannot move itself or anyone into admin, nor create an admin', async () => {
    const op = await userWith(stack.base, admin, ['users.read', 'users.write'], 'op');
    let r = await api(stack.base, 'PATCH', `/api/users/${op.id}`, { token: op.token, body: { group: 'admin' } });
    assert.equal(r.status, 403);
    assert.match(r.body.error.message, /required to give a user this group/);
    r = await api(stack.base, 'POST', '/api/users', { token: op.token, body: { username: 'made-admin', password: 'long-enough', group: 'admin' } });
    assert.equal(r.status, 403);
    // Nor a group with any permission the writer lacks (agent has chats.accept).
    r = await api(stack.base, 'POST', '/api/users', { token: op.token, body: { username: 'made-agent', password: 'long-enough', group: 'agent' } });
    assert.equal(r.status, 403);
    assert.equal((await api(stack.base, 'GET', '/api/auth/me', { token: op.token })).body.user.group, op.group);
    // Within its own set it works: a user of its own group.
    r = await api(stack.base, 'POST', '/api/users', { token: op.token, body: { username: 'peer-of-op', password: 'long-enough', group: op.group } });
    assert.equal(r.status, 201, r.text);
  });

  test('users.write cannot take over, demote, deactivate or delete a user of a stronger group', async () => {
    const op = await userWith(stack.base, admin, ['users.read', 'users.write'], 'op');
    const me = (await api(stack.base, 'GET', '/api/auth/me', { token: admin })).body.user;
    const calls = [
      ['PUT', `/api/users/${me.id}/password`, { password: 'taken-over-now' }],
      ['PATCH', `/api/users/${me.id}`, { group: op.group }],
      ['PATCH', `/api/users/${me.id}`, { active: false }],
      ['DELETE', `/api/users/${me.id}`, undefined],
    ];
    for (const [method, path, body] of calls) {
      const r = await api(stack.base, method, path, { token: op.token, body });
      assert.equal(r.status, 403, `${method} ${path}: ${r.text}`);
    }
    assert.equal((await api(stack.base, 'GET', '/api/auth/me', { token: admin })).status, 200);
    assert.equal((await login(stack.base, stack.adminUser, stack.adminPassword)).length > 0, true);
  });

  test('groups.write cannot grant its own group, or any group, what it lacks', async () => {
    const gw = await userWith(stack.base, admin, ['groups.read', 'groups.write'], 'gw');
    let r = await api(stack.base, 'PATCH', `/api/groups/${gw.group}`, { token: gw.token, body: { permissions: ['groups.read', 'groups.write', 'users.write'] } });
    assert.equal(r.status, 403);
    assert.match(r.body.error.message, /users\.write required to grant it/);
    r = await api(stack.base, 'POST', '/api/groups', { token: gw.token, body: { name: 'sneaky', permissions: ['settings.write'] } });
    assert.equal(r.status, 403);
    // Nor strip a group that holds more than the writer.
    r = await api(stack.base, 'PATCH', '/api/groups/supervisor', { token: gw.token, body: { permissions: [] } });
    assert.equal(r.status, 403);
    const sup = (await api(stack.base, 'GET', '/api/groups/supervisor', { token: admin })).body;
    assert.ok(sup.permissions.length > 0);
    // Within its set: allowed.
    r = await api(stack.base, 'POST', '/api/groups', { token: gw.token, body: { name: 'readers', permissions: ['groups.read'] } });
    assert.equal(r.status, 201, r.text);
    r = await api(stack.base, 'PATCH', '/api/groups/readers', { token: gw.token, body: { permissions: ['groups.read', 'groups.write'] } });
    assert.equal(r.status, 200, r.text);
    assert.equal((await api(stack.base, 'DELETE', '/api/groups/readers', { token: gw.token })).status, 204);
  });
});
