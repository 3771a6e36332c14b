// SPDX-License-Identifier: MIT
// The product's promise under server restarts, with two wsd nodes on a PRIVATE RabbitMQ node and
// a PRIVATE FerretDB (private.mjs; the shared servers are never touched):
// (a) RabbitMQ restarts mid-conversation (stop_app/start_app, then kill -9 and start): what the
//     gateway and the agent send before, during and after the outage arrives exactly once, in
//     order, live (nobody reconnects), at the agent, the agent's other tab, the gateway and a
//     widget customer; an accept afterwards still has exactly one winner.
// (b) FerretDB is killed mid-conversation and started again on its data: the daemons stay up,
//     the gateway's messages stay unacked in the broker while the store is down and are stored
//     once, in order, afterwards; agent frames get what docs/websocket.md promises.
import test from 'node:test';
import assert from 'node:assert/strict';
import { Stack, sleep, until } from './harness.mjs';
import { Gateway } from './gateway.mjs';
import { PrivateRabbit, PrivateFerret } from './private.mjs';

const rabbit = new PrivateRabbit();
const ferret = new PrivateFerret();
let S, gw;

test.before(async () => {
  await rabbit.start();
  await ferret.start();
  S = new Stack('restart', { mongo: ferret.url, amqp: rabbit.url });
  await S.start({ nodes: 2 });
  gw = await new Gateway(S.prefix, 'test', rabbit.url).start();
});
test.after(async () => {
  await gw?.close();
  await S?.stop();
  await rabbit.stop();
  await ferret.stop();
});

async function engage(agent, customer) {
  await gw.publishRetry('request_agent', customer, { customer_name: customer.toUpperCase() });
  const w = await gw.waitFor((m) => m.type === 'request_waiting' && m.customer_id === customer);
  await agent.waitFor((f) => f.type === 'request_offered' && f.room.id === w.room_id);
  agent.send({ type: 'accept', room_id: w.room_id });
  await agent.waitFor((f) => f.type === 'accepted' && f.room.id === w.room_id);
  return w.room_id;
}

// The message frames of room rid a client got, in arrival order: every seq once, ascending.
function messagesOf(client, rid) {
  const ms = client.all((f) => f.type === 'message' && f.room_id === rid).map((f) => f.message);
  const seqs = ms.map((m) => m.seq);
  assert.equal(new Set(seqs).size, seqs.length, `duplicate seq: ${JSON.stringify(ms.map((m) => [m.seq, m.text]))}`);
  for (let i = 1; i < seqs.length; i++)
    assert.ok(seqs[i] > seqs[i - 1], `out of order: ${JSON.stringify(ms.map((m) => [m.seq, m.text]))}`);
  return ms;
}

// Each node's room command counters (docs/operations.md, Metrics): which path its commands took
// and what its writer took, to tell what else sits in the inbound queue when a count is off.
async function commandCounters() {
  const out = [];
  for (const n of S.nodes) {
    const text = await (await fetch(`http://127.0.0.1:${n.port}/metrics`)).text();
    out.push(`n${n.i}: ` + text.split('\n')
      .filter((l) => /^livechat_wsd_(room_commands_total|writer_commands_total|alone)\b/.test(l)).join(', '));
  }
  return out.join('; ');
}

async function say(agent, rid, id, text) {
  agent.send({ type: 'message', room_id: rid, id, text });
  return agent.waitFor((f) => f.type === 'ack' && f.id === id, `ack of ${id}`, 30000);
}

async function oneWinner(tag) {
  const users = S.users(`win${tag}`, 4);
  const agents = [];
  for (let i = 0; i < users.length; i++) agents.push(await S.agent(S.nodes[i % 2], users[i]));
  const cust = `win-${tag}`;
  await gw.publishRetry('request_agent', cust, { customer_name: 'W' });
  const w = await gw.waitFor((m) => m.type === 'request_waiting' && m.customer_id === cust, 'waiting', 20000);
  for (const a of agents) await a.waitFor((f) => f.type === 'request_offered' && f.room.id === w.room_id);
  for (const a of agents) a.send({ type: 'accept', room_id: w.room_id });
  const answers = [];
  for (const a of agents)
    answers.push((await a.waitFor((f) => (f.type === 'accepted' && f.room.id === w.room_id) ||
                                         (f.type === 'already_taken' && f.room_id === w.room_id))).type);
  assert.equal(answers.filter((t) => t === 'accepted').length, 1, JSON.stringify(answers));
  assert.equal(answers.filter((t) => t === 'already_taken').length, agents.length - 1);
  const room = S.fixture('room', w.room_id);
  assert.equal(room.status, 'engaged');
  // The winner ends the room: closing an engaged room's agent would start a grace period whose
  // end (texts stored through the writer) could fall into the next test's outage.
  const winner = agents[answers.indexOf('accepted')];
  winner.send({ type: 'end', room_id: w.room_id });
  await winner.waitFor((f) => f.type === 'ended' && f.room_id === w.room_id);
  for (const a of agents) a.close();
}

for (const [kind, tag] of [['stop_app and start_app', 'sa'], ['kill -9 and a new start', 'k9']]) {
  test(`RabbitMQ ${kind} mid-conversation: everything arrives once, in order, live; one winner after`, async () => {
    const [u] = S.users(`rb${tag}`, 1);
    const tab1 = await S.agent(S.nodes[0], u);
    const tab2 = await S.agent(S.nodes[1], u);
    const cust = `cust-${tag}`;
    const rid = await engage(tab1, cust);
    // The agent's other tab follows the room too (it resumes it, as the dashboard does).
    tab2.send({ type: 'resume', rooms: [{ room_id: rid, last_seq: 0 }], ref: 'r' });
    await tab2.waitFor((f) => f.type === 'resumed' && f.room_id === rid);
    // A widget customer on the other node, served by the same agent.
    const wdg = await S.connect(S.nodes[1], '/ws/widget');
    wdg.send({ type: 'hello' });
    await wdg.waitFor((f) => f.type === 'welcome');
    wdg.send({ type: 'request', name: 'Wanda', ref: 'q' });
    const waiting = await wdg.waitFor((f) => f.type === 'waiting');
    await tab1.waitFor((f) => f.type === 'request_offered' && f.room.id === waiting.room_id);
    tab1.send({ type: 'accept', room_id: waiting.room_id });
    await tab1.waitFor((f) => f.type === 'accepted' && f.room.id === waiting.room_id);
    await wdg.waitFor((f) => f.type === 'joined');
    const wrid = waiting.room_id;

    await gw.publishRetry('customer_message', cust, { text: 'c0' }, `${tag}-c0`);
    await say(tab1, rid, `${tag}-a0`, 'a0');
    await say(tab1, wrid, `${tag}-w0`, 'w0');
    await tab1.waitFor((f) => f.type === 'message' && f.message.text === 'c0');

    if (tag === 'sa') await rabbit.stopApp(); else await rabbit.kill();
    // During the outage: the gateway keeps trying (in order), the agent writes (stored, acked).
    const customer = (async () => {
      for (let i = 1; i <= 3; i++) await gw.publishRetry('customer_message', cust, { text: `c${i}` }, `${tag}-c${i}`);
    })();
    for (let i = 1; i <= 3; i++) await say(tab1, rid, `${tag}-a${i}`, `a${i}`);
    for (let i = 1; i <= 2; i++) await say(tab1, wrid, `${tag}-w${i}`, `w${i}`);
    await sleep(1500);
    if (tag === 'sa') await rabbit.startApp(); else await rabbit.boot();
    await customer;
    // After: both sides go on.
    for (let i = 4; i <= 5; i++) await gw.publishRetry('customer_message', cust, { text: `c${i}` }, `${tag}-c${i}`);
    await say(tab1, rid, `${tag}-a4`, 'a4');
    await say(tab1, wrid, `${tag}-w3`, 'w3');

    const T = 30000;
    await tab1.waitFor((f) => f.type === 'message' && f.message.text === 'c5', 'c5 at the agent', T);
    await tab2.waitFor((f) => f.type === 'message' && f.message.text === 'c5', 'c5 at the other tab', T);
    await tab2.waitFor((f) => f.type === 'message' && f.message.text === 'a4', 'a4 at the other tab', T);
    await wdg.waitFor((f) => f.type === 'message' && f.message.text === 'w3', 'w3 at the widget', T);
    await gw.waitFor((m) => m.type === 'agent_message' && m.text === 'a4', 'a4 at the gateway', T);
    await sleep(1500);   // anything late (a duplicate) would show now

    const custTexts = ['c0', 'c1', 'c2', 'c3', 'c4', 'c5'];
    const agentTexts = ['a0', 'a1', 'a2', 'a3', 'a4'];
    // The agent's tab: every customer message once, in order (its own came as acks).
    assert.deepEqual(messagesOf(tab1, rid).map((m) => m.text), custTexts);
    // The other tab: the customer's and the agent's messages, each once, in seq order.
    const both = messagesOf(tab2, rid).map((m) => m.text);
    assert.deepEqual(both.filter((t) => t.startsWith('c')), custTexts);
    assert.deepEqual(both.filter((t) => t.startsWith('a')), agentTexts);
    // The widget: the agent's messages once, in order.
    assert.deepEqual(messagesOf(wdg, wrid).map((m) => m.text), ['w0', 'w1', 'w2', 'w3']);
    // The gateway (which deduplicates on id, docs/gateway.md): every agent message, in seq order.
    const seen = new Map();
    for (const m of gw.all((x) => x.type === 'agent_message' && x.room_id === rid)) seen.set(m.id, m);
    const out = [...seen.values()].sort((x, y) => x.seq - y.seq).map((m) => m.text);
    assert.deepEqual(out, agentTexts);
    // Stored once each, in order.
    const stored = S.fixture('messages', rid).filter((m) => m.sender !== 'system').map((m) => m.text);
    assert.deepEqual(stored.filter((t) => t.startsWith('c')), custTexts);
    assert.deepEqual(stored.filter((t) => t.startsWith('a')), agentTexts);
    // Live: nobody reconnected, both daemons are up.
    for (const c of [tab1, tab2, wdg]) assert.equal(c.closed, null);
    for (const n of S.nodes) assert.equal(n.exited, null);

    await oneWinner(tag);
    tab1.send({ type: 'end', room_id: rid });
    await tab1.waitFor((f) => f.type === 'ended' && f.room_id === rid);
    tab1.send({ type: 'end', room_id: wrid });
    await wdg.waitFor((f) => f.type === 'ended');
    for (const c of [tab1, tab2, wdg]) c.close();
  });
}

test('FerretDB killed mid-conversation: nothing acked unstored, stored once in order after, chat goes on', async () => {
  const [u] = S.users('fdb', 1);
  const a = await S.agent(S.nodes[0], u);
  const rid = await engage(a, 'mona');
  const quiet = await engage(a, 'nina');
  await gw.publishRetry('customer_message', 'mona', { text: 'm0' }, 'mona-0');
  await a.waitFor((f) => f.type === 'message' && f.message.text === 'm0');

  const wdg = await S.connect(S.nodes[1], '/ws/widget');
  wdg.send({ type: 'hello' });
  await wdg.waitFor((f) => f.type === 'welcome');

  await ferret.kill();
  // A widget customer writing meanwhile is acked once the broker has it (stored later, in order).
  for (const id of ['wm1', 'wm2']) {
    wdg.send({ type: 'message', id, text: id });
    await wdg.waitFor((f) => f.type === 'ack' && f.id === id, `ack of ${id}`);
  }
  for (let i = 1; i <= 5; i++) await gw.publishRetry('customer_message', 'mona', { text: `m${i}` }, `mona-${i}`);
  // Agent frames while the store is down (docs/websocket.md): "unavailable", naming the message;
  // the client sends it again with the same id once the database is back.
  for (const [room, id] of [[quiet, 'n-1'], [rid, 'm-x']]) {
    a.send({ type: 'message', room_id: room, id, text: `to ${id}`, ref: id });
    const err = await a.waitFor((f) => f.type === 'error' && f.ref === id, `unavailable for ${id}`, 20000);
    assert.equal(err.code, 'unavailable');
    assert.equal(err.id, id);
    assert.equal(err.room_id, room);
  }
  await sleep(3000);
  const q = await rabbit.queue(`${S.prefix}.inbound`);
  // m1-m5 and wm1-wm2, unacked or waiting; the agent's two frames were answered, not queued.
  if (q.ready + q.unacked !== 7) q.counters = await commandCounters();
  assert.equal(q.ready + q.unacked, 7, `inbound queue while the store is down: ${JSON.stringify(q)}`);
  for (const n of S.nodes) assert.equal(n.exited, null, 'the daemons stay up');
  assert.equal(a.closed, null);

  await ferret.boot();
  await a.waitFor((f) => f.type === 'message' && f.message.text === 'm5', 'm5 after the store returned', 30000);
  assert.deepEqual(messagesOf(a, rid).map((m) => m.text), ['m0', 'm1', 'm2', 'm3', 'm4', 'm5']);
  const stored = S.fixture('messages', rid).filter((m) => m.sender === 'customer').map((m) => m.text);
  assert.deepEqual(stored, ['m0', 'm1', 'm2', 'm3', 'm4', 'm5']);
  await until(async () => { const r = await rabbit.queue(`${S.prefix}.inbound`); return r.ready + r.unacked === 0; },
              'the inbound queue to drain', 20000);
  const wwait = await wdg.waitFor((f) => f.type === 'waiting', 'the widget room', 20000);
  assert.deepEqual(S.fixture('messages', wwait.room_id).filter((m) => m.sender === 'customer').map((m) => m.text),
                   ['wm1', 'wm2']);

  // The refused messages re-sent with the same id are stored once (twice re-sent: one copy).
  await say(a, quiet, 'n-1', 'to n-1');
  await say(a, rid, 'm-x', 'to m-x');
  a.send({ type: 'message', room_id: quiet, id: 'n-1', text: 'to n-1' });
  await until(() => a.all((f) => f.type === 'ack' && f.id === 'n-1').length === 2, 'the second ack of n-1');
  assert.equal(S.fixture('messages', quiet).filter((m) => m.text === 'to n-1').length, 1);
  // The chat goes on both ways.
  await say(a, rid, 'm-y', 'still here');
  await gw.waitFor((m) => m.type === 'agent_message' && m.text === 'still here');
  await gw.publishRetry('customer_message', 'mona', { text: 'm6' }, 'mona-6');
  await a.waitFor((f) => f.type === 'message' && f.message.text === 'm6');
  assert.deepEqual(S.fixture('messages', rid).filter((m) => m.sender === 'agent').map((m) => m.text),
                   ['to m-x', 'still here']);
});
