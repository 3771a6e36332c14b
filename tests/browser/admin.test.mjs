// SPDX-License-Identifier: MIT
// tests/browser/admin.test.mjs: administration in a real browser through lighttpd: an admin sees
// and uses the users, groups and settings pages; an agent never sees them, cannot open them by
// URL, and the API refuses the agent's calls (403) even when made from the dashboard's own session.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, launchBrowser, openPage, shot, login, rest, tokenFor } from './lib.mjs';

const T = 'admin';
let stack;
let browser;

before(async () => {
  stack = await startStack({ wsd: 2, name: 'browser-admin' });
  browser = await launchBrowser();
});

after(async () => {
  if (browser) await browser.close();
  if (stack) await stack.stop();
});

test('admin pages are shown to admins only and the API refuses agents', async (t) => {
  const stamp = Date.now() % 100000;
  const agent = { username: `carl${stamp}`, name: 'Carl Agent', password: 'carl-secret-1' };
  const admin = await openPage(browser, 'admin');
  const agentPage = await openPage(browser, 'agent');

  await t.test('the admin sees users, groups and settings in the navigation', async () => {
    await login(admin, stack.base, stack.admin.username, stack.admin.password);
    for (const id of ['nav-users', 'nav-groups', 'nav-settings', 'nav-canned']) {
      assert.equal(await admin.getByTestId(id).isVisible(), true, id);
    }
  });

  await t.test('the admin creates an agent, edits the name and resets the password', async () => {
    await admin.getByTestId('nav-users').click();
    await admin.getByTestId('new-user-username').fill(agent.username);
    await admin.getByTestId('new-user-password').fill('first-password-1');
    await admin.getByTestId('new-user-group').selectOption('agent');
    await admin.getByTestId('new-user-submit').click();
    const row = admin.locator(`[data-testid="user-row"][data-username="${agent.username}"]`);
    await row.waitFor();
    await row.getByTestId('user-edit').click();
    await admin.getByTestId('user-edit-display-name').fill(agent.name);
    await admin.getByTestId('user-edit-save').click();
    await row.filter({ hasText: agent.name }).waitFor();
    await row.getByTestId('user-reset-password').click();
    await admin.getByTestId('user-new-password').fill(agent.password);
    await admin.getByTestId('user-password-save').click();
    await admin.getByTestId('user-password-form').waitFor({ state: 'detached' });
    await shot(admin, T, 'users');
  });

  await t.test('a duplicate username is refused with a visible error', async () => {
    await admin.getByTestId('new-user-username').fill(agent.username);
    await admin.getByTestId('new-user-password').fill('whatever-pass-1');
    await admin.getByTestId('new-user-submit').click();
    await admin.getByTestId('new-user-error').filter({ hasText: /.+/ }).waitFor();
  });

  await t.test('the admin edits the permissions of a group with checkboxes', async () => {
    await admin.getByTestId('nav-groups').click();
    const card = admin.locator('[data-testid="group-card"][data-group="supervisor"]');
    await card.waitFor();
    const box = card.getByTestId('perm-settings.write');
    assert.equal(await box.isChecked(), false);
    await box.check();
    await card.getByTestId('group-save').click();
    await admin.getByTestId('toast').filter({ hasText: 'Group supervisor saved' }).waitFor();
    const token = await tokenFor(stack.base, stack.admin.username, stack.admin.password);
    const g = await rest(stack.base, token, 'GET', '/api/groups/supervisor');
    assert.ok(g.body.permissions.includes('settings.write'), JSON.stringify(g.body));
    await shot(admin, T, 'groups');
  });

  await t.test('the admin changes the history size in the settings', async () => {
    await admin.getByTestId('nav-settings').click();
    await admin.getByTestId('setting-history_limit').fill('40');
    await admin.getByTestId('settings-save').click();
    await admin.getByTestId('toast').filter({ hasText: 'Settings saved' }).waitFor();
    const token = await tokenFor(stack.base, stack.admin.username, stack.admin.password);
    const s = await rest(stack.base, token, 'GET', '/api/settings');
    assert.equal(s.body.history_limit, 40);
    await admin.getByTestId('setting-history_limit').fill('900');
    await admin.getByTestId('settings-save').click();
    // the browser's own range check or the API's 422: either way it is not saved
    const again = await rest(stack.base, token, 'GET', '/api/settings');
    assert.equal(again.body.history_limit, 40);
    await shot(admin, T, 'settings');
  });

  await t.test('the agent sees no admin page in the navigation', async () => {
    await login(agentPage, stack.base, agent.username, agent.password);
    assert.equal(await agentPage.getByTestId('user-name').textContent(), agent.name);
    assert.equal(await agentPage.getByTestId('nav-canned').isVisible(), true);
    for (const id of ['nav-users', 'nav-groups', 'nav-settings']) {
      assert.equal(await agentPage.getByTestId(id).count(), 0, `${id} shown to an agent`);
    }
    await shot(agentPage, T, 'agent-nav');
  });

  await t.test('the agent cannot open an admin page by its URL', async () => {
    for (const hash of ['#/admin/users', '#/admin/groups', '#/admin/settings']) {
      await agentPage.goto(`${stack.base}/${hash}`);
      await agentPage.getByTestId('desk').waitFor();
      for (const id of ['users-page', 'groups-page', 'settings-page']) assert.equal(await agentPage.getByTestId(id).count(), 0);
    }
  });

  await t.test('the API refuses the agent\'s admin calls with 403, with the session cookie', async () => {
    const results = await agentPage.evaluate(async () => {
      const call = async (method, path, body) => {
        const r = await fetch(path, { method, credentials: 'same-origin', headers: { 'Content-Type': 'application/json' }, body: body ? JSON.stringify(body) : undefined });
        return [method, path, r.status, (await r.json()).error?.code];
      };
      return [
        await call('GET', '/api/users'),
        await call('POST', '/api/users', { username: 'mallory', password: 'mallory-pass-1', group: 'admin' }),
        await call('GET', '/api/groups'),
        await call('PATCH', '/api/groups/agent', { permissions: ['users.write'] }),
        await call('GET', '/api/settings'),
        await call('PATCH', '/api/settings', { history_limit: 5 }),
        await call('GET', '/api/auth/me'),
      ];
    });
    for (const [method, path, status, code] of results.slice(0, -1)) {
      assert.equal(status, 403, `${method} ${path}`);
      assert.equal(code, 'forbidden', `${method} ${path}`);
    }
    assert.equal(results.at(-1)[2], 200, 'the agent\'s own session works');
  });

  await t.test('the agent creates, searches, edits and deletes canned responses', async () => {
    await agentPage.getByTestId('nav-canned').click();
    for (const [shortcut, title, text] of [['hello', 'Hello', 'Hello {customer}!'], ['bye', 'Goodbye', 'Thanks for visiting, {customer}.']]) {
      await agentPage.getByTestId('canned-shortcut').fill(shortcut);
      await agentPage.getByTestId('canned-title').fill(title);
      await agentPage.getByTestId('canned-text').fill(text);
      await agentPage.getByTestId('canned-save').click();
      await agentPage.locator(`[data-testid="canned-row"][data-shortcut="${shortcut}"]`).waitFor();
    }
    await agentPage.getByTestId('canned-shortcut').fill('hello');
    await agentPage.getByTestId('canned-title').fill('Duplicate');
    await agentPage.getByTestId('canned-text').fill('x');
    await agentPage.getByTestId('canned-save').click();
    await agentPage.getByTestId('canned-error').filter({ hasText: /.+/ }).waitFor();
    await agentPage.getByTestId('canned-search').fill('visiting');
    await agentPage.waitForFunction(() => document.querySelectorAll('[data-testid="canned-row"]').length === 1);
    assert.equal(await agentPage.getByTestId('canned-row').getAttribute('data-shortcut'), 'bye');
    await agentPage.getByTestId('canned-row').getByTestId('canned-edit').click();
    const form = agentPage.getByTestId('canned-edit-form');
    await form.getByTestId('canned-text').fill('See you soon, {customer}.');
    await form.getByTestId('canned-save').click();
    await agentPage.getByTestId('canned-edit-form').waitFor({ state: 'detached' });
    await agentPage.getByTestId('canned-search').fill('');
    await agentPage.waitForFunction(() => document.querySelectorAll('[data-testid="canned-row"]').length === 2);
    await agentPage.getByTestId('canned-row').filter({ hasText: 'See you soon, {customer}.' }).waitFor();
    await shot(agentPage, T, 'canned');
    agentPage.once('dialog', (d) => d.accept());
    await agentPage.locator('[data-testid="canned-row"][data-shortcut="hello"]').getByTestId('canned-delete').click();
    await agentPage.locator('[data-testid="canned-row"][data-shortcut="hello"]').waitFor({ state: 'detached' });
    const token = await tokenFor(stack.base, agent.username, agent.password);
    const list = await rest(stack.base, token, 'GET', '/api/canned');
    assert.deepEqual(list.body.items.map((c) => [c.shortcut, c.text]), [['bye', 'See you soon, {customer}.']]);
  });

  await t.test('a deactivated agent is sent back to the login form and cannot log in', async () => {
    await admin.getByTestId('nav-users').click();
    const row = admin.locator(`[data-testid="user-row"][data-username="${agent.username}"]`);
    await row.getByTestId('user-toggle-active').click();
    await row.getByTestId('user-active').filter({ hasText: 'inactive' }).waitFor();
    // the API publishes a revocation: wsd closes the agent's websocket (4401) at once and the
    // dashboard returns to the login form by itself, without the agent doing anything
    await agentPage.getByTestId('login-form').waitFor({ timeout: 10000 });
    await agentPage.getByTestId('login-username').fill(agent.username);
    await agentPage.getByTestId('login-password').fill(agent.password);
    await agentPage.getByTestId('login-submit').click();
    await agentPage.getByTestId('login-error').filter({ hasText: 'Wrong username or password.' }).waitFor();
  });

  await t.test('logging out ends the session', async () => {
    await admin.getByTestId('logout').click();
    await admin.getByTestId('login-form').waitFor();
    const status = await admin.evaluate(async () => (await fetch('/api/auth/me')).status);
    assert.equal(status, 401);
  });

  await t.test('no page raised a script error', async () => {
    for (const page of [admin, agentPage]) assert.deepEqual(page.errors, [], `${page.shotPrefix}: ${page.errors.join('; ')}`);
  });
});
