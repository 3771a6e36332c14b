// SPDX-License-Identifier: MIT
// Behind a TLS proxy, through a real lighttpd: with trusted_proxies = 127.0.0.1 and
// cookie_secure = auto, a login that the proxy (127.0.0.1) says came over https
// (X-Forwarded-Proto or Forwarded: proto=) gets a Secure session cookie; the same headers from
// another address (127.0.0.2) are ignored. A trusted proxy's X-Request-Id becomes the request
// id (response header and access line, with the X-Forwarded-For client); an untrusted one's
// does not. The login throttle counts failures per client behind the proxy, not per proxy.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { api, startStack } from './helpers.mjs';

let stack;
before(async () => {
  stack = await startStack({ set: { trusted_proxies: '127.0.0.1, ::1', cookie_secure: 'auto',
    login_max_failures_per_address: 3 } });
});
after(async () => { await stack?.stop(); });

const login = (from, headers) => api(stack.base, 'POST', '/api/auth/login', {
  from, headers, body: { username: stack.adminUser, password: stack.adminPassword },
});

test('the trusted proxy saying https makes the session cookie Secure', async () => {
  for (const headers of [{ 'x-forwarded-proto': 'https' }, { forwarded: 'for=198.51.100.7;proto=https' }]) {
    const r = await login('127.0.0.1', headers);
    assert.equal(r.status, 200, r.text);
    assert.match(r.headers.get('set-cookie'), /; HttpOnly; SameSite=Strict; Secure$/, JSON.stringify(headers));
  }
  // the same proxy saying http: no Secure
  const r = await login('127.0.0.1', { 'x-forwarded-proto': 'http' });
  assert.doesNotMatch(r.headers.get('set-cookie'), /Secure/);
});

test('the same headers from an address that is not a trusted proxy are ignored', async () => {
  for (const headers of [{ 'x-forwarded-proto': 'https' }, { forwarded: 'proto=https' }]) {
    const r = await login('127.0.0.2', headers);
    assert.equal(r.status, 200, r.text);
    assert.doesNotMatch(r.headers.get('set-cookie'), /Secure/, JSON.stringify(headers));
  }
});

async function accessLine(id) {
  for (let i = 0; i < 50; i++) {
    const line = readFileSync(join(stack.dir, 'log', 'lighttpd.out'), 'utf8').split('\n').find((l) => l.includes(`${id} `));
    if (line) return line;
    await new Promise((res) => setTimeout(res, 100));
  }
  return '';
}

test('a trusted proxy\'s X-Request-Id and X-Forwarded-For client are in the answer and the access line', async () => {
  const headers = { 'x-request-id': 'edge-7f3a.1', 'x-forwarded-for': '198.51.100.7' };
  let r = await api(stack.base, 'GET', '/api/live', { from: '127.0.0.1', headers });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('x-request-id'), 'edge-7f3a.1');
  assert.match(await accessLine('edge-7f3a.1'), /edge-7f3a\.1 198\.51\.100\.7 GET \/api\/live 200 \d+ms user=-/);
  r = await api(stack.base, 'GET', '/api/live', { from: '127.0.0.2', headers: { ...headers, 'x-request-id': 'forged-id-1' } });
  const id = r.headers.get('x-request-id');
  assert.match(id, /^[0-9a-f]{16}$/);
  assert.match(await accessLine(id), new RegExp(`${id} 127\\.0\\.0\\.2 GET /api/live 200`));
  assert.doesNotMatch(readFileSync(join(stack.dir, 'log', 'lighttpd.out'), 'utf8'), /forged-id-1/);
});

test('behind the trusted proxy failed logins count against the forwarded client, not the proxy', async () => {
  const fail = (from, xff, i) => api(stack.base, 'POST', '/api/auth/login', {
    from, headers: { 'x-forwarded-for': xff }, body: { username: `nobody${i}`, password: 'wrong-password' },
  });
  for (let i = 0; i < 3; i++) assert.equal((await fail('127.0.0.1', '198.51.100.1', i)).status, 401);
  assert.equal((await fail('127.0.0.1', '198.51.100.1', 9)).status, 429);
  // another client behind the same proxy logs in
  const ok = await login('127.0.0.1', { 'x-forwarded-for': '198.51.100.2' });
  assert.equal(ok.status, 200, ok.text);
  // from an untrusted address X-Forwarded-For changes nothing: its own address is limited
  for (let i = 0; i < 3; i++) assert.equal((await fail('127.0.0.3', `203.0.113.${i}`, i)).status, 401);
  assert.equal((await fail('127.0.0.3', '203.0.113.99', 9)).status, 429);
});
