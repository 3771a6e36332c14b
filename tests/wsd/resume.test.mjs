// SPDX-License-Identifier: MIT
// The grace period: an agent whose connection drops keeps the room for reconnect_grace seconds;
// reconnecting (on either node) and resuming delivers exactly what arrived meanwhile (no gap,
// no duplicate); an abandoned room ends with agent_disconnected at the customer's gateway; a
// message stored late, below the newest seq a resume answered, still reaches the client.
import test from 'node:test';
import assert from 'node:assert/strict';
import { Stack, sleep } from './harness.mjs';
import { Gateway } from './gateway.mjs';

const GRACE = 3;
const S = new Stack('resume');
let gw;

test.before(async () => {
  await S.start({ nodes: 2, settings: { reconnect_grace: GRACE,
                                        agent_disconnected_message: '{agent} lost the connection.' } });
  gw = await new Gateway(S.prefix).start();
});
test.after(async () => { await gw?.close(); await S.stop(); });

async function engage(agent, customer) {
  await gw.publish('request_agent', customer, { customer_name: customer.toUpperCase() });
  const w = await gw.waitFor((m) => m.type === 'request_waiting' && m.customer_id === customer);
  await agent.waitFor((f) => f.type === 'request_offered' && f.room.id === w.room_id);
  agent.send({ type: 'accept', room_id: w.room_id });
  await agent.waitFor((f) => f.type === 'accepted' && f.room.id === w.room_id);
  return w.room_id;
}

for (const [label, sameNode] of [['the same node', true], ['the other node', false]]) {
  test(`a reloaded agent resumes on ${label} with no gap and no duplicate`, async () => {
    const [u] = S.users(sameNode ? 'same' : 'other', 1);
    const cust = sameNode ? 'rita' : 'otto';
    let a = await S.agent(S.nodes[0], u);
    const rid = await engage(a, cust);
    await gw.publish('customer_message', cust, { text: 'before 1' });
    await gw.publish('customer_message', cust, { text: 'before 2' });
    await a.waitFor((f) => f.type === 'message' && f.message.text === 'before 2');
    const lastSeq = Math.max(...a.all((f) => f.type === 'message').map((f) => f.message.seq));
    a.terminate();                                  // a page reload: no goodbye
    await sleep(200);
    for (let i = 1; i <= 3; i++) await gw.publish('customer_message', cust, { text: `gap ${i}` });
    await sleep(300);
    a = await S.agent(S.nodes[sameNode ? 0 : 1], u);
    const hello = a.find((f) => f.type === 'hello');
    assert.deepEqual(hello.rooms.map((r) => r.id), [rid]);
    a.send({ type: 'resume', rooms: [{ room_id: rid, last_seq: lastSeq }], ref: 'r' });
    // Messages published while resuming arrive live, after the replay, exactly once.
    const live = gw.publish('customer_message', cust, { text: 'live 1' });
    const resumed = await a.waitFor((f) => f.type === 'resumed' && f.ref === 'r');
    await live;
    await a.waitFor((f) => f.message?.text === 'live 1' || resumed.messages.some((m) => m.text === 'live 1'));
    const replayTexts = resumed.messages.map((m) => m.text);
    assert.deepEqual(replayTexts.filter((t) => t.startsWith('gap')), ['gap 1', 'gap 2', 'gap 3']);
    assert.ok(!replayTexts.includes('before 2'), 'nothing the client already had');
    await gw.publish('customer_message', cust, { text: 'live 2' });
    await a.waitFor((f) => f.type === 'message' && f.message.text === 'live 2');
    const seen = [...resumed.messages, ...a.all((f) => f.type === 'message').map((f) => f.message)];
    const seqs = seen.map((m) => m.seq);
    assert.equal(new Set(seqs).size, seqs.length, `duplicate seq in ${JSON.stringify(seen.map((m) => [m.seq, m.text]))}`);
    assert.deepEqual(seen.map((m) => m.text).filter((t) => /gap|live/.test(t)),
                     ['gap 1', 'gap 2', 'gap 3', 'live 1', 'live 2']);
    // The grace period passed while connected elsewhere: the room is still engaged.
    await sleep((GRACE + 2) * 1000);
    assert.equal(S.fixture('room', rid).status, 'engaged');
    a.send({ type: 'message', room_id: rid, id: 'after-resume', text: 'still mine' });
    await a.waitFor((f) => f.type === 'ack' && f.id === 'after-resume');
    a.send({ type: 'end', room_id: rid });
    await a.waitFor((f) => f.type === 'ended' && f.room_id === rid);
  });
}

test('an abandoned room ends with agent_disconnected after the grace period', async () => {
  const [u] = S.users('gone', 1);
  const a = await S.agent(S.nodes[1], u);
  const rid = await engage(a, 'gina');
  const t0 = Date.now();
  a.terminate();
  const se = await gw.waitFor((m) => m.type === 'session_ended' && m.room_id === rid, 'agent_disconnected',
                              (GRACE + 6) * 1000);
  assert.ok(Date.now() - t0 >= (GRACE - 1) * 1000, 'not before the grace period');
  assert.equal(se.reason, 'agent_disconnected');
  assert.equal(se.text, `${u.display_name} lost the connection.`);
  const room = S.fixture('room', rid);
  assert.equal(room.status, 'closed');
  assert.equal(room.close_reason, 'agent_disconnected');
});

test('a message stored late, below the newest a resume answered, still reaches the resuming tab', async () => {
  const [u] = S.users('late', 1);
  const a1 = await S.agent(S.nodes[0], u);
  const rid = await engage(a1, 'lara');
  // A writer that held the room before has taken a seq and is still storing it (FerretDB may
  // take a while); the room's writer sees that reservation when it reads the room again (at most
  // a second after its last read) and goes on above it.
  const { seq: late } = S.fixture('takeseq', rid);
  await sleep(1100);
  a1.send({ type: 'message', room_id: rid, id: 'above', text: 'written meanwhile' });
  const ack = await a1.waitFor((f) => f.type === 'ack' && f.id === 'above');
  assert.ok(ack.message.seq > late);
  // A second tab resumes from just below it: the answer holds the newer one, not the late one.
  const a2 = await S.agent(S.nodes[1], u);
  a2.send({ type: 'resume', rooms: [{ room_id: rid, last_seq: late - 1 }], ref: 'r' });
  const resumed = await a2.waitFor((f) => f.type === 'resumed' && f.ref === 'r');
  assert.deepEqual(resumed.messages.map((m) => m.seq), [ack.message.seq]);
  // The late writer stores it and publishes it as its node does: both tabs get it.
  const ev = { type: 'message', room_id: rid, agent_id: u.id,
               message: { id: 'lara-late', room_id: rid, seq: late, sender: 'customer', author: 'LARA',
                          text: 'stored late', ts: Date.now() } };
  await new Promise((resolve, reject) => gw.ch.publish(`${S.prefix}.nodes`, `room.${rid}.${u.id}`,
    Buffer.from(JSON.stringify(ev)), {}, (err) => (err ? reject(err) : resolve())));
  for (const a of [a2, a1]) await a.waitFor((f) => f.type === 'message' && f.message.seq === late, 'the late message');
  a1.send({ type: 'end', room_id: rid });
  await a1.waitFor((f) => f.type === 'ended' && f.room_id === rid);
});
