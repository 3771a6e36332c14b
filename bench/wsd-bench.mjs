// SPDX-License-Identifier: MIT
// wsd-bench: measures livechat-wsd on this machine (not a test: it asserts nothing).
//   node bench/wsd-bench.mjs conns N     N idle widget connections to one node: RSS per connection
//   node bench/wsd-bench.mjs relay M [K] M customer messages from K customers (default 20) through
//                                        the gateway contract to one agent on the other node:
//                                        messages/s and latency percentiles (published -> stored
//                                        -> delivered). LIVECHAT_WSD_WORKERS sets the workers.
// Needs the environment of tests/test-env.sh (LIVECHAT_MONGO_URI, LIVECHAT_AMQP_URL) and
// LC_TOP_BUILDDIR; uses the test harness (fresh database, unique amqp_prefix, two wsd nodes).
import fs from 'node:fs';
import { Stack, sleep } from '../tests/wsd/harness.mjs';
import { Gateway } from '../tests/wsd/gateway.mjs';

const [mode = 'conns', nArg = '5000'] = process.argv.slice(2);
const N = Number(nArg);
const rss = (pid) => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);

const S = new Stack('bench');
try {
  await S.start({ nodes: 2, env: { LIVECHAT_WSD_WORKERS: process.env.LIVECHAT_WSD_WORKERS || '8' } });
  if (mode === 'conns') {
    const pid = S.nodes[0].proc.pid;
    await sleep(500);
    const before = rss(pid);
    const t0 = Date.now();
    const conns = [];
    for (let i = 0; i < N; i += 200) {
      const batch = [];
      for (let j = i; j < Math.min(N, i + 200); j++) batch.push(S.connect(S.nodes[0], '/ws/widget'));
      conns.push(...await Promise.all(batch));
    }
    for (const c of conns) c.send({ type: 'hello' });
    for (const c of conns) await c.waitFor((f) => f.type === 'welcome', 'welcome', 60000);
    const t1 = Date.now();
    await sleep(1000);
    const after = rss(pid);
    console.log(JSON.stringify({ mode, connections: N, seconds_to_welcome_all: (t1 - t0) / 1000,
      rss_before_kb: before, rss_after_kb: after, kb_per_connection: +((after - before) / N).toFixed(2) }));
  } else {
    const gw = await new Gateway(S.prefix).start();
    const K = Number(process.argv[4] || 20);
    const [u] = S.users('bench', 1);
    const a = await S.agent(S.nodes[1], u);
    for (let k = 0; k < K; k++) {
      await gw.publish('request_agent', `bench${k}`, { customer_name: `Bench ${k}` });
      const off = await a.waitFor((f) => f.type === 'request_offered' && f.room.customer_id === `bench${k}`);
      a.send({ type: 'accept', room_id: off.room.id });
      await a.waitFor((f) => f.type === 'accepted' && f.room.id === off.room.id);
    }
    const sent = new Map();
    const lat = [];
    a.ws.on('message', (d) => {
      const f = JSON.parse(d.toString());
      if (f.type === 'message' && sent.has(f.message.text)) lat.push(Date.now() - sent.get(f.message.text));
    });
    const t0 = Date.now();
    const pubs = [];
    for (let i = 0; i < N; i++) {
      sent.set(`b${i}`, Date.now());
      pubs.push(gw.publish('customer_message', `bench${i % K}`, { text: `b${i}` }));
      if (pubs.length >= 200) await Promise.all(pubs.splice(0));
    }
    await Promise.all(pubs);
    while (lat.length < N && Date.now() - t0 < 120000) await sleep(20);
    const secs = (Date.now() - t0) / 1000;
    lat.sort((x, y) => x - y);
    const p = (q) => lat[Math.min(lat.length - 1, Math.floor(q * lat.length))];
    console.log(JSON.stringify({ mode, messages: N, delivered: lat.length, seconds: secs,
      per_second: Math.round(lat.length / secs), p50_ms: p(0.5), p99_ms: p(0.99), max_ms: lat.at(-1) }));
    await gw.close();
  }
} finally {
  await S.stop();
}
