// SPDX-License-Identifier: MIT
// The text an agent gets when the customer leaves is the setting customer_left_message, like
// every other text of a chat: an admin changes it with PATCH /api/settings and the next
// customer_left (a gateway message over the real RabbitMQ) ends the agent's chat with the new
// text, rendered with the customer's and the agent's names. Full stack: lighttpd + fcgi + wsd.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { api, login, startStack, userWith } from './helpers.mjs';
import { Client } from '../wsd/harness.mjs';
import { Gateway } from '../wsd/gateway.mjs';

let stack, admin, gw;

before(async () => {
  stack = await startStack({ wsd: 1 });
  admin = await login(stack.base, stack.adminUser, stack.adminPassword);
  gw = await new Gateway(stack.env.LIVECHAT_AMQP_PREFIX, 'left').start();
});
after(async () => { await gw?.close(); await stack?.stop(); });

test('customer_left_message set by PATCH /api/settings is the text the agent gets when the customer leaves', async () => {
  const r = await api(stack.base, 'PATCH', '/api/settings', { token: admin,
    body: { customer_left_message: '{customer} walked out on {agent}.' } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.customer_left_message, '{customer} walked out on {agent}.');

  const agent = await userWith(stack.base, admin, ['chats.accept']);
  const url = stack.base.replace(/^http/, 'ws') + '/ws/agent';
  const a = await Client.open(url, { cookie: `lc_session=${agent.token}` });
  try {
    const hello = await a.waitFor((f) => f.type === 'hello', 'hello');
    await gw.publish('request_agent', 'dana-1', { customer_name: 'Dana' });
    const waiting = await gw.waitFor((m) => m.type === 'request_waiting' && m.customer_id === 'dana-1');
    const rid = waiting.room_id;
    await a.waitFor((f) => f.type === 'request_offered' && f.room.id === rid, 'the offer');
    a.send({ type: 'accept', room_id: rid, ref: 'acc' });
    await a.waitFor((f) => f.type === 'accepted' && f.ref === 'acc', 'accepted');

    await gw.publish('customer_left', 'dana-1');
    const ended = await a.waitFor((f) => f.type === 'ended' && f.room_id === rid, 'ended');
    assert.equal(ended.reason, 'customer_left');
    assert.equal(ended.text, `Dana walked out on ${hello.user.display_name}.`);
    const out = await gw.waitFor((m) => m.type === 'session_ended' && m.room_id === rid);
    assert.equal(out.reason, 'customer_left');
    assert.equal(out.text, '');
  } finally {
    a.close();
  }
});

test('customer_left_message must be a non-empty text', async () => {
  const r = await api(stack.base, 'PATCH', '/api/settings', { token: admin,
    body: { customer_left_message: '' } });
  assert.equal(r.status, 422);
  assert.deepEqual(r.body.error.fields.map((f) => f.field), ['customer_left_message']);
});
