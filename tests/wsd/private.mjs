// SPDX-License-Identifier: MIT
// Private servers for the tests that stop and restart them (the shared RabbitMQ on 5672 and
// FerretDB on 27117 are used by everyone and are never touched): a RabbitMQ node run by
// tests/bus/rabbit-node.sh on free ports, and a FerretDB (sqlite) on a free port, both with
// their data in a temporary directory removed by stop().
import { spawn, execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import net from 'node:net';
import path from 'node:path';
import { freePort, until, sleep } from './harness.mjs';

const SRC = process.env.LC_TOP_SRCDIR || path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const RABBIT_NODE = path.join(SRC, 'tests/bus/rabbit-node.sh');
const FERRETDB = process.env.LC_FERRETDB || '/usr/local/bin/ferretdb';

function run(cmd, args, env = process.env, ms = 120000) {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { env, timeout: ms, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${err.message} ${stderr}`));
      else resolve(stdout);
    });
  });
}

function portOpen(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

export class PrivateRabbit {
  // extraConf: more rabbitmq.conf lines (e.g. a TLS listener), given the node's directory.
  async start({ extraConf = null } = {}) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lc-wsd-rabbit-'));
    if (extraConf) fs.writeFileSync(path.join(this.dir, 'extra.conf'), extraConf(this.dir));
    else fs.rmSync(this.dir, { recursive: true });   // rabbit-node.sh creates it
    this.port = await freePort();
    this.dist = await freePort();
    this.url = `amqp://guest:guest@127.0.0.1:${this.port}/`;
    await this.boot();
    return this;
  }
  boot() { return run('sh', [RABBIT_NODE, 'start', this.dir, String(this.port), String(this.dist), String(process.pid)]); }
  stopApp() { return run('sh', [RABBIT_NODE, 'stop_app', this.dir]); }
  startApp() { return run('sh', [RABBIT_NODE, 'start_app', this.dir]); }
  async kill() {
    await run('sh', [RABBIT_NODE, 'kill', this.dir]);
    await until(async () => !(await portOpen(this.port)), 'the killed broker to stop listening', 20000);
  }
  // rabbitmqctl on this node, with its own cookie; resolves to its output.
  ctl(...args) {
    const env = { ...process.env, HOME: this.dir };
    const node = fs.readFileSync(path.join(this.dir, 'nodename'), 'utf8').trim();
    return run('/usr/lib/rabbitmq/bin/rabbitmqctl', ['-n', node, '-q', ...args], env);
  }
  closeAll() { return run('sh', [RABBIT_NODE, 'close_all', this.dir]); }
  // Counts of a queue: { ready, unacked }.
  async queue(name) {
    const out = await this.ctl('list_queues', 'name', 'messages_ready', 'messages_unacknowledged');
    for (const line of out.split('\n')) {
      const [n, ready, unacked] = line.trim().split(/\s+/);
      if (n === name) return { ready: Number(ready), unacked: Number(unacked) };
    }
    return null;
  }
  async stop() { if (this.dir) await run('sh', [RABBIT_NODE, 'stop', this.dir]).catch(() => {}); }
}

export class PrivateFerret {
  // args: more ferretdb flags (e.g. a TLS listener).
  async start({ args = [] } = {}) {
    this.extraArgs = args;
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lc-wsd-ferret-'));
    this.port = await freePort();
    this.url = `mongodb://127.0.0.1:${this.port}/`;
    await this.boot();
    return this;
  }
  async boot() {
    this.proc = spawn(FERRETDB, ['--handler=sqlite', `--sqlite-url=file:${this.dir}/`, `--state-dir=${this.dir}`,
                                 `--listen-addr=127.0.0.1:${this.port}`, '--debug-addr=-', '--telemetry=disable',
                                 '--log-level=ERROR', ...(this.extraArgs || [])],
                      { stdio: ['ignore', 'ignore', 'inherit'] });
    const p = this.proc;
    p.exited = false;
    p.on('exit', () => { p.exited = true; });
    // Never left behind by a test that fails or times out (stop() is the normal way).
    process.once('exit', () => { if (!p.exited) p.kill('SIGKILL'); });
    await until(async () => {
      if (p.exited) throw new Error('ferretdb exited at start');
      return portOpen(this.port);
    }, 'ferretdb to listen', 20000);
  }
  async kill() {
    const p = this.proc;
    if (p && !p.exited) p.kill('SIGKILL');
    await until(() => p.exited, 'ferretdb to die', 10000);
    await until(async () => !(await portOpen(this.port)), 'ferretdb to stop listening', 10000);
  }
  async stop() {
    if (this.proc && !this.proc.exited) {
      this.proc.kill('SIGTERM');
      await until(() => this.proc.exited, 'ferretdb to exit', 10000).catch(() => this.proc.kill('SIGKILL'));
    }
    if (this.dir) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

export { sleep };
