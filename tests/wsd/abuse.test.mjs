// SPDX-License-Identifier: MIT
// Abuse limits of livechat-wsd (issue 11, item 5), with legitimate users working throughout:
// a widget whose room holds 5,000 long messages reloads and gets a bounded welcome at once,
// pages through the rest with history while an agent's work on another room goes on; one client
// address holds at most ws_max_conns_per_address websockets (HTTP 429 beyond), other addresses
// and a trusted proxy's X-Forwarded-For clients still connect.
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { Stack, until } from './harness.mjs';

// 127.0.0.2 plays the web server in front of wsd: its X-Forwarded-For is believed.
const S = new Stack('abuse');
const PAGE_BYTES = 262144, PAGE_MESSAGES = 100, LONG = 4000, COUNT = 5000;

test.before(async () => { await S.start({ nodes: 2, env: { LIVECHAT_TRUSTED_PROXIES: '127.0.0.2' } }); });
test.after(async () => { await S.stop(); });

// The broker closes every AMQP connection of node: it reconnects and catches up (catchup.c).
async function breakBus(node) {
  const ports = execFileSync('ss', ['-Htnp', 'dport = :5672'], { encoding: 'utf8' }).split('\n')
    .filter((l) => l.includes(`pid=${node.proc.pid},`))
    .map((l) => l.trim().split(/\s+/)[3]);
  const conns = execFileSync('rabbitmqctl', ['-q', 'list_connections', 'name', 'pid'], { encoding: 'utf8' })
    .split('\n').map((l) => l.split('\t')).filter(([name]) => ports.some((p) => name === `${p} -> 127.0.0.1:5672`));
  assert.ok(conns.length >= 2, `n${node.i}'s connections: ${JSON.stringify(conns)}`);
  await Promise.all(conns.map(([, pid]) =>
    promisify(execFile)('rabbitmqctl', ['-q', 'close_connection', pid, `test: n${node.i} loses the broker`])));
}

// A client that also records the size in bytes of every frame it receives, by type.
async function open(node, p, headers = {}, opts = {}) {
  const c = await S.connect(node, p, headers, opts);
  c.sizes = [];
  c.ws.on('message', (d) => { c.sizes.push({ type: JSON.parse(d.toString()).type, bytes: d.length, at: Date.now() }); });
  return c;
}

async function hello(c, h = {}) {
  c.send({ type: 'hello', ...h });
  return c.waitFor((f) => f.type === 'welcome', 'welcome', 15000);
}

test('a widget with 5,000 long messages reloads at once, pages through them, and an agent is not held up', async () => {
  const [u] = S.users('abag', 1);
  const agent = await S.agent(S.nodes[0], u);

  // The agent's own conversation on another room.
  const other = await open(S.nodes[0], '/ws/widget');
  const ow = await hello(other);
  other.send({ type: 'request', name: 'Olga', ref: 'q' });
  const offer = await agent.waitFor((f) => f.type === 'request_offered' && f.room.customer_id === ow.customer_id);
  agent.send({ type: 'accept', room_id: offer.room.id });
  await agent.waitFor((f) => f.type === 'accepted' && f.room.id === offer.room.id);

  // The customer with the long conversation.
  let w = await open(S.nodes[1], '/ws/widget');
  const first = await hello(w);
  w.send({ type: 'request', name: 'Lena', ref: 'q' });
  const rid = (await w.waitFor((f) => f.type === 'waiting')).room_id;
  const t0 = Date.now();
  const filled = S.fixture('fill', rid, COUNT, LONG);
  console.log(`# stored ${COUNT} messages of ${LONG} characters in ${Date.now() - t0} ms`);
  w.terminate();

  // Reload: no last_seq. The welcome carries the newest page, within the bounds.
  w = await open(S.nodes[1], '/ws/widget');
  const t1 = Date.now();
  const welcome = await hello(w, { secret: first.secret });
  const welcomeMs = Date.now() - t1;
  const wsize = w.sizes.find((s) => s.type === 'welcome').bytes;
  console.log(`# welcome: ${welcome.messages.length} messages, ${wsize} bytes, ${welcomeMs} ms`);
  assert.equal(welcome.room.id, rid);
  assert.equal(welcome.has_more, true);
  assert.ok(welcome.messages.length >= 1 && welcome.messages.length <= PAGE_MESSAGES);
  assert.ok(wsize <= PAGE_BYTES + 4096, `welcome of ${wsize} bytes`);
  assert.equal(welcome.messages.at(-1).seq, filled.last, 'the newest message first of all');

  // The node loses RabbitMQ: its catch-up brings what was stored meanwhile (a message stored
  // and published nowhere), not the thousands below the page.
  const seen = w.sizes.length;
  S.fixture('append', rid, 'while-away', 'agent', 'Filler', 'stored while the node was away');
  await breakBus(S.nodes[1]);
  await w.waitFor((f) => f.type === 'message' && f.message.id === 'while-away', 'the catch-up', 30000);
  assert.equal(w.closed, null);
  const caught = w.all((f) => f.type === 'message' && f.message.seq < welcome.messages[0].seq);
  assert.equal(caught.length, 0, 'nothing below the page comes by the catch-up');
  console.log(`# catch-up after a lost broker: ${w.sizes.length - seen} frames`);

  // Page back to the start, one page per request; the agent writes meanwhile.
  const seqs = new Set(welcome.messages.map((m) => m.seq));
  let before = welcome.messages[0].seq, more = welcome.has_more, pages = 0, ackAt = null;
  const t2 = Date.now();
  while (more) {
    w.send({ type: 'history', before_seq: before, ref: `p${pages}` });
    const page = await w.waitFor((f) => f.type === 'history' && f.ref === `p${pages}`, `page ${pages}`, 15000);
    assert.equal(page.room_id, rid);
    assert.ok(page.messages.length >= 1 && page.messages.length <= PAGE_MESSAGES);
    assert.ok(page.messages.every((m) => m.seq < before), 'older than asked');
    for (const m of page.messages) seqs.add(m.seq);
    before = page.messages[0].seq;
    more = page.has_more;
    pages++;
    if (pages === 2) {
      const sentAt = Date.now();
      agent.send({ type: 'message', room_id: offer.room.id, id: 'during', text: 'still here' });
      agent.waitFor((f) => f.type === 'ack' && f.id === 'during', 'the agent ack', 15000)
        .then(() => { ackAt = Date.now(); console.log(`# agent ack after ${ackAt - sentAt} ms, while the widget paged`); });
    }
  }
  const pagedAt = Date.now();
  const biggest = Math.max(...w.sizes.filter((s) => s.type === 'history').map((s) => s.bytes));
  console.log(`# ${pages} history pages in ${pagedAt - t2} ms, largest ${biggest} bytes`);
  assert.ok(biggest <= PAGE_BYTES + 4096, `history frame of ${biggest} bytes`);
  assert.ok(ackAt !== null && ackAt < pagedAt, 'the agent got its ack before the widget had paged through');
  // Every one stored: the waiting text, then the 5,000 (above the seqs the room's writer took).
  assert.ok(seqs.has(1), 'the waiting text paged');
  for (let s = filled.first; s <= filled.last; s++) assert.ok(seqs.has(s), `seq ${s} paged`);
  assert.equal(seqs.size, COUNT + 1);
  await other.waitFor((f) => f.type === 'message' && f.message.text === 'still here');

  // A reconnect from a floor far below gets the newest page above it, bounded the same way.
  const w2 = await open(S.nodes[0], '/ws/widget');
  const again = await hello(w2, { secret: first.secret, last_seq: filled.first + 10 });
  console.log(`# reconnect from seq ${filled.first + 10}: ${again.messages.length} messages, has_more ${again.has_more}`);
  assert.equal(again.has_more, true);
  assert.ok(again.messages.some((m) => m.seq === filled.last), "the newest filled one");
  assert.ok(again.messages.every((m) => m.seq > filled.first + 10));
  assert.ok(w2.sizes.find((s) => s.type === 'welcome').bytes <= PAGE_BYTES + 4096);
  w2.terminate();

  // One page at a time per connection: a second request while one is loading is told busy.
  w.send({ type: 'history', before_seq: filled.last, ref: 'x1' });
  w.send({ type: 'history', before_seq: filled.last, ref: 'x2' });
  assert.equal((await w.waitFor((f) => f.ref === 'x2')).code, 'busy');
  assert.equal((await w.waitFor((f) => f.ref === 'x1')).type, 'history');

  // The live conversation goes on.
  w.send({ type: 'message', id: 'after', text: 'thanks', ref: 'm' });
  await w.waitFor((f) => f.type === 'ack' && f.id === 'after');
  for (const c of [w, other, agent]) c.terminate();
});

test('one address holds at most 64 websockets; others, and a trusted proxy\'s other clients, still connect', async () => {
  const node = S.nodes[1];
  for (const c of S.clients) c.terminate();   // whatever the test before left open
  // A client naming another address in X-Forwarded-For is not believed: it is not a proxy.
  // (Until the connections of the test before are seen gone.)
  let held = [];
  await until(async () => {
    for (const c of held) c.terminate();
    held = [];
    try {
      for (let i = 0; i < 64; i++) held.push(await S.connect(node, '/ws/widget', { 'X-Forwarded-For': `198.51.100.${i}` }));
      return true;
    } catch { return false; }
  }, '64 websockets from 127.0.0.1');
  await assert.rejects(S.connect(node, '/ws/widget', { 'X-Forwarded-For': '198.51.100.200' }), /HTTP 429/);

  // A legitimate user on the same address keeps working.
  held[0].send({ type: 'hello' });
  await held[0].waitFor((f) => f.type === 'welcome');
  // Another address connects; so does a client behind the trusted proxy.
  const other = await S.connect(node, '/ws/widget', {}, { localAddress: '127.0.0.3' });
  other.send({ type: 'hello' });
  await other.waitFor((f) => f.type === 'welcome');
  const proxied = [];
  for (let i = 0; i < 64; i++) {
    proxied.push(await S.connect(node, '/ws/widget', { 'X-Forwarded-For': '203.0.113.9' }, { localAddress: '127.0.0.2' }));
  }
  await assert.rejects(S.connect(node, '/ws/widget', { 'X-Forwarded-For': '203.0.113.9' }, { localAddress: '127.0.0.2' }), /HTTP 429/);
  const next = await S.connect(node, '/ws/widget', { 'X-Forwarded-For': '203.0.113.10' }, { localAddress: '127.0.0.2' });
  next.send({ type: 'hello' });
  await next.waitFor((f) => f.type === 'welcome');

  // A closed connection frees its place.
  held.pop().close();
  await until(async () => {
    try { (await S.connect(node, '/ws/widget')).close(); return true; } catch { return false; }
  }, 'a place for 127.0.0.1 again');
  for (const c of [...held, ...proxied, other, next]) c.terminate();
});
