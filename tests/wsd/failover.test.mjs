// Every node consumes the inbound queue (x-single-active-consumer: the broker delivers to one).
// A killed wsd loses no message: the node consuming the inbound queue is killed (SIGKILL) while a
// customer writes; the other node takes the queue over, and every message is stored once, in the
// order it was published, and reaches the agent. The room of an agent who was on the killed node
// and never comes back is ended by the surviving node. The killed node comes back and serves.
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

  // Nobody takes over the dead node's timers at once, but within a resync (30 s, once the node
  // has seen everyone's presence) plus the grace period the survivor ends the orphaned room.
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
