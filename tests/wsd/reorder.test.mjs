// SPDX-License-Identifier: MIT
// An agent's messages are stored in the order typed across their node's loss of RabbitMQ (issue 11,
// item 15; docs/topology.md, "While this node has no connection to RabbitMQ"). n0 holds the inbound
// queue (the room writer); n1, the agent's node, reaches RabbitMQ through a TCP proxy of this test,
// which cuts n1 off for a few seconds while only n1's agent goes on typing: n1 stores those
// messages itself, with seqs above the block the writer reserved. Once n1 is back, the agent's
// next messages go to the writer again, which must not hand out seqs from its old block (below the
// ones n1 stored). A customer keeps writing all along, so the writer keeps its room read fresh.
import test from 'node:test';
import assert from 'node:assert/strict';
import { Stack, sleep, until } from './harness.mjs';
import { Gateway } from './gateway.mjs';
import { Proxy } from './proxy.mjs';

let S, gw, proxy;

test.before(async () => {
  S = new Stack('reorder');
  await S.start({ nodes: 1, settings: { reconnect_grace: 30 } });
  proxy = await new Proxy(S.amqpUrl).start();
  const direct = S.env.LIVECHAT_AMQP_URL;
  S.env.LIVECHAT_AMQP_URL = proxy.url;   // n1 only
  try { await S.startNode(1); } finally { S.env.LIVECHAT_AMQP_URL = direct; }
  gw = await new Gateway(S.prefix, 'test', S.amqpUrl).start();
});
test.after(async () => {
  await gw?.close();
  await S?.stop();
  proxy?.stop();
});

// The agent's message id, sent until acked (re-sent on unavailable/busy as the dashboard does):
// the stored message.
async function post(agent, rid, id) {
  for (let n = 0; n < 50; n++) {
    const from = agent.frames.length;
    agent.send({ type: 'message', room_id: rid, id, text: id });
    const f = await agent.waitFor((x, i) => i >= from && (x.type === 'ack' || x.type === 'error') && x.id === id,
                                  `the answer to ${id}`, 30000);
    if (f.type === 'ack') return f.message;
    assert.ok(['unavailable', 'busy'].includes(f.code), JSON.stringify(f));
    await sleep(500);
  }
  throw new Error(`${id} never acked`);
}

test('messages an agent\'s node stored itself while cut off from RabbitMQ stay before the ones typed after', async () => {
  const [u] = S.users('reorder', 1);
  const agent = await S.agent(S.nodes[1], u);
  const cid = 'reorder-1';
  await gw.publishRetry('request_agent', cid, { customer_name: 'Reorder' });
  const w = await gw.waitFor((m) => m.type === 'request_waiting' && m.customer_id === cid);
  await agent.waitFor((f) => f.type === 'request_offered' && f.room.id === w.room_id);
  agent.send({ type: 'accept', room_id: w.room_id });
  await agent.waitFor((f) => f.type === 'accepted' && f.room.id === w.room_id);
  const rid = w.room_id;

  // The customer writes every 50 ms until the end.
  let going = true, sentC = 0;
  const customer = (async () => {
    for (let i = 0; going; i++) {
      await gw.publishRetry('customer_message', cid, { text: `c ${i}` }, `reorder-c-${i}`);
      sentC = i;
      await sleep(50);
    }
  })();

  const typed = ['a1'];
  const first = await post(agent, rid, 'a1');
  proxy.cut();
  await sleep(1000);
  const cutOff = [];
  for (const id of ['a2', 'a3']) { typed.push(id); cutOff.push(await post(agent, rid, id)); }
  // Stored by n1 itself: above every seq the writer reserved, not next to a1.
  assert.ok(cutOff[0].seq > first.seq + 100, `a2 stored by n1 itself: seq ${cutOff[0].seq} (a1: ${first.seq})`);

  proxy.restore();
  // n1 is back when it delivers the customer's messages written after its return.
  const after = sentC + 2;
  await agent.waitFor((f) => f.type === 'message' && f.message?.sender === 'customer' &&
                             Number(f.message.text.split(' ')[1]) >= after, 'n1 back on RabbitMQ', 30000);
  await sleep(300);
  for (const id of ['a4', 'a5', 'a6']) { typed.push(id); await post(agent, rid, id); }
  going = false;
  await customer;

  const stored = S.fixture('messages', rid).filter((m) => m.sender === 'agent');
  assert.deepEqual(stored.map((m) => m.text), typed,
                   `stored in seq order = typed order: ${JSON.stringify(stored.map((m) => [m.seq, m.text]))}`);
});
