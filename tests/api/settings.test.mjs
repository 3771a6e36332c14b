// SPDX-License-Identifier: MIT
// Settings through a real lighttpd: defaults, a partial update keeping the other keys, and a
// rejected update changing nothing.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { api, login, startStack } from './helpers.mjs';

let stack, admin;
before(async () => {
  stack = await startStack();
  admin = await login(stack.base, stack.adminUser, stack.adminPassword);
});
after(async () => { await stack?.stop(); });

test('settings start with the documented defaults', async () => {
  const r = await api(stack.base, 'GET', '/api/settings', { token: admin });
  assert.equal(r.status, 200);
  assert.deepEqual(r.body, {
    history_limit: 50,
    join_message: '{agent} has entered the chat',
    end_message_customer: '{agent} has ended the chat. Thank you for contacting us.',
    end_message_agent: 'You ended the chat with {customer}.',
    agent_disconnected_message: '{agent} was disconnected. The chat has ended.',
    no_agent_message: 'Sorry, no agent is available right now. Please try again later.',
    waiting_message: 'Please wait, an agent will be with you shortly.',
    customer_left_message: '{customer} has left the chat.',
    request_timeout: 120,
    reconnect_grace: 30,
  });
});

test('a partial update changes only the keys given and is what later reads return', async () => {
  const r = await api(stack.base, 'PATCH', '/api/settings',
    { token: admin, body: { history_limit: 500, join_message: 'Hi, {agent} here', reconnect_grace: 0 } });
  assert.equal(r.status, 200);
  assert.equal(r.body.history_limit, 500);
  assert.equal(r.body.join_message, 'Hi, {agent} here');
  assert.equal(r.body.reconnect_grace, 0);
  assert.equal(r.body.request_timeout, 120);
  const g = await api(stack.base, 'GET', '/api/settings', { token: admin });
  assert.deepEqual(g.body, r.body);
});

test('an update with one bad key changes nothing', async () => {
  const before = (await api(stack.base, 'GET', '/api/settings', { token: admin })).body;
  const r = await api(stack.base, 'PATCH', '/api/settings', { token: admin, body: { history_limit: 10, request_timeout: 5 } });
  assert.equal(r.status, 422);
  assert.deepEqual((await api(stack.base, 'GET', '/api/settings', { token: admin })).body, before);
});
