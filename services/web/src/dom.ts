// Small DOM helpers: build elements, find them by test id.

type Attrs = Record<string, string | boolean | number | undefined | null | ((e: Event) => void)>;

/** `h('button', { type: 'button', onclick: f }, 'Save')`: attributes, listeners (on…), children. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: (Node | string | null | undefined | false)[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.replace(/^on/, ''), v);
    else if (k === 'class') el.className = String(v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

/** The element with this `data-testid` (throws when missing: the page is broken). */
export function byTestId<T extends HTMLElement = HTMLElement>(testid: string, root: ParentNode = document): T {
  const el = root.querySelector<T>(`[data-testid="${testid}"]`);
  if (!el) throw new Error(`missing element ${testid}`);
  return el;
}

/** A string usable inside an element id. */
export function cssId(s: string): string {
  return s.replace(/[^A-Za-z0-9_-]/g, '_');
}

/** Local time of day of an RFC 3339 timestamp ("" when unreadable). */
export function localTime(ts: string): string {
  const d = new Date(ts);
  return Number.isNaN(d.getTime()) ? '' : d.toLocaleTimeString();
}
