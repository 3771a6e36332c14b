// SPDX-License-Identifier: MIT
// livechatctl against a real stack's database: list-users, reset-password (password from stdin,
// sessions revoked), create-admin refusing a duplicate, a bad username or a short password.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { api, login, startStack } from './helpers.mjs';

let stack;
before(async () => { stack = await startStack(); });
after(async () => { await stack?.stop(); });

function ctl(args, input) {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('LIVECHAT_')) delete env[k];
  return spawnSync(join(process.env.LC_TOP_BUILDDIR, 'fcgi', 'livechatctl'),
    ['-c', join(stack.dir, 'livechat.conf'), ...args], { input, encoding: 'utf8', env });
}

test('list-users shows the first admin', () => {
  const r = ctl(['list-users']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^ID\s+USERNAME/);
  assert.match(r.stdout, /\badmin\s+admin\s+yes\s+Stack Admin/);
});

test('reset-password takes the new password from stdin and revokes the user\'s sessions', async () => {
  const token = await login(stack.base, stack.adminUser, stack.adminPassword);
  const r = ctl(['reset-password', 'admin'], 'brand-new-password\n');
  assert.equal(r.status, 0, r.stderr);
  assert.equal((await api(stack.base, 'GET', '/api/auth/me', { token })).status, 401);
  assert.equal((await api(stack.base, 'POST', '/api/auth/login', { body: { username: 'admin', password: stack.adminPassword } })).status, 401);
  await login(stack.base, 'admin', 'brand-new-password');
});

test('reset-password of an unknown user fails with a message', () => {
  const r = ctl(['reset-password', 'nobody-here'], 'whatever-password\n');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /no user 'nobody-here'/);
});

test('create-admin refuses a taken username, a bad username and a short password, and accepts a multi-word display name', async () => {
  let r = ctl(['create-admin', 'admin'], 'another-password\n');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /already exists/);
  r = ctl(['create-admin', 'shorty'], 'short\n');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /password: must be at least 8 characters/);
  // The same username rule as POST /api/users.
  r = ctl(['create-admin', 'bad name'], 'long-enough-pw\n');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /username: must contain only letters, digits, '\.', '_', '@' and '-', starting with a letter or digit/);
  assert.doesNotMatch(ctl(['list-users']).stdout, /shorty|bad name/);
  r = ctl(['create-admin', 'second', 'Second', 'Admin'], 'second-admin-pw\n');
  assert.equal(r.status, 0, r.stderr);
  const token = await login(stack.base, 'second', 'second-admin-pw');
  const me = await api(stack.base, 'GET', '/api/auth/me', { token });
  assert.equal(me.body.user.display_name, 'Second Admin');
  assert.equal(me.body.user.group, 'admin');
});

test('reset-password lifts the login throttle of that username', async () => {
  for (let i = 0; i < 5; i++) {
    assert.equal((await api(stack.base, 'POST', '/api/auth/login', { body: { username: 'second', password: 'wrong-' + i } })).status, 401);
  }
  assert.equal((await api(stack.base, 'POST', '/api/auth/login', { body: { username: 'second', password: 'second-admin-pw' } })).status, 429);
  const r = ctl(['reset-password', 'second'], 'second-new-password\n');
  assert.equal(r.status, 0, r.stderr);
  await login(stack.base, 'second', 'second-new-password');
});

test('bad usage exits 2 and prints the usage', () => {
  const r = ctl(['frobnicate']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /usage: livechatctl/);
});
