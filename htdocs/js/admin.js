// SPDX-License-Identifier: MIT
// admin.js: the administration pages: users (create, edit, deactivate, reset password), permission
// groups (permissions as checkboxes) and runtime settings. app.js renders them only for users
// whose permissions allow; buttons that write are offered only with the *.write permission.

import { el, replace, toast } from './dom.js';
import { api } from './api.js';

const PERMISSIONS = [
  'users.read', 'users.write', 'groups.read', 'groups.write', 'canned.own', 'canned.all',
  'settings.read', 'settings.write', 'chats.accept', 'chats.monitor', 'chats.history', 'chats.end_any',
];

function errText(e) {
  return e && e.describe ? e.describe() : String(e);
}

function fmtDate(ms) {
  return ms ? new Date(ms).toLocaleString() : '';
}

async function groupNames() {
  try {
    return (await api.get('/api/groups')).items.map((g) => g.name);
  } catch (e) {
    return ['admin', 'supervisor', 'agent'];
  }
}

/* ---------------------------------------------------------------- users */

export function renderUsersPage(root, ctx) {
  const canWrite = ctx.can('users.write');
  const tbody = el('tbody', { testid: 'user-rows' });
  const status = el('p', { class: 'muted', testid: 'users-status' });
  const filterGroup = el('select', { testid: 'users-filter-group' }, el('option', { value: '' }, 'All groups'));
  const filterActive = el('select', { testid: 'users-filter-active' },
    el('option', { value: '' }, 'Active and inactive'),
    el('option', { value: 'true' }, 'Active'),
    el('option', { value: 'false' }, 'Inactive'));
  let groups = [];

  async function refresh() {
    try {
      const data = await api.get('/api/users', { limit: 200, group: filterGroup.value, active: filterActive.value });
      status.textContent = `${data.total} users`;
      replace(tbody, data.items.map(row));
    } catch (e) {
      status.textContent = errText(e);
    }
  }

  function row(u) {
    const tr = el('tr', { testid: 'user-row', dataset: { username: u.username, id: u.id }, class: u.active ? '' : 'inactive' },
      el('td', { class: 'mono' }, u.username),
      el('td', {}, u.display_name),
      el('td', {}, u.group),
      el('td', { testid: 'user-active' }, u.active ? 'active' : 'inactive'),
      el('td', { class: 'muted' }, fmtDate(u.created_at)),
      el('td', { class: 'actions' }, canWrite ? [
        el('button', { testid: 'user-edit', onclick: () => tr.replaceWith(editRow(u)) }, 'Edit'),
        el('button', {
          testid: 'user-toggle-active',
          onclick: () => patch(u, { active: !u.active }, u.active ? 'deactivated' : 'activated'),
        }, u.active ? 'Deactivate' : 'Activate'),
        el('button', { testid: 'user-reset-password', onclick: () => tr.after(passwordRow(u)) }, 'Reset password'),
      ] : null));
    return tr;
  }

  async function patch(u, body, what) {
    try {
      await api.patch(`/api/users/${encodeURIComponent(u.id)}`, body);
      toast(`${u.username} ${what}`);
      refresh();
    } catch (e) {
      toast(errText(e), 'error');
    }
  }

  function editRow(u) {
    const name = el('input', { value: u.display_name, testid: 'user-edit-display-name', required: true, maxLength: 128 });
    const group = el('select', { testid: 'user-edit-group' }, groups.map((g) => el('option', { value: g, selected: g === u.group }, g)));
    const err = el('span', { class: 'form-error' });
    const form = el('form', { class: 'inline-form', testid: 'user-edit-form' }, name, group,
      el('button', { type: 'submit', class: 'primary', testid: 'user-edit-save' }, 'Save'),
      el('button', { type: 'button', onclick: refresh }, 'Cancel'), err);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      try {
        await api.patch(`/api/users/${encodeURIComponent(u.id)}`, { display_name: name.value.trim(), group: group.value });
        toast(`${u.username} saved`);
        refresh();
      } catch (e) {
        err.textContent = errText(e);
      }
    });
    return el('tr', { class: 'editing' }, el('td', { class: 'mono' }, u.username), el('td', { colspan: 5 }, form));
  }

  function passwordRow(u) {
    const pw = el('input', { type: 'password', minLength: 8, required: true, placeholder: 'New password (8+ characters)', testid: 'user-new-password', autocomplete: 'new-password' });
    const err = el('span', { class: 'form-error' });
    const tr = el('tr', { class: 'editing' });
    const form = el('form', { class: 'inline-form', testid: 'user-password-form' }, pw,
      el('button', { type: 'submit', class: 'primary', testid: 'user-password-save' }, 'Set password'),
      el('button', { type: 'button', onclick: () => tr.remove() }, 'Cancel'), err);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      try {
        await api.put(`/api/users/${encodeURIComponent(u.id)}/password`, { password: pw.value });
        toast(`Password of ${u.username} reset; their sessions were ended`);
        tr.remove();
      } catch (e) {
        err.textContent = errText(e);
      }
    });
    tr.append(el('td', { class: 'mono' }, u.username), el('td', { colspan: 5 }, form));
    return tr;
  }

  function createForm() {
    const username = el('input', { required: true, maxLength: 64, testid: 'new-user-username', autocomplete: 'off' });
    const display = el('input', { maxLength: 128, testid: 'new-user-display-name' });
    const password = el('input', { type: 'password', required: true, minLength: 8, testid: 'new-user-password', autocomplete: 'new-password' });
    const group = el('select', { testid: 'new-user-group' }, groups.map((g) => el('option', { value: g, selected: g === 'agent' ? 'selected' : undefined }, g)));
    const err = el('p', { class: 'form-error', testid: 'new-user-error', role: 'alert' });
    const form = el('form', { class: 'card form-grid', testid: 'new-user-form' },
      el('label', {}, 'Username', username),
      el('label', {}, 'Display name', display),
      el('label', {}, 'Password', password),
      el('label', {}, 'Group', group),
      err,
      el('div', { class: 'buttons' }, el('button', { type: 'submit', class: 'primary', testid: 'new-user-submit' }, 'Create user')));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      err.textContent = '';
      const body = { username: username.value.trim(), password: password.value, group: group.value };
      if (display.value.trim()) body.display_name = display.value.trim();
      try {
        await api.post('/api/users', body);
        toast(`User ${body.username} created`);
        form.reset();
        refresh();
      } catch (e) {
        err.textContent = errText(e);
      }
    });
    return form;
  }

  const section = el('section', { class: 'page', testid: 'users-page' }, el('h2', {}, 'Users'));
  replace(root, section);
  groupNames().then((names) => {
    groups = names;
    for (const g of names) filterGroup.appendChild(el('option', { value: g }, g));
    section.append(
      canWrite ? createForm() : null,
      el('div', { class: 'toolbar' }, filterGroup, filterActive),
      status,
      el('table', { class: 'grid' },
        el('thead', {}, el('tr', {}, ['Username', 'Name', 'Group', 'State', 'Created', ''].map((h) => el('th', {}, h)))),
        tbody));
    filterGroup.addEventListener('change', refresh);
    filterActive.addEventListener('change', refresh);
    refresh();
  });
}

/* --------------------------------------------------------------- groups */

export function renderGroupsPage(root, ctx) {
  const canWrite = ctx.can('groups.write');
  const list = el('div', { class: 'groups', testid: 'group-list' });
  const status = el('p', { class: 'muted' });

  async function refresh() {
    try {
      const { items: groups } = await api.get('/api/groups');
      replace(list, groups.map(card));
      status.textContent = '';
    } catch (e) {
      status.textContent = errText(e);
    }
  }

  function card(g) {
    const fixed = !canWrite || g.name === 'admin';
    const boxes = PERMISSIONS.map((p) => el('label', { class: 'perm' },
      el('input', { type: 'checkbox', value: p, checked: g.permissions.includes(p), disabled: fixed, testid: `perm-${p}` }),
      p));
    const err = el('span', { class: 'form-error' });
    const form = el('form', { class: 'card group-card', testid: 'group-card', dataset: { group: g.name } },
      el('h3', {}, g.name, g.builtin ? el('span', { class: 'badge' }, 'built-in') : null),
      el('div', { class: 'perm-grid' }, boxes),
      canWrite && g.name !== 'admin' ? el('div', { class: 'buttons' },
        el('button', { type: 'submit', class: 'primary', testid: 'group-save' }, 'Save permissions'),
        g.builtin ? null : el('button', {
          type: 'button', class: 'danger', testid: 'group-delete',
          onclick: async () => {
            if (!confirm(`Delete group ${g.name}?`)) return;
            try {
              await api.del(`/api/groups/${encodeURIComponent(g.name)}`);
              toast(`Group ${g.name} deleted`);
              refresh();
            } catch (e) {
              err.textContent = errText(e);
            }
          },
        }, 'Delete'), err) : (g.name === 'admin' ? el('p', { class: 'muted' }, 'The admin group always has every permission.') : null));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const permissions = boxes.map((l) => l.firstChild).filter((c) => c.checked).map((c) => c.value);
      try {
        await api.patch(`/api/groups/${encodeURIComponent(g.name)}`, { permissions });
        toast(`Group ${g.name} saved`);
        err.textContent = '';
      } catch (e) {
        err.textContent = errText(e);
      }
    });
    return form;
  }

  function createForm() {
    const name = el('input', { required: true, maxLength: 32, pattern: '[a-z][a-z0-9_\\-]*', placeholder: 'new group name', testid: 'new-group-name' });
    const err = el('span', { class: 'form-error' });
    const form = el('form', { class: 'inline-form', testid: 'new-group-form' }, name,
      el('button', { type: 'submit', class: 'primary', testid: 'new-group-submit' }, 'Create group'), err);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      try {
        await api.post('/api/groups', { name: name.value.trim(), permissions: [] });
        form.reset();
        err.textContent = '';
        refresh();
      } catch (e) {
        err.textContent = errText(e);
      }
    });
    return form;
  }

  replace(root, el('section', { class: 'page', testid: 'groups-page' },
    el('h2', {}, 'Permission groups'), canWrite ? createForm() : null, status, list));
  refresh();
}

/* ------------------------------------------------------------- settings */

const SETTINGS = [
  { key: 'history_limit', label: 'Messages loaded when an agent enters a chat', type: 'int', min: 1, max: 500 },
  { key: 'request_timeout', label: 'Request timeout (seconds)', type: 'int', min: 10, max: 86400 },
  { key: 'reconnect_grace', label: 'Reconnect grace period for agents (seconds)', type: 'int', min: 0, max: 3600 },
  { key: 'join_message', label: 'Join message', type: 'text' },
  { key: 'waiting_message', label: 'Waiting message', type: 'text' },
  { key: 'end_message_customer', label: 'End message (to the customer)', type: 'text' },
  { key: 'end_message_agent', label: 'End message (to the agent)', type: 'text' },
  { key: 'agent_disconnected_message', label: 'Agent disconnected message', type: 'text' },
  { key: 'customer_left_message', label: 'Customer left message (to the agent)', type: 'text' },
  { key: 'no_agent_message', label: 'No agent available message', type: 'text' },
];

export function renderSettingsPage(root, ctx) {
  const canWrite = ctx.can('settings.write');
  const section = el('section', { class: 'page', testid: 'settings-page' }, el('h2', {}, 'Settings'),
    el('p', { class: 'muted' }, 'Templates may contain {agent} and {customer}.'));
  replace(root, section);
  api.get('/api/settings').then((values) => {
    const inputs = {};
    const err = el('p', { class: 'form-error', testid: 'settings-error', role: 'alert' });
    const form = el('form', { class: 'card form-grid', testid: 'settings-form' },
      SETTINGS.map((s) => {
        const input = s.type === 'int'
          ? el('input', { type: 'number', min: String(s.min), max: String(s.max), step: '1', required: true, disabled: !canWrite, testid: `setting-${s.key}` })
          : el('textarea', { rows: 2, maxLength: 1000, required: true, disabled: !canWrite, testid: `setting-${s.key}` });
        input.value = values[s.key] === undefined ? '' : String(values[s.key]);
        inputs[s.key] = input;
        return el('label', { class: s.type === 'text' ? 'wide' : '' }, s.label, input);
      }),
      err,
      canWrite ? el('div', { class: 'buttons' }, el('button', { type: 'submit', class: 'primary', testid: 'settings-save' }, 'Save settings')) : null);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      err.textContent = '';
      const body = {};
      for (const s of SETTINGS) {
        const v = inputs[s.key].value;
        const typed = s.type === 'int' ? Number(v) : v;
        if (typed !== values[s.key]) body[s.key] = typed;
      }
      try {
        values = await api.patch('/api/settings', body);
        toast('Settings saved');
      } catch (e) {
        err.textContent = errText(e);
      }
    });
    section.appendChild(form);
  }).catch((e) => section.appendChild(el('p', { class: 'form-error' }, errText(e))));
}
