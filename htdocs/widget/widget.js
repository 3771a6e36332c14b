// SPDX-License-Identifier: MIT
// widget.js: the customer chat widget, an ES module that livechat-widget.js (the script a website
// embeds) loads from the chat server's origin; it shares the dashboard's websocket and backoff
// (../js/ws.js), element builder and character count (../js/dom.js), and the outbox of a chat
// (RoomState of ../js/chat-state.js: one message on the wire at a time, in the order typed).
// A bubble opens a panel that asks the customer's name, requests an agent over /ws/widget
// (docs/websocket.md) and shows the waiting / joined / messages / ended states; a text past the
// server's 4000 characters is kept and a note says so (what it shows: docs/dashboard.md). The
// identity (the secret the server issued) is kept in localStorage, so a reload or a new tab
// continues the same conversation. Everything is drawn in a shadow root (no clash with the host
// page's CSS), and every text is set with textContent: nothing an agent or customer typed is ever
// parsed as markup.
// Options (attributes of the embedding script tag, handed over by livechat-widget.js): data-title,
// data-ws-url (default: /ws/widget on the script's own origin), data-open="true" (start with the
// panel open).
import { Socket } from '../js/ws.js';
import { el as h, charCount } from '../js/dom.js';
import { MAX_TEXT, RoomState } from '../js/chat-state.js';

const STORE_KEY = 'livechat.widget.v1';
// The script tag's options, as livechat-widget.js read them ({src, title, wsUrl, open}).
let options = {};
const opt = (name, dflt) => options[name] || dflt;

function wsUrl() {
  const explicit = opt('wsUrl', '');
  if (explicit) return explicit;
  const base = new URL(opt('src', location.href), location.href);
  base.protocol = base.protocol === 'https:' ? 'wss:' : 'ws:';
  base.pathname = '/ws/widget';
  base.search = '';
  base.hash = '';
  return base.toString();
}

function load() {
  try {
    return JSON.parse(localStorage.getItem(STORE_KEY)) || {};
  } catch (e) {
    return {};
  }
}

function save(patch) {
  const next = Object.assign(load(), patch);
  try {
    localStorage.setItem(STORE_KEY, JSON.stringify(next));
  } catch (e) {
    // private mode: the conversation will not survive a reload
  }
  return next;
}

/** A speech-bubble icon drawn as SVG (no font or image needed). */
function bubbleIcon() {
  const NS = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(NS, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('width', '28');
  svg.setAttribute('height', '28');
  svg.setAttribute('aria-hidden', 'true');
  const path = document.createElementNS(NS, 'path');
  path.setAttribute('fill', 'currentColor');
  path.setAttribute('d', 'M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z');
  svg.appendChild(path);
  for (const cx of [7.5, 12, 16.5]) {
    const dot = document.createElementNS(NS, 'circle');
    dot.setAttribute('cx', String(cx));
    dot.setAttribute('cy', '10.5');
    dot.setAttribute('r', '1.5');
    dot.setAttribute('fill', '#2463eb');
    svg.appendChild(dot);
  }
  return svg;
}


class Widget {
  constructor() {
    this.title = opt('title', 'Chat with us');
    this.state = load();
    // Reconnects by itself; the backoff starts over only once the server welcomed us.
    this.socket = new Socket(wsUrl(), {
      onOpen: () => this.hello(),
      onFrame: (f) => this.onFrame(f),
      onState: (state) => this.onSocketState(state),
    }, { resetOnOpen: false });
    this.seen = new Set();        // message ids and "room:seq" already shown
    // hello.last_seq: every seq of the current room up to here is held (docs/websocket.md); not
    // the highest shown, which may have overtaken a lower one lost with a node that died.
    this.floor = 0;
    this.roomId = null;
    this.phase = 'intro';         // intro | connecting | waiting | joined | ended
    this.out = this.newOutbox();
    // request / leave frames sent and not acknowledged yet: re-sent after a reconnect until their
    // ack (or the welcome shows they were done), as docs/websocket.md "When a server is down" asks.
    this.pendingRequest = null;
    this.pendingLeave = null;
    this.firstMessage = null;     // held until the room exists (see request())
    this.welcomed = false;
    this.build();
    if (this.state.secret) this.connect();
    if (this.state.open || opt('open', '') === 'true') this.toggle(true);
  }

  build() {
    this.host = h('div', { id: 'livechat-widget', 'data-testid': 'lc-widget' });
    const root = this.host.attachShadow({ mode: 'open' });
    // The look comes from a file beside this module (no inline style: docs/widget.md, CSP). The
    // widget stays out of sight until it is there, so no unstyled button flashes on the page.
    this.host.hidden = true;
    const show = () => { this.host.hidden = false; };
    root.appendChild(h('link', {
      rel: 'stylesheet', href: new URL('widget.css', import.meta.url).href, onload: show,
      onerror: () => { console.error('livechat: the widget stylesheet could not load'); show(); },
    }));
    this.dot = h('span', { class: 'dot', hidden: true, testid: 'lc-unread' });
    this.bubble = h('button', { class: 'bubble', title: this.title, 'aria-label': this.title, testid: 'lc-bubble', onclick: () => this.toggle() }, bubbleIcon(), this.dot);
    this.agentLine = h('span', { class: 'sub', testid: 'lc-agent' }, 'We usually answer within minutes');
    this.leaveBtn = h('button', { testid: 'lc-leave', hidden: true, onclick: () => this.leave() }, 'Leave');
    const head = h('div', { class: 'head' },
      h('span', { class: 'title' }, this.title, this.agentLine),
      this.leaveBtn,
      h('button', { testid: 'lc-minimize', 'aria-label': 'Minimize', onclick: () => this.toggle(false) }, '\u2013'));

    this.nameInput = h('input', { testid: 'lc-name', maxlength: '100', placeholder: 'Your name', autocomplete: 'name' });
    // No maxlength on the texts: a longer paste would be cut without a word. The note under
    // each says how much too long it is, and the button waits until it fits.
    this.firstInput = h('textarea', { testid: 'lc-first-message', rows: '3', placeholder: 'How can we help? (optional)' });
    this.firstNote = h('p', { class: 'note', testid: 'lc-first-note', hidden: true, 'aria-live': 'polite' });
    this.startBtn = h('button', { class: 'primary', type: 'submit', testid: 'lc-start' }, 'Start chat');
    this.introError = h('p', { class: 'intro-error', testid: 'lc-intro-error' });
    this.intro = h('form', { class: 'intro', testid: 'lc-intro' },
      h('p', {}, 'Hello! Tell us your name and an agent will join you.'),
      h('label', {}, 'Name', this.nameInput),
      h('label', {}, 'Message', this.firstInput),
      this.firstNote,
      this.introError,
      this.startBtn);
    this.nameInput.addEventListener('input', () => {
      if (this.nameInput.value.trim()) this.introError.textContent = '';
    });
    this.firstInput.addEventListener('input', () => this.fits(this.firstInput, this.firstNote, this.startBtn));
    this.intro.addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.request();
    });
    if (this.state.name) this.nameInput.value = this.state.name;

    this.list = h('div', { class: 'body', testid: 'lc-messages', 'aria-live': 'polite' });
    // A welcome carries the newest page of a long conversation; older pages come on request.
    this.earlier = h('button', { class: 'earlier', testid: 'lc-earlier', hidden: true, onclick: () => this.loadEarlier() }, 'Earlier messages');
    this.status = h('div', { class: 'status', testid: 'lc-status' });
    this.compose = h('textarea', { rows: '1', placeholder: 'Write a message…', testid: 'lc-compose' });
    this.composeNote = h('p', { class: 'note', testid: 'lc-compose-note', hidden: true, 'aria-live': 'polite' });
    this.sendBtn = h('button', { class: 'primary', testid: 'lc-send', onclick: () => this.sendMessage() }, 'Send');
    this.compose.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
        ev.preventDefault();
        this.sendMessage();
      }
    });
    this.compose.addEventListener('input', () => {
      this.typing(this.compose.value.trim().length > 0);
      this.fits(this.compose, this.composeNote, this.sendBtn);
    });
    this.composeBar = h('div', {}, h('div', { class: 'compose' }, this.compose, this.sendBtn), this.composeNote);
    this.newChatBtn = h('button', { class: 'primary', testid: 'lc-new-chat', onclick: () => this.newChat() }, 'Start a new chat');
    this.endedBar = h('div', { class: 'ended', testid: 'lc-ended', hidden: true },
      h('span', {}, 'This conversation has ended.'), this.newChatBtn);
    this.chat = h('div', { class: 'chat' },
      this.earlier, this.list, this.status, this.composeBar, this.endedBar);
    this.panel = h('div', { class: 'panel', role: 'dialog', 'aria-label': this.title, testid: 'lc-panel', hidden: true }, head, this.intro, this.chat);
    root.appendChild(this.panel);
    root.appendChild(this.bubble);
    document.body.appendChild(this.host);
    this.setPhase(this.state.secret ? 'connecting' : 'intro');
  }

  toggle(open) {
    const show = open === undefined ? this.panel.hidden : open;
    this.panel.hidden = !show;
    save({ open: show });
    if (show) {
      this.dot.hidden = true;
      (this.phase === 'intro' ? this.nameInput : this.compose).focus();
    }
  }

  setPhase(phase, detail) {
    this.phase = phase;
    this.host.setAttribute('data-phase', phase);
    this.intro.hidden = phase !== 'intro';
    this.chat.hidden = phase === 'intro';
    this.composeBar.hidden = !(phase === 'waiting' || phase === 'joined');
    this.endedBar.hidden = phase !== 'ended';
    this.leaveBtn.hidden = !(phase === 'waiting' || phase === 'joined');
    if (phase === 'waiting') this.setStatus('Waiting for an agent…');
    else if (phase === 'joined') this.setStatus('');
    else if (phase === 'connecting') this.setStatus('Connecting…');
    else if (phase === 'ended') this.setStatus('');
    this.list.scrollTop = this.list.scrollHeight;
    if (phase === 'joined' && detail) this.agentLine.textContent = `You are chatting with ${detail}`;
    else if (phase !== 'joined') this.agentLine.textContent = phase === 'waiting' ? 'An agent will be with you shortly' : 'We usually answer within minutes';
  }

  setStatus(text, down) {
    this.status.textContent = text;
    // An empty status line is kept while chatting (for "typing…"), hidden otherwise.
    this.status.hidden = !text && this.phase !== 'joined' && this.phase !== 'waiting';
    this.status.className = down ? 'status down' : 'status';
    this.status.setAttribute('data-state', down ? 'down' : this.phase);
  }

  /* ---- connection */

  /** The websocket of the moment (tests close it to see the widget come back). */
  get ws() {
    return this.socket.ws;
  }

  connect() {
    this.socket.start();
  }

  hello() {
    const hello = { type: 'hello' };
    if (this.state.secret) hello.secret = this.state.secret;
    if (this.floor) hello.last_seq = this.floor;
    this.socket.send(hello);
  }

  onSocketState(state) {
    if (state !== 'connecting' && state !== 'down') return;
    this.welcomed = false;
    if (state === 'down' && this.phase !== 'intro') this.setStatus('Connection lost, reconnecting…', true);
  }

  send(frame) {
    return this.welcomed && this.socket.send(frame);
  }

  /** Resolves once welcomed (connecting if needed). */
  ready() {
    if (this.welcomed) return Promise.resolve();
    this.connect();
    return new Promise((resolve) => {
      this.onWelcomed = resolve;
    });
  }

  onFrame(f) {
    switch (f.type) {
      case 'welcome': this.onWelcome(f); break;
      case 'history': this.onHistory(f); break;
      case 'waiting':
        this.roomId = f.room_id;
        this.add({ id: f.id, room_id: f.room_id, seq: f.seq, sender: 'system', text: f.text });
        if (this.phase !== 'joined') this.setPhase('waiting');
        this.releaseFirstMessage();
        break;
      case 'joined':
        this.roomId = f.room_id;
        this.add({ id: f.id, room_id: f.room_id, seq: f.seq, sender: 'system', text: f.text });
        // Kept in the state too: the typing line names the agent from it.
        this.state = save({ agent: f.agent_name });
        this.setPhase('joined', f.agent_name);
        this.releaseFirstMessage();
        break;
      case 'message': {
        const m = { room_id: f.room_id, ...f.message };
        if (this.add(m) && m.sender !== 'customer') {
          this.agentTyping(false);
          if (this.panel.hidden) this.dot.hidden = false;
        }
        break;
      }
      case 'typing': this.agentTyping(!!f.state); break;
      case 'ended':
        this.add({ id: f.id, room_id: f.room_id, seq: f.seq, sender: 'system',
          text: f.reason === 'customer_left' ? 'You left the chat.' : f.text });
        this.ended();
        break;
      case 'ack': this.onAck(f); break;
      case 'error': this.onError(f); break;
      default: break;
    }
  }

  onWelcome(f) {
    this.welcomed = true;
    this.socket.healthy();
    this.state = save({ secret: f.secret, customer_id: f.customer_id });
    const room = f.room;
    if (room && room.id !== this.roomId) {
      this.roomId = room.id;
      this.floor = 0;
    }
    this.showPage(f, room && room.id, null);
    // What lies below the page comes by "Earlier messages", so the floor starts at the page.
    if (f.has_more && f.messages.length) this.floor = Math.max(this.floor, f.messages[0].seq - 1);
    while (this.roomId && this.seen.has(`${this.roomId}:${this.floor + 1}`)) this.floor += 1;
    if (room && room.status === 'engaged') {
      if (room.agent_name) this.state = save({ agent: room.agent_name });
      this.setPhase('joined', room.agent_name);
    }
    else if (room && room.status === 'waiting') this.setPhase('waiting');
    else if (this.phase === 'waiting' || this.phase === 'joined') this.ended();
    else if (this.phase === 'connecting') this.setPhase(this.list.childElementCount ? 'ended' : 'intro');
    else this.setStatus('');
    if (room) this.pendingRequest = null;
    else this.pendingLeave = null;
    if (this.pendingRequest) this.send(this.pendingRequest);
    if (this.pendingLeave) this.send(this.pendingLeave);
    this.out.flush();
    if (this.onWelcomed) {
      const cb = this.onWelcomed;
      this.onWelcomed = null;
      cb();
    }
  }

  onAck(f) {
    if (f.ref === 'request') this.pendingRequest = null;
    if (f.ref === 'leave') this.pendingLeave = null;
    if (f.id && this.out.settle(f.id)) {
      const node = this.list.querySelector(`[data-client-id="${f.id}"]`);
      if (node) node.classList.remove('pending');
    }
  }

  /** Shows a page of messages (oldest first) above anchor (null: at the end), and offers the
   * page below it while the server has more (has_more). */
  showPage(f, roomId, anchor) {
    const prev = anchor ? anchor.previousElementSibling : this.list.lastElementChild;
    for (const m of f.messages) this.add({ room_id: roomId, ...m }, undefined, anchor);
    if (f.messages.length) {
      this.before = f.messages[0].seq;
      this.anchor = prev ? prev.nextElementSibling : this.list.firstElementChild;
    }
    this.earlier.hidden = !f.has_more || !f.messages.length;
    this.earlier.disabled = false;
  }

  loadEarlier() {
    this.earlier.disabled = true;
    this.send({ type: 'history', before_seq: this.before, ref: 'earlier' });
  }

  onHistory(f) {
    if (f.room_id && f.room_id === this.roomId) this.showPage(f, f.room_id, this.anchor);
    else this.earlier.hidden = true;
  }

  onError(f) {
    if (f.ref === 'earlier') this.earlier.disabled = false;
    if (f.code === 'validation_failed' && /secret/.test(f.message)) {
      // A secret the server does not accept: start over as a new customer.
      this.state = save({ secret: null, customer_id: null });
      if (this.ws) this.ws.close();
      return;
    }
    // Not taken this time (RabbitMQ did not confirm it, or sent faster than the server takes
    // them): the same frame (same id, stored once) again, 1 s doubling to 2 s; the messages typed
    // after it wait for its ack, so none overtakes it.
    if ((f.code === 'unavailable' || f.code === 'rate_limited') && f.id && this.out.retryLater(f.id)) return;
    // Refused for good: the next one goes out.
    if (f.id) this.out.refuse(f.id);
    this.setStatus(f.message, true);
  }

  /** The messages typed and not acknowledged yet, in the order typed (tests read its size). */
  get outbox() {
    return this.out.outbox;
  }

  /** A new chat's outbox; what it sends goes out as the widget's message frame. */
  newOutbox() {
    return new RoomState({ id: null }, (frame) => this.send(this.wire(frame)));
  }

  /* ---- conversation */

  async request() {
    const name = this.nameInput.value.trim();
    if (!name) {
      this.introError.textContent = 'Please tell us your name.';
      this.nameInput.focus();
      return;
    }
    if (!this.fits(this.firstInput, this.firstNote, this.startBtn)) {
      this.firstInput.focus();
      return;
    }
    this.introError.textContent = '';
    this.startBtn.disabled = true;
    this.pendingLeave = null;
    this.out = this.newOutbox();
    save({ name });
    this.list.replaceChildren();
    this.earlier.hidden = true;
    this.seen.clear();
    this.floor = 0;
    this.roomId = null;
    this.setPhase('connecting');
    await this.ready();
    const first = this.firstInput.value.trim();
    this.firstInput.value = '';
    this.fits(this.firstInput, this.firstNote, this.startBtn);
    // The first message waits for the room to exist ("waiting"), so it is stored in the room
    // the request opened (the two could otherwise be taken by different nodes in either order).
    if (first) this.firstMessage = first;
    this.pendingRequest = { type: 'request', name, ref: 'request' };
    this.send(this.pendingRequest);
    this.setPhase('waiting');
    clearTimeout(this.firstTimer);
    this.firstTimer = setTimeout(() => this.releaseFirstMessage(), 5000);
  }

  releaseFirstMessage() {
    clearTimeout(this.firstTimer);
    if (!this.firstMessage) return;
    const text = this.firstMessage;
    this.firstMessage = null;
    this.postMessage(text);
  }

  /** Sends the compose box; a blank one is only cleared (and "typing" ended). */
  sendMessage() {
    const text = this.compose.value.trim();
    if (text && !this.fits(this.compose, this.composeNote, this.sendBtn)) return;
    this.compose.value = '';
    this.fits(this.compose, this.composeNote, this.sendBtn);
    this.typing(false);
    if (text) this.postMessage(text);
  }

  /**
   * Whether textarea's text fits the server's limit; the note under it says by how much it
   * does not, and button waits until it does.
   */
  fits(textarea, note, button) {
    const n = charCount(textarea.value.trim());
    const ok = n <= MAX_TEXT;
    note.textContent = ok ? '' : `${n} / ${MAX_TEXT} characters: too long to send. Please shorten it.`;
    note.hidden = ok;
    button.disabled = !ok;
    return ok;
  }

  /** Shown at once (pending until acked); sent when the messages typed before it are acked. */
  postMessage(text) {
    const id = this.out.post(text);   // its ack comes later, from the loop
    this.add({ id: `${this.state.customer_id}-${id}`, sender: 'customer', author: this.state.name, text }, id);
  }

  /** An outbox entry as the widget sends it (the dashboard's carries its room and a ref). */
  wire(frame) {
    return { type: frame.type, id: frame.id, text: frame.text };
  }

  typing(state) {
    const now = Date.now();
    if (state && now - (this.typingSent || 0) < 3000) return;
    this.typingSent = state ? now : 0;
    this.send({ type: 'typing', state });
  }

  agentTyping(on) {
    clearTimeout(this.typingTimer);
    if (this.phase !== 'joined') return;
    this.setStatus(on ? `${this.state.agent || 'The agent'} is typing…` : '');
    if (on) this.typingTimer = setTimeout(() => this.setStatus(''), 15000);
  }

  leave() {
    if (!confirm('Leave this chat?')) return;
    this.pendingLeave = { type: 'leave', ref: 'leave' };
    this.send(this.pendingLeave);
    this.ended();
  }

  ended() {
    this.setPhase('ended');
    this.out.end();
    this.firstMessage = null;
  }

  newChat() {
    this.setPhase('intro');
    this.nameInput.focus();
  }

  /** Shows m unless already shown (by id or by room+seq), at the end or above older (a page of
   * earlier messages). Returns true when it was new. */
  add(m, clientId, older = null) {
    const seqKey = typeof m.seq === 'number' && m.room_id ? `${m.room_id}:${m.seq}` : null;
    const shown = (m.id && this.seen.has(m.id)) || (seqKey && this.seen.has(seqKey));
    // The customer's own messages are shown when sent and learn their seq only from a welcome.
    if (m.id) this.seen.add(m.id);
    if (seqKey) this.seen.add(seqKey);
    while (this.roomId && this.seen.has(`${this.roomId}:${this.floor + 1}`)) this.floor += 1;
    if (shown) return false;
    if (typeof m.text !== 'string' || m.text === '') return true;
    const sender = m.sender === 'customer' || m.sender === 'agent' ? m.sender : 'system';
    const who = sender === 'agent' ? m.author || 'Agent' : sender === 'customer' ? 'You' : '';
    const node = h('div', { class: `msg msg-${sender}${clientId ? ' pending' : ''}`, testid: 'lc-message', 'data-sender': sender, 'data-client-id': clientId },
      who ? h('span', { class: 'who' }, who) : null,
      h('span', { class: 'text' }, m.text));
    if (older) {
      this.list.insertBefore(node, older);
      return true;
    }
    this.list.appendChild(node);
    this.list.scrollTop = this.list.scrollHeight;
    return true;
  }
}

/** Shows the widget on this page, once (options: see the top of this file). */
export function start(scriptOptions) {
  if (window.livechatWidget) return;
  options = scriptOptions;
  window.livechatWidget = new Widget();
}
