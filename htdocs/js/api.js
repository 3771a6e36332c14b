// SPDX-License-Identifier: MIT
// api.js: the REST client of the dashboard. Same origin, session cookie (lc_session) sent by the
// browser; every error body has the team-wide shape {"error":{code,message,fields[]}}.

export class ApiError extends Error {
  /** retryAfter: the answer's Retry-After in seconds (a throttled login), or null. */
  constructor(status, body, retryAfter = null) {
    const err = (body && body.error) || {};
    super(err.message || `HTTP ${status}`);
    this.status = status;
    this.retryAfter = retryAfter;
    this.code = err.code || 'http_' + status;
    this.fields = Array.isArray(err.fields) ? err.fields : [];
  }

  /** "message (field: reason, ...)" for showing to the user. */
  describe() {
    if (!this.fields.length) return this.message;
    return `${this.message} (${this.fields.map((f) => `${f.field}: ${f.reason}`).join(', ')})`;
  }
}

let onUnauthorized = null;

/** fn() is called when any call other than login answers 401 (the session expired or was revoked). */
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

/** request('GET', '/api/users', undefined, {group: 'agent'}) -> parsed JSON body (null for 204). */
export async function request(method, path, body, query) {
  let url = path;
  if (query) {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) {
      if (v !== undefined && v !== null && v !== '') params.set(k, String(v));
    }
    const qs = params.toString();
    if (qs) url += '?' + qs;
  }
  const init = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(url, init);
  } catch (e) {
    throw new ApiError(0, { error: { code: 'network', message: 'The server cannot be reached' } });
  }
  const text = await res.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch (e) {
      data = null;
    }
  }
  if (!res.ok) {
    const wait = Number.parseInt(res.headers.get('Retry-After') || '', 10);
    const err = new ApiError(res.status, data, Number.isFinite(wait) ? wait : null);
    if (res.status === 401 && path !== '/api/auth/login' && onUnauthorized) onUnauthorized(err);
    throw err;
  }
  return data;
}

export const api = {
  login: (username, password) => request('POST', '/api/auth/login', { username, password }),
  logout: () => request('POST', '/api/auth/logout', {}),
  me: () => request('GET', '/api/auth/me'),
  get: (path, query) => request('GET', path, undefined, query),
  post: (path, body) => request('POST', path, body),
  put: (path, body) => request('PUT', path, body),
  patch: (path, body) => request('PATCH', path, body),
  del: (path) => request('DELETE', path),
};
