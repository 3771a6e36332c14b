// SPDX-License-Identifier: MIT
// bench/relay.mjs: relay throughput and latency of livechat-wsd (a benchmark, asserts nothing).
// K agents (made through the REST API) and K widget customers, each pair in its own engaged room;
// customers' and agents' messages both ways, every one stored in MongoDB before it is delivered.
// Latency = receipt by the other side - send, both clocks in this process.
//   node bench/relay.mjs --base URL --admin-password PW --agent-ws ws://H:P --widget-ws ws://H:P
//        [--label TEXT] [--pairs K] [--window W] [--seconds S] [--rates R1,R2|auto]
//        [--text-bytes N] [--pids name:pid,...] [--json FILE] [--perf FILE] [--typing R1,R2|auto]
//        [--typing-window W] [--drain S]
// Phases: "saturate": every sender keeps W messages in flight for S seconds (throughput);
// then one phase per rate: messages sent at a fixed total rate for S seconds (latency at that
// load; `auto` = half the saturated throughput). A widget customer's messages and an agent's
// typing frames are limited by wsd to 10 a second per connection (docs/websocket.md
// `rate_limited`): in a rate phase each such sender sends at most SENDER_CAP (8) a second and the
// agents' messages take the rest of the rate, so that the phase measures the relay, not the
// limiter's backlog. --typing: then the same with typing frames from
// agents to customers (not stored: the relay through RabbitMQ without MongoDB), at rates R. Prints a markdown table on stdout, progress on
// stderr, appends one JSON object per phase to FILE. --pids: processes whose CPU use per phase is
// reported (/proc/PID/stat), e.g. wsd-1:123,ferretdb:456. --perf: `perf record -a` (the whole
// machine, 499 Hz) into FILE during the saturate phase, FILE.typing during typing-saturate.
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { clampArg, cpuPercent, drive, perfRecord, Resender, saturateThenRates, cpuSnapshot as snapshotOf, makeAgents, parseArgs, parsePids, pct,
  require, sleep, until } from './lib.mjs';

const WebSocket = require('ws');

const args = parseArgs(process.argv.slice(2));
const need = (k) => { if (!args[k]) { console.error(`relay: --${k} is required`); process.exit(2); } return args[k]; };
const BASE = need('base');
const ADMIN_PW = need('admin-password');
const AGENT_WS = need('agent-ws');
const WIDGET_WS = need('widget-ws');
const LABEL = args.label || 'relay';
const K = clampArg(args.pairs, 10, 1, 500);
const W = clampArg(args.window, 4, 1, 1000);
const SECS = clampArg(args.seconds, 10, 1, 600);
const RATES = (args.rates || 'auto').split(',');
const TEXT_BYTES = clampArg(args['text-bytes'], 64, 8, 4000);
const PIDS = parsePids(args.pids);
const PERF = args.perf || null;
const TW = clampArg(args['typing-window'], 16, 1, 1000);
const TYPING = args.typing !== undefined && args.typing !== 'no';
const TYPING_RATES = (args.typing && args.typing !== 'yes' ? args.typing : 'auto').split(',');
const DRAIN_MS = clampArg(args.drain, 15, 1, 600) * 1000;

const log = (...a) => console.error(`relay[${LABEL}]:`, ...a);
const SENDER_CAP = 8;   // under wsd's 10 frames/s per widget (messages) or agent (typing)

// A fixed total rate over the senders for secs: the capped ones (customers' messages, typing)
// at most SENDER_CAP a second each, the others (agents' messages) evenly the rest.
async function driveCapped(rate, secs, senders, sendOne) {
  const capped = senders.filter((s) => s.kind !== 'a');
  const free = senders.filter((s) => s.kind === 'a');
  const each = free.length ? Math.min(SENDER_CAP, rate / senders.length) : Math.min(SENDER_CAP, rate / capped.length);
  const rest = free.length ? (rate - each * capped.length) / free.length : 0;
  for (const s of senders) { s.rate = s.kind === 'a' ? rest : each; s.due = 0; }
  const offered = senders.reduce((n, s) => n + s.rate, 0);
  const t0 = performance.now();
  while (performance.now() - t0 < secs * 1000) {
    const t = (performance.now() - t0) / 1000;
    for (const s of senders) {
      for (; s.due < Math.floor(s.rate * t); s.due++) sendOne(s);
    }
    await sleep(2);
  }
  return offered;
}

// A websocket that keeps the frames it has not consumed yet and hands the chat messages to onMsg.
class Peer {
  static open(url, headers) {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { headers, perMessageDeflate: false });
      const p = new Peer(ws);
      ws.once('open', () => resolve(p));
      ws.once('error', reject);
      ws.once('unexpected-response', (_q, res) => reject(new Error(`${url}: HTTP ${res.statusCode}`)));
    });
  }

  constructor(ws) {
    this.ws = ws;
    this.frames = [];
    this.errors = 0;
    this.lastError = null;
    this.onMsg = null;
    this.resender = new Resender((o) => this.send(o));
    ws.on('message', (data) => {
      const f = JSON.parse(data.toString());
      if (f.type === 'message' && this.onMsg) { this.onMsg(f.message); return; }
      if (f.type === 'typing' && this.onTyping) { this.onTyping(f); return; }
      if (f.type === 'ack' && f.id) this.resender.acked(f.id);
      if (f.type === 'ack' && this.onMsg) return;   // acks of the load phase: not needed
      if (f.type === 'error' && this.resender.retry(f)) return;
      if (f.type === 'error') { this.errors++; this.lastError = f; }
      if (this.frames.length < 10000) this.frames.push(f);
    });
    ws.on('error', () => {});
  }

  send(o) { this.ws.send(JSON.stringify(o)); }
  waitFor(pred, what, ms) {
    return until(() => { const i = this.frames.findIndex(pred); return i >= 0 ? this.frames.splice(i, 1)[0] : null; },
      what, ms);
  }
  close() { this.ws.terminate(); }
}

const cpuSnapshot = () => snapshotOf(PIDS);

async function setup() {
  const tag = Date.now().toString(36);
  const agents = await makeAgents(BASE, ADMIN_PW, K, tag);
  log(`${K} agents created`);
  const pairs = [];
  for (let k = 0; k < K; k++) {
    const a = await Peer.open(`${AGENT_WS}/ws/agent`, { Authorization: `Bearer ${agents[k].token}` });
    await a.waitFor((f) => f.type === 'hello', 'agent hello');
    pairs.push({ k, agent: a });
  }
  for (const p of pairs) {
    const w = await Peer.open(`${WIDGET_WS}/ws/widget`, {});
    w.send({ type: 'hello' });
    const welcome = await w.waitFor((f) => f.type === 'welcome', 'welcome');
    p.widget = w;
    p.customerId = welcome.customer_id;
  }
  for (const p of pairs) {
    p.widget.send({ type: 'request', name: `Bench Customer ${p.k}`, ref: 'q' });
    await p.widget.waitFor((f) => f.type === 'ack' || f.type === 'error', 'request ack');
    const off = await p.agent.waitFor((f) => f.type === 'request_offered' && f.room.customer_id === p.customerId,
      'request_offered');
    p.roomId = off.room.id;
    p.agent.send({ type: 'accept', room_id: p.roomId, ref: 'a' });
    await p.agent.waitFor((f) => f.type === 'accepted' && f.room.id === p.roomId, 'accepted');
    await p.widget.waitFor((f) => f.type === 'joined', 'joined');
  }
  log(`${K} rooms engaged`);
  return pairs;
}

// One phase. rate 0: closed loop, W in flight per sender. rate > 0: open loop at that total rate.
// typing: agents send typing frames to their customers instead of messages: stored nowhere, so
// this is the wsd -> RabbitMQ -> wsd relay without MongoDB (typing frames carry no id: each pair's
// frames are matched in order, which RabbitMQ keeps on one queue).
async function phase(pairs, name, rate, typing = false) {
  const pad = 'x'.repeat(TEXT_BYTES);
  const sent = new Map();   // text -> send time
  const latC2A = [], latA2C = [];
  let nSent = 0, running = true, seq = 0;
  const senders = [];
  for (const p of pairs) {
    if (typing) senders.push({ kind: 't', p, inflight: 0, times: [] });
    else senders.push({ kind: 'c', p, inflight: 0 }, { kind: 'a', p, inflight: 0 });
  }
  let typingOpen = 0;
  const sendOne = (s) => {
    if (s.kind === 't') {
      s.times.push(performance.now());
      s.inflight++;
      nSent++;
      typingOpen++;
      s.p.agent.send({ type: 'typing', room_id: s.p.roomId, state: (seq++ & 1) === 0 });
      return;
    }
    const id = `${s.kind}${name}${seq++}`;
    const text = `${id} ${pad}`.slice(0, TEXT_BYTES);
    sent.set(text, performance.now());
    s.inflight++;
    nSent++;
    if (s.kind === 'c') s.p.widget.resender.track(id, { type: 'message', id, text });
    else s.p.agent.resender.track(id, { type: 'message', room_id: s.p.roomId, id, text });
  };
  const received = (s, lat, m) => {
    const t = sent.get(m.text);
    if (t === undefined) return;
    sent.delete(m.text);
    lat.push(performance.now() - t);
    s.inflight--;
    if (running && rate === 0) sendOne(s);
  };
  if (typing) {
    for (const ts of senders) {
      ts.p.agent.onMsg = ts.p.widget.onMsg = () => {};
      ts.p.widget.onTyping = () => {
        const t = ts.times.shift();
        if (t === undefined) return;
        latA2C.push(performance.now() - t);
        ts.inflight--;
        typingOpen--;
        if (running && rate === 0) sendOne(ts);
      };
    }
  } else {
    for (let i = 0; i < senders.length; i += 2) {
      const cs = senders[i], as = senders[i + 1];
      cs.p.agent.onMsg = (m) => { if (m.sender === 'customer') received(cs, latC2A, m); };
      cs.p.widget.onMsg = (m) => { if (m.sender === 'agent') received(as, latA2C, m); };
    }
  }
  const errorsBefore = pairs.reduce((n, p) => n + p.agent.errors + p.widget.errors, 0);
  const perf = PERF && rate === 0 ? perfRecord(typing ? `${PERF}.typing` : PERF, SECS, log) : null;
  const c0 = cpuSnapshot();
  const t0 = performance.now();
  let offered = 0;
  if (rate === 0) await drive(0, SECS, senders, typing ? TW : W, sendOne);
  else offered = await driveCapped(rate, SECS, senders, sendOne);
  running = false;
  const tEnd = performance.now();
  const c1 = cpuSnapshot();
  await perf?.done();
  const inWindow = latC2A.length + latA2C.length;
  const drainEnd = Date.now() + DRAIN_MS;
  while ((sent.size > 0 || typingOpen > 0) && Date.now() < drainEnd) await sleep(20);
  for (const p of pairs) p.widget.onTyping = null;
  const secs = (tEnd - t0) / 1000;
  const all = [...latC2A, ...latA2C].sort((x, y) => x - y);
  latC2A.sort((x, y) => x - y);
  latA2C.sort((x, y) => x - y);
  const errors = pairs.reduce((n, p) => n + p.agent.errors + p.widget.errors, 0) - errorsBefore;
  const lastError = pairs.map((p) => p.agent.lastError || p.widget.lastError).find(Boolean) || null;
  return {
    label: LABEL, phase: name, kind: typing ? 'typing' : 'messages', pairs: K,
    window: rate === 0 ? (typing ? TW : W) : null, offered_per_s: rate ? Math.round(offered) : null,
    seconds: +secs.toFixed(2), sent: nSent, delivered: all.length, lost_after_drain: sent.size + typingOpen,
    delivered_per_s: Math.round(inWindow / secs),
    p50_ms: pct(all, 0.5), p90_ms: pct(all, 0.9), p99_ms: pct(all, 0.99), max_ms: pct(all, 1),
    customer_to_agent: typing ? null : { n: latC2A.length, p50_ms: pct(latC2A, 0.5), p99_ms: pct(latC2A, 0.99) },
    agent_to_customer: { n: latA2C.length, p50_ms: pct(latA2C, 0.5), p99_ms: pct(latA2C, 0.99) },
    error_frames: errors, last_error: lastError, cpu_percent: cpuPercent(c0, c1),
  };
}

const fmt = (v) => (v === null || v === undefined ? '-' : String(v));
function row(r) {
  const cpu = Object.entries(r.cpu_percent).map(([n, v]) => `${n} ${v}%`).join(', ');
  return `| ${r.label} | ${r.phase} | ${r.pairs} | ${r.window ? `window ${r.window}` : `${r.offered_per_s}/s`} | ` +
    `${r.sent} | ${r.delivered} | **${r.delivered_per_s}** | ${fmt(r.p50_ms)} | ${fmt(r.p90_ms)} | ` +
    `**${fmt(r.p99_ms)}** | ${fmt(r.max_ms)} | ${r.error_frames}${r.lost_after_drain ? `, ${r.lost_after_drain} lost` : ''} | ${cpu} |`;
}

let pairs = [];
let status = 0;
try {
  pairs = await setup();
  const results = await saturateThenRates('', RATES, 10, (r) => r.delivered_per_s,
    (name, rate) => phase(pairs, name, rate), log);
  if (TYPING) {
    results.push(...await saturateThenRates('typing-', TYPING_RATES, 10, (r) => r.delivered_per_s,
      (name, rate) => phase(pairs, name, rate, true), log));
  }
  for (const r of results) console.log(row(r));
  if (args.json) for (const r of results) fs.appendFileSync(args.json, `${JSON.stringify(r)}\n`);
  // Leave the rooms closed.
  for (const p of pairs) p.agent.send({ type: 'end', room_id: p.roomId });
  await sleep(500);
} catch (e) {
  log(`failed: ${e.message}`);
  console.log(`| ${LABEL} | failed: ${e.message.replace(/\|/g, '/')} |`);
  status = 1;
} finally {
  for (const p of pairs) { p.agent?.close(); p.widget?.close(); }
}
process.exit(status);
