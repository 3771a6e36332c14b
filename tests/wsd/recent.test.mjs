// SPDX-License-Identifier: MIT
// Accept reads the customer's history from their recent (docs/store.md "recent"): pieces the
// room writer inserts (never updates) in the `recent` collection when it raises the rooms'
// last_seq, read by _id, not a query over messages. Accept returns exactly the last
// history_limit messages across the customer's earlier chat and this one, in order, after
// messages stored in batches; the full piece of every block holds exactly that block and the
// last piece the open block; accepted.room carries no recent; and after the writer's node is
// killed, the node that takes the inbound queue over goes on with the same recent.
import test from 'node:test';
import assert from 'node:assert/strict';
import { MongoClient } from 'mongodb';
import { Stack, sleep, until } from './harness.mjs';
import { Gateway } from './gateway.mjs';

const LIMIT = 60;      // history_limit: several blocks
const BLOCK = 10;      // LC_STORE_RECENT_BLOCK
const S = new Stack('recent');
let gw, mongo, counters, countersClosed, recent;

test.before(async () => {
  // Closed rooms leave the writer (and their counters leave counters) after 1 s, not 60.
  await S.start({ nodes: 2, settings: { history_limit: LIMIT, reconnect_grace: 2 },
                  env: { LIVECHAT_WSD_CLOSED_ROOM_KEEP: '1' } });
  gw = await new Gateway(S.prefix).start();
  mongo = await MongoClient.connect(process.env.LIVECHAT_MONGO_URI);
  counters = mongo.db(S.db).collection('counters');
  countersClosed = mongo.db(S.db).collection('counters_closed');
  recent = mongo.db(S.db).collection('recent');
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

// The pieces of a customer by the number of their last message: their messages and the number
// of their first (`f`, written by a writer that went on without its block's head; otherwise the
// block's first).
async function piecesOf(customer) {
  const docs = await recent.find({ _id: { $regex: `^test:${customer}:` } }).toArray();
  // A piece's messages are one JSON text (`j`); pieces of earlier versions an array (`m`).
  return new Map(docs.map((d) => {
    const last = Number(d._id.split(':').at(-1));
    return [last, {
      m: (typeof d.j === 'string' ? JSON.parse(d.j) : d.m).map((m) => `${m.room_id}/${m.id}`),
      first: d.f ?? Math.floor((last - 1) / BLOCK) * BLOCK + 1,
    }];
  }));
}

// Every full block's piece holds exactly that block, the piece of the customer's count holds
// its open block, no piece holds more than a block, and the customer's last room counts them
// all: what a reader going down from the count by _id reads is every message once, in order.
// The writer writes pieces and counts 50 ms after the batch that raised them (at once only for
// an end, or a join whose answer could not carry the history): they are checked once they
// stopped changing, or after 5 s, whichever comes first.
async function assertPieces(customer, rooms) {
  let before = null;
  await until(async () => {
    const now = JSON.stringify([[...await piecesOf(customer)], await countOf(rooms.at(-1))]);
    const same = now === before;
    before = now;
    if (!same) await sleep(100);
    return same;
  }, `${customer}'s pieces settled`, 5000).catch(() => {});
  await checkPieces(customer, rooms);
}

async function countOf(rid) {
  return (await counters.findOne({ _id: rid }) ?? await countersClosed.findOne({ _id: rid }))?.recent;
}

async function checkPieces(customer, rooms) {
  const pieces = await piecesOf(customer);
  const all = lastOf(rooms, 1000);
  const count = await countOf(rooms.at(-1));
  assert.equal(count, all.length);
  for (const [last, { m, first }] of pieces) {
    assert.ok(m.length <= BLOCK, `piece ${last}: ${m.length}`);
    assert.equal(Math.floor((first - 1) / BLOCK), Math.floor((last - 1) / BLOCK),
                 `piece ${last} starts in its block`);
    assert.equal(m.length, last - first + 1, `piece ${last} holds ${first}..${last}`);
    assert.deepEqual(m, all.slice(first - 1, last), `piece ${last}`);
  }
  const read = [];
  for (let last = count; last > 0;) {
    assert.ok(pieces.has(last), `piece ${last} is there`);
    const { m, first } = pieces.get(last);
    read.unshift(...m);
    last = first - 1;
  }
  assert.deepEqual(read, all);
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

test('accept returns the last history_limit messages across the earlier chat and this one, from pieces read by _id', async () => {
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

  await assertPieces('rita', [first, rid]);

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
  await assertPieces('sven', [first, rid]);
  await setLimit(LIMIT, u);
});

// A new customer's messages are all in the writer's memory while their room waits: the join's
// answer carries the history and accept reads no piece. Shown by removing the customer's pieces
// behind the writer's back before the accept: read from the pieces, the history would lack them.
for (const [node, customer] of [[1, 'vera'], [0, 'wim']]) {
  test(`accept on n${node} of a new customer answers from the writer's memory (${node ? 'through the broker' : 'in process'})`, async () => {
    const [u] = S.users(`rcm${node}`, 1);
    const agent = await S.agent(S.nodes[node], u);
    await gw.publish('request_agent', customer, { customer_name: customer });
    const w = await gw.waitFor((m) => m.type === 'request_waiting' && m.customer_id === customer);
    await Promise.all(Array.from({ length: 25 }, (_, i) =>
      gw.publish('customer_message', customer, { text: `m ${i}` }, `${customer}-m-${i}`)));
    await until(() => S.fixture('messages', w.room_id).length === 26, 'the messages stored');
    await until(async () => (await piecesOf(customer)).has(20), 'the full pieces written');
    await recent.deleteMany({ _id: { $regex: `^test:${customer}:` } });
    await agent.waitFor((f) => f.type === 'request_offered' && f.room.id === w.room_id);
    agent.send({ type: 'accept', room_id: w.room_id, ref: `acc-${customer}` });
    const acc = await agent.waitFor((f) => f.ref === `acc-${customer}`);
    assert.equal(acc.type, 'accepted', JSON.stringify(acc));
    assert.equal(acc.history.length, 27);   // the waiting text, 25 messages, the join text
    assert.deepEqual(acc.history.map((m) => `${m.room_id}/${m.id}`), lastOf([w.room_id], LIMIT));
    assert.equal(acc.history[1].text, 'm 0');
    assert.equal(acc.history.at(-1).id, `${w.room_id}-join`);
    assert.deepEqual(Object.keys(acc.history[0]).sort(),
      ['author', 'channel', 'customer_id', 'id', 'room_id', 'sender', 'seq', 'text', 'ts']);
  });
}

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
  await assertPieces('tara', [first, rid]);
  await S.startNode(0);
});

test("a closed room's counter leaves counters for counters_closed, and the customer's next chat goes on from it", async () => {
  const [u] = S.users('rcret', 1);
  const agent = await S.agent(S.nodes[1], u);
  const first = await earlierChat('ugo', 13);
  const stored = S.fixture('messages', first);
  // The writer's sweep (wsd_closed_room_keep 1 s): the counter moves, with its marks.
  await until(async () => !(await counters.findOne({ _id: first })), 'the counter to leave counters');
  const retired = await countersClosed.findOne({ _id: first });
  assert.ok(retired, 'the counter is in counters_closed');
  assert.equal(Number(retired.seq), Math.max(...stored.map((m) => m.seq)));
  assert.equal(Number(retired.recent), stored.length);
  // The next chat's recent goes on from the retired count: accept shows both chats in order.
  const { rid, acc } = await accept(agent, 'ugo', 4, first);
  assert.deepEqual(acc.history.map((m) => `${m.room_id}/${m.id}`), lastOf([first, rid], LIMIT));
  assert.ok(acc.history.some((m) => m.room_id === first));
  await assertPieces('ugo', [first, rid]);
  // The open room's counter is live; the closed one did not come back.
  assert.ok(await counters.findOne({ _id: rid }));
  assert.equal(await counters.findOne({ _id: first }), null);
});

// The writer does not wait for the head of a returning customer's open block (read on a worker,
// joined when it comes); until it comes, the pieces hold the new messages only and say where
// they start (`f`). Made to last here by removing the head piece before the customer comes
// back: nothing is joined, every piece of the new chat starts after it, and accept reads
// through them to the blocks before (the removed messages are the only ones it lacks).
test("a returning customer's writer goes on without the head of their block: its pieces say where they start and accept reads through them", async () => {
  const [u] = S.users('rchl', 1);
  const agent = await S.agent(S.nodes[1], u);
  const first = await earlierChat('hana', 13);
  await assertPieces('hana', [first]);
  const count = await countOf(first);
  assert.notEqual(count % BLOCK, 0, `${count} ends in the middle of a block`);
  await recent.deleteOne({ _id: `test:hana:${count}` });

  const { rid, acc } = await accept(agent, 'hana', 3, first);
  const all = lastOf([first, rid], 1000);
  const lost = all.slice(Math.floor((count - 1) / BLOCK) * BLOCK, count);
  const want = all.filter((m) => !lost.includes(m));
  assert.deepEqual(acc.history.map((m) => `${m.room_id}/${m.id}`), want.slice(-LIMIT));
  assert.ok(acc.history.some((m) => m.room_id === first));

  await until(async () => await countOf(rid) === all.length, "the new chat's count written");
  const pieces = await piecesOf('hana');
  const newer = [...pieces.keys()].filter((n) => n > count);
  assert.ok(newer.length > 0);
  for (const n of newer) {
    const { m, first: from } = pieces.get(n);
    assert.equal(from, count + 1, `piece ${n} starts after the missing head`);
    assert.deepEqual(m, all.slice(count, n), `piece ${n}`);
  }
});
