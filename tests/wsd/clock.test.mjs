// SPDX-License-Identifier: MIT
// Setting the system clock does not move wsd's timers (docs/topology.md, "Inside one node"): the
// grace period of an agent who left runs on the monotonic clock. Each node runs with
// clock_shift.so, which shifts its wall clock (and only its) by what this test writes to a file;
// the machine's clock is not touched. Before the timers ran on the monotonic clock, a clock set
// back an hour held the room for that hour, and a clock set forward ended it at once.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Stack, sleep } from './harness.mjs';
import { Gateway } from './gateway.mjs';

const GRACE = 8;
const HOUR_MS = 3600 * 1000;
const BUILD = process.env.LC_TOP_BUILDDIR || process.cwd();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lc-clock-'));
const shiftFile = path.join(dir, 'shift');
fs.writeFileSync(shiftFile, Buffer.alloc(8));
const S = new Stack('clock');
let gw;
let n = 0;

// Written in place (no truncation: the nodes have the file mapped).
function setWallClock(ms) {
  const b = Buffer.alloc(8);
  b.writeBigInt64LE(BigInt(ms));
  const fd = fs.openSync(shiftFile, 'r+');
  fs.writeSync(fd, b, 0, 8, 0);
  fs.closeSync(fd);
}

test.before(async () => {
  await S.start({ nodes: 1, settings: { reconnect_grace: GRACE },
                  env: { LD_PRELOAD: path.join(BUILD, 'tests/wsd/clock_shift.so'),
                         LC_TEST_CLOCK_SHIFT: shiftFile,
                         // An ASan build wants its runtime first; the shim does not mind.
                         ASAN_OPTIONS: [process.env.ASAN_OPTIONS, 'verify_asan_link_order=0']
                           .filter(Boolean).join(':') } });
  gw = await new Gateway(S.prefix).start();
});
test.after(async () => {
  await gw?.close();
  await S.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});
test.afterEach(() => setWallClock(0));

// An agent takes a room, then leaves: the grace period starts at t0.
async function engagedThenLeft() {
  const [u] = S.users(`clk${++n}`, 1);
  const a = await S.agent(S.nodes[0], u);
  const cust = `cust${n}`;
  await gw.publish('request_agent', cust, { customer_name: cust });
  const w = await gw.waitFor((m) => m.type === 'request_waiting' && m.customer_id === cust);
  await a.waitFor((f) => f.type === 'request_offered' && f.room.id === w.room_id);
  a.send({ type: 'accept', room_id: w.room_id });
  await a.waitFor((f) => f.type === 'accepted' && f.room.id === w.room_id);
  const t0 = Date.now();
  a.terminate();
  await sleep(500);    // the node saw the close: the grace timer runs
  return { rid: w.room_id, t0 };
}

async function endedAfter(rid, t0) {
  const se = await gw.waitFor((m) => m.type === 'session_ended' && m.room_id === rid,
                              'session_ended', (GRACE + 10) * 1000);
  assert.equal(se.reason, 'agent_disconnected');
  assert.equal(S.fixture('room', rid).close_reason, 'agent_disconnected');
  return Date.now() - t0;
}

test('a wall clock set back an hour does not hold the grace period for that hour', async () => {
  const { rid, t0 } = await engagedThenLeft();
  setWallClock(-HOUR_MS);
  const took = await endedAfter(rid, t0);
  assert.ok(took >= GRACE * 1000 - 300, `not before the grace period (${took} ms)`);
});

test('a wall clock set forward an hour does not end the grace period early', async () => {
  const { rid, t0 } = await engagedThenLeft();
  setWallClock(HOUR_MS);
  const took = await endedAfter(rid, t0);
  assert.ok(took >= GRACE * 1000 - 300, `not before the grace period (${took} ms)`);
});
