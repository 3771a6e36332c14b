// SPDX-License-Identifier: MIT
// Every validation rule of the API on a bad value, through a real lighttpd: 422
// validation_failed naming the field; a body with several bad fields lists every one.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { api, createUser, failedFields, login, startStack } from './helpers.mjs';

let stack, admin, adminId, userId, cannedId;

before(async () => {
  stack = await startStack();
  admin = await login(stack.base, stack.adminUser, stack.adminPassword);
  adminId = (await api(stack.base, 'GET', '/api/auth/me', { token: admin })).body.user.id;
  userId = (await createUser(stack.base, admin, { username: 'target', password: 'target-pass' })).id;
  const c = await api(stack.base, 'POST', '/api/canned', { token: admin, body: { shortcut: 'mine', title: 't', text: 'x' } });
  assert.equal(c.status, 201, c.text);
  cannedId = c.body.id;
});
after(async () => { await stack?.stop(); });

const long = (n) => 'x'.repeat(n);
const path = (p) => p.replace('{user}', userId).replace('{admin}', adminId).replace('{canned}', cannedId);

// [title, method, path, body, field]
const cases = [
  ['login username missing', 'POST', '/api/auth/login', { password: 'p' }, 'username'],
  ['login username not a string', 'POST', '/api/auth/login', { username: 7, password: 'p' }, 'username'],
  ['login username over 64', 'POST', '/api/auth/login', { username: long(65), password: 'p' }, 'username'],
  ['login password missing', 'POST', '/api/auth/login', { username: 'a' }, 'password'],
  ['login password over 1024', 'POST', '/api/auth/login', { username: 'a', password: long(1025) }, 'password'],
  ['login unknown field', 'POST', '/api/auth/login', { username: 'a', password: 'b', remember: true }, 'remember'],
  ['user username missing', 'POST', '/api/users', { password: 'long-enough' }, 'username'],
  ['user username with a space', 'POST', '/api/users', { username: 'bad name', password: 'long-enough' }, 'username'],
  ['user username starting with a dot', 'POST', '/api/users', { username: '.dot', password: 'long-enough' }, 'username'],
  ['user username over 64', 'POST', '/api/users', { username: long(65), password: 'long-enough' }, 'username'],
  ['user password missing', 'POST', '/api/users', { username: 'okname' }, 'password'],
  ['user password under 8', 'POST', '/api/users', { username: 'okname', password: 'short12' }, 'password'],
  ['user password over 1024', 'POST', '/api/users', { username: 'okname', password: long(1025) }, 'password'],
  ['user display_name empty', 'POST', '/api/users', { username: 'okname', password: 'long-enough', display_name: '' }, 'display_name'],
  ['user display_name over 128', 'POST', '/api/users', { username: 'okname', password: 'long-enough', display_name: long(129) }, 'display_name'],
  ['user group not a string', 'POST', '/api/users', { username: 'okname', password: 'long-enough', group: ['admin'] }, 'group'],
  ['user group unknown', 'POST', '/api/users', { username: 'okname', password: 'long-enough', group: 'pirates' }, 'group'],
  ['user active not a boolean', 'POST', '/api/users', { username: 'okname', password: 'long-enough', active: 'yes' }, 'active'],
  ['user unknown field', 'POST', '/api/users', { username: 'okname', password: 'long-enough', admin: true }, 'admin'],
  ['user update display_name empty', 'PATCH', '/api/users/{user}', { display_name: '' }, 'display_name'],
  ['user update group unknown', 'PATCH', '/api/users/{user}', { group: 'pirates' }, 'group'],
  ['user update active not a boolean', 'PATCH', '/api/users/{user}', { active: 1 }, 'active'],
  ['user update username is not updatable', 'PATCH', '/api/users/{user}', { username: 'renamed' }, 'username'],
  ['user update display_name over 128', 'PATCH', '/api/users/{user}', { display_name: long(129) }, 'display_name'],
  ['password under 8', 'PUT', '/api/users/{user}/password', { password: 'short' }, 'password'],
  ['password missing', 'PUT', '/api/users/{user}/password', {}, 'password'],
  ['password over 1024', 'PUT', '/api/users/{user}/password', { password: long(1025) }, 'password'],
  ['password not a string', 'PUT', '/api/users/{user}/password', { password: 12345678 }, 'password'],
  ['password unknown field', 'PUT', '/api/users/{user}/password', { password: 'long-enough', extra: 1 }, 'extra'],
  ['current_password over 1024', 'PUT', '/api/users/{admin}/password', { password: 'new-long-password', current_password: long(1025) }, 'current_password'],
  ['own password without current_password', 'PUT', '/api/users/{admin}/password', { password: 'new-long-password' }, 'current_password'],
  ['group name missing', 'POST', '/api/groups', { permissions: [] }, 'name'],
  ['group name with capitals', 'POST', '/api/groups', { name: 'Bad', permissions: [] }, 'name'],
  ['group name over 32', 'POST', '/api/groups', { name: long(33), permissions: [] }, 'name'],
  ['group permissions missing', 'POST', '/api/groups', { name: 'okgroup' }, 'permissions'],
  ['group permissions not an array', 'POST', '/api/groups', { name: 'okgroup', permissions: 'users.read' }, 'permissions'],
  ['group permission unknown', 'POST', '/api/groups', { name: 'okgroup', permissions: ['users.read', 'root'] }, 'permissions[1]'],
  ['group permission not a string', 'POST', '/api/groups', { name: 'okgroup', permissions: [5] }, 'permissions[0]'],
  ['group permissions more than 12', 'POST', '/api/groups', { name: 'okgroup', permissions: Array(13).fill('users.read') }, 'permissions'],
  ['group update permission unknown', 'PATCH', '/api/groups/agent', { permissions: ['nope'] }, 'permissions[0]'],
  ['group update permissions missing', 'PATCH', '/api/groups/agent', {}, 'permissions'],
  ['group update unknown field', 'PATCH', '/api/groups/agent', { permissions: [], name: 'x' }, 'name'],
  ['canned shortcut missing', 'POST', '/api/canned', { title: 't', text: 'x' }, 'shortcut'],
  ['canned shortcut with a space', 'POST', '/api/canned', { shortcut: 'a b', title: 't', text: 'x' }, 'shortcut'],
  ['canned shortcut over 32', 'POST', '/api/canned', { shortcut: long(33), title: 't', text: 'x' }, 'shortcut'],
  ['canned title empty', 'POST', '/api/canned', { shortcut: 'ok', title: '', text: 'x' }, 'title'],
  ['canned title over 128', 'POST', '/api/canned', { shortcut: 'ok', title: long(129), text: 'x' }, 'title'],
  ['canned text missing', 'POST', '/api/canned', { shortcut: 'ok', title: 't' }, 'text'],
  ['canned text over 4000', 'POST', '/api/canned', { shortcut: 'ok', title: 't', text: long(4001) }, 'text'],
  ['canned owner_id unknown', 'POST', '/api/canned', { shortcut: 'ok', title: 't', text: 'x', owner_id: '0123456789abcdef01234567' }, 'owner_id'],
  ['canned owner_id empty', 'POST', '/api/canned', { shortcut: 'ok', title: 't', text: 'x', owner_id: '' }, 'owner_id'],
  ['canned update shortcut with a space', 'PATCH', '/api/canned/{canned}', { shortcut: 'a b' }, 'shortcut'],
  ['canned update shortcut over 32', 'PATCH', '/api/canned/{canned}', { shortcut: long(33) }, 'shortcut'],
  ['canned update title empty', 'PATCH', '/api/canned/{canned}', { title: '' }, 'title'],
  ['canned update text over 4000', 'PATCH', '/api/canned/{canned}', { text: long(4001) }, 'text'],
  ['canned update text not a string', 'PATCH', '/api/canned/{canned}', { text: ['x'] }, 'text'],
  ['canned update owner_id is not updatable', 'PATCH', '/api/canned/{canned}', { owner_id: 'someone' }, 'owner_id'],
  ['settings history_limit 0', 'PATCH', '/api/settings', { history_limit: 0 }, 'history_limit'],
  ['settings history_limit 501', 'PATCH', '/api/settings', { history_limit: 501 }, 'history_limit'],
  ['settings history_limit a string', 'PATCH', '/api/settings', { history_limit: '50' }, 'history_limit'],
  ['settings join_message empty', 'PATCH', '/api/settings', { join_message: '' }, 'join_message'],
  ['settings end_message_customer over 1000', 'PATCH', '/api/settings', { end_message_customer: long(1001) }, 'end_message_customer'],
  ['settings end_message_agent not a string', 'PATCH', '/api/settings', { end_message_agent: 3 }, 'end_message_agent'],
  ['settings agent_disconnected_message empty', 'PATCH', '/api/settings', { agent_disconnected_message: '' }, 'agent_disconnected_message'],
  ['settings no_agent_message empty', 'PATCH', '/api/settings', { no_agent_message: '' }, 'no_agent_message'],
  ['settings waiting_message empty', 'PATCH', '/api/settings', { waiting_message: '' }, 'waiting_message'],
  ['settings customer_left_message empty', 'PATCH', '/api/settings', { customer_left_message: '' }, 'customer_left_message'],
  ['settings request_timeout 9', 'PATCH', '/api/settings', { request_timeout: 9 }, 'request_timeout'],
  ['settings request_timeout 86401', 'PATCH', '/api/settings', { request_timeout: 86401 }, 'request_timeout'],
  ['settings reconnect_grace -1', 'PATCH', '/api/settings', { reconnect_grace: -1 }, 'reconnect_grace'],
  ['settings reconnect_grace 3601', 'PATCH', '/api/settings', { reconnect_grace: 3601 }, 'reconnect_grace'],
  ['settings unknown key', 'PATCH', '/api/settings', { colour: 'red' }, 'colour'],
  ['query page 0', 'GET', '/api/users?page=0', undefined, 'page'],
  ['query page not a number', 'GET', '/api/users?page=abc', undefined, 'page'],
  ['query per_page 201', 'GET', '/api/users?per_page=201', undefined, 'per_page'],
  ['query per_page 0', 'GET', '/api/users?per_page=0', undefined, 'per_page'],
  ['query page with a plus sign', 'GET', '/api/users?page=%2B1', undefined, 'page'],
  ['query page past int64', 'GET', '/api/users?page=99999999999999999999', undefined, 'page'],
  ['query limit 201', 'GET', '/api/users?limit=201', undefined, 'limit'],
  ['query skip not a number', 'GET', '/api/users?skip=x', undefined, 'skip'],
  ['query group empty', 'GET', '/api/users?group=', undefined, 'group'],
  ['query group over 64', 'GET', `/api/users?group=${long(65)}`, undefined, 'group'],
  ['query canned prefix over 32', 'GET', `/api/canned?prefix=${long(33)}`, undefined, 'prefix'],
  ['query canned q over 200', 'GET', `/api/canned?q=${long(201)}`, undefined, 'q'],
  ['query canned owner_id empty', 'GET', '/api/canned?owner_id=', undefined, 'owner_id'],
  ['query canned all not a boolean', 'GET', '/api/canned?all=yes', undefined, 'all'],
  ['query rooms page 0', 'GET', '/api/rooms?page=0', undefined, 'page'],
  ['query skip -1', 'GET', '/api/canned?skip=-1', undefined, 'skip'],
  ['query limit 0', 'GET', '/api/canned?limit=0', undefined, 'limit'],
  ['query active not a boolean', 'GET', '/api/users?active=maybe', undefined, 'active'],
  ['query room status unknown', 'GET', '/api/rooms?status=open', undefined, 'status'],
  ['query messages limit 201', 'GET', '/api/rooms/0123456789abcdef01234567/messages?limit=201', undefined, 'limit'],
  ['query messages before_seq 0', 'GET', '/api/rooms/0123456789abcdef01234567/messages?before_seq=0', undefined, 'before_seq'],
  ['query messages before_seq not a number', 'GET', '/api/rooms/0123456789abcdef01234567/messages?before_seq=abc', undefined, 'before_seq'],
  ['query messages limit 0', 'GET', '/api/rooms/0123456789abcdef01234567/messages?limit=0', undefined, 'limit'],
];

describe('each rule rejects a bad value with 422 naming the field', () => {
  for (const [title, method, p, body, field] of cases) {
    test(`${title}: 422 naming ${field}`, async () => {
      const r = await api(stack.base, method, path(p), { token: admin, body });
      assert.equal(r.status, 422, r.text);
      assert.equal(r.body.error.code, 'validation_failed');
      assert.ok(failedFields(r).includes(field), `fields: ${JSON.stringify(r.body.error.fields)}`);
      for (const f of r.body.error.fields) assert.equal(typeof f.reason, 'string');
    });
  }
});

test('a body with several bad fields lists every failing field', async () => {
  const r = await api(stack.base, 'POST', '/api/users',
    { token: admin, body: { username: 'bad name', password: 'short', display_name: '', active: 'no', extra: 1 } });
  assert.equal(r.status, 422);
  assert.deepEqual(failedFields(r).sort(), ['active', 'display_name', 'extra', 'password', 'username']);
});

test('query and body failures are reported together', async () => {
  const r = await api(stack.base, 'PATCH', '/api/settings?page=0', { token: admin, body: { history_limit: 0, reconnect_grace: 99999 } });
  assert.equal(r.status, 422);
  assert.deepEqual(failedFields(r).sort(), ['history_limit', 'reconnect_grace']);
});

test('a wrong current password on one\'s own password change is 422 naming current_password', async () => {
  const r = await api(stack.base, 'PUT', `/api/users/${adminId}/password`,
    { token: admin, body: { password: 'new-long-password', current_password: 'not-it-at-all' } });
  assert.equal(r.status, 422);
  assert.deepEqual(failedFields(r), ['current_password']);
});

test('nothing invalid was stored', async () => {
  const r = await api(stack.base, 'GET', '/api/users', { token: admin });
  assert.deepEqual(r.body.items.map((u) => u.username).sort(), ['admin', 'target']);
  const s = await api(stack.base, 'GET', '/api/settings', { token: admin });
  assert.equal(s.body.history_limit, 50);
});
