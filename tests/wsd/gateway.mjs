// SPDX-License-Identifier: MIT
// A test gateway speaking the documented contract (docs/gateway.md) over AMQP: it declares its
// own durable queue <prefix>.outbound.<channel> bound with <channel>.#, publishes inbound
// messages persistent with confirms and a unique message id, and records outbound messages.
// When the broker goes away (a RabbitMQ restart) it connects again by itself, consumes its
// queue again, and publishRetry re-publishes with the same id until confirmed, as a gateway must.
import amqp from 'amqplib';
import crypto from 'node:crypto';
import { until } from './harness.mjs';

export class Gateway {
  constructor(prefix, channel = 'test', url = process.env.LIVECHAT_AMQP_URL) {
    this.prefix = prefix;
    this.channel = channel;
    this.url = url;
    this.received = [];
    this.modes = new Map();   // message id -> AMQP delivery mode (1 transient, 2 persistent)
    this.ch = null;
    this.closing = false;
  }

  async start() {
    const conn = await amqp.connect(this.url);
    conn.on('error', () => {});
    conn.on('close', () => {
      if (this.conn === conn) { this.conn = null; this.ch = null; }
      if (!this.closing) this.reconnect();
    });
    const ch = await conn.createConfirmChannel();
    ch.on('error', () => {});
    const p = this.prefix;
    await ch.assertExchange(`${p}.inbound`, 'topic', { durable: true });
    await ch.assertExchange(`${p}.outbound`, 'topic', { durable: true });
    const q = `${p}.outbound.${this.channel}`;
    await ch.assertQueue(q, { durable: true });
    await ch.bindQueue(q, `${p}.outbound`, `${this.channel}.#`);
    await ch.consume(q, (m) => {
      if (!m) return;
      const body = JSON.parse(m.content.toString());
      this.modes.set(body.id, m.properties.deliveryMode);
      this.received.push(body);
      ch.ack(m);
    }, { noAck: false });
    this.conn = conn;
    this.ch = ch;
    return this;
  }

  async reconnect() {
    if (this.reconnecting) return;
    this.reconnecting = true;
    while (!this.closing && !this.ch) {
      try { await this.start(); } catch { await new Promise((r) => setTimeout(r, 300)); }
    }
    this.reconnecting = false;
  }

  message(type, customerId, fields, id) {
    return { type, id: id || `gw-${crypto.randomBytes(6).toString('hex')}`, channel: this.channel,
             customer_id: customerId, ts: Date.now(), ...fields };
  }

  // Publish one inbound message; resolves once the broker confirmed it. Returns the message.
  async publish(type, customerId, fields = {}, id = null) {
    const msg = this.message(type, customerId, fields, id);
    await this.publishRaw(Buffer.from(JSON.stringify(msg)), msg.id);
    return msg;
  }

  // Publish until confirmed, re-publishing with the same id after the broker went away.
  async publishRetry(type, customerId, fields = {}, id = null, ms = 90000) {
    const msg = this.message(type, customerId, fields, id);
    const end = Date.now() + ms;
    for (;;) {
      try {
        if (!this.ch) throw new Error('not connected');
        await this.publishRaw(Buffer.from(JSON.stringify(msg)), msg.id);
        return msg;
      } catch (e) {
        if (Date.now() > end) throw new Error(`cannot publish ${msg.id}: ${e.message}`);
        if (!this.ch) this.reconnect();
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  publishRaw(body, id) {
    return new Promise((resolve, reject) => {
      this.ch.publish(`${this.prefix}.inbound`, this.channel, body,
                      { persistent: true, messageId: id, contentType: 'application/json' },
                      (err) => (err ? reject(err) : resolve()));
    });
  }

  waitFor(pred, what = 'an outbound message', ms = 8000) {
    return until(() => this.received.find(pred), `${what} (got ${JSON.stringify(this.received.slice(-4))})`, ms);
  }
  all(pred) { return this.received.filter(pred); }

  async close() {
    this.closing = true;
    try { await this.conn?.close(); } catch { /* closed */ }
  }
}
