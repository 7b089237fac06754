// An account's history as a person reads it, made from its events alone —
// the event store's truth, whether they were pushed live, replayed on
// resume or read from the event log after a reload. So a row reads the same
// in every tab and after every reload. One row per movement of money (and
// one for opening and closing): a transfer's completion is not a second
// transfer, it marks the debit's row "completed".
import { minorFromWire } from './money.js';
import type { EventEnvelope } from './state.js';

export type TransferState = 'in flight' | 'completed' | 'refunded';

export interface HistoryRow {
  version: number;
  eventType: string;
  /** "Deposit", "Transfer to acc-2", "Account opened". */
  label: string;
  /** A deposit's reference ("Invoice 42"). */
  reference: string | null;
  /** More about the row: "to acc-9" for a refund. */
  detail: string | null;
  /** Money into (+) or out of (−) the account; "" when it moved none. */
  sign: '+' | '−' | '';
  /** Minor units, null when the row moved no money. */
  amount: number | null;
  balanceAfter: number | null;
  timestamp: string;
  /** For a transfer's debit: where the money is now. */
  transferState?: TransferState;
}

/** How many rows an account's card shows. */
export const HISTORY_ROWS = 50;

function text(v: unknown): string | null {
  return typeof v === 'string' && v !== '' ? v : null;
}

/** The transfer steps that follow a debit on the same account, by the transfer's correlation id. */
function transferStates(events: EventEnvelope[]): Map<string, TransferState> {
  const states = new Map<string, TransferState>();
  for (const ev of events) {
    const id = ev.metadata?.correlationId;
    if (!id) continue;
    if (ev.eventType === 'TransferCompleted') states.set(id, 'completed');
    else if (ev.eventType === 'TransferRefunded') states.set(id, 'refunded');
  }
  return states;
}

function row(ev: EventEnvelope, states: Map<string, TransferState>): HistoryRow | null {
  const d = ev.data ?? {};
  const base = {
    version: ev.version,
    eventType: ev.eventType,
    reference: null,
    detail: null,
    amount: minorFromWire(d.amount),
    balanceAfter: minorFromWire(d.balanceAfter),
    timestamp: ev.metadata?.timestamp ?? '',
  };
  switch (ev.eventType) {
    case 'AccountOpened': {
      const initial = minorFromWire(d.initialBalance) ?? 0;
      return { ...base, label: 'Account opened', sign: initial > 0 ? '+' : '', amount: initial > 0 ? initial : null, balanceAfter: initial };
    }
    case 'MoneyDeposited':
      return { ...base, label: 'Deposit', sign: '+', reference: text(d.reference) };
    case 'MoneyWithdrawn':
      return { ...base, label: 'Withdrawal', sign: '−' };
    case 'TransferDebited':
      return {
        ...base,
        label: `Transfer to ${text(d.toAccountId) ?? 'another account'}`,
        sign: '−',
        transferState: states.get(ev.metadata?.correlationId ?? '') ?? 'in flight',
      };
    case 'TransferCredited':
      return { ...base, label: `Transfer from ${text(d.fromAccountId) ?? 'another account'}`, sign: '+' };
    case 'TransferRefunded': {
      const to = text(d.toAccountId);
      return { ...base, label: 'Transfer refunded', detail: to ? `to ${to}` : null, sign: '+' };
    }
    case 'TransferCompleted':
      // Moves no money: it is the state of the debit's row.
      return null;
    case 'AccountClosed':
      return { ...base, label: 'Account closed', sign: '', amount: null, balanceAfter: null };
    default:
      // An event type added later: its name, and its amounts if it has any.
      return { ...base, label: ev.eventType, sign: '' };
  }
}

/** The rows of an account's history, newest first. */
export function historyRows(events: EventEnvelope[], limit = HISTORY_ROWS): HistoryRow[] {
  const ordered = [...events].sort((a, b) => b.version - a.version);
  const states = transferStates(ordered);
  const rows: HistoryRow[] = [];
  for (const ev of ordered) {
    const r = row(ev, states);
    if (r) rows.push(r);
    if (rows.length >= limit) break;
  }
  return rows;
}

/** The row as one line of text (what a test or a screen reader compares). */
export function rowText(r: HistoryRow): string {
  const parts = [r.label];
  if (r.reference) parts.push(r.reference);
  if (r.detail) parts.push(r.detail);
  if (r.transferState) parts.push(r.transferState);
  return parts.join(' · ');
}
