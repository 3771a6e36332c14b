// SPDX-License-Identifier: MIT
// Room commands of the active writer's own node stay in the process (docs/topology.md, "Room
// commands"): an agent on the node that consumes the inbound queue gets its message stored once,
// acked and sent to the gateway without a room command on the broker (a spy queue bound to
// <prefix>.inbound with the commands' routing key sees none); a node that becomes the active
// consumer (the other one was killed) switches to the local path; a node that loses RabbitMQ while
// its agent's messages wait for its writer loses none and stores none twice, and the commands its
// writer had not staged yet (held up by a frozen database) go to the new active consumer through
// the broker. A private FerretDB (private.mjs), which the last test freezes (SIGSTOP).
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { Stack, sleep, until } from './harness.mjs';
import { Gateway } from './gateway.mjs';
import { PrivateFerret } from './private.mjs';
import amqp from 'amqplib';

const ferret = new PrivateFerret();
let S, gw, spyConn, spyCh;
let spied = 0;

test.before(async () => {
  await ferret.start();
  S = new Stack('hop', { mongo: ferret.url });
  await S.start({ nodes: 2, settings: { reconnect_grace: 30 } });
  gw = await new Gateway(S.prefix).start();
  // Every room command published to the inbound exchange is copied here too.
  spyConn = await amqp.connect(process.env.LIVECHAT_AMQP_URL);
  spyCh = await spyConn.createChannel();
  const q = await spyCh.assertQueue('', { exclusive: true });
  await spyCh.bindQueue(q.queue, `${S.prefix}.inbound`, 'wsd.room');
  await spyCh.consume(q.queue, (m) => {
    if (m && JSON.parse(m.content.toString()).type === 'wsd_room_append') spied++;
  }, { noAck: true });
});
test.after(async () => {
  if (ferret.proc && !ferret.proc.exited) ferret.proc.kill('SIGCONT');
  await spyConn?.close();
  await gw?.close();
  await S?.stop();
  await ferret.stop();
});

// A room of customer cid engaged with an agent on node.
async function engaged(node, prefix, cid) {
  const [u] = S.users(prefix, 1);
  const agent = await S.agent(node, u);
  await gw.publish('request_agent', cid, { customer_name: cid });
  const w = await gw.waitFor((m) => m.type === 'request_waiting' && m.customer_id === cid);
  await agent.waitFor((f) => f.type === 'request_offered' && f.room.id === w.room_id);
  agent.send({ type: 'accept', room_id: w.room_id });
  await agent.waitFor((f) => f.type === 'accepted' && f.room.id === w.room_id);
  return { agent, rid: w.room_id };
}

// Send ids until each one is acked, re-sending (same id) those answered unavailable or busy, as
// clients do (docs/websocket.md, "When a server is down").
// gap: milliseconds between two first sends (0: all at once).
async function sendAll(agent, rid, ids, gap = 0, ms = 60000) {
  const acked = new Set();
  const end = Date.now() + ms;
  const sent = new Map();
  for (const id of ids) {
    agent.send({ type: 'message', room_id: rid, id, text: `t-${id}` });
    sent.set(id, 0);
    if (gap) await sleep(gap);
  }
  while (acked.size < ids.length) {
    if (Date.now() > end) throw new Error(`not acked: ${ids.filter((i) => !acked.has(i)).join(' ')}`);
    let i = 0;
    for (const f of agent.frames) {
      i++;
      if (f.type === 'ack' && sent.has(f.id)) acked.add(f.id);
      if (f.type === 'error' && sent.has(f.id) && !acked.has(f.id) && f._seen === undefined) {
        assert.ok(['unavailable', 'busy'].includes(f.code), JSON.stringify(f));
        f._seen = i;
        agent.send({ type: 'message', room_id: rid, id: f.id, text: `t-${f.id}` });
      }
    }
    await sleep(50);
  }
  return acked;
}

// The broker closes every AMQP connection of node (its consumers' channels go with them).
async function closeConnections(node) {
  const ports = execFileSync('ss', ['-Htnp', 'dport = :5672'], { encoding: 'utf8' }).split('\n')
    .filter((l) => l.includes(`pid=${node.proc.pid},`))
    .map((l) => l.trim().split(/\s+/)[3]);
  assert.ok(ports.length >= 2, `n${node.i}'s connections: ${ports}`);
  const conns = execFileSync('rabbitmqctl', ['-q', 'list_connections', 'name', 'pid'], { encoding: 'utf8' })
    .split('\n').map((l) => l.split('\t')).filter(([name]) => ports.some((p) => name === `${p} -> 127.0.0.1:5672`));
  assert.equal(conns.length, ports.length, `the broker's side of n${node.i}'s connections: ${JSON.stringify(conns)}`);
  await Promise.all(conns.map(([, pid]) =>
    promisify(execFile)('rabbitmqctl', ['-q', 'close_connection', pid, `test: n${node.i} loses the broker`])));
}

function storedOnce(rid, ids) {
  const texts = S.fixture('messages', rid).filter((m) => m.sender === 'agent').map((m) => m.text);
  for (const id of ids)
    assert.equal(texts.filter((t) => t === `t-${id}`).length, 1, `t-${id} stored once (${texts.length} stored)`);
}

test('an agent message on the active writer\'s node is stored once, acked and sent on, with no room command on the broker', async () => {
  const { agent, rid } = await engaged(S.nodes[0], 'hopa', 'hop-a');   // n0 consumed first: active
  const ids = Array.from({ length: 10 }, (_, i) => `a${i}`);
  await sendAll(agent, rid, ids);
  for (const id of ids)
    await gw.waitFor((m) => m.type === 'agent_message' && m.room_id === rid && m.text === `t-${id}`);
  storedOnce(rid, ids);
  const acks = agent.all((f) => f.type === 'ack');
  for (let i = 1; i < acks.length; i++) assert.ok(acks[i].message.seq > acks[i - 1].message.seq);
  // Sent twice (a client's re-send): the writer answers with the stored message, stored once.
  agent.send({ type: 'message', room_id: rid, id: 'a0', text: 't-a0' });
  await until(() => agent.all((f) => f.type === 'ack' && f.id === 'a0').length === 2, 'the second ack');
  storedOnce(rid, ['a0']);
  await sleep(300);   // what would have gone through the broker reaches the spy in this time
  assert.equal(spied, 0, 'no room command went through the broker (the join text neither)');
});

test('a node that loses RabbitMQ while its agent\'s messages wait for its writer loses none and stores none twice', async () => {
  const { agent, rid } = await engaged(S.nodes[0], 'hopb', 'hop-b');
  // Messages one every 5 ms, before, during and after n0 loses the broker.
  const ids = Array.from({ length: 1000 }, (_, i) => `b${i}`);
  const done = sendAll(agent, rid, ids, 5);
  await sleep(200);
  // Close n0's AMQP connections from the broker's side: its inbound channel goes, so n1 becomes
  // the active consumer while n0's commands wait; they are handed back and published, or stored
  // by n0 itself while it has no broker (docs/topology.md).
  await closeConnections(S.nodes[0]);
  assert.ok(!agent.find((f) => f.type === 'ack' && f.id === ids[ids.length - 1]), 'messages still being sent');
  await done;
  S.nodes[0].proc.kill('SIGUSR1');   // its room command counters, in the log at info level
  storedOnce(rid, ids);
  for (const id of ids)
    await gw.waitFor((m) => m.type === 'agent_message' && m.room_id === rid && m.text === `t-${id}`, id, 20000);
});

test('local commands the writer has not staged when its node stops being the active consumer go through the broker, stored once', async () => {
  // n1 took the inbound queue over in the test before: n0 (consuming again) gets it back, and
  // knows from its next delivery (the request below).
  await closeConnections(S.nodes[1]);
  await sleep(500);
  const { agent, rid } = await engaged(S.nodes[0], 'hopd', 'hop-d');
  await sendAll(agent, rid, ['d-warm']);
  const before = spied;
  // The database stops answering: n0's writer blocks in its first read or insert, and the next
  // messages wait in its queue, unstaged.
  ferret.proc.kill('SIGSTOP');
  const ids = Array.from({ length: 10 }, (_, i) => `d${i}`);
  for (const id of ids) { agent.send({ type: 'message', room_id: rid, id, text: `t-${id}` }); await sleep(20); }
  await sleep(300);
  assert.equal(spied, before, 'the commands wait in n0\'s writer, not on the broker');
  await closeConnections(S.nodes[0]);   // n1 becomes the active consumer
  await sleep(500);
  ferret.proc.kill('SIGCONT');
  await sendAll(agent, rid, ids);
  storedOnce(rid, ['d-warm', ...ids]);
  assert.equal(agent.all((f) => f.type === 'error').length, 0, 'every message acked at its first send');
  await until(() => spied > before, 'the unstaged commands handed back and published to the inbound queue');
  S.nodes[0].proc.kill('SIGUSR1');   // its counters (rerouted=...), in the log at info level
  await sleep(1200);
});

test('a node that becomes the active consumer after the other was killed takes its commands in process', async () => {
  const { agent, rid } = await engaged(S.nodes[1], 'hopc', 'hop-c');
  S.nodes[0].proc.kill('SIGKILL');
  await until(() => S.nodes[0].exited, 'n0 to die');
  // The first commands may go through the broker (n1 learns it is active from a delivery).
  await sendAll(agent, rid, ['c0', 'c1', 'c2']);
  await gw.publish('customer_message', 'hop-c', { text: 'still there?' });
  await agent.waitFor((f) => f.type === 'message' && f.message.text === 'still there?');
  await sleep(300);
  const before = spied;
  const ids = Array.from({ length: 10 }, (_, i) => `c${i + 3}`);
  await sendAll(agent, rid, ids);
  for (const id of ids)
    await gw.waitFor((m) => m.type === 'agent_message' && m.room_id === rid && m.text === `t-${id}`);
  storedOnce(rid, ['c0', 'c1', 'c2', ...ids]);
  await sleep(300);
  assert.equal(spied, before, 'n1, now the active consumer, sent no room command through the broker');
});
