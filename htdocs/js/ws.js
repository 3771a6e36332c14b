// ws.js: the agent's websocket to /ws/agent. Reconnects by itself with exponential backoff
// (0.5 s doubling to 15 s, with jitter) until stop(); reports its state so the page can show a
// banner while it is down. Authentication is the session cookie the browser sends at the handshake.

export class AgentSocket {
  /**
   * handlers: onFrame(obj), onState('connecting'|'open'|'down'|'refused'|'closed', detail), and
   * optionally onOpen(), called on every (re)connect.
   */
  constructor(path, handlers) {
    this.path = path;
    this.handlers = handlers;
    this.ws = null;
    this.stopped = true;
    this.attempt = 0;
    this.timer = null;
    this.state = 'closed';
  }

  url() {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    return `${scheme}//${location.host}${this.path}`;
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.onclose = null;
      ws.close(1000, 'logout');
    }
    this.setState('closed');
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
      ws = new WebSocket(this.url());
    } catch (e) {
      this.scheduleReconnect(String(e));
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      if (ws !== this.ws) return;
      this.attempt = 0;
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
      // 4401: the session is gone; 4403: the user may not use live chat. Retrying cannot help.
      if (ev.code === 4401 || ev.code === 4403) {
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
    const base = Math.min(15000, 500 * 2 ** this.attempt);
    this.attempt += 1;
    const delay = base / 2 + Math.random() * (base / 2);
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
