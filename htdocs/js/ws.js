// SPDX-License-Identifier: MIT
// ws.js: the websocket of the dashboard (/ws/agent) and of the widget (/ws/widget), which comes
// back by itself: it reconnects with exponential backoff (0.5 s doubling to 15 s, with jitter)
// until stop(), parses each JSON frame, and reports its state so the page can say when it is
// down. backoff() is also how both re-send a frame the server could not take at that moment.
// No DOM here: the widget imports this module on other sites' pages, node:test imports it too.

/** The attempt-th delay in ms (attempt 0, 1, 2 ...): `first`, doubling, at most `cap`. */
export function backoff(attempt, first, cap) {
  return Math.min(cap, first * 2 ** attempt);
}

/** Between half and all of ms, so that clients dropped together do not all return together. */
export function jitter(ms, random = Math.random) {
  return ms / 2 + random() * (ms / 2);
}

/** ws://host/path (wss: under https:) on the page's own origin. */
export function sameOriginUrl(path) {
  return `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}${path}`;
}

export class Socket {
  /**
   * url: the websocket's URL. handlers: onFrame(obj), onState('connecting'|'open'|'down'|
   * 'refused'|'closed', detail), optionally onOpen(), called on every (re)connect. Options:
   * finalCodes, the close codes after which retrying cannot help (the state becomes 'refused');
   * resetOnOpen (default true): the backoff starts over when a connection opens; false: only
   * when the owner calls healthy() (e.g. once the server greeted it).
   */
  constructor(url, handlers, { finalCodes = [], resetOnOpen = true } = {}) {
    this.urlValue = url;
    this.handlers = handlers;
    this.finalCodes = finalCodes;
    this.resetOnOpen = resetOnOpen;
    this.ws = null;
    this.stopped = true;
    this.paused = false;
    this.attempt = 0;
    this.timer = null;
    this.state = 'closed';
  }

  /** Connects, unless already started. */
  start() {
    if (!this.stopped) return;
    this.stopped = false;
    this.connect();
  }

  /** Closes for good (1000, reason) until the next start(). */
  stop(reason = 'logout') {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.onclose = null;
      ws.close(1000, reason);
    }
    this.setState('closed');
  }

  /** The connection works (the server answered): the next loss starts the backoff over. */
  healthy() {
    this.attempt = 0;
  }

  setState(state, detail) {
    this.state = state;
    if (this.handlers.onState) this.handlers.onState(state, detail);
  }

  connect() {
    if (this.stopped) return;
    this.setState('connecting');
    let ws;
    try {
      ws = new WebSocket(this.urlValue);
    } catch (e) {
      this.scheduleReconnect(String(e));
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      if (ws !== this.ws) return;
      if (this.resetOnOpen) this.healthy();
      this.setState('open');
      if (this.handlers.onOpen) this.handlers.onOpen();
    };
    ws.onmessage = (ev) => {
      if (ws !== this.ws) return;
      let frame;
      try {
        frame = JSON.parse(ev.data);
      } catch (e) {
        console.warn('livechat: a frame that is not JSON', ev.data);
        return;
      }
      this.handlers.onFrame(frame);
    };
    ws.onclose = (ev) => {
      if (ws !== this.ws) return;
      this.ws = null;
      if (this.finalCodes.includes(ev.code)) {
        this.stopped = true;
        this.setState('refused', { reason: ev.reason, code: ev.code });
        return;
      }
      this.scheduleReconnect(ev.reason || `code ${ev.code}`, ev.code);
    };
    ws.onerror = () => {
      // onclose follows and schedules the reconnect
    };
  }

  scheduleReconnect(reason, code) {
    if (this.stopped) return;
    this.setState('down', { reason, code });
    if (this.paused) return;
    const delay = jitter(backoff(this.attempt, 500, 15000));
    this.attempt += 1;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), delay);
  }

  /** Sends obj as JSON. Returns false when the socket is not open (the caller tells the user). */
  send(obj) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(obj));
    return true;
  }

  /** Drops the connection and stays down until resume() (tests use it to simulate an outage). */
  pause() {
    this.paused = true;
    clearTimeout(this.timer);
    if (this.ws) this.ws.close(4000, 'paused');
    else this.setState('down', { reason: 'paused' });
  }

  resume() {
    this.paused = false;
    this.attempt = 0;
    if (!this.ws) this.connect();
  }

  /** Closes the current connection so that it reconnects (used by tests and by "retry now"). */
  reconnectNow() {
    this.attempt = 0;
    if (this.ws) this.ws.close(4000, 'reconnect');
    else {
      clearTimeout(this.timer);
      this.connect();
    }
  }
}
