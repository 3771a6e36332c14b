// Shared by the API integration tests: start a real web server stack with tests/stack.sh
// (fresh database, first admin), call the API over HTTP, and make users of given groups.
import { execFile, execFileSync } from 'node:child_process';
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

// One request. opts: token (Bearer), cookie (raw Cookie header), body (object → JSON, or a
// string sent verbatim), headers. Returns {status, body (parsed JSON or null), headers, text}.
export async function api(base, method, path, opts = {}) {
  const headers = { ...(opts.headers ?? {}) };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.cookie) headers.cookie = opts.cookie;
  let body;
  if (opts.body !== undefined) {
    body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
    headers['content-type'] = 'application/json';
  }
  const res = await fetch(base + path, { method, headers, body, redirect: 'manual' });
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { json = null; }
  return { status: res.status, body: json, headers: res.headers, text };
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
