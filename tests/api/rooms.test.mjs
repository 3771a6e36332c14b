// SPDX-License-Identifier: MIT
// Rooms and their messages through a real lighttpd (rooms seeded through lc_store by
// api/seed, as wsd would make them): list with status filter and paging, read, and
// messages paged newest first; who may read which room (an agent only the rooms they took, or
// a waiting one they are offered; a supervisor every room).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { api, login, seed, startStack, userWith } from './helpers.mjs';

let stack, admin, open, closed;

before(async () => {
  stack = await startStack();
  admin = await login(stack.base, stack.adminUser, stack.adminPassword);
  closed = seed(stack, 'room', 'cust-closed', 2, 'close');
  open = seed(stack, 'room', 'cust-open', 7);
});
after(async () => { await stack?.stop(); });

test('rooms are listed newest first, filtered by status and paged', async () => {
  let r = await api(stack.base, 'GET', '/api/rooms', { token: admin });
  assert.equal(r.status, 200);
  assert.equal(r.body.total, 2);
  assert.deepEqual(r.body.items.map((x) => x.id), [open.id, closed.id]);
  assert.equal(r.body.items[0].declined_by, undefined);
  r = await api(stack.base, 'GET', '/api/rooms?status=waiting', { token: admin });
  assert.deepEqual(r.body.items.map((x) => x.id), [open.id]);
  r = await api(stack.base, 'GET', '/api/rooms?status=closed', { token: admin });
  assert.deepEqual(r.body.items.map((x) => x.id), [closed.id]);
  assert.equal(r.body.items[0].close_reason, 'customer_left');
  r = await api(stack.base, 'GET', '/api/rooms?skip=1&limit=1', { token: admin });
  assert.deepEqual(r.body.items.map((x) => x.id), [closed.id]);
  assert.equal(r.body.total, 2);
});

test('a room is read by id; an unknown one is 404', async () => {
  const r = await api(stack.base, 'GET', `/api/rooms/${open.id}`, { token: admin });
  assert.equal(r.status, 200);
  assert.equal(r.body.customer_id, 'cust-open');
  assert.equal(r.body.status, 'waiting');
  assert.equal((await api(stack.base, 'GET', '/api/rooms/0123456789abcdef01234567', { token: admin })).status, 404);
  assert.equal((await api(stack.base, 'GET', '/api/rooms/0123456789abcdef01234567/messages', { token: admin })).status, 404);
});

test('messages come newest first in pages linked by next_before_seq', async () => {
  let r = await api(stack.base, 'GET', `/api/rooms/${open.id}/messages?limit=3`, { token: admin });
  assert.equal(r.status, 200);
  const seen = [];
  let pages = 0;
  for (;;) {
    pages++;
    const seqs = r.body.items.map((m) => m.seq);
    assert.deepEqual(seqs, [...seqs].sort((a, b) => b - a));
    seen.push(...r.body.items.map((m) => m.text));
    if (r.body.next_before_seq === null) break;
    r = await api(stack.base, 'GET', `/api/rooms/${open.id}/messages?limit=3&before_seq=${r.body.next_before_seq}`, { token: admin });
    assert.equal(r.status, 200);
  }
  assert.ok(pages >= 3);
  assert.deepEqual(seen, [7, 6, 5, 4, 3, 2, 1].map((i) => `message ${i}`));
  const all = await api(stack.base, 'GET', `/api/rooms/${open.id}/messages`, { token: admin });
  assert.equal(all.body.items.length, 7);
  assert.equal(all.body.next_before_seq, null);
  assert.equal(all.body.items[0].room_id, open.id);
  assert.ok(['customer', 'agent'].includes(all.body.items[0].sender));
});

test('an agent reads the rooms they took; another agent gets 404 for them; a supervisor reads both', async () => {
  const agentGroup = ['canned.own', 'chats.accept', 'chats.history'];
  const a = await userWith(stack.base, admin, agentGroup, 'agenta');
  const b = await userWith(stack.base, admin, agentGroup, 'agentb');
  const sup = await userWith(stack.base, admin, ['chats.monitor'], 'sup');
  const roomA = seed(stack, 'room', 'cust-of-a', 3, `agent=${a.id}`);
  const roomB = seed(stack, 'room', 'cust-of-b', 2, `agent=${b.id}`, 'close');
  assert.equal(roomA.agent_id, a.id);
  assert.equal(roomB.status, 'closed');
  const get = (u, room, tail = '') => api(stack.base, 'GET', `/api/rooms/${room.id}${tail}`, { token: u.token });

  // Each agent reads their own room and its messages (a closed one too: their history).
  for (const [u, room, n] of [[a, roomA, 3], [b, roomB, 2]]) {
    assert.equal((await get(u, room)).status, 200);
    const m = await get(u, room, '/messages');
    assert.equal(m.status, 200);
    assert.equal(m.body.items.length, n);
  }
  // Neither reads the other's, and the answer is the one for an absent room.
  for (const [u, room] of [[b, roomA], [a, roomB]]) {
    for (const tail of ['', '/messages']) {
      const r = await get(u, room, tail);
      assert.equal(r.status, 404, `${u.username} ${tail}`);
      assert.equal(r.body.error.code, 'not_found');
      assert.equal(r.body.error.message, 'no such room');
      assert.equal(JSON.stringify(r.body).includes('message 1'), false);
    }
  }
  // Each lists exactly the rooms they took; an agent without chats.history lists nothing (403).
  for (const [u, own] of [[a, roomA], [b, roomB]]) {
    const mine = await api(stack.base, 'GET', '/api/rooms', { token: u.token });
    assert.equal(mine.status, 200);
    assert.deepEqual(mine.body.items.map((x) => x.id), [own.id]);
    assert.equal(mine.body.total, 1);
  }
  const closedOnly = await api(stack.base, 'GET', '/api/rooms?status=closed', { token: a.token });
  assert.deepEqual(closedOnly.body.items, []);
  const noHistory = await userWith(stack.base, admin, ['chats.accept'], 'nohist');
  assert.equal((await api(stack.base, 'GET', '/api/rooms', { token: noHistory.token })).status, 403);
  // A supervisor (chats.monitor) reads both rooms and their messages, and lists them.
  for (const room of [roomA, roomB]) {
    assert.equal((await get(sup, room)).status, 200);
    assert.equal((await get(sup, room, '/messages')).status, 200);
  }
  const list = await api(stack.base, 'GET', '/api/rooms', { token: sup.token });
  assert.equal(list.status, 200);
  assert.ok(list.body.items.some((x) => x.id === roomA.id));
  assert.ok(list.body.items.some((x) => x.id === roomB.id));
});

test('a waiting room is readable by those allowed to accept it, until someone takes it', async () => {
  const acceptor = await userWith(stack.base, admin, ['chats.accept', 'chats.history'], 'acc');
  const historyOnly = await userWith(stack.base, admin, ['chats.history'], 'hist');
  const waiting = seed(stack, 'room', 'cust-waiting', 1);
  assert.equal(waiting.status, 'waiting');
  const m = await api(stack.base, 'GET', `/api/rooms/${waiting.id}/messages`, { token: acceptor.token });
  assert.equal(m.status, 200);
  assert.equal(m.body.items[0].text, 'message 1');
  assert.equal((await api(stack.base, 'GET', `/api/rooms/${waiting.id}/messages`, { token: historyOnly.token })).status, 404);
  // Taken by someone else (seed claims the same customer's open room): no longer readable.
  const other = await userWith(stack.base, admin, ['chats.accept', 'chats.history'], 'taker');
  const taken = seed(stack, 'room', 'cust-waiting', 0, `agent=${other.id}`);
  assert.equal(taken.id, waiting.id);
  assert.equal((await api(stack.base, 'GET', `/api/rooms/${waiting.id}/messages`, { token: acceptor.token })).status, 404);
  assert.equal((await api(stack.base, 'GET', `/api/rooms/${waiting.id}/messages`, { token: other.token })).status, 200);
});
