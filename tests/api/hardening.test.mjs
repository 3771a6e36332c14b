// SPDX-License-Identifier: MIT
// Browser and web-server hardening through the shipped lighttpd config (issue 11, defects 10's
// cookie part, 11's web-server part, 12 and 13): security headers on every answer, no inline
// script in htdocs, the web server's body limit at http_max_body, the Origin check on
// cookie-authenticated writes, one cookie parser with a size limit, and JSON keys with NUL.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { api, assertDashboardHeaders, assertWidgetHeaders, login, startStack } from './helpers.mjs';

let stack, admin;

before(async () => {
  stack = await startStack();
  admin = await login(stack.base, stack.adminUser, stack.adminPassword);
});
after(async () => { await stack?.stop(); });

describe('security headers', () => {
  test('the dashboard runs only its own scripts and styles, cannot be framed, is not sniffed, sends no foreign Referer', async () => {
    for (const path of ['/', '/index.html', '/js/app.js', '/css/app.css']) {
      const r = await fetch(stack.base + path);
      assert.equal(r.status, 200, path);
      assertDashboardHeaders(r, path);
    }
  });

  test('the widget demo page: no inline script either, inline styles allowed for the widget', async () => {
    const r = await fetch(stack.base + '/widget/demo.html');
    assert.equal(r.status, 200);
    assertWidgetHeaders(r, '/widget/demo.html');
  });

  test('API answers carry nosniff and the Referrer-Policy too', async () => {
    const r = await api(stack.base, 'GET', '/api/auth/me', { token: admin });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(r.headers.get('referrer-policy'), 'same-origin');
  });

  test('htdocs has no inline script, no inline event handler, no javascript: URL; the dashboard no inline style', () => {
    const root = join(process.env.LC_TOP_SRCDIR, 'htdocs');
    const pages = [];
    const walk = (d) => readdirSync(d, { withFileTypes: true }).forEach((e) =>
      e.isDirectory() ? walk(join(d, e.name)) : e.name.endsWith('.html') && pages.push(join(d, e.name)));
    walk(root);
    assert.ok(pages.length >= 2);
    for (const file of pages) {
      const html = readFileSync(file, 'utf8');
      for (const m of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)) {
        assert.match(m[1], /\bsrc=/, `${file}: inline <script>`);
        assert.equal(m[2].trim(), '', `${file}: script with a body`);
      }
      assert.doesNotMatch(html, /\son[a-z]+\s*=/i, `${file}: inline event handler`);
      assert.doesNotMatch(html, /javascript:/i, `${file}: javascript: URL`);
      if (!file.includes(`${join('htdocs', 'widget')}`)) {
        assert.doesNotMatch(html, /<style\b/i, `${file}: inline <style>`);
        assert.doesNotMatch(html, /\sstyle\s*=/i, `${file}: style attribute`);
      }
    }
  });
});

describe('request bodies', () => {
  test('a body far over http_max_body is refused by the web server (413) before the program; a little over still gets the JSON 413', async () => {
    const huge = 'x'.repeat(1024 * 1024);
    const r = await api(stack.base, 'POST', '/api/users', { token: admin, body: huge });
    assert.equal(r.status, 413);
    assert.doesNotMatch(r.headers.get('content-type') ?? '', /application\/json/);
    const near = await api(stack.base, 'POST', '/api/users', { token: admin, body: 'x'.repeat(65536 + 10) });
    assert.equal(near.status, 413);
    assert.equal(near.body.error.code, 'payload_too_large');
    assert.equal((await api(stack.base, 'GET', '/api/auth/me', { token: admin })).status, 200);
  });

  test('a JSON key with an escaped NUL is 422 naming the key, not cut short', async () => {
    const r = await api(stack.base, 'PATCH', '/api/settings', { token: admin, body: '{"history_limit\\u0000x": 5}' });
    assert.equal(r.status, 422, r.text);
    assert.equal(r.body.error.fields[0].field, 'history_limit\\u0000x');
    assert.match(r.body.error.fields[0].reason, /NUL/);
    const s = await api(stack.base, 'GET', '/api/settings', { token: admin });
    assert.notEqual(s.body.history_limit, 5);
  });
});

describe('cookie-authenticated writes check Origin', () => {
  const canned = (n) => ({ shortcut: `orig${n}`, title: 't', text: 'x' });

  test('from another origin, a null origin or none: 403; from this origin: done', async () => {
    const cookie = `lc_session=${admin}`;
    for (const origin of ['http://evil.example', 'null', `${stack.base}.evil.example`, undefined]) {
      const headers = origin === undefined ? {} : { origin };
      const r = await api(stack.base, 'POST', '/api/canned', { cookie, headers, body: canned(1) });
      assert.equal(r.status, 403, `${origin}: ${r.text}`);
      assert.match(r.body.error.message, /Origin/);
    }
    const ok = await api(stack.base, 'POST', '/api/canned', { cookie, headers: { origin: stack.base }, body: canned(2) });
    assert.equal(ok.status, 201, ok.text);
    // Reads with the cookie need no Origin; a bearer token is no browser's ambient credential.
    assert.equal((await api(stack.base, 'GET', '/api/canned', { cookie })).status, 200);
    const bearer = await api(stack.base, 'POST', '/api/canned', { token: admin, headers: { origin: 'http://evil.example' }, body: canned(3) });
    assert.equal(bearer.status, 201);
  });
});

describe('the Cookie header', () => {
  test('over 4096 bytes: a clear 400, not 500; at 4096 it is read', async () => {
    const pad = (n) => `pad=${'x'.repeat(n)}; lc_session=${admin}`;
    const tooBig = await api(stack.base, 'GET', '/api/auth/me', { cookie: pad(4096) });
    assert.equal(tooBig.status, 400, tooBig.text);
    assert.match(tooBig.body.error.message, /Cookie header larger than 4096 bytes/);
    const fits = pad(0).length;
    const r = await api(stack.base, 'GET', '/api/auth/me', { cookie: pad(4096 - fits) });
    assert.equal(r.status, 200, r.text);
  });

  test('a quoted session cookie is read as the token inside the quotes', async () => {
    assert.equal((await api(stack.base, 'GET', '/api/auth/me', { cookie: `lc_session="${admin}"` })).status, 200);
    assert.equal((await api(stack.base, 'GET', '/api/auth/me', { cookie: `lc_session="${admin} x"` })).status, 401);
  });
});
