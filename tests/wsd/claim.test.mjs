// SPDX-License-Identifier: MIT
// 20 agents on two wsd nodes accept one request at the same moment, 10 times over: exactly one
// winner each time, 19 "already_taken", and the request vanishes from every list on both nodes.
import test from 'node:test';
import assert from 'node:assert/strict';
import { Stack, until } from './harness.mjs';
import { Gateway } from './gateway.mjs';

const S = new Stack('claim');
let gw;

test.before(async () => {
  await S.start({ nodes: 2 });
  gw = await new Gateway(S.prefix).start();
});
test.after(async () => { await gw?.close(); await S.stop(); });

test('twenty simultaneous accepts on two nodes have exactly one winner, ten rounds', async () => {
  const users = S.users('race', 20);
  const agents = await Promise.all(users.map((u, i) => S.agent(S.nodes[i % 2], u)));
  const winners = new Map();
  for (let round = 0; round < 10; round++) {
    const cust = `race-${round}`;
    await gw.publish('request_agent', cust, { customer_name: `Customer ${round}` });
    const w = await gw.waitFor((m) => m.type === 'request_waiting' && m.customer_id === cust);
    const rid = w.room_id;
    await Promise.all(agents.map((a) => a.waitFor((f) => f.type === 'request_offered' && f.room.id === rid,
                                                  `offer of round ${round}`)));
    for (const a of agents) a.send({ type: 'accept', room_id: rid, ref: `r${round}` });
    const answers = await Promise.all(agents.map((a) => a.waitFor(
      (f) => f.ref === `r${round}` && ['accepted', 'already_taken', 'error'].includes(f.type),
      `answer of round ${round}`)));
    const won = answers.filter((f) => f.type === 'accepted');
    const lost = answers.filter((f) => f.type === 'already_taken');
    assert.equal(won.length, 1, `round ${round}: ${JSON.stringify(answers.map((f) => f.type))}`);
    assert.equal(lost.length, 19);
    const winner = agents[answers.findIndex((f) => f.type === 'accepted')];
    const room = S.fixture('room', rid);
    assert.equal(room.status, 'engaged');
    assert.equal(room.agent_id, winner.user.id);
    winners.set(round, winner.user.username);
    // Gone from every list on both nodes.
    await Promise.all(agents.map((a) => a.waitFor(
      (f) => f.type === 'request_withdrawn' && f.room_id === rid && f.reason === 'taken', 'withdrawn')));
    // Exactly one join message reached the gateway.
    await gw.waitFor((m) => m.type === 'agent_joined' && m.room_id === rid);
    await until(() => true, 'settle', 100);
    assert.equal(gw.all((m) => m.type === 'agent_joined' && m.room_id === rid).length, 1);
    winner.send({ type: 'end', room_id: rid, ref: `end${round}` });
    await winner.waitFor((f) => f.type === 'ended' && f.ref === `end${round}`);
  }
  assert.equal(winners.size, 10);
});
