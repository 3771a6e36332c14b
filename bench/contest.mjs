// SPDX-License-Identifier: MIT
// bench/contest.mjs: contested accepts (a benchmark, asserts nothing). K agents of one livechat-wsd
// see the requests of R customers and all accept every one of them at once, as the online agents
// of a support desk do (docs/websocket.md: exactly one `accepted` per room, `already_taken` to the
// others). Per round: the slowest winner's accept (its `accepted` frame after the accepts were
// sent), when every agent had its answer, and wsd's database operations per room (/metrics).
//   node bench/contest.mjs --base URL --admin-password PW --agent-ws ws://H:P --metrics URL
//        --prefix P [--agents K] [--rooms R] [--rounds N]
// The stack: tests/stack.sh start DIR --wsd 1 (DIR/env gives the URLs); see bench/README.md.
import crypto from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { clampArg, makeAgents, parseArgs, require, until, pct, sleep } from './lib.mjs';
const amqp = require('amqplib');
const WebSocket = require('ws');
const args = parseArgs(process.argv.slice(2));
const K = clampArg(args.agents, 16, 2, 200), R = clampArg(args.rooms, 4, 1, 50);
const ROUNDS = clampArg(args.rounds, 5, 1, 100), PREFIX = args.prefix;
for (const a of ['base', 'admin-password', 'agent-ws', 'metrics', 'prefix'])
  if (!args[a]) { console.error(`contest: --${a} is required`); process.exit(2); }
const tag = crypto.randomBytes(3).toString('hex');
const conn = await amqp.connect(process.env.LIVECHAT_AMQP_URL || 'amqp://guest:guest@127.0.0.1:5672/', { noDelay: true });
const ch = await conn.createConfirmChannel();
const toks = await makeAgents(args.base, args['admin-password'], K, tag);
const agents = [];
for (const t of toks) {
  const ws = new WebSocket(`${args['agent-ws']}/ws/agent`, { headers: { Authorization: `Bearer ${t.token}` }, perMessageDeflate: false });
  const a = { ws, offers: new Map(), answers: new Map() };
  ws.on('message', (d) => {
    const f = JSON.parse(d.toString());
    if (f.type === 'hello') a.hello = true;
    else if (f.type === 'request_offered') a.offers.set(f.room.customer_id, f.room.id);
    else if (f.type === 'accepted' || f.type === 'already_taken') a.answers.set(f.room?.id || f.room_id, [f.type, performance.now()]);
    else if (f.type === 'error') a.answers.set(f.room_id, ['error', performance.now()]);
  });
  await new Promise((r, j) => { ws.once('open', r); ws.once('error', j); });
  await until(() => a.hello, 'hello');
  agents.push(a);
}
async function ops() {
  const text = await (await fetch(args.metrics)).text();
  let n = 0;
  for (const m of text.matchAll(/^livechat_wsd_store_operations_total\{op="(\w+)"\} (\S+)$/gm)) n += Number(m[2]);
  return n;
}
const winners = [], all = [];   // ms after the accepts were sent, per room
for (let round = 0; round < ROUNDS; round++) {
  const custs = Array.from({ length: R }, (_, i) => `ct${tag}r${round}c${i}`);
  for (const c of custs) ch.publish(`${PREFIX}.inbound`, 'bench', Buffer.from(JSON.stringify({ type: 'request_agent', id: `gw-${crypto.randomBytes(6).toString('hex')}`, channel: 'bench', customer_id: c, ts: Date.now(), customer_name: 'C' })), { persistent: true });
  await ch.waitForConfirms();
  await until(() => agents.every((a) => custs.every((c) => a.offers.has(c))), 'offers', 30000);
  await sleep(300);
  const o0 = await ops();
  const t0 = performance.now();
  for (const c of custs) for (const a of agents) a.ws.send(JSON.stringify({ type: 'accept', room_id: a.offers.get(c), ref: 'x' }));
  await until(() => agents.every((a) => custs.every((c) => a.answers.has(a.offers.get(c)))), 'answers', 60000);
  await sleep(500);
  const o1 = await ops();
  for (const c of custs) {
    const rid = agents[0].offers.get(c);
    const ans = agents.map((a) => a.answers.get(rid));
    const won = ans.filter((x) => x[0] === 'accepted');
    if (won.length !== 1) {   // the product's rule broken: say so loudly, and fail the run
      console.error(`contest: room ${rid} has ${won.length} winners: ${ans.map((x) => x[0]).join(' ')}`);
      process.exitCode = 1;
      continue;
    }
    winners.push(won[0][1] - t0);
    all.push(Math.max(...ans.map((x) => x[1])) - t0);
  }
  console.error(`round ${round}: winner max ${Math.max(...winners.slice(-R)).toFixed(0)} ms, all answered ${Math.max(...all.slice(-R)).toFixed(0)} ms, DB ops ${o1 - o0} (${((o1 - o0) / R).toFixed(1)} per room)`);
}
winners.sort((x, y) => x - y); all.sort((x, y) => x - y);
console.log(`RESULT winner p50 ${pct(winners, 0.5).toFixed(0)} max ${pct(winners, 1).toFixed(0)} ms; all answered p50 ${pct(all, 0.5).toFixed(0)} max ${pct(all, 1).toFixed(0)} ms`);
for (const a of agents) a.ws.close();
await conn.close();
process.exit(process.exitCode ?? 0);
