// SPDX-License-Identifier: MIT
// log_target = a file, rotated by the shipped logrotate file (conf/livechat.logrotate.in, with
// the stack's log directory, no `su` and a postrotate that signals the stack's livechat-fcgi
// processes instead of systemd units): after logrotate moved the file and sent SIGHUP, the
// processes write their access lines to a new file; the moved one keeps the earlier lines.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { api, startStack } from './helpers.mjs';

const logdir = mkdtempSync(join(tmpdir(), 'lc-logrotate-'));
const logfile = join(logdir, 'livechat.log');
let stack;
before(async () => { stack = await startStack({ set: { log_target: logfile } }); });
after(async () => { await stack?.stop(); rmSync(logdir, { recursive: true, force: true }); });

function fcgiPids() {
  const server = readFileSync(join(stack.dir, 'pids'), 'utf8').split('\n')
    .map((l) => l.split(' ')).find(([name]) => name === 'lighttpd')[1];
  return execFileSync('pgrep', ['-P', server, '-x', 'livechat-fcgi'], { encoding: 'utf8' })
    .trim().split('\n').filter(Boolean).map(Number);
}

async function until(pred, what) {
  for (let i = 0; i < 100; i++) {
    if (pred()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const read = (p) => (existsSync(p) ? readFileSync(p, 'utf8') : '');

test('logrotate with the shipped file moves the log and SIGHUP makes livechat-fcgi start a new one', async () => {
  assert.equal((await api(stack.base, 'GET', '/api/before-rotate')).status, 404);
  await until(() => read(logfile).includes('GET /api/before-rotate 404'), 'the first access line in the file');

  const pids = fcgiPids();
  const shipped = readFileSync(join(process.env.LC_TOP_SRCDIR, 'conf', 'livechat.logrotate.in'), 'utf8');
  const conf = shipped.replaceAll('@logdir@', logdir)
    .replace(/^\s*su .*\n/m, '')
    .replace(/^\s*systemctl kill .*$/m, `\t\tkill -HUP ${pids.join(' ')}`);
  assert.match(conf, /kill -HUP \d+/);
  writeFileSync(join(logdir, 'logrotate.conf'), conf);
  execFileSync('logrotate', ['-f', '-s', join(logdir, 'state'), join(logdir, 'logrotate.conf')]);
  // SIGHUP is taken by each process's main thread while its workers go on: a request answered
  // before that thread reopened the file still goes to the moved one. Every process writes its
  // reload line to the new file once it has reopened it.
  const reloads = () => (read(logfile).match(/reload: re-read .* log_target \//g) ?? []).length;
  await until(() => reloads() >= pids.length, `a reload line from each of ${pids.length} processes`);

  // delaycompress: the first rotation leaves livechat.log.1 plain
  assert.match(read(`${logfile}.1`), /GET \/api\/before-rotate 404/);
  assert.equal((await api(stack.base, 'GET', '/api/after-rotate')).status, 404);
  await until(() => read(logfile).includes('GET /api/after-rotate 404'), 'the access line in the new file');
  assert.doesNotMatch(read(logfile), /before-rotate/);
  assert.doesNotMatch(read(`${logfile}.1`), /after-rotate/);
});
