// SPDX-License-Identifier: MIT
// A measurement, not a test: the median /api/health latency of a stack at rest, then while 12
// clients (12 loopback addresses) send logins of unknown users back to back (issue 11, defect 3).
// Usage (the environment of tests/test-env.sh, NODE_PATH=node_modules):
//   node tests/api/login-load.mjs SRCDIR BUILDDIR [SECONDS] ['{"config_key": value}']
// Prints {idle_median_ms, attacked_median_ms, attacked_p90_ms, login_answers: {status: count}}.
import { api, startStack } from './helpers.mjs';
const [src, build, secs] = [process.argv[2], process.argv[3], Number(process.argv[4] ?? 10)];
const set = process.argv[5] ? JSON.parse(process.argv[5]) : {};
const s = await startStack({ srcdir: src, builddir: build, set });
const median = (a) => { const b = [...a].sort((x, y) => x - y); return b[Math.floor(b.length / 2)]; };
async function probe(ms) {
  const lat = []; const end = Date.now() + ms;
  while (Date.now() < end) { const t = process.hrtime.bigint(); await api(s.base, 'GET', '/api/health'); lat.push(Number(process.hrtime.bigint() - t) / 1e6); await new Promise((r) => setTimeout(r, 50)); }
  return lat;
}
const idle = await probe(3000);
let stop = false; const counts = {};
const attackers = Array.from({ length: 12 }, async (_, i) => {
  let k = 0;
  while (!stop) { const r = await api(s.base, 'POST', '/api/auth/login', { from: `127.0.0.${11 + i}`, body: { username: `nobody-${i}-${k++}`, password: 'guess' } }); counts[r.status] = (counts[r.status] ?? 0) + 1; }
});
const busy = await probe(secs * 1000);
stop = true; await Promise.all(attackers);
console.log(JSON.stringify({ idle_median_ms: median(idle).toFixed(1), attacked_median_ms: median(busy).toFixed(1), attacked_p90_ms: [...busy].sort((a, b) => a - b)[Math.floor(busy.length * 0.9)].toFixed(1), login_answers: counts }));
await s.stop();
