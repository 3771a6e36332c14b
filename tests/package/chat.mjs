// SPDX-License-Identifier: MIT
// One whole chat through a web server configured with livechat's snippet for Debian's stock
// lighttpd or Apache (tests/package/snippets.test.sh: the build tree; install.test.sh: the
// installed package): the dashboard page, REST login (cookie and Bearer), the agent websocket
// through /ws/, and a test gateway over AMQP: request, offer, accept, messages both ways, end,
// and the stored conversation read back over REST.
// Input (environment): LC_PKG_BASES (base URLs, space separated: one chat through each),
// LC_PKG_ADMIN_PASSWORD (of user admin), LC_PKG_PREFIX (the amqp_prefix of the servers).
import test from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '../wsd/harness.mjs';
import { Gateway } from '../wsd/gateway.mjs';
import { api, login } from '../api/helpers.mjs';

const bases = (process.env.LC_PKG_BASES || '').split(' ').filter(Boolean);
const password = process.env.LC_PKG_ADMIN_PASSWORD;
const prefix = process.env.LC_PKG_PREFIX;
if (!bases.length || !password || !prefix) throw new Error('LC_PKG_BASES, LC_PKG_ADMIN_PASSWORD and LC_PKG_PREFIX must be set');

let gw;
test.before(async () => { gw = await new Gateway(prefix).start(); });
test.after(async () => {
  // The gateway's own queue: teardown (tests/api/teardown) removes only livechat's.
  await gw?.ch?.deleteQueue(`${prefix}.outbound.test`).catch(() => {});
  await gw?.close();
});

for (const [i, base] of bases.entries()) {
  test(`a chat through ${base}: REST login, agent websocket, gateway over AMQP`, async () => {
    const page = await fetch(`${base}/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<html/i);

    const token = await login(base, 'admin', password);
    const me = await api(base, 'GET', '/api/auth/me', { token });
    assert.equal(me.status, 200, `Bearer token passed to livechat-fcgi: ${me.text}`);
    assert.equal(me.body.user.username, 'admin');

    const agent = await Client.open(`${base.replace(/^http/, 'ws')}/ws/agent`,
                                    { cookie: `lc_session=${token}` }, []);
    try {
      await agent.waitFor((f) => f.type === 'hello', 'hello');
      const customer = `pkg-${i}-${Date.now()}`;
      await gw.publish('request_agent', customer, { customer_name: 'Package Tester' });
      const offer = await agent.waitFor((f) => f.type === 'request_offered' && f.room.customer_id === customer, 'offer');
      const rid = offer.room.id;
      agent.send({ type: 'accept', room_id: rid, ref: 'acc' });
      await agent.waitFor((f) => f.type === 'accepted' && f.ref === 'acc', 'accepted');
      await gw.waitFor((m) => m.type === 'agent_joined' && m.room_id === rid, 'agent_joined');

      agent.send({ type: 'message', room_id: rid, id: `a-${i}`, text: 'Hello from the installed product' });
      await gw.waitFor((m) => m.type === 'agent_message' && m.text === 'Hello from the installed product');
      await gw.publish('customer_message', customer, { text: 'Thanks, it works' });
      await agent.waitFor((f) => f.type === 'message' && f.message.text === 'Thanks, it works', 'customer message');

      agent.send({ type: 'end', room_id: rid, ref: 'end' });
      const ended = await gw.waitFor((m) => m.type === 'session_ended' && m.room_id === rid, 'session_ended');
      assert.equal(ended.reason, 'agent_ended');

      const msgs = await api(base, 'GET', `/api/rooms/${rid}/messages`, { token });
      assert.equal(msgs.status, 200, msgs.text);
      const texts = msgs.body.items.map((m) => m.text);
      assert.ok(texts.includes('Hello from the installed product') && texts.includes('Thanks, it works'),
                JSON.stringify(texts));
    } finally {
      agent.terminate();
    }
  });
}
