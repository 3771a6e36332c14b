// SPDX-License-Identifier: MIT
// Issue 11 on the websocket side (docs/security.md, docs/websocket.md "Handshake" and "Common
// rules"): an agent's typing frames are rate limited like the widget's frames; the handshake
// checks Origin (ws_allowed_origins), parses the Cookie header as the API does, refuses an
// oversized one cleanly and never lets `Upgrade: h2c` through; an unmasked client frame closes
// the connection with 1002 (RFC 6455 5.1).
import test from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { Stack, sleep, until } from './harness.mjs';
import { Gateway } from './gateway.mjs';

const S = new Stack('security');
let gw;
let n = 0;

const LISTED = 'https://shop.example';

// Nodes 0 and 1 list a site in ws_allowed_origins; node 2 has the default (empty list).
test.before(async () => {
  await S.start({ nodes: 2, env: { LIVECHAT_WS_ALLOWED_ORIGINS: `${LISTED}, https://other.example` } });
  S.env.LIVECHAT_WS_ALLOWED_ORIGINS = '';
  await S.startNode(2);
  gw = await new Gateway(S.prefix).start();
});
test.after(async () => { await gw?.close(); await S.stop(); });

async function engage(agent) {
  const cust = `cust${++n}`;
  await gw.publish('request_agent', cust, { customer_name: cust.toUpperCase() });
  const w = await gw.waitFor((m) => m.type === 'request_waiting' && m.customer_id === cust);
  await agent.waitFor((f) => f.type === 'request_offered' && f.room.id === w.room_id);
  agent.send({ type: 'accept', room_id: w.room_id });
  await agent.waitFor((f) => f.type === 'accepted' && f.room.id === w.room_id);
  return w.room_id;
}

test('an agent that floods typing frames gets rate_limited beyond the burst, and is served again after a pause', async () => {
  const [u] = S.users(`typ${++n}`, 1, 'agent');
  const a = await S.agent(S.nodes[0], u);
  const rid = await engage(a);
  for (let i = 0; i < 60; i++) a.send({ type: 'typing', room_id: rid, state: i % 2 === 0, ref: `t${i}` });
  a.send({ type: 'ping', ref: 'after' });
  await a.waitFor((f) => f.ref === 'after', 'answer to the ping');
  const limited = a.all((f) => f.type === 'error' && f.code === 'rate_limited' && /^t\d+$/.test(f.ref));
  assert.ok(limited.length >= 25, `rate_limited: ${limited.length}`);
  assert.ok(limited.every((f) => f.room_id === rid), 'the error names the room');
  await sleep(1000);
  const published = gw.received.filter((m) => m.type === 'agent_typing' && m.room_id === rid).length;
  assert.equal(published, 60 - limited.length, 'only the frames within the limit were forwarded');
  await sleep(1500);
  a.send({ type: 'typing', room_id: rid, state: true, ref: 'calm' });
  await gw.waitFor((m) => m.type === 'agent_typing' && m.room_id === rid &&
                   gw.received.filter((x) => x.type === 'agent_typing' && x.room_id === rid).length === published + 1);
  assert.equal(a.find((f) => f.ref === 'calm'), undefined, 'typing has no answer when it is served');
  assert.equal(S.nodes[0].exited, null);
});

const own = (node) => `http://127.0.0.1:${node.port}`;

// The status of the upgrade (101 when it opened), or 0 when refused without an answer.
async function upgradeStatus(node, p, headers) {
  try {
    const c = await S.connect(node, p, headers);
    c.close();
    return 101;
  } catch (e) {
    const m = /HTTP (\d+)/.exec(e.message);
    return m ? Number(m[1]) : 0;
  }
}

// A request written as is; the status line of the answer ('' when the connection just closed).
function raw(node, head) {
  return new Promise((resolve) => {
    const s = net.connect(node.port, '127.0.0.1');
    let out = '';
    s.on('data', (d) => { out += d.toString('latin1'); });
    s.on('close', () => resolve(out.split('\r\n')[0]));
    s.on('error', () => {});
    s.write(head + '\r\n');
    setTimeout(() => s.destroy(), 2000);
  });
}

const upgrade = (p, more) => `GET ${p} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n' +
  `Sec-WebSocket-Protocol: livechat\r\n${more}`;

test('/ws/agent opens from its own origin, a listed one or none, and is refused 403 from any other', async () => {
  const [u] = S.users(`org${++n}`, 1, 'agent');
  const auth = { Authorization: `Bearer ${u.token}` };
  for (const node of S.nodes) {
    assert.equal(await upgradeStatus(node, '/ws/agent', { ...auth, Origin: own(node) }), 101);
    assert.equal(await upgradeStatus(node, '/ws/agent', { ...auth, Origin: 'http://evil.example' }), 403);
    assert.equal(await upgradeStatus(node, '/ws/agent', { ...auth, Origin: `http://127.0.0.1:${node.port + 1}` }), 403);
    assert.equal(await upgradeStatus(node, '/ws/agent', { ...auth, Origin: 'null' }), 403);
    assert.equal(await upgradeStatus(node, '/ws/agent', auth), 101);
  }
  assert.equal(await upgradeStatus(S.nodes[0], '/ws/agent', { ...auth, Origin: LISTED }), 101);
  assert.equal(await upgradeStatus(S.nodes[2], '/ws/agent', { ...auth, Origin: LISTED }), 403);
  // Refused before the credentials are looked at.
  assert.equal(await upgradeStatus(S.nodes[0], '/ws/agent', { Origin: 'http://evil.example' }), 403);
});

test('/ws/widget opens from any site by default, and only from listed sites (or its own) when there is a list', async () => {
  assert.equal(await upgradeStatus(S.nodes[2], '/ws/widget', { Origin: 'http://any.example' }), 101);
  assert.equal(await upgradeStatus(S.nodes[0], '/ws/widget', { Origin: 'http://any.example' }), 403);
  assert.equal(await upgradeStatus(S.nodes[0], '/ws/widget', { Origin: LISTED }), 101);
  assert.equal(await upgradeStatus(S.nodes[0], '/ws/widget', { Origin: 'HTTPS://OTHER.EXAMPLE' }), 101);
  assert.equal(await upgradeStatus(S.nodes[0], '/ws/widget', { Origin: own(S.nodes[0]) }), 101);
  assert.equal(await upgradeStatus(S.nodes[0], '/ws/widget', { Origin: `${LISTED}.evil` }), 403);
});

test('the session cookie is read as the API reads it: a quoted value works', async () => {
  const [u] = S.users(`ck${++n}`, 1, 'agent');
  for (const cookie of [`lc_session="${u.token}"`, `theme=dark; lc_session=${u.token}`, ` lc_session = ${u.token} ;x=1`]) {
    const c = await S.connect(S.nodes[0], '/ws/agent', { Cookie: cookie });
    const h = await c.waitFor((f) => f.type === 'hello' || f.type === 'error', `hello with ${cookie}`);
    assert.equal(h.type, 'hello', cookie);
    assert.equal(h.user.username, u.username);
    c.close();
  }
});

test('a Cookie header over 4 KB is refused with 400, on both endpoints, and the node keeps serving', async () => {
  const big = `pad=${'a'.repeat(5000)}`;
  assert.match(await raw(S.nodes[0], upgrade('/ws/agent', `Cookie: ${big}\r\n`)), /^HTTP\/1\.[01] 400/);
  assert.match(await raw(S.nodes[0], upgrade('/ws/widget', `Cookie: ${big}\r\n`)), /^HTTP\/1\.[01] 400/);
  // At the limit it is read.
  const [u] = S.users(`ckb${++n}`, 1, 'agent');
  const at = `pad=${'a'.repeat(4096 - 4 - 13 - u.token.length)}; lc_session=${u.token}`;
  assert.equal(at.length, 4096);
  const c = await S.connect(S.nodes[0], '/ws/agent', { Cookie: at });
  assert.equal((await c.waitFor((f) => f.type === 'hello' || f.type === 'error')).type, 'hello');
  assert.equal(S.nodes[0].exited, null);
});

test('Upgrade: h2c is refused: only websocket upgrades are served', async () => {
  for (const p of ['/ws/widget', '/ws/agent', '/']) {
    const status = await raw(S.nodes[0], `GET ${p} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\n` +
                             'Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n');
    assert.match(status, /^HTTP\/1\.[01] 400/, `${p}: ${status}`);
  }
  assert.equal(await upgradeStatus(S.nodes[0], '/ws/widget', {}), 101);
});

// ---- RFC 6455 5.1: a client frame must be masked; the server closes on one that is not (1002).

// A client text frame: masked with a random key, or not at all.
function clientFrame(text, masked) {
  const body = Buffer.from(text);
  const head = Buffer.from([0x81, (masked ? 0x80 : 0) | body.length]);
  if (!masked) return Buffer.concat([head, body]);
  const key = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);
  return Buffer.concat([head, key, Buffer.from(body.map((b, i) => b ^ key[i % 4]))]);
}

// A raw websocket client: the server's frames as they come ({ op, payload }), and when the socket
// closed. payload < 126 bytes is all these tests need from the server but a close, and pongs.
function rawSocket(node, first) {
  const s = net.connect(node.port, '127.0.0.1');
  const c = { frames: [], status: null, closed: false, buf: Buffer.alloc(0) };
  s.on('data', (d) => {
    c.buf = Buffer.concat([c.buf, d]);
    if (c.status === null) {
      const end = c.buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      c.status = c.buf.subarray(0, end).toString('latin1').split('\r\n')[0];
      c.buf = c.buf.subarray(end + 4);
    }
    for (;;) {
      if (c.buf.length < 2) return;
      let len = c.buf[1] & 0x7f, at = 2;
      if (len === 126) { if (c.buf.length < 4) return; len = c.buf.readUInt16BE(2); at = 4; }
      if (c.buf.length < at + len) return;
      c.frames.push({ op: c.buf[0] & 0x0f, payload: c.buf.subarray(at, at + len) });
      c.buf = c.buf.subarray(at + len);
    }
  });
  s.on('close', () => { c.closed = true; });
  s.on('error', () => {});
  s.write(first);
  c.socket = s;
  c.text = () => c.frames.filter((f) => f.op === 1).map((f) => JSON.parse(f.payload.toString()));
  c.closeCode = () => { const f = c.frames.find((x) => x.op === 8); return f && f.payload.length >= 2 ? f.payload.readUInt16BE(0) : null; };
  return c;
}

const widgetUpgrade = `GET /ws/widget HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';

test('an unmasked client frame ends the websocket with 1002 and is not served; masked ones are', async () => {
  const c = rawSocket(S.nodes[0], widgetUpgrade);
  await until(() => c.status !== null, '101');
  assert.match(c.status, /^HTTP\/1\.1 101/);
  c.socket.write(clientFrame('{"type":"ping","ref":"masked"}', true));
  await until(() => c.text().some((f) => f.type === 'pong' && f.ref === 'masked'), 'pong to the masked ping');
  c.socket.write(clientFrame('{"type":"ping","ref":"unmasked"}', false));
  await until(() => c.closed, 'the connection closed');
  assert.equal(c.closeCode(), 1002, JSON.stringify(c.frames.map((f) => f.op)));
  assert.ok(!c.text().some((f) => f.ref === 'unmasked'), 'the unmasked ping was not answered');

  // In the same packet as the upgrade: refused before any frame is served.
  const p = rawSocket(S.nodes[0], Buffer.concat([Buffer.from(widgetUpgrade), clientFrame('{"type":"ping","ref":"early"}', false)]));
  await until(() => p.closed, 'the pipelined connection closed');
  assert.ok(!p.text().some((f) => f.ref === 'early'), 'the pipelined unmasked ping was not answered');
  assert.ok(p.closeCode() === 1002 || p.closeCode() === null, `close code ${p.closeCode()}`);

  // The node serves the next client as before.
  const d = rawSocket(S.nodes[0], widgetUpgrade);
  await until(() => d.status !== null, '101 again');
  d.socket.write(clientFrame('{"type":"ping","ref":"after"}', true));
  await until(() => d.text().some((f) => f.type === 'pong' && f.ref === 'after'), 'pong after');
  d.socket.destroy();
});
