// Command bodies, built from what a person filled in (pure; tested against
// the JSON Schemas in proto/schemas). The same body goes over the socket
// (a `command` frame) or HTTP (`POST /commands/<name>`).

export type CommandName = 'open-account' | 'deposit' | 'withdraw' | 'close-account' | 'transfer';

export interface OpenAccountRequest { accountId?: string; initialBalance?: string; currency?: string }
export interface AmountRequest { accountId: string; amount: string }
export interface DepositRequest extends AmountRequest { reference?: string }
export interface CloseAccountRequest { accountId: string }
export interface TransferRequest { fromAccountId: string; toAccountId: string; amount: string }

/** Only the fields the person filled in; absent ones are left out entirely. */
export function buildOpenAccountBody(input: { accountId?: string; initialBalance?: string; currency?: string }): OpenAccountRequest {
  const body: OpenAccountRequest = {};
  const id = input.accountId?.trim();
  if (id) body.accountId = id;
  const init = input.initialBalance?.trim();
  if (init) body.initialBalance = init;
  const cur = input.currency?.trim();
  if (cur) body.currency = cur.toUpperCase();
  return body;
}

export function buildAmountBody(accountId: string, amountWire: string): AmountRequest {
  return { accountId, amount: amountWire };
}

export const REFERENCE_MAX = 140;

/**
 * Checks a deposit reference as typed. Empty (after trimming) means none.
 * Otherwise 1–140 characters (code points), with no control characters.
 */
export function parseReferenceInput(raw: string): { ok: true; value: string | null } | { ok: false; message: string } {
  const value = raw.trim();
  if (value === '') return { ok: true, value: null };
  if (/\p{Cc}/u.test(value)) return { ok: false, message: 'Reference must not contain control characters' };
  if ([...value].length > REFERENCE_MAX) return { ok: false, message: `Reference must be at most ${REFERENCE_MAX} characters` };
  return { ok: true, value };
}

/** A deposit; `reference` is sent only when there is one. */
export function buildDepositBody(accountId: string, amountWire: string, reference?: string | null): DepositRequest {
  const body: DepositRequest = { accountId, amount: amountWire };
  if (reference) body.reference = reference;
  return body;
}

export function buildCloseBody(accountId: string): CloseAccountRequest {
  return { accountId };
}

/**
 * A transfer from one of the user's accounts to any account id. A transfer
 * to the same account is left for the server to refuse (422, field
 * `toAccountId`), so the app shows the server's own reason.
 */
export function buildTransferBody(fromAccountId: string, toAccountId: string, amountWire: string): TransferRequest {
  return { fromAccountId, toAccountId: toAccountId.trim(), amount: amountWire };
}

/** The body with the intent's command id: every try of one intent carries the same one. */
export function withCommandId<T extends object>(body: T, commandId: string): T & { commandId: string } {
  return { ...body, commandId };
}

export function commandPath(name: CommandName): string {
  return `/commands/${name}`;
}
