// SPDX-License-Identifier: MIT
// The grace period with several connections (docs/websocket.md, "Grace period"): an agent's
// engaged rooms belong to the agent, not to the connection that accepted them. They are kept
// while any connection of the agent is open on either node, whenever it was opened; the grace
// period starts when the last one closes, on whichever node, and then the room ends with
// agent_disconnected, told to the customer and the watchers on both nodes. An ending reaches
// every connection of the agent, also those that never followed the room.
import test from 'node:test';
import assert from 'node:assert/strict';
import { Stack, sleep } from './harness.mjs';
import { Gateway } from './gateway.mjs';

const GRACE = 2;
// Long enough for the old timers: a grace period, the 5 s presence period, and slack.
const KEPT_MS = (GRACE + 5) * 1000;
const S = new Stack('grace');
let gw;
let n = 0;

test.before(async () => {
  await S.start({ nodes: 2, settings: { reconnect_grace: GRACE,
                                        agent_disconnected_message: '{agent} lost the connection.' } });
  gw = await new Gateway(S.prefix).start();
});
test.after(async () => { await gw?.close(); await S.stop(); });

async function engage(agent) {
  const cust = `cust${++n}`;
  await gw.publish('request_agent', cust, { customer_name: cust.toUpperCase() });
  const w = await gw.waitFor((m) => m.type === 'request_waiting' && m.customer_id === cust);
  await agent.waitFor((f) => f.type === 'request_offered' && f.room.id === w.room_id);
  agent.send({ type: 'accept', room_id: w.room_id });
  await agent.waitFor((f) => f.type === 'accepted' && f.room.id === w.room_id);
  return { rid: w.room_id, cust };
}

// A supervisor on each node watching the room: both must hear how it ends.
async function watchers(rid) {
  const [sup] = S.users(`sup${++n}`, 1, 'supervisor');
  const ws = [];
  for (const node of S.nodes) {
    const s = await S.agent(node, sup);
    s.send({ type: 'watch', room_id: rid });
    await s.waitFor((f) => f.type === 'watching' && f.room_id === rid);
    ws.push(s);
  }
  return ws;
}

const endedOf = (c, rid) => c.all((f) => f.type === 'ended' && f.room_id === rid);

// The room outlives its follower's close by more than a grace period; nobody heard of an end.
async function assertKept(rid, clients) {
  await sleep(KEPT_MS);
  assert.equal(S.fixture('room', rid).status, 'engaged', 'kept while a connection of the agent is open');
  for (const c of clients) assert.equal(endedOf(c, rid).length, 0);
}

// The last connection closed at t0: the room ends after the grace period, once, and the
// customer and the watchers on both nodes are told.
async function assertEndsAfterGrace(rid, t0, ws) {
  for (const s of ws) await s.waitFor((f) => f.type === 'ended' && f.room_id === rid, 'ended', (GRACE + 8) * 1000);
  const se = await gw.waitFor((m) => m.type === 'session_ended' && m.room_id === rid);
  assert.ok(Date.now() - t0 >= GRACE * 1000 - 300, 'not before the grace period');
  assert.equal(se.reason, 'agent_disconnected');
  for (const s of ws) {
    const [e, ...more] = endedOf(s, rid);
    assert.equal(e.reason, 'agent_disconnected');
    assert.match(e.text, /lost the connection/);
    assert.equal(more.length, 0, 'told once');
  }
  const room = S.fixture('room', rid);
  assert.equal(room.close_reason, 'agent_disconnected');
  await sleep(1500);   // both nodes may try: exactly one ends it
  assert.equal(gw.received.filter((m) => m.type === 'session_ended' && m.room_id === rid).length, 1);
  assert.equal(S.fixture('messages', rid).filter((m) => /lost the connection/.test(m.text)).length, 1);
}

for (const when of ['before', 'after']) {
  for (const [where, other] of [['the same node', 0], ['the other node', 1]]) {
    test(`a second connection opened ${when} the accept on ${where} keeps the room; its close starts the grace period`, async () => {
      const [u] = S.users(`${when}${other}`, 1);
      const a1 = await S.agent(S.nodes[0], u);
      let a2 = when === 'before' ? await S.agent(S.nodes[other], u) : null;
      const { rid } = await engage(a1);
      if (!a2) a2 = await S.agent(S.nodes[other], u);
      const ws = await watchers(rid);
      a1.terminate();                   // the connection that follows the room drops
      await assertKept(rid, [a2, ...ws]);
      const t0 = Date.now();
      a2.close();                       // the agent's last connection
      await assertEndsAfterGrace(rid, t0, ws);
    });
  }
}

test('drop, return on the other node and resume: kept past the grace period, ended after the last close', async () => {
  const [u] = S.users('back', 1);
  let a1 = await S.agent(S.nodes[0], u);
  const a2 = await S.agent(S.nodes[1], u);
  const { rid, cust } = await engage(a1);
  await gw.publish('customer_message', cust, { text: 'first' });
  await a1.waitFor((f) => f.type === 'message' && f.message.text === 'first');
  const have = Math.max(...a1.all((f) => f.type === 'message').map((f) => f.message.seq));
  const ws = await watchers(rid);
  a1.terminate();
  await gw.publish('customer_message', cust, { text: 'while away' });
  await sleep(300);
  a1 = await S.agent(S.nodes[1], u);
  assert.deepEqual(a1.find((f) => f.type === 'hello').rooms.map((r) => r.id), [rid]);
  a1.send({ type: 'resume', rooms: [{ room_id: rid, last_seq: have }], ref: 'r' });
  const resumed = await a1.waitFor((f) => f.type === 'resumed' && f.ref === 'r');
  assert.deepEqual(resumed.messages.map((m) => m.text), ['while away']);
  await assertKept(rid, [a1, a2, ...ws]);
  a1.send({ type: 'message', room_id: rid, id: 'still-mine', text: 'still here' });
  await a1.waitFor((f) => f.type === 'ack' && f.id === 'still-mine');
  a1.terminate();
  await assertKept(rid, [a2, ...ws]);   // a2, never resumed, still holds it for the agent
  const t0 = Date.now();
  a2.terminate();
  await assertEndsAfterGrace(rid, t0, ws);
});

test('one connection: drop and return within the grace period keeps the room; the next close starts a new one', async () => {
  const [u] = S.users('single', 1);
  let a = await S.agent(S.nodes[1], u);
  const { rid } = await engage(a);
  const ws = await watchers(rid);
  a.terminate();
  await sleep(GRACE * 500);
  a = await S.agent(S.nodes[0], u);     // back on the other node, half-way through
  a.send({ type: 'resume', rooms: [{ room_id: rid, last_seq: 0 }], ref: 'r' });
  await a.waitFor((f) => f.type === 'resumed' && f.ref === 'r');
  await assertKept(rid, [a, ...ws]);
  const t0 = Date.now();
  a.terminate();
  await assertEndsAfterGrace(rid, t0, ws);
});

test('an ending reaches every connection of the agent on both nodes, also those not following the room', async () => {
  const [u] = S.users('tabs', 1);
  const a1 = await S.agent(S.nodes[0], u);
  const a2 = await S.agent(S.nodes[1], u);
  const a3 = await S.agent(S.nodes[0], u);
  const left = await engage(a1);
  const byAgent = await engage(a1);
  // The customer leaves: every tab hears it, once.
  await gw.publish('customer_left', left.cust);
  for (const c of [a1, a2, a3]) {
    await c.waitFor((f) => f.type === 'ended' && f.room_id === left.rid, 'customer_left');
    assert.equal(endedOf(c, left.rid)[0].reason, 'customer_left');
  }
  // The agent ends the other room in one tab: the others hear it, the ending tab gets its answer.
  a1.send({ type: 'end', room_id: byAgent.rid, ref: 'e1' });
  await a1.waitFor((f) => f.type === 'ended' && f.ref === 'e1');
  for (const c of [a2, a3]) await c.waitFor((f) => f.type === 'ended' && f.room_id === byAgent.rid, 'agent_ended');
  await sleep(500);
  for (const c of [a1, a2, a3]) {
    assert.equal(endedOf(c, left.rid).length, 1, 'customer_left told once');
    assert.equal(endedOf(c, byAgent.rid).length, 1, 'agent_ended told once');
    assert.equal(endedOf(c, byAgent.rid)[0].reason, 'agent_ended');
  }
});

test('the grace period ends every room of the agent, also one taken on the other node', async () => {
  const [u] = S.users('two', 1);
  const a1 = await S.agent(S.nodes[0], u);
  const a2 = await S.agent(S.nodes[1], u);
  const r1 = await engage(a1);
  const r2 = await engage(a2);
  a2.terminate();                       // n1 has no connection of the agent any more
  await sleep(500);
  const t0 = Date.now();
  a1.terminate();                       // the last one, on n0, which never followed r2
  for (const { rid } of [r1, r2]) {
    const se = await gw.waitFor((m) => m.type === 'session_ended' && m.room_id === rid, 'session_ended',
                                (GRACE + 8) * 1000);
    assert.equal(se.reason, 'agent_disconnected');
  }
  assert.ok(Date.now() - t0 >= GRACE * 1000 - 300, 'not before the grace period');
  const again = await S.agent(S.nodes[1], u);
  assert.deepEqual(again.find((f) => f.type === 'hello').rooms, []);
});
