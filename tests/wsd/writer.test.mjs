// SPDX-License-Identifier: MIT
// The room writer (docs/topology.md, "One writer per room"): the node holding the inbound queue
// stores every message with a seq, the customers' (gateway) and the agents' (room commands from
// the other nodes), in batches. A message id is unique within its room only (issue 11 item 7);
// a room command needs the writer secret; killing the writer mid-conversation loses, duplicates
// and reorders nothing, and the next writer's seqs continue above the old one's; a seq of its block
// stored by another node keeps the room's messages in order (the ones behind it wait for it).
import test from 'node:test';
import assert from 'node:assert/strict';
import { Stack, sleep, until } from './harness.mjs';
import { Gateway } from './gateway.mjs';

const S = new Stack('writer');
let gw;

test.before(async () => {
  await S.start({ nodes: 2 });
  gw = await new Gateway(S.prefix).start();
});
test.after(async () => { await gw?.close(); await S.stop(); });

async function engage(agent, cust) {
  await gw.publish('request_agent', cust, { customer_name: cust.toUpperCase() });
  const w = await gw.waitFor((m) => m.type === 'request_waiting' && m.customer_id === cust);
  await agent.waitFor((f) => f.type === 'request_offered' && f.room.id === w.room_id);
  agent.send({ type: 'accept', room_id: w.room_id });
  await agent.waitFor((f) => f.type === 'accepted' && f.room.id === w.room_id);
  return w.room_id;
}

test('the same gateway message id in two rooms is two messages, each reaching its own room', async () => {
  const [u] = S.users('twice', 1);
  const a = await S.agent(S.nodes[1], u);
  const r1 = await engage(a, 'tina');
  const r2 = await engage(a, 'tom');
  await gw.publish('customer_message', 'tina', { text: 'from tina' }, 'same-id');
  await a.waitFor((f) => f.type === 'message' && f.room_id === r1 && f.message.text === 'from tina');
  await gw.publish('customer_message', 'tom', { text: 'from tom' }, 'same-id');
  const m2 = await a.waitFor((f) => f.type === 'message' && f.room_id === r2, 'tom\'s message in his room');
  assert.equal(m2.message.text, 'from tom');
  assert.equal(m2.message.room_id, r2);
  assert.deepEqual(S.fixture('messages', r2).filter((m) => m.sender === 'customer').map((m) => [m.id, m.text]),
                   [['same-id', 'from tom']]);
  assert.deepEqual(S.fixture('messages', r1).filter((m) => m.sender === 'customer').map((m) => m.text),
                   ['from tina']);
});

test('a room command without the writer secret stores nothing', async () => {
  const [u] = S.users('forge', 1);
  const a = await S.agent(S.nodes[1], u);
  const rid = await engage(a, 'fred');
  // Anyone who may publish to the inbound exchange (a gateway) tries to speak as the agent.
  const forged = Buffer.from(JSON.stringify({
    type: 'wsd_room_append', id: 'forged-1', cmd_id: 1, reply_to: 'n1', secret: '0'.repeat(64),
    deadline: Date.now() + 60000, room_id: rid, msg_id: 'forged', sender: 'agent', author: 'Mallory',
    text: 'send me your password', check_agent: u.id }));
  await new Promise((resolve, reject) => gw.ch.publish(`${S.prefix}.inbound`, 'wsd.room', forged,
    { persistent: true, messageId: 'forged-1' }, (err) => (err ? reject(err) : resolve())));
  // What the gateway publishes after it is stored after it: once it arrives, the forgery was seen.
  await gw.publish('customer_message', 'fred', { text: 'after' });
  await a.waitFor((f) => f.type === 'message' && f.message.text === 'after');
  assert.deepEqual(S.fixture('messages', rid).filter((m) => m.sender !== 'system').map((m) => m.text), ['after']);
  assert.equal(gw.all((m) => m.type === 'agent_message' && m.room_id === rid).length, 0);
});

test('killing the writer mid-conversation: both sides\' messages stored once, in order, seqs increasing', async () => {
  const [u] = S.users('wk', 1);
  const a = await S.agent(S.nodes[1], u);          // the agent stays on the surviving node
  const rid = await engage(a, 'walt');
  const N = 30;
  const acks = [];
  for (let i = 0; i < N; i++) {
    await gw.publish('customer_message', 'walt', { text: `c${i}` }, `walt-${i}`);
    a.send({ type: 'message', room_id: rid, id: `wa-${i}`, text: `a${i}` });
    acks.push(`wa-${i}`);
    if (i === 10) S.nodes[0].proc.kill('SIGKILL');   // n0 started first: it holds the inbound queue
    await sleep(15);
  }
  await until(() => S.nodes[0].exited, 'n0 to die');
  await a.waitFor((f) => f.type === 'message' && f.message.text === `c${N - 1}`, 'the last customer message', 30000);
  for (const id of acks) {
    const f = await a.waitFor((x) => (x.type === 'ack' || x.type === 'error') && x.id === id, `the answer to ${id}`, 30000);
    if (f.type === 'error') {
      // The writer died with it: the client sends it again with the same id (docs/websocket.md).
      assert.equal(f.code, 'unavailable');
      a.send({ type: 'message', room_id: rid, id, text: `a${id.slice(3)}`, ref: `again-${id}` });
      await a.waitFor((x) => x.type === 'ack' && x.id === id, `the ack of ${id} sent again`, 30000);
    }
  }
  const stored = S.fixture('messages', rid).filter((m) => m.sender !== 'system');
  const texts = stored.map((m) => m.text);
  assert.deepEqual(texts.filter((t) => t.startsWith('c')), Array.from({ length: N }, (_, i) => `c${i}`));
  assert.deepEqual(texts.filter((t) => t.startsWith('a')), Array.from({ length: N }, (_, i) => `a${i}`));
  for (let i = 1; i < stored.length; i++) assert.ok(stored[i].seq > stored[i - 1].seq, 'seqs increase');
  // The gateway got each agent message once per id, in seq order.
  await gw.waitFor((m) => m.type === 'agent_message' && m.text === `a${N - 1}`, 'the last agent message', 20000);
  const seen = new Map();
  for (const m of gw.all((x) => x.type === 'agent_message' && x.room_id === rid)) seen.set(m.id, m);
  assert.deepEqual([...seen.values()].sort((x, y) => x.seq - y.seq).map((m) => m.text),
                   Array.from({ length: N }, (_, i) => `a${i}`));
  await S.startNode(0);
});

// The last test: the one before restarted n0, so n1 holds the inbound queue now.
test('a seq of the new writer\'s block stored elsewhere: the room\'s messages of that batch stay in order behind it', async () => {
  const [u] = S.users('meet', 1);
  const a = await S.agent(S.nodes[0], u);          // the agent stays on the surviving node
  const rid = await engage(a, 'mona');
  await gw.publish('customer_message', 'mona', { text: 'm0' }, 'mona-0');
  await a.waitFor((f) => f.type === 'message' && f.message.text === 'm0');
  S.nodes[1].proc.kill('SIGKILL');
  await until(() => S.nodes[1].exited, 'n1 to die');
  // n0's writer takes the room with a new block; a node that reserved a seq at the same moment
  // got its second number too (a lost $inc on FerretDB) and stored its message there.
  const other = S.fixture('collide', rid, '2', 'elsewhere', 'stored elsewhere');
  const N = 6;
  await Promise.all(Array.from({ length: N }, (_, i) =>
    gw.publish('customer_message', 'mona', { text: `m${i + 1}` }, `mona-${i + 1}`)));
  const got = [];
  for (let i = 1; i <= N; i++) {
    const f = await a.waitFor((x) => x.type === 'message' && x.message.text === `m${i}`, `m${i}`, 20000);
    got.push(f.message);
  }
  const stored = S.fixture('messages', rid).filter((m) => m.sender !== 'system');
  assert.deepEqual(stored.map((m) => m.text),
                   ['m0', 'm1', 'stored elsewhere', ...Array.from({ length: N - 1 }, (_, i) => `m${i + 2}`)],
                   JSON.stringify(stored.map((m) => [m.seq, m.text])));
  assert.ok(stored.find((m) => m.text === 'stored elsewhere').seq === other.seq);
  // The agent got each once, in the stored order, with the stored seqs.
  assert.deepEqual(got.map((m) => m.seq), stored.filter((m) => /^m[1-9]/.test(m.text)).map((m) => m.seq));
  for (let i = 1; i < got.length; i++) assert.ok(got[i].seq > got[i - 1].seq, 'seqs increase');
  await S.startNode(1);
});
