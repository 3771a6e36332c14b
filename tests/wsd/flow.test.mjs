// SPDX-License-Identifier: MIT
// The whole flow of issue 4 over two wsd nodes and a test gateway speaking the contract:
// request, offer on both nodes, decline, accept, join message at the gateway, history limit
// honoured, messages both ways in order, canned response, end, closing messages both sides.
import test from 'node:test';
import assert from 'node:assert/strict';
import { Stack, sleep } from './harness.mjs';
import { Gateway } from './gateway.mjs';

const S = new Stack('flow');
let gw;

test.before(async () => {
  await S.start({ nodes: 2, settings: {
    history_limit: 5,
    join_message: '{agent} is here for {customer}',
    end_message_agent: 'You ended the chat with {customer}.',
    end_message_customer: '{agent} ended the chat.',
  } });
  gw = await new Gateway(S.prefix).start();
});
test.after(async () => { await gw?.close(); await S.stop(); });

test('a request made while no agent is online waits and is offered when an agent connects', async () => {
  const [early] = S.users('early', 1);
  await gw.publish('request_agent', 'cust-early', { customer_name: 'Early Bird' });
  const waiting = await gw.waitFor((m) => m.type === 'request_waiting' && m.customer_id === 'cust-early');
  assert.equal(waiting.channel, 'test');
  assert.ok(waiting.room_id && waiting.id && typeof waiting.ts === 'number' && waiting.seq >= 1);
  await sleep(300);
  const a = await S.agent(S.nodes[1], early);
  const hello = a.find((f) => f.type === 'hello');
  const offered = hello.requests.find((r) => r.id === waiting.room_id) ||
    (await a.waitFor((f) => f.type === 'request_offered' && f.room.id === waiting.room_id)).room;
  assert.equal(offered.customer_name, 'Early Bird');
  // Leave it: the customer goes away, every agent sees it withdrawn.
  await gw.publish('customer_left', 'cust-early');
  await a.waitFor((f) => f.type === 'request_withdrawn' && f.room_id === waiting.room_id);
  const ended = await gw.waitFor((m) => m.type === 'session_ended' && m.room_id === waiting.room_id);
  assert.equal(ended.reason, 'customer_left');
  a.close();
});

test('request, decline, accept, history, messages both ways, canned response, end', async () => {
  const [a0, a1] = S.users('flow', 2);
  const ag0 = await S.agent(S.nodes[0], a0);
  const ag1 = await S.agent(S.nodes[1], a1);
  assert.deepEqual(ag0.find((f) => f.type === 'hello').user.username, a0.username);

  // An earlier, closed room of the same customer: its messages belong to the history.
  await gw.publish('request_agent', 'alice', { customer_name: 'Alice' });
  const w1 = await gw.waitFor((m) => m.type === 'request_waiting' && m.customer_id === 'alice');
  await gw.publish('customer_message', 'alice', { text: 'old 1' });
  await gw.publish('customer_message', 'alice', { text: 'old 2' });
  await until2(() => S.fixture('messages', w1.room_id).length === 3, 'old messages stored');
  await gw.publish('customer_left', 'alice');
  await gw.waitFor((m) => m.type === 'session_ended' && m.room_id === w1.room_id);

  // The new request is offered on both nodes.
  await gw.publish('request_agent', 'alice', { customer_name: 'Alice' });
  const w2 = await gw.waitFor((m) => m.type === 'request_waiting' && m.customer_id === 'alice' && m.room_id !== w1.room_id);
  const rid = w2.room_id;
  await gw.publish('customer_message', 'alice', { text: 'new 1' });
  await ag0.waitFor((f) => f.type === 'request_offered' && f.room.id === rid, 'offer on n0');
  await ag1.waitFor((f) => f.type === 'request_offered' && f.room.id === rid, 'offer on n1');

  // Decline hides it for that agent only; the room stays waiting (a0 has not declined).
  ag1.send({ type: 'decline', room_id: rid, ref: 'd1' });
  await ag1.waitFor((f) => f.type === 'request_withdrawn' && f.room_id === rid && f.reason === 'declined');
  await sleep(300);
  assert.equal(ag0.all((f) => f.type === 'request_withdrawn' && f.room_id === rid).length, 0);
  assert.equal(S.fixture('room', rid).status, 'waiting');

  await until2(() => S.fixture('messages', rid).length === 2, 'new 1 stored');
  ag0.send({ type: 'accept', room_id: rid, ref: 'a1' });
  const acc = await ag0.waitFor((f) => f.type === 'accepted' && f.ref === 'a1');
  assert.equal(acc.room.id, rid);
  assert.equal(acc.room.agent_id, a0.id);
  // history_limit 5: old 1, old 2 (earlier room), waiting text, new 1, join text.
  assert.equal(acc.history.length, 5);
  assert.deepEqual(acc.history.map((m) => m.text).slice(0, 2), ['old 1', 'old 2']);
  assert.equal(acc.history[0].room_id, w1.room_id);
  assert.equal(acc.history[3].text, 'new 1');
  assert.equal(acc.history[4].text, `${a0.display_name} is here for Alice`);
  await ag1.waitFor((f) => f.type === 'request_withdrawn' && f.room_id === rid);

  const joined = await gw.waitFor((m) => m.type === 'agent_joined' && m.room_id === rid);
  assert.equal(joined.text, `${a0.display_name} is here for Alice`);
  assert.equal(joined.agent.id, a0.id);
  assert.equal(joined.customer_id, 'alice');

  // Messages both ways, in order.
  for (let i = 1; i <= 5; i++) await gw.publish('customer_message', 'alice', { text: `c${i}` });
  for (let i = 1; i <= 3; i++) ag0.send({ type: 'message', room_id: rid, id: `m${i}`, text: `a${i}` });
  const acks = [];
  for (let i = 1; i <= 3; i++) acks.push(await ag0.waitFor((f) => f.type === 'ack' && f.id === `m${i}`));
  assert.ok(acks[0].message.seq < acks[1].message.seq && acks[1].message.seq < acks[2].message.seq);
  await ag0.waitFor((f) => f.type === 'message' && f.message.text === 'c5');
  const got = ag0.all((f) => f.type === 'message' && f.room_id === rid).map((f) => f.message);
  assert.deepEqual(got.map((m) => m.text), ['c1', 'c2', 'c3', 'c4', 'c5']);
  for (let i = 1; i < got.length; i++) assert.ok(got[i].seq > got[i - 1].seq);
  assert.ok(got.every((m) => m.sender === 'customer' && m.author === 'Alice'));
  await gw.waitFor((m) => m.type === 'agent_message' && m.text === 'a3');
  const out = gw.all((m) => m.type === 'agent_message' && m.room_id === rid);
  assert.deepEqual(out.map((m) => m.text), ['a1', 'a2', 'a3']);
  assert.deepEqual(out.map((m) => m.seq), acks.map((a) => a.message.seq));

  // The other agent cannot write into or end this room.
  ag1.send({ type: 'message', room_id: rid, id: 'x1', text: 'intruder', ref: 'x' });
  const e1 = await ag1.waitFor((f) => f.type === 'error' && f.ref === 'x');
  assert.equal(e1.code, 'forbidden');
  ag1.send({ type: 'end', room_id: rid, ref: 'y' });
  assert.equal((await ag1.waitFor((f) => f.type === 'error' && f.ref === 'y')).code, 'forbidden');

  // A canned response, placeholders filled in by the server.
  const canned = S.fixture('canned', a0.id, 'hello', 'Hello {customer}, I am {agent}.');
  ag0.send({ type: 'message', room_id: rid, id: 'm4', canned_id: canned.id });
  const ack4 = await ag0.waitFor((f) => f.type === 'ack' && f.id === 'm4');
  assert.equal(ack4.message.text, `Hello Alice, I am ${a0.display_name}.`);
  await gw.waitFor((m) => m.type === 'agent_message' && m.text === `Hello Alice, I am ${a0.display_name}.`);
  // Someone else's canned response is refused, as if absent (docs/websocket.md).
  const other = S.fixture('canned', a1.id, 'mine', 'not yours');
  ag0.send({ type: 'message', room_id: rid, id: 'm5', canned_id: other.id, ref: 'c2' });
  assert.equal((await ag0.waitFor((f) => f.type === 'error' && f.ref === 'c2')).code, 'not_found');

  // End: closing messages both sides, room closed.
  ag0.send({ type: 'end', room_id: rid, ref: 'e' });
  const ended = await ag0.waitFor((f) => f.type === 'ended' && f.ref === 'e');
  assert.equal(ended.reason, 'agent_ended');
  assert.equal(ended.text, 'You ended the chat with Alice.');
  const se = await gw.waitFor((m) => m.type === 'session_ended' && m.room_id === rid);
  assert.equal(se.reason, 'agent_ended');
  assert.equal(se.text, `${a0.display_name} ended the chat.`);
  const room = S.fixture('room', rid);
  assert.equal(room.status, 'closed');
  assert.equal(room.close_reason, 'agent_ended');
  // Stored in order: every seq increases, the customer's and the agent's texts interleave as sent.
  const stored = S.fixture('messages', rid);
  for (let i = 1; i < stored.length; i++) assert.ok(stored[i].seq > stored[i - 1].seq);
  const texts = stored.map((m) => m.text);
  for (const t of ['c1', 'c2', 'c3', 'c4', 'c5', 'a1', 'a2', 'a3']) assert.ok(texts.includes(t), t);
  assert.equal(texts.at(-1), `${a0.display_name} ended the chat.`);
  // Writing after the end is refused: the room is closed.
  ag0.send({ type: 'message', room_id: rid, id: 'm9', text: 'late', ref: 'late' });
  assert.equal((await ag0.waitFor((f) => f.type === 'error' && f.ref === 'late')).code, 'not_open');
});

test('every online agent declining ends the request with the no-agent message', async () => {
  const [b0, b1] = S.users('decl', 2);
  // Only these two are online now (earlier agents disconnected or are in other files).
  for (const c of S.clients) if (c.user && !c.user.username.startsWith('decl')) c.close();
  await sleep(500);
  const g0 = await S.agent(S.nodes[0], b0);
  const g1 = await S.agent(S.nodes[1], b1);
  await sleep(6000);  // presence of both nodes reaches both nodes (every 5 s, at once on connect)
  await gw.publish('request_agent', 'bob', { customer_name: 'Bob' });
  const w = await gw.waitFor((m) => m.type === 'request_waiting' && m.customer_id === 'bob');
  await g0.waitFor((f) => f.type === 'request_offered' && f.room.id === w.room_id);
  await g1.waitFor((f) => f.type === 'request_offered' && f.room.id === w.room_id);
  g0.send({ type: 'decline', room_id: w.room_id });
  await g0.waitFor((f) => f.type === 'request_withdrawn' && f.room_id === w.room_id);
  await sleep(300);
  assert.equal(gw.all((m) => m.type === 'session_ended' && m.room_id === w.room_id).length, 0);
  g1.send({ type: 'decline', room_id: w.room_id });
  const se = await gw.waitFor((m) => m.type === 'session_ended' && m.room_id === w.room_id);
  assert.equal(se.reason, 'no_agent');
  assert.equal(se.text, 'Sorry, no agent is available right now. Please try again later.');
  assert.equal(S.fixture('room', w.room_id).close_reason, 'no_agent');
});

async function until2(pred, what) {
  const end = Date.now() + 8000;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await sleep(50);
  }
}
