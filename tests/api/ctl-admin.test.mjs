// SPDX-License-Identifier: MIT
// livechatctl's operations commands against a real stack (lighttpd, one wsd, the real FerretDB
// and RabbitMQ): config check (the key at fault named, *_file keys, '#' in values), status
// (services and the wsd node seen on the broker; a broker that is down), users
// deactivate/activate/set-group (with the API's last-admin guard), settings get/set (with the
// API's rules), export of one customer's rooms and purge --before DATE (closed rooms only).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { api, login, seed, startStack, userWith } from './helpers.mjs';

let stack, admin;
before(async () => {
  stack = await startStack({ wsd: 1 });
  admin = await login(stack.base, stack.adminUser, stack.adminPassword);
});
after(async () => { await stack?.stop(); });

function ctl(args, conf = join(stack.dir, 'livechat.conf')) {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('LIVECHAT_')) delete env[k];
  return spawnSync(join(process.env.LC_TOP_BUILDDIR, 'fcgi', 'livechatctl'), ['-c', conf, ...args],
    { encoding: 'utf8', env });
}

// The stack's config with lines replaced or added ({key: value}, null drops the key).
function confWith(name, changes) {
  const lines = readFileSync(join(stack.dir, 'livechat.conf'), 'utf8').split('\n')
    .filter((l) => !(l.split('=')[0].trim() in changes));
  for (const [k, v] of Object.entries(changes)) if (v !== null) lines.push(`${k} = ${v}`);
  const path = join(stack.dir, name);
  writeFileSync(path, lines.join('\n') + '\n');
  return path;
}

test('config check says ok for a good file and names the key of a bad one (exit 1)', () => {
  let r = ctl(['config', 'check']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /livechat\.conf: ok/);
  r = ctl(['config', 'check'], confWith('bad.conf', { wsd_port: '99999' }));
  assert.equal(r.status, 1);
  assert.match(r.stderr, /bad\.conf:\d+: key 'wsd_port': must be between 1 and 65535/);
  assert.match(r.stderr, /key: wsd_port/);
});

test('config check: a URI file works, a URI file beside the inline key is refused naming both', () => {
  const uri = readFileSync(join(stack.dir, 'livechat.conf'), 'utf8').match(/^mongo_uri\s*=\s*(.*)$/m)[1];
  writeFileSync(join(stack.dir, 'mongo_uri'), uri + '\n');
  const good = confWith('file.conf', { mongo_uri: null, mongo_uri_file: join(stack.dir, 'mongo_uri') });
  let r = ctl(['config', 'check'], good);
  assert.equal(r.status, 0, r.stderr);
  // and the programs use it: list the users through that file
  r = ctl(['users', 'list'], good);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /\badmin\b/);
  r = ctl(['config', 'check'], confWith('both.conf', { mongo_uri_file: join(stack.dir, 'mongo_uri') }));
  assert.equal(r.status, 1);
  assert.match(r.stderr, /keys 'mongo_uri' and 'mongo_uri_file' are both set/);
  assert.match(r.stderr, /key: mongo_uri_file/);
});

test('status shows MongoDB and RabbitMQ up and the one wsd node consuming the inbound queue', () => {
  const r = ctl(['status']);
  assert.equal(r.status, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /^mongodb\s+up/m);
  assert.match(r.stdout, /^rabbitmq\s+up/m);
  assert.match(r.stdout, new RegExp(`^queue\\s+${stack.env.LIVECHAT_AMQP_PREFIX}\\.inbound: \\d+ messages waiting, 1 consumers`, 'm'));
  assert.match(r.stdout, /^wsd nodes 1 seen/m);
});

test('status with a broker that does not answer says rabbitmq down and exits 1', () => {
  const r = ctl(['status'], confWith('nobroker.conf', { amqp_url: 'amqp://guest:guest@127.0.0.1:1/' }));
  assert.equal(r.status, 1);
  assert.match(r.stdout, /^mongodb\s+up/m);
  assert.match(r.stdout, /^rabbitmq\s+down: cannot connect to 127\.0\.0\.1:1/m);
});

test('users deactivate revokes the sessions, activate lets the user back in, set-group moves them', async () => {
  const u = await userWith(stack.base, admin, ['chats.accept']);
  let r = ctl(['users', 'deactivate', u.username]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /inactive/);
  assert.equal((await api(stack.base, 'GET', '/api/auth/me', { token: u.token })).status, 401);
  assert.match(ctl(['users', 'list']).stdout, new RegExp(`${u.username}\\s+\\S+\\s+no\\b`));
  assert.equal(ctl(['users', 'activate', u.username]).status, 0);
  const token = await login(stack.base, u.username, u.password);
  r = ctl(['users', 'set-group', u.username, 'supervisor']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal((await api(stack.base, 'GET', '/api/auth/me', { token })).body.user.group, 'supervisor');
  r = ctl(['users', 'set-group', u.username, 'no-such-group']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /no group 'no-such-group'/);
  r = ctl(['users', 'deactivate', 'nobody-here']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /no user 'nobody-here'/);
});

test('users deactivate and set-group refuse to take away the last active admin', () => {
  for (const args of [['deactivate', 'admin'], ['set-group', 'admin', 'agent']]) {
    const r = ctl(['users', ...args]);
    assert.equal(r.status, 1, args.join(' '));
    assert.match(r.stderr, /the last active admin cannot be/);
  }
  assert.match(ctl(['users', 'list']).stdout, /\badmin\s+admin\s+yes/);
});

test('settings get and set, with the rules of PATCH /api/settings', async () => {
  let r = ctl(['settings', 'get', 'history_limit']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), '50');
  r = ctl(['settings', 'set', 'history_limit', '20']);
  assert.equal(r.status, 0, r.stderr);
  r = ctl(['settings', 'set', 'waiting_message', 'One moment # please']);
  assert.equal(r.status, 0, r.stderr);
  const s = await api(stack.base, 'GET', '/api/settings', { token: admin });
  assert.equal(s.body.history_limit, 20);
  assert.equal(s.body.waiting_message, 'One moment # please');
  assert.equal(JSON.parse(ctl(['settings', 'get']).stdout).history_limit, 20);
  r = ctl(['settings', 'set', 'history_limit', '0']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /history_limit: /);
  r = ctl(['settings', 'set', 'no_such_setting', '1']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /no_such_setting/);
  assert.equal(ctl(['settings', 'get', 'no_such_setting']).status, 1);
});

test('export prints one customer\'s rooms with their messages as JSON', () => {
  const closed = seed(stack, 'room', 'cust-export', 2, 'close');
  const open = seed(stack, 'room', 'cust-export', 3);
  seed(stack, 'room', 'cust-other', 1);
  const r = ctl(['export', '--channel', 'widget', '--customer', 'cust-export']);
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.customer_id, 'cust-export');
  assert.deepEqual(out.rooms.map((x) => x.id), [closed.id, open.id]);
  assert.deepEqual(out.rooms.map((x) => x.messages.length), [2, 3]);
  assert.deepEqual(out.rooms[1].messages.map((m) => m.seq), [1, 2, 3]);
  assert.equal(out.rooms[0].open_key, undefined);
  const none = JSON.parse(ctl(['export', '--channel', 'widget', '--customer', 'nobody']).stdout);
  assert.deepEqual(none.rooms, []);
  assert.equal(ctl(['export', '--channel', 'widget']).status, 2);
});

test('purge --before deletes closed rooms and their messages, never an open room', async () => {
  const closed = seed(stack, 'room', 'cust-purge', 4, 'close');
  const open = seed(stack, 'room', 'cust-purge-open', 5);
  let r = ctl(['purge', '--before', '2020-01-01']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /purged 0 closed rooms and 0 messages/);
  assert.equal((await api(stack.base, 'GET', `/api/rooms/${closed.id}`, { token: admin })).status, 200);
  await new Promise((res) => setTimeout(res, 1100));   // closed_at strictly before the cut
  const cut = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  r = ctl(['purge', '--before', cut]);
  assert.equal(r.status, 0, r.stderr);
  const m = r.stdout.match(/purged (\d+) closed rooms and (\d+) messages/);
  assert.ok(Number(m[1]) >= 1 && Number(m[2]) >= 4, r.stdout);
  assert.equal((await api(stack.base, 'GET', `/api/rooms/${closed.id}`, { token: admin })).status, 404);
  const msgs = await api(stack.base, 'GET', `/api/rooms/${open.id}/messages`, { token: admin });
  assert.equal(msgs.status, 200);
  assert.equal(msgs.body.items.length, 5);
  const rooms = await api(stack.base, 'GET', '/api/rooms?status=closed', { token: admin });
  assert.equal(rooms.body.total, 0);
  r = ctl(['purge', '--before', 'yesterday']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /--before: 'yesterday' is not a date/);
  r = ctl(['purge', '--before', '2999-01-01']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /in the future/);
});
