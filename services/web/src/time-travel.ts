// Time travel: the account as it was after a given version, or at a given
// moment, rebuilt by the server from the event store (`GET
// /queries/account/{id}?version=N` / `?asOf=<RFC 3339>`). Shown beside the
// live card, never instead of it: the live balance does not move.
import type { AccountAt, ApiClient } from './api.js';
import { cssId, h } from './dom.js';
import { formatWireAmount } from './money.js';
import { problemText } from './wording.js';

/** A `datetime-local` value (the person's local time) as an RFC 3339 instant, or null. */
export function momentToRfc3339(local: string): string | null {
  if (!local) return null;
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

/** An instant as a `datetime-local` value in the person's time zone, to the millisecond. */
export function rfc3339ToMoment(ts: string | number): string {
  const d = new Date(ts);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

export class TimeTravelPanel {
  readonly root: HTMLDetailsElement;
  private readonly version: HTMLInputElement;
  private readonly moment: HTMLInputElement;
  private readonly result: HTMLElement;
  private asked = 0;

  constructor(private readonly accountId: string, private readonly api: ApiClient, private readonly currentVersion: () => number) {
    const sid = cssId(accountId);
    this.version = h('input', { id: `tt-version-${sid}`, type: 'number', min: 1, step: 1, inputmode: 'numeric', 'data-testid': 'tt-version' });
    this.moment = h('input', { id: `tt-moment-${sid}`, type: 'datetime-local', step: '0.001', 'data-testid': 'tt-moment' });
    this.result = h('div', { class: 'tt-result', 'data-testid': 'tt-result', 'aria-live': 'polite' });
    const byVersion = h('form', { class: 'tt-form', novalidate: true },
      h('label', { for: `tt-version-${sid}` }, 'As of version'),
      h('div', { class: 'amount-row' }, this.version, h('button', { type: 'submit', 'data-testid': 'tt-version-submit' }, 'Show')));
    const byMoment = h('form', { class: 'tt-form', novalidate: true },
      h('label', { for: `tt-moment-${sid}` }, 'As of a moment'),
      h('div', { class: 'amount-row' }, this.moment, h('button', { type: 'submit', 'data-testid': 'tt-moment-submit' }, 'Show')));
    byVersion.addEventListener('submit', (e) => {
      e.preventDefault();
      const v = Number(this.version.value);
      if (!Number.isSafeInteger(v) || v < 1) {
        this.say(`Enter a version from 1 to ${this.currentVersion()}.`, 'error');
        return;
      }
      void this.show({ version: v });
    });
    byMoment.addEventListener('submit', (e) => {
      e.preventDefault();
      const asOf = momentToRfc3339(this.moment.value);
      if (!asOf) {
        this.say('Pick a date and a time.', 'error');
        return;
      }
      void this.show({ asOf });
    });
    this.root = h('details', { class: 'panel-sub time-travel', 'data-testid': 'time-travel' },
      h('summary', { 'data-testid': 'time-travel-toggle' }, 'Time travel'),
      h('p', { class: 'muted' }, 'See this account as it was, rebuilt from its events.'),
      byVersion, byMoment, this.result);
    this.root.addEventListener('toggle', () => {
      if (!this.root.open) return;
      this.version.max = String(Math.max(1, this.currentVersion()));
      if (!this.moment.value) this.moment.value = rfc3339ToMoment(Date.now());
    });
  }

  /** Opens the panel at a version (from the event log's "As of v3"). */
  openAt(version: number): void {
    this.root.open = true;
    this.version.value = String(version);
    void this.show({ version });
    this.root.scrollIntoView({ block: 'nearest' });
  }

  private say(text: string, kind: 'error' | 'info'): void {
    this.result.className = `tt-result ${kind === 'error' ? 'field-error' : ''}`;
    this.result.replaceChildren(text);
  }

  private async show(at: { version: number } | { asOf: string }): Promise<void> {
    const ask = ++this.asked;
    this.say('Rebuilding from the events…', 'info');
    const r = await this.api.accountAt(this.accountId, at);
    if (ask !== this.asked) return; // a later question was asked meanwhile
    if (!r.ok) {
      this.say(r.kind === 'problem' ? problemText(r.problem) : 'The server did not answer; try again.', 'error');
      return;
    }
    this.render(r.body, at);
  }

  private render(a: AccountAt, at: { version: number } | { asOf: string }): void {
    const when = 'version' in at ? `after version ${at.version}` : `at ${new Date(at.asOf).toLocaleString()}`;
    const rebuilt = a.rebuiltFrom
      ? `Rebuilt from ${a.rebuiltFrom.snapshotVersion ? `the snapshot at version ${a.rebuiltFrom.snapshotVersion} and ` : ''}${a.rebuiltFrom.eventsReplayed} event${a.rebuiltFrom.eventsReplayed === 1 ? '' : 's'}.`
      : '';
    const inFlight = formatWireAmount(a.inFlight);
    this.result.className = 'tt-result';
    this.result.replaceChildren(
      h('p', { class: 'tt-head' }, `${this.accountId} ${when}:`),
      h('p', { class: 'tt-balance' },
        h('span', { class: 'sr-only' }, 'Balance then: '),
        h('span', { 'data-testid': 'tt-balance', class: 'balance' }, formatWireAmount(a.balance)), ' ', a.currency),
      h('p', {}, h('span', { 'data-testid': 'tt-status' }, a.status), ` · version `, h('span', { 'data-testid': 'tt-at-version' }, String(a.version)),
        ` of ${this.currentVersion()}`, inFlight && inFlight !== '0.00' ? ` · ${inFlight} in flight` : ''),
      h('p', { class: 'muted' }, rebuilt),
    );
  }
}
