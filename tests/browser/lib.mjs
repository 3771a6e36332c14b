// SPDX-License-Identifier: MIT
// tests/browser/lib.mjs: what the browser tests share: the stack (lighttpd with the shipped
// config, livechat-fcgi, two livechat-wsd, a fresh database, started by tests/stack.sh), Debian's
// Chromium driven by playwright-core, screenshots into tests/artifacts, and small REST helpers.
import { createRequire } from 'node:module';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import assert from 'node:assert/strict';

const require = createRequire(import.meta.url);
// ESM ignores NODE_PATH; require() honours it (tests/run-node-test.sh sets it).
const { chromium } = require('playwright-core');

export const SRC = process.env.LC_TOP_SRCDIR || path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
export const BUILD = process.env.LC_TOP_BUILDDIR || SRC;
export const ARTIFACTS = path.join(BUILD, 'tests', 'artifacts');
const CHROMIUM = '/usr/bin/chromium';

/** Fails loudly when a prerequisite is missing (no skips). */
function need(file, hint) {
  assert.ok(fs.existsSync(file), `${file} is missing: ${hint}`);
}

/**
 * Starts the whole stack with `wsd` websocket daemons in a fresh directory and database
 * (tests/stack.sh start DIR --wsd N); `env` adds to the environment stack.sh gets (e.g. another
 * LIVECHAT_MONGO_URI). Returns {base, admin:{username,password}, dir, env, stop()}.
 */
export async function startStack({ wsd = 2, name = 'browser', env: extraEnv = {} } = {}) {
  const script = path.join(SRC, 'tests', 'stack.sh');
  need(script, 'tests/stack.sh (written with the REST API) starts the servers');
  let dir;
  for (let attempt = 1; ; attempt += 1) {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), `lc-${name}-`));
    try {
      await run('bash', [script, 'start', dir, '--wsd', String(wsd)], 120000, extraEnv);
      break;
    } catch (e) {
      fs.rmSync(dir, { recursive: true, force: true });
      // A free port can be taken by another process between stack.sh's check and the bind
      // (parallel test runs, outgoing connections): try again with other ports, twice at most.
      if (attempt >= 3 || !/did not open port|cannot listen|Address already in use/.test(String(e))) throw e;
      console.log(`stack.sh could not bind a port (attempt ${attempt}); starting again`);
    }
  }
  const env = {};
  for (const line of fs.readFileSync(path.join(dir, 'env'), 'utf8').split('\n')) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m) env[m[1]] = m[2].replace(/^"(.*)"$/, '$1');
  }
  assert.ok(env.LC_BASE_URL, `tests/stack.sh wrote no LC_BASE_URL in ${dir}/env`);
  return {
    base: env.LC_BASE_URL.replace(/\/$/, ''),
    dir,
    env,
    admin: { username: env.LC_ADMIN_USER, password: env.LC_ADMIN_PASSWORD },
    /** The tail of each server log (for a failing test's message). */
    logs() {
      const logDir = path.join(dir, 'log');
      return fs.readdirSync(logDir).map((f) => {
        const text = fs.readFileSync(path.join(logDir, f), 'utf8');
        return `---- ${f}\n${text.split('\n').slice(-40).join('\n')}`;
      }).join('\n');
    },
    async stop() {
      await run('bash', [script, 'stop', dir], 60000, extraEnv).catch((e) => console.error(String(e)));
      if (process.env.LC_KEEP_STACK !== '1') fs.rmSync(dir, { recursive: true, force: true });
      else console.log(`stack kept in ${dir}`);
    },
  };
}

function run(cmd, args, timeoutMs, extraEnv = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      reject(new Error(`${cmd} ${args.join(' ')} did not finish in ${timeoutMs} ms\n${out}\n${err}`));
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} ${args.join(' ')} exited ${code}\n${out}\n${err}`));
    });
  });
}

/** Debian's Chromium, headless; never a downloaded browser. */
export async function launchBrowser() {
  need(CHROMIUM, 'install Debian\'s chromium (apt-get install -y chromium)');
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--no-first-run', '--autoplay-policy=no-user-gesture-required'],
  });
}

/**
 * A page in its own browser context (own cookies and localStorage), that records page errors so
 * a test can assert there were none. `prefix` names its screenshots.
 */
export async function openPage(browser, prefix, opts = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, ...opts });
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(e.message));
  page.on('console', (m) => {
    if (process.env.LC_BROWSER_CONSOLE) console.log(`[${prefix}] ${m.type()}: ${m.text()}`);
  });
  page.shotPrefix = prefix;
  return page;
}

let shotNo = 0;
/** Saves a screenshot of page as tests/artifacts/<test>-<nn>-<name>.png and returns its path. */
export async function shot(page, testName, name) {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  shotNo += 1;
  const file = path.join(ARTIFACTS, `${testName}-${String(shotNo).padStart(2, '0')}-${page.shotPrefix}-${name}.png`);
  await page.screenshot({ path: file });
  return file;
}

/** Logs in through the dashboard's form and waits for the header to show the user. */
export async function login(page, base, username, password) {
  await page.goto(base + '/');
  await page.getByTestId('login-username').fill(username);
  await page.getByTestId('login-password').fill(password);
  await page.getByTestId('login-submit').click();
  await page.getByTestId('user-name').waitFor({ timeout: 10000 });
}

/** Waits until the dashboard's websocket is up (header says online). */
export async function waitOnline(page) {
  await page.getByTestId('conn-state').filter({ hasText: 'online' }).waitFor({ timeout: 15000 });
}

/** A REST call with a bearer token: returns {status, body}. */
export async function rest(base, token, method, p, body) {
  const headers = { Accept: 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(base + p, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch (e) {
    json = { raw: text };
  }
  return { status: res.status, body: json };
}

/** Logs in over REST and returns the token. */
export async function tokenFor(base, username, password) {
  const r = await rest(base, null, 'POST', '/api/auth/login', { username, password });
  assert.equal(r.status, 200, `login of ${username}: ${JSON.stringify(r.body)}`);
  return r.body.token;
}

/** Copies a screenshot to docs/ (only when LC_DOCS_SCREENSHOT=1: the source tree stays clean). */
export function publishToDocs(file, name) {
  if (process.env.LC_DOCS_SCREENSHOT !== '1') return;
  fs.copyFileSync(file, path.join(SRC, 'docs', name));
}
