// What the page says about commands and their outcomes, in words a person
// reads: the account (and for a transfer both accounts) named, the server's
// field names translated to the labels on screen, no status codes.
import { formatWireAmount } from './money.js';
import type { Problem } from './api.js';
import type { CommandIntent } from './intents.js';
import type { CommandName } from './requests.js';
import type { StatusEnvelope } from './state.js';

/** "Deposit of 5.00 into acc-1": what a command does, from its body (amounts as sent, major units). */
export function commandLabel(name: CommandName, body: Record<string, unknown>): string {
  const s = (k: string) => (typeof body[k] === 'string' ? (body[k] as string) : '');
  switch (name) {
    case 'deposit':
      return `Deposit of ${s('amount')} into ${s('accountId')}`;
    case 'withdraw':
      return `Withdrawal of ${s('amount')} from ${s('accountId')}`;
    case 'transfer':
      return `Transfer of ${s('amount')} from ${s('fromAccountId')} to ${s('toAccountId')}`;
    case 'open-account':
      return s('accountId') ? `Opening account ${s('accountId')}` : 'Opening an account';
    case 'close-account':
      return `Closing account ${s('accountId')}`;
  }
}

/**
 * What an outcome was about, from its events when it has any (so another
 * tab, which did not send the command, names it just as well), else from
 * the command as this tab sent it.
 */
export function outcomeLabel(env: StatusEnvelope, sentLabel?: string): string {
  const ev = env.events?.[0];
  if (ev) {
    const amount = formatWireAmount(ev.data?.amount);
    const acc = ev.aggregateId;
    switch (ev.eventType) {
      case 'MoneyDeposited': if (amount) return `Deposit of ${amount} into ${acc}`; break;
      case 'MoneyWithdrawn': if (amount) return `Withdrawal of ${amount} from ${acc}`; break;
      case 'AccountOpened': return `Opening account ${acc}`;
      case 'AccountClosed': return `Closing account ${acc}`;
      case 'TransferDebited':
      case 'TransferCompleted':
      case 'TransferRefunded': {
        const to = typeof ev.data?.toAccountId === 'string' ? ev.data.toAccountId : null;
        if (amount && to) return `Transfer of ${amount} from ${acc} to ${to}`;
        break;
      }
    }
  }
  return sentLabel ?? `A command on ${env.entityId}`;
}

/** The toast of an outcome: "Deposit of 5.00 into acc-1 succeeded", "… rejected: Insufficient funds". */
export function outcomeText(env: StatusEnvelope, sentLabel?: string): string {
  const label = outcomeLabel(env, sentLabel);
  if (env.status === 'succeeded') return `${label} succeeded`;
  const reason = env.error?.message ?? (env.status === 'rejected' ? 'refused' : 'the system could not decide');
  return `${label} ${env.status}: ${reason}`;
}

/** The labels on screen for the fields the server names. */
export const FIELD_LABELS: Record<string, string> = {
  accountId: 'Account',
  fromAccountId: 'From account',
  toAccountId: 'To account',
  amount: 'Amount',
  reference: 'Reference',
  initialBalance: 'Initial balance',
  currency: 'Currency',
  commandId: 'Command id',
};

/** "toAccountId", "must differ from fromAccountId" → "To account must differ from the From account". */
export function fieldMessage(field: string, message: string): string {
  const label = FIELD_LABELS[field] ?? 'The request';
  let m = message;
  for (const [name, l] of Object.entries(FIELD_LABELS)) m = m.replace(new RegExp(`\\b${name}\\b`, 'g'), `the ${l}`);
  return `${label} ${m}`;
}

/** A problem document in a person's words: its field errors, else its detail, else its title. */
export function problemText(p: Pick<Problem, 'title' | 'detail' | 'errors'>): string {
  const errs = p.errors ?? [];
  if (errs.length > 0) return errs.map((e) => fieldMessage(e.field, e.message)).join('; ');
  return p.detail || p.title;
}

/** "2 pending", or what the one being retried is at: "retrying… (attempt 2 of 8)". */
export function pendingText(intents: CommandIntent[]): string {
  if (intents.length === 0) return '';
  const retrying = intents.find((i) => i.phase === 'retrying');
  if (retrying) return `retrying… (attempt ${retrying.attempt} of ${retrying.maxAttempts})`;
  return `${intents.length} pending`;
}
