// SPDX-License-Identifier: MIT
// The web-widget channel end to end: wsd is the widget's gateway (channel "widget" on the same
// RabbitMQ contract). A customer on one node, the agent on the other: request, waiting text,
// offer, join text, messages both ways, a page reload that keeps the identity and replays exactly
// what was missed, the end message; and leaving.
import test from 'node:test';
import assert from 'node:assert/strict';
import { Stack, sleep, until } from './harness.mjs';

const S = new Stack('widget');

test.before(async () => { await S.start({ nodes: 2 }); });
test.after(async () => { await S.stop(); });

async function widget(node, hello = {}) {
  const w = await S.connect(node, '/ws/widget');
  w.send({ type: 'hello', ...hello });
  return { w, welcome: await w.waitFor((f) => f.type === 'welcome') };
}

test('a widget customer chats with an agent on another node, survives a reload, sees the end', async () => {
  const [u] = S.users('wag', 1);
  const agent = await S.agent(S.nodes[0], u);
  let { w, welcome } = await widget(S.nodes[1]);
  assert.match(welcome.customer_id, /^w[0-9a-f]{24}$/);
  assert.equal(welcome.secret.length, 43);
  assert.equal(welcome.room, null);
  const { customer_id: cid, secret } = welcome;

  // Frames before hello / invalid frames get errors.
  w.send({ type: 'message', id: 'bad id!', text: 'x', ref: 'v' });
  assert.equal((await w.waitFor((f) => f.type === 'error' && f.ref === 'v')).code, 'validation_failed');

  w.send({ type: 'request', name: 'Wanda', ref: 'q' });
  await w.waitFor((f) => f.type === 'ack' && f.ref === 'q');
  const waiting = await w.waitFor((f) => f.type === 'waiting');
  assert.equal(waiting.text, 'Please wait, an agent will be with you shortly.');
  const offer = await agent.waitFor((f) => f.type === 'request_offered' && f.room.customer_id === cid);
  assert.equal(offer.room.channel, 'widget');
  assert.equal(offer.room.customer_name, 'Wanda');
  const rid = offer.room.id;

  w.send({ type: 'message', id: 'm1', text: 'Hello?' });
  await w.waitFor((f) => f.type === 'ack' && f.id === 'm1');
  agent.send({ type: 'accept', room_id: rid });
  const acc = await agent.waitFor((f) => f.type === 'accepted');
  assert.ok(acc.history.some((m) => m.text === 'Hello?' && m.sender === 'customer'));
  const joined = await w.waitFor((f) => f.type === 'joined');
  assert.equal(joined.text, `${u.display_name} has entered the chat`);
  assert.equal(joined.agent_name, u.display_name);

  agent.send({ type: 'message', room_id: rid, id: 'a1', text: 'Hi Wanda' });
  const m = await w.waitFor((f) => f.type === 'message' && f.message.text === 'Hi Wanda');
  assert.equal(m.message.sender, 'agent');
  assert.equal(m.message.author, u.display_name);
  w.send({ type: 'message', id: 'm2', text: 'My order is late' });
  await agent.waitFor((f) => f.type === 'message' && f.message.text === 'My order is late');
  w.send({ type: 'typing', state: true });
  await agent.waitFor((f) => f.type === 'typing' && f.room_id === rid && f.sender === 'customer');

  // Reload: the widget goes away, the agent writes twice, the widget comes back with its secret.
  const lastSeq = Math.max(...w.all((f) => f.type === 'message' || f.type === 'joined' || f.type === 'waiting')
    .map((f) => (f.message ? f.message.seq : f.seq)));
  w.terminate();
  agent.send({ type: 'message', room_id: rid, id: 'a2', text: 'Let me check' });
  agent.send({ type: 'message', room_id: rid, id: 'a3', text: 'Found it' });
  await agent.waitFor((f) => f.type === 'ack' && f.id === 'a3');
  ({ w, welcome } = await widget(S.nodes[0], { secret, last_seq: lastSeq }));
  assert.equal(welcome.customer_id, cid);
  assert.equal(welcome.room.id, rid);
  assert.equal(welcome.room.status, 'engaged');
  const missed = welcome.messages.map((x) => x.text);
  assert.ok(missed.includes('Let me check') && missed.includes('Found it'), JSON.stringify(missed));
  assert.ok(!missed.includes('Hi Wanda'), 'nothing it already had');
  // The widget's own message sent before the reload (m2, stored after lastSeq) comes back too.
  assert.ok(missed.includes('My order is late'));

  agent.send({ type: 'message', room_id: rid, id: 'a4', text: 'Shipped today' });
  await w.waitFor((f) => f.type === 'message' && f.message.text === 'Shipped today');
  agent.send({ type: 'end', room_id: rid });
  const ended = await w.waitFor((f) => f.type === 'ended');
  assert.equal(ended.reason, 'agent_ended');
  assert.equal(ended.text, `${u.display_name} has ended the chat. Thank you for contacting us.`);
  await sleep(200);
  const shown = w.all((f) => f.type === 'message').map((f) => f.message.seq);
  assert.equal(new Set(shown).size, shown.length, 'no duplicate after the reload');
});

test('a widget customer who leaves closes the room and the agent is told', async () => {
  const [u] = S.users('wleave', 1);
  const agent = await S.agent(S.nodes[1], u);
  const { w, welcome } = await widget(S.nodes[0]);
  w.send({ type: 'request', name: 'Leo' });
  const offer = await agent.waitFor((f) => f.type === 'request_offered' && f.room.customer_id === welcome.customer_id);
  agent.send({ type: 'accept', room_id: offer.room.id });
  await w.waitFor((f) => f.type === 'joined');
  w.send({ type: 'leave', ref: 'bye' });
  await w.waitFor((f) => f.type === 'ack' && f.ref === 'bye');
  const e = await agent.waitFor((f) => f.type === 'ended' && f.room_id === offer.room.id);
  assert.equal(e.reason, 'customer_left');
  await w.waitFor((f) => f.type === 'ended' && f.reason === 'customer_left');
  assert.equal(S.fixture('room', offer.room.id).close_reason, 'customer_left');
});

test('a widget that floods frames gets rate_limited beyond the burst, and is served again after a pause', async () => {
  const { w } = await widget(S.nodes[0]);
  w.send({ type: 'request', name: 'Flo', ref: 'q' });
  await w.waitFor((f) => f.type === 'ack' && f.ref === 'q');
  for (let i = 0; i < 60; i++) w.send({ type: 'message', id: `flood-${i}`, text: `flood ${i}`, ref: `f${i}` });
  // Every one is answered: rate_limited at once, an ack once its batch is stored (later).
  const answered = (f) => /^f\d+$/.test(f.ref ?? '') && (f.type === 'ack' || f.type === 'error');
  await until(() => w.all(answered).length >= 60, 'an answer to each of the 60');
  const limited = w.all((f) => f.type === 'error' && f.code === 'rate_limited' && /^f\d+$/.test(f.ref));
  const acked = w.all((f) => f.type === 'ack' && /^f\d+$/.test(f.ref));
  assert.ok(limited.length >= 25, `rate_limited: ${limited.length}`);
  assert.ok(acked.length >= 15, `acked: ${acked.length}`);
  assert.equal(limited.length + acked.length, 60);
  assert.ok(limited.every((f) => /^flood-\d+$/.test(f.id)), 'the error names the message');
  await sleep(1500);
  w.send({ type: 'message', id: 'after-pause', text: 'calm now', ref: 'calm' });
  assert.equal((await w.waitFor((f) => f.ref === 'calm' && (f.type === 'ack' || f.type === 'error'))).type, 'ack');
  assert.equal(S.nodes[0].exited, null);
});
