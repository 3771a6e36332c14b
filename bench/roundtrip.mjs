// SPDX-License-Identifier: MIT
// bench/roundtrip.mjs: gateway -> agent -> gateway round trips through livechat or through the
// comparison peer (bench/peer/), driven the same way (a benchmark, asserts nothing).
// A gateway (AMQP, docs/gateway.md: confirms, persistent, its own outbound queue) opens R rooms
// with request_agent; R agents (one per room) accept them; then each round trip is: the gateway
// publishes a customer_message -> the relay stores it and forwards it to the room's agent over
// its websocket -> the agent answers at once -> the relay stores the answer and publishes it
// outbound -> the gateway receives the agent_message. Latency = publish -> receipt (one clock).
//   node bench/roundtrip.mjs --target livechat --base URL --admin-password PW --agent-ws ws://H:P
//   node bench/roundtrip.mjs --target peer --peer http://H:P
//     common: --prefix P [--amqp URL] [--channel C] [--rooms R] [--window W[,W2...]] [--seconds S]
//             [--rates R1,R2|auto] [--drain S] [--setup-timeout S] [--typing N] [--text-bytes N] [--pids name:pid,...] [--mongo URI]
//             [--label TEXT] [--backend NAME] [--stored N] [--json FILE] [--perf FILE] [--metrics URL]
// Phases: "saturate": W round trips in flight per room for S seconds (throughput), once per
// window given (the best of them is the relay's saturated rate, marked `best`); then one per
// rate: round trips started at a fixed total rate for S seconds (`auto` = half the saturated
// rate). After each phase it waits up to --drain seconds for what is still in flight; the rate
// delivered is what came back (then too) over the time until the last came back. Also
// reports each room's offer (request_agent published -> request_offered on its agent's
// dashboard: a new customer's room opening), accept (accept -> accepted/history) time, and at
// the end the same customers' offer when they leave and ask again (returning customers). --pids: processes whose CPU time
// per phase is reported (name:pid; name:pid+ counts its descendants too, for PostgreSQL); those
// named ferretdb or postgres count as the database. --mongo: the database server, whose command
// counters (serverStatus) give database operations per stored message. --perf: `perf record -a`
// during the saturate phase. --typing N (default 20, 0: off): beside every phase, agents send N
// typing frames/s in total (not stored), timed to the gateway; first a phase of typing alone.
// --metrics URL (livechat): wsd's /metrics, read before the customers ask and after every accept
// came back: the database operations (and their time) per room from request to engaged.
// Prints markdown rows on stdout, appends JSON lines to FILE.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { clampArg, cpuPercent, cpuSeconds, drive, perfRecord, Resender, saturateThenRates, cpuSnapshot, dbCommands, makeAgents, parseArgs, parsePids, pct, require,
  sleep, until } from './lib.mjs';

const amqp = require('amqplib');

const args = parseArgs(process.argv.slice(2));
const TARGET = args.target === 'peer' ? 'peer' : 'livechat';
const PREFIX = args.prefix;
const CHANNEL = args.channel || 'bench';
const R = clampArg(args.rooms, 10, 1, 200);
// --window W1,W2,...: one saturate phase per window; the best is the relay's saturated rate.
const WINDOWS = String(args.window || '4').split(',').map((w) => clampArg(w, 4, 1, 1000));
const SECS = clampArg(args.seconds, 10, 1, 600);
const RATES = (args.rates || 'auto').split(',');
const DRAIN_MS = clampArg(args.drain, 30, 1, 600) * 1000;
const TYPING_RATE = clampArg(args.typing, 20, 0, 100000);
const SETUP_MS = clampArg(args['setup-timeout'], 600, 10, 3600) * 1000;
const TEXT_BYTES = clampArg(args['text-bytes'], 64, 8, 4000);
const PIDS = parsePids(args.pids);
const DB_NAMES = new Set(['ferretdb', 'postgres']);
const LABEL = args.label || TARGET;
const tag = crypto.randomBytes(3).toString('hex');
if (!PREFIX) { console.error('roundtrip: --prefix is required'); process.exit(2); }

const log = (...a) => console.error(`roundtrip[${LABEL}]:`, ...a);

// ---- the gateway
class Gateway {
  async start(onOutbound) {
    // noDelay: a gateway's small frames (publishes, acks) go out at once; with Nagle's algorithm
    // (amqplib's default) one waited for the ACK of the one before, up to tens of ms, and that
    // wait was counted in both relays' round trips.
    this.conn = await amqp.connect(args.amqp || process.env.LIVECHAT_AMQP_URL || 'amqp://guest:guest@127.0.0.1:5672/',
      { noDelay: true });
    this.conn.on('error', () => {});
    this.ch = await this.conn.createConfirmChannel();
    this.ch.on('error', () => {});
    await this.ch.assertExchange(`${PREFIX}.inbound`, 'topic', { durable: true });
    await this.ch.assertExchange(`${PREFIX}.outbound`, 'topic', { durable: true });
    this.queue = `${PREFIX}.outbound.${CHANNEL}`;
    await this.ch.assertQueue(this.queue, { durable: true });
    await this.ch.bindQueue(this.queue, `${PREFIX}.outbound`, `${CHANNEL}.#`);
    await this.ch.consume(this.queue, (m) => {
      if (!m) return;
      onOutbound(JSON.parse(m.content.toString()));
      this.ch.ack(m);
    }, { noAck: false });
    return this;
  }

  publish(type, customerId, fields, id = `gw-${tag}-${crypto.randomBytes(6).toString('hex')}`) {
    const msg = { type, id, channel: CHANNEL, customer_id: customerId, ts: Date.now(), ...fields };
    this.ch.publish(`${PREFIX}.inbound`, CHANNEL, Buffer.from(JSON.stringify(msg)),
      { persistent: true, messageId: id, contentType: 'application/json' }, (err) => { if (err) this.nacked++; });
  }

  async close() {
    await this.ch.deleteQueue(this.queue).catch(() => {});
    await this.conn.close().catch(() => {});
  }
}

// ---- agents: the same three things (see offers, accept, answer a customer) over livechat's
// websocket protocol (docs/websocket.md) or the peer's socket.io events.
class LivechatAgent {
  static async open(url, token) {
    const WebSocket = require('ws');
    const ws = new WebSocket(`${url}/ws/agent`, { headers: { Authorization: `Bearer ${token}` },
      perMessageDeflate: false });
    const a = new LivechatAgent(ws);
    await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
    await until(() => a.hello, 'agent hello');
    return a;
  }

  constructor(ws) {
    this.ws = ws;
    this.offers = new Map();    // customer id -> room id
    this.offerAt = new Map();   // customer id -> when its request_offered came (performance.now())
    this.resender = new Resender((frame) => this.ws.send(JSON.stringify(frame)));
    this.errors = 0;
    this.onCustomer = null;
    this.onAccepted = null;     // the pending accept's answer
    ws.on('error', () => {});
    ws.on('message', (data) => {
      const f = JSON.parse(data.toString());
      if (f.type === 'message' && f.message?.sender === 'customer') this.onCustomer?.(f.room_id, f.message.text);
      else if (f.type === 'ack' && f.id) this.resender.acked(f.id);
      else if (f.type === 'request_offered') {
        this.offers.set(f.room.customer_id, f.room.id);
        this.offerAt.set(f.room.customer_id, performance.now());
      }
      else if (f.type === 'hello') this.hello = f;
      else if (f.type === 'accepted' || f.type === 'already_taken') this.onAccepted?.(f);
      else if (f.type === 'error') this.failed(f);
    });
  }

  failed(f) {
    if (this.resender.retry(f)) return;
    this.errors++;
    this.lastError = f;
  }

  async accept(customerId) {
    const roomId = await until(() => this.offers.get(customerId), `request_offered for ${customerId}`, SETUP_MS);
    // Timed to the frame's arrival (as the peer's to its acknowledgement), not to a poll.
    const t0 = performance.now();
    const f = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for accepted of ${roomId}`)), SETUP_MS);
      this.onAccepted = (x) => { clearTimeout(timer); this.onAccepted = null; resolve(x); };
      this.ws.send(JSON.stringify({ type: 'accept', room_id: roomId, ref: 'a' }));
    });
    if (f.type !== 'accepted') throw new Error(`accept of ${roomId}: ${f.type}`);
    return { roomId, ms: performance.now() - t0, history: f.history?.length ?? 0 };
  }

  typing(roomId, state) { this.ws.send(JSON.stringify({ type: 'typing', room_id: roomId, state })); }

  reply(roomId, id, text) {
    this.resender.track(id, { type: 'message', room_id: roomId, id, text });
  }

  close() { this.ws.terminate(); }
}

class PeerAgent {
  static async open(url, name) {
    const { io } = require('socket.io-client');
    const socket = io(url, { auth: { agent: name }, transports: ['websocket'], reconnection: false });
    const a = new PeerAgent(socket);
    await new Promise((resolve, reject) => { socket.once('connect', resolve); socket.once('connect_error', reject); });
    return a;
  }

  constructor(socket) {
    this.socket = socket;
    this.offers = new Map();
    this.offerAt = new Map();
    this.errors = 0;
    this.onCustomer = null;
    socket.on('request_offered', (o) => {
      this.offers.set(o.customer_id, o.room_id);
      this.offerAt.set(o.customer_id, performance.now());
    });
    socket.on('message', (f) => { if (f.message?.sender === 'customer') this.onCustomer?.(f.room_id, f.message.text); });
  }

  async accept(customerId) {
    const roomId = await until(() => this.offers.get(customerId), `request_offered for ${customerId}`, SETUP_MS);
    const t0 = performance.now();
    const r = await this.socket.timeout(SETUP_MS).emitWithAck('accept', { room_id: roomId });
    if (r.error) throw new Error(`accept of ${roomId}: ${r.error}`);
    return { roomId, ms: performance.now() - t0, history: r.history?.length ?? 0 };
  }

  typing(roomId, state) { this.socket.emit('typing', { room_id: roomId, state }); }

  reply(roomId, id, text) {
    this.socket.emit('message', { room_id: roomId, id, text }, (r) => {
      if (r?.error) { this.errors++; this.lastError = r; }
    });
  }

  close() { this.socket.close(); }
}

// ---- setup: R rooms, each engaged with its own agent
async function openAgents() {
  if (TARGET === 'peer') {
    return Promise.all(Array.from({ length: R }, (_, k) => PeerAgent.open(args.peer, `Bench Agent ${k}`)));
  }
  const made = await makeAgents(args.base, args['admin-password'], R, tag);
  const agents = [];
  for (const a of made) agents.push(await LivechatAgent.open(args['agent-ws'], a.token));
  return agents;
}

// wsd's store operations by kind, {kind: [count, seconds]} (null without --metrics).
async function storeOps() {
  if (!args.metrics) return null;
  const text = await (await fetch(args.metrics)).text();
  const ops = {};
  for (const m of text.matchAll(/^livechat_wsd_store_operation(s|_seconds)_total\{op="(\w+)"\} (\S+)$/gm)) {
    ops[m[2]] ??= [0, 0];
    ops[m[2]][m[1] === 's' ? 0 : 1] = Number(m[3]);
  }
  return ops;
}

// wsd's latency histograms (docs/operations.md, Metrics) by name: {bounds: [s...], counts: [...]}
// (cumulative, +Inf last); null without --metrics.
const WSD_HISTS = ['livechat_wsd_bus_ephemeral_publish_seconds', 'livechat_wsd_loop_post_wait_seconds',
  'livechat_wsd_bus_publish_seconds'];
async function wsdHists() {
  if (!args.metrics) return null;
  const text = await (await fetch(args.metrics)).text();
  const out = {};
  for (const name of WSD_HISTS) {
    const h = { bounds: [], counts: [] };
    for (const m of text.matchAll(new RegExp(`^${name}_bucket\\{le="([^"]+)"\\} (\\S+)$`, 'gm'))) {
      h.bounds.push(m[1] === '+Inf' ? Infinity : Number(m[1]));
      h.counts.push(Number(m[2]));
    }
    out[name] = h;
  }
  return out;
}

// Between two readings of one histogram: the bound (ms) of the bucket that holds quantile q of
// the observations made meanwhile ("at most this"), and how many there were.
function histQuantile(a, b, name, q) {
  const ha = a?.[name], hb = b?.[name];
  if (!ha || !hb || hb.counts.length === 0) return null;
  const d = hb.counts.map((c, i) => c - (ha.counts[i] ?? 0));
  const n = d.at(-1);
  if (!(n > 0)) return { n: 0, le_ms: null };
  const i = d.findIndex((c) => c >= q * n);
  const le = hb.bounds[i];
  return { n, le_ms: le === Infinity ? null : +(le * 1000).toFixed(3) };
}

// What the rooms' setup cost the database, per room: operations by kind, in all, and their time.
function perRoom(a, b) {
  if (!a || !b) return null;
  const out = { ops: 0, ms: 0, by_kind: {} };
  for (const [k, [n, secs]] of Object.entries(b)) {
    const dn = n - (a[k]?.[0] ?? 0), ds = secs - (a[k]?.[1] ?? 0);
    if (dn <= 0) continue;
    out.by_kind[k] = +(dn / R).toFixed(2);
    out.ops += dn / R;
    out.ms += ds * 1000 / R;
  }
  out.ops = +out.ops.toFixed(2);
  out.ms = +out.ms.toFixed(2);
  return out;
}

const pad = 'x'.repeat(TEXT_BYTES);
let onReply = () => {};
let onTyping = () => {};
const gw = await new Gateway().start((m) => {
  if (m.type === 'agent_message' && typeof m.text === 'string' && m.text.startsWith('re ')) onReply(m.text.slice(3));
  else if (m.type === 'agent_typing') onTyping(m.customer_id, m.ts);
});
gw.nacked = 0;
let agents = [];
let customers = [];
let mongo = null;
let status = 0;
try {
  if (args.mongo) {
    const { MongoClient } = require('mongodb');
    mongo = await MongoClient.connect(args.mongo, { maxPoolSize: 1 });
  }
  agents = await openAgents();
  // Every customer asks at once; each agent accepts its own customer's room (all accepts in
  // flight together: on a slow database they queue there, not here).
  customers = agents.map((_, k) => `rt${tag}c${k}`);
  const ops0 = await storeOps();
  const asked = performance.now();
  for (const [k, c] of customers.entries()) gw.publish('request_agent', c, { customer_name: `Bench Customer ${k}` });
  const taken = await Promise.all(agents.map((a, k) => a.accept(customers[k])));
  const accepts = taken.map((a) => a.ms);
  const setupOps = perRoom(ops0, await storeOps());
  // New customers' requests: from their publish to the offer on their agent's dashboard (the
  // room opens: a first chat's cost, which must not grow with the customers stored).
  const offered = agents.map((a, k) => a.offerAt.get(customers[k]) - asked).sort((x, y) => x - y);
  const rooms = taken.map((a, k) => ({ k, customerId: customers[k], roomId: a.roomId, agent: agents[k], inflight: 0 }));
  // Each agent answers every customer message of its room at once, naming it.
  for (const a of agents) a.onCustomer = (roomId, text) => {
    const id = text.split(' ', 1)[0];
    a.reply(roomId, `r${id}`, `re ${id}`);
  };
  accepts.sort((x, y) => x - y);
  log(`${R} rooms engaged; offer p50 ${pct(offered, 0.5)} ms, max ${pct(offered, 1)} ms; ` +
      `accept p50 ${pct(accepts, 0.5)} ms, max ${pct(accepts, 1)} ms` +
      (setupOps ? `; per room ${setupOps.ops} DB operations (${JSON.stringify(setupOps.by_kind)}), ${setupOps.ms} ms` : ''));

  const results = [];
  // One phase: round trips (rate 0: saturate, > 0: that rate, null: none) and, beside them, the
  // typing probe: agents' typing frames at TYPING_RATE in total (not stored: agent -> relay ->
  // RabbitMQ -> gateway), timed in order per room.
  let phaseNo = 0;   // in the message ids: phases of the same name (one per window) never share one
  const phase = async (name, rate, W = null) => {
    const pn = phaseNo++;
    const sent = new Map();   // id -> [send time, room]
    const lat = [];
    const typingSent = new Map(rooms.map((r) => [r.customerId, []]));
    const typingLat = [];
    // Split at the relay's ts (the wall clock, ms, when it made the outbound typing message; same
    // machine): agent -> relay, and relay -> RabbitMQ -> the gateway's handler.
    const typingIn = [], typingOut = [];
    let typingN = 0, typingOn = true;
    onTyping = (customerId, ts) => {
      const t = typingSent.get(customerId)?.shift();
      if (t === undefined || !typingOn) return;
      typingLat.push(performance.now() - t[0]);
      if (typeof ts === 'number') { typingIn.push(ts - t[1]); typingOut.push(Date.now() - ts); }
    };
    const sendTyping = (room) => {
      typingSent.get(room.customerId).push([performance.now(), Date.now()]);
      room.agent.typing(room.roomId, (typingN++ & 1) === 0);
    };
    let nSent = 0, seq = 0, running = true, completed = 0, tLast = 0;
    const sendOne = (room) => {
      const id = `${tag}-${name}${pn}-${seq++}`;
      sent.set(id, [performance.now(), room]);
      room.inflight++;
      nSent++;
      gw.publish('customer_message', room.customerId, { text: `${id} ${pad}`.slice(0, Math.max(TEXT_BYTES, id.length)) },
        `rt-${id}`);
    };
    onReply = (id) => {
      const s = sent.get(id);
      if (!s) return;
      sent.delete(id);
      completed++;
      tLast = performance.now();
      lat.push(tLast - s[0]);
      s[1].inflight--;
      if (running && rate === 0) sendOne(s[1]);
    };
    const errorsBefore = agents.reduce((n, a) => n + a.errors, 0);
    const perf = args.perf && rate === 0 ? perfRecord(args.perf, SECS, log) : null;
    const cmd0 = mongo ? await dbCommands(mongo.db('admin')) : null;
    const h0 = await wsdHists();
    const c0 = cpuSnapshot(PIDS);
    const t0 = performance.now();
    await Promise.all([rate === null ? sleep(SECS * 1000) : drive(rate, SECS, rooms, W, sendOne),
      TYPING_RATE ? drive(TYPING_RATE, SECS, rooms, 0, sendTyping) : null]);
    running = false;
    await perf?.done();
    const drainEnd = Date.now() + DRAIN_MS;
    while (sent.size > 0 && Date.now() < drainEnd) await sleep(20);
    const c1 = cpuSnapshot(PIDS);
    typingOn = false;
    typingLat.sort((x, y) => x - y);
    typingIn.sort((x, y) => x - y);
    typingOut.sort((x, y) => x - y);
    const cmd1 = mongo ? await dbCommands(mongo.db('admin')) : null;
    const h1 = await wsdHists();
    // Inside wsd (livechat): the typing frames from queued to the broker's confirm, and how long
    // the loop kept other threads' results waiting; p99 as the bound of its bucket.
    const wsdTyping = histQuantile(h0, h1, WSD_HISTS[0], 0.99);
    const wsdPostWait = histQuantile(h0, h1, WSD_HISTS[1], 0.99);
    // A stored message's outbound publish, queued -> confirmed (the agents' messages, mostly).
    const wsdPub50 = histQuantile(h0, h1, WSD_HISTS[2], 0.5), wsdPub99 = histQuantile(h0, h1, WSD_HISTS[2], 0.99);
    // Delivered rate: what came back (during the phase and the drain after it) over the time
    // until the last one came; round trips slower than the phase still count.
    const secs = (Math.max(tLast, t0 + SECS * 1000) - t0) / 1000;
    lat.sort((x, y) => x - y);
    const cpu = cpuSeconds(c0, c1);
    const dbCpu = Object.entries(cpu).filter(([n]) => DB_NAMES.has(n)).reduce((s, [, v]) => s + v, 0);
    const errors = agents.reduce((n, a) => n + a.errors, 0) - errorsBefore;
    return {
      bench: 'roundtrip', target: TARGET, label: LABEL, backend: args.backend || null,
      stored: args.stored ? Number(args.stored) : null, phase: name, rooms: R,
      window: rate === 0 ? W : null, offered_per_s: rate || null, seconds: +secs.toFixed(2), sent: nSent,
      round_trips: completed, undelivered: sent.size, round_trips_per_s: +(completed / secs).toFixed(1),
      p50_ms: pct(lat, 0.5), p90_ms: pct(lat, 0.9), p99_ms: pct(lat, 0.99), max_ms: pct(lat, 1),
      db_cpu_s_per_1000: completed ? +(dbCpu / completed * 1000).toFixed(2) : null,
      // Two stored messages per round trip (the customer's and the agent's).
      db_ops_per_stored: cmd0 !== null && cmd1 !== null && completed ? +((cmd1 - cmd0) / (2 * completed)).toFixed(2)
        : null,
      errors, last_error: agents.map((a) => a.lastError).find(Boolean) || null, publish_nacks: gw.nacked,
      cpu_percent: cpuPercent(c0, c1), accept_p50_ms: pct(accepts, 0.5), accept_max_ms: pct(accepts, 1),
      offer_max_ms: pct(offered, 1), setup_db_ops_per_room: setupOps,
      typing_per_s: TYPING_RATE || null, typing_sent: typingN, typing_received: typingLat.length,
      typing_p50_ms: pct(typingLat, 0.5), typing_p99_ms: pct(typingLat, 0.99),
      typing_to_relay_p99_ms: pct(typingIn, 0.99), typing_from_relay_p99_ms: pct(typingOut, 0.99),
      wsd_typing_confirmed_p99_le_ms: wsdTyping?.le_ms ?? null, wsd_typing_confirmed_n: wsdTyping?.n ?? null,
      wsd_loop_post_wait_p99_le_ms: wsdPostWait?.le_ms ?? null, wsd_loop_posts: wsdPostWait?.n ?? null,
      wsd_publish_confirmed_p50_le_ms: wsdPub50?.le_ms ?? null, wsd_publish_confirmed_p99_le_ms: wsdPub99?.le_ms ?? null,
    };
  };

  if (TYPING_RATE) {
    log('typing alone');
    results.push(await phase('typing-alone', null));
  }
  results.push(...await saturateThenRates('', RATES, 2, (r) => r.round_trips_per_s, phase, log, WINDOWS));
  // Returning customers: the same customers leave and ask again; request -> offer of their new
  // room (a returning customer's open finds their previous room first: its cost must not grow
  // with the customers stored either). Bounded: a relay that never offers reports nothing.
  for (const c of customers) gw.publish('customer_left', c, {});
  await gw.ch.waitForConfirms().catch(() => {});
  await sleep(1000);
  for (const a of agents) { a.offers.clear(); a.offerAt.clear(); }
  const askedAgain = performance.now();
  for (const [k, c] of customers.entries()) gw.publish('request_agent', c, { customer_name: `Bench Customer ${k}` });
  const returned = [];
  await until(() => agents.every((a, k) => a.offerAt.has(customers[k])), 'offers to returning customers',
    Math.min(SETUP_MS, 60000)).catch((e) => log(e.message));
  for (const [k, a] of agents.entries()) if (a.offerAt.has(customers[k])) returned.push(a.offerAt.get(customers[k]) - askedAgain);
  returned.sort((x, y) => x - y);
  log(`returning customers: offer p50 ${pct(returned, 0.5)} ms, max ${pct(returned, 1)} ms (${returned.length} of ${R})`);
  for (const r of results) {
    r.return_offer_max_ms = returned.length === R ? pct(returned, 1) : null;
    r.return_offer_p50_ms = returned.length === R ? pct(returned, 0.5) : null;
  }
  const fmt = (v) => (v === null || v === undefined ? '-' : String(v));
  for (const r of results) {
    const cpu = Object.entries(r.cpu_percent).map(([n, v]) => `${n} ${v}%`).join(', ');
    console.log(`| ${r.label} | ${fmt(r.backend)} | ${fmt(r.stored)} | ${r.phase} | ` +
      `${r.window ? `window ${r.window}/room` : r.offered_per_s ? `${r.offered_per_s}/s` : 'none'} | ${r.sent} | ` +
      `**${r.round_trips_per_s}** | ${fmt(r.p50_ms)} | **${fmt(r.p99_ms)}** | ${fmt(r.max_ms)} | ${r.undelivered} | ` +
      `${fmt(r.typing_p99_ms)}${r.typing_sent && r.typing_received < r.typing_sent ? ` (${r.typing_sent - r.typing_received} late)` : ''} | ${r.errors} | ` +
      `${fmt(r.db_cpu_s_per_1000)} | ${fmt(r.db_ops_per_stored)} | ${cpu} |`);
  }
  if (args.json) for (const r of results) fs.appendFileSync(args.json, `${JSON.stringify(r)}\n`);
  // The customers leave again: their new rooms are closed.
  for (const c of customers) gw.publish('customer_left', c, {});
  await gw.ch.waitForConfirms().catch(() => {});
} catch (e) {
  log(`failed: ${e.stack || e.message}`);
  console.log(`| ${LABEL} | ${fmt0(args.backend)} | ${fmt0(args.stored)} | failed: ${String(e.message).replace(/\|/g, '/')} |`);
  status = 1;
} finally {
  for (const a of agents) a.close();
  await gw.close();
  await mongo?.close();
}
function fmt0(v) { return v ?? '-'; }
process.exit(status);
