// SPDX-License-Identifier: MIT
// Idle connections: wsd pings a client that has been silent for wsd_ping_after seconds and drops
// it after wsd_idle_timeout seconds of silence (a pong counts as a sign of life), so an agent
// whose network vanished without a FIN still starts the grace period of their rooms.
// The limits are shortened through the environment (config keys) so this runs in seconds.
import test from 'node:test';
import assert from 'node:assert/strict';
import { Stack, sleep } from './harness.mjs';
import { Gateway } from './gateway.mjs';

const PING_AFTER = 2;
const IDLE_TIMEOUT = 4;
const GRACE = 2;
const S = new Stack('idle');
let gw;

test.before(async () => {
  await S.start({ nodes: 1, settings: { reconnect_grace: GRACE },
                  env: { LIVECHAT_WSD_PING_AFTER: String(PING_AFTER),
                         LIVECHAT_WSD_IDLE_TIMEOUT: String(IDLE_TIMEOUT) } });
  gw = await new Gateway(S.prefix).start();
});
test.after(async () => { await gw?.close(); await S.stop(); });

test('a silent client that answers pings stays; one that does not is dropped', async () => {
  const node = S.nodes[0];
  const alive = await S.connect(node, '/ws/widget');
  const mute = await S.connect(node, '/ws/widget', {}, { autoPong: false });
  const t0 = Date.now();
  await mute.waitClosed((IDLE_TIMEOUT + 8) * 1000);
  const after = (Date.now() - t0) / 1000;
  assert.ok(mute.pings >= 1, 'the silent client was pinged before being dropped');
  assert.ok(after >= IDLE_TIMEOUT - 1, `dropped after ${after}s, not before the idle timeout`);
  // The one answering pings (ws answers them by itself) said nothing else and is still open.
  assert.ok(alive.pings >= 1, 'the other silent client was pinged too');
  assert.equal(alive.closed, null, 'a client answering pings is kept');
  await sleep(IDLE_TIMEOUT * 1000);
  assert.equal(alive.closed, null, 'a client answering pings is kept past the idle timeout');
  alive.send({ type: 'ping', ref: 'p' });
  await alive.waitFor((f) => f.type === 'pong' && f.ref === 'p');
});

test('a client that keeps sending frames is not pinged', async () => {
  const c = await S.connect(S.nodes[0], '/ws/widget', {}, { autoPong: false });
  const end = Date.now() + (IDLE_TIMEOUT + 2) * 1000;
  let n = 0;
  while (Date.now() < end) {
    c.send({ type: 'ping', ref: n++ });
    await sleep(300);
  }
  assert.equal(c.pings, 0, 'no websocket ping to a client that talks');
  assert.equal(c.closed, null);
  c.close();
});

test('an agent that stops answering is dropped and the grace period of their room starts', async () => {
  const [u] = S.users('mute', 1);
  const a = await S.agent(S.nodes[0], u, { autoPong: false });
  await gw.publish('request_agent', 'vera', { customer_name: 'Vera' });
  const w = await gw.waitFor((m) => m.type === 'request_waiting' && m.customer_id === 'vera');
  await a.waitFor((f) => f.type === 'request_offered' && f.room.id === w.room_id);
  a.send({ type: 'accept', room_id: w.room_id });
  await a.waitFor((f) => f.type === 'accepted' && f.room.id === w.room_id);
  const t0 = Date.now();
  // From here the agent's client never says anything and never answers a ping.
  await a.waitClosed((IDLE_TIMEOUT + 8) * 1000);
  assert.ok(a.pings >= 1, 'pinged before being dropped');
  const se = await gw.waitFor((m) => m.type === 'session_ended' && m.room_id === w.room_id,
                              'agent_disconnected', (GRACE + 8) * 1000);
  assert.ok(Date.now() - t0 >= (IDLE_TIMEOUT + GRACE - 1) * 1000, 'idle timeout, then the grace period');
  assert.equal(se.reason, 'agent_disconnected');
  const room = S.fixture('room', w.room_id);
  assert.equal(room.status, 'closed');
  assert.equal(room.close_reason, 'agent_disconnected');
});
