// SPDX-License-Identifier: MIT
// A node alone in its installation (docs/topology.md, "A node alone"): after a few quiet seconds
// it holds the lease <prefix>.solo and delivers its room events in process instead of through
// RabbitMQ (the gauge livechat_wsd_alone, the counter of events delivered in process), and its
// agents' tabs get every customer message and every echo of the agent's own messages as before.
// While another connection holds the lease the node is not alone and keeps serving (its refused
// claims touch nothing else of its connection). Two nodes are never alone. A node that starts
// while the first is alone makes it publish again, and a stream of customer messages through
// that join reaches an agent tab on either node complete, each message once, in seq order; the
// same holds through the switch back to alone once the newcomer has stopped.
import test from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import amqp from 'amqplib';
import { Stack, sleep, until } from './harness.mjs';
import { Gateway } from './gateway.mjs';

const S = new Stack('solo');
const SCRAPER = '127.0.0.2';   // the loopback address metrics_allow names
let gw, user, rid, tab1, tab2;

test.before(async () => {
  await S.start({ nodes: 1, env: { LIVECHAT_METRICS_ALLOW: `${SCRAPER}/32` } });
  gw = await new Gateway(S.prefix).start();
  [user] = S.users('solo', 1);
});
test.after(async () => { await gw?.close(); await S.stop(); });

// node's metrics: name -> number (the samples without labels).
function metrics(node) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: node.port, path: '/metrics', localAddress: SCRAPER }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new Error(`metrics: ${res.statusCode} ${body}`));
        const m = new Map();
        for (const line of body.split('\n')) {
          const s = line.match(/^(\w+) (\S+)$/);
          if (s) m.set(s[1], Number(s[2]));
        }
        resolve(m);
      });
    });
    req.on('error', reject);
    req.end();
  });
}

const alone = async (node) => (await metrics(node)).get('livechat_wsd_alone');
const inProcess = async (node) => (await metrics(node)).get('livechat_wsd_room_events_in_process_total');

// The messages of room rid a tab got, in arrival order (a resumed answer's in its place).
function arrived(tab) {
  const out = [];
  for (const f of tab.frames) {
    if (f.type === 'resumed') for (const m of f.messages) { if (m.room_id === undefined || m.room_id === rid) out.push(m); }
    else if (f.type === 'message' && f.room_id === rid) out.push(f.message);
  }
  return out;
}

// Every text of sent reached tab, and what came came once each, in ascending seq.
async function complete(tab, sent, what) {
  for (const t of sent)
    await until(() => arrived(tab).some((m) => m.text === t), `${t} on ${what} (got ${arrived(tab).length})`, 15000);
  const seqs = arrived(tab).map((m) => m.seq);
  assert.equal(new Set(seqs).size, seqs.length, `${what}: a message twice`);
  for (let i = 1; i < seqs.length; i++)
    assert.ok(seqs[i] > seqs[i - 1], `${what}: out of order at ${i}: ${seqs.slice(Math.max(0, i - 3), i + 3)}`);
}

// Customer messages every 10 ms until stop() is awaited; returns { sent, stop }.
function stream(tag) {
  const sent = [];
  let stopping = false;
  const run = (async () => {
    for (let i = 0; !stopping && i < 5000; i++) {
      sent.push(`${tag}${i}`);
      await gw.publish('customer_message', 'solo-c', { text: `${tag}${i}` });
      await sleep(10);
    }
  })();
  return { sent, stop: async () => { stopping = true; await run; } };
}

test('while another connection holds the lease the node is not alone, and it keeps serving', async () => {
  const n0 = S.nodes[0];
  await sleep(2000);   // its own look at the lease, at start, is done
  const conn = await amqp.connect(process.env.LIVECHAT_AMQP_URL);
  try {
    const ch = await conn.createChannel();
    await ch.assertQueue(`${S.prefix}.solo`, { exclusive: true, autoDelete: true });
    await sleep(9000);   // n0 tried to claim it (6 quiet seconds) and was refused
    assert.equal(await alone(n0), 0);
    // Its node queue still works: an offer and a claim go through it.
    tab1 = await S.agent(n0, user);
    await gw.publish('request_agent', 'solo-c', { customer_name: 'solo-c' });
    const w = await gw.waitFor((m) => m.type === 'request_waiting' && m.customer_id === 'solo-c');
    rid = w.room_id;
    await tab1.waitFor((f) => f.type === 'request_offered' && f.room.id === rid);
    tab1.send({ type: 'accept', room_id: rid });
    await tab1.waitFor((f) => f.type === 'accepted' && f.room.id === rid);
    await gw.publish('customer_message', 'solo-c', { text: 'while held' });
    await tab1.waitFor((f) => f.type === 'message' && f.message?.text === 'while held');
  } finally {
    await conn.close();
  }
  await until(async () => (await alone(n0)) === 1, 'n0 alone once the lease is free', 15000);
});

test('a node alone delivers room events in process; its agent\'s tabs get every message and echo', async () => {
  const n0 = S.nodes[0];
  tab2 = await S.agent(n0, user);
  tab2.send({ type: 'resume', rooms: [{ room_id: rid, last_seq: 0 }], ref: 'r2' });
  await tab2.waitFor((f) => f.type === 'resumed' && f.ref === 'r2');
  const before = await inProcess(n0);

  for (let i = 0; i < 3; i++) await gw.publish('customer_message', 'solo-c', { text: `hello ${i}` });
  for (const tab of [tab1, tab2])
    for (let i = 0; i < 3; i++)
      await tab.waitFor((f) => f.type === 'message' && f.message?.text === `hello ${i}`, `hello ${i}`);
  tab1.send({ type: 'message', room_id: rid, id: 'mine-1', text: 'from tab 1' });
  await tab1.waitFor((f) => f.type === 'ack' && f.id === 'mine-1');
  await tab2.waitFor((f) => f.type === 'message' && f.message?.text === 'from tab 1', 'the echo on tab 2');
  await gw.waitFor((m) => m.type === 'agent_message' && m.text === 'from tab 1');
  await sleep(200);
  assert.equal(tab1.all((f) => f.type === 'message' && f.message?.text === 'from tab 1').length, 0,
               'the sending tab has its ack, not the echo');
  assert.ok((await inProcess(n0)) - before >= 4, 'three customer messages and the echo in process');
  assert.equal(await alone(n0), 1);
});

test('a node that starts while the first is alone makes it publish again; a stream through the join reaches both nodes\' tabs whole and in order', async () => {
  const n0 = S.nodes[0];
  assert.equal(await alone(n0), 1, 'n0 alone before n1 starts');
  const s = stream('s');
  await sleep(300);
  const n1 = await S.startNode(1);
  const tab3 = await S.agent(n1, user);
  tab3.send({ type: 'resume', rooms: [{ room_id: rid, last_seq: 0 }], ref: 'r3' });
  await tab3.waitFor((f) => f.type === 'resumed' && f.ref === 'r3');
  await until(async () => (await alone(n0)) === 0, 'n0 not alone once n1 is there', 10000);
  await sleep(1000);   // the stream goes on through the broker
  await s.stop();
  await complete(tab3, s.sent, "n1's tab");
  await complete(tab1, s.sent, "n0's tab");
  assert.equal(await alone(n1), 0, 'n1 is not alone either');
  // Two nodes: neither takes the lease, however long they run together.
  await sleep(8000);
  assert.equal(await alone(n0), 0);
  assert.equal(await alone(n1), 0);
});

test('once the other node is gone the node is alone again; a stream through that switch arrives whole and in order', async () => {
  const n0 = S.nodes[0];
  const s = stream('t');
  await sleep(300);
  await S.stopNode(1);
  // n1's presence expires (15 s), then 6 quiet seconds.
  await until(async () => (await alone(n0)) === 1, 'n0 alone again', 40000);
  await sleep(1000);   // the stream goes on in process
  await s.stop();
  await complete(tab1, s.sent, "n0's tab");
  await complete(tab2, s.sent, "n0's other tab");
});
