// Rooms and their messages through a real lighttpd (rooms seeded through lc_store by
// api/seed, as wsd would make them): list with status filter and paging, read, and
// messages paged newest first.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { api, login, seed, startStack } from './helpers.mjs';

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
