// SPDX-License-Identifier: MIT
// bench/peer/server.mjs: the comparison relay of bench/run, written the way the original service
// was (Node.js, socket.io for agents, amqplib for gateways, mongoose, every message stored with
// one insert before it is forwarded). NOT part of livechat: it exists only so the benchmark can
// put livechat's figures next to it. See bench/peer/README.md.
//   node bench/peer/server.mjs --mongo URI --db NAME --prefix PREFIX --port N [--amqp URL]
// Prints "peer: listening on PORT" on stdout once it consumes and serves.
import http from 'node:http';
import { clampArg, parseArgs, require } from '../lib.mjs';

const amqp = require('amqplib');
const mongoose = require('mongoose');
const { Server } = require('socket.io');

const args = parseArgs(process.argv.slice(2));
const MONGO = args.mongo || 'mongodb://127.0.0.1:27017/';
const PREFIX = args.prefix || 'peer';
const PORT = clampArg(args.port, 0, 0, 65535);
const AMQP = args.amqp || process.env.LIVECHAT_AMQP_URL || 'amqp://guest:guest@127.0.0.1:5672/';
const HISTORY = 50;

// The original service's documents: one per message, one per room.
const Message = mongoose.model('Message', new mongoose.Schema({
  _id: String, room_id: String, channel: String, customer_id: String, sender: String, author: String,
  text: String, ts: Date,
}, { versionKey: false }));
const Room = mongoose.model('Room', new mongoose.Schema({
  channel: String, customer_id: String, customer_name: String, status: String, agent: String, created_at: Date,
}, { versionKey: false }));

await mongoose.connect(MONGO, { dbName: args.db || 'peer', maxPoolSize: 20 });

const conn = await amqp.connect(AMQP);
const pub = await conn.createConfirmChannel();
const sub = await conn.createChannel();
await pub.assertExchange(`${PREFIX}.inbound`, 'topic', { durable: true });
await pub.assertExchange(`${PREFIX}.outbound`, 'topic', { durable: true });
await sub.assertQueue(`${PREFIX}.inbound`, { durable: true });
await sub.bindQueue(`${PREFIX}.inbound`, `${PREFIX}.inbound`, '#');
await sub.prefetch(256);

const rooms = new Map();   // `${channel}:${customer_id}` -> { id, channel, customer_id, agent: socket | null }
const byId = new Map();    // room id -> the same

function publish(room, type, fields) {
  const body = { type, channel: room.channel, customer_id: room.customer_id, room_id: room.id, ts: Date.now(),
    ...fields };
  return new Promise((resolve, reject) => pub.publish(`${PREFIX}.outbound`, `${room.channel}.${room.customer_id}`,
    Buffer.from(JSON.stringify(body)), { persistent: true, messageId: body.id, contentType: 'application/json' },
    (err) => (err ? reject(err) : resolve())));
}

// A customer's open room, opened (one insert) and offered to every agent on first contact.
const opening = new Map();   // key -> promise of the room being opened
function openRoom(m) {
  const key = `${m.channel}:${m.customer_id}`;
  if (rooms.has(key)) return Promise.resolve(rooms.get(key));
  if (!opening.has(key)) {
    opening.set(key, (async () => {
      const doc = await Room.create({ channel: m.channel, customer_id: m.customer_id,
        customer_name: m.customer_name || m.customer_id, status: 'waiting', agent: null, created_at: new Date() });
      const room = { id: String(doc._id), channel: m.channel, customer_id: m.customer_id, agent: null };
      rooms.set(key, room);
      byId.set(room.id, room);
      io.to('agents').emit('request_offered', { room_id: room.id, channel: room.channel,
        customer_id: room.customer_id });
      await publish(room, 'request_waiting', { id: `${room.id}-waiting`, text: 'Please wait.' });
      return room;
    })().finally(() => opening.delete(key)));
  }
  return opening.get(key);
}

async function inbound(msg) {
  const m = JSON.parse(msg.content.toString());
  if (m.type === 'request_agent') {
    await openRoom(m);
  } else if (m.type === 'customer_message') {
    const room = await openRoom(m);
    // Stored first (one insert), then forwarded.
    const doc = await Message.create({ _id: m.id, room_id: room.id, channel: m.channel, customer_id: m.customer_id,
      sender: 'customer', author: m.customer_name || m.customer_id, text: m.text, ts: new Date(m.ts || Date.now()) });
    room.agent?.emit('message', { room_id: room.id, message: { id: doc._id, sender: 'customer', text: doc.text } });
  } else if (m.type === 'customer_left') {
    const room = rooms.get(`${m.channel}:${m.customer_id}`);
    if (room) {
      rooms.delete(`${m.channel}:${m.customer_id}`);
      byId.delete(room.id);
      await Room.updateOne({ _id: room.id }, { status: 'closed' });
      room.agent?.emit('ended', { room_id: room.id });
    }
  }
}

const server = http.createServer();
const io = new Server(server, { serveClient: false });
io.on('connection', (socket) => {
  const name = String(socket.handshake.auth?.agent || socket.id);
  socket.join('agents');
  socket.on('accept', async ({ room_id: id } = {}, ack = () => {}) => {
    const room = byId.get(id);
    if (!room || room.agent) { ack({ error: 'not_available' }); return; }
    room.agent = socket;
    try {
      await Room.updateOne({ _id: id }, { status: 'engaged', agent: name });
      const history = await Message.find({ channel: room.channel, customer_id: room.customer_id })
        .sort({ ts: -1 }).limit(HISTORY).lean();
      await publish(room, 'agent_joined', { id: `${id}-join`, text: `${name} has entered the chat` });
      ack({ room_id: id, history: history.reverse() });
    } catch (e) { ack({ error: e.message }); }
  });
  socket.on('message', async ({ room_id: id, id: mid, text } = {}, ack = () => {}) => {
    const room = byId.get(id);
    if (!room || room.agent !== socket) { ack({ error: 'forbidden' }); return; }
    try {
      const doc = await Message.create({ _id: `${id}-${mid}`, room_id: id, channel: room.channel,
        customer_id: room.customer_id, sender: 'agent', author: name, text, ts: new Date() });
      await publish(room, 'agent_message', { id: doc._id, agent: { name }, text });
      ack({ id: mid });
    } catch (e) { ack({ error: e.message }); }
  });
  // Typing: not stored, published at once.
  socket.on('typing', ({ room_id: id, state } = {}) => {
    const room = byId.get(id);
    if (room && room.agent === socket) {
      publish(room, 'agent_typing', { id: `typing-${id}-${Date.now()}`, state: !!state }).catch(() => {});
    }
  });
  socket.on('disconnect', () => {
    for (const room of byId.values()) if (room.agent === socket) room.agent = null;
  });
});

await sub.consume(`${PREFIX}.inbound`, (msg) => {
  if (!msg) return;
  inbound(msg).then(() => sub.ack(msg), (e) => {
    console.error(`peer: ${e.message}`);
    sub.nack(msg, false, !msg.fields.redelivered);
  });
}, { noAck: false });

server.listen(PORT, '127.0.0.1', () => console.log(`peer: listening on ${server.address().port}`));

const stop = async () => {
  io.close();
  await conn.close().catch(() => {});
  await mongoose.disconnect().catch(() => {});
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
