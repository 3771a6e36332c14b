// SPDX-License-Identifier: MIT
// bench/amqp-clean.mjs PREFIX: deletes the durable exchanges and queue a benchmark stack left in
// the shared RabbitMQ (<prefix>.inbound/.outbound/.nodes, queues <prefix>.inbound and the round
// trips' gateway queue <prefix>.outbound.bench). Best effort.
// Needs LIVECHAT_AMQP_URL. Refuses prefixes that do not start with lc_ (never someone else's).
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const amqp = require('amqplib');
const prefix = process.argv[2] || '';
if (!/^lc_[A-Za-z0-9_]+$/.test(prefix)) {
  console.error('usage: amqp-clean.mjs PREFIX (starting with lc_)');
  process.exit(2);
}
const conn = await amqp.connect(process.env.LIVECHAT_AMQP_URL || 'amqp://guest:guest@127.0.0.1:5672/');
const ch = await conn.createChannel();
ch.on('error', () => {});
await ch.deleteQueue(`${prefix}.inbound`).catch(() => {});
// The queue bench/roundtrip.mjs's gateway declares (it deletes it itself, unless it was killed).
await ch.deleteQueue(`${prefix}.outbound.bench`).catch(() => {});
for (const x of ['inbound', 'outbound', 'nodes']) await ch.deleteExchange(`${prefix}.${x}`).catch(() => {});
await conn.close().catch(() => {});
