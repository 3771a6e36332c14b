// SPDX-License-Identifier: MIT
// The websocket rows of the permission matrix (issue 11; the REST rows are tests/api/matrix.test.mjs):
// every action of /ws/agent (docs/websocket.md "Agent → server", ping included) sent by a user of
// each built-in group, of a custom group holding each single permission, and with no login,
// against a real livechat-wsd, FerretDB and RabbitMQ. The groups' permissions are read from
// docs/api.md as the REST matrix reads them; what each action needs and answers is the table
// ACTIONS below, written from docs/websocket.md (not from the server). Every row gets fresh rooms
// and a fresh connection, so no answer depends on an earlier row.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Stack } from './harness.mjs';
import { Gateway } from './gateway.mjs';

// ---- the groups, from docs/api.md
const api = readFileSync(join(process.env.LC_TOP_SRCDIR, 'docs', 'api.md'), 'utf8');
const vocabulary = [...api.matchAll(/^\| `([a-z]+\.[a-z_]+)` +\|/gm)].map((m) => m[1]);
const builtin = {
  admin: vocabulary,
  supervisor: api.match(/^- `supervisor`: ([^;]+);/m)[1].split(/\s+/).filter(Boolean),
  agent: api.match(/^- `agent`: (.+)\.$/m)[1].split(/\s+/).filter(Boolean),
};

// ---- the actions, from docs/websocket.md
const ACCEPT = 'chats.accept', MONITOR = 'chats.monitor', END_ANY = 'chats.end_any', CANNED_ALL = 'canned.all';
// "Authentication": no session: HTTP 401, no websocket; a user whose group has neither
// chats.accept nor chats.monitor: error forbidden, close 4403; anyone else: hello.
const mayConnect = (perms) => perms.includes(ACCEPT) || perms.includes(MONITOR);
// Each row: the frame (about a room of the kind `room`), the permission it needs (`needs`: one
// of these), the answer when allowed (`ok`: a frame type, 'error:<code>', or null: no answer at
// all) and when not (`no`; default error forbidden). Rooms: `waiting` (a request nobody took), `mine` (this
// connection accepted it), `mine_elsewhere` (the caller accepted it on another connection),
// `other` (another agent's engaged room). A caller who cannot accept has no room of its own: a
// row about `mine` is sent to another agent's room, whose answer is `notMine`.
const ACTIONS = [
  { name: 'ping', frame: () => ({ type: 'ping' }), ok: 'pong' },
  { name: 'accept', room: 'waiting', frame: (r) => ({ type: 'accept', room_id: r }), needs: [ACCEPT], ok: 'accepted' },
  { name: 'decline', room: 'waiting', frame: (r) => ({ type: 'decline', room_id: r }), needs: [ACCEPT],
    ok: 'request_withdrawn' },
  { name: 'message', room: 'mine', frame: (r) => ({ type: 'message', room_id: r, id: 'm1', text: 'Hi' }), ok: 'ack',
    notMine: 'error:forbidden' },
  // Their own canned response: no permission needed ("one of the agent's own canned responses").
  { name: 'canned message (own)', room: 'mine', frame: (r, x) => ({ type: 'message', room_id: r, id: 'm2', canned_id: x.ownCanned }),
    ok: 'ack', notMine: 'error:forbidden' },
  // Another agent's: "or anyone's, with canned.all; another agent's is not_found, as if absent".
  { name: "canned message (another agent's)", room: 'mine', frame: (r, x) => ({ type: 'message', room_id: r, id: 'm3', canned_id: x.otherCanned }),
    needs: [CANNED_ALL], ok: 'ack', no: 'error:not_found', notMine: 'error:forbidden' },
  { name: 'typing', room: 'mine', frame: (r) => ({ type: 'typing', room_id: r, state: true }), ok: null, notMine: 'error:forbidden' },
  { name: 'end (own room)', room: 'mine_elsewhere', frame: (r) => ({ type: 'end', room_id: r }), ok: 'ended',
    notMine: (perms) => (perms.includes(END_ANY) ? 'ended' : 'error:forbidden') },
  { name: "end (another agent's room)", room: 'other', frame: (r) => ({ type: 'end', room_id: r }), needs: [END_ANY], ok: 'ended' },
  { name: 'history (own room)', room: 'mine_elsewhere', frame: (r) => ({ type: 'history', room_id: r }), ok: 'history',
    notMine: (perms) => (perms.includes(MONITOR) ? 'history' : 'error:forbidden') },
  { name: "history (another agent's room)", room: 'other', frame: (r) => ({ type: 'history', room_id: r }), needs: [MONITOR],
    ok: 'history' },
  { name: 'resume (own room)', room: 'mine_elsewhere', frame: (r) => ({ type: 'resume', rooms: [{ room_id: r, last_seq: 0 }] }),
    ok: 'resumed', notMine: 'error:forbidden' },
  { name: "resume (another agent's room)", room: 'other', frame: (r) => ({ type: 'resume', rooms: [{ room_id: r, last_seq: 0 }] }),
    ok: 'error:forbidden' },
  { name: 'watch', room: 'other', frame: (r) => ({ type: 'watch', room_id: r }), needs: [MONITOR], ok: 'watching' },
  // Only stops following a room (one not watched is ignored): no permission, no answer.
  { name: 'unwatch', room: 'other', frame: (r) => ({ type: 'unwatch', room_id: r }), ok: null },
];

// The documented answer of row for a caller holding perms: a frame type, 'error:<code>' or null.
function expected(row, perms) {
  const own = row.room === 'mine' || row.room === 'mine_elsewhere';
  if (own && !perms.includes(ACCEPT)) return typeof row.notMine === 'function' ? row.notMine(perms) : row.notMine;
  if (row.needs && !row.needs.some((p) => perms.includes(p))) return row.no || 'error:forbidden';
  return row.ok;
}

const S = new Stack('matrix');
let gw, helper, helperConn;
let n = 0;

test.before(async () => {
  await S.start({ nodes: 1 });
  gw = await new Gateway(S.prefix).start();
  S.fixture('group', 'matrix_none');
  for (const p of vocabulary) S.fixture('group', `only_${p.replace('.', '_')}`, p);
  [helper] = S.users('mxhelper', 1, 'agent');
  helperConn = await S.agent(S.nodes[0], helper);
});
test.after(async () => { await gw?.close(); await S.stop(); });

// A waiting request of a new customer: its room id.
async function waitingRoom() {
  const cust = `mx${++n}`;
  await gw.publish('request_agent', cust, { customer_name: cust });
  return (await gw.waitFor((m) => m.type === 'request_waiting' && m.customer_id === cust)).room_id;
}

async function acceptOn(conn, rid) {
  conn.send({ type: 'accept', room_id: rid, ref: `take-${rid}` });
  const f = await conn.waitFor((x) => x.ref === `take-${rid}`, `the accept of ${rid}`);
  assert.equal(f.type, 'accepted', JSON.stringify(f));
}

// The room a row is about, for user u on connection conn (and the setup connection side).
async function roomFor(kind, u, conn, side) {
  if (!kind) return null;
  const rid = await waitingRoom();
  const mine = u.perms.includes(ACCEPT);
  if (kind === 'mine' && mine) await acceptOn(conn, rid);
  else if (kind === 'mine_elsewhere' && mine) await acceptOn(side, rid);
  else if (kind !== 'waiting') await acceptOn(helperConn, rid);
  return rid;
}

// The answer of conn to frame (sent with ref): the frame type, 'error:<code>', or null. An answer
// carries the ref, or names the room (watching, ended and request_withdrawn have no ref); what
// came before the frame was sent does not count. A row answered after a MongoDB job comes after
// the pong of a ping sent behind it; one documented to have no answer is given a second more.
async function answer(conn, frame, ref, rid, silent) {
  const from = conn.frames.length;
  conn.send({ ...frame, ref });
  conn.send({ type: 'ping', ref: `${ref}-after` });
  const isAnswer = (f, i) => i >= from && (f.ref === ref || (rid && f.room_id === rid && f.ref === undefined &&
    ['watching', 'ended', 'request_withdrawn', 'ack'].includes(f.type) && f.reason !== 'taken'));
  const found = () => conn.frames.find(isAnswer);
  if (silent) {
    await conn.waitFor((f) => f.ref === `${ref}-after`, 'pong');
    await new Promise((r) => setTimeout(r, 1000));
  } else {
    await conn.waitFor((f, i) => isAnswer(f, i), `the answer to ${frame.type}`).catch(() => {});
  }
  const f = found();
  if (!f) return null;
  return f.type === 'error' ? `error:${f.code}` : f.type;
}

const callers = [
  ...Object.entries(builtin).map(([group, perms]) => ({ name: `group ${group}`, group, perms })),
  ...vocabulary.map((p) => ({ name: `custom group with only ${p}`, group: `only_${p.replace('.', '_')}`, perms: [p] })),
  { name: 'custom group with no permission', group: 'matrix_none', perms: [] },
];

test('no login: /ws/agent refuses the upgrade with HTTP 401, whatever would be sent', async () => {
  await assert.rejects(S.connect(S.nodes[0], '/ws/agent'), /HTTP 401/);
  await assert.rejects(S.connect(S.nodes[0], '/ws/agent', { Authorization: 'Bearer not-a-session' }).then(async (c) => {
    const f = await c.waitFor((x) => x.type === 'error');
    await c.waitClosed();
    throw new Error(`HTTP 101 then ${f.code} ${c.closed.code}`);
  }), /HTTP 101 then unauthorized 4401/);
});

for (const caller of callers) {
  test(`${caller.name}: every /ws/agent action gets its documented answer`, async () => {
    const [u] = S.users(`mx${caller.group.replace(/_/g, '')}`, 1, caller.group);
    u.perms = caller.perms;
    const ctx = { ownCanned: S.fixture('canned', u.id, `own${++n}`, 'Hello {customer}').id,
                  otherCanned: S.fixture('canned', helper.id, `oth${++n}`, 'Hi from {agent}').id };
    if (!mayConnect(caller.perms)) {
      // The websocket opens, then forbidden and close 4403; frames sent meanwhile are not acted on.
      const c = await S.connect(S.nodes[0], '/ws/agent', { Authorization: `Bearer ${u.token}` });
      const rid = await waitingRoom();
      ACTIONS.forEach((row, i) => c.send({ ...row.frame(rid, ctx), ref: `r${i}` }));
      const err = await c.waitFor((f) => f.type === 'error' && f.ref === undefined, 'the refusal');
      assert.equal(err.code, 'forbidden');
      assert.equal((await c.waitClosed()).code, 4403);
      // Before hello every action is not_ready; ping alone is answered at any time (pong).
      const acted = c.all((f) => f.ref !== undefined && !(f.type === 'error' && f.code === 'not_ready'));
      assert.ok(acted.every((f) => f.type === 'pong' && f.ref === 'r0'), JSON.stringify(acted));
      assert.equal(S.fixture('room', rid).status, 'waiting', 'nothing was done');
      return;
    }
    const got = {}, want = {};
    for (const [i, row] of ACTIONS.entries()) {
      const side = await S.agent(S.nodes[0], u);
      const conn = await S.agent(S.nodes[0], u);
      const rid = await roomFor(row.room, u, conn, side);
      want[row.name] = expected(row, caller.perms);
      got[row.name] = await answer(conn, row.frame(rid, ctx), `x${i}`, rid, want[row.name] === null);
      conn.close();
      side.close();
    }
    assert.deepEqual(got, want);
  });
}
