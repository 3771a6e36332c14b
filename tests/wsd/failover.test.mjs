// SPDX-License-Identifier: MIT
// Every node consumes the inbound queue (x-single-active-consumer: the broker delivers to one).
// A killed wsd loses no message: the node consuming the inbound queue is killed (SIGKILL) while a
// customer writes; the other node takes the queue over, and every message is stored once, in the
// order it was published, and reaches the agent. The room of an agent who was on the killed node
// and never comes back is ended by the surviving node. The killed node comes back and serves.
// A node killed with messages in flight both ways: the agent and the widget that were on it
// resume from the highest seq below which they have everything and miss nothing.
import test from 'node:test';
import assert from 'node:assert/strict';
import { Stack, sleep, until } from './harness.mjs';
import { Gateway } from './gateway.mjs';
import amqp from 'amqplib';

const S = new Stack('failover');
let gw;

test.before(async () => {
  await S.start({ nodes: 2, settings: { reconnect_grace: 2 } });
  gw = await new Gateway(S.prefix).start();
});
test.after(async () => { await gw?.close(); await S.stop(); });

test('both nodes consume the inbound queue, declared with x-single-active-consumer', async () => {
  const conn = await amqp.connect(process.env.LIVECHAT_AMQP_URL);
  try {
    const ch = await conn.createChannel();
    const q = await until(async () => {
      const r = await ch.checkQueue(`${S.prefix}.inbound`);
      return r.consumerCount === 2 && r;
    }, 'two consumers on the inbound queue');
    assert.equal(q.consumerCount, 2);
    // Declaring it without the argument is refused: the broker has it with the argument.
    const ch2 = await conn.createChannel();
    ch2.on('error', () => {});
    await assert.rejects(ch2.assertQueue(`${S.prefix}.inbound`, { durable: true }), /PRECONDITION_FAILED/);
    await ch.assertQueue(`${S.prefix}.inbound`, { durable: true, arguments: { 'x-single-active-consumer': true } });
  } finally {
    await conn.close();
  }
});

test('killing the node that consumes the inbound queue loses, duplicates and reorders nothing', async () => {
  const [u] = S.users('fo', 1);
  const agent = await S.agent(S.nodes[1], u);
  await gw.publish('request_agent', 'fiona', { customer_name: 'Fiona' });
  const w = await gw.waitFor((m) => m.type === 'request_waiting' && m.customer_id === 'fiona');
  await agent.waitFor((f) => f.type === 'request_offered' && f.room.id === w.room_id);
  agent.send({ type: 'accept', room_id: w.room_id });
  await agent.waitFor((f) => f.type === 'accepted');

  // An agent on n0 with a room of their own: n0 dies with its grace timers.
  const [lost] = S.users('lost', 1);
  const la = await S.agent(S.nodes[0], lost);
  await gw.publish('request_agent', 'orphan', { customer_name: 'Olga' });
  const wo = await gw.waitFor((m) => m.type === 'request_waiting' && m.customer_id === 'orphan');
  await la.waitFor((f) => f.type === 'request_offered' && f.room.id === wo.room_id);
  la.send({ type: 'accept', room_id: wo.room_id });
  await la.waitFor((f) => f.type === 'accepted');

  const N = 40;
  for (let i = 0; i < N; i++) {
    await gw.publish('customer_message', 'fiona', { text: `msg ${i}` }, `fiona-${i}`);
    if (i === 12) S.nodes[0].proc.kill('SIGKILL');   // n0 consumed first: it is the active consumer
    await sleep(15);
  }
  await until(() => S.nodes[0].exited, 'n0 to die');
  await agent.waitFor((f) => f.type === 'message' && f.message.text === `msg ${N - 1}`, 'the last message', 20000);
  const stored = S.fixture('messages', w.room_id).filter((m) => m.sender === 'customer');
  assert.deepEqual(stored.map((m) => m.text), Array.from({ length: N }, (_, i) => `msg ${i}`));
  for (let i = 1; i < stored.length; i++) assert.ok(stored[i].seq > stored[i - 1].seq);
  // The agent saw each one (one per seq), in seq order once deduplicated.
  const seen = new Map();
  for (const f of agent.all((x) => x.type === 'message')) seen.set(f.message.seq, f.message.text);
  const texts = [...seen.entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1]);
  assert.deepEqual(texts, stored.map((m) => m.text));

  // The dead node's agents' grace periods begin when its presence expires on the survivor (15 s);
  // then the survivor ends the orphaned room.
  const se = await gw.waitFor((m) => m.type === 'session_ended' && m.room_id === wo.room_id,
                              'the orphaned room to end', 90000);
  assert.equal(se.reason, 'agent_disconnected');
  assert.equal(S.fixture('room', wo.room_id).close_reason, 'agent_disconnected');
  assert.equal(S.fixture('room', w.room_id).status, 'engaged', 'the live agent keeps their room');

  await S.startNode(0);
  const [v] = S.users('fo2', 1);
  const again = await S.agent(S.nodes[0], v);
  assert.equal(again.find((f) => f.type === 'hello').user.id, v.id);
});

// What a client holds of one room (docs/websocket.md, "resume"): the seqs it got, and its floor,
// the highest seq below which it has every one: that, not the highest seq, is what it resumes
// from, since messages reach it out of seq order around a failure.
class Held {
  constructor(floor = 0) { this.floor = floor; this.seqs = new Set(); }
  add(seq) {
    if (typeof seq !== 'number') return;
    this.seqs.add(seq);
    while (this.seqs.has(this.floor + 1)) this.floor += 1;
  }
  get max() { return Math.max(this.floor, ...this.seqs); }
}

const customerWidgetSeqs = (f) => (f.type === 'message' ? f.message?.seq : f.seq);

test('a node killed with messages in flight both ways: the agent and the widget resume from their floor and miss nothing', async () => {
  await until(() => S.nodes[0] && !S.nodes[0].exited, 'n0 up again');
  const [ua, ub] = S.users('inflight', 2);
  // Agent A on n0 with a gateway customer; widget customer W on n0 with agent B on n1.
  let a = await S.agent(S.nodes[0], ua);
  const b = await S.agent(S.nodes[1], ub);
  await gw.publish('request_agent', 'ivy', { customer_name: 'Ivy' });
  const wi = await gw.waitFor((m) => m.type === 'request_waiting' && m.customer_id === 'ivy');
  await a.waitFor((f) => f.type === 'request_offered' && f.room.id === wi.room_id);
  a.send({ type: 'accept', room_id: wi.room_id });
  const acc = await a.waitFor((f) => f.type === 'accepted' && f.room.id === wi.room_id);
  const ridA = wi.room_id;
  const mine = acc.history.filter((m) => m.room_id === ridA).map((m) => m.seq);
  const heldA = new Held(Math.min(...mine) - 1);
  mine.forEach((s) => heldA.add(s));

  let w = await S.connect(S.nodes[0], '/ws/widget');
  w.send({ type: 'hello' });
  const { secret } = await w.waitFor((f) => f.type === 'welcome');
  w.send({ type: 'request', name: 'Walt', ref: 'q' });
  const waiting = await w.waitFor((f) => f.type === 'waiting');
  const ridW = waiting.room_id;
  await b.waitFor((f) => f.type === 'request_offered' && f.room.id === ridW);
  b.send({ type: 'accept', room_id: ridW });
  await b.waitFor((f) => f.type === 'accepted' && f.room.id === ridW);
  await w.waitFor((f) => f.type === 'joined');

  // Messages both ways in both rooms, until told to stop.
  let streaming = true;
  const sentA = new Set(), sentW = new Set(), ackedA = new Set(), ackedW = new Set();
  const streams = [
    (async () => { for (let i = 0; streaming; i++) { await gw.publish('customer_message', 'ivy', { text: `ivy ${i}` }, `ivy-${i}`); await sleep(20); } })(),
    (async () => { for (let i = 0; streaming; i++) { b.send({ type: 'message', room_id: ridW, id: `b${i}`, text: `b ${i}` }); await sleep(25); } })(),
    (async () => { for (let i = 0; streaming; i++) { if (!a.closed) { a.send({ type: 'message', room_id: ridA, id: `a${i}`, text: `a ${i}` }); sentA.add(`a${i}`); } await sleep(25); } })(),
    (async () => { for (let i = 0; streaming; i++) { if (!w.closed) { w.send({ type: 'message', id: `w${i}`, text: `w ${i}` }); sentW.add(`w${i}`); } await sleep(120); } })(),
  ];
  await sleep(600);
  // One message of each room stored and published nowhere, as a node leaves it that dies right
  // after storing: each client then gets later seqs (its own ack, the next agent message) first.
  const lostA = S.fixture('append', ridA, 'ivy-lost', 'customer', 'Ivy', 'in flight on the dead node');
  const lostW = S.fixture('append', ridW, `a-${ub.id}-lost`, 'agent', ub.display_name, 'lost with its node');
  await a.waitFor((f) => f.type === 'ack' && f.message.seq > lostA.seq, 'an ack above the lost seq');
  await w.waitFor((f) => f.type === 'message' && f.message.seq > lostW.seq, 'an agent message above the lost seq');
  await sleep(300);
  S.nodes[0].proc.kill('SIGKILL');
  await until(() => S.nodes[0].exited, 'n0 to die');
  await until(() => a.closed && w.closed, 'both clients to see their node die');

  // What each had when its node died.
  for (const f of a.frames) {
    if (f.type === 'message' && f.room_id === ridA) heldA.add(f.message.seq);
    if (f.type === 'ack' && f.room_id === ridA) { heldA.add(f.message.seq); ackedA.add(f.id); }
  }
  const heldW = new Held(0);
  for (const f of w.frames) {
    if (['waiting', 'joined', 'message', 'ended'].includes(f.type) && f.room_id === ridW) heldW.add(customerWidgetSeqs(f));
    if (f.type === 'ack' && f.id) ackedW.add(f.id);
  }
  // The highest seq would skip the lost ones; the floor is below them.
  assert.ok(heldA.max > lostA.seq && heldA.floor < lostA.seq, `agent: floor ${heldA.floor}, max ${heldA.max}, lost ${lostA.seq}`);
  assert.ok(heldW.max > lostW.seq && heldW.floor < lostW.seq, `widget: floor ${heldW.floor}, max ${heldW.max}, lost ${lostW.seq}`);

  // Both come back on n1 and resume from their floor; what had no ack is sent again (same id).
  a = await S.agent(S.nodes[1], ua);
  assert.deepEqual(a.find((f) => f.type === 'hello').rooms.map((r) => r.id), [ridA]);
  a.send({ type: 'resume', rooms: [{ room_id: ridA, last_seq: heldA.floor }], ref: 'r' });
  const resumed = await a.waitFor((f) => f.type === 'resumed' && f.ref === 'r');
  for (const id of sentA) if (!ackedA.has(id)) a.send({ type: 'message', room_id: ridA, id, text: `again ${id}` });
  w = await S.connect(S.nodes[1], '/ws/widget');
  w.send({ type: 'hello', secret, last_seq: heldW.floor });
  const welcome = await w.waitFor((f) => f.type === 'welcome');
  for (const id of sentW) if (!ackedW.has(id)) w.send({ type: 'message', id, text: `again ${id}` });
  await sleep(800);
  streaming = false;
  await Promise.all(streams);
  await sleep(300);
  // A last message each way marks the end of what has to arrive.
  await gw.publish('customer_message', 'ivy', { text: 'ivy last' }, 'ivy-last');
  await a.waitFor((f) => f.type === 'message' && f.message.text === 'ivy last', 'the last customer message');
  b.send({ type: 'message', room_id: ridW, id: 'b-last', text: 'b last' });
  await w.waitFor((f) => f.type === 'message' && f.message.text === 'b last', 'the last agent message');

  // The agent: every stored message of its room, once on the new connection.
  const storedA = S.fixture('messages', ridA);
  // (An ack may repeat a seq: a message re-sent with its id answers with the one stored before.)
  const again = [...resumed.messages.map((m) => m.seq),
                 ...a.all((f) => f.type === 'message' && f.room_id === ridA).map((f) => f.message.seq)];
  assert.equal(new Set(again).size, again.length, 'no message twice on the new connection');
  again.forEach((s) => heldA.add(s));
  a.all((f) => f.type === 'ack' && f.room_id === ridA).forEach((f) => heldA.add(f.message.seq));
  assert.deepEqual(storedA.filter((m) => !heldA.seqs.has(m.seq) && m.seq > Math.min(...mine)).map((m) => [m.seq, m.text]), []);
  assert.ok(resumed.messages.some((m) => m.id === 'ivy-lost'));
  // Each agent message stored once, whatever was re-sent.
  const agentIds = storedA.filter((m) => m.sender === 'agent').map((m) => m.id);
  assert.equal(new Set(agentIds).size, agentIds.length);
  for (const id of sentA) assert.ok(agentIds.includes(`a-${ua.id}-${id}`), `${id} stored`);

  // The widget: every message of its room that is not its own, and its own each stored once.
  const storedW = S.fixture('messages', ridW);
  welcome.messages.forEach((m) => heldW.add(m.seq));
  w.all((f) => ['message', 'ended'].includes(f.type)).forEach((f) => heldW.add(customerWidgetSeqs(f)));
  assert.deepEqual(storedW.filter((m) => m.sender !== 'customer' && !heldW.seqs.has(m.seq)).map((m) => [m.seq, m.text]), []);
  assert.ok(welcome.messages.some((m) => m.text === 'lost with its node'));
  const custIds = storedW.filter((m) => m.sender === 'customer').map((m) => m.id);
  assert.equal(new Set(custIds).size, custIds.length);
  for (const id of sentW) assert.ok(custIds.some((x) => x.endsWith(`-${id}`)), `${id} stored`);

  await S.startNode(0);
});
