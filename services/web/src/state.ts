// The app's picture of the user's accounts: their balances and the events
// the page has seen of each. It changes only by applying events (pushed
// live, replayed on resume, or read from the account's event log, all
// deduplicated by per-account version) and by merging the AccountBalances
// read model, where only a newer version wins — so nothing on screen ever
// moves an account back.
import { minorFromWire } from './money.js';

export interface EventEnvelope {
  eventId: string;
  aggregateType: string;
  aggregateId: string;
  version: number;
  globalPosition: number;
  eventType: string;
  schemaVersion: number;
  data: Record<string, unknown>;
  metadata: { commandId: string; correlationId: string; userId: string; timestamp: string };
}

export interface StatusEnvelope {
  type: 'status';
  seq?: number | null;
  commandId: string;
  entityType: string;
  entityId: string;
  status: 'succeeded' | 'rejected' | 'failed';
  success: boolean;
  error: { code: string; message: string } | null;
  events: EventEnvelope[];
  /** Global position of the command's last event (read-your-writes); absent without events. */
  position?: number | null;
  timestamp: string;
}

/** One row of `GET /projections/AccountBalances` (balance in the server's outgoing unit). */
export interface BalanceItem {
  accountId: string;
  ownerId?: string;
  currency: string;
  balance: unknown;
  status: 'open' | 'closed' | string;
  version: number;
  updatedAt?: string;
}

export interface Account {
  accountId: string;
  ownerId?: string;
  currency: string;
  /** Minor units. */
  balance: number;
  status: string;
  /** The version of the last event reflected in balance/status (0: none). */
  version: number;
}

export interface ApplyResult {
  /** The event moved the account forward. */
  applied: boolean;
  /** Versions were skipped: some events were missed and need reading. */
  gap: boolean;
  /** With a gap: the version the account had, i.e. read its events after this one. */
  missingAfter?: number;
}

export class LedgerState {
  readonly accounts = new Map<string, Account>();
  private readonly eventsByAccount = new Map<string, Map<number, EventEnvelope>>();

  clear(): void {
    this.accounts.clear();
    this.eventsByAccount.clear();
  }

  /** Keeps one event of an account's log; false when it was known. */
  private remember(ev: EventEnvelope): boolean {
    let m = this.eventsByAccount.get(ev.aggregateId);
    if (!m) {
      m = new Map();
      this.eventsByAccount.set(ev.aggregateId, m);
    }
    if (m.has(ev.version)) return false;
    m.set(ev.version, ev);
    return true;
  }

  /** Applies one event; an event at or below the account's version only joins its log. */
  applyEvent(ev: EventEnvelope): ApplyResult {
    const id = ev.aggregateId;
    this.remember(ev);
    const d = ev.data ?? {};
    let acc = this.accounts.get(id);
    if (!acc) {
      acc = { accountId: id, currency: '', balance: 0, status: 'open', version: 0 };
      this.accounts.set(id, acc);
    }
    if (ev.version <= acc.version) return { applied: false, gap: false };
    const before = acc.version;
    const gap = ev.version !== before + 1;
    switch (ev.eventType) {
      case 'AccountOpened':
        acc.ownerId = typeof d.ownerId === 'string' ? d.ownerId : acc.ownerId;
        acc.currency = typeof d.currency === 'string' ? d.currency : acc.currency;
        acc.balance = minorFromWire(d.initialBalance) ?? 0;
        acc.status = 'open';
        break;
      case 'TransferCompleted':
        // The target took the money: no balance change on the source.
        break;
      case 'AccountClosed':
        acc.status = 'closed';
        break;
      default: {
        // Deposits, withdrawals and transfer steps (the debit takes the
        // money at once, a credit adds it, a refund brings it back) — and
        // event types added later — carry the balance after them.
        const after = minorFromWire(d.balanceAfter);
        if (after !== null) acc.balance = after;
      }
    }
    acc.version = ev.version;
    return gap ? { applied: true, gap, missingAfter: before } : { applied: true, gap };
  }

  /** Merges the AccountBalances read model: only newer versions win. */
  mergeBalances(items: BalanceItem[]): string[] {
    const changed: string[] = [];
    for (const it of items) {
      const balance = minorFromWire(it.balance) ?? 0;
      let acc = this.accounts.get(it.accountId);
      if (!acc) {
        acc = { accountId: it.accountId, currency: it.currency, balance, status: it.status, version: it.version, ownerId: it.ownerId };
        this.accounts.set(it.accountId, acc);
        changed.push(it.accountId);
        continue;
      }
      if (!acc.currency && it.currency) acc.currency = it.currency;
      if (it.version > acc.version) {
        acc.balance = balance;
        acc.status = it.status;
        acc.version = it.version;
        if (it.ownerId) acc.ownerId = it.ownerId;
        changed.push(it.accountId);
      }
    }
    return changed;
  }

  /** The events of an account the page knows, oldest first. */
  events(accountId: string): EventEnvelope[] {
    const m = this.eventsByAccount.get(accountId);
    if (!m) return [];
    return [...m.values()].sort((a, b) => a.version - b.version);
  }

  /** The highest version from which on every event of the account is known (0: from the start). */
  knownThrough(accountId: string): number {
    const m = this.eventsByAccount.get(accountId);
    if (!m || m.size === 0) return 0;
    const versions = [...m.keys()].sort((a, b) => a - b);
    let v = versions[0];
    for (const x of versions.slice(1)) {
      if (x !== v + 1) break;
      v = x;
    }
    return v;
  }

  /** The lowest version known of the account's log (null: none). */
  lowestKnown(accountId: string): number | null {
    const m = this.eventsByAccount.get(accountId);
    if (!m || m.size === 0) return null;
    return Math.min(...m.keys());
  }

  list(): Account[] {
    return [...this.accounts.values()];
  }
}
