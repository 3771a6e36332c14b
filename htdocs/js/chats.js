// chats.js: the agent's live desk: waiting requests (accept / decline, sound and title badge),
// the agent's chats (several at once, history with "load earlier" and earlier chats set apart by
// dated dividers, live messages, the customer's typing state, compose box with /shortcut canned
// responses and the 4000-character count, refused messages to edit or resend, End) over the
// /ws/agent websocket (what it shows: docs/dashboard.md).
// Messages are kept per room by id and seq, so a resync after a reconnect never shows a message
// twice, and the highest seq per room is what the resync asks from.

import { el, replace, clock, duration, dateTime, charCount, toast } from './dom.js';
import { AgentSocket } from './ws.js';
import { setWaiting } from './notify.js';
import { Suggester } from './canned.js';
import { api } from './api.js';

/** The text of a request's first customer message, when the room resource carries one. */
function firstText(room) {
  const f = room.first_message || room.last_message || room.text || '';
  return typeof f === 'object' && f ? f.text || '' : String(f);
}

let clientSeq = 0;
/** A client message id, unique per agent: [A-Za-z0-9_-], 1..64 characters. */
function clientId() {
  clientSeq += 1;
  return `m-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}-${clientSeq}`;
}

const TYPING_IDLE_MS = 3000;
/** The longest text the server stores (docs/websocket.md, message: 1..4000 characters). */
const MAX_TEXT = 4000;
/** The compose box shows its count from this many characters on. */
const COUNT_FROM = MAX_TEXT - 500;

/** Delay before the attempt-th re-send of a frame the server answered `unavailable`: 1 s doubling to 15 s. */
function retryDelay(attempt) {
  return Math.min(15000, 1000 * 2 ** attempt);
}

/** One chat the agent holds (or held: ended chats stay until the agent closes them). */
class Room {
  constructor(desk, room) {
    this.desk = desk;
    this.id = room.id;
    this.info = room;
    this.ended = false;
    this.byId = new Map();      // message id, and "room_id:seq" -> message
    this.outbox = new Map();    // client id -> {frame, node, attempt, timer}: sent, not acknowledged yet
    this.failed = new Map();    // client id -> {text, node}: refused by the server, kept to edit or resend
    this.dividers = new Map();  // room id -> its divider, once an earlier chat of the customer shows
    this.list = [];             // messages in display order
    this.lastSeq = 0;           // highest seq of *this* room's messages we hold
    this.hasEarlier = false;
    this.unread = false;
    this.typingTimer = null;
    this.myTypingSent = 0;
    this.build();
  }

  get customer() {
    return this.info.customer_name || 'Customer';
  }

  build() {
    const d = this.desk;
    this.tab = el('div', { class: 'chat-tab', testid: 'chat-tab', dataset: { roomId: this.id }, onclick: () => d.select(this.id) },
      this.tabName = el('span', { class: 'name' }, this.customer),
      this.tabSub = el('span', { class: 'sub' }, this.info.channel || ''));
    this.messagesEl = el('div', { class: 'messages', testid: 'messages' });
    this.earlierBtn = el('button', { class: 'link load-earlier', testid: 'load-earlier', hidden: true, onclick: () => this.loadEarlier() }, 'Load earlier messages');
    this.messagesEl.appendChild(this.earlierBtn);
    this.typingEl = el('div', { class: 'typing', testid: 'typing' });
    this.compose = el('textarea', { rows: 2, placeholder: 'Type a message, / for canned responses, Enter to send', testid: 'compose' });
    this.sendBtn = el('button', { class: 'primary', testid: 'send', onclick: () => this.send() }, 'Send');
    this.countEl = el('span', { class: 'compose-count', testid: 'compose-count', hidden: true, 'aria-live': 'polite' });
    this.endBtn = el('button', { class: 'danger', testid: 'end-chat', onclick: () => this.end() }, 'End chat');
    this.suggester = new Suggester(this.compose, d.canned, () => ({ customer: this.customer, agent: d.agentName }));
    this.compose.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
        ev.preventDefault();
        this.send();
      }
    });
    this.compose.addEventListener('input', () => {
      this.sendTyping(this.compose.value.trim().length > 0);
      this.showCount();
    });
    this.composeBar = el('div', { class: 'compose' }, this.suggester.list, this.compose,
      el('div', { class: 'compose-side' }, this.sendBtn, this.countEl));
    this.endedNote = el('div', { class: 'chat-ended-note', testid: 'chat-ended', hidden: true },
      el('span', {}, 'This chat has ended.'),
      el('button', { testid: 'close-chat', onclick: () => d.dropRoom(this.id) }, 'Close'));
    this.pane = el('div', { class: 'chat', testid: 'chat', dataset: { roomId: this.id } },
      el('div', { class: 'chat-head' },
        this.headName = el('span', { class: 'name', testid: 'chat-customer' }, this.customer),
        el('span', { class: 'muted', testid: 'chat-channel' }, this.info.channel || ''),
        el('span', { class: 'spacer' }),
        this.endBtn),
      this.messagesEl, this.typingEl, this.composeBar, this.endedNote);
  }

  update(info) {
    this.info = { ...this.info, ...info };
    this.tabName.textContent = this.customer;
    this.headName.textContent = this.customer;
    if (this.info.status === 'closed') this.markEnded();
  }

  /** Adds messages (any order, duplicates ignored). Returns how many were new. */
  addMessages(messages) {
    let added = 0;
    for (const m of messages) {
      if (!m || m.text === undefined) continue;
      const seqKey = typeof m.seq === 'number' ? `${m.room_id}:${m.seq}` : null;
      if ((m.id && this.byId.has(m.id)) || (seqKey && this.byId.has(seqKey))) continue;
      if (m.id) this.byId.set(m.id, m);
      if (seqKey) this.byId.set(seqKey, m);
      if (m.room_id === this.id && typeof m.seq === 'number' && m.seq > this.lastSeq) this.lastSeq = m.seq;
      this.insert(m);
      added += 1;
    }
    return added;
  }

  /** Order: by seq inside one room, by time across rooms (earlier rooms of the same customer). */
  static before(a, b) {
    if (a.room_id === b.room_id && typeof a.seq === 'number' && typeof b.seq === 'number') return a.seq < b.seq;
    return (a.ts || 0) < (b.ts || 0);
  }

  insert(m) {
    let i = this.list.length;
    while (i > 0 && Room.before(m, this.list[i - 1])) i -= 1;
    this.list.splice(i, 0, m);
    const node = this.renderMessage(m);
    const next = this.list[i + 1];
    const stick = this.messagesEl.scrollHeight - this.messagesEl.scrollTop - this.messagesEl.clientHeight < 60;
    if (next && next.node) this.messagesEl.insertBefore(node, next.node);
    else this.messagesEl.appendChild(node);
    m.node = node;
    this.placeDividers();
    if (!next && stick) this.messagesEl.scrollTop = this.messagesEl.scrollHeight;
  }

  /**
   * Once an earlier chat of the customer shows (accepted.history spans their rooms), each chat
   * gets a divider before its first message: "Earlier chat · <date>" and "This chat · <date>".
   */
  placeDividers() {
    const roomOf = (m) => m.room_id || this.id;
    if (this.list.every((m) => roomOf(m) === this.id)) return;
    let prev = null;
    for (const m of this.list) {
      const rid = roomOf(m);
      if (rid === prev) continue;
      prev = rid;
      let divider = this.dividers.get(rid);
      if (!divider) {
        divider = el('div', { class: 'room-divider', testid: 'room-divider', dataset: { roomId: rid } });
        this.dividers.set(rid, divider);
      }
      const when = rid === this.id ? this.info.created_at || m.ts : m.ts;
      divider.textContent = [rid === this.id ? 'This chat' : 'Earlier chat', when ? dateTime(when) : ''].filter(Boolean).join(' · ');
      if (m.node.previousSibling !== divider) this.messagesEl.insertBefore(divider, m.node);
    }
  }

  renderMessage(m) {
    const sender = m.sender === 'agent' || m.sender === 'customer' ? m.sender : 'system';
    const who = sender === 'system' ? '' : (m.author || (sender === 'customer' ? this.customer : this.desk.agentName));
    const earlier = m.room_id && m.room_id !== this.id;
    // textContent only (through el()): a message is never markup.
    return el('div', {
      class: `msg msg-${sender}${earlier ? ' earlier-room' : ''}`,
      testid: 'message',
      dataset: { sender, seq: m.seq === undefined ? '' : String(m.seq), id: m.id || '', roomId: m.room_id || '' },
    },
    el('span', { class: 'meta' }, [who, m.ts ? clock(m.ts) : ''].filter(Boolean).join(' · ')),
    el('span', { class: 'text', testid: 'message-text' }, m.text));
  }

  oldestSeqOfThisRoom() {
    let min = null;
    for (const m of this.list) if (m.room_id === this.id && typeof m.seq === 'number' && (min === null || m.seq < min)) min = m.seq;
    return min;
  }

  setHasEarlier(flag) {
    this.hasEarlier = !!flag;
    this.earlierBtn.hidden = !this.hasEarlier;
  }

  loadEarlier() {
    const oldest = this.oldestSeqOfThisRoom();
    const frame = { type: 'history', room_id: this.id, limit: this.desk.historyLimit || 50 };
    if (oldest) frame.before_seq = oldest;
    if (this.desk.request(frame)) this.earlierBtn.disabled = true;
  }

  /** A notice that is not a stored message (e.g. the agent's closing text). */
  addSystem(text, tag) {
    this.addMessages([{ id: `local-${tag}-${this.id}`, room_id: this.id, sender: 'system', author: '', text, ts: Date.now() }]);
  }

  setTyping(flag) {
    clearTimeout(this.typingTimer);
    this.typingEl.textContent = flag ? `${this.customer} is typing…` : '';
    // A lost "stopped typing" must not leave the indicator on for ever.
    if (flag) this.typingTimer = setTimeout(() => { this.typingEl.textContent = ''; }, 15000);
  }

  sendTyping(flag) {
    if (this.ended) return;
    const now = Date.now();
    if (flag && now - this.myTypingSent < TYPING_IDLE_MS) return;
    this.myTypingSent = flag ? now : 0;
    this.desk.socket.send({ type: 'typing', room_id: this.id, state: flag });
  }

  /** The count under Send: from COUNT_FROM characters on, red and Send disabled past MAX_TEXT. */
  showCount() {
    const n = charCount(this.compose.value.trim());
    const over = n > MAX_TEXT;
    this.countEl.hidden = n < COUNT_FROM;
    this.countEl.textContent = over ? `${n} / ${MAX_TEXT}: too long` : `${n} / ${MAX_TEXT}`;
    this.countEl.classList.toggle('over', over);
    this.sendBtn.disabled = over;
    return !over;
  }

  /**
   * Sends the compose box, unless it is blank (then it is only cleared, and no "typing" stays
   * behind) or longer than the server takes (the count says so; the text stays to be shortened).
   */
  send() {
    if (this.suggester.isOpen || this.ended) return;
    const text = this.compose.value.trim();
    if (text && !this.showCount()) return;
    if (text) this.post(text);
    this.compose.value = '';
    this.showCount();
    this.myTypingSent = 0;
    this.desk.socket.send({ type: 'typing', room_id: this.id, state: false });
  }

  /**
   * Sends text as a new message. It shows at once as pending and stays in the outbox (text
   * included) until the server's ack (with the stored message) replaces it, or its refusal
   * marks it failed (refused). Unacknowledged messages are re-sent with the same id after a
   * reconnect, which the server stores only once. The id doubles as ref, so that any error
   * about the frame can be matched to it.
   */
  post(text) {
    const id = clientId();
    const frame = { type: 'message', room_id: this.id, id, text, ref: id };
    const node = el('div', { class: 'msg msg-agent pending', testid: 'message-pending', dataset: { state: 'sending', id } },
      el('span', { class: 'meta' }, 'sending…'),
      el('span', { class: 'text' }, text));
    this.messagesEl.appendChild(node);
    this.messagesEl.scrollTop = this.messagesEl.scrollHeight;
    this.outbox.set(id, { frame, node, attempt: 0, timer: null });
    this.desk.socket.send(frame);
  }

  /**
   * The server refused message id for good (reason: its error message): it stays in the chat,
   * marked failed, with Edit (back into the compose box) and Resend. False when it is not one
   * of ours waiting for its ack.
   */
  refused(id, reason) {
    const pending = this.outbox.get(id);
    if (!pending) return false;
    clearTimeout(pending.timer);
    this.outbox.delete(id);
    const { node, frame } = pending;
    const entry = { text: frame.text, node };
    this.failed.set(id, entry);
    node.classList.remove('retrying');
    node.classList.add('failed');
    node.dataset.state = 'failed';
    node.querySelector('.meta').textContent = 'not sent';
    // Under the text, where the eye ends after a long message: why, and what can be done.
    node.appendChild(el('span', { class: 'msg-actions' },
      el('span', { class: 'failure', testid: 'message-failure' }, reason),
      el('button', { class: 'link', testid: 'message-edit', onclick: () => this.editFailed(id) }, 'Edit'),
      el('button', { class: 'link', testid: 'message-resend', onclick: () => this.resendFailed(id) }, 'Resend')));
    return true;
  }

  takeFailed(id) {
    const entry = this.failed.get(id);
    if (!entry) return null;
    this.failed.delete(id);
    entry.node.remove();
    return entry.text;
  }

  /** A failed message back into the compose box (before what is being written there). */
  editFailed(id) {
    const text = this.takeFailed(id);
    if (text === null || this.ended) return;
    const current = this.compose.value.trim();
    this.compose.value = current ? `${text}\n${current}` : text;
    this.showCount();
    this.compose.focus();
  }

  resendFailed(id) {
    const text = this.takeFailed(id);
    if (text !== null && !this.ended) this.post(text);
  }

  acked(id, message) {
    const pending = this.outbox.get(id);
    if (pending) {
      clearTimeout(pending.timer);
      pending.node.remove();
      this.outbox.delete(id);
    }
    if (message) this.addMessages([{ room_id: this.id, ...message }]);
  }

  /**
   * The server could not store message `id` (MongoDB down, docs/websocket.md "When a server is
   * down"; or the connection was `busy`): it stays in the chat marked as not sent and is re-sent with the same id, 1 s doubling
   * to 15 s, until the ack comes (the server stores it once whatever happened before). Returns
   * false when the message is not one of ours waiting for its ack.
   */
  retryLater(id) {
    const pending = this.outbox.get(id);
    if (!pending || this.ended) return false;
    pending.node.classList.add('retrying');
    pending.node.dataset.state = 'retrying';
    pending.node.querySelector('.meta').textContent = 'not sent yet — retrying';
    clearTimeout(pending.timer);
    const delay = retryDelay(pending.attempt);
    pending.attempt += 1;
    // Not connected at that moment: the resync after the reconnect sends it (flushOutbox).
    pending.timer = setTimeout(() => {
      pending.timer = null;
      if (this.outbox.get(id) === pending) this.desk.socket.send(pending.frame);
    }, delay);
    return true;
  }

  flushOutbox() {
    if (this.ended) return;
    for (const pending of this.outbox.values()) {
      clearTimeout(pending.timer);
      pending.timer = null;
      this.desk.socket.send(pending.frame);
    }
  }

  end() {
    if (this.ended) return;
    if (!confirm(`End the chat with ${this.customer}?`)) return;
    this.desk.request({ type: 'end', room_id: this.id });
  }

  markEnded() {
    if (this.ended) return;
    this.ended = true;
    this.tab.classList.add('ended');
    this.tabSub.textContent = 'ended';
    this.composeBar.hidden = true;
    this.endBtn.hidden = true;
    this.endedNote.hidden = false;
    this.setTyping(false);
    this.pane.dataset.ended = 'true';
    for (const { node, timer } of this.outbox.values()) {
      clearTimeout(timer);
      node.classList.remove('retrying');
      node.dataset.state = 'failed';
      node.querySelector('.meta').textContent = 'not sent: the chat has ended';
    }
    this.outbox.clear();
  }
}

export class ChatDesk {
  constructor({ user, permissions, canned, onConnState }) {
    this.user = user || {};
    this.permissions = permissions || [];
    this.canned = canned;
    this.onConnState = onConnState;
    this.requests = new Map();     // room id -> {room, first, since, el}
    this.declined = new Set();
    this.rooms = new Map();        // room id -> Room
    this.active = null;
    this.pending = new Map();      // request ref -> what it was for
    this.refSeq = 0;
    this.everOpen = false;
    this.build();
    this.socket = new AgentSocket('/ws/agent', {
      onFrame: (f) => this.onFrame(f),
      onState: (s, d) => this.onState(s, d),
    });
    this.ticker = setInterval(() => this.tick(), 1000);
  }

  get agentName() {
    return this.user.display_name || this.user.username || 'Agent';
  }

  build() {
    this.requestsEl = el('div', { testid: 'requests' });
    this.requestsEmpty = el('p', { class: 'empty muted', testid: 'requests-empty' }, 'No customer is waiting.');
    this.tabsEl = el('div', { testid: 'chat-tabs' });
    this.tabsEmpty = el('p', { class: 'empty muted' }, 'No active chat.');
    this.area = el('div', { class: 'chat-area', testid: 'chat-area' });
    this.placeholder = el('div', { class: 'chat-empty' },
      el('h3', {}, 'Welcome, ', this.agentName),
      el('p', {}, 'Waiting requests appear on the left. Accept one to start chatting.'));
    this.area.appendChild(this.placeholder);
    this.element = el('div', { class: 'desk', testid: 'desk' },
      el('aside', { class: 'sidebar' },
        el('h3', {}, 'Waiting requests ', this.requestCount = el('span', { testid: 'request-count' }, '0')),
        this.requestsEmpty, this.requestsEl,
        el('h3', {}, 'My chats'),
        this.tabsEmpty, this.tabsEl),
      this.area);
  }

  start() {
    if (!this.permissions.includes('chats.accept') && !this.permissions.includes('chats.monitor')) {
      // wsd would refuse the connection (4403): say so instead of retrying.
      replace(this.placeholder, el('h3', {}, 'No live chat for your group'),
        el('p', {}, 'Your permission group does not allow taking chats (chats.accept).'));
      if (this.onConnState) this.onConnState('refused');
      return;
    }
    this.socket.start();
  }

  stop() {
    clearInterval(this.ticker);
    this.socket.stop();
    setWaiting(0);
  }

  /** Called by the router each time the chats page is shown. */
  shown() {
    if (this.active) this.rooms.get(this.active)?.compose.focus();
  }

  /**
   * What the header shows: 'connecting' (first connect), 'open' only once the server's hello is
   * handled (requests and chats resynchronised), 'down' from a lost connection until then.
   */
  onState(state, detail) {
    if (state === 'open') return;
    if (state === 'connecting' && this.everOpen) state = 'down';
    // Session revoked: any API call now answers 401, and app.js then shows the login form.
    if (state === 'refused' && detail && detail.code === 4401) api.me().catch(() => {});
    if (this.onConnState) this.onConnState(state, detail);
  }

  request(frame) {
    const ref = `r${++this.refSeq}`;
    this.pending.set(ref, { ...frame, attempt: 0 });
    if (!this.socket.send({ ...frame, ref })) {
      this.pending.delete(ref);
      toast('Not connected: try again when the connection is back.', 'error');
      return null;
    }
    return ref;
  }

  /* ------------------------------------------------------ protocol */
  // docs/websocket.md, /ws/agent. The server speaks first (hello); frames before it get not_ready,
  // so the resync (resume) is sent from onHello, not from the socket's open event.

  onFrame(f) {
    switch (f.type) {
      case 'hello': this.onHello(f); break;
      case 'request_offered': this.addRequest(f.room || {}); break;
      // The customer's first message arrived after the offer (docs/websocket.md).
      case 'request_updated': this.addRequest(f.room || {}); break;
      case 'request_withdrawn':
        if (f.ref) this.pending.delete(f.ref);
        this.removeRequest(f.room_id, f.reason);
        break;
      case 'accepted': this.onAccepted(f); break;
      case 'already_taken': this.onAlreadyTaken(f); break;
      case 'ack': this.onAck(f); break;
      case 'message': this.onMessage(f.message ? { room_id: f.room_id, ...f.message } : f); break;
      case 'resumed': this.onResumed(f); break;
      case 'history': this.onHistory(f); break;
      case 'typing': if (f.sender !== 'agent') this.rooms.get(f.room_id)?.setTyping(!!f.state); break;
      case 'ended': this.onEnded(f); break;
      case 'error': this.onError(f); break;
      case 'pong': break;
      default: console.debug('livechat: unhandled frame', f);
    }
  }

  onHello(f) {
    this.everOpen = true;
    if (f.settings && f.settings.history_limit) this.historyLimit = f.settings.history_limit;
    if (f.user) {
      this.user = { ...this.user, ...f.user };
    }
    // Requests: the server's list is the truth after a (re)connect.
    const reqs = Array.isArray(f.requests) ? f.requests : [];
    const ids = new Set(reqs.map((r) => r.id));
    for (const id of [...this.requests.keys()]) if (!ids.has(id)) this.removeRequest(id);
    for (const r of reqs) this.addRequest(r);
    // Rooms still ours: resume each from the highest seq we hold (0 after a page reload).
    const resume = [];
    const serverRooms = new Set();
    for (const r of Array.isArray(f.rooms) ? f.rooms : []) {
      serverRooms.add(r.id);
      const room = this.ensureRoom(r, false);
      resume.push({ room_id: r.id, last_seq: room.lastSeq });
    }
    // Rooms we hold that the server no longer gives us ended while we were away.
    for (const room of this.rooms.values()) {
      if (!room.ended && !serverRooms.has(room.id)) {
        room.addSystem('The chat ended while you were disconnected.', 'gone');
        room.markEnded();
      }
    }
    clearTimeout(this.resumeTimer);
    this.resumeAttempt = 0;
    this.resumeFrame = resume.length ? { type: 'resume', rooms: resume, ref: 'resume' } : null;
    if (this.resumeFrame) this.socket.send(this.resumeFrame);
    else this.flushOutboxes();
    if (this.onConnState) this.onConnState('open');
  }

  onResumed(f) {
    clearTimeout(this.resumeTimer);
    this.resumeFrame = null;
    const room = this.rooms.get(f.room_id);
    if (!room) return;
    room.addMessages(f.messages || []);
    if (room.lastSeq > 0 && room.oldestSeqOfThisRoom() > 1) room.setHasEarlier(true);
    room.flushOutbox();
  }

  flushOutboxes() {
    for (const room of this.rooms.values()) room.flushOutbox();
  }

  /** Adds a waiting request, or updates it (request_updated: its first message arrived). */
  addRequest(room) {
    const id = room.id;
    if (!id || this.declined.has(id) || this.rooms.has(id)) return;
    const first = firstText(room);
    const since = room.created_at || Date.now();
    let req = this.requests.get(id);
    if (req) {
      req.room = { ...req.room, ...room };
      if (first) req.firstEl.textContent = first;
      return;
    }
    const waitEl = el('span', { class: 'waiting', testid: 'request-waiting' }, '');
    const firstEl = el('p', { class: 'first', testid: 'request-first-message' }, first);
    const acceptBtn = el('button', { class: 'primary', testid: 'accept', onclick: () => this.accept(id) }, 'Accept');
    const declineBtn = el('button', { testid: 'decline', onclick: () => this.decline(id) }, 'Decline');
    const node = el('div', { class: 'request', testid: 'request', dataset: { roomId: id } },
      el('div', { class: 'line1' },
        el('span', { class: 'name', testid: 'request-customer' }, room.customer_name || room.customer_id || 'Customer'),
        el('span', { class: 'channel', testid: 'request-channel' }, room.channel || '')),
      firstEl, waitEl,
      el('div', { class: 'buttons' }, acceptBtn, declineBtn));
    req = { room, since, el: node, waitEl, firstEl, acceptBtn };
    this.requests.set(id, req);
    this.requestsEl.appendChild(node);
    this.refreshRequests();
  }

  removeRequest(id, reason) {
    const req = this.requests.get(id);
    if (!req) return;
    req.el.remove();
    this.requests.delete(id);
    this.refreshRequests();
  }

  refreshRequests() {
    const n = this.requests.size;
    this.requestCount.textContent = String(n);
    this.requestsEmpty.hidden = n > 0;
    setWaiting(n);
    this.tick();
  }

  tick() {
    const now = Date.now();
    for (const req of this.requests.values()) req.waitEl.textContent = `waiting ${duration(now - req.since)}`;
  }

  accept(id) {
    const req = this.requests.get(id);
    if (req) req.acceptBtn.disabled = true;
    if (!this.request({ type: 'accept', room_id: id }) && req) req.acceptBtn.disabled = false;
  }

  decline(id) {
    if (!this.request({ type: 'decline', room_id: id })) return;
    this.declined.add(id);
    this.removeRequest(id);
  }

  /** The Room for a room resource, created (with its tab) when new. */
  ensureRoom(info, focus) {
    let room = this.rooms.get(info.id);
    this.removeRequest(info.id);
    if (!room) {
      room = new Room(this, info);
      this.rooms.set(info.id, room);
      this.tabsEl.appendChild(room.tab);
      this.tabsEmpty.hidden = true;
      if (focus || !this.active) this.select(info.id);
    } else {
      room.update(info);
    }
    return room;
  }

  onAccepted(f) {
    if (f.ref) this.pending.delete(f.ref);
    const room = this.ensureRoom(f.room, true);
    const history = Array.isArray(f.history) ? f.history : [];
    room.addMessages(history);
    room.setHasEarlier(room.oldestSeqOfThisRoom() > 1 || history.length >= (this.historyLimit || 50));
  }

  onAlreadyTaken(f) {
    if (f.ref) this.pending.delete(f.ref);
    this.removeRequest(f.room_id);
    toast('Another agent already took this chat.', 'error');
  }

  onAck(f) {
    const room = this.rooms.get(f.room_id);
    if (room) room.acked(f.id, f.message);
  }

  onHistory(f) {
    if (f.ref) this.pending.delete(f.ref);
    const room = this.rooms.get(f.room_id);
    if (!room) return;
    room.addMessages(f.messages || []);
    room.setHasEarlier(!!f.has_more);
    room.earlierBtn.disabled = false;
  }

  onMessage(m) {
    const room = this.rooms.get(m.room_id);
    if (!room) return;
    if (room.addMessages([m]) && m.sender === 'customer') {
      room.setTyping(false);
      if (this.active !== room.id) {
        room.unread = true;
        room.tab.classList.add('unread');
      }
    }
  }

  onEnded(f) {
    if (f.ref) this.pending.delete(f.ref);
    this.removeRequest(f.room_id);
    const room = this.rooms.get(f.room_id);
    if (!room) return;
    if (f.text) room.addSystem(f.text, 'ended');
    room.markEnded();
  }

  /**
   * `unavailable` (MongoDB down): nothing was done, so the same frame is sent again, 1 s doubling
   * to 15 s, until another answer comes (docs/websocket.md, "When a server is down"). A `message`
   * answered `busy` (too many requests of this connection under way; it names the message) was
   * not done either and is re-sent the same way, same id. Returns true when f was such an error
   * about a frame this desk re-sends.
   */
  retryUnavailable(f) {
    const about = this.messageOf(f);
    if (f.code === 'busy' && about) return about.room.retryLater(about.id);
    if (f.code !== 'unavailable') return false;
    if (about) return about.room.retryLater(about.id);
    if (f.ref === 'resume' && this.resumeFrame) {
      const frame = this.resumeFrame;
      clearTimeout(this.resumeTimer);
      this.resumeTimer = setTimeout(() => {
        if (this.resumeFrame === frame) this.socket.send(frame);
      }, retryDelay(this.resumeAttempt++));
      return true;
    }
    const pending = f.ref ? this.pending.get(f.ref) : null;
    if (!pending) return false;
    const { attempt, ...frame } = pending;
    pending.attempt = attempt + 1;
    // A lost connection drops the frame (the reconnect's hello resynchronises); a user action
    // that is still wanted is then done again by the user.
    setTimeout(() => {
      if (this.pending.get(f.ref) === pending && !this.socket.send({ ...frame, ref: f.ref })) this.pending.delete(f.ref);
    }, retryDelay(attempt));
    return true;
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

  onError(f) {
    if (this.retryUnavailable(f)) return;
    const about = f.code === 'unauthorized' ? null : this.messageOf(f);
    if (about) {
      // Refused for good (too long, room no longer ours ...): the message says so, not a toast.
      about.room.refused(about.id, f.message || f.code);
      return;
    }
    const pending = f.ref ? this.pending.get(f.ref) : null;
    if (f.ref) this.pending.delete(f.ref);
    if (f.code === 'unauthorized') {
      // The session is gone: the socket will be closed with 4401; app.js's API check logs out.
      this.socket.stop();
      api.me().catch(() => {});
      return;
    }
    if (pending && pending.type === 'accept') {
      this.removeRequest(pending.room_id);
      toast(f.message || 'This request is no longer open.', 'error');
      return;
    }
    if (pending && pending.type === 'history') {
      const room = this.rooms.get(pending.room_id);
      if (room) room.earlierBtn.disabled = false;
    }
    if (f.ref === 'resume' && (f.code === 'forbidden' || f.code === 'not_open') && f.room_id) {
      this.rooms.get(f.room_id)?.markEnded();
      return;
    }
    toast(f.message || f.code || 'Error from the server', 'error');
  }

  /* -------------------------------------------------------- view */

  select(id) {
    const room = this.rooms.get(id);
    if (!room) return;
    for (const r of this.rooms.values()) r.tab.classList.toggle('active', r.id === id);
    this.active = id;
    room.unread = false;
    room.tab.classList.remove('unread');
    replace(this.area, room.pane);
    room.messagesEl.scrollTop = room.messagesEl.scrollHeight;
    room.compose.focus();
  }

  dropRoom(id) {
    const room = this.rooms.get(id);
    if (!room) return;
    room.tab.remove();
    this.rooms.delete(id);
    if (this.active === id) {
      this.active = null;
      const next = this.rooms.keys().next();
      if (!next.done) this.select(next.value);
      else replace(this.area, this.placeholder);
    }
    this.tabsEmpty.hidden = this.rooms.size > 0;
  }
}
