// SPDX-License-Identifier: MIT
// bench/db.mjs: the database side of bench/run's round-trip benchmark (the Node `mongodb` driver).
//   node bench/db.mjs seed --mongo URI --db NAME --count N [--label TEXT] [--json FILE] [--sample-file F]
//     tops the `messages` collection up to N documents, shaped like livechat's stored messages
//     (lc_store_message_append: string _id, room_id, channel, customer_id, seq, sender, author,
//     text, ts; 20 per room, channel `seed`, so no benchmark customer's history includes them),
//     with insertMany of 1,000 documents, two calls in flight. Prints the time it took. Appends
//     about 200 of the ids, evenly spread, to F (the lookups' sample).
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

const { MongoClient } = require('mongodb');

const [cmd, ...rest] = process.argv.slice(2);
const args = parseArgs(rest);
const PER_ROOM = 20;
const TEXT = 'seeded history message, about as long as a chat line: '.padEnd(64, 'x');

// Documents n .. n+k-1 of a run tagged `tag`, in livechat's message shape.
function docs(tag, channel, n, k) {
  const out = [];
  const now = Date.now();
  for (let i = n; i < n + k; i++) {
    const room = Math.floor(i / PER_ROOM);
    out.push({ _id: `${tag}-${i}`, room_id: `${tag}-r${room}`,
      channel, customer_id: `${tag}-c${room}`, seq: (i % PER_ROOM) + 1, sender: i % 2 ? 'agent' : 'customer',
      author: i % 2 ? 'Seed Agent' : 'Seed Customer', text: TEXT, ts: new Date(now - 86400000 + i) });
  }
  return out;
}

const emit = (row, json) => {
  console.log(row);
  if (args.json) fs.appendFileSync(args.json, `${JSON.stringify(json)}\n`);
};

async function seed(coll) {
  const target = clampArg(args.count, 10000, 0, 1e9);
  const before = await coll.estimatedDocumentCount();
  const todo = Math.max(0, target - before);
  const tag = crypto.randomBytes(3).toString('hex');
  const BATCH = 1000;
  let next = 0;
  const t0 = performance.now();
  const every = Math.max(1, Math.ceil(todo / 200));
  const sample = [];
  const worker = async () => {
    while (next < todo) {
      const n = next;
      const k = Math.min(BATCH, todo - n);
      next += k;
      const batch = docs(`s${tag}`, 'seed', n, k);
      for (const d of batch) if ((Number(d._id.slice(d._id.lastIndexOf('-') + 1)) % every) === 0) sample.push(d._id);
      await coll.insertMany(batch, { ordered: false });
    }
  };
  await Promise.all([worker(), worker()]);
  if (args['sample-file'] && sample.length) fs.appendFileSync(args['sample-file'], `${sample.join('\n')}\n`);
  const secs = (performance.now() - t0) / 1000;
  const after = await coll.estimatedDocumentCount();
  emit(`| ${args.label || args.db} | ${before} | ${after} | ${todo} | ${secs.toFixed(1)} | ${secs ? Math.round(todo / secs) : '-'} |`,
    { bench: 'seed', label: args.label || args.db, backend: args.backend || null, before, after, inserted: todo,
      seconds: +secs.toFixed(2) });
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
  await tmp.createIndexes([{ key: { room_id: 1, seq: 1 }, name: 'room_seq_unique', unique: true },
    { key: { channel: 1, customer_id: 1, ts: 1 }, name: 'customer_ts' }]);
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
  if (cmd === 'seed') await seed(coll);
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
