// The agent websocket refuses what it must: handshakes without credentials, bad or revoked
// sessions, users without chats permissions, malformed, oversized and forbidden frames (the
// connection and the daemon stay up); and a redelivered inbound message is stored and shown once.
import test from 'node:test';
import assert from 'node:assert/strict';
import { Stack, Client, sleep } from './harness.mjs';
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
    ['{"type":"message","room_id":"abc","id":"ok1","text":"x"}', 'forbidden'],
    ['{"type":"watch","room_id":"abc"}', 'forbidden'],
    ['{"type":"end","room_id":"6565f0c2a1b2c3d4e5f60718"}', 'forbidden'],
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
