// SPDX-License-Identifier: MIT
// bench/lib.mjs: helpers the benchmark clients share (argument parsing, waiting, the REST API,
// CPU time of processes from /proc, percentiles, FerretDB's command counters). Asserts nothing.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';

// npm packages from the source tree's node_modules (bench/ sits next to it).
export const require = createRequire(import.meta.url);

// --key value pairs into an object.
export function parseArgs(argv) {
  return Object.fromEntries(argv.reduce((acc, a, i, all) => {
    if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1]]);
    return acc;
  }, []));
}

// A number argument, clamped to [lo, hi].
export const clampArg = (v, def, lo, hi) => Math.min(Math.max(Number(v ?? def), lo), hi);

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function until(pred, what, ms = 15000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = pred();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

// One REST call to livechat; throws on a non-2xx answer.
export async function api(base, method, path, body, token) {
  const headers = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const r = await fetch(base + path, { method, headers, body: body ? JSON.stringify(body) : undefined });
  const txt = await r.text();
  if (!r.ok) throw new Error(`${method} ${path}: HTTP ${r.status} ${txt}`);
  return txt ? JSON.parse(txt) : null;
}

// Makes K agents through the REST API (admin login, POST /api/users, login of each): [{username, token}].
export async function makeAgents(base, adminPassword, k, tag) {
  const admin = (await api(base, 'POST', '/api/auth/login', { username: 'admin', password: adminPassword })).token;
  const pw = `bench-${tag}-pw`;
  const agents = [];
  for (let i = 0; i < k; i++) {
    const username = `bench${tag}a${i}`;
    await api(base, 'POST', '/api/users', { username, password: pw, display_name: `Bench Agent ${i}`, group: 'agent' },
      admin);
    const { token } = await api(base, 'POST', '/api/auth/login', { username, password: pw });
    agents.push({ username, token });
  }
  return agents;
}

const TICK = 100;   // USER_HZ on Linux

function statFields(pid) {
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return f.slice(f.lastIndexOf(')') + 2).split(' ');
  } catch { return null; }
}

// utime + stime of a process (fields 14 and 15), in ticks.
function cpuTicks(pid) {
  const s = statFields(pid);
  return s ? Number(s[11]) + Number(s[12]) : NaN;
}

// The same for a process and all its live descendants (PostgreSQL: one process per connection).
function treeTicks(root) {
  const kids = new Map();
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const s = statFields(d);
    if (!s) continue;
    const ppid = s[1];
    if (!kids.has(ppid)) kids.set(ppid, []);
    kids.get(ppid).push(d);
  }
  let sum = 0;
  const todo = [String(root)];
  while (todo.length) {
    const p = todo.pop();
    const t = cpuTicks(p);
    if (!Number.isNaN(t)) sum += t;
    todo.push(...(kids.get(p) || []));
  }
  return sum;
}

// "name:pid,name:pid+" -> [[name, pid, tree]]; a trailing + counts the process's descendants too.
export const parsePids = (spec) => (spec || '').split(',').filter(Boolean).map((s) => {
  const [n, p] = s.split(':');
  return [n, p.replace(/\+$/, ''), p.endsWith('+')];
});

export const cpuSnapshot = (pids) => ({ t: performance.now(), self: process.cpuUsage(),
  procs: pids.map(([n, p, tree]) => [n, tree ? treeTicks(p) : cpuTicks(p)]) });

// CPU seconds each process used between two snapshots, and this client's own ('client').
export function cpuSeconds(a, b) {
  const out = {};
  a.procs.forEach(([n, t], i) => { out[n] = +((b.procs[i][1] - t) / TICK).toFixed(2); });
  const s = process.cpuUsage(a.self);
  out.client = +((s.user + s.system) / 1e6).toFixed(2);
  return out;
}

// The same in % of one core over the interval.
export function cpuPercent(a, b) {
  const secs = (b.t - a.t) / 1000;
  const out = {};
  for (const [n, v] of Object.entries(cpuSeconds(a, b))) out[n] = Math.round(v / secs * 100);
  return out;
}

export function pct(sorted, q) {
  if (sorted.length === 0) return null;
  return +sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))].toFixed(2);
}

// Data commands a MongoDB server (FerretDB: serverStatus.metrics.commands) has served so far:
// what "database operations per stored message" counts. null where the server does not say.
const DATA_COMMANDS = ['insert', 'find', 'update', 'delete', 'findAndModify', 'aggregate', 'count', 'getMore',
  'distinct'];
export async function dbCommands(admin) {
  try {
    const s = await admin.command({ serverStatus: 1 });
    const c = s.metrics?.commands;
    if (!c) return null;
    return DATA_COMMANDS.reduce((n, k) => n + Number(c[k]?.total ?? 0), 0);
  } catch { return null; }
}

// The load of one phase. rate 0: a closed loop: each sender gets `window` sends now, and the
// caller sends the next one on each completion; rate > 0: an open loop, `rate` sends per second
// in total, round robin over the senders. Returns after `secs` seconds.
export async function drive(rate, secs, senders, window, sendOne) {
  const t0 = performance.now();
  if (rate === 0) {
    for (const s of senders) for (let i = 0; i < window; i++) sendOne(s);
    await sleep(secs * 1000);
    return;
  }
  let n = 0;
  while (performance.now() - t0 < secs * 1000) {
    const due = Math.floor(rate * (performance.now() - t0) / 1000) - n;
    for (let i = 0; i < due; i++) sendOne(senders[n++ % senders.length]);
    await sleep(2);
  }
}

// `perf record -a` of the whole machine for `secs` seconds into `file`; await the result's
// done() after the phase.
export function perfRecord(file, secs, log, extra = []) {
  const perf = spawn('perf', ['record', '-q', '-F', '499', '-a', ...extra, '-o', file, '--', 'sleep', String(secs)],
    { stdio: 'ignore' });
  perf.on('error', (e) => log(`perf: ${e.message}`));
  return {
    done: () => (perf.exitCode !== null || perf.signalCode !== null ? Promise.resolve()
      : new Promise((r) => { perf.once('exit', r); perf.once('error', r); setTimeout(r, 10000); })),
  };
}

// A saturate phase, then one phase per rate of `rates` ('auto' = half the saturated rate, at
// least `min`; skipped when the saturate phase delivered nothing): runPhase(name, rate) -> result;
// perS(result) = its delivered rate. Names get `prefix` ('', 'typing-'). Returns the results, the
// auto one marked half_saturation.
export async function saturateThenRates(prefix, rates, min, perS, runPhase, log, windows = [null]) {
  // One saturate phase per window (runPhase(name, 0, window)); the relay's saturated rate is
  // the best of them (marked `best`): a window too small leaves a fast relay waiting on its own
  // latency, one too large only queues.
  const sats = [];
  for (const w of windows) {
    log(`${prefix}saturate${w === null ? '' : `, window ${w}`}`);
    const res = await runPhase(`${prefix}saturate`, 0, w);
    log(JSON.stringify(res));
    sats.push(res);
  }
  const sat = sats.reduce((a, b) => ((perS(b) ?? 0) > (perS(a) ?? 0) ? b : a));
  sat.best = true;
  const out = [...sats];
  for (const r of rates) {
    if (r === 'auto' && !perS(sat)) { log(`${prefix}auto rate skipped: the saturate phase delivered nothing`); continue; }
    const rate = r === 'auto' ? Math.max(min, Math.round(perS(sat) / 2)) : Number(r);
    if (!(rate > 0)) continue;
    log(`${prefix}rate ${rate}/s`);
    const res = await runPhase(`${prefix}rate${rate}`, rate, null);
    res.half_saturation = r === 'auto';
    log(JSON.stringify(res));
    out.push(res);
  }
  return out;
}

// Chat frames sent and not acked yet, sent again (same id) when livechat answers that it cannot
// take them now (busy, unavailable, rate_limited), as the dashboard and the widget do.
const RETRY_CODES = new Set(['busy', 'unavailable', 'rate_limited']);
export class Resender {
  constructor(send) { this.send = send; this.pending = new Map(); }
  track(id, frame) { this.pending.set(id, frame); this.send(frame); }
  acked(id) { this.pending.delete(id); }
  // True when the error frame f was such an answer: the frame goes again in 100 ms.
  retry(f) {
    const frame = f.id && this.pending.get(f.id);
    if (!frame || !RETRY_CODES.has(f.code)) return false;
    setTimeout(() => this.send(frame), 100);
    return true;
  }
}
