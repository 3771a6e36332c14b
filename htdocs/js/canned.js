// SPDX-License-Identifier: MIT
// canned.js: the agent's canned responses. CannedStore keeps the user's list for the compose box's
// "/shortcut" suggestions; renderCannedPage is the page to create, edit, search and delete them;
// Suggester is the suggestion list attached to a compose textarea.

import { el, replace, toast } from './dom.js';
import { api } from './api.js';

/** Replaces {customer} and {agent} in text (every occurrence). */
export function fillPlaceholders(text, customer, agent) {
  return String(text).replaceAll('{customer}', customer || '').replaceAll('{agent}', agent || '');
}

export class CannedStore {
  constructor() {
    this.items = [];
  }

  async load() {
    const all = [];
    // Own responses, sorted by shortcut; page through in case there are many.
    for (let skip = 0; ; skip += 200) {
      const data = await api.get('/api/canned', { skip, limit: 200 });
      all.push(...data.items);
      if (data.items.length < 200 || all.length >= data.total) break;
    }
    this.items = all;
    return all;
  }

  /** Responses whose shortcut starts with prefix (case-insensitive), at most 8. */
  match(prefix) {
    const p = prefix.toLowerCase();
    return this.items.filter((c) => c.shortcut.toLowerCase().startsWith(p)).slice(0, 8);
  }
}

/**
 * The "/shortcut" suggestion list of one compose textarea. getNames() -> {customer, agent}.
 * While open it owns ArrowUp/ArrowDown/Enter/Tab/Escape of the textarea.
 */
export class Suggester {
  constructor(textarea, store, getNames) {
    this.textarea = textarea;
    this.store = store;
    this.getNames = getNames;
    this.list = el('ul', { class: 'suggest', testid: 'canned-suggestions', role: 'listbox', hidden: true });
    this.matches = [];
    this.index = 0;
    this.token = null;
    textarea.addEventListener('input', () => this.update());
    textarea.addEventListener('click', () => this.update());
    textarea.addEventListener('blur', () => setTimeout(() => {
      if (document.activeElement !== textarea) this.close();
    }, 150));
    textarea.addEventListener('keydown', (ev) => this.onKey(ev), true);
  }

  get isOpen() {
    return !this.list.hidden;
  }

  /** The "/word" just before the caret, at the start of the text or after white space. */
  currentToken() {
    const ta = this.textarea;
    const upto = ta.value.slice(0, ta.selectionStart);
    const m = /(^|\s)\/([A-Za-z0-9_-]*)$/.exec(upto);
    if (!m) return null;
    return { start: upto.length - m[2].length - 1, end: ta.selectionStart, prefix: m[2] };
  }

  update() {
    this.token = this.currentToken();
    this.matches = this.token ? this.store.match(this.token.prefix) : [];
    if (!this.matches.length) {
      this.close();
      return;
    }
    this.index = Math.min(this.index, this.matches.length - 1);
    this.render();
    this.list.hidden = false;
  }

  render() {
    const names = this.getNames();
    replace(this.list, this.matches.map((c, i) => {
      const item = el('li', {
        class: i === this.index ? 'selected' : '',
        role: 'option',
        testid: 'canned-suggestion',
        dataset: { shortcut: c.shortcut },
        'aria-selected': i === this.index ? 'true' : 'false',
      },
      el('span', { class: 'shortcut' }, '/' + c.shortcut),
      el('span', { class: 'title' }, c.title),
      el('span', { class: 'preview' }, fillPlaceholders(c.text, names.customer, names.agent)));
      // mousedown, not click: it must win against the textarea's blur
      item.addEventListener('mousedown', (ev) => {
        ev.preventDefault();
        this.index = i;
        this.choose();
      });
      return item;
    }));
  }

  close() {
    this.list.hidden = true;
    this.matches = [];
    this.index = 0;
  }

  onKey(ev) {
    if (!this.isOpen) return;
    if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
      ev.preventDefault();
      const n = this.matches.length;
      this.index = (this.index + (ev.key === 'ArrowDown' ? 1 : n - 1)) % n;
      this.render();
    } else if (ev.key === 'Enter' || ev.key === 'Tab') {
      ev.preventDefault();
      ev.stopImmediatePropagation();
      this.choose();
    } else if (ev.key === 'Escape') {
      ev.preventDefault();
      this.close();
    }
  }

  choose() {
    const c = this.matches[this.index];
    const tok = this.token;
    if (!c || !tok) return;
    const names = this.getNames();
    const text = fillPlaceholders(c.text, names.customer, names.agent);
    const ta = this.textarea;
    ta.value = ta.value.slice(0, tok.start) + text + ta.value.slice(tok.end);
    const caret = tok.start + text.length;
    ta.setSelectionRange(caret, caret);
    this.close();
    ta.focus();
    ta.dispatchEvent(new Event('input'));
  }
}

/** The "Canned responses" page: search, create, edit, delete one's own. */
export function renderCannedPage(root, ctx) {
  const store = ctx.canned;
  const search = el('input', { type: 'search', placeholder: 'Search shortcut, title or text', testid: 'canned-search' });
  const tbody = el('tbody', { testid: 'canned-rows' });
  const status = el('p', { class: 'muted', testid: 'canned-status' });
  const form = cannedForm(null, async () => {
    await refresh();
  });

  async function refresh() {
    const q = search.value.trim();
    status.textContent = 'Loading…';
    try {
      let items;
      if (q.startsWith('/')) items = (await api.get('/api/canned', { prefix: q.slice(1), limit: 200 })).items;
      else items = (await api.get('/api/canned', { q: q || undefined, limit: 200 })).items;
      status.textContent = items.length ? '' : (q ? 'Nothing matches.' : 'No canned responses yet.');
      replace(tbody, items.map((c) => row(c)));
      store.load().catch(() => {});
    } catch (e) {
      status.textContent = e.describe ? e.describe() : String(e);
    }
  }

  function row(c) {
    const tr = el('tr', { testid: 'canned-row', dataset: { shortcut: c.shortcut, id: c.id } },
      el('td', { class: 'mono' }, '/' + c.shortcut),
      el('td', {}, c.title),
      el('td', { class: 'pre' }, c.text),
      el('td', { class: 'actions' },
        el('button', { testid: 'canned-edit', onclick: () => tr.replaceWith(editRow(c)) }, 'Edit'),
        el('button', {
          class: 'danger', testid: 'canned-delete',
          onclick: async () => {
            if (!confirm(`Delete /${c.shortcut}?`)) return;
            try {
              await api.del(`/api/canned/${encodeURIComponent(c.id)}`);
              toast(`/${c.shortcut} deleted`);
              refresh();
            } catch (e) {
              toast(e.describe ? e.describe() : String(e), 'error');
            }
          },
        }, 'Delete')));
    return tr;
  }

  function editRow(c) {
    const f = cannedForm(c, refresh, () => refresh());
    return el('tr', { class: 'editing' }, el('td', { colspan: 4 }, f));
  }

  let timer = null;
  search.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(refresh, 250);
  });

  replace(root, el('section', { class: 'page', testid: 'canned-page' },
    el('h2', {}, 'Canned responses'),
    el('p', { class: 'muted' }, 'Type / and the shortcut in a chat to insert one. {customer} and {agent} are replaced by the names.'),
    form,
    el('div', { class: 'toolbar' }, search),
    status,
    el('table', { class: 'grid' },
      el('thead', {}, el('tr', {}, el('th', {}, 'Shortcut'), el('th', {}, 'Title'), el('th', {}, 'Text'), el('th', {}, ''))),
      tbody)));
  refresh();
}

/** The create form (c null) or edit form (c a canned response). */
function cannedForm(c, onSaved, onCancel) {
  const shortcut = el('input', { name: 'shortcut', required: true, maxLength: 32, pattern: '[A-Za-z0-9_\\-]+', testid: 'canned-shortcut', value: c ? c.shortcut : '' });
  const title = el('input', { name: 'title', required: true, maxLength: 128, testid: 'canned-title', value: c ? c.title : '' });
  const text = el('textarea', { name: 'text', required: true, maxLength: 4000, rows: 3, testid: 'canned-text' });
  text.value = c ? c.text : '';
  const error = el('p', { class: 'form-error', testid: 'canned-error', role: 'alert' });
  const form = el('form', { class: 'card form-grid', testid: c ? 'canned-edit-form' : 'canned-form' },
    el('label', {}, 'Shortcut', shortcut),
    el('label', {}, 'Title', title),
    el('label', { class: 'wide' }, 'Text', text),
    error,
    el('div', { class: 'buttons' },
      el('button', { type: 'submit', class: 'primary', testid: 'canned-save' }, c ? 'Save' : 'Add'),
      onCancel ? el('button', { type: 'button', onclick: onCancel }, 'Cancel') : null));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.textContent = '';
    const body = { shortcut: shortcut.value.trim(), title: title.value.trim(), text: text.value };
    try {
      if (c) await api.patch(`/api/canned/${encodeURIComponent(c.id)}`, body);
      else await api.post('/api/canned', body);
      toast(`/${body.shortcut} saved`);
      if (!c) form.reset();
      await onSaved();
    } catch (e) {
      error.textContent = e.describe ? e.describe() : String(e);
    }
  });
  return form;
}
