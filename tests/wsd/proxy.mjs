// SPDX-License-Identifier: MIT
import net from 'node:net';

// A TCP proxy to the broker (the real RabbitMQ behind it) that can cut every connection through it
// and refuse new ones: one node loses RabbitMQ while the others and the test keep it.
export class Proxy {
  constructor(target) {
    this.target = new URL(target);
    this.socks = new Set();
    this.refusing = false;
  }

  async start() {
    this.server = net.createServer((c) => {
      if (this.refusing) { c.destroy(); return; }
      const up = net.connect(Number(this.target.port || 5672), this.target.hostname);
      for (const s of [c, up]) {
        this.socks.add(s);
        s.on('error', () => {});
        s.on('close', () => { this.socks.delete(s); c.destroy(); up.destroy(); });
      }
      c.pipe(up);
      up.pipe(c);
    });
    await new Promise((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const u = new URL(this.target);
    u.hostname = '127.0.0.1';
    u.port = String(this.server.address().port);
    this.url = u.toString();
    return this;
  }

  cut() {
    this.refusing = true;
    for (const s of this.socks) s.destroy();
  }

  restore() { this.refusing = false; }

  stop() { this.cut(); this.server?.close(); }
}
