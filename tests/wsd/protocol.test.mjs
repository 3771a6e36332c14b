// SPDX-License-Identifier: MIT
// The agent websocket refuses what it must: handshakes without credentials, bad or revoked
// sessions, users without chats permissions, malformed, oversized and forbidden frames (the
// connection and the daemon stay up); and a redelivered inbound message is stored and shown once.
import test from 'node:test';
import assert from 'node:assert/strict';
import { Stack, Client, sleep, until } from './harness.mjs';
import { Gateway } from './gateway.mjs';

const S = new Stack('proto');
let gw;

test.before(async () => {
  await S.start({ nodes: 2, sessionCheck: 1 });
  gw = await new Gateway(S.prefix).start();
});
test.after(async () => { await gw?.close(); await S.stop(); });

test('a handshake without a session cookie or bearer token is refused with 401', async () => {
  await assert.rejects(Client.open(`${S.nodes[0].url}/ws/agent`, {}), /HTTP 401/);
  // A token in the URL is not a credential.
  await assert.rejects(Client.open(`${S.nodes[0].url}/ws/agent?token=abc`, {}), /HTTP 401/);
  // Neither is a cookie of another name.
  await assert.rejects(Client.open(`${S.nodes[0].url}/ws/agent`, { Cookie: 'session=abc' }), /HTTP 401/);
  // Unknown paths are not served.
  await assert.rejects(Client.open(`${S.nodes[0].url}/ws/other`, {}), /HTTP 404/);
});

test('an unknown token gets unauthorized and close code 4401', async () => {
  const c = await S.connect(S.nodes[0], '/ws/agent', { Authorization: 'Bearer nope-not-a-session' });
  const e = await c.waitFor((f) => f.type === 'error');
  assert.equal(e.code, 'unauthorized');
  assert.equal((await c.waitClosed()).code, 4401);
});

test('the lc_session cookie authenticates', async () => {
  const [u] = S.users('cookie', 1);
  const c = await S.connect(S.nodes[1], '/ws/agent', { Cookie: `theme=dark; lc_session=${u.token}` });
  const h = await c.waitFor((f) => f.type === 'hello');
  assert.equal(h.user.id, u.id);
  c.close();
});

test('a user whose group has neither chats.accept nor chats.monitor is refused with 4403', async () => {
  S.fixture('group', 'readers', 'users.read');
  const [u] = S.users('reader', 1, 'readers');
  const c = await S.connect(S.nodes[0], '/ws/agent', { Authorization: `Bearer ${u.token}` });
  assert.equal((await c.waitFor((f) => f.type === 'error')).code, 'forbidden');
  assert.equal((await c.waitClosed()).code, 4403);
});

test('malformed, oversized and forbidden frames get error frames and the connection stays up', async () => {
  const [u] = S.users('bad', 1);
  const a = await S.agent(S.nodes[0], u);
  const cases = [
    ['not json', 'bad_json'],
    ['[1,2]', 'bad_json'],
    ['{"type":"nope"}', 'unknown_type'],
    ['{}', 'unknown_type'],
    ['{"type":"accept","room_id":42}', 'validation_failed'],
    ['{"type":"message","room_id":"abc","id":"has space","text":"x"}', 'validation_failed'],
    ['{"type":"message","room_id":"abc","id":"ok1","text":"x"}', 'not_found'],
    ['{"type":"watch","room_id":"abc"}', 'forbidden'],
    ['{"type":"end","room_id":"6565f0c2a1b2c3d4e5f60718"}', 'not_found'],
    ['{"type":"accept","room_id":"6565f0c2a1b2c3d4e5f60718"}', 'not_found'],
  ];
  for (const [i, [raw, code]] of cases.entries()) {
    const before = a.frames.length;
    a.send(raw);
    const e = await a.waitFor((f, j) => a.frames.indexOf(f) >= before && f.type === 'error', `error for ${raw}`);
    assert.equal(e.code, code, `${raw} -> ${JSON.stringify(e)} (#${i})`);
  }
  const before = a.frames.length;
  a.send(JSON.stringify({ type: 'message', room_id: 'abc', id: 'big', text: 'x'.repeat(20000) }));
  const big = await a.waitFor((f) => a.frames.indexOf(f) >= before && f.type === 'error', 'too_large');
  assert.equal(big.code, 'too_large');
  a.sendRaw(Buffer.from([1, 2, 3]), { binary: true });
  await a.waitFor((f) => f.type === 'error' && /binary/.test(f.message), 'binary refused');
  a.send({ type: 'ping', ref: 'still-up' });
  await a.waitFor((f) => f.type === 'pong' && f.ref === 'still-up');
  assert.equal(a.closed, null);
  assert.equal(S.nodes[0].exited, null);
});

test('a revoked session ends the connection', async () => {
  const [u] = S.users('revoke', 1);
  const a = await S.agent(S.nodes[1], u);
  S.fixture('revoke', u.token);
  const e = await a.waitFor((f) => f.type === 'error' && f.code === 'unauthorized', 'revocation', 6000);
  assert.match(e.message, /revoked/);
  assert.equal((await a.waitClosed()).code, 4401);
  // Deactivating the user has the same effect.
  const [v] = S.users('deact', 1);
  const b = await S.agent(S.nodes[0], v);
  S.fixture('deactivate', v.id);
  assert.equal((await b.waitClosed(6000)).code, 4401);
});

test('an inbound message delivered twice with the same id is stored and shown once', async () => {
  const [u] = S.users('dedup', 1);
  const a = await S.agent(S.nodes[0], u);
  await gw.publish('request_agent', 'dana', { customer_name: 'Dana' });
  const w = await gw.waitFor((m) => m.type === 'request_waiting' && m.customer_id === 'dana');
  await a.waitFor((f) => f.type === 'request_offered' && f.room.id === w.room_id);
  a.send({ type: 'accept', room_id: w.room_id });
  await a.waitFor((f) => f.type === 'accepted');
  const msg = await gw.publish('customer_message', 'dana', { text: 'only once' }, 'gw-fixed-id-1');
  await gw.publish('customer_message', 'dana', { text: 'only once' }, msg.id);
  await gw.publish('customer_message', 'dana', { text: 'after' });
  await a.waitFor((f) => f.type === 'message' && f.message.text === 'after');
  await sleep(300);
  const stored = S.fixture('messages', w.room_id).filter((m) => m.text === 'only once');
  assert.equal(stored.length, 1);
  assert.equal(stored[0].id, 'gw-fixed-id-1');
  // Shown once: the client keeps one message per seq (docs/websocket.md).
  const seqs = new Set(a.all((f) => f.type === 'message' && f.message.text === 'only once').map((f) => f.message.seq));
  assert.equal(seqs.size, 1);
  // A malformed inbound message is rejected; the daemon keeps serving.
  await gw.publishRaw(Buffer.from('{"type":"customer_message"'), 'broken-1');
  await gw.publish('customer_message', 'dana', { text: 'still works' });
  await a.waitFor((f) => f.type === 'message' && f.message.text === 'still works');
});

// Review #1/#2: the rooms a connection is still accepting or resuming are not its rooms yet.
async function engagedRoom(customer, owner, notRoom = null) {
  await gw.publish('request_agent', customer, { customer_name: customer });
  const w = await gw.waitFor((m) => m.type === 'request_waiting' && m.customer_id === customer && m.room_id !== notRoom);
  await owner.waitFor((f) => f.type === 'request_offered' && f.room.id === w.room_id);
  owner.send({ type: 'accept', room_id: w.room_id, ref: `acc-${customer}` });
  await owner.waitFor((f) => f.type === 'accepted' && f.ref === `acc-${customer}`);
  return w.room_id;
}

// Send a message until it is answered with something other than unavailable (the documented retry).
async function sendMessage(c, frame) {
  for (let i = 0; i < 20; i++) {
    const ref = `${frame.id}-${i}`;
    c.send({ ...frame, ref });
    const f = await c.waitFor((x) => x.ref === ref && (x.type === 'ack' || x.type === 'error'), `answer to ${ref}`);
    if (f.type === 'ack' || f.code !== 'unavailable') return f;
    await sleep(200);
  }
  throw new Error('still unavailable');
}

test('another agent cannot write into a room by resuming or accepting it and messaging at once', async () => {
  const [ua, ub] = S.users('own', 2);
  const a = await S.agent(S.nodes[0], ua);
  const b = await S.agent(S.nodes[1], ub);
  const rid = await engagedRoom('frank', a);

  // resume + message in one tick
  b.send({ type: 'resume', rooms: [{ room_id: rid, last_seq: 0 }], ref: 'r1' });
  b.send({ type: 'message', room_id: rid, id: 'evil1', text: 'INJECTED resume', ref: 'm1' });
  b.send({ type: 'typing', room_id: rid, state: true, ref: 't1' });
  const m1 = await b.waitFor((f) => f.ref === 'm1' && f.type === 'error', 'error for m1');
  assert.ok(['unavailable', 'forbidden'].includes(m1.code), JSON.stringify(m1));
  const r1 = await b.waitFor((f) => f.ref === 'r1' && f.type === 'error');
  assert.equal(r1.code, 'forbidden');
  assert.equal(r1.room_id, rid, 'the error answering a resume item names its room');
  assert.equal((await sendMessage(b, { type: 'message', room_id: rid, id: 'evil1', text: 'INJECTED resume' })).code, 'forbidden');

  // accept (already taken) + message in one tick
  b.send({ type: 'accept', room_id: rid, ref: 'a2' });
  b.send({ type: 'message', room_id: rid, id: 'evil2', text: 'INJECTED accept', ref: 'm2' });
  const m2 = await b.waitFor((f) => f.ref === 'm2' && f.type === 'error', 'error for m2');
  assert.ok(['unavailable', 'forbidden'].includes(m2.code), JSON.stringify(m2));
  await b.waitFor((f) => f.ref === 'a2' && f.type === 'already_taken');
  assert.equal((await sendMessage(b, { type: 'message', room_id: rid, id: 'evil2', text: 'INJECTED accept' })).code, 'forbidden');

  // Nor read it (chats.history alone does not unlock another agent's room).
  b.send({ type: 'history', room_id: rid, ref: 'h1' });
  assert.equal((await b.waitFor((f) => f.ref === 'h1' && f.type === 'error')).code, 'forbidden');
  // The owner still can.
  a.send({ type: 'history', room_id: rid, ref: 'h2' });
  await a.waitFor((f) => f.ref === 'h2' && f.type === 'history');

  await sleep(300);
  assert.deepEqual(S.fixture('messages', rid).filter((m) => /INJECTED/.test(m.text)), []);
  assert.equal(S.nodes[0].exited, null);
  assert.equal(S.nodes[1].exited, null);
  a.send({ type: 'ping', ref: 'p' });
  await a.waitFor((f) => f.type === 'pong' && f.ref === 'p');
  b.send({ type: 'ping', ref: 'p' });
  await b.waitFor((f) => f.type === 'pong' && f.ref === 'p');
});

test('the owner who reloads and sends resume then message at once gets the message stored once', async () => {
  const [u] = S.users('reload', 1);
  const a = await S.agent(S.nodes[0], u);
  const rid = await engagedRoom('gina', a);
  a.close();
  await a.waitClosed();
  const a2 = await S.agent(S.nodes[1], u);
  a2.send({ type: 'resume', rooms: [{ room_id: rid, last_seq: 0 }], ref: 'r1' });
  const ack = await sendMessage(a2, { type: 'message', room_id: rid, id: 'after-reload', text: 'back again' });
  assert.equal(ack.type, 'ack', JSON.stringify(ack));
  await a2.waitFor((f) => f.type === 'resumed' && f.ref === 'r1');
  // Sent again with the same id: the same message, not a new one.
  const again = await sendMessage(a2, { type: 'message', room_id: rid, id: 'after-reload', text: 'back again' });
  assert.equal(again.message.seq, ack.message.seq);
  await sleep(300);
  assert.equal(S.fixture('messages', rid).filter((m) => m.text === 'back again').length, 1);
  await gw.waitFor((m) => m.type === 'agent_message' && m.customer_id === 'gina' && m.text === 'back again');
  assert.equal(S.nodes[0].exited, null);
  assert.equal(S.nodes[1].exited, null);
});

test('history: the agent engaged with a customer reads their earlier rooms; a supervisor reads any', async () => {
  const [ua, ub] = S.users('hist', 2);
  const a = await S.agent(S.nodes[0], ua);
  const first = await engagedRoom('hana', a);
  a.send({ type: 'end', room_id: first, ref: 'e1' });
  await a.waitFor((f) => f.type === 'ended' && f.ref === 'e1');
  a.close();
  const b = await S.agent(S.nodes[1], ub);
  // Not engaged with hana: forbidden.
  b.send({ type: 'history', room_id: first, ref: 'h0' });
  assert.equal((await b.waitFor((f) => f.ref === 'h0' && f.type === 'error')).code, 'forbidden');
  await engagedRoom('hana', b, first);
  b.send({ type: 'history', room_id: first, ref: 'h1' });
  const h = await b.waitFor((f) => f.ref === 'h1' && (f.type === 'history' || f.type === 'error'));
  assert.equal(h.type, 'history', JSON.stringify(h));
  assert.ok(h.messages.length > 0);
  const [sup] = S.users('histsup', 1, 'supervisor');
  const s = await S.agent(S.nodes[0], sup);
  s.send({ type: 'history', room_id: first, ref: 'h2' });
  assert.equal((await s.waitFor((f) => f.ref === 'h2' && (f.type === 'history' || f.type === 'error'))).type, 'history');
});

test('an agent connection that asks for too much at once gets busy beyond its jobs in flight', async () => {
  const [u] = S.users('busy', 1);
  const a = await S.agent(S.nodes[0], u);
  const rooms = Array.from({ length: 100 }, (_, i) => ({ room_id: `6565f0c2a1b2c3d4e5f6${String(1000 + i)}`, last_seq: 0 }));
  a.send({ type: 'resume', rooms, ref: 'big' });
  await until(() => a.all((f) => f.ref === 'big' && f.type === 'error').length === 100, '100 answers', 15000);
  const busy = a.all((f) => f.ref === 'big' && f.code === 'busy');
  assert.ok(busy.length >= 60 && busy.length <= 68, `busy: ${busy.length}`);
  assert.ok(busy.every((f) => typeof f.room_id === 'string'));
  // Every answer names its room (busy ones and not_found ones alike), each room once.
  const answered = a.all((f) => f.ref === 'big' && f.type === 'error').map((f) => f.room_id);
  assert.deepEqual([...answered].sort(), rooms.map((r) => r.room_id).sort());
  // Once answered, the connection is served again.
  a.send({ type: 'history', room_id: '6565f0c2a1b2c3d4e5f60718', ref: 'later' });
  assert.equal((await a.waitFor((f) => f.ref === 'later' && f.type === 'error')).code, 'not_found');
  assert.equal(S.nodes[0].exited, null);
});
