// SPDX-License-Identifier: MIT
// Canned responses through a real lighttpd: lifecycle, search, paging, duplicates per owner,
// owners isolated from each other, and canned.all managing anyone's.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { api, login, startStack, userWith } from './helpers.mjs';

let stack, admin, agentA, agentB, supervisor;

before(async () => {
  stack = await startStack();
  admin = await login(stack.base, stack.adminUser, stack.adminPassword);
  agentA = await userWith(stack.base, admin, ['canned.own'], 'agenta');
  agentB = await userWith(stack.base, admin, ['canned.own'], 'agentb');
  supervisor = await userWith(stack.base, admin, ['canned.own', 'canned.all'], 'sup');
});
after(async () => { await stack?.stop(); });

const create = (u, body) => api(stack.base, 'POST', '/api/canned', { token: u.token, body });

describe('own canned responses', () => {
  test('create, read, update, list and delete one\'s own canned response', async () => {
    let r = await create(agentA, { shortcut: 'hello', title: 'Greeting', text: 'Hello {customer}, I am {agent}.' });
    assert.equal(r.status, 201);
    const c = r.body;
    assert.equal(c.owner_id, agentA.id);
    assert.equal(c.text, 'Hello {customer}, I am {agent}.');
    r = await api(stack.base, 'GET', `/api/canned/${c.id}`, { token: agentA.token });
    assert.deepEqual(r.body, c);
    r = await api(stack.base, 'PATCH', `/api/canned/${c.id}`, { token: agentA.token, body: { title: 'Hi', text: 'Hi!' } });
    assert.equal(r.status, 200);
    assert.equal(r.body.title, 'Hi');
    assert.equal(r.body.shortcut, 'hello');
    r = await api(stack.base, 'GET', '/api/canned', { token: agentA.token });
    assert.deepEqual(r.body.items.map((x) => x.id), [c.id]);
    assert.equal(r.body.total, 1);
    assert.equal((await api(stack.base, 'DELETE', `/api/canned/${c.id}`, { token: agentA.token })).status, 204);
    assert.equal((await api(stack.base, 'GET', `/api/canned/${c.id}`, { token: agentA.token })).status, 404);
  });

  // Each owner's list is a document of its own, rewritten after every change: changes made at
  // the same time (several FastCGI processes and threads) must all be in it.
  test('twenty canned responses created, renamed and deleted at once all show in the list', async () => {
    const u = await userWith(stack.base, admin, ['canned.own'], 'burst');
    const made = await Promise.all(Array.from({ length: 20 }, (_, i) =>
      create(u, { shortcut: `b${String(i).padStart(2, '0')}`, title: 't', text: 'x' })));
    assert.deepEqual(made.map((r) => r.status), Array(20).fill(201));
    let r = await api(stack.base, 'GET', '/api/canned?per_page=100', { token: u.token });
    assert.equal(r.body.total, 20);
    assert.deepEqual(r.body.items.map((x) => x.shortcut), made.map((m) => m.body.shortcut));
    const ids = made.map((m) => m.body.id);
    await Promise.all([
      ...ids.slice(0, 10).map((id) => api(stack.base, 'DELETE', `/api/canned/${id}`, { token: u.token })),
      ...ids.slice(10).map((id, i) => api(stack.base, 'PATCH', `/api/canned/${id}`, { token: u.token, body: { shortcut: `z${i}` } })),
    ]);
    r = await api(stack.base, 'GET', '/api/canned?per_page=100', { token: u.token });
    assert.deepEqual(r.body.items.map((x) => x.shortcut), Array.from({ length: 10 }, (_, i) => `z${i}`));
  });

  test('a shortcut is unique per owner: 409 for the same owner, fine for another', async () => {
    assert.equal((await create(agentA, { shortcut: 'thanks', title: 't', text: 'Thanks' })).status, 201);
    const dup = await create(agentA, { shortcut: 'thanks', title: 't2', text: 'Thanks again' });
    assert.equal(dup.status, 409);
    assert.equal(dup.body.error.code, 'conflict');
    assert.equal((await create(agentB, { shortcut: 'thanks', title: 't', text: 'Thanks' })).status, 201);
    const other = await create(agentA, { shortcut: 'thanks2', title: 't', text: 'x' });
    const ren = await api(stack.base, 'PATCH', `/api/canned/${other.body.id}`, { token: agentA.token, body: { shortcut: 'thanks' } });
    assert.equal(ren.status, 409);
  });

  test('search by shortcut prefix and by text, case-insensitive and literal; paging', async () => {
    for (const [s, t] of [['ship1', 'Your parcel SHIPS today'], ['ship2', 'Shipping costs (a+b)'], ['refund', 'Refunds take 5 days']]) {
      assert.equal((await create(agentB, { shortcut: s, title: s, text: t })).status, 201);
    }
    let r = await api(stack.base, 'GET', '/api/canned?prefix=ship', { token: agentB.token });
    assert.deepEqual(r.body.items.map((x) => x.shortcut), ['ship1', 'ship2']);
    r = await api(stack.base, 'GET', `/api/canned?q=${encodeURIComponent('ships')}`, { token: agentB.token });
    assert.deepEqual(r.body.items.map((x) => x.shortcut), ['ship1']);
    r = await api(stack.base, 'GET', `/api/canned?q=${encodeURIComponent('(a+b)')}`, { token: agentB.token });
    assert.deepEqual(r.body.items.map((x) => x.shortcut), ['ship2']);
    r = await api(stack.base, 'GET', '/api/canned?q=nothing-like-this', { token: agentB.token });
    assert.equal(r.body.total, 0);
    r = await api(stack.base, 'GET', '/api/canned?per_page=2&page=2', { token: agentB.token });
    assert.equal(r.body.total, 4);
    assert.deepEqual(r.body.items.map((x) => x.shortcut), ['ship2', 'thanks']);
  });
});

describe('isolation and canned.all', () => {
  test('another agent\'s canned response is 404 to read, change or delete, and absent from lists', async () => {
    const c = (await create(agentA, { shortcut: 'secret', title: 't', text: 'mine' })).body;
    for (const [m, body] of [['GET'], ['PATCH', { title: 'stolen' }], ['DELETE']]) {
      const r = await api(stack.base, m, `/api/canned/${c.id}`, { token: agentB.token, body });
      assert.equal(r.status, 404, m);
    }
    const list = await api(stack.base, 'GET', '/api/canned', { token: agentB.token });
    assert.ok(!list.body.items.some((x) => x.id === c.id));
    assert.equal((await api(stack.base, 'GET', `/api/canned/${c.id}`, { token: agentA.token })).body.title, 't');
  });

  test('without canned.all, owner_id, all=true and creating for someone else are 403', async () => {
    assert.equal((await api(stack.base, 'GET', `/api/canned?owner_id=${agentA.id}`, { token: agentB.token })).status, 403);
    assert.equal((await api(stack.base, 'GET', '/api/canned?all=true', { token: agentB.token })).status, 403);
    assert.equal((await create(agentB, { shortcut: 'x', title: 't', text: 'x', owner_id: agentA.id })).status, 403);
  });

  test('with canned.all, list one owner\'s or everyone\'s, and manage and create theirs', async () => {
    let r = await api(stack.base, 'GET', `/api/canned?owner_id=${agentA.id}`, { token: supervisor.token });
    assert.equal(r.status, 200);
    assert.ok(r.body.items.length > 0 && r.body.items.every((x) => x.owner_id === agentA.id));
    r = await api(stack.base, 'GET', '/api/canned?all=true&per_page=200', { token: supervisor.token });
    const owners = new Set(r.body.items.map((x) => x.owner_id));
    assert.ok(owners.has(agentA.id) && owners.has(agentB.id));
    // The default is still one's own.
    r = await api(stack.base, 'GET', '/api/canned', { token: supervisor.token });
    assert.equal(r.body.total, 0);
    const made = await create(supervisor, { shortcut: 'fromsup', title: 't', text: 'x', owner_id: agentA.id });
    assert.equal(made.status, 201);
    assert.equal(made.body.owner_id, agentA.id);
    assert.equal((await api(stack.base, 'GET', `/api/canned/${made.body.id}`, { token: agentA.token })).status, 200);
    assert.equal((await api(stack.base, 'PATCH', `/api/canned/${made.body.id}`, { token: supervisor.token, body: { text: 'edited' } })).status, 200);
    assert.equal((await api(stack.base, 'DELETE', `/api/canned/${made.body.id}`, { token: supervisor.token })).status, 204);
  });
});
