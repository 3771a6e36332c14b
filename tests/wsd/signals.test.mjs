// SPDX-License-Identifier: MIT
// livechat-wsd answers --help and --version; a SIGHUP makes it re-read log_level and log_target
// from its config file on the loop thread while its websockets stay open, and a file that does
// not load is logged and changes nothing. The level is observed through "agent X connected",
// an info line written before the agent's hello is sent.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Stack, freePort, until } from './harness.mjs';

const BUILD = process.env.LC_TOP_BUILDDIR || process.cwd();
const WSD = path.join(BUILD, 'wsd/livechat-wsd');
const S = new Stack('signals');
const dir = mkdtempSync(path.join(tmpdir(), 'lc-wsd-signals-'));
const conf = path.join(dir, 'livechat.conf');
let node;
let output = '';

// One livechat-wsd on the config file conf (the environment names the servers, the database and
// the prefix, but not the log level, which an environment variable would pin).
test.before(async () => {
  S.fixture('init');
  writeFileSync(conf, 'log_level = warn\n');
  const port = await freePort();
  const env = { ...S.env, LIVECHAT_WSD_PORT: String(port), LIVECHAT_WSD_LISTEN: '127.0.0.1',
                LIVECHAT_WSD_NODE_ID: 'sig0' };
  delete env.LIVECHAT_LOG_LEVEL;
  const proc = spawn(WSD, ['-c', conf], { env, stdio: ['ignore', 'inherit', 'pipe'] });
  proc.stderr.on('data', (b) => { output += b.toString(); process.stderr.write(b); });
  node = { i: 0, port, proc, url: `ws://127.0.0.1:${port}`, exited: null };
  proc.on('exit', (code, sig) => { node.exited = { code, sig }; });
  S.nodes[0] = node;
  await until(async () => {
    if (node.exited) throw new Error(`livechat-wsd exited: ${JSON.stringify(node.exited)}`);
    try {
      const w = await S.connect(node, '/ws/widget');
      w.send({ type: 'hello' });
      await w.waitFor((f) => f.type === 'welcome', 'welcome', 3000);
      w.close();
      return true;
    } catch { return false; }
  }, 'livechat-wsd ready', 20000);
});
test.after(async () => { await S.stop(); rmSync(dir, { recursive: true, force: true }); });

const count = (needle) => output.split(needle).length - 1;

test('livechat-wsd --help prints its usage and --version its version, both exit 0', () => {
  const help = spawnSync(WSD, ['--help'], { encoding: 'utf8' });
  assert.equal(help.status, 0, help.stderr);
  assert.match(help.stdout, /^usage: livechat-wsd .*\n[\s\S]*--version/);
  const version = spawnSync(WSD, ['--version'], { encoding: 'utf8' });
  assert.equal(version.status, 0, version.stderr);
  assert.match(version.stdout, /^livechat-wsd \d+\.\d+\.\d+\n$/);
});

test('SIGHUP: a broken file keeps the old log level, a good one applies its level live', async () => {
  const [a, b, c] = S.users('sig', 3);
  const first = await S.agent(node, a);

  // A file that does not load (an unknown key, after a log_level that must not be taken).
  writeFileSync(conf, 'log_level = info\nno_such_key = 1\n');
  node.proc.kill('SIGHUP');
  await until(() => output.includes('keeping the running configuration'), 'the refused reload');
  assert.match(output, /unknown key 'no_such_key'/);
  assert.equal(node.exited, null, 'SIGHUP did not stop livechat-wsd');
  // Still at warn: this agent's "connected" line (info) is not written.
  await S.agent(node, b);

  // A good file: log_level info takes effect without a restart, on the same process.
  writeFileSync(conf, 'log_level = info\n');
  node.proc.kill('SIGHUP');
  await until(() => output.includes('log_level info'), 'the reload');
  await S.agent(node, c);
  await until(() => output.includes(`agent ${c.username} connected`), 'the info line of the third agent');
  assert.equal(count(`agent ${a.username} connected`), 0, 'at warn before any reload');
  assert.equal(count(`agent ${b.username} connected`), 0, 'the refused file changed nothing');

  // The websocket opened before both signals still works.
  assert.equal(first.closed, null);
  first.send({ type: 'ping', ref: 'after-hup' });
  await first.waitFor((f) => f.type === 'pong' && f.ref === 'after-hup');
  assert.equal(node.exited, null);
});
