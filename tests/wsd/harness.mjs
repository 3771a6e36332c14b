// SPDX-License-Identifier: MIT
// Test harness of the wsd integration tests: a fresh database and a unique amqp_prefix per test
// file, N livechat-wsd processes on free loopback ports, agents/sessions made with wsd_fixture
// (liblivechat), and small websocket clients that record every frame they receive.
import { spawn, execFileSync } from 'node:child_process';
import net from 'node:net';
import crypto from 'node:crypto';
import path from 'node:path';
import WebSocket from 'ws';
import amqp from 'amqplib';

const BUILD = process.env.LC_TOP_BUILDDIR || process.cwd();
const MONGO = process.env.LIVECHAT_MONGO_URI;
const AMQP = process.env.LIVECHAT_AMQP_URL;
if (!MONGO || !AMQP) throw new Error('LIVECHAT_MONGO_URI and LIVECHAT_AMQP_URL must be set (tests/test-env.sh)');

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

// Resolve when pred() is truthy, polling; reject naming what was awaited after ms.
export async function until(pred, what, ms = 8000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await pred();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

export class Stack {
  // mongo / amqp: the servers of this stack (default: the shared ones of tests/test-env.sh;
  // tests that restart a server pass private ones, see private.mjs).
  constructor(name, { mongo = MONGO, amqp: amqpUrl = AMQP } = {}) {
    const rnd = crypto.randomBytes(4).toString('hex');
    this.db = `lc_wsd_${name}_${rnd}`;
    this.prefix = `lcwsd_${name}_${rnd}`;
    this.amqpUrl = amqpUrl;
    this.env = { ...process.env, LIVECHAT_MONGO_URI: mongo, LIVECHAT_AMQP_URL: amqpUrl,
                 LIVECHAT_MONGO_DB: this.db, LIVECHAT_AMQP_PREFIX: this.prefix };
    delete this.env.LIVECHAT_CONFIG;
    this.nodes = [];
    this.clients = [];
  }

  fixture(...args) {
    const out = execFileSync(path.join(BUILD, 'tests/wsd/wsd_fixture'), args.map(String),
                             { env: this.env, encoding: 'utf8' });
    return out.trim() ? JSON.parse(out) : null;
  }

  // args: more command-line options of every livechat-wsd (e.g. ['--settings-check', '3600']).
  async start({ nodes = 2, settings = null, sessionCheck = 2, env = {}, args = [] } = {}) {
    Object.assign(this.env, env);
    this.args = args;
    this.fixture('init');
    if (settings) this.fixture('settings', JSON.stringify(settings));
    for (let i = 0; i < nodes; i++) await this.startNode(i, sessionCheck);
  }

  async startNode(i, sessionCheck = 2) {
    const port = await freePort();
    const env = { ...this.env, LIVECHAT_WSD_PORT: String(port), LIVECHAT_WSD_LISTEN: '127.0.0.1',
                  LIVECHAT_WSD_NODE_ID: `n${i}`, LIVECHAT_LOG_LEVEL: process.env.LC_WSD_LOG || 'warn' };
    const proc = spawn(path.join(BUILD, 'wsd/livechat-wsd'),
                       ['--session-check', String(sessionCheck), ...(this.args || [])],
                       { env, stdio: ['ignore', 'inherit', 'inherit'] });
    const node = { i, port, proc, url: `ws://127.0.0.1:${port}`, exited: null };
    proc.on('exit', (code, sig) => { node.exited = { code, sig }; });
    this.nodes[i] = node;
    // Ready = a widget gets its welcome (needs the RabbitMQ topology and MongoDB).
    await until(async () => {
      if (node.exited) throw new Error(`livechat-wsd n${i} exited: ${JSON.stringify(node.exited)}`);
      try {
        const w = await this.connect(node, '/ws/widget');
        w.send({ type: 'hello' });
        await w.waitFor((f) => f.type === 'welcome', 'welcome', 3000);
        w.close();
        return true;
      } catch { return false; }
    }, `node n${i} ready`, 20000);
    return node;
  }

  async stopNode(i) {
    const n = this.nodes[i];
    if (!n || n.exited) return;
    n.proc.kill('SIGTERM');
    await until(() => n.exited, `n${i} to exit`, 10000).catch(() => n.proc.kill('SIGKILL'));
  }

  users(prefix, n, group = 'agent') { return this.fixture('users', prefix, n, group); }

  // Change the settings as PATCH /api/settings does: the document in MongoDB, then
  // {"type":"settings"} on <prefix>.nodes (broadcast.settings), which every node reads at once.
  async settings(patch) {
    this.fixture('settings', JSON.stringify(patch));
    await this.nodeEvent('broadcast.settings', { type: 'settings' });
  }

  // Publish one event to every node (exchange <prefix>.nodes), confirmed by the broker.
  async nodeEvent(key, body) {
    const conn = await amqp.connect(this.amqpUrl);
    try {
      const ch = await conn.createConfirmChannel();
      ch.publish(`${this.prefix}.nodes`, key, Buffer.from(JSON.stringify(body)));
      await ch.waitForConfirms();
    } finally { await conn.close(); }
  }

  // opts: extra options of the ws client (e.g. { autoPong: false }).
  connect(node, p, headers = {}, opts = {}) {
    return Client.open(`${node.url}${p}`, headers, this.clients, opts);
  }

  async agent(node, user, opts = {}) {
    const c = await this.connect(node, '/ws/agent', { Authorization: `Bearer ${user.token}` }, opts);
    c.user = user;
    await c.waitFor((f) => f.type === 'hello', `hello for ${user.username}`);
    return c;
  }

  async stop() {
    for (const c of this.clients) c.terminate();
    for (const n of this.nodes) await this.stopNode(n.i);
    // Remove what this run left in the shared broker and database.
    try {
      const conn = await amqp.connect(this.amqpUrl);
      const ch = await conn.createChannel();
      ch.on('error', () => {});
      for (const q of [`${this.prefix}.inbound`, `${this.prefix}.outbound.test`, `${this.prefix}.outbound.widget`])
        await ch.deleteQueue(q).catch(() => {});
      for (const x of ['inbound', 'outbound', 'nodes']) await ch.deleteExchange(`${this.prefix}.${x}`).catch(() => {});
      await conn.close();
    } catch { /* best effort */ }
    try { this.fixture('drop'); } catch { /* best effort */ }
  }
}

export class Client {
  static open(url, headers, registry, opts = {}) {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { ...opts, headers });
      const c = new Client(ws);
      registry?.push(c);
      ws.once('open', () => resolve(c));
      ws.once('error', reject);
      ws.once('unexpected-response', (req, res) => reject(new Error(`handshake refused: HTTP ${res.statusCode}`)));
    });
  }

  constructor(ws) {
    this.ws = ws;
    this.frames = [];
    this.closed = null;
    this.pings = 0;
    ws.on('ping', () => { this.pings++; });
    ws.on('message', (data, isBinary) => {
      if (!isBinary) this.frames.push(JSON.parse(data.toString()));
    });
    ws.on('close', (code, reason) => { this.closed = { code, reason: reason.toString() }; });
    ws.on('error', () => {});
  }

  send(obj) { this.ws.send(typeof obj === 'string' ? obj : JSON.stringify(obj)); }
  sendRaw(data, opts) { this.ws.send(data, opts); }
  find(pred) { return this.frames.find(pred); }
  all(pred) { return this.frames.filter(pred); }
  waitFor(pred, what = 'a frame', ms = 8000) {
    return until(() => this.frames.find(pred), `${what} (got ${JSON.stringify(this.frames.slice(-5))})`, ms);
  }
  waitClosed(ms = 8000) { return until(() => this.closed, 'the connection to close', ms); }
  close() { this.ws.close(); }
  terminate() { try { this.ws.terminate(); } catch { /* closed */ } }
}
