// Issue 11 on the websocket side (docs/security.md, docs/websocket.md "Handshake" and "Common
// rules"): an agent's typing frames are rate limited like the widget's frames; the handshake
// checks Origin (ws_allowed_origins), parses the Cookie header as the API does, refuses an
// oversized one cleanly and never lets `Upgrade: h2c` through; an unmasked client frame closes
// the connection with 1002 (RFC 6455 5.1).
import test from 'node:test';
import assert from 'node:assert/strict';
import { Stack, sleep } from './harness.mjs';
import { Gateway } from './gateway.mjs';

const S = new Stack('security');
let gw;
let n = 0;

test.before(async () => {
  await S.start({ nodes: 2 });
  gw = await new Gateway(S.prefix).start();
});
test.after(async () => { await gw?.close(); await S.stop(); });

async function engage(agent) {
  const cust = `cust${++n}`;
  await gw.publish('request_agent', cust, { customer_name: cust.toUpperCase() });
  const w = await gw.waitFor((m) => m.type === 'request_waiting' && m.customer_id === cust);
  await agent.waitFor((f) => f.type === 'request_offered' && f.room.id === w.room_id);
  agent.send({ type: 'accept', room_id: w.room_id });
  await agent.waitFor((f) => f.type === 'accepted' && f.room.id === w.room_id);
  return w.room_id;
}

test('an agent that floods typing frames gets rate_limited beyond the burst, and is served again after a pause', async () => {
  const [u] = S.users(`typ${++n}`, 1, 'agent');
  const a = await S.agent(S.nodes[0], u);
  const rid = await engage(a);
  for (let i = 0; i < 60; i++) a.send({ type: 'typing', room_id: rid, state: i % 2 === 0, ref: `t${i}` });
  a.send({ type: 'ping', ref: 'after' });
  await a.waitFor((f) => f.ref === 'after', 'answer to the ping');
  const limited = a.all((f) => f.type === 'error' && f.code === 'rate_limited' && /^t\d+$/.test(f.ref));
  assert.ok(limited.length >= 25, `rate_limited: ${limited.length}`);
  assert.ok(limited.every((f) => f.room_id === rid), 'the error names the room');
  await sleep(1000);
  const published = gw.received.filter((m) => m.type === 'agent_typing' && m.room_id === rid).length;
  assert.equal(published, 60 - limited.length, 'only the frames within the limit were forwarded');
  await sleep(1500);
  a.send({ type: 'typing', room_id: rid, state: true, ref: 'calm' });
  await gw.waitFor((m) => m.type === 'agent_typing' && m.room_id === rid &&
                   gw.received.filter((x) => x.type === 'agent_typing' && x.room_id === rid).length === published + 1);
  assert.equal(a.find((f) => f.ref === 'calm'), undefined, 'typing has no answer when it is served');
  assert.equal(S.nodes[0].exited, null);
});
