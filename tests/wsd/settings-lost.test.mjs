// SPDX-License-Identifier: MIT
// A settings event a node never heard (published while its queue was gone: RabbitMQ away, or a
// PATCH /api/settings during the node's start-up before its queue was bound) does not leave the
// node on the old settings until --settings-check: each time its topology is declared again it
// reads them anew. The node reaches RabbitMQ through a TCP proxy of this test, which cuts it off
// while the settings change; --settings-check is an hour, so only that re-read brings the new text.
import test from 'node:test';
import assert from 'node:assert/strict';
import { Stack, sleep } from './harness.mjs';
import { Gateway } from './gateway.mjs';
import { Proxy } from './proxy.mjs';

let S, gw, proxy;

test.before(async () => {
  S = new Stack('setlost');
  proxy = await new Proxy(S.amqpUrl).start();
  // The node (and the fixture) go through the proxy; the gateway and S.settings do not.
  await S.start({ nodes: 1, env: { LIVECHAT_AMQP_URL: proxy.url }, args: ['--settings-check', '3600'] });
  gw = await new Gateway(S.prefix, 'test', S.amqpUrl).start();
});
test.after(async () => {
  await gw?.close();
  await S?.stop();
  proxy?.stop();
});

// A new customer's request: the text of its request_waiting (setting waiting_message).
async function waitingText(cid) {
  await gw.publishRetry('request_agent', cid, { customer_name: 'Lee' }, null, 30000);
  const m = await gw.waitFor((x) => x.type === 'request_waiting' && x.customer_id === cid, `${cid}'s request_waiting`, 30000);
  return m.text;
}

test('settings changed while the node had no RabbitMQ apply once it is back', async () => {
  assert.equal(await waitingText('lost-0'), 'Please wait, an agent will be with you shortly.');

  proxy.cut();
  await sleep(500);
  // The document changes and the event goes out while the node's (exclusive) queue is gone.
  await S.settings({ waiting_message: 'Back in a moment, {customer}.' });
  proxy.restore();

  // Back on RabbitMQ, the node answers new customers again; within seconds, with the new text.
  const end = Date.now() + 20000;
  let text;
  for (let i = 1; ; i++) {
    text = await waitingText(`lost-${i}`);
    if (text === 'Back in a moment, Lee.' || Date.now() > end) break;
    await sleep(250);
  }
  assert.equal(text, 'Back in a moment, Lee.');
});
