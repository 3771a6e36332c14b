// SPDX-License-Identifier: MIT
// tests/browser/chat-state.test.mjs: the dashboard's chat state (htdocs/js/chat-state.js) and the
// shared backoff (htdocs/js/ws.js) under node:test, no browser and no DOM: messages kept once and
// in order, the floor that resume asks from, the outbox with its acks, re-sends and refusals, the
// resync after hello, and requests re-sent while MongoDB is away. Frames "sent" are recorded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RoomState, DeskState, retryDelay } from '../../htdocs/js/chat-state.js';
import { backoff, jitter } from '../../htdocs/js/ws.js';

const ROOM = 'r1';
const msg = (seq, extra = {}) => ({ id: `m${seq}`, room_id: ROOM, seq, sender: 'customer', author: 'Carol', text: `text ${seq}`, ts: 1000 + seq, ...extra });

/** A send function that records the frames, connected or not. */
function wire(connected = true) {
  const sent = [];
  const send = (frame) => {
    if (!send.connected) return false;
    sent.push(frame);
    return true;
  };
  send.connected = connected;
  send.sent = sent;
  return send;
}

function roomState(send = wire()) {
  return new RoomState({ id: ROOM, status: 'engaged', customer_name: 'Carol' }, send);
}

test('backoff doubles from its first delay up to its cap; jitter keeps between half and all', () => {
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6].map((n) => backoff(n, 500, 15000)), [500, 1000, 2000, 4000, 8000, 15000, 15000]);
  assert.deepEqual([0, 1, 4, 9].map(retryDelay), [1000, 2000, 2000, 2000], 'back within ~2 s of the server');
  assert.equal(jitter(1000, () => 0), 500);
  assert.equal(jitter(1000, () => 0.999), 999.5);
});

test('messages are kept once each, by id and by room and seq, in seq order', () => {
  const room = roomState();
  assert.deepEqual(room.add([msg(3), msg(1)]).map((m) => m.seq), [3, 1]);
  assert.deepEqual(room.add([msg(2), msg(3), msg(1, { id: 'other-id' })]).map((m) => m.seq), [2], 'duplicates by id and by seq are dropped');
  assert.deepEqual(room.list.map((m) => m.seq), [1, 2, 3]);
  assert.equal(room.oldestSeq(), 1);
});

test('the floor stops below a missing seq and moves up once it arrives', () => {
  const room = roomState();
  room.add([msg(1), msg(2), msg(4), msg(5)]);
  assert.equal(room.floor, 2, 'seq 3 is missing: resume must ask from 2');
  room.add([msg(3)]);
  assert.equal(room.floor, 5);
});

test('a room just accepted is held from the oldest message of its history; earlier rooms do not count', () => {
  const room = roomState();
  const history = [msg(1, { room_id: 'earlier', id: 'e1', ts: 10 }), msg(7), msg(8)];
  room.startFloor(history);
  assert.equal(room.floor, 6);
  room.add(history);
  assert.equal(room.floor, 8);
  assert.deepEqual(room.list.map((m) => m.id), ['e1', 'm7', 'm8'], 'an earlier room\'s message, by time, comes first');
  room.startFloor([msg(2)]);
  assert.equal(room.floor, 8, 'only a room that holds nothing yet starts its floor');
});

test('a posted message waits in the outbox until its ack, whose stored message is added once', () => {
  const send = wire();
  const room = roomState(send);
  const id = room.post('Hi Carol');
  assert.deepEqual(send.sent, [{ type: 'message', room_id: ROOM, id, text: 'Hi Carol', ref: id }]);
  assert.ok(room.outbox.has(id));
  const stored = { id: 'srv-1', seq: 4, sender: 'agent', author: 'Bob', text: 'Hi Carol', ts: 2000 };
  assert.equal(room.acked(id, stored).length, 1);
  assert.equal(room.outbox.size, 0);
  assert.equal(room.acked(id, stored).length, 0, 'the same ack again adds nothing');
  assert.equal(room.list[0].room_id, ROOM);
});

test('a refused message leaves the outbox and is kept to be taken back once', () => {
  const room = roomState();
  const id = room.post('too long, say');
  assert.equal(room.refuse(id), true);
  assert.equal(room.refuse(id), false, 'no longer waiting for an ack');
  assert.equal(room.outbox.size, 0);
  assert.equal(room.takeFailed(id), 'too long, say');
  assert.equal(room.takeFailed(id), null);
});

test('a message the server could not store is sent again with the same id, 1 s doubling', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const send = wire();
  const desk = new DeskState(send);
  const { room } = desk.room({ id: ROOM, status: 'engaged' });
  const id = room.post('Hello');
  send.sent.length = 0;
  assert.deepEqual(desk.retry({ type: 'error', code: 'unavailable', id, room_id: ROOM, ref: id }), { message: { room, id } });
  t.mock.timers.tick(999);
  assert.equal(send.sent.length, 0);
  t.mock.timers.tick(1);
  assert.deepEqual(send.sent.map((f) => f.id), [id]);
  // `busy` names the message by its ref only: found all the same, re-sent after 2 s this time.
  assert.ok(desk.retry({ type: 'error', code: 'busy', ref: id }));
  t.mock.timers.tick(1999);
  assert.equal(send.sent.length, 1);
  t.mock.timers.tick(1);
  assert.equal(send.sent.length, 2);
  assert.equal(desk.retry({ type: 'error', code: 'forbidden', id, room_id: ROOM }), null, 'a refusal is not retried');
});

test('ending a chat gives the messages that will never be sent, and stops their re-sends', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const send = wire();
  const room = roomState(send);
  const a = room.post('one');
  const b = room.post('two');
  room.retryLater(a);
  assert.deepEqual(room.end(), [a, b]);
  assert.equal(room.end(), null, 'ends once');
  t.mock.timers.tick(60000);
  assert.equal(send.sent.length, 1, 'nothing re-sent after the end (two was never on the wire)');
  assert.equal(room.retryLater(a), false);
  room.flush();
  assert.equal(send.sent.length, 1);
});

const stored = (seq, text) => ({ id: `srv-${seq}`, seq, sender: 'agent', author: 'Bob', text, ts: 2000 + seq });

test('messages typed behind an unacknowledged one wait for its ack and go out in the order typed', () => {
  const send = wire();
  const room = roomState(send);
  const a = room.post('one');
  const b = room.post('two');
  const c = room.post('three');
  assert.deepEqual(send.sent.map((f) => f.id), [a], 'only the first is on the wire');
  room.acked(a, stored(1, 'one'));
  assert.deepEqual(send.sent.map((f) => f.id), [a, b], 'its ack sends the next');
  room.acked(b, stored(2, 'two'));
  room.acked(c, stored(3, 'three'));
  assert.deepEqual(send.sent.map((f) => f.id), [a, b, c]);
  assert.equal(room.outbox.size, 0);
  const d = room.post('four');
  assert.deepEqual(send.sent.map((f) => f.id), [a, b, c, d], 'an empty outbox sends at once');
});

test('a message answered unavailable is re-sent before any typed after it (issue 11, item 15)', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const send = wire();
  const desk = new DeskState(send);
  const { room } = desk.room({ id: ROOM, status: 'engaged' });
  const first = room.post('typed 7th');
  desk.retry({ type: 'error', code: 'unavailable', id: first, room_id: ROOM, ref: first });
  const later = [room.post('typed 8th'), room.post('typed 9th')];
  assert.deepEqual(send.sent.map((f) => f.id), [first], 'the later ones wait while the first is refused');
  t.mock.timers.tick(1000);
  assert.deepEqual(send.sent.map((f) => f.id), [first, first], 'the first goes again, alone');
  room.acked(first, stored(42, 'typed 7th'));
  assert.deepEqual(send.sent.map((f) => f.id), [first, first, later[0]]);
  // Refused for good, the next one still goes out.
  room.refuse(later[0]);
  assert.deepEqual(send.sent.map((f) => f.id), [first, first, later[0], later[1]]);
});

test('after a reconnect only the first unacknowledged message goes again; the rest follow its ack', () => {
  const send = wire();
  const desk = new DeskState(send);
  const { room } = desk.room({ id: ROOM, status: 'engaged' });
  const ids = [room.post('a'), room.post('b')];
  send.sent.length = 0;
  desk.resync([]);
  assert.deepEqual(send.sent.map((f) => f.id), [ids[0]]);
  room.acked(ids[0], stored(1, 'a'));
  assert.deepEqual(send.sent.map((f) => f.id), ids);
});

test('after hello, rooms no longer listed ended meanwhile, the others resume from their floor', () => {
  const send = wire();
  const desk = new DeskState(send);
  const kept = desk.room({ id: 'kept', status: 'engaged' }).room;
  kept.add([msg(1, { room_id: 'kept' }), msg(2, { room_id: 'kept' }), msg(5, { room_id: 'kept' })]);
  const gone = desk.room({ id: 'gone', status: 'engaged' }).room;
  gone.post('never acknowledged');
  send.sent.length = 0;
  assert.deepEqual(desk.goneRooms([{ id: 'kept' }]), [gone]);
  gone.end();
  assert.deepEqual(desk.goneRooms([{ id: 'kept' }]), [], 'an ended room is not gone again');
  desk.resync([{ id: 'kept' }]);
  assert.deepEqual(send.sent, [{ type: 'resume', rooms: [{ room_id: 'kept', last_seq: 2 }], ref: 'resume' }]);
  desk.resync([]);
  assert.equal(send.sent.length, 1, 'nothing to resume, and the gone room\'s message is not sent again');
});

test('without rooms to resume the outboxes go out again at once; with rooms, once resumed', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const send = wire();
  const desk = new DeskState(send);
  const { room } = desk.room({ id: ROOM, status: 'engaged' });
  const id = room.post('waiting for its ack');
  room.end();
  const other = desk.room({ id: 'r2', status: 'engaged' }).room;
  const id2 = other.post('sent before the drop');
  send.sent.length = 0;
  desk.resync([]);
  assert.deepEqual(send.sent.map((f) => f.id), [id2], 'an ended room sends nothing');
  assert.ok(id);

  send.sent.length = 0;
  desk.resync([{ id: 'r2' }]);
  assert.equal(send.sent[0].type, 'resume');
  assert.deepEqual(desk.retry({ type: 'error', code: 'unavailable', ref: 'resume' }), { resume: true });
  t.mock.timers.tick(1000);
  assert.deepEqual(send.sent.map((f) => f.type), ['resume', 'resume'], 'resume sent again after 1 s');
  const added = desk.resumed({ type: 'resumed', room_id: 'r2', ref: 'resume', messages: [msg(3, { room_id: 'r2' })] });
  assert.equal(added.length, 1);
  assert.equal(other.hasEarlier, true, 'seq 3 is not the first: earlier ones can be loaded');
  assert.deepEqual(send.sent.map((f) => f.type), ['resume', 'resume', 'message']);
  t.mock.timers.tick(60000);
  assert.equal(send.sent.length, 3, 'an answered resume is not sent again');
});

test('a request answered unavailable is sent again with its ref; dropped if not connected then', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const send = wire();
  const desk = new DeskState(send);
  const ref = desk.request({ type: 'accept', room_id: 'w1' });
  assert.deepEqual(desk.retry({ type: 'error', code: 'unavailable', ref, room_id: 'w1' }), { request: { type: 'accept', room_id: 'w1' } });
  t.mock.timers.tick(1000);
  assert.deepEqual(send.sent, [{ type: 'accept', room_id: 'w1', ref }, { type: 'accept', room_id: 'w1', ref }]);
  desk.retry({ type: 'error', code: 'unavailable', ref });
  send.connected = false;
  t.mock.timers.tick(2000);
  assert.equal(desk.pending.has(ref), false);
  assert.equal(desk.request({ type: 'end', room_id: 'w1' }), null, 'not connected: nothing kept');
  assert.equal(desk.pending.size, 0);
});

test('requests: a declined one is not offered again, an update merges, a room taken leaves the list', () => {
  const send = wire();
  const desk = new DeskState(send);
  assert.equal(desk.offer({ id: 'w1', customer_name: 'Carol', first_message: null }), 'added');
  assert.equal(desk.offer({ id: 'w1', customer_name: 'Carol', first_message: 'Hi' }), 'updated');
  assert.equal(desk.requests.get('w1').first_message, 'Hi');
  assert.equal(desk.offer({ id: 'w2' }), 'added');
  assert.equal(desk.decline('w2'), true);
  assert.equal(desk.offer({ id: 'w2' }), null);
  assert.deepEqual(desk.staleRequests([{ id: 'w3' }]), ['w1']);
  desk.room({ id: 'w1', status: 'engaged' });
  assert.equal(desk.requests.has('w1'), false);
  assert.equal(desk.offer({ id: 'w1' }), null, 'a room of ours is not a request');
  assert.deepEqual(send.sent, [{ type: 'decline', room_id: 'w2', ref: 'r1' }]);
});
