// SPDX-License-Identifier: MIT
// The websocket and gateway contracts of docs/websocket.md and docs/gateway.md (issue 12, items
// 1-4 and 6), over two wsd nodes and the test gateway: the error codes for closed and unknown
// rooms, errors that name the message they answer, the shape of hello.rooms, and the decisions
// the documents state: a repeated request_agent, {agent} when a supervisor ends a chat, unknown
// room and another agent's canned response, settings changes reaching the nodes through the node
// events, ping before hello on /ws/widget.
import test from 'node:test';
import assert from 'node:assert/strict';
import { Stack, until, sleep } from './harness.mjs';
import { Gateway } from './gateway.mjs';

const S = new Stack('contract');
let gw;
const UNKNOWN_ROOM = 'ffffffffffffffffffffffff';

test.before(async () => {
  await S.start({ nodes: 2, settings: {
    end_message_customer: '{agent} has ended the chat with {customer}.',
    end_message_agent: 'The chat of {agent} with {customer} is over.',
  } });
  gw = await new Gateway(S.prefix).start();
});
test.after(async () => { await gw?.close(); await S.stop(); });

// A waiting request of customer cid, offered to every agent client in agents.
async function request(cid, agents, name = cid) {
  await gw.publish('request_agent', cid, { customer_name: name });
  const w = await gw.waitFor((m) => m.type === 'request_waiting' && m.customer_id === cid);
  for (const a of agents) await a.waitFor((f) => f.type === 'request_offered' && f.room.id === w.room_id);
  return w.room_id;
}

async function accepted(a, rid, ref) {
  a.send({ type: 'accept', room_id: rid, ref });
  return a.waitFor((f) => f.ref === ref && (f.type === 'accepted' || f.type === 'error' ||
                                            f.type === 'already_taken'), `answer to ${ref}`);
}

const answer = (c, ref) => c.waitFor((f) => f.ref === ref, `answer to ${ref}`);

test('accept of a closed request answers not_open, of an unknown one not_found, both naming the room', async () => {
  const [u] = S.users('acc', 1);
  const a = await S.agent(S.nodes[0], u);
  const rid = await request('acc-1', [a]);
  await gw.publish('customer_left', 'acc-1');
  await a.waitFor((f) => f.type === 'request_withdrawn' && f.room_id === rid);
  assert.equal(S.fixture('room', rid).status, 'closed');

  const closed = await accepted(a, rid, 'closed');
  assert.deepEqual([closed.type, closed.code, closed.room_id], ['error', 'not_open', rid]);
  const unknown = await accepted(a, UNKNOWN_ROOM, 'unknown');
  assert.deepEqual([unknown.type, unknown.code, unknown.room_id], ['error', 'not_found', UNKNOWN_ROOM]);
  // Taken by someone else is still already_taken.
  const [v] = S.users('acc2', 1);
  const b = await S.agent(S.nodes[1], v);
  const rid2 = await request('acc-2', [a, b]);
  assert.equal((await accepted(b, rid2, 'win')).type, 'accepted');
  assert.equal((await accepted(a, rid2, 'late')).type, 'already_taken');
});

test('message and end by the room\'s own agent after the room closed answer not_open', async () => {
  const [u] = S.users('closed', 1);
  const a = await S.agent(S.nodes[0], u);
  const rid = await request('closed-1', [a]);
  assert.equal((await accepted(a, rid, 'acc')).type, 'accepted');
  await gw.publish('customer_left', 'closed-1');
  await a.waitFor((f) => f.type === 'ended' && f.room_id === rid);

  a.send({ type: 'message', room_id: rid, id: 'late-1', text: 'still there?', ref: 'm' });
  const m = await answer(a, 'm');
  assert.deepEqual([m.type, m.code, m.id, m.room_id], ['error', 'not_open', 'late-1', rid]);
  a.send({ type: 'end', room_id: rid, ref: 'e' });
  const e = await answer(a, 'e');
  assert.deepEqual([e.type, e.code, e.room_id], ['error', 'not_open', rid]);

  // The same after the agent's own end, from another tab on the other node.
  const rid2 = await request('closed-2', [a]);
  assert.equal((await accepted(a, rid2, 'acc2')).type, 'accepted');
  a.send({ type: 'end', room_id: rid2, ref: 'e2' });
  await a.waitFor((f) => f.type === 'ended' && f.ref === 'e2');
  const tab = await S.agent(S.nodes[1], u);
  tab.send({ type: 'message', room_id: rid2, id: 'late-2', text: 'x', ref: 'm2' });
  assert.equal((await answer(tab, 'm2')).code, 'not_open');
  tab.send({ type: 'end', room_id: rid2, ref: 'e3' });
  assert.equal((await answer(tab, 'e3')).code, 'not_open');
});

test('an agent may end their room from a connection that did not resume it', async () => {
  const [u] = S.users('anytab', 1);
  const a = await S.agent(S.nodes[0], u);
  const rid = await request('anytab-1', [a]);
  assert.equal((await accepted(a, rid, 'acc')).type, 'accepted');
  const tab = await S.agent(S.nodes[1], u);
  tab.send({ type: 'end', room_id: rid, ref: 'e' });
  const e = await answer(tab, 'e');
  assert.deepEqual([e.type, e.reason], ['ended', 'agent_ended']);
  await a.waitFor((f) => f.type === 'ended' && f.room_id === rid);
  assert.equal(S.fixture('room', rid).status, 'closed');
});

test('every error answering a message names the message (id, room_id); other room errors the room', async () => {
  const [u, v] = S.users('named', 2);
  const [sup] = S.users('namedsup', 1, 'supervisor');
  const a = await S.agent(S.nodes[0], u);
  const b = await S.agent(S.nodes[1], v);
  const s = await S.agent(S.nodes[1], sup);
  const rid = await request('named-1', [a, b]);
  assert.equal((await accepted(a, rid, 'acc')).type, 'accepted');

  const cases = [
    [a, { text: 'x'.repeat(4001) }, 'validation_failed'],
    [a, { text: 'both', canned_id: 'c1' }, 'validation_failed'],
    [a, {}, 'validation_failed'],
    [b, { text: 'not mine' }, 'forbidden'],
  ];
  for (const [i, [c, fields, code]] of cases.entries()) {
    c.send({ type: 'message', room_id: rid, id: `n-${i}`, ref: `r${i}`, ...fields });
    const f = await answer(c, `r${i}`);
    assert.deepEqual([f.type, f.code, f.id, f.room_id], ['error', code, `n-${i}`, rid], JSON.stringify(f));
  }
  s.send({ type: 'watch', room_id: rid });
  await s.waitFor((f) => f.type === 'watching' && f.room_id === rid);
  s.send({ type: 'message', room_id: rid, id: 'w-1', text: 'hi', ref: 'w' });
  const w = await answer(s, 'w');
  assert.deepEqual([w.code, w.id, w.room_id], ['forbidden', 'w-1', rid]);

  // The agent's own room on a connection that has not resumed it: forbidden, nothing stored.
  const tab = await S.agent(S.nodes[1], u);
  tab.send({ type: 'message', room_id: rid, id: 'tab-1', text: 'from the tab', ref: 't' });
  const t = await answer(tab, 't');
  assert.deepEqual([t.code, t.id, t.room_id], ['forbidden', 'tab-1', rid]);
  // A malformed id is not echoed back; the room still is.
  a.send({ type: 'message', room_id: rid, id: 'bad id!', text: 'x', ref: 'bad' });
  const bad = await answer(a, 'bad');
  assert.deepEqual([bad.code, bad.id, bad.room_id], ['validation_failed', undefined, rid]);
  assert.equal(S.fixture('messages', rid).filter((m) => m.sender === 'agent').length, 0);
  // Any other frame about a room names it, validation errors of another field included.
  a.send({ type: 'history', room_id: rid, limit: 500, ref: 'h' });
  const h = await answer(a, 'h');
  assert.deepEqual([h.code, h.room_id], ['validation_failed', rid]);
  b.send({ type: 'end', room_id: rid, ref: 'be' });
  const be = await answer(b, 'be');
  assert.deepEqual([be.code, be.room_id], ['forbidden', rid]);
});

test('hello.rooms have the room shape of accepted.room with last_seq, without declined_by', async () => {
  const [u, v] = S.users('hello', 2);
  const a = await S.agent(S.nodes[0], u);
  const b = await S.agent(S.nodes[1], v);
  const rid = await request('hello-1', [a, b], 'Helen');
  b.send({ type: 'decline', room_id: rid, ref: 'd' });
  await b.waitFor((f) => f.type === 'request_withdrawn' && f.ref === 'd');
  const acc = await accepted(a, rid, 'acc');
  assert.equal(acc.type, 'accepted');
  await gw.publish('customer_message', 'hello-1', { text: 'one' });
  await gw.publish('customer_message', 'hello-1', { text: 'two' });
  await a.waitFor((f) => f.type === 'message' && f.message.text === 'two');
  const last = Math.max(...S.fixture('messages', rid).map((m) => m.seq));

  // last_seq is recorded with the room's marks, up to 50 ms after the newest message: at once
  // it may be behind, never ahead, and never below what the claim recorded.
  const again = await S.agent(S.nodes[1], u);
  const room = again.find((f) => f.type === 'hello').rooms.find((r) => r.id === rid);
  assert.ok(room.last_seq >= acc.room.last_seq && room.last_seq <= last,
            `last_seq ${room.last_seq} outside [${acc.room.last_seq}, ${last}]`);
  // Resuming from it (a client's floor) brings exactly what lies above it: nothing is lost by
  // a last_seq that lags.
  again.send({ type: 'resume', rooms: [{ room_id: rid, last_seq: room.last_seq }], ref: 'rs' });
  const resumed = await again.waitFor((f) => f.type === 'resumed' && f.ref === 'rs');
  assert.deepEqual(resumed.messages.map((m) => m.seq),
                   S.fixture('messages', rid).map((m) => m.seq).filter((q) => q > room.last_seq)
                     .sort((x, y) => x - y));
  // And it catches up with the newest stored seq shortly after.
  await until(async () => {
    const c = await S.agent(S.nodes[0], u);
    const seen = c.find((f) => f.type === 'hello').rooms.find((r) => r.id === rid).last_seq;
    c.close();
    return seen === last;
  }, `hello.rooms last_seq reaching ${last}`, 3000);
  const keys = ['id', 'channel', 'customer_id', 'customer_name', 'status', 'agent_id', 'agent_name',
                'created_at', 'engaged_at', 'closed_at', 'close_reason', 'last_seq'];
  assert.deepEqual(Object.keys(room).sort(), [...keys].sort());
  assert.deepEqual(Object.keys(acc.room).sort(), [...keys].sort());
  assert.deepEqual([room.status, room.agent_id, room.closed_at, room.close_reason], ['engaged', u.id, null, null]);
});

test('a request_agent while the customer has an open room sends no second request_waiting', async () => {
  const [u] = S.users('again', 1);
  const a = await S.agent(S.nodes[0], u);
  const rid = await request('again-1', [a]);
  await gw.publish('request_agent', 'again-1', { customer_name: 'again-1' });
  // Stored after the second request_agent (one worker per customer, in queue order).
  await gw.publish('customer_message', 'again-1', { text: 'after the second request' });
  await until(() => S.fixture('messages', rid).some((m) => m.text === 'after the second request'), 'the message stored');
  assert.equal((await accepted(a, rid, 'acc')).type, 'accepted');
  await gw.waitFor((m) => m.type === 'agent_joined' && m.room_id === rid);
  assert.equal(gw.all((m) => m.type === 'request_waiting' && m.customer_id === 'again-1').length, 1);
  assert.equal(S.fixture('messages', rid).filter((m) => m.sender === 'system').length, 2);   // waiting, join
});

test('a supervisor ending another agent\'s chat: {agent} is the engaged agent', async () => {
  const [u] = S.users('engaged', 1);
  const [sup] = S.users('ender', 1, 'supervisor');
  const a = await S.agent(S.nodes[0], u);
  const s = await S.agent(S.nodes[1], sup);
  const rid = await request('ended-by-sup', [a], 'Eve');
  assert.equal((await accepted(a, rid, 'acc')).type, 'accepted');
  s.send({ type: 'end', room_id: rid, ref: 'e' });
  const e = await answer(s, 'e');
  assert.equal(e.text, `The chat of Agent ${u.username} with Eve is over.`);
  const se = await gw.waitFor((m) => m.type === 'session_ended' && m.room_id === rid);
  assert.equal(se.text, `Agent ${u.username} has ended the chat with Eve.`);
  const ea = await a.waitFor((f) => f.type === 'ended' && f.room_id === rid);
  assert.equal(ea.text, e.text);
});

test('a message into an unknown room, or with another agent\'s canned response, is not_found', async () => {
  const [u, v] = S.users('canned', 2);
  const a = await S.agent(S.nodes[0], u);
  const rid = await request('canned-1', [a]);
  assert.equal((await accepted(a, rid, 'acc')).type, 'accepted');
  const mine = S.fixture('canned', u.id, 'mine', 'Hello {customer}, {agent} here');
  const theirs = S.fixture('canned', v.id, 'theirs', 'Not yours');

  a.send({ type: 'message', room_id: UNKNOWN_ROOM, id: 'u-1', text: 'x', ref: 'unk' });
  const unk = await answer(a, 'unk');
  assert.deepEqual([unk.code, unk.id, unk.room_id], ['not_found', 'u-1', UNKNOWN_ROOM]);
  a.send({ type: 'message', room_id: rid, id: 'c-1', canned_id: theirs.id, ref: 'theirs' });
  const th = await answer(a, 'theirs');
  assert.deepEqual([th.code, th.id, th.room_id], ['not_found', 'c-1', rid]);
  a.send({ type: 'message', room_id: rid, id: 'c-2', canned_id: 'ffffffffffffffffffffff00', ref: 'none' });
  assert.equal((await answer(a, 'none')).code, 'not_found');
  a.send({ type: 'message', room_id: rid, id: 'c-3', canned_id: mine.id, ref: 'mine' });
  const ok = await answer(a, 'mine');
  assert.deepEqual([ok.type, ok.message.text], ['ack', `Hello canned-1, Agent ${u.username} here`]);
});

test('ping before hello is answered on /ws/widget; widget message errors name the message', async () => {
  const w = await S.connect(S.nodes[1], '/ws/widget');
  w.send({ type: 'ping', ref: 'p0' });
  const p = await answer(w, 'p0');
  assert.equal(p.type, 'pong');
  w.send({ type: 'message', id: 'm1', text: 'too early', ref: 'early' });
  const early = await answer(w, 'early');
  assert.deepEqual([early.code, early.id], ['not_ready', 'm1']);
  w.send({ type: 'hello' });
  await w.waitFor((f) => f.type === 'welcome');
  // A widget message error names the message too.
  w.send({ type: 'message', id: 'm2', text: '', ref: 'empty' });
  const empty = await answer(w, 'empty');
  assert.deepEqual([empty.code, empty.id], ['validation_failed', 'm2']);
  w.close();
});

test('a settings event on the node exchange makes every node read the settings at once', async () => {
  // The periodic re-read is an hour away: only the event can bring the change in time.
  const T = new Stack('contractset');
  try {
    await T.start({ nodes: 2, args: ['--settings-check', '3600'], settings: { history_limit: 20 } });
    const [u] = T.users('set', 1);
    for (const n of T.nodes)
      assert.equal((await T.agent(n, u)).find((f) => f.type === 'hello').settings.history_limit, 20);
    await T.settings({ history_limit: 7, reconnect_grace: 11 });
    for (const n of T.nodes) {
      await until(async () => {
        const c = await T.agent(n, u);
        const s = c.find((f) => f.type === 'hello').settings;
        c.close();
        return s.history_limit === 7 && s.reconnect_grace === 11;
      }, `the new settings on n${n.i}`);
    }
  } finally {
    await T.stop();
  }
});

test('without the event a node keeps its settings until --settings-check', async () => {
  // The counterpart of the test above: the change itself does not reach a node that was not told.
  const T = new Stack('contractkeep');
  try {
    await T.start({ nodes: 1, args: ['--settings-check', '3600'], settings: { history_limit: 20 } });
    const [u] = T.users('keep', 1);
    assert.equal((await T.agent(T.nodes[0], u)).find((f) => f.type === 'hello').settings.history_limit, 20);
    T.fixture('settings', JSON.stringify({ history_limit: 9 }));
    await sleep(3000);
    const c = await T.agent(T.nodes[0], u);
    assert.equal(c.find((f) => f.type === 'hello').settings.history_limit, 20);
  } finally {
    await T.stop();
  }
});
