// SPDX-License-Identifier: MIT
// What the dashboard needs beyond the basic flow: a request shows the customer's first message
// (in request_offered, in hello.requests, and as request_updated when it arrives later), and an
// agent with several tabs (on one node or on both) sees their own messages live in every tab
// but the one that sent it, which gets the ack only.
import test from 'node:test';
import assert from 'node:assert/strict';
import { Stack, sleep } from './harness.mjs';
import { Gateway } from './gateway.mjs';

const S = new Stack('dash');
let gw;

test.before(async () => {
  await S.start({ nodes: 2 });
  gw = await new Gateway(S.prefix).start();
});
test.after(async () => { await gw?.close(); await S.stop(); });

test('a request carries its first message: offered, in hello, and updated when it comes later', async () => {
  const [u] = S.users('first', 1);
  const a = await S.agent(S.nodes[0], u);

  // Opened by a customer message: the offer has it.
  await gw.publish('customer_message', 'fm-1', { text: 'My parcel is late', customer_name: 'Fay' });
  const w1 = await gw.waitFor((m) => m.type === 'request_waiting' && m.customer_id === 'fm-1');
  const o1 = await a.waitFor((f) => f.type === 'request_offered' && f.room.id === w1.room_id);
  assert.equal(o1.room.first_message, 'My parcel is late');

  // Opened by request_agent: null first, then request_updated with the first message only.
  await gw.publish('request_agent', 'fm-2', { customer_name: 'Gus' });
  const w2 = await gw.waitFor((m) => m.type === 'request_waiting' && m.customer_id === 'fm-2');
  const o2 = await a.waitFor((f) => f.type === 'request_offered' && f.room.id === w2.room_id);
  assert.equal(o2.room.first_message, null);
  await gw.publish('customer_message', 'fm-2', { text: 'first words' });
  await gw.publish('customer_message', 'fm-2', { text: 'second words' });
  const up = await a.waitFor((f) => f.type === 'request_updated' && f.room.id === w2.room_id);
  assert.equal(up.room.first_message, 'first words');
  assert.equal(up.room.customer_name, 'Gus');
  await sleep(500);
  assert.equal(a.all((f) => f.type === 'request_updated' && f.room.id === w2.room_id).length, 1);

  // An agent connecting later, on the other node, has both in hello.requests.
  const [v] = S.users('later', 1);
  const b = await S.agent(S.nodes[1], v);
  const reqs = b.find((f) => f.type === 'hello').requests;
  assert.equal(reqs.find((r) => r.id === w1.room_id)?.first_message, 'My parcel is late');
  assert.equal(reqs.find((r) => r.id === w2.room_id)?.first_message, 'first words');

  // A node that learns of waiting requests from MongoDB only (a restart) reads the first
  // message itself.
  await S.stopNode(1);
  await S.startNode(1);
  const c = await S.agent(S.nodes[1], v);
  const fromDb = await c.waitFor((f) => (f.type === 'request_updated' && f.room.id === w1.room_id) ||
    (f.type === 'hello' && f.requests.some((r) => r.id === w1.room_id && r.first_message)),
  'the first message after a restart');
  const room = fromDb.room || fromDb.requests.find((r) => r.id === w1.room_id);
  assert.equal(room.first_message, 'My parcel is late');
});

test("an agent's own message reaches their other tabs on both nodes, the sender gets only the ack", async () => {
  const [u] = S.users('tabs', 1);
  const t1 = await S.agent(S.nodes[0], u);
  await gw.publish('request_agent', 'tabby', { customer_name: 'Tabby' });
  const w = await gw.waitFor((m) => m.type === 'request_waiting' && m.customer_id === 'tabby');
  await t1.waitFor((f) => f.type === 'request_offered' && f.room.id === w.room_id);
  t1.send({ type: 'accept', room_id: w.room_id });
  await t1.waitFor((f) => f.type === 'accepted');

  // Two more tabs: one on the same node, one on the other; both resume the room.
  const tabs = [];
  for (const node of [S.nodes[0], S.nodes[1]]) {
    const t = await S.agent(node, u);
    assert.deepEqual(t.find((f) => f.type === 'hello').rooms.map((r) => r.id), [w.room_id]);
    t.send({ type: 'resume', rooms: [{ room_id: w.room_id, last_seq: 0 }], ref: 'r' });
    await t.waitFor((f) => f.type === 'resumed' && f.ref === 'r');
    tabs.push(t);
  }
  t1.send({ type: 'message', room_id: w.room_id, id: 'tab-m1', text: 'from tab one' });
  const ack = await t1.waitFor((f) => f.type === 'ack' && f.id === 'tab-m1');
  for (const t of tabs) {
    const m = await t.waitFor((f) => f.type === 'message' && f.message.text === 'from tab one', 'own message in another tab');
    assert.equal(m.message.seq, ack.message.seq);
    assert.equal(m.message.sender, 'agent');
  }
  // A customer message still reaches all three.
  await gw.publish('customer_message', 'tabby', { text: 'hello tabs' });
  for (const t of [t1, ...tabs]) await t.waitFor((f) => f.type === 'message' && f.message.text === 'hello tabs');
  await sleep(300);
  assert.equal(t1.all((f) => f.type === 'message' && f.message.text === 'from tab one').length, 0,
               'the sender gets no copy of its own message');
  for (const t of tabs) assert.equal(t.all((f) => f.type === 'message' && f.message.text === 'from tab one').length, 1);
  // Re-sending the same id (no ack seen) answers the same ack and shows nothing new anywhere.
  t1.send({ type: 'message', room_id: w.room_id, id: 'tab-m1', text: 'from tab one' });
  const again = await t1.waitFor((f) => f.type === 'ack' && f.id === 'tab-m1' && f !== ack);
  assert.equal(again.message.seq, ack.message.seq);
});
