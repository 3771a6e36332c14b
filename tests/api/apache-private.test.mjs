// SPDX-License-Identifier: MIT
// The Apache stack from a checkout other users cannot enter (issue 12 item 12): the parts of the
// source and build trees tests/stack.sh runs from are copied into a fresh 0700 directory, which
// also holds the stack's own directory, and Apache (whose workers run as www-data under root)
// must still serve the dashboard, the API and the websocket proxy.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { agentSocket, api, login, startStack } from './helpers.mjs';

const SRC_PARTS = ['conf', 'htdocs', 'tests/stack.sh'];
const BUILD_PARTS = ['fcgi/livechat-fcgi', 'fcgi/livechatctl', 'wsd/livechat-wsd', 'tests/api/teardown'];

let closed;
let stack;

function copyParts(from, to, parts) {
  for (const p of parts) {
    mkdirSync(dirname(join(to, p)), { recursive: true });
    cpSync(join(from, p), join(to, p), { recursive: true, preserveTimestamps: true });
  }
}

before(async () => {
  const build = process.env.LC_TOP_BUILDDIR;
  // stack.sh stop needs teardown; a plain `make` leaves check programs out.
  if (!existsSync(join(build, 'tests', 'api', 'teardown')))
    execFileSync('make', ['-s', '-C', join(build, 'tests'), 'api/teardown']);
  closed = mkdtempSync(join(tmpdir(), 'lc-closed-'));
  chmodSync(closed, 0o700);
  copyParts(process.env.LC_TOP_SRCDIR, join(closed, 'src'), SRC_PARTS);
  copyParts(build, join(closed, 'build'), BUILD_PARTS);
  stack = await startStack({
    server: 'apache', wsd: 1, parent: closed,
    srcdir: join(closed, 'src'), builddir: join(closed, 'build'),
  });
});

after(async () => {
  await stack?.stop();
  // Copies of a read-only tree (make distcheck) are read-only too.
  if (closed) {
    execFileSync('chmod', ['-R', 'u+w', closed]);
    rmSync(closed, { recursive: true, force: true });
  }
});

test('the checkout directory stays closed to other users', () => {
  assert.equal(statSync(closed).mode & 0o777, 0o700);
});

test('apache serves the dashboard and the API from a checkout in a 0700 directory', async () => {
  const page = await fetch(stack.base + '/');
  assert.equal(page.status, 200);
  assert.match(await page.text(), /<html/i);
  const health = await api(stack.base, 'GET', '/api/health');
  assert.equal(health.status, 200, health.text);
  assert.equal(health.body.status, 'ok');
});

test('apache proxies /ws/agent to livechat-wsd from a checkout in a 0700 directory', async () => {
  const token = await login(stack.base, stack.adminUser, stack.adminPassword);
  const a = await agentSocket(stack.base, token);
  try {
    assert.equal(a.status, 101);
    assert.equal(a.msg.type, 'hello');
  } finally {
    a.ws.close();
  }
});
