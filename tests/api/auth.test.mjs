// SPDX-License-Identifier: MIT
// Authentication through a real lighttpd: login, the session cookie (Secure per cookie_secure),
// bearer and cookie auth, token expiry (token_ttl, and a session past its expiry), logout
// revoking the token, login throttling (429 until the window passes).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { api, createUser, login, seed, startStack } from './helpers.mjs';

const WINDOW_S = 10;
const MAX_FAILURES = 3;
const TTL_S = 7200;
let stack, admin;

before(async () => {
  stack = await startStack({ set: { login_window: WINDOW_S, login_max_failures: MAX_FAILURES, token_ttl: TTL_S } });
  admin = await login(stack.base, stack.adminUser, stack.adminPassword);
});
after(async () => { await stack?.stop(); });

describe('login', () => {
  test('login returns token, expiry, user without password hash, permissions and sets the cookie', async () => {
    const before = Date.now();
    const r = await api(stack.base, 'POST', '/api/auth/login',
      { body: { username: stack.adminUser, password: stack.adminPassword } });
    const afterLogin = Date.now();
    assert.equal(r.status, 200);
    assert.match(r.body.token, /^[A-Za-z0-9_-]{43}$/);
    // token_ttl from the config decides the expiry, in the body and as the cookie's Max-Age.
    assert.ok(r.body.expires_at >= before + TTL_S * 1000 - 1000, `${r.body.expires_at}`);
    assert.ok(r.body.expires_at <= afterLogin + TTL_S * 1000 + 1000, `${r.body.expires_at}`);
    assert.match(r.headers.get('set-cookie'), new RegExp(`; Max-Age=${TTL_S};`));
    assert.equal(r.body.user.username, stack.adminUser);
    assert.equal(r.body.user.group, 'admin');
    assert.equal(r.body.user.password_hash, undefined);
    assert.ok(r.body.permissions.includes('users.write'));
    const cookie = r.headers.get('set-cookie');
    assert.match(cookie, new RegExp(`^lc_session=${r.body.token};`));
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Strict/);
    assert.match(cookie, /Path=\//);
    assert.doesNotMatch(cookie, /Secure/); // cookie_secure = never in the stack, plain http
    assert.match(r.headers.get('x-request-id'), /^[0-9a-f]{16}$/);
  });

  test('wrong password and unknown user both get the same 401', async () => {
    const a = await api(stack.base, 'POST', '/api/auth/login', { body: { username: stack.adminUser, password: 'nope-nope' } });
    const b = await api(stack.base, 'POST', '/api/auth/login', { body: { username: 'ghost-user', password: 'nope-nope' } });
    assert.equal(a.status, 401);
    assert.equal(b.status, 401);
    assert.equal(a.body.error.code, 'unauthorized');
    assert.equal(a.body.error.message, b.body.error.message);
  });

  test('inactive user cannot log in', async () => {
    await createUser(stack.base, admin, { username: 'sleeper', password: 'sleeper-pass', active: false });
    const r = await api(stack.base, 'POST', '/api/auth/login', { body: { username: 'sleeper', password: 'sleeper-pass' } });
    assert.equal(r.status, 401);
  });
});

describe('token use', () => {
  test('me answers with the bearer token and with the cookie alone', async () => {
    const token = await login(stack.base, stack.adminUser, stack.adminPassword);
    const a = await api(stack.base, 'GET', '/api/auth/me', { token });
    assert.equal(a.status, 200);
    assert.equal(a.body.user.username, stack.adminUser);
    assert.ok(a.body.permissions.includes('settings.write'));
    assert.ok(a.body.expires_at > Date.now());
    const b = await api(stack.base, 'GET', '/api/auth/me', { cookie: `theme=x; lc_session=${token}` });
    assert.equal(b.status, 200);
    assert.equal(b.body.user.id, a.body.user.id);
  });

  test('a made-up token or cookie is 401', async () => {
    const a = await api(stack.base, 'GET', '/api/auth/me', { token: 'x'.repeat(43) });
    const b = await api(stack.base, 'GET', '/api/auth/me', { cookie: 'lc_session=abc' });
    const c = await api(stack.base, 'GET', '/api/auth/me', { headers: { authorization: 'Basic YTpi' } });
    assert.deepEqual([a.status, b.status, c.status], [401, 401, 401]);
    assert.equal(a.body.error.code, 'unauthorized');
  });

  test('logout revokes the token and clears the cookie', async () => {
    const token = await login(stack.base, stack.adminUser, stack.adminPassword);
    const other = await login(stack.base, stack.adminUser, stack.adminPassword);
    const out = await api(stack.base, 'POST', '/api/auth/logout', { token });
    assert.equal(out.status, 204);
    assert.match(out.headers.get('set-cookie'), /^lc_session=;.*Max-Age=0/);
    assert.equal((await api(stack.base, 'GET', '/api/auth/me', { token })).status, 401);
    assert.equal((await api(stack.base, 'GET', '/api/auth/me', { cookie: `lc_session=${token}` })).status, 401);
    // Only that session: another login of the same user still works.
    assert.equal((await api(stack.base, 'GET', '/api/auth/me', { token: other })).status, 200);
  });

  test('a session past its expiry is 401 by token and by cookie; one before it works', async () => {
    const me = (await api(stack.base, 'GET', '/api/auth/me', { token: admin })).body.user.id;
    const live = randomBytes(32).toString('base64url');
    const dead = randomBytes(32).toString('base64url');
    seed(stack, 'session', me, live, 60000);
    seed(stack, 'session', me, dead, -1000);
    assert.equal((await api(stack.base, 'GET', '/api/auth/me', { token: live })).status, 200);
    const a = await api(stack.base, 'GET', '/api/auth/me', { token: dead });
    assert.equal(a.status, 401);
    assert.equal(a.body.error.code, 'unauthorized');
    assert.equal((await api(stack.base, 'GET', '/api/auth/me', { cookie: `lc_session=${dead}` })).status, 401);
  });

  test('logout through the cookie revokes the cookie session', async () => {
    const token = await login(stack.base, stack.adminUser, stack.adminPassword);
    assert.equal((await api(stack.base, 'POST', '/api/auth/logout', { cookie: `lc_session=${token}`, headers: { origin: stack.base } })).status, 204);
    assert.equal((await api(stack.base, 'GET', '/api/auth/me', { token })).status, 401);
  });
});

describe('throttling', () => {
  test(`after ${MAX_FAILURES} failures a username gets 429, even with the right password, until the window passes`, async () => {
    await createUser(stack.base, admin, { username: 'victim', password: 'victim-password' });
    for (let i = 0; i < MAX_FAILURES; i++) {
      const r = await api(stack.base, 'POST', '/api/auth/login', { body: { username: 'victim', password: 'wrong-' + i } });
      assert.equal(r.status, 401, `attempt ${i + 1}`);
    }
    const blocked = await api(stack.base, 'POST', '/api/auth/login', { body: { username: 'victim', password: 'victim-password' } });
    assert.equal(blocked.status, 429);
    assert.equal(blocked.body.error.code, 'rate_limited');
    assert.ok(Number(blocked.headers.get('retry-after')) > 0);
    // Other usernames are not affected.
    assert.equal((await api(stack.base, 'POST', '/api/auth/login',
      { body: { username: stack.adminUser, password: stack.adminPassword } })).status, 200);
    await new Promise((res) => setTimeout(res, (WINDOW_S + 1) * 1000));
    const again = await api(stack.base, 'POST', '/api/auth/login', { body: { username: 'victim', password: 'victim-password' } });
    assert.equal(again.status, 200);
  });

  test(`of ${MAX_FAILURES * 8} bad logins at once for one username at most ${MAX_FAILURES} get 401, the rest 429`, async () => {
    // The stack runs two FastCGI processes: attempts overlap, each in its ~password check.
    // Known and unknown usernames are throttled alike.
    for (const username of ['racer', 'no-such-racer']) {
      if (username === 'racer') await createUser(stack.base, admin, { username, password: 'racer-password' });
      const answers = await Promise.all(Array.from({ length: MAX_FAILURES * 8 }, (_, i) =>
        api(stack.base, 'POST', '/api/auth/login', { body: { username, password: 'wrong-' + i } })));
      const statuses = answers.map((r) => r.status);
      const n401 = statuses.filter((s) => s === 401).length;
      assert.equal(n401 + statuses.filter((s) => s === 429).length, statuses.length, statuses.join(','));
      assert.ok(n401 >= 1 && n401 <= MAX_FAILURES, `${username}: ${n401} answers of 401: ${statuses.join(',')}`);
    }
    // Attempts refused for want of a free password-check slot are not failures: more wrong
    // ones, one at a time, reach the limit; then the right password is refused too.
    let status = 401;
    for (let i = 0; i < MAX_FAILURES && status === 401; i++)
      status = (await api(stack.base, 'POST', '/api/auth/login', { body: { username: 'racer', password: 'again-' + i } })).status;
    assert.equal(status, 429);
    assert.equal((await api(stack.base, 'POST', '/api/auth/login',
      { body: { username: 'racer', password: 'racer-password' } })).status, 429);
  });

  test('a successful login clears the failure count', async () => {
    await createUser(stack.base, admin, { username: 'forgetful', password: 'forgetful-pw' });
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < MAX_FAILURES - 1; i++) {
        assert.equal((await api(stack.base, 'POST', '/api/auth/login', { body: { username: 'forgetful', password: 'bad-pass' } })).status, 401);
      }
      assert.equal((await api(stack.base, 'POST', '/api/auth/login', { body: { username: 'forgetful', password: 'forgetful-pw' } })).status, 200);
    }
  });
});

describe('cookie_secure', () => {
  test('with cookie_secure = always the session cookie is Secure even over plain http', async () => {
    const secure = await startStack({ set: { cookie_secure: 'always' } });
    try {
      const r = await api(secure.base, 'POST', '/api/auth/login',
        { body: { username: secure.adminUser, password: secure.adminPassword } });
      assert.equal(r.status, 200);
      assert.match(r.headers.get('set-cookie'), /; HttpOnly; SameSite=Strict; Secure$/);
      const out = await api(secure.base, 'POST', '/api/auth/logout', { token: r.body.token });
      assert.match(out.headers.get('set-cookie'), /^lc_session=; .*Max-Age=0; .*Secure$/);
    } finally {
      await secure.stop();
    }
  });
});
