// SPDX-License-Identifier: MIT
// bench/summary.mjs RESULTS.json FD_LIMIT: the "against the product targets" table of a bench/run
// report, from the JSON lines bench/run and bench/relay.mjs wrote. Prints markdown on stdout.
import fs from 'node:fs';

const [file, fdLimit = '?'] = process.argv.slice(2);
const rows = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
const out = [];
const add = (target, measured) => out.push(`| ${target} | ${measured} |`);

const conns = rows.filter((r) => r.bench === 'conns');
const holds = rows.filter((r) => r.bench === 'conns-hold');
const kb = (r) => ((r.rss_kb - r.base_rss_kb) / r.open).toFixed(2);
if (conns.length) {
  const top = conns.reduce((a, r) => (r.open > a.open ? r : a));
  add('one wsd holds 100,000 websocket connections',
    `${top.open} held (the descriptor limit here is ${fdLimit}: one descriptor per connection)`);
  for (const series of ['upgrade', 'hello']) {
    const s = conns.filter((r) => r.series === series && r.open > 0);
    if (!s.length) continue;
    const last = s[s.length - 1];
    const hold = holds.find((h) => h.series === series);
    add(`about 2 KB of wsd memory per connection (${series})`,
      `${kb(last)} KB at ${last.open} connections` +
      (hold ? `; idle, wsd used ${(hold.cpu_ticks / hold.seconds).toFixed(0)}% of one core on average ` +
              `(${hold.peak_5s_percent ?? '?'}% in the busiest 5 s), ` +
              `${hold.fds_before - hold.fds_after} connections lost in ${hold.seconds} s` : ''));
  }
}
const relay = rows.filter((r) => r.phase);
const fmtRelay = (label, typing = false) => {
  const sat = relay.find((r) => r.label === label && r.phase === (typing ? 'typing-saturate' : 'saturate'));
  if (!sat) return 'not measured';
  const fixed = relay.filter((r) => r.label === label && r.offered_per_s && (r.kind === 'typing') === typing)
    .map((r) => `p99 ${r.p99_ms} ms at ${r.offered_per_s}/s offered (${r.delivered_per_s}/s delivered)`).join(', ');
  return `${sat.delivered_per_s} messages/s saturated (p99 ${sat.p99_ms} ms with ${sat.window} in flight per sender)` +
    (fixed ? `; ${fixed}` : '');
};
if (relay.length) {
  add('100,000 messages/s relayed within one node: chat messages (stored first)', fmtRelay('one-node'));
  add('the same, typing frames (not stored: wsd + RabbitMQ alone)', fmtRelay('one-node', true));
  add('20,000 messages/s across nodes, every message stored first, p99 < 10 ms', fmtRelay('two-nodes'));
  add('across nodes, typing frames (not stored)', fmtRelay('two-nodes', true));
}
const PATHS = { health: '/api/health', live: '/api/live', me: '/api/auth/me', canned: '/api/canned', static: '/index.html' };
const rest = {};
for (const r of rows.filter((x) => x.bench === 'rest')) {
  rest[r.request] = Number(/Requests\/sec:\s+([\d.]+)/.exec(r.wrk)?.[1]);
  const p99 = /\n\s+99%\s+(\S+)/.exec(r.wrk)?.[1];
  if (r.request !== 'canned' && r.request !== 'live') add(`REST GET ${PATHS[r.request]} (no target)`, `${rest[r.request]} requests/s, p99 ${p99}`);
}
// Issue 8, target 3: GET /api/canned at least 50% of the database's _id lookup rate, same concurrency.
const look = rows.find((x) => x.bench === 'lookups');
if (rest.canned !== undefined) {
  add('REST GET /api/canned ≥ 50% of the database\'s _id lookups/s at the same concurrency (issue 8, target 3)',
    look ? `${rest.canned} requests/s ÷ ${look.lookups_per_s} lookups/s (${look.concurrency} callers) = ` +
      `${(100 * rest.canned / look.lookups_per_s).toFixed(0)}%: ${rest.canned >= look.lookups_per_s / 2 ? 'met'
        : `**missed** (${(look.lookups_per_s / 2 / rest.canned).toFixed(1)}× short)`}` : `${rest.canned} requests/s; lookups not measured`);
}
if (rest.static !== undefined) {
  add('a liveness route ≥ 50% of lighttpd\'s static-file rate (issue 8, target 3)', rest.live === undefined
    ? `lighttpd serves /index.html at ${rest.static} requests/s; GET /api/live not measured`
    : `GET /api/live ${rest.live} requests/s ÷ /index.html ${rest.static} requests/s = ` +
      `${(100 * rest.live / rest.static).toFixed(0)}%: ${rest.live >= rest.static / 2 ? 'met'
        : `**missed** (${(rest.static / 2 / rest.live).toFixed(1)}× short)`}`);
}
if (out.length) {
  console.log('| target | measured on this machine |');
  console.log('|---|---|');
  console.log(out.join('\n'));
}
