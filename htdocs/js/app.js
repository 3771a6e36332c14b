// SPDX-License-Identifier: MIT
// app.js: the dashboard's entry point. Checks the session, shows the login form or the shell
// (header, connection banner, navigation) and routes #/chats, #/canned and the admin pages.
// Admin pages are only offered, and only rendered, when the user's permissions allow them; the
// API refuses them anyway (403).

import { el, replace, byTestId, toast, waitWords } from './dom.js';
import { api, setUnauthorizedHandler } from './api.js';
import { ChatDesk } from './chats.js';
import { CannedStore, renderCannedPage } from './canned.js';
import { renderUsersPage, renderGroupsPage, renderSettingsPage } from './admin.js';
import { soundEnabled, setSoundEnabled } from './notify.js';

const session = { user: null, permissions: [] };
let desk = null;
let canned = null;
let shell = null;

function can(perm) {
  return session.permissions.includes(perm);
}

/** The routes; `allowed` decides both the nav link and whether the page renders at all. */
const ROUTES = [
  { path: '#/chats', label: 'Chats', testid: 'nav-chats', allowed: () => true },
  { path: '#/canned', label: 'Canned responses', testid: 'nav-canned', allowed: () => can('canned.own') || can('canned.all') },
  { path: '#/admin/users', label: 'Users', testid: 'nav-users', allowed: () => can('users.read') || can('users.write'), admin: true },
  { path: '#/admin/groups', label: 'Groups', testid: 'nav-groups', allowed: () => can('groups.read') || can('groups.write'), admin: true },
  { path: '#/admin/settings', label: 'Settings', testid: 'nav-settings', allowed: () => can('settings.read') || can('settings.write'), admin: true },
];

/** The answer of login or /api/auth/me: {user, permissions, ...} (docs/api.md). */
function adoptSession(data) {
  session.user = data.user;
  session.permissions = data.permissions;
}

async function boot() {
  setUnauthorizedHandler(() => {
    if (session.user) {
      toast('Your session has ended. Please log in again.', 'error');
      teardown();
      showLogin();
    }
  });
  try {
    adoptSession(await api.me());
  } catch (e) {
    showLogin();
    return;
  }
  showShell();
}

function teardown() {
  if (desk) desk.stop();
  desk = null;
  canned = null;
  shell = null;
  session.user = null;
  session.permissions = [];
  document.title = 'livechat';
}

/** What a throttled login tells: how long to wait, from the API's Retry-After (seconds). */
function throttledText(retryAfter) {
  if (retryAfter === null) return 'Too many failed attempts. Please wait and try again.';
  return `Too many failed attempts. Please try again in ${waitWords(retryAfter)}.`;
}

function showLogin(message) {
  const error = el('p', { class: 'form-error', testid: 'login-error', role: 'alert' }, message || '');
  const username = el('input', { name: 'username', autocomplete: 'username', required: true, testid: 'login-username' });
  const password = el('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true, testid: 'login-password' });
  const submit = el('button', { type: 'submit', class: 'primary', testid: 'login-submit' }, 'Log in');
  const form = el('form', { class: 'login-card', testid: 'login-form' },
    el('h1', {}, 'livechat'),
    el('p', { class: 'muted' }, 'Agent dashboard'),
    el('label', {}, 'Username', username),
    el('label', {}, 'Password', password),
    error,
    submit);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    submit.disabled = true;
    error.textContent = '';
    try {
      adoptSession(await api.login(username.value.trim(), password.value));
      if (!location.hash || location.hash === '#/login') location.hash = '#/chats';
      showShell();
    } catch (e) {
      error.textContent = e.status === 401 ? 'Wrong username or password.'
        : e.status === 429 ? throttledText(e.retryAfter)
          : e.describe ? e.describe() : String(e);
      submit.disabled = false;
    }
  });
  replace(byTestId('app'), el('div', { class: 'login-page' }, form));
  username.focus();
}

function showShell() {
  const user = session.user;
  const connState = el('span', { class: 'conn conn-connecting', testid: 'conn-state', title: 'Live connection' }, 'connecting');
  const banner = el('div', { class: 'banner', testid: 'conn-banner', hidden: true, role: 'alert' },
    'Connection lost: reconnecting… Messages will be resynchronised when it is back.');
  const soundToggle = el('input', { type: 'checkbox', testid: 'sound-toggle', checked: soundEnabled() });
  soundToggle.addEventListener('change', () => setSoundEnabled(soundToggle.checked));
  const nav = el('nav', { class: 'nav', testid: 'nav' });
  const logout = el('button', { class: 'link', testid: 'logout' }, 'Log out');
  logout.addEventListener('click', async () => {
    try {
      await api.logout();
    } catch (e) {
      // the session may already be gone; leave anyway
    }
    teardown();
    location.hash = '';
    showLogin();
  });
  const header = el('header', { class: 'topbar', testid: 'topbar' },
    el('span', { class: 'brand' }, 'livechat'),
    nav,
    el('span', { class: 'spacer' }),
    el('label', { class: 'sound', title: 'Sound when a request waits' }, soundToggle, 'Sound'),
    connState,
    el('span', { class: 'who' },
      el('strong', { testid: 'user-name' }, user.display_name || user.username || ''),
      el('span', { class: 'group', testid: 'user-group' }, user.group || '')),
    logout);
  const main = el('main', { class: 'main', testid: 'main' });
  replace(byTestId('app'), header, banner, main);
  shell = { nav, main, banner, connState };

  canned = new CannedStore();
  canned.load().catch(() => {});
  desk = new ChatDesk({
    user,
    permissions: session.permissions,
    canned,
    onConnState: (state) => {
      connState.className = `conn conn-${state}`;
      connState.textContent = { open: 'online', refused: 'no live chat', closed: 'offline' }[state] || state;
      // The banner shows only after a connection was lost, not during the first connect.
      banner.hidden = state !== 'down';
    },
  });
  desk.start();
  route();
}

function route() {
  if (!shell) return;
  let hash = location.hash || '#/chats';
  let current = ROUTES.find((r) => r.path === hash);
  if (!current || !current.allowed()) {
    if (current && current.admin) toast('You are not allowed to open that page.', 'error');
    hash = '#/chats';
    current = ROUTES[0];
    if (location.hash !== hash) history.replaceState(null, '', hash);
  }
  replace(shell.nav, ROUTES.filter((r) => r.allowed()).map((r) =>
    el('a', { href: r.path, testid: r.testid, class: r === current ? 'active' : '' }, r.label)));
  const ctx = { can, user: session.user, canned };
  shell.main.replaceChildren();
  switch (current.path) {
    case '#/chats': shell.main.appendChild(desk.element); desk.shown(); break;
    case '#/canned': renderCannedPage(shell.main, ctx); break;
    case '#/admin/users': renderUsersPage(shell.main, ctx); break;
    case '#/admin/groups': renderGroupsPage(shell.main, ctx); break;
    case '#/admin/settings': renderSettingsPage(shell.main, ctx); break;
    default: break;
  }
}

// For tests and debugging: read-only views of the state.
window.livechat = {
  get session() { return { user: session.user, permissions: [...session.permissions] }; },
  get desk() { return desk; },
};

window.addEventListener('hashchange', route);
boot();
