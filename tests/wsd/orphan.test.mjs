// SPDX-License-Identifier: MIT
// A node killed and started again at once under the same node id (systemd's Restart=) replaces its
// presence on the others before it expires; its agents who never come back must still get their
// grace period (issue 11, item 14): the survivor takes the restarted node's first presence as the
// end of the old one's agents (docs/websocket.md, "Grace period"). Both nodes are younger than the
// engaged rooms' re-read period (30 s), so that re-read cannot be what ends the room.
import test from 'node:test';
import assert from 'node:assert/strict';
import { Stack, until } from './harness.mjs';
import { Gateway } from './gateway.mjs';

const GRACE = 3;   // reconnect_grace (s)
let S, gw;

test.before(async () => {
  S = new Stack('orphan');
  await S.start({ nodes: 2, settings: { reconnect_grace: GRACE } });
  gw = await new Gateway(S.prefix).start();
});
test.after(async () => {
  await gw?.close();
  await S?.stop();
});

test('an agent of a node killed and started again at once, who never comes back, loses the room after the grace period', async () => {
  const started = Date.now();
  const [u] = S.users('orphan', 1);
  const lone = await S.agent(S.nodes[1], u);
  await gw.publish('request_agent', 'orphan-1', { customer_name: 'Orphan' });
  const w = await gw.waitFor((m) => m.type === 'request_waiting' && m.customer_id === 'orphan-1');
  await lone.waitFor((f) => f.type === 'request_offered' && f.room.id === w.room_id);
  lone.send({ type: 'accept', room_id: w.room_id });
  await lone.waitFor((f) => f.type === 'accepted' && f.room.id === w.room_id);

  const killed = Date.now();
  S.nodes[1].proc.kill('SIGKILL');
  await until(() => S.nodes[1].exited, 'n1 to die');
  await S.startNode(1);
  // The grace period and a margin for the restart (well within the 30 s re-read of n0).
  const bound = (GRACE + 8) * 1000;
  const se = await gw.waitFor((m) => m.type === 'session_ended' && m.room_id === w.room_id,
                              'the orphaned room to end', bound - (Date.now() - killed));
  console.log(`# orphaned room ended ${Date.now() - killed} ms after the kill (bound ${bound} ms)`);
  assert.equal(se.reason, 'agent_disconnected');
  assert.equal(S.fixture('room', w.room_id).close_reason, 'agent_disconnected');
  assert.ok(Date.now() - started < 30000, 'the nodes were younger than the engaged rooms\' re-read period');
});
