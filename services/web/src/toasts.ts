// Toasts: one line per outcome, success or not. They live in a polite live
// region; on a phone they sit in the page's flow above the accounts, so they
// never cover a card (styles.css).
import { byTestId, h } from './dom.js';

export type ToastKind = 'success' | 'rejected' | 'failed';

const MAX_TOASTS = 8;
const SUCCESS_MS = 8_000;
const PROBLEM_MS = 15_000;

/**
 * Shows a toast. `code` (the outcome's error code, or an HTTP status for a
 * refused request) goes into `data-code` for tools and tests, never into the
 * text a person reads.
 */
export function toast(kind: ToastKind, text: string, extra: { commandId?: string; code?: string } = {}): void {
  const box = byTestId('toasts');
  const el = h('div', {
    class: `toast ${kind}`,
    role: kind === 'success' ? 'status' : 'alert',
    'data-command-id': extra.commandId,
    'data-code': extra.code,
  });
  const close = h('button', { type: 'button', class: 'toast-close', 'aria-label': 'Dismiss notification', onclick: () => el.remove() }, '×');
  el.append(h('div', { class: 'toast-body' }, h('span', { class: 'toast-text' }, text)), close);
  box.append(el);
  while (box.children.length > MAX_TOASTS) box.firstElementChild?.remove();
  setTimeout(() => el.remove(), kind === 'success' ? SUCCESS_MS : PROBLEM_MS);
}

export function clearToasts(): void {
  byTestId('toasts').replaceChildren();
}
