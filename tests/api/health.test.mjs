// SPDX-License-Identifier: MIT
// GET /api/health reports a probe at most a second old instead of opening a connection to the
// broker per request; GET /api/live answers without touching any server; each livechat-fcgi
// process serves with fcgi_threads threads. The stack's amqp_url points at a TCP listener of
// this test that counts the connections it is offered (the probe is a TCP connect).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { api, startStack } from './helpers.mjs';

const FCGI_PROCS = 2;      // tests/stack.sh renders the web server configs with 2
const THREADS = 3;
let stack;
let broker;
let offered = 0;

before(async () => {
  broker = createServer((sock) => { offered += 1; sock.destroy(); });
  await new Promise((res) => broker.listen(0, '127.0.0.1', res));
  stack = await startStack({
    set: {
      amqp_url: `amqp://guest:guest@127.0.0.1:${broker.address().port}/`,
      // A prefix of our own naming: stop then leaves the (absent) broker alone.
      amqp_prefix: `lc_health_${process.pid}`,
      fcgi_threads: THREADS,
    },
  });
});
after(async () => {
  await stack?.stop();
  broker?.close();
});

// The livechat-fcgi processes of the stack (children of its web server).
function fcgiPids() {
  const server = readFileSync(`${stack.dir}/pids`, 'utf8').split('\n')
    .map((l) => l.split(' ')).find(([name]) => name === 'lighttpd')[1];
  return execFileSync('pgrep', ['-P', server, '-x', 'livechat-fcgi'], { encoding: 'utf8' })
    .trim().split('\n').filter(Boolean);
}

test('a burst of health checks probes the broker at most once a second per process', async () => {
  offered = 0;
  const t0 = Date.now();
  for (let i = 0; i < 30; i++) {
    const r = await api(stack.base, 'GET', '/api/health');
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body, { status: 'ok', mongo: 'up', rabbitmq: 'up' });
  }
  const seconds = Math.ceil((Date.now() - t0) / 1000);
  assert.ok(offered <= FCGI_PROCS * (seconds + 1),
    `${offered} broker connections for 30 health checks in ${seconds} s`);
});

test('GET /api/live answers 200 without touching the broker, also when it is gone', async () => {
  offered = 0;
  for (let i = 0; i < 10; i++) {
    const r = await api(stack.base, 'GET', '/api/live');
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { status: 'ok' });
  }
  assert.equal(offered, 0);
  await new Promise((res) => broker.close(res));
  broker = null;
  // Past the age of any cached probe: health sees the broker gone, liveness does not care.
  await new Promise((res) => setTimeout(res, 1100));
  const h = await api(stack.base, 'GET', '/api/health');
  assert.equal(h.status, 503);
  assert.equal(h.body.rabbitmq, 'down');
  assert.equal((await api(stack.base, 'GET', '/api/live')).status, 200);
});

test(`each livechat-fcgi process serves with fcgi_threads (${THREADS}) threads`, () => {
  const pids = fcgiPids();
  assert.ok(pids.length >= 1, 'no livechat-fcgi process');
  for (const pid of pids) {
    const names = readdirSync(`/proc/${pid}/task`)
      .map((t) => readFileSync(`/proc/${pid}/task/${t}/comm`, 'utf8').trim());
    assert.equal(names.filter((n) => n === 'fcgi-serve').length, THREADS, `pid ${pid}: ${names}`);
  }
});
