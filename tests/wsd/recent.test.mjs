// SPDX-License-Identifier: MIT
// Accept reads the customer's history from their recent (docs/store.md "recent"): chunk
// documents the room writer appends to in the bulk write that raises the rooms' last_seq, not a
// query over messages. Accept returns exactly the last history_limit messages across the
// customer's earlier chat and this one, in order, after messages stored in batches; no chunk
// passes its cap; accepted.room carries no recent; and after the writer's node is killed, the
// node that takes the inbound queue over goes on with the same recent.
import test from 'node:test';
import assert from 'node:assert/strict';
import { MongoClient } from 'mongodb';
import { Stack, sleep, until } from './harness.mjs';
import { Gateway } from './gateway.mjs';

const LIMIT = 60;      // history_limit: more than one chunk (50)
const CHUNK = 50;      // LC_STORE_RECENT_CHUNK
const S = new Stack('recent');
let gw, mongo, counters;

test.before(async () => {
  await S.start({ nodes: 2, settings: { history_limit: LIMIT, reconnect_grace: 2 } });
  gw = await new Gateway(S.prefix).start();
  mongo = await MongoClient.connect(process.env.LIVECHAT_MONGO_URI);
  counters = mongo.db(S.db).collection('counters');
});
test.after(async () => { await mongo?.close(); await gw?.close(); await S.stop(); });

// What the query over messages answered: the customer's messages by time, seq within a room.
function lastOf(rooms, n) {
  const all = rooms.flatMap((r) => S.fixture('messages', r));
  all.sort((a, b) => a.ts - b.ts || (a.room_id === b.room_id ? a.seq - b.seq : 0));
  return all.slice(-n).map((m) => `${m.room_id}/${m.id}`);
}

// history_limit n on the accepting node (n1), as its hello says.
async function setLimit(n, user) {
  await S.settings({ history_limit: n });
  await until(async () => {
    const c = await S.agent(S.nodes[1], user);
    c.close();
    return c.find((f) => f.type === 'hello').settings.history_limit === n;
  }, `history_limit ${n}`);
}

async function chunksOf(customer) {
  return counters.find({ _id: { $regex: `^recent:test:${customer}:` } }).toArray();
}

// The chunks hold every message of the customer once, in order, none more than 50, and the
// customer's last room counts them all.
async function assertChunks(customer, rooms) {
  const chunks = await chunksOf(customer);
  const all = lastOf(rooms, 1000);
  assert.equal(chunks.length, Math.ceil(all.length / CHUNK));
  for (const c of chunks) assert.ok(c.m.length <= CHUNK, `${c._id}: ${c.m.length}`);
  const held = chunks.sort((a, b) => Number(a._id.split(':').at(-1)) - Number(b._id.split(':').at(-1)))
    .flatMap((c) => c.m.map((m) => `${m.room_id}/${m.id}`));
  assert.deepEqual(held, all);
  assert.equal((await counters.findOne({ _id: rooms.at(-1) })).rn, all.length);
}

// A closed earlier chat of `customer` with `n` messages sent in bursts (stored in batches).
async function earlierChat(customer, n) {
  await gw.publish('request_agent', customer, { customer_name: customer });
  const w = await gw.waitFor((m) => m.type === 'request_waiting' && m.customer_id === customer);
  await Promise.all(Array.from({ length: n }, (_, i) =>
    gw.publish('customer_message', customer, { text: `old ${i}` }, `${customer}-old-${i}`)));
  await until(() => S.fixture('messages', w.room_id).length === n + 1, 'the earlier messages stored');
  await gw.publish('customer_left', customer);
  await gw.waitFor((m) => m.type === 'session_ended' && m.room_id === w.room_id);
  return w.room_id;
}

async function accept(agent, customer, n, before) {
  await gw.publish('request_agent', customer, { customer_name: customer });
  const w = await gw.waitFor((m) => m.type === 'request_waiting' && m.customer_id === customer &&
                                    m.room_id !== before);
  await Promise.all(Array.from({ length: n }, (_, i) =>
    gw.publish('customer_message', customer, { text: `new ${i}` }, `${customer}-new-${i}`)));
  await until(() => S.fixture('messages', w.room_id).length === n + 1, 'the new messages stored');
  await agent.waitFor((f) => f.type === 'request_offered' && f.room.id === w.room_id);
  agent.send({ type: 'accept', room_id: w.room_id, ref: `acc-${customer}` });
  const acc = await agent.waitFor((f) => f.ref === `acc-${customer}`);
  assert.equal(acc.type, 'accepted', JSON.stringify(acc));
  return { rid: w.room_id, acc };
}

test('accept returns the last history_limit messages across the earlier chat and this one, from chunks of at most 50', async () => {
  const [u] = S.users('rc', 1);
  const agent = await S.agent(S.nodes[1], u);
  const first = await earlierChat('rita', 70);
  const { rid, acc } = await accept(agent, 'rita', 12, first);

  assert.equal(acc.history.length, LIMIT);
  assert.deepEqual(acc.history.map((m) => `${m.room_id}/${m.id}`), lastOf([first, rid], LIMIT));
  assert.equal(acc.history.at(-1).sender, 'system');   // the join text, stored before the read
  assert.equal(acc.history.at(-1).room_id, rid);
  assert.ok(acc.history.some((m) => m.room_id === first));
  assert.equal('recent' in acc.room, false);
  assert.deepEqual(Object.keys(acc.history[0]).sort(),
    ['author', 'channel', 'customer_id', 'id', 'room_id', 'sender', 'seq', 'text', 'ts']);

  await assertChunks('rita', [first, rid]);

  // Neither hello.rooms[] nor the room of the REST-like reads carry it.
  const again = await S.agent(S.nodes[0], u);
  const hello = again.find((f) => f.type === 'hello');
  assert.ok(hello.rooms.some((r) => r.id === rid));
  for (const r of hello.rooms) assert.equal('recent' in r, false);
});

test('a smaller history_limit gives exactly that many, the newest', async () => {
  const [u] = S.users('rc7', 1);
  await setLimit(7, u);
  const agent = await S.agent(S.nodes[1], u);
  const first = await earlierChat('sven', 3);
  const { rid, acc } = await accept(agent, 'sven', 2, first);
  assert.deepEqual(acc.history.map((m) => `${m.room_id}/${m.id}`), lastOf([first, rid], 7));
  await assertChunks('sven', [first, rid]);
  await setLimit(LIMIT, u);
});

test('after the writer is killed, the node that takes over goes on with the same recent', async () => {
  const [u] = S.users('rcfo', 1);
  const agent = await S.agent(S.nodes[1], u);
  const first = await earlierChat('tara', 40);
  await sleep(200);
  S.nodes[0].proc.kill('SIGKILL');   // n0 consumed first: it is the writer
  await until(() => S.nodes[0].exited, 'n0 to die');
  const { rid, acc } = await accept(agent, 'tara', 25, first);
  assert.equal(acc.history.length, LIMIT);
  assert.deepEqual(acc.history.map((m) => `${m.room_id}/${m.id}`), lastOf([first, rid], LIMIT));
  await assertChunks('tara', [first, rid]);
  await S.startNode(0);
});
