// SPDX-License-Identifier: MIT
// What a fault costs a two-way conversation (issue 11, items 14-16). Five rooms talk both ways
// (a gateway customer and an agent each, a message every ~50 ms each way over the five) through
// each fault in turn: a RabbitMQ stop_app/start_app of ~5 s, a FerretDB kill -9 + restart after
// ~5 s (on a PRIVATE broker and database, private.mjs), kill -9 of wsd n0 started again at once,
// kill -9 of wsd n1 left down. The agents are the dashboard's own chat state
// (htdocs/js/chat-state.js: outbox, re-sends after `unavailable`, resume from the floor after a
// reconnect to the surviving node). For each fault it prints sent / delivered / lost /
// duplicated per direction and the outage the clients saw (the longest gap between two
// deliveries), and asserts: nothing lost, nothing twice, each sender's messages stored in the
// order typed, delivery back within the outage + 5 s; and that the room of an agent whose node
// died and who never returns ends with agent_disconnected within the grace period + presence
// expiry (node left down) or + the restart (node back at once) + a margin.
import test from 'node:test';
import assert from 'node:assert/strict';
import { Stack, sleep, until } from './harness.mjs';
import { Gateway } from './gateway.mjs';
import { PrivateRabbit, PrivateFerret } from './private.mjs';
import { DeskState } from '../../htdocs/js/chat-state.js';

const ROOMS = 5;
const TICK = ROOMS * 50;          // per room and direction: ~50 ms between messages over the five
const GRACE = 4;                  // reconnect_grace (s)
const PRESENCE_TTL = 15;          // a dead node's presence expires on the others after this (s)
const RECOVERY_SLACK = 5000;      // delivery resumes within the outage + this (ms)

const rabbit = new PrivateRabbit();
const ferret = new PrivateFerret();
let S, gw, talk;

test.before(async () => {
  await rabbit.start();
  await ferret.start();
  S = new Stack('faults', { mongo: ferret.url, amqp: rabbit.url });
  await S.start({ nodes: 2, settings: { reconnect_grace: GRACE } });
  gw = await new Gateway(S.prefix, 'test', rabbit.url).start();
  talk = await new Talk().start();
});
test.after(async () => {
  talk?.stop();
  await gw?.close();
  await S?.stop();
  await rabbit.stop();
  await ferret.stop();
});

// One agent at the dashboard: a connection to a node, reconnecting to the other node when its own
// dies, and the desk's state driving it exactly as chats.js does.
class Agent {
  constructor(user, nodeIndex, onMessage) {
    this.user = user;
    this.nodeIndex = nodeIndex;
    this.onMessage = onMessage;   // (room id, message) for each message the desk adds
    this.conn = null;
    this.desk = new DeskState((f) => {
      if (!this.conn || this.conn.closed || this.conn.ws.readyState !== 1) return false;
      this.conn.send(f);
      return true;
    });
    this.stopped = false;
  }

  async connect() {
    const c = await S.agent(S.nodes[this.nodeIndex], this.user);
    const before = c.frames.slice();
    c.ws.on('message', (data) => this.frame(JSON.parse(data.toString())));
    c.ws.on('close', () => { if (!this.stopped && this.conn === c) this.reconnect(); });
    this.conn = c;
    for (const f of before) this.frame(f);
    return this;
  }

  // Its node died: the other node, as the dashboard's next attempt lands on a live one.
  async reconnect() {
    this.nodeIndex = 1 - this.nodeIndex;
    for (;;) {
      try { return await this.connect(); } catch { await sleep(200); }
    }
  }

  added(rid, ms) { for (const m of ms) this.onMessage(rid, m); }

  frame(f) {
    const d = this.desk;
    switch (f.type) {
      case 'hello':
        for (const room of d.goneRooms(f.rooms)) room.end();
        for (const r of f.rooms) d.room(r);
        d.resync(f.rooms);
        break;
      case 'accepted': {
        const { room } = d.room(f.room);
        room.startFloor(f.history);
        this.added(room.id, room.add(f.history.filter((m) => m.room_id === room.id)));
        break;
      }
      case 'resumed': this.added(f.room_id, d.resumed(f) || []); break;
      case 'message': {
        const room = d.rooms.get(f.room_id);
        if (room) this.added(room.id, room.add([f.message]));
        break;
      }
      case 'ack': d.rooms.get(f.room_id)?.acked(f.id, f.message); break;
      case 'error': if (!d.retry(f) && d.messageOf(f)) throw new Error(`message refused: ${JSON.stringify(f)}`); break;
      default: break;
    }
  }

  stop() { this.stopped = true; this.conn?.terminate(); }
}

// Five rooms talking both ways; per fault phase a tag, what each side sent and when each message
// was first delivered to the other side.
class Talk {
  async start() {
    this.rooms = [];
    this.received = new Map();   // text -> [{ at, seq }] first delivery and every distinct seq
    const users = S.users('talk', ROOMS);
    for (let k = 0; k < ROOMS; k++) {
      const agent = await new Agent(users[k], k % 2, (rid, m) => { if (m.sender === 'customer') this.delivered(m); }).connect();
      const cust = `talk-${k}`;
      await gw.publishRetry('request_agent', cust, { customer_name: `Talk ${k}` });
      const w = await gw.waitFor((m) => m.type === 'request_waiting' && m.customer_id === cust);
      await agent.conn.waitFor((f) => f.type === 'request_offered' && f.room.id === w.room_id);
      agent.conn.send({ type: 'accept', room_id: w.room_id });
      await until(() => agent.desk.rooms.has(w.room_id), 'the accept');
      this.rooms.push({ k, cust, rid: w.room_id, agent });
    }
    this.seenGw = 0;
    this.gwTimer = setInterval(() => this.pollGateway(), 10);
    return this;
  }

  // The gateway deduplicates on id (docs/gateway.md); a text under two ids or seqs is a duplicate.
  pollGateway() {
    const all = gw.received;
    for (; this.seenGw < all.length; this.seenGw++) {
      const m = all[this.seenGw];
      if (m.type === 'agent_message') this.delivered(m);
    }
  }

  delivered(m) {
    if (m.sender === 'system') return;
    const r = this.received.get(m.text);
    if (!r) this.received.set(m.text, { at: Date.now(), ids: new Set([`${m.id}:${m.seq}`]) });
    else r.ids.add(`${m.id}:${m.seq}`);
  }

  // Both directions in every room until stop(): the customer's through the gateway, one at a time
  // with confirms (a gateway's contract); the agent's typed into the desk's outbox every TICK.
  run(tag) {
    this.tag = tag;
    this.going = true;
    this.sent = { in: [], out: [] };   // { text, k, i, at }
    const loops = [];
    for (const r of this.rooms) {
      loops.push((async () => {
        await sleep(r.k * 50);
        for (let i = 0; this.going; i++) {
          const text = `${tag} c${r.k} ${i}`;
          await gw.publishRetry('customer_message', r.cust, { text }, `${tag}-c${r.k}-${i}`);
          this.sent.in.push({ text, k: r.k, i, at: Date.now() });
          await sleep(TICK);
        }
      })());
      loops.push((async () => {
        await sleep(r.k * 50 + 25);
        for (let i = 0; this.going; i++) {
          const text = `${tag} a${r.k} ${i}`;
          r.agent.desk.rooms.get(r.rid).post(text);
          this.sent.out.push({ text, k: r.k, i, at: Date.now() });
          await sleep(TICK);
        }
      })());
    }
    this.loops = Promise.all(loops);
  }

  async halt() {
    this.going = false;
    await this.loops;
  }

  // Every message sent delivered (or the time is up), then the figures of the phase.
  async report(name, t0, t1) {
    const all = [...this.sent.in, ...this.sent.out];
    await until(() => all.every((s) => this.received.has(s.text)), 'every message delivered', 40000).catch(() => {});
    await sleep(1000);   // a late duplicate would show now
    const out = {};
    for (const dir of ['in', 'out']) {
      const sent = this.sent[dir];
      const got = sent.filter((s) => this.received.has(s.text));
      const times = got.map((s) => this.received.get(s.text).at).sort((a, b) => a - b);
      let gap = 0;
      for (let i = 1; i < times.length; i++) gap = Math.max(gap, times[i] - times[i - 1]);
      out[dir] = { sent: sent.length, delivered: got.length, lost: sent.length - got.length,
                   duplicated: got.filter((s) => this.received.get(s.text).ids.size > 1).length, gap };
    }
    const outage = t1 - t0;
    console.log(`# fault: ${name} (outage ${outage} ms)`);
    console.log('#   direction            sent  delivered  lost  duplicated  longest gap (ms)');
    for (const [dir, label] of [['in', 'customer -> agent'], ['out', 'agent -> customer']]) {
      const o = out[dir];
      console.log(`#   ${label.padEnd(19)} ${String(o.sent).padStart(5)} ${String(o.delivered).padStart(10)}` +
                  ` ${String(o.lost).padStart(5)} ${String(o.duplicated).padStart(11)} ${String(o.gap).padStart(17)}`);
    }
    return { ...out, outage };
  }

  // Each sender's messages stored once, in the order typed (seq order = typing order).
  assertStoredInOrder() {
    for (const r of this.rooms) {
      const stored = S.fixture('messages', r.rid).filter((m) => m.text.startsWith(`${this.tag} `));
      for (const [who, sender] of [['c', 'customer'], ['a', 'agent']]) {
        const mine = stored.filter((m) => m.sender === sender);
        const typed = this.sent[who === 'c' ? 'in' : 'out'].filter((s) => s.k === r.k).map((s) => s.text);
        assert.deepEqual(mine.map((m) => m.text), typed,
                         `room ${r.k}, ${sender}: stored in seq order = typed order, each once; stored as ` +
                         JSON.stringify(mine.map((m) => [m.seq, m.text])));
      }
    }
  }

  stop() {
    clearInterval(this.gwTimer);
    for (const r of this.rooms || []) r.agent.stop();
  }
}

function assertPhase(res, down) {
  for (const dir of ['in', 'out']) {
    assert.equal(res[dir].lost, 0, `${dir}: lost`);
    assert.equal(res[dir].duplicated, 0, `${dir}: duplicated`);
    assert.ok(res[dir].sent > 20, `${dir}: the conversation went on`);
    assert.ok(res[dir].gap <= res.outage + RECOVERY_SLACK,
              `${dir}: delivery resumed ${res[dir].gap} ms after it stopped (outage ${res.outage} ms)`);
  }
  for (const n of S.nodes) if (!down.includes(n.i)) assert.equal(n.exited, null, 'the other daemons stay up');
}

// fault() does the fault and returns [t0, t1]: when it began and ended as the clients see it.
// down: the nodes the fault killed.
async function phase(name, tag, fault, down = []) {
  talk.run(tag);
  await sleep(2000);
  const [t0, t1] = await fault();
  await sleep(3000);
  await talk.halt();
  const res = await talk.report(name, t0, t1);
  talk.assertStoredInOrder();
  assertPhase(res, down);
  return res;
}

test('RabbitMQ stop_app for ~5 s mid-conversation: nothing lost or twice, in order, back within outage + 5 s', async () => {
  await phase('RabbitMQ stop_app/start_app', 'rb', async () => {
    const t0 = Date.now();
    await rabbit.stopApp();
    await sleep(Math.max(0, 5000 - (Date.now() - t0)));
    await rabbit.startApp();
    return [t0, Date.now()];
  });
});

test('FerretDB kill -9 and restart after ~5 s mid-conversation: nothing lost or twice, in order, back within outage + 5 s', async () => {
  await phase('FerretDB kill -9 and restart', 'fd', async () => {
    const t0 = Date.now();
    await ferret.kill();
    await sleep(Math.max(0, 5000 - (Date.now() - t0)));
    await ferret.boot();
    return [t0, Date.now()];
  });
});

// An agent on node i, in a room of their own, who will never come back: the room id.
async function orphan(i) {
  const [u] = S.users(`orphan${i}`, 1);
  const lone = await S.agent(S.nodes[i], u);
  const cust = `orphan-${i}`;
  await gw.publishRetry('request_agent', cust, { customer_name: 'Orphan' });
  const w = await gw.waitFor((m) => m.type === 'request_waiting' && m.customer_id === cust);
  await lone.waitFor((f) => f.type === 'request_offered' && f.room.id === w.room_id);
  lone.send({ type: 'accept', room_id: w.room_id });
  await lone.waitFor((f) => f.type === 'accepted' && f.room.id === w.room_id);
  return w.room_id;
}

// The orphaned room ends with agent_disconnected within bound ms of the kill; the agents who
// came back on the other node keep theirs.
async function assertOrphanEnds(rid, killed, bound) {
  const se = await gw.waitFor((m) => m.type === 'session_ended' && m.room_id === rid,
                              'the orphaned room to end', Math.max(1000, killed + bound - Date.now()));
  console.log(`#   orphaned room ended ${Date.now() - killed} ms after the kill (bound ${bound} ms)`);
  assert.equal(se.reason, 'agent_disconnected');
  assert.equal(S.fixture('room', rid).close_reason, 'agent_disconnected');
  for (const r of talk.rooms) assert.equal(S.fixture('room', r.rid).status, 'engaged', 'the agents who came back keep their rooms');
}

async function killPhase(i) {
  let killed;
  await phase(`kill -9 of wsd n${i}`, `k${i}`, async () => {
    killed = Date.now();
    S.nodes[i].proc.kill('SIGKILL');
    await until(() => S.nodes[i].exited, `n${i} to die`);
    return [killed, Date.now()];
  }, [i]);
  return killed;
}

// Started again at once under the same node id (as systemd's Restart= does), the node replaces
// the dead one's presence before it expires: the survivor starts the grace period of the dead
// one's agents when the restarted node's first presence arrives (orphan.test.mjs has the case).
test('kill -9 of wsd n0, started again at once: nothing lost or twice, in order; an orphaned room ends', async () => {
  const rid = await orphan(0);
  const killed = await killPhase(0);
  const restarting = Date.now();   // a few seconds on: the phase's tail and report ran first
  await S.startNode(0);
  await assertOrphanEnds(rid, killed, restarting - killed + (GRACE + 8) * 1000);
});

// Not started again: the dead node's presence expires on the survivor, whose grace timers run.
test('kill -9 of wsd n1, left down: nothing lost or twice, in order; an orphaned room ends on time', async () => {
  const rid = await orphan(1);
  const killed = await killPhase(1);
  await assertOrphanEnds(rid, killed, (GRACE + PRESENCE_TTL + 10) * 1000);
});
