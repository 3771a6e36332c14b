// SPDX-License-Identifier: MIT
// dom.js: the one way this dashboard builds elements. Text always goes through textContent, so
// nothing a customer or an agent typed is ever parsed as markup (no HTML-parsing sink is used).

/**
 * el('div', {class: 'x', testid: 'y', onclick: fn}, child, 'text', ...) -> HTMLElement.
 * Strings and numbers among the children become text nodes; null/undefined/false are skipped.
 */
export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'testid') node.dataset.testid = value;
    else if (key === 'text') node.textContent = String(value);
    else if (key.startsWith('on') && typeof value === 'function') node.addEventListener(key.slice(2), value);
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key in node && typeof value !== 'string') node[key] = value;
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(node, child);
    else if (child instanceof Node) node.appendChild(child);
    else node.appendChild(document.createTextNode(String(child)));
  }
}

/** Removes every child of node, then appends the given children. */
export function replace(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

/** The element with data-testid=id under root (document by default). */
export function byTestId(id, root = document) {
  return root.querySelector(`[data-testid="${id}"]`);
}

/** "12:04" for a millisecond timestamp of today, "3 Nov, 12:04" for an older one. */
export function clock(ms) {
  const d = new Date(ms);
  const time = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  if (d.toDateString() === new Date().toDateString()) return time;
  return `${d.toLocaleDateString([], { day: 'numeric', month: 'short' })}, ${time}`;
}

/** "2 min 05 s" for a duration in milliseconds. */
export function duration(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

/** "Nov 30, 2026, 11:02 AM": a date and time that stays readable whatever day it is now. */
export function dateTime(ms) {
  return new Date(ms).toLocaleString([], { day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit' });
}

/** "15 minutes" for a wait in seconds (a Retry-After), rounded up to what a person would say. */
export function waitWords(seconds) {
  const s = Math.max(1, Math.ceil(Number(seconds) || 0));
  const unit = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;
  if (s < 60) return unit(s, 'second');
  if (s < 3600) return unit(Math.ceil(s / 60), 'minute');
  return unit(Math.ceil(s / 3600), 'hour');
}

/** Characters as the server counts them (Unicode code points, not UTF-16 units). */
export function charCount(text) {
  return [...text].length;
}

/*
 * Toasts: the model is this list (oldest first); the toast area only shows it. At most
 * TOAST_MAX at once, and a notice already shown is renewed instead of repeated, so a burst of
 * actions (a row of "Deactivate" clicks) does not stack notices down over the page's buttons.
 */
const TOAST_MS = 5000;
const TOAST_MAX = 3;
const toasts = [];

function showToasts() {
  const box = byTestId('toasts');
  if (!box) return;
  replace(box, toasts.map((t) => el('div', {
    class: `toast toast-${t.kind}`, testid: 'toast', role: 'status', title: 'Click to close', onclick: () => dropToast(t),
  }, t.text)));
}

function dropToast(t) {
  clearTimeout(t.timer);
  const i = toasts.indexOf(t);
  if (i >= 0) toasts.splice(i, 1);
  showToasts();
}

/** A short-lived notice in the toast area. */
export function toast(text, kind = 'info') {
  const same = toasts.findIndex((t) => t.text === text && t.kind === kind);
  const t = same >= 0 ? toasts.splice(same, 1)[0] : { text, kind, timer: null };
  clearTimeout(t.timer);
  toasts.push(t);
  while (toasts.length > TOAST_MAX) clearTimeout(toasts.shift().timer);
  t.timer = setTimeout(() => dropToast(t), TOAST_MS);
  showToasts();
}
