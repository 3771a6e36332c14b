// A test gateway speaking the documented contract (docs/gateway.md) over AMQP: it declares its
// own durable queue <prefix>.outbound.<channel> bound with <channel>.#, publishes inbound
// messages persistent with confirms and a unique message id, and records outbound messages.
import amqp from 'amqplib';
import crypto from 'node:crypto';
import { until } from './harness.mjs';

export class Gateway {
  constructor(prefix, channel = 'test') {
    this.prefix = prefix;
    this.channel = channel;
    this.received = [];
  }

  async start() {
    this.conn = await amqp.connect(process.env.LIVECHAT_AMQP_URL);
    this.ch = await this.conn.createConfirmChannel();
    const p = this.prefix;
    await this.ch.assertExchange(`${p}.inbound`, 'topic', { durable: true });
    await this.ch.assertExchange(`${p}.outbound`, 'topic', { durable: true });
    const q = `${p}.outbound.${this.channel}`;
    await this.ch.assertQueue(q, { durable: true });
    await this.ch.bindQueue(q, `${p}.outbound`, `${this.channel}.#`);
    await this.ch.consume(q, (m) => {
      this.received.push(JSON.parse(m.content.toString()));
      this.ch.ack(m);
    }, { noAck: false });
    return this;
  }

  // Publish one inbound message; resolves once the broker confirmed it. Returns the message.
  async publish(type, customerId, fields = {}, id = null) {
    const msg = { type, id: id || `gw-${crypto.randomBytes(6).toString('hex')}`, channel: this.channel,
                  customer_id: customerId, ts: Date.now(), ...fields };
    await this.publishRaw(Buffer.from(JSON.stringify(msg)), msg.id);
    return msg;
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

  async close() { try { await this.conn.close(); } catch { /* closed */ } }
}
