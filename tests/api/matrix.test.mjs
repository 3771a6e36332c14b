// SPDX-License-Identifier: MIT
// The permission matrix (issue 11): every REST route of docs/api.md, called with no login, as a
// user of each built-in group and as a user of a custom group holding each single permission,
// through a real lighttpd. What each caller may do is read from docs/api.md itself (the route
// headings, "Every route needs ..." and the built-in groups' lists), so the test asserts the
// documented answer: 401 without a token, 403 without the permission, the route's success
// otherwise (public routes answer everyone). Resources are prepared so that a permitted call
// succeeds: users and groups within what the caller holds (docs/api.md, Privilege boundaries),
// the caller's own canned responses, a room the caller took when it reads only its own history.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { api, createUser, login, seed, startStack } from './helpers.mjs';

// ---- what docs/api.md says
const doc = readFileSync(join(process.env.LC_TOP_SRCDIR, 'docs', 'api.md'), 'utf8');
const vocabulary = [...doc.matchAll(/^\| `([a-z]+\.[a-z_]+)` +\|/gm)].map((m) => m[1]);
const builtin = {
  admin: vocabulary,
  supervisor: doc.match(/^- `supervisor`: ([^;]+);/m)[1].split(/\s+/).filter(Boolean),
  agent: doc.match(/^- `agent`: (.+)\.$/m)[1].split(/\s+/).filter(Boolean),
};
// Each route heading: `#### `METHOD PATH` — `p` or `q`` | (public) | (authenticated, ...); a
// section may say "Every route needs `p` or `q`" for headings that name nothing.
const documented = [];
for (const section of doc.split(/^### /m)) {
  const every = section.match(/^Every route needs ((?:`[a-z.]+`(?: or )?)+)/m);
  for (const m of section.matchAll(/^#### `([A-Z]+) (\/api\/[^`]+)`(.*)$/gm)) {
    const rest = m[3];
    let perms = [...rest.matchAll(/`([a-z]+\.[a-z_]+)`/g)].map((x) => x[1]);
    let access = 'perm';
    if (/\(public\b/.test(rest)) access = 'public'; // also "(public, to metrics_allow only)"
    else if (/no permission/.test(rest)) access = 'any';
    else if (/authenticated; see below/.test(rest)) { access = 'perm'; perms = ['users.write']; }
    else if (perms.length === 0 && every) perms = [...every[1].matchAll(/`([a-z.]+)`/g)].map((x) => x[1]);
    documented.push({ method: m[1], path: m[2], access, perms });
  }
}

// ---- how to call each route so that a permitted caller succeeds
let stack, admin, n = 0;
const uniq = (p) => `${p}${process.pid}x${++n}`;
const newTarget = async () => (await createUser(stack.base, admin, { username: uniq('target'), password: 'target-password', group: 'empty' })).id;
const newGroup = async () => {
  const name = uniq('grp').toLowerCase();
  assert.equal((await api(stack.base, 'POST', '/api/groups', { token: admin, body: { name, permissions: [] } })).status, 201);
  return name;
};
const holds = (u, perm) => u.perms.includes(perm);
// A canned response of u's own when u may have one (else any id: the answer is 403 before it is read).
async function ownCanned(u) {
  if (!holds(u, 'canned.own') && !holds(u, 'canned.all')) return '0123456789abcdef01234567';
  const r = await api(stack.base, 'POST', '/api/canned', { token: u.token, body: { shortcut: uniq('c'), title: 'T', text: 'X' } });
  assert.equal(r.status, 201, r.text);
  return r.body.id;
}
// A room u may read: any with chats.monitor, one u took with chats.history alone.
const readableRoom = (u) => (holds(u, 'chats.monitor') || !u.id
  ? seed(stack, 'room', uniq('cust'), 2).id
  : seed(stack, 'room', uniq('cust'), 2, `agent=${u.id}`).id);

const calls = {
  'POST /api/auth/login': async () => ({ body: { username: stack.adminUser, password: stack.adminPassword }, ok: 200 }),
  'POST /api/auth/logout': async (u) => ({ token: u.id ? await login(stack.base, u.username, u.password) : undefined, ok: 204 }),
  'GET /api/auth/me': async () => ({ ok: 200 }),
  'GET /api/users': async () => ({ ok: 200 }),
  'POST /api/users': async () => ({ body: { username: uniq('new'), password: 'long-enough', group: 'empty' }, ok: 201 }),
  'GET /api/users/{id}': async () => ({ path: { id: await newTarget() }, ok: 200 }),
  'PATCH /api/users/{id}': async () => ({ path: { id: await newTarget() }, body: { display_name: 'Renamed' }, ok: 200 }),
  'DELETE /api/users/{id}': async () => ({ path: { id: await newTarget() }, ok: 204 }),
  'PUT /api/users/{id}/password': async () => ({ path: { id: await newTarget() }, body: { password: 'another-long-one' }, ok: 204 }),
  'GET /api/groups': async () => ({ ok: 200 }),
  'POST /api/groups': async () => ({ body: { name: uniq('new').toLowerCase(), permissions: [] }, ok: 201 }),
  'GET /api/groups/{name}': async () => ({ path: { name: 'agent' }, ok: 200 }),
  'PATCH /api/groups/{name}': async () => ({ path: { name: await newGroup() }, body: { permissions: [] }, ok: 200 }),
  'DELETE /api/groups/{name}': async () => ({ path: { name: await newGroup() }, ok: 204 }),
  'GET /api/canned': async () => ({ ok: 200 }),
  'POST /api/canned': async () => ({ body: { shortcut: uniq('s'), title: 'T', text: 'X' }, ok: 201 }),
  'GET /api/canned/{id}': async (u) => ({ path: { id: await ownCanned(u) }, ok: 200 }),
  'PATCH /api/canned/{id}': async (u) => ({ path: { id: await ownCanned(u) }, body: { title: 'New' }, ok: 200 }),
  'DELETE /api/canned/{id}': async (u) => ({ path: { id: await ownCanned(u) }, ok: 204 }),
  'GET /api/settings': async () => ({ ok: 200 }),
  'PATCH /api/settings': async () => ({ body: { history_limit: 40 }, ok: 200 }),
  'GET /api/rooms': async () => ({ ok: 200 }),
  'GET /api/rooms/{id}': async (u) => ({ path: { id: readableRoom(u) }, ok: 200 }),
  'GET /api/rooms/{id}/messages': async (u) => ({ path: { id: readableRoom(u) }, ok: 200 }),
  'GET /api/health': async () => ({ ok: 200 }),
  'GET /api/live': async () => ({ ok: 200 }),
  // Served to metrics_allow addresses only (default loopback, which the matrix calls from).
  'GET /api/metrics': async () => ({ ok: 200 }),
};

// ---- callers: no login, each built-in group, a custom group with each single permission
const callers = [{ name: 'no login', perms: [] }];

before(async () => {
  stack = await startStack();
  admin = await login(stack.base, stack.adminUser, stack.adminPassword);
  // The group of the users and groups the callers manage: it holds nothing, so any holder of
  // users.write may manage its users (nobody grants what they lack).
  assert.equal((await api(stack.base, 'POST', '/api/groups', { token: admin, body: { name: 'empty', permissions: [] } })).status, 201);
  const me = (await api(stack.base, 'GET', '/api/auth/me', { token: admin })).body.user;
  callers.push({ name: 'admin', perms: builtin.admin, id: me.id, username: stack.adminUser, password: stack.adminPassword, token: admin });
  const groups = [['supervisor', builtin.supervisor], ['agent', builtin.agent]];
  for (const p of vocabulary) {
    const name = `only-${p.replace('.', '-').replace('_', '-')}`;
    assert.equal((await api(stack.base, 'POST', '/api/groups', { token: admin, body: { name, permissions: [p] } })).status, 201);
    groups.push([name, [p]]);
  }
  // One login at a time: password checks from one address run one at a time.
  for (const [group, perms] of groups) {
    const username = uniq(group.replace(/-/g, ''));
    const u = await createUser(stack.base, admin, { username, password: 'caller-password', group });
    callers.push({ name: group, perms, id: u.id, username, password: 'caller-password', token: await login(stack.base, username, 'caller-password') });
  }
});
after(async () => { await stack?.stop(); });

test('docs/api.md documents every route the matrix calls, and the vocabulary and built-in groups', () => {
  assert.equal(vocabulary.length, 12);
  for (const p of [...builtin.supervisor, ...builtin.agent]) assert.ok(vocabulary.includes(p), p);
  assert.ok(builtin.supervisor.length > 0 && builtin.agent.length > 0);
  assert.deepEqual(documented.map((r) => `${r.method} ${r.path}`).sort(), Object.keys(calls).sort());
  for (const r of documented) if (r.access === 'perm') assert.ok(r.perms.length > 0, `${r.method} ${r.path}`);
});

describe('every route, every caller: the documented answer', () => {
  for (const route of documented) {
    const key = `${route.method} ${route.path}`;
    test(key, async () => {
      const wrong = [];
      for (const u of callers) {
        const allowed = route.access === 'public' || (u.id && (route.access === 'any' || route.perms.some((p) => holds(u, p))));
        const c = await calls[key](u);
        const path = route.path.replace(/\{(\w+)\}/g, (_, k) => encodeURIComponent(c.path?.[k] ?? '0123456789abcdef01234567'));
        const token = c.token ?? u.token;
        const body = c.body ?? (['POST', 'PATCH', 'PUT'].includes(route.method) ? {} : undefined);
        const r = await api(stack.base, route.method, path, { token, body });
        const want = allowed ? c.ok : (u.id ? 403 : 401);
        if (r.status !== want) wrong.push(`${u.name}: ${r.status} (documented ${want}) ${r.text.slice(0, 120)}`);
      }
      assert.deepEqual(wrong, [], `${key}:\n${wrong.join('\n')}`);
    });
  }
});
