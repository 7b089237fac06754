// An account's event log, in the page: every event the store holds for it —
// version, global position, type, amounts, time — the newest first, growing
// live as events are pushed. This is the truth the balance and the history
// are made from.
import { cssId, h, localTime } from './dom.js';
import { formatWireAmount } from './money.js';
import type { EventEnvelope } from './state.js';

/** Data fields shown as amounts; the others are shown as details. */
const AMOUNT_FIELDS = ['amount', 'initialBalance'];

function details(ev: EventEnvelope): string {
  const d = ev.data ?? {};
  const out: string[] = [];
  if (typeof d.toAccountId === 'string') out.push(`to ${d.toAccountId}`);
  if (typeof d.fromAccountId === 'string') out.push(`from ${d.fromAccountId}`);
  if (typeof d.reference === 'string' && d.reference) out.push(`reference “${d.reference}”`);
  if (typeof d.ownerId === 'string') out.push(`owner ${d.ownerId}`);
  if (typeof d.currency === 'string') out.push(d.currency);
  return out.join(', ');
}

export interface EventLogDeps {
  events: () => EventEnvelope[];
  /** The lowest version known (to offer the earlier ones). */
  lowestKnown: () => number | null;
  loadEarlier: () => Promise<void>;
  /** "As of v3": open time travel at that version. */
  showAsOf: (version: number) => void;
}

export class EventLogPanel {
  readonly root: HTMLDetailsElement;
  private readonly body: HTMLTableSectionElement;
  private readonly earlier: HTMLButtonElement;
  private sig = '';

  constructor(private readonly accountId: string, private readonly deps: EventLogDeps) {
    const sid = cssId(accountId);
    this.body = h('tbody', { 'data-testid': 'event-log-rows' });
    this.earlier = h('button', { type: 'button', class: 'link-button', 'data-testid': 'event-log-earlier', hidden: true }, 'Load earlier events');
    this.earlier.addEventListener('click', () => {
      this.earlier.setAttribute('aria-disabled', 'true');
      void deps.loadEarlier().finally(() => {
        this.earlier.removeAttribute('aria-disabled');
        this.render();
      });
    });
    this.root = h('details', { class: 'panel-sub event-log', 'data-testid': 'event-log' },
      h('summary', { 'data-testid': 'event-log-toggle' }, 'Event log'),
      h('div', { class: 'table-scroll' },
        h('table', { class: 'events', 'aria-label': `Events of ${accountId}`, id: `events-${sid}` },
          h('thead', {}, h('tr', {},
            h('th', { scope: 'col' }, 'Version'), h('th', { scope: 'col' }, 'Position'), h('th', { scope: 'col' }, 'Event'),
            h('th', { scope: 'col' }, 'Amount'), h('th', { scope: 'col' }, 'Balance after'), h('th', { scope: 'col' }, 'Details'),
            h('th', { scope: 'col' }, 'Time'), h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, 'Time travel')))),
          this.body)),
      this.earlier,
    );
    this.root.addEventListener('toggle', () => this.render());
  }

  /** Redraws when open and something changed. */
  render(): void {
    if (!this.root.open) return;
    const events = [...this.deps.events()].reverse();
    const lowest = this.deps.lowestKnown();
    this.earlier.hidden = lowest === null || lowest <= 1;
    const sig = events.map((e) => e.version).join(',');
    if (sig === this.sig) return;
    this.sig = sig;
    this.body.replaceChildren(...events.map((ev) => this.row(ev)));
  }

  private row(ev: EventEnvelope): HTMLTableRowElement {
    const d = ev.data ?? {};
    const amount = AMOUNT_FIELDS.map((f) => formatWireAmount(d[f])).find((x) => x) ?? '';
    const ts = ev.metadata?.timestamp ?? '';
    const asOf = h('button', { type: 'button', class: 'link-button', 'data-testid': 'event-as-of', 'aria-label': `${this.accountId} as of version ${ev.version}` }, `As of v${ev.version}`);
    asOf.addEventListener('click', () => this.deps.showAsOf(ev.version));
    return h('tr', { 'data-testid': 'event-row', 'data-version': ev.version, 'data-position': ev.globalPosition, 'data-event-type': ev.eventType },
      h('td', { class: 'num' }, String(ev.version)),
      h('td', { class: 'num' }, String(ev.globalPosition)),
      h('td', {}, ev.eventType),
      h('td', { class: 'num', 'data-testid': 'event-amount' }, amount),
      h('td', { class: 'num' }, formatWireAmount(d.balanceAfter)),
      h('td', {}, details(ev)),
      h('td', {}, h('time', { datetime: ts, title: ts }, localTime(ts))),
      h('td', {}, asOf),
    );
  }
}
