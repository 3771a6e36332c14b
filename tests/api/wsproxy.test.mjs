// SPDX-License-Identifier: MIT
// The shipped web server configs pass /ws/ websocket upgrades to livechat-wsd: through a real
// lighttpd and a real Apache, each with two wsd backends, two agent connections held open at
// once are upgraded (101), authenticated by the lc_session cookie, and land on both backends.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { agentSocket, login, startStack } from './helpers.mjs';

const stacks = [];
after(async () => { for (const s of stacks) await s.stop(); });

for (const server of ['lighttpd', 'apache']) {
  describe(server, () => {
    test(`${server} upgrades /ws/agent and balances over two wsd backends`, async () => {
      const stack = await startStack({ server, wsd: 2 });
      stacks.push(stack);
      const token = await login(stack.base, stack.adminUser, stack.adminPassword);
      const a = await agentSocket(stack.base, token);
      const b = await agentSocket(stack.base, token);
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
