// SPDX-License-Identifier: MIT
// bench/compare.mjs RESULTS.json: the comparison table of bench/run's round-trip benchmark
// (livechat, the peer, the database's ceiling, their ratios, per backend and stored size) and
// where it stands against issue 8's targets. Reads the JSON lines bench/roundtrip.mjs and
// bench/db.mjs wrote; prints markdown on stdout.
import fs from 'node:fs';

const rows = fs.readFileSync(process.argv[2], 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
const rt = rows.filter((r) => r.bench === 'roundtrip');
const ceil = rows.filter((r) => r.bench === 'ceiling');
const backends = [...new Set(rt.map((r) => r.backend))];
const sizes = [...new Set(rt.map((r) => r.stored))].sort((a, b) => a - b);
if (!rt.length) process.exit(0);

const find = (target, backend, stored, pred) => rt.find((r) => r.target === target && r.backend === backend &&
  r.stored === stored && pred(r));
// The relay's saturated rate: the best of its saturate phases (one per window tried).
const sat = (t, b, s) => find(t, b, s, (r) => r.phase === 'saturate' && r.best) ||
  find(t, b, s, (r) => r.phase === 'saturate');
const half = (t, b, s) => find(t, b, s, (r) => r.half_saturation);
const ceiling = (b, s) => ceil.find((r) => r.backend === b && r.stored === s);
const num = (v, d = 1) => (v === null || v === undefined || Number.isNaN(v) ? '-' : String(+v.toFixed(d)));
// Small values keep two significant digits (0.0016×, not 0×).
const sig = (v, d) => (v !== 0 && Math.abs(v) < 10 ** -d ? String(+v.toPrecision(2)) : num(v, d));
const ratio = (a, b, d = 2) => (a === null || a === undefined || !b ? '-' : `${sig(a / b, d)}×`);
const pair = (a, b) => `${a ?? '-'} / ${b ?? '-'}`;

console.log('### Comparison (each relay\'s best saturate phase; ratios within one run)');
console.log('');
console.log('| backend | stored | livechat round trips/s | peer round trips/s | livechat ÷ peer | ' +
  'livechat stored msgs/s ÷ DB insertMany docs/s | p99 ms at half saturation, livechat / peer | ' +
  'new customers\' request → offer, slowest of the rooms, ms, livechat / peer | ' +
  'returning customers\' request → offer, slowest, ms, livechat / peer | ' +
  'accept with history, slowest of the rooms, ms, livechat / peer | DB CPU-s per 1,000 round trips, livechat / peer | ' +
  'DB ops per stored message, livechat / peer | DB insertMany docs/s | DB _id lookups/s, stored / not stored |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
for (const b of backends) {
  for (const s of sizes) {
    const l = sat('livechat', b, s), p = sat('peer', b, s), c = ceiling(b, s);
    const lh = half('livechat', b, s), ph = half('peer', b, s);
    console.log(`| ${b} | ${s} | **${l?.round_trips_per_s ?? '-'}** | **${p?.round_trips_per_s ?? '-'}** | ` +
      `**${ratio(l?.round_trips_per_s, p?.round_trips_per_s)}** | ` +
      `${c && l ? `${Math.round(2 * l.round_trips_per_s)} ÷ ${c.insert_docs_per_s} = **${sig(200 * l.round_trips_per_s / c.insert_docs_per_s, 1)}%**` : '-'} | ` +
      `${pair(lh?.p99_ms, ph?.p99_ms)} | ${pair(num(l?.offer_max_ms, 0), num(p?.offer_max_ms, 0))} | ` +
      `${pair(num(l?.return_offer_max_ms, 0), num(p?.return_offer_max_ms, 0))} | ` +
      `${pair(num(l?.accept_max_ms, 0), num(p?.accept_max_ms, 0))} | ` +
      `${pair(l?.db_cpu_s_per_1000, p?.db_cpu_s_per_1000)} | ${pair(l?.db_ops_per_stored, p?.db_ops_per_stored)} | ` +
      `${c?.insert_docs_per_s ?? '-'} | ${pair(c?.lookups_per_s, c?.absent_lookups_per_s)} |`);
  }
}
console.log('');
if (sizes.length > 1) {
  const lo = sizes[0], hi = sizes[sizes.length - 1];
  console.log(`Growth from ${lo} to ${hi} stored messages (saturated round trips/s at ${hi} ÷ at ${lo}): ` +
    backends.map((b) => ['livechat', 'peer'].map((t) =>
      `${t} on ${b} ${ratio(sat(t, b, hi)?.round_trips_per_s, sat(t, b, lo)?.round_trips_per_s)}`).join(', ') +
      `, database insertMany on ${b} ${ratio(ceiling(b, hi)?.insert_docs_per_s, ceiling(b, lo)?.insert_docs_per_s)}`)
      .join('; ') + '.');
  console.log('');
}

// Issue 8's targets, per backend at the largest size measured (targets 1 and 2 name 1M).
const out = [];
const verdict = (ok, miss) => (ok === null ? 'no result (see the round-trip table)' : ok ? 'met'
  : `**missed**: ${miss}`);
const hi = sizes[sizes.length - 1], lo = sizes[0];
for (const b of backends) {
  const l = sat('livechat', b, hi), p = sat('peer', b, hi), c = ceiling(b, hi), lh = half('livechat', b, hi);
  const r1 = l && p && p.round_trips_per_s ? l.round_trips_per_s / p.round_trips_per_s : null;
  out.push([`1. stored relay ≥ 4× the peer's round trips/s (${b}, ${hi} stored)`, r1 === null ? '-' : `${sig(r1, 2)}×`,
    verdict(r1 === null ? null : r1 >= 4, !r1 ? 'no round trip came back' : `${num(4 / r1)}× short`)]);
  const r2 = l && c ? 2 * l.round_trips_per_s / c.insert_docs_per_s : null;
  out.push([`1. stored messages/s ≥ 50% of the database's insertMany docs/s (${b}, ${hi})`,
    r2 === null ? '-' : `${sig(100 * r2, 1)}%`,
    verdict(r2 === null ? null : r2 >= 0.5, !r2 ? 'no round trip came back' : `${num(0.5 / r2)}× short`)]);
  out.push([`1. p99 ≤ 50 ms at half the saturating rate (${b}, ${hi})`, lh ? `${lh.p99_ms === null ? 'nothing came back' : `${lh.p99_ms} ms`} at ${lh.offered_per_s}/s` : 'no half-saturation phase (nothing delivered when saturated)',
    verdict(lh ? lh.p99_ms !== null && lh.p99_ms <= 50 : (l ? false : null), lh?.p99_ms ? `${num(lh.p99_ms / 50)}× over` : 'no round trip completed')]);
  const g0 = sat('livechat', b, lo)?.round_trips_per_s, g1 = l?.round_trips_per_s;
  const g = g0 && g1 !== undefined && lo !== hi ? g1 / g0 : null;
  out.push([`1. within 10% between ${lo} and ${hi} stored (${b})`, g === null ? '-' : `${num(100 * (g - 1))}%`,
    verdict(g === null ? null : Math.abs(g - 1) <= 0.1, g === null ? '' : `${num(100 * Math.abs(g - 1), 0)}% apart`)]);
  const ta = find('livechat', b, hi, (r) => r.phase === 'typing-alone');
  const t4 = ta?.typing_p99_ms && l?.typing_p99_ms ? l.typing_p99_ms / ta.typing_p99_ms : null;
  out.push([`4. typing p99 within 20% while the stored path saturates (${b}, ${hi})`,
    t4 === null ? '-' : `${l.typing_p99_ms} ms saturated vs ${ta.typing_p99_ms} ms alone` +
      `${l.typing_received < l.typing_sent ? ` (${l.typing_sent - l.typing_received} of ${l.typing_sent} not back in time)` : ''}` +
      // wsd's own share (its /metrics, bucket bounds): the event loop's delay and the typing
      // frame's publish until RabbitMQ confirmed it, saturated and alone.
      (l.wsd_typing_confirmed_p99_le_ms != null ? `; inside wsd, p99: typing queued → confirmed ≤ ${l.wsd_typing_confirmed_p99_le_ms} ms` +
        ` (alone ≤ ${ta.wsd_typing_confirmed_p99_le_ms ?? '-'}), the loop's wait for a posted result ≤ ${l.wsd_loop_post_wait_p99_le_ms ?? '-'} ms` +
        ` (alone ≤ ${ta.wsd_loop_post_wait_p99_le_ms ?? '-'})` : '') +
      // Split at the relay's own timestamp of the typing message (wall clock, ms).
      (l.typing_from_relay_p99_ms != null ? `; p99 agent → wsd ${l.typing_to_relay_p99_ms} ms, wsd → the gateway's handler` +
        ` ${l.typing_from_relay_p99_ms} ms (alone ${ta.typing_to_relay_p99_ms ?? '-'} / ${ta.typing_from_relay_p99_ms ?? '-'} ms)` : ''),
    verdict(t4 === null ? null : t4 <= 1.2 && l.typing_received === l.typing_sent, t4 === null ? '' : `${num(t4)}× the p99 alone`)]);
  const acc = l?.accept_max_ms ?? null;
  out.push([`2. accept with history (N = 50) p99 ≤ 50 ms (${b}, ${hi})`,
    acc === null ? '-' : `${num(acc, 0)} ms (slowest of ${l.rooms} accepts, all in flight together)` +
      (l.setup_db_ops_per_room ? `; per room from request to engaged ${l.setup_db_ops_per_room.ops} database ` +
        `operations (${Object.entries(l.setup_db_ops_per_room.by_kind).map(([k, n]) => `${k} ${n}`).join(', ')}), ` +
        `${l.setup_db_ops_per_room.ms} ms of them` : ''),
    verdict(acc === null ? null : acc <= 50, acc === null ? '' : `${num(acc / 50)}× over`)]);
}
console.log(`### Against issue 8's targets (at ${hi} stored messages, the largest size of this run)`);
console.log('');
console.log('| target | measured | verdict |');
console.log('|---|---|---|');
for (const [t, m, v] of out) console.log(`| ${t} | ${m} | ${v} |`);
