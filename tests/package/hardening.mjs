// SPDX-License-Identifier: MIT
// The security headers and request body limits of the snippets for Debian's stock lighttpd and
// Apache (tests/package/snippets.test.sh: the build tree; install.test.sh: the installed
// package), the same as the standalone configs give (tests/api/hardening.test.mjs).
// Input (environment): LC_PKG_BASES (base URLs, space separated), LC_PKG_MAX_BODY (the servers'
// http_max_body), LC_PKG_BODY_KIB (the web servers' limit the snippets were rendered with).
import test from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { api, assertDashboardHeaders, assertWidgetHeaders } from '../api/helpers.mjs';

const bases = (process.env.LC_PKG_BASES || '').split(' ').filter(Boolean);
const maxBody = Number(process.env.LC_PKG_MAX_BODY);
const limit = Number(process.env.LC_PKG_BODY_KIB) * 1024;
if (!bases.length || !maxBody || !limit) throw new Error('LC_PKG_BASES, LC_PKG_MAX_BODY and LC_PKG_BODY_KIB must be set');

// POST BODY_SIZE bytes to base + path in chunks of 8 KiB without a Content-Length (chunked
// transfer coding): the web server cannot refuse it from the headers. Resolves with the status
// and content type of the answer.
function postChunked(base, path, size) {
  return new Promise((resolve, reject) => {
    const req = http.request(base + path, { method: 'POST', headers: { 'content-type': 'application/json' } },
      (res) => { res.resume(); resolve({ status: res.statusCode, type: res.headers['content-type'] ?? '' }); });
    req.on('error', reject);
    const chunk = Buffer.alloc(8192, 'x');
    let sent = 0;
    const more = () => {
      while (sent < size) {
        sent += chunk.length;
        if (!req.write(chunk)) return req.once('drain', more);
      }
      req.end();
    };
    more();
  });
}

for (const base of bases) {
  test(`${base}: the dashboard runs only its own scripts and styles, cannot be framed, is not sniffed, sends no foreign Referer`, async () => {
    for (const path of ['/', '/js/app.js', '/css/app.css']) {
      const r = await fetch(base + path);
      assert.equal(r.status, 200, path);
      assertDashboardHeaders(r, path);
    }
  });

  test(`${base}: the widget demo page allows inline styles, never inline script; API answers carry the headers too`, async () => {
    const w = await fetch(base + '/widget/demo.html');
    assert.equal(w.status, 200);
    assertWidgetHeaders(w, '/widget/demo.html');
    const a = await api(base, 'GET', '/api/health');
    assert.equal(a.status, 200, a.text);
    assert.equal(a.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(a.headers.get('referrer-policy'), 'same-origin');
  });

  test(`${base}: the widget's modules may be imported by a customer's site (CORS), the dashboard page may not`, async () => {
    for (const path of ['/widget/widget.js', '/js/ws.js']) {
      const r = await fetch(base + path);
      assert.equal(r.status, 200, path);
      assert.equal(r.headers.get('access-control-allow-origin'), '*', path);
    }
    const page = await fetch(base + '/');
    assert.equal(page.headers.get('access-control-allow-origin'), null);
  });

  test(`${base}: an announced length over the web server's limit gets the server's own 413, a chunked one a 413; a little over http_max_body the API's JSON 413`, async () => {
    // Without a length: lighttpd counts the chunks and answers its own 413; behind Apache's
    // mod_proxy_fcgi the program reads at most http_max_body + 1 bytes and answers its JSON 413.
    const chunked = await postChunked(base, '/api/auth/login', limit + 8192);
    assert.equal(chunked.status, 413);
    const far = await api(base, 'POST', '/api/auth/login', { body: 'x'.repeat(limit + 1) });
    assert.equal(far.status, 413, far.text);
    assert.doesNotMatch(far.headers.get('content-type') ?? '', /application\/json/);
    const near = await api(base, 'POST', '/api/auth/login', { body: 'x'.repeat(maxBody + 1) });
    assert.equal(near.status, 413, near.text);
    assert.equal(near.body?.error?.code, 'payload_too_large', near.text);
    assert.equal((await api(base, 'GET', '/api/health')).status, 200);
  });
}
