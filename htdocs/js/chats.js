// SPDX-License-Identifier: MIT
// chats.js: the agent's live desk as the agent sees it: waiting requests (accept / decline, sound
// and title badge), the agent's chats (several at once, history with "load earlier" and earlier
// chats set apart by dated dividers, live messages, the customer's typing state, compose box with
// /shortcut canned responses and the 4000-character count, refused messages to edit or resend,
// End) over the /ws/agent websocket (what it shows: docs/dashboard.md). What the desk knows
// (messages once each and in order, the floor a resume asks from, the outbox and its re-sends,
// requests under way) is chat-state.js; this file draws it and turns clicks into its calls.

import { el, replace, clock, duration, dateTime, charCount, toast } from './dom.js';
import { Socket, sameOriginUrl } from './ws.js';
import { DeskState, MAX_TEXT } from './chat-state.js';
import { setWaiting } from './notify.js';
import { Suggester } from './canned.js';
import { api } from './api.js';

const TYPING_IDLE_MS = 3000;
/** The compose box shows its count from this many characters on. */
const COUNT_FROM = MAX_TEXT - 500;

/** One chat on screen: its tab, its pane of messages and its compose box; `state` is its RoomState. */
class Room {
  constructor(desk, state) {
    this.desk = desk;
    this.state = state;
    this.id = state.id;
    this.nodes = new Map();     // message -> its element
    this.pending = new Map();   // client id -> element of a message not acknowledged (or failed)
    this.dividers = new Map();  // room id -> its divider, once an earlier chat of the customer shows
    this.unread = false;
    this.typingTimer = null;
    this.myTypingSent = 0;
    this.build();
  }

  get customer() {
    return this.state.info.customer_name || 'Customer';
  }

  /** The floor resume asks from (tests read it). */
  get floor() {
    return this.state.floor;
  }

  get ended() {
    return this.state.ended;
  }

  build() {
    const d = this.desk;
    const info = this.state.info;
    this.tab = el('div', { class: 'chat-tab', testid: 'chat-tab', dataset: { roomId: this.id }, onclick: () => d.select(this.id) },
      this.tabName = el('span', { class: 'name' }, this.customer),
      this.tabSub = el('span', { class: 'sub' }, info.channel));
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
        el('span', { class: 'muted', testid: 'chat-channel' }, info.channel),
        el('span', { class: 'spacer' }),
        this.endBtn),
      this.messagesEl, this.typingEl, this.composeBar, this.endedNote);
  }

  /** The room resource changed (hello, accepted): names, and the end if it closed. */
  update(info) {
    this.state.update(info);
    this.tabName.textContent = this.customer;
    this.headName.textContent = this.customer;
    if (this.state.info.status === 'closed') this.markEnded();
  }

  /** Adds messages to the state and draws those that were new. Returns how many were. */
  addMessages(messages) {
    const added = this.state.add(messages);
    for (const m of added) this.insert(m);
    return added.length;
  }

  /** Draws m at its place in the state's order (before the next message already drawn). */
  insert(m) {
    const list = this.state.list;
    let next = null;
    for (let i = list.indexOf(m) + 1; i < list.length && !next; i += 1) next = this.nodes.get(list[i]) || null;
    const node = this.renderMessage(m);
    const stick = this.messagesEl.scrollHeight - this.messagesEl.scrollTop - this.messagesEl.clientHeight < 60;
    if (next) this.messagesEl.insertBefore(node, next);
    else this.messagesEl.appendChild(node);
    this.nodes.set(m, node);
    this.placeDividers();
    if (!next && stick) this.messagesEl.scrollTop = this.messagesEl.scrollHeight;
  }

  /**
   * Once an earlier chat of the customer shows (accepted.history spans their rooms), each chat
   * gets a divider before its first message: "Earlier chat · <date>" and "This chat · <date>".
   */
  placeDividers() {
    const list = this.state.list;
    if (list.every((m) => m.room_id === this.id)) return;
    let prev = null;
    for (const m of list) {
      const rid = m.room_id;
      const node = this.nodes.get(m);
      if (rid === prev || !node) continue;
      prev = rid;
      let divider = this.dividers.get(rid);
      if (!divider) {
        divider = el('div', { class: 'room-divider', testid: 'room-divider', dataset: { roomId: rid } });
        this.dividers.set(rid, divider);
      }
      const when = rid === this.id ? this.state.info.created_at : m.ts;
      divider.textContent = `${rid === this.id ? 'This chat' : 'Earlier chat'} · ${dateTime(when)}`;
      if (node.previousSibling !== divider) this.messagesEl.insertBefore(divider, node);
    }
  }

  renderMessage(m) {
    const sender = m.sender === 'agent' || m.sender === 'customer' ? m.sender : 'system';
    const who = sender === 'system' ? '' : (m.author || (sender === 'customer' ? this.customer : this.desk.agentName));
    const earlier = m.room_id !== this.id;
    // textContent only (through el()): a message is never markup.
    return el('div', {
      class: `msg msg-${sender}${earlier ? ' earlier-room' : ''}`,
      testid: 'message',
      dataset: { sender, seq: m.seq === undefined ? '' : String(m.seq), id: m.id, roomId: m.room_id },
    },
    el('span', { class: 'meta' }, [who, clock(m.ts)].filter(Boolean).join(' · ')),
    el('span', { class: 'text', testid: 'message-text' }, m.text));
  }

  setHasEarlier(flag) {
    this.state.hasEarlier = !!flag;
    this.earlierBtn.hidden = !this.state.hasEarlier;
  }

  loadEarlier() {
    const oldest = this.state.oldestSeq();
    const frame = { type: 'history', room_id: this.id, limit: this.desk.state.historyLimit };
    if (oldest) frame.before_seq = oldest;
    if (this.desk.request(frame)) this.earlierBtn.disabled = true;
  }

  /** A notice that is not a stored message (e.g. the agent's closing text). */
  addSystem(text, tag) {
    for (const m of this.state.notice(text, tag)) this.insert(m);
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
   * Sends text as a new message. It shows at once as pending until the server's ack (with the
   * stored message) replaces it, or its refusal marks it failed; the state sends a chat's messages
   * one at a time in the order typed, and re-sends the unacknowledged one with the same id after a
   * reconnect, which the server stores only once.
   */
  post(text) {
    const id = this.state.post(text);
    const node = el('div', { class: 'msg msg-agent pending', testid: 'message-pending', dataset: { state: 'sending', id } },
      el('span', { class: 'meta' }, 'sending…'),
      el('span', { class: 'text' }, text));
    this.pending.set(id, node);
    this.messagesEl.appendChild(node);
    this.messagesEl.scrollTop = this.messagesEl.scrollHeight;
  }

  /**
   * The server refused message id for good (reason: its error message): it stays in the chat,
   * marked failed, with Edit (back into the compose box) and Resend.
   */
  refused(id, reason) {
    if (!this.state.refuse(id)) return;
    const node = this.pending.get(id);
    node.classList.remove('retrying');
    node.classList.add('failed');
    node.dataset.state = 'failed';
    node.querySelector('.meta').textContent = 'not sent';
    // Under the text, where the eye ends after a long message: why, and what can be done.
    node.appendChild(el('span', { class: 'msg-actions' },
      el('span', { class: 'failure', testid: 'message-failure' }, reason),
      el('button', { class: 'link', testid: 'message-edit', onclick: () => this.editFailed(id) }, 'Edit'),
      el('button', { class: 'link', testid: 'message-resend', onclick: () => this.resendFailed(id) }, 'Resend')));
  }

  takeFailed(id) {
    const text = this.state.takeFailed(id);
    if (text === null) return null;
    this.pending.get(id).remove();
    this.pending.delete(id);
    return text;
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
    const node = this.pending.get(id);
    if (node && this.state.outbox.has(id)) {
      node.remove();
      this.pending.delete(id);
    }
    for (const m of this.state.acked(id, message)) this.insert(m);
  }

  /** Message id is sent again later (chat-state decides when): it says so meanwhile. */
  retrying(id) {
    const node = this.pending.get(id);
    node.classList.add('retrying');
    node.dataset.state = 'retrying';
    node.querySelector('.meta').textContent = 'not sent yet — retrying';
  }

  end() {
    if (this.ended) return;
    if (!confirm(`End the chat with ${this.customer}?`)) return;
    this.desk.request({ type: 'end', room_id: this.id });
  }

  markEnded() {
    const lost = this.state.end();
    if (!lost) return;
    this.tab.classList.add('ended');
    this.tabSub.textContent = 'ended';
    this.composeBar.hidden = true;
    this.endBtn.hidden = true;
    this.endedNote.hidden = false;
    this.setTyping(false);
    this.pane.dataset.ended = 'true';
    for (const id of lost) {
      const node = this.pending.get(id);
      node.classList.remove('retrying');
      node.dataset.state = 'failed';
      node.querySelector('.meta').textContent = 'not sent: the chat has ended';
    }
  }
}

export class ChatDesk {
  constructor({ user, permissions, canned, onConnState }) {
    this.user = user;
    this.permissions = permissions;
    this.canned = canned;
    this.onConnState = onConnState;
    this.requestEls = new Map();   // room id -> {el, waitEl, firstEl, acceptBtn}
    this.rooms = new Map();        // room id -> Room
    this.active = null;
    this.everOpen = false;
    this.build();
    this.socket = new Socket(sameOriginUrl('/ws/agent'), {
      onFrame: (f) => this.onFrame(f),
      onState: (s, d) => this.onState(s, d),
    }, { finalCodes: [4401, 4403] });   // the session is gone / the user may not chat: retrying cannot help
    this.state = new DeskState((frame) => this.socket.send(frame));
    this.ticker = setInterval(() => this.tick(), 1000);
  }

  get agentName() {
    return this.user.display_name || this.user.username;
  }

  /** The waiting requests listed: room id -> room summary (tests read it). */
  get requests() {
    return this.state.requests;
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

  /** Sends a request frame (with a ref, kept until answered); says so when not connected. */
  request(frame) {
    const ref = this.state.request(frame);
    if (!ref) toast('Not connected: try again when the connection is back.', 'error');
    return ref;
  }

  /* ------------------------------------------------------ protocol */
  // docs/websocket.md, /ws/agent. The server speaks first (hello); frames before it get not_ready,
  // so the resync (resume) is sent from onHello, not from the socket's open event.

  onFrame(f) {
    switch (f.type) {
      case 'hello': this.onHello(f); break;
      case 'request_offered': this.addRequest(f.room); break;
      // The customer's first message arrived after the offer (docs/websocket.md).
      case 'request_updated': this.addRequest(f.room); break;
      case 'request_withdrawn':
        if (f.ref) this.state.answered(f.ref);
        this.removeRequest(f.room_id);
        break;
      case 'accepted': this.onAccepted(f); break;
      case 'already_taken': this.onAlreadyTaken(f); break;
      case 'ack': this.rooms.get(f.room_id)?.acked(f.id, f.message); break;
      case 'message': this.onMessage(f.message); break;
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
    this.state.historyLimit = f.settings.history_limit;
    this.user = { ...this.user, ...f.user };
    // Requests: the server's list is the truth after a (re)connect.
    for (const id of this.state.staleRequests(f.requests)) this.removeRequest(id);
    for (const r of f.requests) this.addRequest(r);
    // Rooms still ours: resumed from their floor (0 after a page reload); those we hold that the
    // server no longer gives us ended while we were away.
    for (const r of f.rooms) this.ensureRoom(r, false);
    for (const gone of this.state.goneRooms(f.rooms)) {
      const room = this.rooms.get(gone.id);
      room.addSystem('The chat ended while you were disconnected.', 'gone');
      room.markEnded();
    }
    this.state.resync(f.rooms);
    if (this.onConnState) this.onConnState('open');
  }

  onResumed(f) {
    const added = this.state.resumed(f);
    const room = this.rooms.get(f.room_id);
    if (!room || !added) return;
    for (const m of added) room.insert(m);
    room.setHasEarlier(room.state.hasEarlier);
  }

  /** Adds a waiting request, or updates it (request_updated: its first message arrived). */
  addRequest(room) {
    const id = room.id;
    const change = this.state.offer(room);
    if (change === 'updated') {
      if (room.first_message) this.requestEls.get(id).firstEl.textContent = room.first_message;
      return;
    }
    if (change !== 'added') return;
    const waitEl = el('span', { class: 'waiting', testid: 'request-waiting' }, '');
    const firstEl = el('p', { class: 'first', testid: 'request-first-message' }, room.first_message || '');
    const acceptBtn = el('button', { class: 'primary', testid: 'accept', onclick: () => this.accept(id) }, 'Accept');
    const declineBtn = el('button', { testid: 'decline', onclick: () => this.decline(id) }, 'Decline');
    const node = el('div', { class: 'request', testid: 'request', dataset: { roomId: id } },
      el('div', { class: 'line1' },
        el('span', { class: 'name', testid: 'request-customer' }, room.customer_name || room.customer_id),
        el('span', { class: 'channel', testid: 'request-channel' }, room.channel)),
      firstEl, waitEl,
      el('div', { class: 'buttons' }, acceptBtn, declineBtn));
    this.requestEls.set(id, { el: node, waitEl, firstEl, acceptBtn });
    this.requestsEl.appendChild(node);
    this.refreshRequests();
  }

  removeRequest(id) {
    this.state.withdraw(id);
    const req = this.requestEls.get(id);
    if (!req) return;
    req.el.remove();
    this.requestEls.delete(id);
    this.refreshRequests();
  }

  refreshRequests() {
    const n = this.requestEls.size;
    this.requestCount.textContent = String(n);
    this.requestsEmpty.hidden = n > 0;
    setWaiting(n);
    this.tick();
  }

  tick() {
    const now = Date.now();
    for (const [id, req] of this.requestEls) {
      req.waitEl.textContent = `waiting ${duration(now - this.state.requests.get(id).created_at)}`;
    }
  }

  accept(id) {
    const req = this.requestEls.get(id);
    if (req) req.acceptBtn.disabled = true;
    if (!this.request({ type: 'accept', room_id: id }) && req) req.acceptBtn.disabled = false;
  }

  decline(id) {
    if (!this.state.decline(id)) {
      toast('Not connected: try again when the connection is back.', 'error');
      return;
    }
    this.removeRequest(id);
  }

  /** The Room for a room resource, created (with its tab) when new. */
  ensureRoom(info, focus) {
    this.removeRequest(info.id);
    const { room: state, added } = this.state.room(info);
    let room = this.rooms.get(info.id);
    if (!added) {
      room.update(info);
      return room;
    }
    room = new Room(this, state);
    this.rooms.set(info.id, room);
    this.tabsEl.appendChild(room.tab);
    this.tabsEmpty.hidden = true;
    if (focus || !this.active) this.select(info.id);
    return room;
  }

  onAccepted(f) {
    this.state.answered(f.ref);
    const room = this.ensureRoom(f.room, true);
    room.state.startFloor(f.history);
    room.addMessages(f.history);
    room.setHasEarlier(room.state.oldestSeq() > 1 || f.history.length >= this.state.historyLimit);
  }

  onAlreadyTaken(f) {
    this.state.answered(f.ref);
    this.removeRequest(f.room_id);
    toast('Another agent already took this chat.', 'error');
  }

  onHistory(f) {
    this.state.answered(f.ref);
    const room = this.rooms.get(f.room_id);
    if (!room) return;
    room.addMessages(f.messages);
    room.setHasEarlier(f.has_more);
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
    if (f.ref) this.state.answered(f.ref);
    this.removeRequest(f.room_id);
    const room = this.rooms.get(f.room_id);
    if (!room) return;
    room.addSystem(f.text, 'ended');
    room.markEnded();
  }

  onError(f) {
    const retry = this.state.retry(f);
    if (retry) {
      if (retry.message) this.rooms.get(retry.message.room.id).retrying(retry.message.id);
      return;
    }
    const about = f.code === 'unauthorized' ? null : this.state.messageOf(f);
    if (about) {
      // Refused for good (too long, room no longer ours ...): the message says so, not a toast.
      this.rooms.get(about.room.id).refused(about.id, f.message);
      return;
    }
    const pending = f.ref ? this.state.answered(f.ref) : undefined;
    if (f.code === 'unauthorized') {
      // The session is gone: the socket will be closed with 4401; app.js's API check logs out.
      this.socket.stop();
      api.me().catch(() => {});
      return;
    }
    if (pending && pending.type === 'accept') {
      this.removeRequest(pending.room_id);
      toast(f.message, 'error');
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
    toast(f.message, 'error');
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
    this.state.drop(id);
    if (this.active === id) {
      this.active = null;
      const next = this.rooms.keys().next();
      if (!next.done) this.select(next.value);
      else replace(this.area, this.placeholder);
    }
    this.tabsEmpty.hidden = this.rooms.size > 0;
  }
}
