// SPDX-License-Identifier: MIT
// Agents page back through a room ("load earlier"); a supervisor (chats.monitor, chats.end_any)
// watches a room read-only and ends another agent's chat; a request nobody takes within
// request_timeout ends with the no-agent message.
import test from 'node:test';
import assert from 'node:assert/strict';
import { Stack, sleep } from './harness.mjs';
import { Gateway } from './gateway.mjs';

const S = new Stack('superv');
let gw;

test.before(async () => {
  await S.start({ nodes: 2 });
  gw = await new Gateway(S.prefix).start();
});
test.after(async () => { await gw?.close(); await S.stop(); });

test('history pages, typing, a double accept, watching and ending by a supervisor', async () => {
  const [u] = S.users('hist', 1);
  const [sup] = S.users('sup', 1, 'supervisor');
  const a = await S.agent(S.nodes[0], u);
  const s = await S.agent(S.nodes[1], sup);
  await gw.publish('request_agent', 'hank', { customer_name: 'Hank' });
  const w = await gw.waitFor((m) => m.type === 'request_waiting' && m.customer_id === 'hank');
  const rid = w.room_id;
  await a.waitFor((f) => f.type === 'request_offered' && f.room.id === rid);
  a.send({ type: 'accept', room_id: rid, ref: 'first' });
  await a.waitFor((f) => f.type === 'accepted' && f.ref === 'first');
  a.send({ type: 'accept', room_id: rid, ref: 'second' });
  await a.waitFor((f) => f.type === 'already_taken' && f.ref === 'second');

  for (let i = 1; i <= 6; i++) await gw.publish('customer_message', 'hank', { text: `h${i}` });
  await a.waitFor((f) => f.type === 'message' && f.message.text === 'h6');
  a.send({ type: 'message', room_id: rid, id: 'still', text: 'still mine' });
  await a.waitFor((f) => f.type === 'ack' && f.id === 'still');

  a.send({ type: 'typing', room_id: rid, state: true });
  const t = await gw.waitFor((m) => m.type === 'agent_typing' && m.room_id === rid);
  assert.equal(t.state, true);
  // Typing is published transient (docs/gateway.md), the agent's stored messages persistent.
  assert.equal(gw.modes.get(t.id), 1);
  const still = await gw.waitFor((m) => m.type === 'agent_message' && m.text === 'still mine');
  assert.equal(gw.modes.get(still.id), 2);

  // Load earlier: newest 3 first, then everything before them.
  a.send({ type: 'history', room_id: rid, limit: 3, ref: 'p1' });
  const p1 = await a.waitFor((f) => f.type === 'history' && f.ref === 'p1');
  assert.equal(p1.messages.length, 3);
  assert.equal(p1.has_more, true);
  assert.ok(p1.messages[0].seq < p1.messages[2].seq, 'oldest first');
  a.send({ type: 'history', room_id: rid, before_seq: p1.messages[0].seq, limit: 100, ref: 'p2' });
  const p2 = await a.waitFor((f) => f.type === 'history' && f.ref === 'p2');
  assert.equal(p2.has_more, false);
  const all = S.fixture('messages', rid);
  assert.deepEqual([...p2.messages, ...p1.messages].map((m) => m.seq), all.map((m) => m.seq));

  // The supervisor watches: sees the past, then live messages of both sides; cannot write.
  s.send({ type: 'watch', room_id: rid });
  const watching = await s.waitFor((f) => f.type === 'watching' && f.room_id === rid);
  assert.deepEqual(watching.messages.map((m) => m.seq), all.map((m) => m.seq));
  await gw.publish('customer_message', 'hank', { text: 'watched 1' });
  await s.waitFor((f) => f.type === 'message' && f.message.text === 'watched 1');
  a.send({ type: 'message', room_id: rid, id: 'w2', text: 'watched 2' });
  await s.waitFor((f) => f.type === 'message' && f.message.text === 'watched 2');
  s.send({ type: 'message', room_id: rid, id: 'sup1', text: 'hi', ref: 'no' });
  assert.equal((await s.waitFor((f) => f.type === 'error' && f.ref === 'no')).code, 'forbidden');

  // chats.end_any: the supervisor ends the agent's room; both are told, and the customer.
  s.send({ type: 'end', room_id: rid, ref: 'end' });
  await s.waitFor((f) => f.type === 'ended' && f.ref === 'end');
  const ea = await a.waitFor((f) => f.type === 'ended' && f.room_id === rid);
  assert.equal(ea.reason, 'agent_ended');
  const se = await gw.waitFor((m) => m.type === 'session_ended' && m.room_id === rid);
  assert.equal(se.reason, 'agent_ended');
  assert.equal(S.fixture('room', rid).status, 'closed');
});

test('a request nobody accepts within request_timeout ends with no_agent', async () => {
  // As PATCH /api/settings: stored, then every node is told (a settings event) and reads them.
  await S.settings({ request_timeout: 10, no_agent_message: 'Nobody is here, {customer}.' });
  const [u] = S.users('idle', 1);
  const a = await S.agent(S.nodes[0], u);
  const t0 = Date.now();
  await gw.publish('request_agent', 'tina', { customer_name: 'Tina' });
  const w = await gw.waitFor((m) => m.type === 'request_waiting' && m.customer_id === 'tina');
  await a.waitFor((f) => f.type === 'request_offered' && f.room.id === w.room_id);
  const se = await gw.waitFor((m) => m.type === 'session_ended' && m.room_id === w.room_id, 'timeout', 20000);
  assert.ok(Date.now() - t0 >= 9000, `ended after ${Date.now() - t0} ms`);
  assert.equal(se.reason, 'no_agent');
  assert.equal(se.text, 'Nobody is here, Tina.');
  await a.waitFor((f) => f.type === 'request_withdrawn' && f.room_id === w.room_id && f.reason === 'no_agent');
  // Only one node closed it (one conditional update): one session_ended.
  await sleep(1500);
  assert.equal(gw.all((m) => m.type === 'session_ended' && m.room_id === w.room_id).length, 1);
});
