// SPDX-License-Identifier: MIT
// livechat-wsd answers --help and --version; a SIGHUP makes it re-read its config file on the
// loop thread while its websockets stay open, and a file that does not load is logged and
// changes nothing. Live (docs/operations.md): log_level and log_target (observed through
// "agent X connected", an info line written before the agent's hello), widget_origins and
// ws_allowed_origins, ws_max_conns_per_address, wsd_ping_after with wsd_idle_timeout.
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

// The status of an upgrade to p (101 when it opened, then closed again).
async function upgradeStatus(p, headers) {
  try {
    const c = await S.connect(node, p, headers);
    c.close();
    return 101;
  } catch (e) {
    const m = /HTTP (\d+)/.exec(e.message);
    return m ? Number(m[1]) : 0;
  }
}

// Write conf, SIGHUP, and wait for the reload's line (the n-th one since the start).
async function reload(text) {
  const before = count('reload: wsd_ping_after');
  writeFileSync(conf, text);
  node.proc.kill('SIGHUP');
  await until(() => count('reload: wsd_ping_after') > before, 'the reload of the live keys');
}

test('SIGHUP applies widget_origins: the listed site opens /ws/widget (never /ws/agent), another gets 403', async () => {
  const [u] = S.users('sigo', 1);
  const auth = { Authorization: `Bearer ${u.token}` };
  // No list (the default): any site embeds the widget.
  assert.equal(await upgradeStatus('/ws/widget', { Origin: 'https://any.example' }), 101);

  await reload('log_level = info\nwidget_origins = https://shop.example, https://www.shop.example\n');
  assert.equal(await upgradeStatus('/ws/widget', { Origin: 'https://shop.example' }), 101);
  assert.equal(await upgradeStatus('/ws/widget', { Origin: 'https://WWW.shop.example' }), 101);
  assert.equal(await upgradeStatus('/ws/widget', { Origin: 'https://any.example' }), 403);
  assert.equal(await upgradeStatus('/ws/widget', { Origin: 'https://shop.example.evil' }), 403);
  assert.equal(await upgradeStatus('/ws/widget', { Origin: `http://127.0.0.1:${node.port}` }), 101, 'its own origin');
  assert.equal(await upgradeStatus('/ws/widget', {}), 101, 'no Origin: not a browser');
  // An embedding site is no dashboard: /ws/agent stays closed to it, with the agent's cookie too.
  assert.equal(await upgradeStatus('/ws/agent', { ...auth, Origin: 'https://shop.example' }), 403);
  assert.equal(await upgradeStatus('/ws/agent', { ...auth, Origin: `http://127.0.0.1:${node.port}` }), 101);

  await reload('log_level = info\n');
  assert.equal(await upgradeStatus('/ws/widget', { Origin: 'https://any.example' }), 101, 'the list removed live');
});

test('SIGHUP applies ws_max_conns_per_address: a lower cap refuses new websockets with 429, 0 lifts it', async () => {
  const held = await S.connect(node, '/ws/widget');
  await reload('log_level = info\nws_max_conns_per_address = 1\n');
  assert.equal(await upgradeStatus('/ws/widget', {}), 429);
  assert.equal(held.closed, null, 'the websockets already open stay');
  await reload('log_level = info\nws_max_conns_per_address = 0\n');
  assert.equal(await upgradeStatus('/ws/widget', {}), 101);
  held.close();
});

test('SIGHUP applies wsd_ping_after and wsd_idle_timeout; a pair with idle <= ping is refused whole', async () => {
  // Refused: the running values (30 s, 75 s: nobody silent is dropped within this test) stay.
  const refusedBefore = count('keeping the running configuration');
  writeFileSync(conf, 'log_level = info\nwsd_ping_after = 20\nwsd_idle_timeout = 20\n');
  node.proc.kill('SIGHUP');
  await until(() => count('keeping the running configuration') > refusedBefore, 'the refused pair');
  assert.match(output, /wsd_idle_timeout \(20\) must be larger than wsd_ping_after \(20\)/);

  await reload('log_level = info\nwsd_ping_after = 1\nwsd_idle_timeout = 3\n');
  const mute = await S.connect(node, '/ws/widget', {}, { autoPong: false });
  await mute.waitClosed(20000);
  assert.ok(mute.pings >= 1, 'pinged after 1 s of silence before being dropped');
  await reload('log_level = info\n');
  assert.equal(node.exited, null);
});
