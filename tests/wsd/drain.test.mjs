// SPDX-License-Identifier: MIT
// SIGTERM drains a node (docs/operations.md, Signals): it refuses new websockets and answers
// /health 503 while it drains, closes every client with 1001, finishes the work under way and
// exits 0. During a two-way conversation the clients of the drained node reconnect to the other
// node as the dashboard and widget do (resume from what they hold, re-send what has no ack), and
// no message is lost or stored twice.
import test from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { Stack, freePort, sleep, until } from './harness.mjs';

const BUILD = process.env.LC_TOP_BUILDDIR || process.cwd();

const S = new Stack('drain');
const DRAIN_S = 4;
// A small widget page, so that the widget that moves always pages through history for what
// lies between its floor and the newest page (below).
const PAGE = 5;

test.before(async () => {
  await S.start({ nodes: 2, settings: { reconnect_grace: 20 },
                  env: { LIVECHAT_WSD_DRAIN_TIMEOUT: String(DRAIN_S),
                         LIVECHAT_WIDGET_PAGE_MESSAGES: String(PAGE) } });
});
test.after(async () => { await S.stop(); });

function health(node) {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port: node.port, path: '/health' }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, body: JSON.parse(body) }));
    }).on('error', reject);
  });
}

// The seqs a client holds of one room and its floor (docs/websocket.md, "resume").
class Held {
  constructor() { this.floor = 0; this.seqs = new Set(); }
  add(seq) {
    if (typeof seq !== 'number') return;
    this.seqs.add(seq);
    while (this.seqs.has(this.floor + 1)) this.floor += 1;
  }
}

// A widget customer in a room with an agent: its messages, acks and what it holds.
async function widgetChat(node, agent, name) {
  const w = await S.connect(node, '/ws/widget');
  w.send({ type: 'hello' });
  const { secret } = await w.waitFor((f) => f.type === 'welcome');
  w.send({ type: 'request', name, ref: 'q' });
  const { room_id: rid } = await w.waitFor((f) => f.type === 'waiting');
  await agent.waitFor((f) => f.type === 'request_offered' && f.room.id === rid);
  agent.send({ type: 'accept', room_id: rid });
  await agent.waitFor((f) => f.type === 'accepted' && f.room.id === rid);
  await w.waitFor((f) => f.type === 'joined');
  return { w, rid, secret };
}

const widgetSeq = (f) => (f.type === 'message' ? f.message?.seq : f.seq);

test('SIGTERM during a conversation: 1001 to its clients, they go on through the other node, nothing lost or stored twice, exit 0', async (t) => {
  const [n0, n1] = S.nodes;
  const [ua, ub] = S.users('dr', 2);
  // Room 1: widget W on n0, agent B on n1. Room 2: agent A on n0, widget V on n1.
  let a = await S.agent(n0, ua);
  const b = await S.agent(n1, ub);
  const one = await widgetChat(n0, b, 'Wanda');
  const two = await widgetChat(n1, a, 'Vera');
  let w = one.w;
  const v = two.w;

  const sent = { a: [], b: [], w: [], v: [] };
  let streaming = true;
  // Agents write every 40 ms, widgets every 150 ms (under their 10 frames a second).
  const stream = (key, ms, send) => (async () => {
    for (let i = 0; streaming; i++) {
      const id = `${key}${i}`;
      if (send(id)) sent[key].push(id);
      await sleep(ms);
    }
  })();
  const open = (c) => c.ws.readyState === 1;
  const streams = [
    stream('a', 40, (id) => open(a) && (a.send({ type: 'message', room_id: two.rid, id, text: id }), true)),
    stream('b', 40, (id) => (b.send({ type: 'message', room_id: one.rid, id, text: id }), true)),
    stream('w', 150, (id) => open(w) && (w.send({ type: 'message', id, text: id }), true)),
    stream('v', 150, (id) => (v.send({ type: 'message', id, text: id }), true)),
  ];
  // A failed assertion stops the writers too (else they keep the test running).
  try {
    await sleep(800);
    const t0 = Date.now();
    n0.proc.kill('SIGTERM');
    const closedA = await a.waitClosed(DRAIN_S * 1000);
    const closedW = await w.waitClosed(DRAIN_S * 1000);
    assert.equal(closedA.code, 1001);
    assert.equal(closedW.code, 1001);
    await until(() => n0.exited, 'n0 to exit', (DRAIN_S + 5) * 1000);
    assert.deepEqual(n0.exited, { code: 0, sig: null });
    t.diagnostic(`SIGTERM to exit: ${Date.now() - t0} ms`);

    // What each held on n0; then back through n1, resuming from the floor, re-sending what has
    // no ack with its id (what the dashboard and the widget do).
    const heldA = new Held(), heldW = new Held();
    const ackedA = new Set(), ackedW = new Set();
    const firstA = a.find((f) => f.type === 'accepted' && f.room.id === two.rid);
    firstA.history.forEach((m) => heldA.add(m.seq));
    for (const f of a.frames) {
      if (f.type === 'message' && f.room_id === two.rid) heldA.add(f.message.seq);
      if (f.type === 'ack' && f.room_id === two.rid) { heldA.add(f.message.seq); ackedA.add(f.id); }
    }
    for (const f of w.frames) {
      if (['waiting', 'joined', 'message'].includes(f.type) && f.room_id === one.rid) heldW.add(widgetSeq(f));
      if (f.type === 'ack' && f.id) ackedW.add(f.id);
    }
    const oldA = a, oldW = w;
    a = await S.agent(n1, ua);
    assert.deepEqual(a.find((f) => f.type === 'hello').rooms.map((r) => r.id), [two.rid]);
    a.send({ type: 'resume', rooms: [{ room_id: two.rid, last_seq: heldA.floor }], ref: 'r' });
    const resumed = await a.waitFor((f) => f.type === 'resumed' && f.ref === 'r');
    const resentA = sent.a.filter((id) => !ackedA.has(id));
    for (const id of resentA) a.send({ type: 'message', room_id: two.rid, id, text: id });
    // The widget's first reconnect waits half a second (htdocs/js/ws.js): B goes on writing.
    await sleep(500);
    w = await S.connect(n1, '/ws/widget');
    w.send({ type: 'hello', secret: one.secret, last_seq: heldW.floor });
    const welcome = await w.waitFor((f) => f.type === 'welcome');
    const resentW = sent.w.filter((id) => !ackedW.has(id));
    for (const id of resentW) w.send({ type: 'message', id, text: id });
    // welcome carries the newest page above W's floor; what lies below it comes by history, as
    // the shipped widget's "Earlier messages" brings it. W's floor stays below its first own
    // message since its last welcome (docs/websocket.md), so more than a page lies between the
    // floor and the newest, with messages W never saw among them (with widget_page_messages
    // 100, a drain that took a second did it).
    assert.equal(welcome.messages.length, PAGE);
    assert.equal(welcome.has_more, true);
    let historyPages = 0;
    for (let more = welcome.has_more, before = welcome.messages[0]?.seq;
         more && before > heldW.floor + 1; historyPages++) {
      const ref = `h${historyPages}`;
      w.send({ type: 'history', before_seq: before, ref });
      const page = await w.waitFor((f) => f.type === 'history' && f.ref === ref);
      assert.equal(page.room_id, one.rid);
      page.messages.forEach((m) => heldW.add(m.seq));
      more = page.has_more;
      before = page.messages[0]?.seq;
    }
    assert.ok(historyPages > 0);
    await sleep(600);
    streaming = false;
    await Promise.all(streams);
    // A last message each way in each room marks the end of what has to arrive.
    v.send({ type: 'message', id: 'v-last', text: 'v-last' });
    await a.waitFor((f) => f.type === 'message' && f.message.text === 'v-last', 'the last message of V');
    a.send({ type: 'message', room_id: two.rid, id: 'a-last', text: 'a-last' });
    await v.waitFor((f) => f.type === 'message' && f.message.text === 'a-last', 'the last message of A');
    w.send({ type: 'message', id: 'w-last', text: 'w-last' });
    await b.waitFor((f) => f.type === 'message' && f.message.text === 'w-last', 'the last message of W');
    b.send({ type: 'message', room_id: one.rid, id: 'b-last', text: 'b-last' });
    await w.waitFor((f) => f.type === 'message' && f.message.text === 'b-last', 'the last message of B');
    for (const k of ['a', 'w']) assert.ok(sent[k].length > 5, `${k} wrote before and after the drain`);
    t.diagnostic(`sent: a ${sent.a.length}, b ${sent.b.length}, w ${sent.w.length}, v ${sent.v.length}; ` +
                 `re-sent without an ack: a ${resentA.length}, w ${resentW.length}; ` +
                 `welcome: ${welcome.messages.length} messages, has_more ${welcome.has_more}, ` +
                 `${historyPages} history pages`);

    // Each sent message stored once, in its room.
    const check = (rid, sender, ids, idOf) => {
      const stored = S.fixture('messages', rid).filter((m) => m.sender === sender).map((m) => m.id);
      assert.equal(new Set(stored).size, stored.length, `${sender} messages of ${rid} stored once`);
      for (const id of ids) assert.ok(stored.includes(idOf(id)), `${id} stored`);
      assert.equal(stored.length, ids.length + 1, `${sender}: what was sent and the last one, nothing else`);
    };
    check(one.rid, 'agent', sent.b, (id) => `a-${ub.id}-${id}`);
    check(two.rid, 'agent', sent.a, (id) => `a-${ua.id}-${id}`);
    const custIdsOne = S.fixture('messages', one.rid).filter((m) => m.sender === 'customer').map((m) => m.id);
    for (const id of sent.w) assert.ok(custIdsOne.some((x) => x.endsWith(`-${id}`)), `${id} stored`);
    assert.equal(new Set(custIdsOne).size, custIdsOne.length);
    assert.equal(custIdsOne.length, sent.w.length + 1);
    const custIdsTwo = S.fixture('messages', two.rid).filter((m) => m.sender === 'customer').map((m) => m.id);
    assert.equal(new Set(custIdsTwo).size, custIdsTwo.length);
    assert.equal(custIdsTwo.length, sent.v.length + 1);

    // Each side got every message of the other: A across its two connections, W across its two.
    const storedTwo = S.fixture('messages', two.rid);
    [...resumed.messages.map((m) => m.seq),
     ...a.all((f) => f.type === 'message' && f.room_id === two.rid).map((f) => f.message.seq)].forEach((s) => heldA.add(s));
    assert.deepEqual(storedTwo.filter((m) => m.sender === 'customer' && !heldA.seqs.has(m.seq)).map((m) => m.text), []);
    const storedOne = S.fixture('messages', one.rid);
    welcome.messages.forEach((m) => heldW.add(m.seq));
    w.all((f) => f.type === 'message').forEach((f) => heldW.add(widgetSeq(f)));
    assert.deepEqual(storedOne.filter((m) => m.sender === 'agent' && !heldW.seqs.has(m.seq)).map((m) => m.text), []);
    // The clients on n1 never lost their connection.
    assert.equal(b.closed, null);
    assert.equal(v.closed, null);
    assert.ok(oldA.closed && oldW.closed);
  } finally {
    streaming = false;
  }
});

// A node whose MongoDB does not answer keeps its start-up job (lc_store_init, retried) under way:
// the drain waits for it until wsd_drain_timeout, which leaves time to see the node draining.
test('while it drains a node answers /health 503 and refuses new websockets; it exits 0 at wsd_drain_timeout', async () => {
  const port = await freePort();
  const env = { ...S.env, LIVECHAT_WSD_PORT: String(port), LIVECHAT_WSD_LISTEN: '127.0.0.1',
                LIVECHAT_WSD_NODE_ID: 'slow', LIVECHAT_LOG_LEVEL: 'info',
                LIVECHAT_MONGO_URI: `mongodb://127.0.0.1:${await freePort()}/?serverSelectionTimeoutMS=500` };
  let output = '';
  const proc = spawn(path.join(BUILD, 'wsd/livechat-wsd'), [], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  proc.stderr.on('data', (d) => { output += d; });
  const node = { port, exited: null };
  proc.on('exit', (code, sig) => { node.exited = { code, sig }; });
  try {
    // MongoDB is not part of health: RabbitMQ is up, the loop answers.
    const up = await until(async () => { try { const r = await health(node); return r.status === 200 && r; } catch { return false; } },
                           '/health 200', 20000);
    assert.deepEqual(up.body, { status: 'ok', rabbitmq: 'up', connections: 0 });
    proc.kill('SIGTERM');
    const h = await until(async () => { const r = await health(node); return r.status === 503 && r; }, '/health 503');
    assert.equal(h.body.status, 'draining');
    await assert.rejects(S.connect({ url: `ws://127.0.0.1:${port}` }, '/ws/widget'), /handshake refused: HTTP 503/);
    assert.equal(node.exited, null, 'still draining');
    await until(() => node.exited, 'the node to exit', (DRAIN_S + 10) * 1000);
    assert.deepEqual(node.exited, { code: 0, sig: null });
    assert.match(output, /draining: 0 connections, [1-9]\d* worker jobs, 0 accepts, 0 publishes left at the timeout/);
  } finally {
    if (!node.exited) proc.kill('SIGKILL');
  }
});
