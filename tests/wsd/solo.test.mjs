// SPDX-License-Identifier: MIT
// A node alone in its installation (docs/topology.md, "A node alone"): after a few quiet seconds
// it holds the lease <prefix>.solo and delivers its room events in process instead of through
// RabbitMQ (the gauge livechat_wsd_alone, the counter of events delivered in process), and its
// agents' tabs get every customer message and every echo of the agent's own messages as before.
// Two nodes are never alone. A node that starts while the first is alone makes it publish again,
// and an agent tab on the newcomer misses no message of a stream that runs through the join
// (what the lone node stored before it heard the newcomer is caught up); once the newcomer is
// gone, the first node is alone again.
import test from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
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

// Customer messages' texts a tab got, live or in a resumed answer.
function texts(tab) {
  const live = tab.all((f) => f.type === 'message' && f.room_id === rid).map((f) => f.message.text);
  const resumed = tab.all((f) => f.type === 'resumed').flatMap((f) => f.messages.map((m) => m.text));
  return new Set([...live, ...resumed]);
}

test('a node alone delivers room events in process; its agent\'s tabs get every message and echo', async () => {
  const n0 = S.nodes[0];
  await until(async () => (await alone(n0)) === 1, 'n0 alone', 20000);
  tab1 = await S.agent(n0, user);
  await gw.publish('request_agent', 'solo-c', { customer_name: 'solo-c' });
  const w = await gw.waitFor((m) => m.type === 'request_waiting' && m.customer_id === 'solo-c');
  rid = w.room_id;
  await tab1.waitFor((f) => f.type === 'request_offered' && f.room.id === rid);
  tab1.send({ type: 'accept', room_id: rid });
  await tab1.waitFor((f) => f.type === 'accepted' && f.room.id === rid);
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

test('a node that starts while the first is alone makes it publish again; a tab on it misses nothing of a stream through the join', async () => {
  const n0 = S.nodes[0];
  assert.equal(await alone(n0), 1, 'n0 alone before n1 starts');
  // Customer messages every 10 ms, before, during and after the join.
  const sent = [];
  let stop = false;
  const stream = (async () => {
    for (let i = 0; !stop && i < 2000; i++) {
      sent.push(`s${i}`);
      await gw.publish('customer_message', 'solo-c', { text: `s${i}` });
      await sleep(10);
    }
  })();
  await sleep(300);
  const n1 = await S.startNode(1);
  const tab3 = await S.agent(n1, user);
  tab3.send({ type: 'resume', rooms: [{ room_id: rid, last_seq: 0 }], ref: 'r3' });
  await tab3.waitFor((f) => f.type === 'resumed' && f.ref === 'r3');
  await until(async () => (await alone(n0)) === 0, 'n0 not alone once n1 is there', 10000);
  await sleep(1000);   // the stream goes on through the broker
  stop = true;
  await stream;
  for (const t of sent)
    await until(() => texts(tab3).has(t), `${t} on n1's tab (got ${texts(tab3).size} of ${sent.length})`, 10000);
  for (const t of sent)
    await until(() => texts(tab1).has(t), `${t} on n0's tab`, 10000);
  assert.equal(await alone(n1), 0, 'n1 is not alone either');
  // Two nodes: neither takes the lease, however long they run together.
  await sleep(8000);
  assert.equal(await alone(n0), 0);
  assert.equal(await alone(n1), 0);
});

test('once the other node is gone, the node is alone again and still delivers', async () => {
  await S.stopNode(1);
  const n0 = S.nodes[0];
  // n1's presence expires (15 s), then 6 quiet seconds.
  await until(async () => (await alone(n0)) === 1, 'n0 alone again', 40000);
  await gw.publish('customer_message', 'solo-c', { text: 'after n1' });
  await tab1.waitFor((f) => f.type === 'message' && f.message?.text === 'after n1');
});
