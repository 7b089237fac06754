// The app's picture of the user's accounts. It changes only by applying
// pushed events (live or replayed on resume, deduplicated by per-account
// version) and by merging the read models (at sign-in or reload, when a
// resume is incomplete, when a version gap shows), never by guesswork.
import type { BalanceItem, HistoryItem } from './api.js';

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

export interface HistoryEntry {
  eventId: string;
  accountId: string;
  version: number;
  eventType: string;
  amount: number | null;
  balanceAfter: number | null;
  commandId?: string;
  timestamp: string;
  /**
   * The other account of a transfer (its target, or for TransferCredited its
   * source). Known from pushed events only: read-model rows do not carry it.
   */
  counterparty?: string | null;
  /** A deposit's reference ("Invoice 42"). Known from pushed events only. */
  reference?: string | null;
}

export interface ApplyResult {
  /** The event moved the account forward. */
  applied: boolean;
  /** Versions were skipped: some events were missed and need catching up. */
  gap: boolean;
}

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isSafeInteger(v) ? v : null;
}

export function eventToHistoryEntry(ev: EventEnvelope): HistoryEntry {
  const d = ev.data ?? {};
  let amount = num(d.amount);
  let balanceAfter = num(d.balanceAfter);
  if (ev.eventType === 'AccountOpened') {
    amount = null;
    balanceAfter = num(d.initialBalance);
  }
  return {
    eventId: ev.eventId,
    accountId: ev.aggregateId,
    version: ev.version,
    eventType: ev.eventType,
    amount,
    balanceAfter,
    commandId: ev.metadata?.commandId,
    timestamp: ev.metadata?.timestamp ?? '',
    counterparty: counterpartyOf(ev.eventType, d),
    reference: ev.eventType === 'MoneyDeposited' ? str(d.reference) : null,
  };
}

function str(v: unknown): string | null {
  return typeof v === 'string' && v !== '' ? v : null;
}

/** The other account of a transfer event, null for any other event. */
export function counterpartyOf(eventType: string, data: Record<string, unknown>): string | null {
  switch (eventType) {
    case 'TransferDebited':
    case 'TransferCompleted':
    case 'TransferRefunded':
      return str(data.toAccountId);
    case 'TransferCredited':
      return str(data.fromAccountId);
    default:
      return null;
  }
}

export class LedgerState {
  readonly accounts = new Map<string, Account>();
  private readonly histories = new Map<string, Map<number, HistoryEntry>>();

  clear(): void {
    this.accounts.clear();
    this.histories.clear();
  }

  private addHistory(e: HistoryEntry): boolean {
    let h = this.histories.get(e.accountId);
    if (!h) {
      h = new Map();
      this.histories.set(e.accountId, h);
    }
    const known = h.get(e.version);
    if (known) {
      // A read-model row first, the pushed event later: keep what only the event knows.
      let merged = known;
      if (!known.counterparty && e.counterparty) merged = { ...merged, counterparty: e.counterparty };
      if (!known.reference && e.reference) merged = { ...merged, reference: e.reference };
      if (merged === known) return false;
      h.set(e.version, merged);
      return true;
    }
    h.set(e.version, e);
    return true;
  }

  /** Applies one event; an event at or below the known version is a duplicate. */
  applyEvent(ev: EventEnvelope): ApplyResult {
    const id = ev.aggregateId;
    this.addHistory(eventToHistoryEntry(ev));
    const d = ev.data ?? {};
    let acc = this.accounts.get(id);
    if (!acc) {
      acc = { accountId: id, currency: '', balance: 0, status: 'open', version: 0 };
      this.accounts.set(id, acc);
    }
    if (ev.version <= acc.version) return { applied: false, gap: false };
    const gap = ev.version !== acc.version + 1;
    switch (ev.eventType) {
      case 'AccountOpened':
        acc.ownerId = typeof d.ownerId === 'string' ? d.ownerId : acc.ownerId;
        acc.currency = typeof d.currency === 'string' ? d.currency : acc.currency;
        acc.balance = num(d.initialBalance) ?? 0;
        acc.status = 'open';
        break;
      case 'MoneyDeposited':
      case 'MoneyWithdrawn':
      // Transfers: the debit takes the money at once (it is "in flight"),
      // a credit adds it on the target, a refund brings it back.
      case 'TransferDebited':
      case 'TransferCredited':
      case 'TransferRefunded': {
        const after = num(d.balanceAfter);
        if (after !== null) acc.balance = after;
        break;
      }
      case 'TransferCompleted':
        // The target took the money: no balance change on the source.
        break;
      case 'AccountClosed':
        acc.status = 'closed';
        break;
      default: {
        // Event types added later: take balanceAfter when given.
        const after = num(d.balanceAfter);
        if (after !== null) acc.balance = after;
      }
    }
    acc.version = ev.version;
    return { applied: true, gap };
  }

  /** Merges the AccountBalances read model: only newer versions win. */
  mergeBalances(items: BalanceItem[]): string[] {
    const changed: string[] = [];
    for (const it of items) {
      let acc = this.accounts.get(it.accountId);
      if (!acc) {
        acc = { accountId: it.accountId, currency: it.currency, balance: it.balance, status: it.status, version: it.version, ownerId: it.ownerId };
        this.accounts.set(it.accountId, acc);
        changed.push(it.accountId);
        continue;
      }
      if (!acc.currency && it.currency) acc.currency = it.currency;
      if (it.version > acc.version) {
        acc.balance = it.balance;
        acc.status = it.status;
        acc.version = it.version;
        if (it.ownerId) acc.ownerId = it.ownerId;
        changed.push(it.accountId);
      }
    }
    return changed;
  }

  /** Merges TransactionHistory items; the newest one may move the account forward. */
  mergeHistory(accountId: string, items: HistoryItem[]): boolean {
    let changed = false;
    for (const it of items) {
      if (this.addHistory({ ...it, accountId })) changed = true;
    }
    const acc = this.accounts.get(accountId);
    if (acc && items.length > 0) {
      // Every row newer than the account, oldest first: the balance is the
      // last balanceAfter given (a newest TransferCompleted has none).
      const newer = items.filter((it) => it.version > acc.version).sort((a, b) => a.version - b.version);
      for (const it of newer) {
        if (it.balanceAfter !== null && it.balanceAfter !== undefined) acc.balance = it.balanceAfter;
        if (it.eventType === 'AccountClosed') acc.status = 'closed';
        acc.version = it.version;
        changed = true;
      }
    }
    return changed;
  }

  /** Newest first. */
  history(accountId: string, limit = 50): HistoryEntry[] {
    const h = this.histories.get(accountId);
    if (!h) return [];
    return [...h.values()].sort((a, b) => b.version - a.version).slice(0, limit);
  }

  list(): Account[] {
    return [...this.accounts.values()];
  }
}
