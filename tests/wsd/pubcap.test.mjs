// SPDX-License-Identifier: MIT
// The publisher queue cap (wsd_publish_queue_max, issue 11 item 11; docs/operations.md): with a
// PRIVATE RabbitMQ node stopped (private.mjs) and four agents flooding their rooms for 5 s, one
// livechat-wsd takes only about the cap's worth of messages (each acked one waits to be
// published): past it, new frames that need a publish get `unavailable` naming the message;
// nothing that was acknowledged is dropped (every acked message reaches the gateway once the
// broker is back), and once the queue drained the node takes work again. Without the cap the
// node acked 540 messages in the 5 s (all queued for the broker).
// Then with the broker up but refusing the node's publishes (guest may not write to the nodes
// and outbound exchanges): once full, the node leaves the gateway's inbound messages in the
// broker (not taken, not acked) and delivers them, each once, after the publishes go through.
import test from 'node:test';
import http from 'node:http';
import assert from 'node:assert/strict';
import { Stack, sleep, until } from './harness.mjs';
import { Gateway } from './gateway.mjs';
import { PrivateRabbit } from './private.mjs';

const CAP = 40;
const AGENTS = 4;
const WINDOW = 8;       // messages each agent has under way
const OUTAGE_MS = 5000;
const rabbit = new PrivateRabbit();
let S, gw;

test.before(async () => {
  await rabbit.start();
  S = new Stack('pubcap', { amqp: rabbit.url });
  await S.start({ nodes: 1, env: { LIVECHAT_WSD_PUBLISH_QUEUE_MAX: String(CAP) } });
  gw = await new Gateway(S.prefix, 'test', rabbit.url).start();
});
test.after(async () => {
  await gw?.close();
  await S?.stop();
  await rabbit.stop();
});

let agents;

// The node's livechat_wsd_bus_publish_queue (GET /metrics from 127.0.0.1, the default
// metrics_allow): messages not yet confirmed by the broker.
function publishQueue(node) {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port: node.port, path: '/metrics' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve(Number(body.match(/^livechat_wsd_bus_publish_queue (\d+)$/m)?.[1])));
    }).on('error', reject);
  });
}

// Each agent keeps WINDOW messages under way for ms, sending the next as soon as one is
// answered, as a busy agent (and the dashboard re-sending) would.
async function flood(ms, tag) {
  const end = Date.now() + ms;
  await Promise.all(agents.map(async (a, k) => {
    while (Date.now() < end) {
      if (a.ids.filter((id) => !answer(a, id)).length < WINDOW) {
        const id = `${tag}${k}x${a.ids.length}`;
        a.ids.push(id);
        a.agent.send({ type: 'message', room_id: a.rid, id, text: `flood ${id}` });
      } else {
        await sleep(5);
      }
      if (a.ids.length % 10 === 0) await sleep(1);
    }
  }));
}
const answer = (a, id) => a.agent.find((f) => (f.type === 'ack' || f.type === 'error') && f.id === id);
const refusedFull = (a, id) => a.agent.find((f) => f.type === 'error' && f.id === id &&
                                                   f.code === 'unavailable' && /RabbitMQ is not keeping up/.test(f.message));

async function engage(agent, customer) {
  await gw.publishRetry('request_agent', customer, { customer_name: customer.toUpperCase() });
  const w = await gw.waitFor((m) => m.type === 'request_waiting' && m.customer_id === customer);
  await agent.waitFor((f) => f.type === 'request_offered' && f.room.id === w.room_id);
  agent.send({ type: 'accept', room_id: w.room_id });
  await agent.waitFor((f) => f.type === 'accepted' && f.room.id === w.room_id);
  return w.room_id;
}

test('RabbitMQ stopped and agents flooding: past the cap new messages get unavailable, nothing acked is lost, work resumes after', async () => {
  // Several agents, one room each: one connection alone is held to 32 requests under way.
  const users = S.users('cap', AGENTS);
  agents = [];
  for (let i = 0; i < AGENTS; i++) {
    const agent = await S.agent(S.nodes[0], users[i]);
    agents.push({ agent, rid: await engage(agent, `cust-cap-${i}`), ids: [] });
  }

  await rabbit.stopApp();
  // Let the node see the broker gone (the publisher retries its batch from then on).
  await sleep(1000);
  let peak = 0, sampling = true;
  const sampler = (async () => {
    while (sampling) { peak = Math.max(peak, await publishQueue(S.nodes[0])); await sleep(50); }
  })();
  await flood(OUTAGE_MS, 'f');
  sampling = false;
  await sampler;
  await sleep(500);
  let acked = 0, refused = 0, held = 0;
  const others = {};
  for (const a of agents) {
    for (const id of a.ids) {
      const f = answer(a, id);
      if (!f) held++;
      else if (f.type === 'ack') acked++;
      else if (refusedFull(a, id)) refused++;
      else others[f.code] = (others[f.code] || 0) + 1;
    }
  }
  const sent = agents.reduce((n, a) => n + a.ids.length, 0);
  console.log(`# cap ${CAP}: ${AGENTS} agents (${WINDOW} under way each) sent ${sent} messages in ` +
              `${OUTAGE_MS} ms while RabbitMQ was stopped: ${acked} acked, ${held} held (answered ` +
              `after), ${refused} refused unavailable (publisher queue full), other errors ${JSON.stringify(others)}; ` +
              `publisher queue at most ${peak}`);
  // Each acked message waits in the publisher queue (its forward to the gateway at least): the
  // node took the cap's worth and what was under way when it was reached, not the flood.
  assert.ok(acked <= CAP + AGENTS * WINDOW, `acked ${acked} with a cap of ${CAP} while the broker was down`);
  // The queue itself: the cap, plus the publishes (a few per message) of the messages that were
  // under way when it was reached.
  assert.ok(peak > 0 && peak <= CAP + 3 * AGENTS * WINDOW, `publisher queue reached ${peak} with a cap of ${CAP}`);
  assert.ok(refused > 0, 'messages refused with unavailable past the cap');

  await rabbit.startApp();
  // Everything acknowledged reaches the gateway once the broker is back; nothing refused does.
  const T = 60000;
  const ackedIds = () => agents.flatMap((a) => a.ids.filter((id) => a.agent.find((f) => f.type === 'ack' && f.id === id)));
  for (const s = Date.now(); agents.some((a) => a.ids.some((id) => !answer(a, id)));) {
    if (Date.now() - s > T) assert.fail('messages still without an answer after the broker came back');
    await sleep(100);
  }
  const texts = new Set(ackedIds().map((id) => `flood ${id}`));
  const arrived = () => new Set(gw.all((m) => m.type === 'agent_message' && texts.has(m.text)).map((m) => m.text));
  for (const s = Date.now(); arrived().size < texts.size && Date.now() - s < T;) await sleep(100);
  assert.equal(arrived().size, texts.size, 'every acked message reached the gateway');
  for (const a of agents)
    for (const id of a.ids.filter((x) => refusedFull(a, x)))
      assert.equal(gw.all((m) => m.type === 'agent_message' && m.text === `flood ${id}`).length, 0, `${id} was refused yet sent`);

  // Drained: new messages are taken again.
  const { agent, rid } = agents[0];
  agent.send({ type: 'message', room_id: rid, id: 'after', text: 'after the outage' });
  const a = await agent.waitFor((f) => (f.type === 'ack' || f.type === 'error') && f.id === 'after', 'answer to after', 20000);
  assert.equal(a.type, 'ack', JSON.stringify(a));
  await gw.waitFor((m) => m.type === 'agent_message' && m.text === 'after the outage', 'after at the gateway', 20000);
});

test('RabbitMQ refusing the node\'s publishes: once full, inbound messages stay in the broker, then arrive once', async () => {
  for (const a of agents) a.ids = [];
  const { agent, rid } = agents[0];
  const inbound = `${S.prefix}.inbound`;
  // guest keeps every right but writing to the nodes and outbound exchanges (the gateway writes
  // to the inbound exchange only); connections are closed so that no channel keeps a cached right.
  await rabbit.ctl('set_permissions', '-p', '/', 'guest', '.*', `^(?!${S.prefix}\\.(nodes|outbound)$).*`, '.*');
  await rabbit.closeAll();
  await until(() => gw.ch, 'the gateway back', 20000);
  // How soon the node fills depends on what its first refused batch holds: the forwards of
  // messages it stored, or (before its first inbound delivery on its new connection, when its
  // agents' messages go to its own writer through the broker: docs/topology.md) those room
  // commands themselves, held behind a refused presence (a batch is retried whole, in order)
  // until their re-sends, 3 s on, fill the queue; its agents, whose messages are all under way
  // then, send no new one to refuse. The node's own gauge tells either.
  const full = async () => agents.some((a) => a.ids.some((id) => refusedFull(a, id))) ||
    await publishQueue(S.nodes[0]) >= CAP;
  await flood(3000, 'g');
  await until(full, 'the node full', 20000);
  const sent = [];
  for (let i = 0; i < 20; i++) sent.push((await gw.publishRetry('customer_message', 'cust-cap-0', { text: `held ${i}` })).id);
  await sleep(2000);
  const q = await rabbit.queue(inbound);
  assert.ok(q && q.ready + q.unacked >= 20, `the 20 inbound messages wait in ${inbound}: ${JSON.stringify(q)}`);
  assert.equal(agent.all((f) => f.type === 'message' && f.room_id === rid && /^held /.test(f.message.text)).length, 0,
               'nothing of them reached the agent while full');
  // Not taken at all: none of them was stored (the node did not consume them).
  assert.equal(S.fixture('messages', rid).filter((m) => /^held /.test(m.text)).length, 0, 'none stored while full');

  await rabbit.ctl('set_permissions', '-p', '/', 'guest', '.*', '.*', '.*');
  const held = () => agent.all((f) => f.type === 'message' && f.room_id === rid && /^held /.test(f.message.text));
  await until(() => held().length >= 20, 'the 20 held messages at the agent', 60000);
  await sleep(1500);   // a duplicate would show now
  assert.deepEqual(held().map((f) => f.message.text), sent.map((_, i) => `held ${i}`));
  await until(async () => { const x = await rabbit.queue(inbound); return x && x.ready + x.unacked === 0; }, `${inbound} empty`, 20000);
});
