// SPDX-License-Identifier: MIT
// GET /api/metrics through a real lighttpd: Prometheus text to the addresses of metrics_allow
// (the default, loopback 127.0.0.1), a 404 like any unknown route to others (127.0.0.2); the
// counts grow with requests; a path no route matches is counted as "unmatched", never by its
// text. The stack runs two livechat-fcgi processes and each answers with its own numbers
// (livechat_api_process_info names its pid), so counts are compared per process.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { api, startStack } from './helpers.mjs';

let stack;
before(async () => { stack = await startStack(); });
after(async () => { await stack?.stop(); });

// {pid, live: count of GET /api/live 200, text}
async function scrape() {
  const r = await api(stack.base, 'GET', '/api/metrics', { from: '127.0.0.1' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
  const pid = r.text.match(/^livechat_api_process_info\{version="[^"]+",pid="(\d+)"\} 1$/m)[1];
  const live = r.text.match(/^livechat_api_requests_total\{route="GET \/api\/live",status="200"\} (\d+)$/m);
  return { pid, live: live ? Number(live[1]) : 0, text: r.text };
}

test('metrics are Prometheus text for metrics_allow and a 404 for anyone else', async () => {
  const r = await api(stack.base, 'GET', '/api/metrics', { from: '127.0.0.2' });
  assert.equal(r.status, 404);
  assert.equal(r.body.error.code, 'not_found');
  const { text } = await scrape();
  for (const line of text.trim().split('\n')) {
    assert.match(line, /^(# (HELP|TYPE) livechat_api_\w+ .+|livechat_api_\w+\{[^}]*\} [0-9.e+-]+)$/, line);
  }
  assert.match(text, /# TYPE livechat_api_request_duration_seconds histogram/);
});

test('requests are counted by route and status in the process that answered them', async () => {
  const before = new Map();
  for (let i = 0; i < 6; i++) { const s = await scrape(); before.set(s.pid, Math.max(before.get(s.pid) ?? 0, s.live)); }
  for (let i = 0; i < 20; i++) assert.equal((await api(stack.base, 'GET', '/api/live')).status, 200);
  assert.equal((await api(stack.base, 'GET', '/api/no-such-route-xyz')).status, 404);
  const after = new Map();
  let unmatched = false;
  for (let i = 0; i < 10; i++) {
    const s = await scrape();
    after.set(s.pid, Math.max(after.get(s.pid) ?? 0, s.live));
    assert.doesNotMatch(s.text, /no-such-route-xyz/);
    unmatched ||= /livechat_api_requests_total\{route="unmatched",status="404"\} [1-9]/.test(s.text);
  }
  // never fewer in a process than before; 20 more in the processes seen, when all were seen
  let grew = 0;
  for (const [pid, n] of after) {
    assert.ok(n >= (before.get(pid) ?? 0), `process ${pid} went down from ${before.get(pid)} to ${n}`);
    grew += n - (before.get(pid) ?? 0);
  }
  assert.ok(grew >= 1 && grew <= 20, `grew by ${grew}`);
  if (after.size === 2 && before.size === 2) assert.equal(grew, 20);
  assert.ok(unmatched || after.size < 2, 'the unmatched 404 is counted');
});
