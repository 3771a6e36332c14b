// SPDX-License-Identifier: MIT
// tests/stack.sh stop removes what the stack made up in the shared servers (so test runs leave
// nothing behind): its database in FerretDB and, for its own amqp_prefix, the exchanges and the
// inbound queue wsd and the API declared in RabbitMQ. A database the caller named (a local
// run's data) is kept. Checked with tests/api/teardown --exists (the server's list of
// databases) and amqplib's checkExchange / checkQueue.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync,
  writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStack } from './helpers.mjs';

const require = createRequire((process.env.NODE_PATH ?? '.') + '/');
const amqp = require('amqplib');

// Exit status of tests/api/teardown [args] (0: done / exists, 1: refused or failed / absent).
function teardown(...args) {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('LIVECHAT_')) delete env[k];
  const r = spawnSync(join(process.env.LC_TOP_BUILDDIR, 'tests', 'api', 'teardown'), args,
    { encoding: 'utf8', env });
  assert.ok(r.status === 0 || r.status === 1, `teardown ${args.join(' ')}: ${r.status} ${r.stderr}`);
  return r.status;
}

// Does the broker have this exchange (kind 'Exchange') or queue (kind 'Queue')? A failed check
// closes the channel, so each check gets its own.
async function brokerHas(conn, kind, name) {
  const ch = await conn.createChannel();
  ch.on('error', () => {});
  try {
    await ch[`check${kind}`](name);
    await ch.close();
    return true;
  } catch {
    return false;
  }
}

// stop() removes the stack's directory: keep its config to look at the database afterwards.
function keepConfig(stack, tmp) {
  const conf = join(tmp, 'livechat.conf');
  copyFileSync(join(stack.dir, 'livechat.conf'), conf);
  return conf;
}

test('stop drops the database and deletes the RabbitMQ names the stack made up', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'lc-stack-test-'));
  const conn = await amqp.connect(process.env.LIVECHAT_AMQP_URL);
  try {
    const stack = await startStack({ wsd: 1 });
    const db = stack.env.LIVECHAT_MONGO_DB;
    const prefix = stack.env.LIVECHAT_AMQP_PREFIX;
    assert.match(db, /^lc_stack_/);
    const conf = keepConfig(stack, tmp);
    assert.equal(teardown('--exists', conf, db), 0, 'the stack made its database');
    // wsd declares its topology once RabbitMQ answers: wait for it.
    for (let i = 0; i < 50 && !(await brokerHas(conn, 'Queue', `${prefix}.inbound`)); i++) {
      await new Promise((res) => setTimeout(res, 100));
    }
    for (const x of ['inbound', 'outbound', 'nodes']) {
      assert.ok(await brokerHas(conn, 'Exchange', `${prefix}.${x}`), `${prefix}.${x} exists`);
    }
    assert.ok(await brokerHas(conn, 'Queue', `${prefix}.inbound`));
    await stack.stop();
    assert.equal(teardown('--exists', conf, db), 1, 'the database is gone after stop');
    for (const x of ['inbound', 'outbound', 'nodes']) {
      assert.equal(await brokerHas(conn, 'Exchange', `${prefix}.${x}`), false, `${prefix}.${x} is gone`);
    }
    assert.equal(await brokerHas(conn, 'Queue', `${prefix}.inbound`), false);
  } finally {
    await conn.close();
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('stop keeps a database the caller named; teardown refuses names the config does not give', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'lc-stack-test-'));
  const db = `lc_keep_${process.pid}_${Date.now()}`;
  try {
    const stack = await startStack({ set: { mongo_db: db } });
    const conf = keepConfig(stack, tmp);
    await stack.stop();
    assert.equal(teardown('--exists', conf, db), 0, 'a named database survives stop');
    assert.equal(teardown(conf, 'lc_some_other_db'), 1);
    assert.equal(teardown(conf, db, 'some-other-prefix'), 1);
    assert.equal(teardown('--exists', conf, db), 0);
    assert.equal(teardown(conf, db), 0);
    assert.equal(teardown('--exists', conf, db), 1);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

// After a plain `make` (no check programs), stop builds tests/api/teardown itself with
// `make -C BUILD/tests api/teardown` rather than leak the database. A build tree whose
// tests/Makefile only knows that target (it copies the real helper) shows stop asks for it.
test('stop builds the teardown helper a plain make left out, then drops the database', () => {
  const real = process.env.LC_TOP_BUILDDIR;
  const build = mkdtempSync(join(tmpdir(), 'lc-plain-build-'));
  const dir = mkdtempSync(join(tmpdir(), 'lc-stack-plain-'));
  try {
    symlinkSync(join(real, 'fcgi'), join(build, 'fcgi'));
    mkdirSync(join(build, 'tests', 'api'), { recursive: true });
    writeFileSync(join(build, 'tests', 'Makefile'),
      `api/teardown:\n\tcp '${join(real, 'tests', 'api', 'teardown')}' $@\n`);
    const env = { ...process.env, LC_TOP_BUILDDIR: build };
    const script = join(process.env.LC_TOP_SRCDIR, 'tests', 'stack.sh');
    let r = spawnSync('bash', [script, 'start', dir], { encoding: 'utf8', env, timeout: 60000 });
    assert.equal(r.status, 0, r.stderr);
    const db = readFileSync(join(dir, 'env'), 'utf8').match(/^LIVECHAT_MONGO_DB=(.*)$/m)[1];
    const conf = join(build, 'livechat.conf');
    copyFileSync(join(dir, 'livechat.conf'), conf);
    assert.equal(existsSync(join(build, 'tests', 'api', 'teardown')), false);
    assert.equal(teardown('--exists', conf, db), 0, 'the stack made its database');
    r = spawnSync('bash', [script, 'stop', dir], { encoding: 'utf8', env, timeout: 30000 });
    assert.equal(r.status, 0, r.stderr);
    assert.ok(existsSync(join(build, 'tests', 'api', 'teardown')), 'stop built the helper');
    assert.equal(teardown('--exists', conf, db), 1, 'the database is gone after stop');
  } finally {
    spawnSync('bash', [join(process.env.LC_TOP_SRCDIR, 'tests', 'stack.sh'), 'stop', dir],
      { env: { ...process.env, LC_TOP_BUILDDIR: build }, timeout: 30000 });
    rmSync(dir, { recursive: true, force: true });
    rmSync(build, { recursive: true, force: true });
  }
});
