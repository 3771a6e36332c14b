// SPDX-License-Identifier: MIT
// Shared by the API integration tests: start a real web server stack with tests/stack.sh
// (fresh database, first admin), call the API over HTTP, and make users of given groups.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

function need(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run through make check (tests/test-env.sh)`);
  return v;
}

// Start a stack; options: server ('lighttpd'|'apache'), wsd (count), wsdSessionCheck (seconds
// between wsd's periodic session checks), set ({key: value} config lines), srcdir and builddir
// (the trees stack.sh runs from; default LC_TOP_SRCDIR and LC_TOP_BUILDDIR), parent (where the
// stack's directory is made; default the system's temporary directory).
// Returns {base, adminUser, adminPassword, dir, env, stop()}. stop() is idempotent.
export async function startStack(options = {}) {
  const src = options.srcdir ?? need('LC_TOP_SRCDIR');
  const build = options.builddir ?? need('LC_TOP_BUILDDIR');
  const dir = mkdtempSync(join(options.parent ?? tmpdir(), 'lc-api-'));
  const args = ['start', dir, '--server', options.server ?? 'lighttpd'];
  if (options.wsd) args.push('--wsd', String(options.wsd));
  if (options.wsdSessionCheck) args.push('--wsd-session-check', String(options.wsdSessionCheck));
  for (const [k, v] of Object.entries(options.set ?? {})) args.push('--set', `${k}=${v}`);
  const script = join(src, 'tests', 'stack.sh');
  const runEnv = { ...process.env, LC_TOP_SRCDIR: src, LC_TOP_BUILDDIR: build };
  try {
    await run('bash', [script, ...args], { timeout: 60000, env: runEnv });
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`stack.sh start failed: ${e.stderr || e.message}`);
  }
  const env = Object.fromEntries(readFileSync(join(dir, 'env'), 'utf8').trim().split('\n')
    .map((l) => { const i = l.indexOf('='); return [l.slice(0, i), l.slice(i + 1).replace(/^"|"$/g, '')]; }));
  let stopped = false;
  return {
    base: env.LC_BASE_URL, adminUser: env.LC_ADMIN_USER, adminPassword: env.LC_ADMIN_PASSWORD,
    dir, env,
    async stop() {
      if (stopped) return;
      stopped = true;
      await run('bash', [script, 'stop', dir], { timeout: 30000, env: runEnv });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// One request from a chosen loopback source address (127.0.0.0/8 all reaches the server), so a
// test can be several clients: the web server passes it on as REMOTE_ADDR.
function requestFrom(url, from, method, headers, body) {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers, localAddress: from }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: new Headers(
        Object.entries(res.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : v])),
      text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

// One request. opts: token (Bearer), cookie (raw Cookie header), body (object → JSON, or a
// string sent verbatim), headers, from (source address, e.g. '127.0.0.2'). Returns
// {status, body (parsed JSON or null), headers, text}.
// The directives of a Content-Security-Policy header, by name: { 'script-src': ["'self'"], ... }.
export function cspDirectives(header) {
  return Object.fromEntries((header ?? '').split(';').map((d) => d.trim().split(/\s+/))
    .filter((d) => d[0]).map(([k, ...v]) => [k, v]));
}

// Assert the browser hardening every web server config gives a dashboard answer (fetch Response
// RES, LABEL in messages; docs/api.md, "Hosting"): only the site's own scripts and styles, no
// framing, no plugins, no MIME sniffing, no Referer beyond the origin.
export function assertDashboardHeaders(res, label) {
  const p = cspDirectives(res.headers.get('content-security-policy'));
  assert.deepEqual(p['script-src'], ["'self'"], label);
  assert.deepEqual(p['style-src'], ["'self'"], label);
  assert.deepEqual(p['frame-ancestors'], ["'none'"], label);
  assert.deepEqual(p['object-src'], ["'none'"], label);
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff', label);
  assert.equal(res.headers.get('referrer-policy'), 'same-origin', label);
}

// The same for the widget's pages (/widget/): inline styles allowed, never inline script.
export function assertWidgetHeaders(res, label) {
  const p = cspDirectives(res.headers.get('content-security-policy'));
  assert.deepEqual(p['script-src'], ["'self'"], label);
  assert.ok(p['style-src']?.includes("'unsafe-inline'"), label);
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff', label);
}

export async function api(base, method, path, opts = {}) {
  const headers = { ...(opts.headers ?? {}) };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.cookie) headers.cookie = opts.cookie;
  let body;
  if (opts.body !== undefined) {
    body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
    headers['content-type'] = 'application/json';
  }
  let res;
  if (opts.from) {
    res = await requestFrom(base + path, opts.from, method, headers, body);
  } else {
    const r = await fetch(base + path, { method, headers, body, redirect: 'manual' });
    res = { status: r.status, headers: r.headers, text: await r.text() };
  }
  let json = null;
  try { json = res.text ? JSON.parse(res.text) : null; } catch { json = null; }
  return { status: res.status, body: json, headers: res.headers, text: res.text };
}

// Open an agent websocket (ws://.../ws/agent, lc_session cookie) and resolve with the socket,
// the HTTP status of the upgrade and its first message (parsed).
export function agentSocket(base, token) {
  const require = createRequire((process.env.NODE_PATH ?? '.') + '/');
  const WebSocket = require('ws');
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(base.replace(/^http/, 'ws') + '/ws/agent', { headers: { cookie: `lc_session=${token}` } });
    let status = 0;
    const timer = setTimeout(() => { ws.terminate(); reject(new Error('no message within 5 s')); }, 5000);
    ws.on('upgrade', (res) => { status = res.statusCode; });
    ws.on('message', (m) => { clearTimeout(timer); resolve({ ws, status, msg: JSON.parse(String(m)) }); });
    ws.on('unexpected-response', (req, res) => { clearTimeout(timer); reject(new Error(`HTTP ${res.statusCode}`)); });
    ws.on('error', (e) => { clearTimeout(timer); reject(e); });
  });
}

export async function login(base, username, password) {
  const r = await api(base, 'POST', '/api/auth/login', { body: { username, password } });
  if (r.status !== 200) throw new Error(`login ${username}: ${r.status} ${r.text}`);
  return r.body.token;
}

let seq = 0;
// A group with exactly these permissions and an active user in it; returns {id, username, password, token}.
export async function userWith(base, adminToken, permissions, prefix = 'u') {
  seq += 1;
  const group = `g${process.pid}x${seq}`;
  let r = await api(base, 'POST', '/api/groups', { token: adminToken, body: { name: group, permissions } });
  if (r.status !== 201) throw new Error(`group: ${r.status} ${r.text}`);
  const username = `${prefix}${process.pid}x${seq}`;
  const password = 'password-' + seq + '-long';
  r = await api(base, 'POST', '/api/users', { token: adminToken, body: { username, password, group } });
  if (r.status !== 201) throw new Error(`user: ${r.status} ${r.text}`);
  return { id: r.body.id, username, password, group, token: await login(base, username, password) };
}

export async function createUser(base, adminToken, fields) {
  const r = await api(base, 'POST', '/api/users', { token: adminToken, body: fields });
  if (r.status !== 201) throw new Error(`user: ${r.status} ${r.text}`);
  return r.body;
}

// The fields named in a 422 answer.
export function failedFields(r) {
  return (r.body?.error?.fields ?? []).map((f) => f.field);
}

// Run tests/api/seed against a stack's database (see seed.c): seed(stack, 'room', 'cust', '3')
// returns the room; seed(stack, 'session', userId, token, ms) stores a session. Returns the
// parsed JSON it prints, or null when it prints nothing.
export function seed(stack, ...args) {
  const out = execFileSync(join(need('LC_TOP_BUILDDIR'), 'tests', 'api', 'seed'),
    [join(stack.dir, 'livechat.conf'), ...args.map(String)], { encoding: 'utf8' });
  return out.trim() ? JSON.parse(out) : null;
}
