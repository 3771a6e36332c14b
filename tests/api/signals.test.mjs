// SPDX-License-Identifier: MIT
// livechat-fcgi and livechatctl answer --help and --version; a SIGHUP makes livechat-fcgi
// re-read its config file while it keeps serving and apply log_level, log_target,
// trusted_proxies and metrics_allow, and a file that does not load is logged and changes nothing;
// a SIGTERM stops a process whose threads all wait in accept. The stack runs under lighttpd, whose stderr
// (log/lighttpd.out) the livechat-fcgi processes it spawned inherit.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { api, startStack } from './helpers.mjs';

const BUILD = process.env.LC_TOP_BUILDDIR;
let stack;
let conf;        // the stack's livechat.conf as started (log_level = warn)

before(async () => {
  stack = await startStack({ set: { log_level: 'warn' } });
  conf = readFileSync(stack.env.LIVECHAT_CONFIG, 'utf8');
});
after(async () => { await stack?.stop(); });

// The livechat-fcgi processes of the stack (children of its web server).
function fcgiPids() {
  const server = readFileSync(join(stack.dir, 'pids'), 'utf8').split('\n')
    .map((l) => l.split(' ')).find(([name]) => name === 'lighttpd')[1];
  return execFileSync('pgrep', ['-P', server, '-x', 'livechat-fcgi'], { encoding: 'utf8' })
    .trim().split('\n').filter(Boolean).map(Number);
}

const errorLog = () => readFileSync(join(stack.dir, 'log', 'lighttpd.out'), 'utf8');
const count = (text, needle) => text.split(needle).length - 1;

// Resolve once pred(error log) holds; reject naming what was awaited after ms.
async function logUntil(pred, what, ms = 10000) {
  const end = Date.now() + ms;
  for (;;) {
    const text = errorLog();
    if (pred(text)) return text;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}:\n${text.slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function hup(pids) {
  for (const pid of pids) process.kill(pid, 'SIGHUP');
}

for (const prog of ['fcgi/livechat-fcgi', 'fcgi/livechatctl']) {
  const name = prog.split('/')[1];
  test(`${name} --help prints its usage and --version its version, both exit 0`, () => {
    const help = spawnSync(join(BUILD, prog), ['--help'], { encoding: 'utf8' });
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, new RegExp(`^usage: ${name} .*--version`));
    const version = spawnSync(join(BUILD, prog), ['--version'], { encoding: 'utf8' });
    assert.equal(version.status, 0, version.stderr);
    assert.match(version.stdout, new RegExp(`^${name} \\d+\\.\\d+\\.\\d+\\n$`));
  });
}

test('SIGHUP: a broken file keeps the old log level, a good one applies its level live', async () => {
  const pids = fcgiPids();
  assert.ok(pids.length >= 1, 'no livechat-fcgi process');
  const path = stack.env.LIVECHAT_CONFIG;
  try { await reloads(pids, path); } finally { writeFileSync(path, conf); }   // stop reads it
});

async function reloads(pids, path) {

  // A file that does not load (an unknown key, after a log_level that must not be taken).
  writeFileSync(path, `${conf.replace(/^log_level = .*$/m, 'log_level = info')}no_such_key = 1\n`);
  hup(pids);
  await logUntil((t) => count(t, 'keeping the running configuration') >= pids.length,
    'the refused reload logged by every process');
  assert.match(errorLog(), /unknown key 'no_such_key'/);
  // Still serving, still at warn: a request's access line (info) is not written.
  assert.equal((await api(stack.base, 'GET', '/api/live')).status, 200);
  assert.equal((await api(stack.base, 'GET', '/api/sighup-before')).status, 404);
  assert.deepEqual(fcgiPids(), pids, 'the processes survived the signal');

  // A good file: log_level info takes effect without a restart.
  writeFileSync(path, conf.replace(/^log_level = .*$/m, 'log_level = info'));
  hup(pids);
  await logUntil((t) => count(t, 'log_level info') >= pids.length, 'the reload logged by every process');
  assert.equal((await api(stack.base, 'GET', '/api/live')).status, 200);
  assert.equal((await api(stack.base, 'GET', '/api/sighup-after')).status, 404);
  const text = await logUntil((t) => t.includes('/api/sighup-after'), 'the access line at info');
  assert.ok(!text.includes('/api/sighup-before'),
    'the refused file changed nothing: no access line while still at warn');
  assert.deepEqual(fcgiPids(), pids, 'the same processes serve');
}

// conf with the lines of keys replaced (or added).
function withKeys(keys) {
  let text = conf;
  for (const [k, v] of Object.entries(keys)) {
    text = text.replace(new RegExp(`^${k} = .*\\n`, 'm'), '');
    text += `${k} = ${v}\n`;
  }
  return text;
}

// Write text, SIGHUP every process, and wait until each has logged line once more (an info
// line: text sets log_level info).
async function reloadAll(pids, text, line) {
  const before = count(errorLog(), line);
  writeFileSync(stack.env.LIVECHAT_CONFIG, text);
  hup(pids);
  await logUntil((t) => count(t, line) >= before + pids.length, `"${line}" from every process`);
}

// Each of n requests (spread over the processes by the web server): the metrics status and
// whether the X-Request-Id sent came back (it does only from a trusted proxy).
async function observe(n) {
  const seen = { metrics: new Set(), echoed: new Set() };
  for (let i = 0; i < n; i++) {
    seen.metrics.add((await api(stack.base, 'GET', '/api/metrics')).status);
    const id = `hup-${Date.now()}-${i}`;
    const r = await api(stack.base, 'GET', '/api/live', { headers: { 'X-Request-Id': id } });
    seen.echoed.add(r.headers.get('x-request-id') === id);
  }
  return { metrics: [...seen.metrics], echoed: [...seen.echoed] };
}

test('SIGHUP applies trusted_proxies and metrics_allow in every process', async () => {
  const pids = fcgiPids();
  const n = 4 * pids.length;
  try {
    await reloadAll(pids, withKeys({ log_level: 'info', trusted_proxies: '""', metrics_allow: '127.0.0.1' }),
      'reload: trusted_proxies ""');
    assert.deepEqual(await observe(n), { metrics: [200], echoed: [false] });

    await reloadAll(pids, withKeys({ log_level: 'info', trusted_proxies: '127.0.0.1, ::1', metrics_allow: '10.1.2.3' }),
      'reload: trusted_proxies "127.0.0.1, ::1"');
    assert.deepEqual(await observe(n), { metrics: [404], echoed: [true] });

    // Back: the old lists were replaced, not added to.
    await reloadAll(pids, withKeys({ log_level: 'info', trusted_proxies: '""', metrics_allow: '127.0.0.1' }),
      'reload: trusted_proxies ""');
    assert.deepEqual(await observe(n), { metrics: [200], echoed: [false] });
  } finally { writeFileSync(stack.env.LIVECHAT_CONFIG, conf); }
  assert.deepEqual(fcgiPids(), pids, 'the same processes serve');
});

// Whether pid is gone (reaped) or a zombie its web server has yet to reap.
function exited(pid) {
  try { return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].startsWith('Z'); } catch { return true; }
}

test('SIGTERM: a livechat-fcgi process whose threads all wait in accept stops at once; the web server goes on serving', async () => {
  const pids = fcgiPids();
  const victim = pids[0];
  // Every one of its threads waits in accept (no request runs): the stop must wake them all.
  const threads = readdirSync(`/proc/${victim}/task`)
    .filter((t) => readFileSync(`/proc/${victim}/task/${t}/comm`, 'utf8').trim() === 'fcgi-serve');
  assert.ok(threads.length >= 2, `pid ${victim} serves with ${threads.length} thread(s): the case needs several`);
  try {
    await reloadAll([victim], withKeys({ log_level: 'info' }), 'log_level info');
  } finally { writeFileSync(stack.env.LIVECHAT_CONFIG, conf); }
  process.kill(victim, 'SIGTERM');
  // Logged once fcgi_serve has joined every thread (a thread left in accept would hang it).
  await logUntil((t) => t.includes(`livechat-fcgi (pid ${victim}) stopping`), `pid ${victim} stopping`, 5000);
  const end = Date.now() + 5000;
  while (!exited(victim) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  assert.ok(exited(victim), `pid ${victim} still runs 5 s after SIGTERM`);
  assert.doesNotMatch(errorLog(), /FastCGI accept failed|AddressSanitizer|runtime error/);
  for (let i = 0; i < 2 * pids.length; i++)
    assert.equal((await api(stack.base, 'GET', '/api/live')).status, 200);
});
