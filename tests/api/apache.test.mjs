// SPDX-License-Identifier: MIT
// The smoke path through a real Apache (mod_fcgid) running the shipped vhost
// (conf/apache-livechat.conf.in, rendered by tests/stack.sh): static htdocs, login, create and
// list a canned response with the bearer token and with the cookie, JSON error answers (also for
// bytes that are not UTF-8 and bad escapes, which Apache passes through).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { api, assertDashboardHeaders, assertWidgetHeaders, startStack } from './helpers.mjs';

let stack;
before(async () => { stack = await startStack({ server: 'apache' }); });
after(async () => { await stack?.stop(); });

test('apache serves the dashboard from htdocs at /', async () => {
  const res = await fetch(stack.base + '/');
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /text\/html/);
  assert.match(res.headers.get('server'), /Apache/);
});

test('through apache: login, create a canned response and list it, by bearer token and by cookie', async () => {
  const l = await api(stack.base, 'POST', '/api/auth/login', { body: { username: stack.adminUser, password: stack.adminPassword } });
  assert.equal(l.status, 200);
  assert.match(l.headers.get('set-cookie'), /^lc_session=[^;]+; Path=\/; .*HttpOnly; SameSite=Strict/);
  const token = l.body.token;
  const c = await api(stack.base, 'POST', '/api/canned', { token, body: { shortcut: 'hello', title: 'Hello', text: 'Hello {customer}' } });
  assert.equal(c.status, 201, c.text);
  const byToken = await api(stack.base, 'GET', '/api/canned?prefix=hel', { token });
  assert.equal(byToken.status, 200);
  assert.deepEqual(byToken.body.items.map((x) => x.id), [c.body.id]);
  const byCookie = await api(stack.base, 'GET', '/api/canned', { cookie: `lc_session=${token}` });
  assert.equal(byCookie.status, 200);
  assert.equal(byCookie.body.total, 1);
});

test('through apache: errors keep the JSON shape (401, 404, 413)', async () => {
  const a = await api(stack.base, 'GET', '/api/canned');
  assert.equal(a.status, 401);
  assert.equal(a.body.error.code, 'unauthorized');
  const b = await api(stack.base, 'GET', '/api/no/such/thing');
  assert.equal(b.status, 404);
  assert.equal(b.body.error.code, 'not_found');
  // Over http_max_body (65536) but under Apache's limit (65 KiB): the program's JSON 413.
  const c = await api(stack.base, 'POST', '/api/auth/login', { body: 'x'.repeat(66000) });
  assert.equal(c.status, 413);
  assert.equal(c.body.error.code, 'payload_too_large');
});

test('through apache: a body far over http_max_body is refused by Apache (413) before the program', async () => {
  const r = await api(stack.base, 'POST', '/api/auth/login', { body: 'x'.repeat(1024 * 1024) });
  assert.equal(r.status, 413);
  assert.doesNotMatch(r.headers.get('content-type') ?? '', /application\/json/);
  assert.equal((await api(stack.base, 'GET', '/api/health')).status, 200);
});

test('through apache: the same security headers as lighttpd', async () => {
  for (const path of ['/', '/js/app.js']) assertDashboardHeaders(await fetch(stack.base + path), path);
  assertWidgetHeaders(await fetch(stack.base + '/widget/demo.html'), '/widget/demo.html');
  const a = await api(stack.base, 'GET', '/api/health');
  assert.equal(a.headers.get('x-content-type-options'), 'nosniff');
});

// Apache, unlike lighttpd, passes bytes that are not UTF-8 and bad escapes through to the program.
test('through apache: non-UTF-8 ids are 404, non-UTF-8 query values 422, bad escapes 400, all JSON', async () => {
  const l = await api(stack.base, 'POST', '/api/auth/login', { body: { username: stack.adminUser, password: stack.adminPassword } });
  const token = l.body.token;
  for (const [path, status, code] of [
    ['/api/users/%ff', 404, 'not_found'],
    ['/api/groups/%c0%af', 404, 'not_found'],
    ['/api/users?group=%ff', 422, 'validation_failed'],
    ['/api/canned?q=%zz', 400, 'bad_request'],
    ['/api/users?page=2%00', 400, 'bad_request'],
  ]) {
    const r = await api(stack.base, 'GET', path, { token });
    assert.equal(r.status, status, `${path}: ${r.text}`);
    assert.equal(r.body.error.code, code, path);
  }
});
