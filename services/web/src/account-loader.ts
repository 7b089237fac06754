// Reads what the socket did not bring: the AccountBalances read model
// (every page, with `minPosition`: it answers only once it has this tab's own
// writes and every event this tab has shown, so no balance on screen goes
// back) and each account's event log from the event store (the truth the
// history rows are made from). At sign-in and reload, after an incomplete
// resume, and for the versions a gap shows were missed.
import { nextLink, type ApiClient } from './api.js';
import type { LedgerState } from './state.js';

/** How many of an account's latest events are read for its history (50 rows need at most this many). */
export const EVENT_WINDOW = 100;
/** Read models trail the event store by a moment: the catch-up is read once more this much later. */
const SECOND_READ_MS = 1_500;
/** The most pages of one account's log read in one go. */
const MAX_EVENT_PAGES = 100;

export interface LoaderDeps {
  api: ApiClient;
  ledger: LedgerState;
  /** The `minPosition` for read-model reads (null: nothing to wait for). */
  readPosition: () => number | null;
  /** Bumped at sign-in and sign-out: answers for an ended session are dropped. */
  epoch: () => number;
  onChanged: () => void;
  onUnauthorized: () => void;
}

export class AccountLoader {
  private running: Promise<void> | null = null;
  private again = false;
  private secondRead: ReturnType<typeof setTimeout> | null = null;
  private readonly reading = new Map<string, Promise<void>>();

  constructor(private readonly deps: LoaderDeps) {}

  /** Reads balances and event logs, and once more shortly after. */
  loadAll(): void {
    void this.catchUp();
    if (this.secondRead) clearTimeout(this.secondRead);
    this.secondRead = setTimeout(() => {
      this.secondRead = null;
      void this.catchUp();
    }, SECOND_READ_MS);
  }

  stop(): void {
    if (this.secondRead) clearTimeout(this.secondRead);
    this.secondRead = null;
  }

  /** One catch-up at a time; a request meanwhile runs one more after it. */
  catchUp(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.catchUpOnce();
      } while (this.again);
    })().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async catchUpOnce(): Promise<void> {
    const { api, ledger, epoch } = this.deps;
    const mine = epoch();
    const b = await api.balances(this.deps.readPosition());
    if (mine !== epoch()) return;
    if (!b.ok) {
      if (b.kind === 'problem' && b.status === 401) this.deps.onUnauthorized();
      return;
    }
    ledger.mergeBalances(b.body.items ?? []);
    this.deps.onChanged();
    await Promise.all(ledger.list().map((a) => this.readNewEvents(a.accountId)));
  }

  /** Reads an account's events the page does not have yet (the latest EVENT_WINDOW when it has none). */
  readNewEvents(accountId: string): Promise<void> {
    const known = this.deps.ledger.lowestKnown(accountId) === null
      ? Math.max(0, (this.deps.ledger.accounts.get(accountId)?.version ?? 0) - EVENT_WINDOW)
      : this.deps.ledger.knownThrough(accountId);
    return this.readFrom(accountId, known);
  }

  /** A gap: the versions after `after` were missed. */
  heal(accountId: string, after: number): Promise<void> {
    return this.readFrom(accountId, after);
  }

  /** The window of events before the earliest one known (the event log's "Load earlier"). */
  async loadEarlier(accountId: string): Promise<void> {
    const lowest = this.deps.ledger.lowestKnown(accountId);
    if (lowest === null || lowest <= 1) return;
    const from = Math.max(0, lowest - 1 - EVENT_WINDOW);
    await this.readPages(accountId, from, lowest - 1);
  }

  private readFrom(accountId: string, after: number): Promise<void> {
    // One read per account at a time; a second asker waits for it and reads what is still new.
    const prev = this.reading.get(accountId) ?? Promise.resolve();
    const next = prev.then(() => this.readPages(accountId, Math.max(after, 0), null)).finally(() => {
      if (this.reading.get(accountId) === next) this.reading.delete(accountId);
    });
    this.reading.set(accountId, next);
    return next;
  }

  /** Reads pages of the log after `after` (up to `through` when given), applying each event. */
  private async readPages(accountId: string, after: number, through: number | null): Promise<void> {
    const { api, ledger, epoch } = this.deps;
    const mine = epoch();
    let cursor = after;
    for (let page = 0; page < MAX_EVENT_PAGES; page++) {
      const limit = through === null ? EVENT_WINDOW : Math.max(1, Math.min(EVENT_WINDOW, through - cursor));
      const r = await api.accountEvents(accountId, cursor, limit);
      if (mine !== epoch()) return;
      if (!r.ok) {
        if (r.kind === 'problem' && r.status === 401) this.deps.onUnauthorized();
        return;
      }
      const items = Array.isArray(r.body) ? r.body : [];
      // Events from the store, in version order: they move the account
      // forward or fill in its log. (They are not socket frames: the resume
      // point does not move.)
      for (const ev of items) if (through === null || ev.version <= through) ledger.applyEvent(ev);
      this.deps.onChanged();
      // A full page names the next one in `Link`; a short one is the last.
      const next = nextLink(r.headers.get('link')) === null ? null : items[items.length - 1]?.version ?? null;
      if (items.length === 0 || next === null || next <= cursor) return;
      if (through !== null && next >= through) return;
      cursor = next;
    }
  }
}
