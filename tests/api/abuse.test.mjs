// SPDX-License-Identifier: MIT
// Abuse of the password checks (issue 11, defects 2, 3 and 6) through a real lighttpd, each
// client a loopback source address of its own: failures are throttled per (username, address)
// and per address, password checks at once are bounded per process and per address (429 before
// any hashing), current_password guesses count like logins, Retry-After is the time left; and
// legitimate users from other addresses keep working throughout.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { api, createUser, login, startStack } from './helpers.mjs';

const WINDOW_S = 10;
const MAX_FAILURES = 3;
const MAX_PER_ADDRESS = 6;
let stack, admin;

before(async () => {
  stack = await startStack({ set: {
    login_window: WINDOW_S, login_max_failures: MAX_FAILURES,
    login_max_failures_per_address: MAX_PER_ADDRESS, login_concurrency: 2,
  } });
  admin = await login(stack.base, stack.adminUser, stack.adminPassword);
});
after(async () => { await stack?.stop(); });

const loginFrom = (from, username, password) =>
  api(stack.base, 'POST', '/api/auth/login', { from, body: { username, password } });
const sleep = (ms) => new Promise((res) => setTimeout(res, ms));

describe('failures are counted per username and address', () => {
  test('wrong passwords from one address do not lock the account out for another address', async () => {
    await createUser(stack.base, admin, { username: 'target', password: 'target-password' });
    for (let i = 0; i < MAX_FAILURES; i++)
      assert.equal((await loginFrom('127.0.0.2', 'target', 'wrong-' + i)).status, 401);
    const blocked = await loginFrom('127.0.0.2', 'target', 'target-password');
    assert.equal(blocked.status, 429);
    assert.equal(blocked.body.error.code, 'rate_limited');
    // The owner, elsewhere, with no failures there: in.
    assert.equal((await loginFrom('127.0.0.3', 'target', 'target-password')).status, 200);
    // The admin account cannot be locked from outside either.
    for (let i = 0; i < MAX_FAILURES + 2; i++)
      assert.notEqual((await loginFrom('127.0.0.2', stack.adminUser, 'wrong-' + i)).status, 200);
    assert.equal((await loginFrom('127.0.0.3', stack.adminUser, stack.adminPassword)).status, 200);
  });

  test('Retry-After is the time left until the oldest counted failure leaves the window', async () => {
    await createUser(stack.base, admin, { username: 'waiter', password: 'waiter-password' });
    for (let i = 0; i < MAX_FAILURES; i++)
      assert.equal((await loginFrom('127.0.0.4', 'waiter', 'wrong-' + i)).status, 401);
    await sleep(3000);
    const blocked = await loginFrom('127.0.0.4', 'waiter', 'waiter-password');
    assert.equal(blocked.status, 429);
    const left = Number(blocked.headers.get('retry-after'));
    assert.ok(left >= 1 && left <= WINDOW_S - 2, `Retry-After ${blocked.headers.get('retry-after')}`);
    await sleep(left * 1000 + 300);
    assert.equal((await loginFrom('127.0.0.4', 'waiter', 'waiter-password')).status, 200);
  });

  test(`after ${MAX_PER_ADDRESS} failures from one address, any username, that address gets 429; others do not`, async () => {
    for (let i = 0; i < MAX_PER_ADDRESS; i++)
      assert.equal((await loginFrom('127.0.0.5', `sprayed-${i}`, 'wrong')).status, 401, `attempt ${i + 1}`);
    const r = await loginFrom('127.0.0.5', 'sprayed-new', 'wrong');
    assert.equal(r.status, 429);
    assert.match(r.body.error.message, /address/);
    assert.ok(Number(r.headers.get('retry-after')) >= 1);
    assert.equal((await loginFrom('127.0.0.6', stack.adminUser, stack.adminPassword)).status, 200);
  });
});

describe('password checks at once are bounded', () => {
  test('concurrent logins from one address: the excess is refused with 429 before hashing, another address still logs in', async () => {
    // Distinct unknown usernames, fewer than any failure limit: only the slots refuse.
    const attack = Promise.all(Array.from({ length: MAX_PER_ADDRESS - 1 }, (_, i) =>
      loginFrom('127.0.0.7', `nobody-${i}`, 'guess')));
    const legit = loginFrom('127.0.0.8', stack.adminUser, stack.adminPassword);
    const answers = await attack;
    const statuses = answers.map((r) => r.status);
    const refused = answers.filter((r) => r.status === 429);
    assert.ok(refused.length >= 1, statuses.join(','));
    assert.equal(statuses.filter((s) => s === 401).length + refused.length, statuses.length, statuses.join(','));
    for (const r of refused) {
      assert.match(r.body.error.message, /at once/);
      assert.equal(r.headers.get('retry-after'), '1');
    }
    assert.equal((await legit).status, 200);
  });
});

describe('current_password guesses count like logins', () => {
  test(`after ${MAX_FAILURES} wrong current_password answers from an address: 429 there, for the password change and the login`, async () => {
    await createUser(stack.base, admin, { username: 'changer', password: 'changer-password' });
    const token = await login(stack.base, 'changer', 'changer-password');
    const me = await api(stack.base, 'GET', '/api/auth/me', { token });
    const put = (from, current) => api(stack.base, 'PUT', `/api/users/${me.body.user.id}/password`,
      { from, token, body: { password: 'a-new-password', current_password: current } });
    for (let i = 0; i < MAX_FAILURES; i++) {
      const r = await put('127.0.0.9', 'wrong-' + i);
      assert.equal(r.status, 422);
      assert.equal(r.body.error.fields[0].field, 'current_password');
    }
    const blocked = await put('127.0.0.9', 'changer-password');
    assert.equal(blocked.status, 429);
    assert.ok(Number(blocked.headers.get('retry-after')) >= 1);
    assert.equal((await loginFrom('127.0.0.9', 'changer', 'changer-password')).status, 429);
    // The owner from another address changes it.
    assert.equal((await put('127.0.0.10', 'changer-password')).status, 204);
    assert.equal((await loginFrom('127.0.0.10', 'changer', 'a-new-password')).status, 200);
  });
});
