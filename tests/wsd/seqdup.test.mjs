// SPDX-License-Identifier: MIT
// A seq taken by two writers does not refuse a message (docs/topology.md, "One writer per room"):
// when the seq an agent's message gets was already stored by someone else (a writer whose block
// the room's counter does not show: two reservations that met on FerretDB, whose $inc is not
// atomic), the unique (room_id, seq) index refuses it and the message is stored again with a new
// seq above every one handed out, acked as usual, stored once. Both ways a node stores an agent's
// message: its room writer's batch (RabbitMQ up; a customer's message too), and the node's own
// insert while it has no RabbitMQ (a private broker, stopped with stop_app). The other writer's
// message is put in the database directly, at the very seq the node hands out next, so the
// meeting is deterministic.
import test from 'node:test';
import assert from 'node:assert/strict';
import { MongoClient, Long } from 'mongodb';
import { Stack, sleep, until } from './harness.mjs';
import { Gateway } from './gateway.mjs';
import { PrivateRabbit } from './private.mjs';

const rabbit = new PrivateRabbit();
let S, gw, mongo, messages, counters;

test.before(async () => {
  await rabbit.start();
  S = new Stack('seqdup', { amqp: rabbit.url });
  await S.start({ nodes: 1 });
  gw = await new Gateway(S.prefix, 'test', rabbit.url).start();
  mongo = await MongoClient.connect(process.env.LIVECHAT_MONGO_URI);
  messages = mongo.db(S.db).collection('messages');
  counters = mongo.db(S.db).collection('counters');
});
test.after(async () => {
  await mongo?.close();
  await gw?.close();
  await S?.stop();
  await rabbit.stop();
});

async function engaged(prefix, cid) {
  const [u] = S.users(prefix, 1);
  const agent = await S.agent(S.nodes[0], u);
  await gw.publish('request_agent', cid, { customer_name: cid });
  const w = await gw.waitFor((m) => m.type === 'request_waiting' && m.customer_id === cid);
  await agent.waitFor((f) => f.type === 'request_offered' && f.room.id === w.room_id);
  agent.send({ type: 'accept', room_id: w.room_id });
  await agent.waitFor((f) => f.type === 'accepted' && f.room.id === w.room_id);
  return { agent, rid: w.room_id, cid };
}

async function highestStored(rid) {
  const [m] = await messages.find({ room_id: rid }).sort({ seq: -1 }).limit(1).toArray();
  return m ? Number(m.seq) : 0;
}

// Another writer's message at seq, stored as lc_store stores one (int64 seq).
async function storeElsewhere(rid, cid, seq, id) {
  await messages.insertOne({ _id: `${rid}:${id}`, msg_id: id, room_id: rid, channel: 'test', customer_id: cid,
                             seq: Long.fromNumber(seq), sender: 'customer', author: null,
                             text: `elsewhere ${id}`, ts: new Date() });
}

// Every id acked once, without an error frame; the ack of each.
async function acked(agent, ids) {
  await until(() => ids.every((id) => agent.find((f) => ['ack', 'error'].includes(f.type) && f.id === id)),
              `answers to ${ids}`, 15000);
  const errors = agent.all((f) => f.type === 'error' && ids.includes(f.id));
  assert.deepEqual(errors, [], 'no message refused');
  return ids.map((id) => agent.find((f) => f.type === 'ack' && f.id === id));
}

// Read through liblivechat, as the node reads them.
function storedOnce(rid, ids) {
  const stored = S.fixture('messages', rid);
  for (const id of ids)
    assert.equal(stored.filter((m) => m.id === id || m.text === `t-${id}`).length, 1, `${id} stored once: ${JSON.stringify(stored)}`);
}

test('the room writer stores a message whose seq someone else stored with a new seq, acked, stored once', async () => {
  const { agent, rid, cid } = await engaged('sda', 'seqdup-a');
  // The writer's block goes on right after the highest stored seq (the join text).
  const next = (await highestStored(rid)) + 1;
  const counter = await counters.findOne({ _id: rid });
  assert.ok(Number(counter.reserved) >= next, `seq ${next} lies in the writer's block (reserved ${counter.reserved})`);
  await storeElsewhere(rid, cid, next, 'other-a');
  const ids = ['a0', 'a1', 'a2'];
  for (const id of ids) agent.send({ type: 'message', room_id: rid, id, text: `t-${id}` });
  const acks = await acked(agent, ids);
  const seqs = acks.map((a) => a.message.seq);
  assert.ok(!seqs.includes(next), `no ack carries the taken seq ${next}: ${seqs}`);
  assert.equal(new Set(seqs).size, seqs.length, `distinct seqs: ${seqs}`);
  storedOnce(rid, ids);
  // What follows in the room keeps its order after the retaken one.
  const later = ['a3', 'a4'];
  for (const id of later) agent.send({ type: 'message', room_id: rid, id, text: `t-${id}` });
  const after = (await acked(agent, later)).map((a) => a.message.seq);
  assert.ok(after[0] > Math.max(...seqs) && after[1] > after[0], `later messages after it: ${seqs} then ${after}`);
  storedOnce(rid, later);
  // A customer's message (a gateway delivery) whose seq was taken: stored again, sent on once.
  const taken = (await highestStored(rid)) + 1;
  await storeElsewhere(rid, cid, taken, 'other-a2');
  await gw.publish('customer_message', cid, { text: 'c-after-taken' });
  const f = await agent.waitFor((x) => x.type === 'message' && x.message.text === 'c-after-taken');
  assert.ok(f.message.seq > taken, `the customer's message above the taken seq ${taken}: ${f.message.seq}`);
  await sleep(300);   // a second copy would reach the agent in this time
  assert.equal(agent.all((x) => x.type === 'message' && x.message.text === 'c-after-taken').length, 1, 'sent on once');
  assert.equal(S.fixture('messages', rid).filter((m) => m.text === 'c-after-taken').length, 1, 'stored once');
});

test('a node without RabbitMQ stores its agent\'s message itself with a new seq when its seq was taken, acked, stored once', async () => {
  const { agent, rid, cid } = await engaged('sdb', 'seqdup-b');
  await rabbit.stopApp();
  await sleep(1500);   // the node sees its connection go (its next writes fail)
  // The node's own insert takes the seq above every seq handed out: someone else stored there.
  const c = await counters.findOne({ _id: rid });
  const next = Math.max(Number(c?.seq ?? 0), Number(c?.reserved ?? 0), await highestStored(rid)) + 1;
  await storeElsewhere(rid, cid, next, 'other-b');
  agent.send({ type: 'message', room_id: rid, id: 'b0', text: 't-b0' });
  const [ack] = await acked(agent, ['b0']);
  assert.ok(ack.message.seq > next, `stored above the taken seq ${next}: ${ack.message.seq}`);
  // The broker is still down: only the node itself could have stored it.
  agent.send({ type: 'message', room_id: rid, id: 'b1', text: 't-b1' });
  const [ack1] = await acked(agent, ['b1']);
  assert.ok(ack1.message.seq > ack.message.seq, 'the next one after it');
  await rabbit.startApp();
  await gw.publishRetry('customer_message', cid, { text: 'back' });
  await agent.waitFor((f) => f.type === 'message' && f.message.text === 'back', 'the customer after the outage', 30000);
  storedOnce(rid, ['b0', 'b1', 'other-b']);
});
