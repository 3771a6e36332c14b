// SPDX-License-Identifier: MIT
// bench/db.mjs: the database side of bench/run's round-trip benchmark (the Node `mongodb` driver).
//   node bench/db.mjs seed --mongo URI --db NAME --count N [--rooms 0] [--schema livechat|peer]
//     [--label TEXT] [--json FILE] [--sample-file F]
//     makes the database look like an installation with N stored messages: tops `messages` up to
//     N documents and the rooms up to N/20 closed rooms (the new messages spread evenly over the
//     new rooms: 20 each on a fresh database), all in channel `seed`, which no benchmark customer
//     uses, one customer per room. Schema livechat (the default) stores what livechat keeps for
//     each closed chat once its writer swept it (lc_store_rooms.c, lc_store_messages.c,
//     lc_store_recent.c): the room in `rooms_closed`, its counter in `counters_closed`, the
//     customer's `open_rooms` pointer and `recent` pieces; schema peer
//     the peer's room and message documents (bench/peer/server.mjs: it has no counters, pointers
//     or pieces). --rooms 0: messages only, in rooms that are not stored. insertMany of 1,000
//     documents, two calls in flight. Prints the counts and the time it took. Appends about 200
//     of the message ids, evenly spread, to F (the lookups' sample).
//   node bench/db.mjs ceiling --mongo URI --db NAME [--concurrency C] [--seconds S] [--batch B]
//     [--backend NAME] [--stored N] [--json FILE] [--sample-file F]
//     the database's own ceiling at that size: C workers each calling insertMany of B (50)
//     documents of the same shape for S seconds (documents/s) into a fresh collection with the
//     indexes of `messages` (dropped after), then C workers
//     each looking one stored message up by _id for S seconds (lookups/s; the ids of F), then an
//     id that is not stored (what a dedupe check of a new message costs); latency per call.
//   node bench/db.mjs lookups --mongo URI --db NAME --coll NAME [--concurrency C] [--seconds S]
//     [--load TEXT] [--json FILE]
//     C workers looking documents of that collection up by _id (the REST benchmark's reference).
// Each prints markdown on stdout and appends a JSON line to FILE.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { clampArg, parseArgs, pct, require } from './lib.mjs';

const { Long, MongoClient, ObjectId } = require('mongodb');

const [cmd, ...rest] = process.argv.slice(2);
const args = parseArgs(rest);
const PER_ROOM = 20;
const BATCH = 1000;
const SEQ_BLOCK = 1000;     // seqs wsd's room writer reserves per room (wsd/writer_priv.h SEQ_BLOCK)
const RECENT_BLOCK = 10;    // LC_STORE_RECENT_BLOCK (shared/lc_store.h)
const SEED_AGENTS = 20;
const TEXT = 'seeded history message, about as long as a chat line: '.padEnd(64, 'x');
const int64 = (n) => Long.fromNumber(n);   // what the C store writes (BCON_INT64), not the driver's int32

// A message as livechat stores it (lc_store_messages.c message_doc: room-scoped _id, int64 seq, date ts).
function message(roomId, msgId, channel, customerId, seq, sender, author, ts) {
  return { _id: `${roomId}:${msgId}`, msg_id: msgId, room_id: roomId, channel, customer_id: customerId,
    seq: int64(seq), sender, author, text: TEXT, ts: new Date(ts) };
}

// Documents n .. n+k-1 of the ceiling's run tagged `tag`, 20 per room (rooms not stored).
function docs(tag, channel, n, k) {
  const out = [];
  const now = Date.now();
  for (let i = n; i < n + k; i++) {
    const room = Math.floor(i / PER_ROOM);
    out.push(message(`${tag}-r${room}`, `${tag}-${i}`, channel, `${tag}-c${room}`, (i % PER_ROOM) + 1,
      i % 2 ? 'agent' : 'customer', i % 2 ? 'Seed Agent' : 'Seed Customer', now - 86400000 + i));
  }
  return out;
}

// The documents of one closed chat in the schema asked for: its messages, and (livechat) the
// recent pieces of its customer (one customer per room, so the room's messages are all the
// customer has: a full piece per block of 10 and one for the last, part-filled block, the
// fewest a writer leaves; one writing each message in its own flush leaves one per message).
function chatDocs(schema, r, tag, first, n, ts, agents) {
  const withRooms = schema !== 'none';
  const oid = new ObjectId();
  const roomId = withRooms ? oid.toHexString() : `s${tag}-r${r}`;
  const customer = `s${tag}-c${r}`;
  const agent = agents[r % agents.length];
  const out = { messages: [], rooms: [], rooms_closed: [], counters_closed: [], open_rooms: [], recent: [] };
  let items = [];
  for (let seq = 1; seq <= n; seq++) {
    const i = first + seq - 1;
    const sender = seq % 2 ? 'customer' : 'agent';
    const author = sender === 'agent' ? agent.name : 'Seed Customer';
    const m = message(roomId, `s${tag}-${i}`, 'seed', customer, seq, sender, author, ts(i));
    if (schema === 'peer') {
      // The peer's message documents: the gateway's message id as _id, no msg_id, no seq.
      m._id = m.msg_id;
      delete m.msg_id;
      delete m.seq;
    }
    out.messages.push(m);
    if (schema !== 'livechat') continue;
    // Each item is the message as read back (`id` = msg_id, ts in ms), as lc_store_recent.c keeps it.
    items.push({ id: m.msg_id, room_id: roomId, channel: 'seed', customer_id: customer, seq, sender,
      author, text: TEXT, ts: ts(i) });
    if (seq % RECENT_BLOCK === 0 || seq === n) {
      // As lc_store_recent.c writes a piece: its messages as one JSON text.
      out.recent.push({ _id: `seed:${customer}:${seq}`, j: JSON.stringify(items), ts: new Date(ts(i)) });
      if (seq % RECENT_BLOCK === 0) items = [];
    }
  }
  const created = ts(first) - 500;
  const closed = ts(first + Math.max(n, 1) - 1) + 500;
  if (schema === 'livechat') {
    // A chat claimed, then closed (lc_store_rooms.c: claim and close are the room's revisions 1 and 2).
    // In rooms_closed, where livechat keeps a closed room once its writer swept it.
    out.rooms_closed.push({ _id: oid, channel: 'seed', customer_id: customer, customer_name: 'Seed Customer',
      status: 'closed', agent_id: agent.id, agent_name: agent.name, declined_by: [], created_at: new Date(created),
      engaged_at: new Date(created + 250), closed_at: new Date(closed), close_reason: 'customer_left',
      open_key: `closed:${roomId}`, rev: int64(2) });
    // Where livechat keeps a closed room's counter once its writer swept it (docs/store.md).
    out.counters_closed.push({ _id: roomId, seq: int64(n), reserved: int64(n ? SEQ_BLOCK : 0), recent: int64(n) });
    out.open_rooms.push({ _id: `seed:${customer}`, room_id: roomId });
  } else if (schema === 'peer') {
    out.rooms.push({ _id: oid, channel: 'seed', customer_id: customer, customer_name: 'Seed Customer',
      status: 'closed', agent: agent.name, created_at: new Date(created) });
  }
  return out;
}

// The seeding's insertMany calls in order: [collection, at most BATCH documents], chat after chat
// (rooms r of nRooms, messages spread evenly over them), each collection's documents gathered
// until a batch is full. Every `every`th message id goes to sample.
function* seedBatches(schema, tag, nRooms, nMessages, every, sample) {
  const base = Date.now() - 86400000 - nMessages * 1000;
  const ts = (i) => base + i * 1000;
  const agents = Array.from({ length: SEED_AGENTS }, (_, k) => ({ id: new ObjectId().toHexString(),
    name: `Seed Agent ${k + 1}` }));
  const pending = new Map();
  for (let r = 0; r < nRooms; r++) {
    const first = Math.floor(r * nMessages / nRooms);
    const n = Math.floor((r + 1) * nMessages / nRooms) - first;
    const chat = chatDocs(schema, r, tag, first, n, ts, agents);
    for (const m of chat.messages.filter((_, k) => (first + k) % every === 0)) sample.push(m._id);
    for (const [coll, list] of Object.entries(chat)) {
      if (!list.length) continue;
      const batch = pending.get(coll) ?? [];
      batch.push(...list);
      if (batch.length < BATCH) { pending.set(coll, batch); continue; }
      pending.delete(coll);
      for (let k = 0; k < batch.length; k += BATCH) yield [coll, batch.slice(k, k + BATCH)];
    }
  }
  for (const [coll, batch] of pending) yield [coll, batch];
}

const emit = (row, json) => {
  console.log(row);
  if (args.json) fs.appendFileSync(args.json, `${JSON.stringify(json)}\n`);
};

async function seed(db) {
  const target = clampArg(args.count, 10000, 0, 1e9);
  const schema = args.rooms === '0' ? 'none' : (args.schema || 'livechat');
  if (!['livechat', 'peer', 'none'].includes(schema)) throw new Error(`--schema ${schema}: livechat or peer`);
  const messages = db.collection('messages');
  // livechat keeps its closed rooms in rooms_closed (docs/store.md); the peer in rooms.
  const rooms = db.collection(schema === 'livechat' ? 'rooms_closed' : 'rooms');
  const before = await messages.estimatedDocumentCount();
  const roomsBefore = schema === 'none' ? 0 : await rooms.estimatedDocumentCount();
  const todo = Math.max(0, target - before);
  // Rooms up to N/20, counting those there already (the benchmark's own, an earlier size's);
  // when there are enough, the new messages still get rooms of their own, 20 each.
  let nRooms = Math.max(0, Math.ceil(target / PER_ROOM) - roomsBefore);
  if (schema === 'none' || (nRooms === 0 && todo > 0)) nRooms = Math.ceil(todo / PER_ROOM);
  const tag = crypto.randomBytes(3).toString('hex');
  const sample = [];
  const batches = seedBatches(schema, tag, nRooms, todo, Math.max(1, Math.ceil(todo / 200)), sample);
  const inserted = {};
  const t0 = performance.now();
  const worker = async () => {
    for (let b = batches.next(); !b.done; b = batches.next()) {
      const [coll, list] = b.value;
      await db.collection(coll).insertMany(list, { ordered: false });
      inserted[coll] = (inserted[coll] || 0) + list.length;
    }
  };
  await Promise.all([worker(), worker()]);
  if (args['sample-file'] && sample.length) fs.appendFileSync(args['sample-file'], `${sample.join('\n')}\n`);
  const secs = (performance.now() - t0) / 1000;
  const after = await messages.estimatedDocumentCount();
  const roomsAfter = schema === 'none' ? 0 : await rooms.estimatedDocumentCount();
  const documents = Object.values(inserted).reduce((a, b) => a + b, 0);
  const others = ['counters_closed', 'open_rooms', 'recent'].filter((c) => inserted[c]).map((c) => `${inserted[c]} ${c}`);
  const roomCols = schema === 'none' ? '- | - ' : `${roomsBefore} | ${roomsAfter} `;
  emit(`| ${args.label || args.db} | ${before} | ${after} | ${todo} | ${roomCols}| ${others.join(', ') || '-'} | ` +
    `${secs.toFixed(1)} | ${secs ? Math.round(documents / secs) : '-'} |`,
  { bench: 'seed', label: args.label || args.db, backend: args.backend || null, schema, before, after,
    inserted: todo, rooms_before: roomsBefore, rooms_after: roomsAfter, rooms_inserted: (inserted.rooms || 0) + (inserted.rooms_closed || 0),
    counters_closed: inserted.counters_closed || 0, open_rooms: inserted.open_rooms || 0, recent: inserted.recent || 0,
    documents, seconds: +secs.toFixed(2) });
}

// C workers calling fn for S seconds: calls, per-call latency.
async function load(concurrency, secs, fn) {
  const lat = [];
  const t0 = performance.now();
  const end = t0 + secs * 1000;
  let n = 0;
  const worker = async () => {
    while (performance.now() < end) {
      const t = performance.now();
      await fn(n++);
      lat.push(performance.now() - t);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  lat.sort((x, y) => x - y);
  return { calls: lat.length, seconds: (performance.now() - t0) / 1000, p50_ms: pct(lat, 0.5), p99_ms: pct(lat, 0.99) };
}

// The ids to look up: those the seeding sampled evenly over the whole collection
// (--sample-file), else the first 2,000 of the collection. Where the server uses no index for
// _id (FerretDB 1.24 on either backend scans, stopping at the first match), the first documents
// are the cheapest to find: hence the sample.
async function lookupIds(coll) {
  const f = args['sample-file'];
  const ids = f && fs.existsSync(f) ? fs.readFileSync(f, 'utf8').split('\n').filter(Boolean)
    : (await coll.find({}, { projection: { _id: 1 } }).limit(2000).toArray()).map((d) => d._id);
  if (!ids.length) throw new Error(`${coll.collectionName} is empty: nothing to look up`);
  return ids;
}

// C workers looking documents of coll up by _id for S seconds: random picks from ids, or (ids
// null) ids that are not stored, as a dedupe check of a new message does.
function lookups(coll, C, S, ids) {
  return load(C, S, () => coll.findOne({ _id: ids ? ids[crypto.randomInt(ids.length)]
    : `absent-${crypto.randomBytes(6).toString('hex')}` }));
}

// The lookup rate alone, on any collection (the REST benchmark's reference), as a row of its table.
async function lookupRow(coll) {
  const C = clampArg(args.concurrency, 16, 1, 200);
  const look = await lookups(coll, C, clampArg(args.seconds, 10, 1, 600), await lookupIds(coll));
  const perS = Math.round(look.calls / look.seconds);
  emit(`| the database: findOne by _id in ${coll.collectionName}, ${C} callers (Node driver) | **${perS}** | ` +
    `${look.p50_ms} | - | - | **${look.p99_ms}** | - | - | ${args.load || '-'} |`,
  { bench: 'lookups', collection: coll.collectionName, concurrency: C, lookups_per_s: perS, p50_ms: look.p50_ms,
    p99_ms: look.p99_ms });
}

async function ceiling(db, coll) {
  const C = clampArg(args.concurrency, 10, 1, 200);
  const S = clampArg(args.seconds, 10, 1, 600);
  const B = clampArg(args.batch, 50, 1, 10000);
  const stored = await coll.estimatedDocumentCount();
  const tag = `c${crypto.randomBytes(3).toString('hex')}`;
  // Into a collection of its own with the indexes of livechat's messages (docs/store.md), dropped
  // after, so the measured collection keeps its size: FerretDB 1.24 cannot delete that many
  // documents at once on SQLite ("too many SQL variables"), and a delete by filter scans.
  const tmp = db.collection(`ceiling_${tag}`);
  await tmp.createIndexes([{ key: { room_id: 1, seq: 1 }, name: 'room_seq_unique', unique: true }]);
  const ins = await load(C, S, (i) => tmp.insertMany(docs(tag, 'ceiling', i * B, B), { ordered: false }));
  await tmp.drop();
  const look = await lookups(coll, C, S, await lookupIds(coll));
  const miss = await lookups(coll, C, S, null);
  const docsPerS = Math.round(ins.calls * B / ins.seconds);
  const lookPerS = Math.round(look.calls / look.seconds);
  const missPerS = Math.round(miss.calls / miss.seconds);
  emit(`| database ceiling | ${args.backend || '-'} | ${args.stored ?? stored} | insertMany ${B}/call | ${C} | ` +
    `**${docsPerS} documents/s** (into a fresh collection with the same indexes) | ${ins.p50_ms} | ${ins.p99_ms} |\n` +
    `| database ceiling | ${args.backend || '-'} | ${args.stored ?? stored} | findOne by _id, stored (sampled over the collection) | ${C} | ` +
    `**${lookPerS} lookups/s** | ${look.p50_ms} | ${look.p99_ms} |\n` +
    `| database ceiling | ${args.backend || '-'} | ${args.stored ?? stored} | findOne by _id, not stored (a dedupe check) | ${C} | ` +
    `**${missPerS} lookups/s** | ${miss.p50_ms} | ${miss.p99_ms} |`,
  { bench: 'ceiling', backend: args.backend || null, stored: args.stored ? Number(args.stored) : stored,
    concurrency: C, batch: B, insert_docs_per_s: docsPerS, insert_p50_ms: ins.p50_ms, insert_p99_ms: ins.p99_ms,
    lookups_per_s: lookPerS, lookup_p50_ms: look.p50_ms, lookup_p99_ms: look.p99_ms,
    absent_lookups_per_s: missPerS, absent_p50_ms: miss.p50_ms, absent_p99_ms: miss.p99_ms });
}

const client = await MongoClient.connect(args.mongo, { maxPoolSize: 32 });
let status = 0;
try {
  const db = client.db(args.db);
  const coll = db.collection(args.coll || 'messages');
  if (cmd === 'seed') await seed(db);
  else if (cmd === 'ceiling') await ceiling(db, coll);
  else if (cmd === 'lookups') await lookupRow(coll);
  else { console.error('usage: db.mjs seed|ceiling|lookups --mongo URI --db NAME ...'); status = 2; }
} catch (e) {
  console.error(`db.mjs ${cmd}: ${e.message}`);
  console.log(`| ${cmd} | failed: ${String(e.message).replace(/\|/g, '/')} |`);
  status = 1;
} finally {
  await client.close();
}
process.exit(status);
