// SPDX-License-Identifier: MIT
// chat-state.js: what the agent's desk knows, without the DOM (chats.js draws it): the waiting
// requests; per room its messages, each kept once (by id and by room and seq) in display order,
// and its floor, the highest seq below which it holds every message (what resume asks from: not
// the highest it holds, which may have overtaken a lower one lost with a node that died); the
// outbox of messages typed and not acknowledged, in the order typed, of which only the first is
// on the wire (a re-send must never let a later one overtake it), its re-sends and those refused
// for good; the requests (accept, end, history ...) waiting for their answer, and the resume after a reconnect.
// Frames go out through the send function it is given (false: not connected). node:test tests
// it (tests/browser/chat-state.test.mjs).

import { backoff } from './ws.js';

/** The longest text the server stores (docs/websocket.md, message: 1..4000 characters). */
export const MAX_TEXT = 4000;

/**
 * Delay before the attempt-th re-send of a frame the server could not take now: 1 s doubling to
 * 2 s, so that a chat goes on at most ~2 s after the server is back (only the first unacknowledged
 * message of each chat is re-sent, so this costs one frame per chat every 2 s meanwhile).
 */
export function retryDelay(attempt) {
  return backoff(attempt, 1000, 2000);
}

let clientSeq = 0;
/** A client message id, unique per agent: [A-Za-z0-9_-], 1..64 characters. */
export function clientId() {
  clientSeq += 1;
  return `m-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}-${clientSeq}`;
}

/** One chat the agent holds (or held: ended chats stay until the agent closes them). */
export class RoomState {
  constructor(room, send) {
    this.id = room.id;
    this.info = room;
    this.send = send;
    this.ended = false;
    this.byKey = new Map();     // message id, and "room_id:seq" -> message
    this.list = [];             // messages in display order
    this.floor = 0;             // every seq of *this* room up to here is held: what resume sends
    this.outbox = new Map();    // client id -> {frame, attempt, timer}: typed, not acknowledged yet,
                                // in typing order; only the first one is on the wire
    this.failed = new Map();    // client id -> text: refused by the server, kept to edit or resend
    this.hasEarlier = false;    // older messages of this room exist on the server
  }

  update(info) {
    this.info = { ...this.info, ...info };
  }

  /** Order: by seq inside one room, by time across rooms (earlier rooms of the same customer). */
  static before(a, b) {
    if (a.room_id === b.room_id && typeof a.seq === 'number' && typeof b.seq === 'number') return a.seq < b.seq;
    return a.ts < b.ts;
  }

  /** Adds messages (any order, duplicates dropped). Returns the new ones, in the order added. */
  add(messages) {
    const added = [];
    for (const m of messages) {
      const seqKey = typeof m.seq === 'number' ? `${m.room_id}:${m.seq}` : null;
      if (this.byKey.has(m.id) || (seqKey && this.byKey.has(seqKey))) continue;
      this.byKey.set(m.id, m);
      if (seqKey) this.byKey.set(seqKey, m);
      let i = this.list.length;
      while (i > 0 && RoomState.before(m, this.list[i - 1])) i -= 1;
      this.list.splice(i, 0, m);
      added.push(m);
    }
    while (this.byKey.has(`${this.id}:${this.floor + 1}`)) this.floor += 1;
    return added;
  }

  /** A notice that is not a stored message (e.g. "ended while you were away"); returns add()'s. */
  notice(text, tag) {
    return this.add([{ id: `local-${tag}-${this.id}`, room_id: this.id, sender: 'system', author: '', text, ts: Date.now() }]);
  }

  /** A room just accepted is held from its oldest message in `history` on (docs/websocket.md, resume). */
  startFloor(history) {
    const seqs = history.filter((m) => m.room_id === this.id && typeof m.seq === 'number').map((m) => m.seq);
    if (this.floor === 0 && seqs.length) this.floor = Math.min(...seqs) - 1;
  }

  /** The lowest seq of this room's messages held, or null. */
  oldestSeq() {
    let min = null;
    for (const m of this.list) if (m.room_id === this.id && typeof m.seq === 'number' && (min === null || m.seq < min)) min = m.seq;
    return min;
  }

  /**
   * Sends text as a new message; it stays in the outbox until acked (or refused). The id doubles
   * as ref, so that any error about the frame finds it. Behind an unacknowledged message it waits
   * its turn: the server stores a chat's messages in the order they reach it, and one re-sent
   * after `unavailable` would otherwise be stored after those typed later. Returns the id.
   */
  post(text) {
    const id = clientId();
    const frame = { type: 'message', room_id: this.id, id, text, ref: id };
    this.outbox.set(id, { frame, attempt: 0, timer: null });
    if (this.outbox.size === 1) this.send(frame);
    return id;
  }

  /** The first message of the outbox (the one on the wire), or undefined. */
  head() {
    return this.outbox.values().next().value;
  }

  /** Id leaves the outbox (acked or refused); if it was the first, the next one goes out. */
  settle(id) {
    const pending = this.outbox.get(id);
    if (!pending) return null;
    const first = this.head() === pending;
    clearTimeout(pending.timer);
    this.outbox.delete(id);
    const next = this.head();
    if (first && next && !this.ended) this.send(next.frame);
    return pending;
  }

  /** The ack of message id: out of the outbox; returns the stored message if it was new. */
  acked(id, message) {
    this.settle(id);
    return this.add([{ room_id: this.id, ...message }]);
  }

  /** Message id refused for good: kept among the failed. False when not one of ours unacked. */
  refuse(id) {
    const pending = this.settle(id);
    if (!pending) return false;
    this.failed.set(id, pending.frame.text);
    return true;
  }

  /** A failed message's text, no longer kept (to edit or resend it), or null. */
  takeFailed(id) {
    const text = this.failed.get(id);
    if (text === undefined) return null;
    this.failed.delete(id);
    return text;
  }

  /**
   * Message id could not be stored now (`unavailable`, `busy`): sent again with the same id
   * after retryDelay(); not connected then, the resync after the reconnect sends it (flush).
   * False when not one of ours unacked, or the chat ended.
   */
  retryLater(id) {
    const pending = this.outbox.get(id);
    if (!pending || this.ended) return false;
    clearTimeout(pending.timer);
    const delay = retryDelay(pending.attempt);
    pending.attempt += 1;
    pending.timer = setTimeout(() => {
      pending.timer = null;
      if (this.outbox.get(id) === pending) this.send(pending.frame);
    }, delay);
    return true;
  }

  /** Sends the first unacknowledged message again (after a reconnect's resync); the rest follow its ack. */
  flush() {
    const pending = this.head();
    if (this.ended || !pending) return;
    clearTimeout(pending.timer);
    pending.timer = null;
    this.send(pending.frame);
  }

  /** The chat ended: returns the ids of the messages that will never be sent (null if it had ended). */
  end() {
    if (this.ended) return null;
    this.ended = true;
    const lost = [...this.outbox.keys()];
    for (const { timer } of this.outbox.values()) clearTimeout(timer);
    this.outbox.clear();
    return lost;
  }
}

export class DeskState {
  /** send(frame) -> false when not connected. */
  constructor(send) {
    this.send = send;
    this.requests = new Map();   // room id -> room summary of a waiting request
    this.declined = new Set();   // room ids this agent declined
    this.rooms = new Map();      // room id -> RoomState
    this.pending = new Map();    // ref -> {frame, attempt}: requests waiting for their answer
    this.refSeq = 0;
    this.historyLimit = 50;
    this.resumeFrame = null;     // the resume sent after hello, until answered
    this.resumeAttempt = 0;
    this.resumeTimer = null;
  }

  /** Sends frame with a fresh ref and keeps it until answered. Null when not connected. */
  request(frame) {
    const ref = `r${++this.refSeq}`;
    if (!this.send({ ...frame, ref })) return null;
    this.pending.set(ref, { frame, attempt: 0 });
    return ref;
  }

  /** The frame that ref answers, no longer waiting; undefined when none. */
  answered(ref) {
    const pending = this.pending.get(ref);
    this.pending.delete(ref);
    return pending && pending.frame;
  }

  /** A waiting request, new or updated: 'added', 'updated', or null (declined, or already ours). */
  offer(room) {
    if (this.declined.has(room.id) || this.rooms.has(room.id)) return null;
    const known = this.requests.get(room.id);
    this.requests.set(room.id, known ? { ...known, ...room } : room);
    return known ? 'updated' : 'added';
  }

  /** Removes a waiting request; false when it was not listed. */
  withdraw(id) {
    return this.requests.delete(id);
  }

  /** The requests listed that a hello's list no longer has. */
  staleRequests(requests) {
    const ids = new Set(requests.map((r) => r.id));
    return [...this.requests.keys()].filter((id) => !ids.has(id));
  }

  /** Declines a request (hidden from then on). False when not connected. */
  decline(id) {
    if (!this.request({ type: 'decline', room_id: id })) return false;
    this.declined.add(id);
    this.withdraw(id);
    return true;
  }

  /** The RoomState of a room resource, made when new ({room, added}). */
  room(info) {
    this.withdraw(info.id);
    let room = this.rooms.get(info.id);
    if (room) {
      room.update(info);
      return { room, added: false };
    }
    room = new RoomState(info, this.send);
    this.rooms.set(info.id, room);
    return { room, added: true };
  }

  drop(id) {
    this.rooms.delete(id);
  }

  /** The open rooms held that hello no longer lists: they ended while the agent was away. */
  goneRooms(helloRooms) {
    const listed = new Set(helloRooms.map((r) => r.id));
    return [...this.rooms.values()].filter((room) => !room.ended && !listed.has(room.id));
  }

  /**
   * After hello (its rooms are in this.rooms by now, the gone ones ended): resumes hello's rooms
   * from their floor or, with none to resume, sends the outboxes again at once.
   */
  resync(helloRooms) {
    clearTimeout(this.resumeTimer);
    this.resumeAttempt = 0;
    const rooms = helloRooms.map((r) => ({ room_id: r.id, last_seq: this.rooms.get(r.id).floor }));
    this.resumeFrame = rooms.length ? { type: 'resume', rooms, ref: 'resume' } : null;
    if (this.resumeFrame) this.send(this.resumeFrame);
    else for (const room of this.rooms.values()) room.flush();
  }

  /** A room's `resumed`: its messages added (returned), its outbox sent again. */
  resumed(f) {
    clearTimeout(this.resumeTimer);
    this.resumeFrame = null;
    const room = this.rooms.get(f.room_id);
    if (!room) return null;
    const added = room.add(f.messages);
    if (room.oldestSeq() > 1) room.hasEarlier = true;
    room.flush();
    return added;
  }

  /**
   * The message of ours an error is about: named by id and room_id, or only by ref (each
   * message frame carries its id as ref). Null for an error about anything else.
   */
  messageOf(f) {
    const room = f.room_id ? this.rooms.get(f.room_id) : null;
    if (room && f.id && room.outbox.has(f.id)) return { room, id: f.id };
    if (typeof f.ref !== 'string') return null;
    for (const r of this.rooms.values()) if (r.outbox.has(f.ref)) return { room: r, id: f.ref };
    return null;
  }

  /**
   * `unavailable` (MongoDB down): nothing was done, so the same frame is sent again, 1 s doubling
   * to 2 s, until another answer comes (docs/websocket.md, "When a server is down"). A `message`
   * answered `busy` (too many requests of this connection under way) was not done either and is
   * re-sent the same way, same id. Returns what will be re-sent: {message: {room, id}} for a
   * message, {resume: true}, {request: frame}; null when f is not such an error.
   */
  retry(f) {
    const about = this.messageOf(f);
    if ((f.code === 'busy' || f.code === 'unavailable') && about) {
      return about.room.retryLater(about.id) ? { message: about } : null;
    }
    if (f.code !== 'unavailable') return null;
    if (f.ref === 'resume' && this.resumeFrame) {
      const frame = this.resumeFrame;
      clearTimeout(this.resumeTimer);
      this.resumeTimer = setTimeout(() => {
        if (this.resumeFrame === frame) this.send(frame);
      }, retryDelay(this.resumeAttempt++));
      return { resume: true };
    }
    const pending = f.ref ? this.pending.get(f.ref) : null;
    if (!pending) return null;
    const delay = retryDelay(pending.attempt);
    pending.attempt += 1;
    // A lost connection drops the frame (the reconnect's hello resynchronises); a user action
    // that is still wanted is then done again by the user.
    setTimeout(() => {
      if (this.pending.get(f.ref) === pending && !this.send({ ...pending.frame, ref: f.ref })) this.pending.delete(f.ref);
    }, delay);
    return { request: pending.frame };
  }
}
