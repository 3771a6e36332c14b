// SPDX-License-Identifier: MIT
// wsd's own HTTP routes (docs/operations.md, Health and Metrics): GET /health answers 200 with
// the node's state while it serves; GET /metrics answers Prometheus text to the addresses of
// metrics_allow only (others get 404, like any unknown path), and its counters move with a chat:
// connections, frames, stored messages and batches, bus publishes, room commands; a returning
// customer's open and the head of their recent are read on a worker, not by the room writer.
// Its threads carry names (docs/operations.md, What runs), so top -H and perf tell them apart.
import test from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { readdirSync, readFileSync } from 'node:fs';
import { Stack, until } from './harness.mjs';
import { Gateway } from './gateway.mjs';

const S = new Stack('metrics');
const SCRAPER = '127.0.0.2';   // the loopback address metrics_allow names (not 127.0.0.1)
const WORKERS = 3;             // wsd_workers (the default is 2)

let gw;

test.before(async () => {
  await S.start({ nodes: 1, env: { LIVECHAT_METRICS_ALLOW: `${SCRAPER}/32`,
                                      LIVECHAT_WSD_WORKERS: String(WORKERS) } });
  gw = await new Gateway(S.prefix).start();
});
test.after(async () => { await gw?.close(); await S.stop(); });

// One GET to the node from localAddress: { status, type, body }.
function get(node, p, localAddress = '127.0.0.1', method = 'GET') {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: node.port, path: p, method, localAddress }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, type: res.headers['content-type'], body }));
    });
    req.on('error', reject);
    req.end();
  });
}

// Prometheus text format 0.0.4: every sample under a # TYPE of its family; returns a map
// 'name{labels}' -> number and checks each histogram's buckets grow up to _count.
function parse(text) {
  const types = new Map(), samples = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ')) continue;
    const t = line.match(/^# TYPE (\w+) (counter|gauge|histogram|summary|untyped)$/);
    if (t) { assert.ok(!types.has(t[1]), `one TYPE line for ${t[1]}`); types.set(t[1], t[2]); continue; }
    const m = line.match(/^(\w+)(\{[^}]*\})? (\S+)$/);
    assert.ok(m, `a sample line: ${line}`);
    const family = types.has(m[1]) ? m[1] : m[1].replace(/_(bucket|sum|count)$/, '');
    assert.ok(types.has(family), `${m[1]} has a TYPE`);
    const v = Number(m[3]);
    assert.ok(Number.isFinite(v), `${line}: a number`);
    samples.set(m[1] + (m[2] || ''), v);
  }
  for (const [name, type] of types) {
    if (type !== 'histogram') continue;
    const buckets = [...samples].filter(([k]) => k.startsWith(`${name}_bucket{`)).map(([, v]) => v);
    assert.ok(buckets.length > 1, `${name} has buckets`);
    for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i] >= buckets[i - 1], `${name} buckets grow`);
    assert.equal(buckets.at(-1), samples.get(`${name}_count`), `${name}: +Inf is the count`);
  }
  return samples;
}

async function scrape(node) {
  const r = await get(node, '/metrics', SCRAPER);
  assert.equal(r.status, 200, r.body);
  assert.match(r.type, /^text\/plain; version=0\.0\.4/);
  return parse(r.body);
}

test('GET /health answers 200 with the node state while it serves; other paths and methods 404', async () => {
  const r = await get(S.nodes[0], '/health');
  assert.equal(r.status, 200, r.body);
  assert.match(r.type, /^application\/json/);
  assert.deepEqual(JSON.parse(r.body), { status: 'ok', rabbitmq: 'up', connections: 0 });
  assert.equal((await get(S.nodes[0], '/nothing')).status, 404);
  assert.equal((await get(S.nodes[0], '/health', '127.0.0.1', 'POST')).status, 404);
});

test('the threads are named: the loop keeps the process name; writer, consumer, two publishers, wsd_workers workers', () => {
  const pid = S.nodes[0].proc.pid;
  const names = readdirSync(`/proc/${pid}/task`)
    .map((t) => readFileSync(`/proc/${pid}/task/${t}/comm`, 'utf8').trim());
  assert.equal(readFileSync(`/proc/${pid}/task/${pid}/comm`, 'utf8').trim(), 'livechat-wsd', 'the main thread (the loop)');
  const count = (n) => names.filter((x) => x === n).length;
  for (const n of ['wsd-writer', 'wsd-consumer', 'wsd-pub-stored', 'wsd-pub-ephem']) assert.equal(count(n), 1, `${n} in ${names}`);
  const workers = names.filter((x) => x.startsWith('wsd-worker-')).sort();
  assert.deepEqual(workers, Array.from({ length: WORKERS }, (_, i) => `wsd-worker-${i}`), `${names}`);
});

test('GET /metrics answers only the addresses of metrics_allow', async () => {
  const refused = await get(S.nodes[0], '/metrics', '127.0.0.1');
  assert.equal(refused.status, 404);
  assert.doesNotMatch(refused.body, /livechat_wsd/);
  const m = await scrape(S.nodes[0]);
  const info = [...m].filter(([k]) => /^livechat_wsd_info\{node="n0",version="\d+\.\d+\.\d+"\}$/.test(k));
  assert.deepEqual(info.map(([, v]) => v), [1]);
  assert.equal(m.get('livechat_wsd_rabbitmq_up'), 1);
  assert.equal(m.get('livechat_wsd_draining'), 0);
});

test('rooms by status come from the resync: waiting counted from the start, engaged once the node is 30 s old', async () => {
  const node = S.nodes[0];   // no test before this one makes a room
  let m;
  await until(async () => { m = await scrape(node); return m.get('livechat_wsd_rooms{status="waiting"}') >= 0; },
    'the start-up resync counting the waiting rooms', 8000);
  assert.equal(m.get('livechat_wsd_rooms{status="waiting"}'), 0);
  // The engaged rooms are read only by a node up for two presence lifetimes (orphan adoption).
  assert.equal(m.get('livechat_wsd_rooms{status="engaged"}'), -1);
});

test('the counters move with a chat: connections, frames, stored messages, batches, bus, room commands', async () => {
  const node = S.nodes[0];
  const before = await scrape(node);
  const [u] = S.users('met', 1);
  const agent = await S.agent(node, u);
  const w = await S.connect(node, '/ws/widget');
  w.send({ type: 'hello' });
  await w.waitFor((f) => f.type === 'welcome');
  w.send({ type: 'request', name: 'Mia', ref: 'q' });
  const { room_id: rid } = await w.waitFor((f) => f.type === 'waiting');
  await agent.waitFor((f) => f.type === 'request_offered' && f.room.id === rid);
  agent.send({ type: 'accept', room_id: rid });
  await w.waitFor((f) => f.type === 'joined');
  for (let i = 0; i < 5; i++) {
    w.send({ type: 'message', id: `w${i}`, text: `w ${i}` });
    agent.send({ type: 'message', room_id: rid, id: `a${i}`, text: `a ${i}` });
  }
  await agent.waitFor((f) => f.type === 'message' && f.message.text === 'w 4');
  await w.waitFor((f) => f.type === 'message' && f.message.text === 'a 4');
  // Typing goes on the publisher's ephemeral lane, timed apart from the stored messages.
  for (const state of [true, false, true]) {
    agent.send({ type: 'typing', room_id: rid, state });
    await w.waitFor((f) => f.type === 'typing' && f.state === state);
  }

  // A typing frame may reach the widget before its publisher has the broker's confirm.
  const typed = 'livechat_wsd_bus_ephemeral_publish_seconds_count';
  const after = await until(async () => {
    const m = await scrape(node);
    return m.get(typed) - before.get(typed) >= 3 ? m : null;
  }, 'the typing frames confirmed');
  const moved = (k) => (after.get(k) ?? NaN) - (before.get(k) ?? NaN);
  assert.equal(after.get('livechat_wsd_connections{kind="agent"}'), 1);
  assert.equal(after.get('livechat_wsd_connections{kind="widget"}'), 1);
  assert.equal(after.get('livechat_wsd_followed{what="agents"}'), 1);
  assert.equal(after.get('livechat_wsd_followed{what="customers"}'), 1);
  // hello, request, 5 messages from the widget; accept and 5 messages from the agent.
  assert.ok(moved('livechat_wsd_frames_received_total') >= 13, `frames in: ${moved('livechat_wsd_frames_received_total')}`);
  assert.ok(moved('livechat_wsd_frames_sent_total') >= 22, `frames out: ${moved('livechat_wsd_frames_sent_total')}`);
  assert.ok(moved('livechat_wsd_store_messages_stored_total') >= 10);
  assert.ok(moved('livechat_wsd_store_operations_total{op="insert_many"}') >= 1);
  assert.ok(moved('livechat_wsd_store_batch_documents_total') >= moved('livechat_wsd_store_operations_total{op="insert_many"}'));
  assert.ok(moved('livechat_wsd_store_operation_seconds_total{op="insert_many"}') > 0);
  assert.ok(moved('livechat_wsd_bus_publish_seconds_count') >= 10, 'every message was published');
  assert.ok(moved('livechat_wsd_bus_confirm_seconds_count') >= 1);
  assert.ok(after.get('livechat_wsd_bus_publish_seconds_sum') > before.get('livechat_wsd_bus_publish_seconds_sum'));
  assert.equal(moved(typed), 3, 'the three typing frames, on their lane');
  assert.ok(moved('livechat_wsd_bus_ephemeral_publish_seconds_sum') > 0);
  // The stored batches, deliveries and room commands came back to the loop through its posts.
  assert.ok(moved('livechat_wsd_loop_post_wait_seconds_count') >= 10,
    `posts run by the loop: ${moved('livechat_wsd_loop_post_wait_seconds_count')}`);
  assert.equal(after.get('livechat_wsd_loop_post_wait_seconds_bucket{le="0.0001"}') !== undefined, true,
    'buckets from 0.1 ms');
  const cmds = ['local', 'broker', 'rerouted', 'direct'].reduce((n, p) => n + moved(`livechat_wsd_room_commands_total{path="${p}"}`), 0);
  assert.ok(cmds >= 6, `room commands: ${cmds}`);   // accept and the agent's 5 messages
  assert.ok(after.has('livechat_wsd_bus_publish_queue') && after.has('livechat_wsd_worker_jobs'));

  const h = JSON.parse((await get(node, '/health')).body);
  assert.equal(h.connections, 2);
  agent.close();
  w.close();
});

// A returning customer's open reads their pointer and previous room, and the head of their
// recent's open block (on FerretDB 1.24 scans that grow with the customers and messages
// stored): the room writer leaves both to workers and goes on with the others. The customer's
// messages wait for their room, and keep their order.
test("a returning customer's room opens on a worker: their messages, published at once, keep their order", async () => {
  const node = S.nodes[0];
  await gw.publish('request_agent', 'ria', { customer_name: 'Ria' });
  const w1 = await gw.waitFor((m) => m.type === 'request_waiting' && m.customer_id === 'ria');
  await gw.publish('customer_left', 'ria');
  await gw.waitFor((m) => m.type === 'session_ended' && m.room_id === w1.room_id);
  const before = await scrape(node);

  await Promise.all([
    gw.publish('request_agent', 'ria', { customer_name: 'Ria' }),
    ...Array.from({ length: 5 }, (_, i) =>
      gw.publish('customer_message', 'ria', { text: `again ${i}` }, `ria-again-${i}`)),
    gw.publish('request_agent', 'neo', { customer_name: 'Neo' }),
    gw.publish('customer_left', 'ria'),
  ]);
  const w2 = await gw.waitFor((m) => m.type === 'request_waiting' && m.customer_id === 'ria' &&
                                     m.room_id !== w1.room_id);
  await gw.waitFor((m) => m.type === 'request_waiting' && m.customer_id === 'neo');
  await gw.waitFor((m) => m.type === 'session_ended' && m.room_id === w2.room_id);

  const stored = S.fixture('messages', w2.room_id).sort((a, b) => a.seq - b.seq);
  assert.equal(stored[0].sender, 'system', 'the waiting text first');
  assert.deepEqual(stored.filter((m) => m.sender === 'customer').map((m) => m.text),
                   [0, 1, 2, 3, 4].map((i) => `again ${i}`));
  const after = await scrape(node);
  const moved = (k) => (after.get(k) ?? NaN) - (before.get(k) ?? NaN);
  assert.equal(moved('livechat_wsd_writer_worker_reads_total{what="open"}'), 1, 'ria only: neo is new');
  // Ria's first chat left a count in the middle of a block (its waiting and end texts).
  assert.equal(moved('livechat_wsd_writer_worker_reads_total{what="head"}'), 1);
});

// customer_left and customer_typing of a customer the writer does not know look for their room
// on a worker too; of one whose last room the writer closed, without any read.
test("the open room of a customer the writer does not know is looked for on a worker; of one it closed, not at all", async () => {
  const node = S.nodes[0];
  const reads = async () => {
    const m = await scrape(node);
    return ['open', 'find', 'head'].map((k) => m.get(`livechat_wsd_writer_worker_reads_total{what="${k}"}`));
  };
  const [o0, f0] = await reads();
  await gw.publish('customer_typing', 'zed', { state: true });
  await until(async () => (await reads())[1] === f0 + 1, "zed's room looked for on a worker");

  // Kai's room, opened and closed by this writer: his leaving again and his typing read nothing.
  await gw.publish('request_agent', 'kai', { customer_name: 'Kai' });
  const w = await gw.waitFor((m) => m.type === 'request_waiting' && m.customer_id === 'kai');
  await gw.publish('customer_left', 'kai');
  await gw.waitFor((m) => m.type === 'session_ended' && m.room_id === w.room_id);
  await gw.publish('customer_typing', 'kai', { state: true });
  await gw.publish('customer_left', 'kai');
  // Items of one writer run in order: once a later customer's request is answered, Kai's
  // were taken.
  await gw.publish('request_agent', 'lea', { customer_name: 'Lea' });
  await gw.waitFor((m) => m.type === 'request_waiting' && m.customer_id === 'lea');
  const [o1, f1] = await reads();
  assert.equal(f1, f0 + 1, 'no read for kai');
  assert.equal(o1, o0, 'kai, zed and lea opened nothing on a worker (kai and lea are new)');
});
