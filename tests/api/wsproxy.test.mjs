// The shipped web server configs pass /ws/ websocket upgrades to livechat-wsd: through a real
// lighttpd and a real Apache, each with two wsd backends, two agent connections held open at
// once are upgraded (101), authenticated by the lc_session cookie, and land on both backends.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { login, startStack } from './helpers.mjs';

const require = createRequire((process.env.NODE_PATH ?? '.') + '/');
const WebSocket = require('ws');
const stacks = [];
after(async () => { for (const s of stacks) await s.stop(); });

// Open an agent websocket and resolve with its first message (parsed) and the socket.
function connect(url, token) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers: { cookie: `lc_session=${token}` } });
    let status = 0;
    const timer = setTimeout(() => { ws.terminate(); reject(new Error('no message within 5 s')); }, 5000);
    ws.on('upgrade', (res) => { status = res.statusCode; });
    ws.on('message', (m) => { clearTimeout(timer); resolve({ ws, status, msg: JSON.parse(String(m)) }); });
    ws.on('unexpected-response', (req, res) => { clearTimeout(timer); reject(new Error(`HTTP ${res.statusCode}`)); });
    ws.on('error', (e) => { clearTimeout(timer); reject(e); });
  });
}

for (const server of ['lighttpd', 'apache']) {
  describe(server, () => {
    test(`${server} upgrades /ws/agent and balances over two wsd backends`, async () => {
      const stack = await startStack({ server, wsd: 2 });
      stacks.push(stack);
      const token = await login(stack.base, stack.adminUser, stack.adminPassword);
      const url = stack.base.replace(/^http/, 'ws') + '/ws/agent';
      const a = await connect(url, token);
      const b = await connect(url, token);
      try {
        assert.equal(a.status, 101);
        assert.equal(b.status, 101);
        assert.equal(typeof a.msg.type, 'string');
        assert.ok(a.msg.node && b.msg.node, 'wsd names its node in its first message');
        assert.notEqual(a.msg.node, b.msg.node);
      } finally {
        a.ws.close();
        b.ws.close();
      }
    });
  });
}
