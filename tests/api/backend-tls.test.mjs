// SPDX-License-Identifier: MIT
// TLS to the back ends (docs/install.md, "TLS"), with a CA and a certificate for localhost made
// here with openssl. amqps://: a PRIVATE RabbitMQ node with a TLS listener. The whole stack (lighttpd, livechat-fcgi, one livechat-wsd) and livechatctl connect
// with amqp_url = amqps://... and amqp_tls_ca = that CA: a widget customer and an agent chat
// through wsd, a logout in the API reaches the agent's websocket through the broker (fcgi's
// revocation publisher), livechatctl status sees the wsd node. Another CA is refused with an
// error that says TLS and names the CA file; the broker asks for a client certificate
// (amqp_tls_cert / amqp_tls_key), and refuses livechat without it; an unreadable CA file stops
// start-up naming the key.
// MongoDB: a PRIVATE FerretDB listening with TLS; livechatctl reaches it with mongo_uri (or
// mongo_uri_file) = mongodb://localhost:PORT/?tls=true&tlsCAFile=..., and not with another CA.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { api, login, startStack, userWith } from './helpers.mjs';
import { Client, freePort, until } from '../wsd/harness.mjs';
import { PrivateFerret, PrivateRabbit } from '../wsd/private.mjs';

const rabbit = new PrivateRabbit();
const ferret = new PrivateFerret();
let stack, admin, certs, tlsPort, amqpsUrl, mongoTlsPort;

function openssl(...args) { execFileSync('openssl', args, { cwd: certs, stdio: ['ignore', 'ignore', 'pipe'] }); }

// A CA and a server certificate it signs (for localhost), and an unrelated CA.
function makeCerts() {
  certs = mkdtempSync(join(tmpdir(), 'lc-amqps-'));
  chmodSync(certs, 0o755);   // the web server's FastCGI processes read the CA file too
  for (const ca of ['ca', 'other-ca'])
    openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
            '-keyout', `${ca}.key`, '-out', `${ca}.pem`, '-days', '2', '-subj', `/CN=livechat test ${ca}`);
  openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'server.key',
          '-out', 'server.csr', '-subj', '/CN=localhost');
  writeFileSync(join(certs, 'san.ext'), 'subjectAltName = IP:127.0.0.1, DNS:localhost\n');
  openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
          '-out', 'server.pem', '-days', '2', '-extfile', 'san.ext');
  // A client certificate: the broker asks for one (livechat's amqp_tls_cert / amqp_tls_key).
  openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'client.key',
          '-out', 'client.csr', '-subj', '/CN=livechat');
  openssl('x509', '-req', '-in', 'client.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
          '-out', 'client.pem', '-days', '2');
  for (const f of ['ca.pem', 'other-ca.pem', 'server.pem', 'server.key', 'client.pem', 'client.key'])
    chmodSync(join(certs, f), 0o644);
}

function ctl(args, conf) {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('LIVECHAT_')) delete env[k];
  return spawnSync(join(process.env.LC_TOP_BUILDDIR, 'fcgi', 'livechatctl'), ['-c', conf, ...args],
    { encoding: 'utf8', env, timeout: 30000 });
}

// The stack's config with lines replaced or added ({key: value}, null drops the key).
function confWith(name, changes) {
  const lines = readFileSync(join(stack.dir, 'livechat.conf'), 'utf8').split('\n')
    .filter((l) => !(l.split('=')[0].trim() in changes));
  for (const [k, v] of Object.entries(changes)) if (v !== null) lines.push(`${k} = ${v}`);
  const path = join(stack.dir, name);
  writeFileSync(path, lines.join('\n') + '\n');
  return path;
}

before(async () => {
  makeCerts();
  tlsPort = await freePort();
  await rabbit.start({ extraConf: () => [
    `listeners.ssl.default = 127.0.0.1:${tlsPort}`,
    `ssl_options.cacertfile = ${join(certs, 'ca.pem')}`,
    `ssl_options.certfile = ${join(certs, 'server.pem')}`,
    `ssl_options.keyfile = ${join(certs, 'server.key')}`,
    'ssl_options.verify = verify_peer',
    'ssl_options.fail_if_no_peer_cert = true', ''].join('\n') });
  // rabbitmq-c 0.11 matches the host against the DNS names of the certificate, not IP addresses.
  amqpsUrl = `amqps://guest:guest@localhost:${tlsPort}/`;
  mongoTlsPort = await freePort();
  await ferret.start({ args: [`--listen-tls=127.0.0.1:${mongoTlsPort}`,
                              `--listen-tls-cert-file=${join(certs, 'server.pem')}`,
                              `--listen-tls-key-file=${join(certs, 'server.key')}`] });
  stack = await startStack({ wsd: 1, wsdSessionCheck: 3600,
                             set: { amqp_url: amqpsUrl, amqp_tls_ca: join(certs, 'ca.pem'),
                                    amqp_tls_cert: join(certs, 'client.pem'), amqp_tls_key: join(certs, 'client.key') } });
  admin = await login(stack.base, stack.adminUser, stack.adminPassword);
});
after(async () => {
  await stack?.stop();
  await rabbit.stop();
  await ferret.stop();
  if (certs) rmSync(certs, { recursive: true, force: true });
});

test('the stack on amqps: livechatctl status sees the broker and the wsd node over TLS', () => {
  const r = ctl(['status'], join(stack.dir, 'livechat.conf'));
  assert.equal(r.status, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /^rabbitmq\s+up/m);
  assert.match(r.stdout, /^wsd nodes 1 seen/m);
});

test('the stack on amqps: a widget customer and an agent chat through wsd and the broker', async () => {
  const clients = [];
  try {
    const agentUser = await userWith(stack.base, admin, ['chats.accept']);
    const ws = stack.base.replace(/^http/, 'ws');
    const agent = await Client.open(`${ws}/ws/agent`, { cookie: `lc_session=${agentUser.token}` }, clients);
    await agent.waitFor((f) => f.type === 'hello', 'agent hello');
    const w = await Client.open(`${ws}/ws/widget`, {}, clients);
    w.send({ type: 'hello' });
    const { customer_id: cid } = await w.waitFor((f) => f.type === 'welcome', 'welcome');
    w.send({ type: 'request', name: 'Tess', ref: 'q' });
    await w.waitFor((f) => f.type === 'waiting', 'waiting');
    const offer = await agent.waitFor((f) => f.type === 'request_offered' && f.room.customer_id === cid, 'offer');
    agent.send({ type: 'accept', room_id: offer.room.id });
    await agent.waitFor((f) => f.type === 'accepted', 'accepted');
    await w.waitFor((f) => f.type === 'joined', 'joined');
    w.send({ type: 'message', id: 'm1', text: 'over TLS?' });
    await agent.waitFor((f) => f.type === 'message' && f.message.text === 'over TLS?', 'customer message');
    agent.send({ type: 'message', room_id: offer.room.id, id: 'a1', text: 'over TLS.' });
    await w.waitFor((f) => f.type === 'message' && f.message.text === 'over TLS.', 'agent message');
  } finally {
    for (const c of clients) c.terminate();
  }
});

test('the stack on amqps: a logout in the API closes the agent websocket (fcgi publishes over TLS)', async () => {
  const clients = [];
  try {
    const u = await userWith(stack.base, admin, ['chats.accept']);
    const agent = await Client.open(`${stack.base.replace(/^http/, 'ws')}/ws/agent`, { cookie: `lc_session=${u.token}` }, clients);
    await agent.waitFor((f) => f.type === 'hello', 'agent hello');
    const closed = new Promise((resolve) => agent.ws.once('close', (code) => resolve(code)));
    const r = await api(stack.base, 'POST', '/api/auth/logout', { cookie: `lc_session=${u.token}`, headers: { origin: stack.base } });
    assert.equal(r.status, 204);
    // The periodic session check runs once an hour here: only the broker's event closes it.
    assert.equal(await Promise.race([closed, new Promise((r2) => setTimeout(() => r2('still open'), 5000).unref())]), 4401);
  } finally {
    for (const c of clients) c.terminate();
  }
});

test('a broker certificate signed by another CA is refused: livechatctl and wsd say TLS and name the CA file', async () => {
  const other = join(certs, 'other-ca.pem');
  const conf = confWith('other-ca.conf', { amqp_tls_ca: other });
  const r = ctl(['status'], conf);
  assert.equal(r.status, 1);
  assert.match(r.stdout, new RegExp(`^rabbitmq\\s+down: cannot connect to localhost:${tlsPort}: TLS: .*${other}`, 'm'));

  const env = { ...process.env, LIVECHAT_WSD_PORT: String(await freePort()), LIVECHAT_LOG_LEVEL: 'warn' };
  for (const k of Object.keys(env)) if (k.startsWith('LIVECHAT_') && !/WSD_PORT|LOG_LEVEL/.test(k)) delete env[k];
  const wsd = spawn(join(process.env.LC_TOP_BUILDDIR, 'wsd', 'livechat-wsd'), ['-c', conf], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  wsd.stderr.on('data', (d) => { err += d; });
  try {
    await until(() => /TLS: .*other-ca\.pem/.test(err), 'wsd to log the TLS refusal', 15000);
  } finally {
    wsd.kill('SIGKILL');
  }
  assert.match(err, new RegExp(`cannot connect to localhost:${tlsPort}: TLS: `));
});

test('a broker that asks for a client certificate refuses livechat without amqp_tls_cert', () => {
  const r = ctl(['status'], confWith('no-client-cert.conf', { amqp_tls_cert: null, amqp_tls_key: null }));
  assert.equal(r.status, 1);
  assert.match(r.stdout, new RegExp(`^rabbitmq\\s+down: login to localhost:${tlsPort}: TLS: .*amqp_tls_cert`, 'm'));
});

test('an amqp_tls_ca that cannot be read stops wsd at start-up and livechatctl names the key', async () => {
  const conf = confWith('missing-ca.conf', { amqp_tls_ca: join(certs, 'no-such-ca.pem') });
  const r = ctl(['status'], conf);
  assert.equal(r.status, 1);
  assert.match(r.stdout, /^rabbitmq\s+down: amqp_tls_ca: cannot read .*no-such-ca\.pem/m);
  const env = { ...process.env, LIVECHAT_WSD_PORT: String(await freePort()) };
  for (const k of Object.keys(env)) if (k.startsWith('LIVECHAT_') && k !== 'LIVECHAT_WSD_PORT') delete env[k];
  const w = spawnSync(join(process.env.LC_TOP_BUILDDIR, 'wsd', 'livechat-wsd'), ['-c', conf],
                      { env, encoding: 'utf8', timeout: 20000 });
  assert.notEqual(w.status, 0);
  assert.equal(w.signal, null, 'exits by itself');
  assert.match(w.stderr, /amqp_tls_ca: cannot read .*no-such-ca\.pem/);
});

const mongoTls = (ca) => `mongodb://localhost:${mongoTlsPort}/?tls=true&tlsCAFile=${join(certs, ca)}`;

test('MongoDB over TLS: mongo_uri with tls=true&tlsCAFile= reaches a FerretDB listening with TLS', () => {
  let r = ctl(['status'], confWith('mongo-tls.conf', { mongo_uri: mongoTls('ca.pem') }));
  assert.match(r.stdout, /^mongodb\s+up/m, r.stdout + r.stderr);
  r = ctl(['users', 'list'], confWith('mongo-tls.conf', { mongo_uri: mongoTls('ca.pem') }));
  assert.equal(r.status, 0, r.stderr);
  // The same URI from mongo_uri_file (the '&' and '=' of the query kept as written).
  writeFileSync(join(stack.dir, 'mongo_uri_tls'), mongoTls('ca.pem') + '\n');
  r = ctl(['status'], confWith('mongo-tls-file.conf', { mongo_uri: null, mongo_uri_file: join(stack.dir, 'mongo_uri_tls') }));
  assert.match(r.stdout, /^mongodb\s+up/m, r.stdout + r.stderr);
});

test('MongoDB over TLS: a server certificate from another CA is refused (mongodb down)', () => {
  const r = ctl(['status'], confWith('mongo-other-ca.conf', { mongo_uri: mongoTls('other-ca.pem') }));
  assert.equal(r.status, 1);
  assert.match(r.stdout, /^mongodb\s+down: /m);
});
