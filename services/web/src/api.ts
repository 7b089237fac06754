// HTTP side of the app: request builders (pure, tested against the JSON
// Schemas in proto/schemas) and a client that retries network errors and 5xx
// with backoff, always reusing the same Idempotency-Key.
import { backoffDelay, type BackoffPolicy } from './backoff.js';
import { withMinPosition } from './ryw.js';

export interface RetryPolicy extends BackoffPolicy {
  /** Total tries, the first one included. */
  maxAttempts: number;
}

export const DEFAULT_HTTP_RETRY: RetryPolicy = { baseMs: 200, factor: 2, maxMs: 5000, maxAttempts: 8 };

// ---- wire types -----------------------------------------------------------

export interface FieldError { field: string; message: string }
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string | null;
  errors?: FieldError[];
}
export interface AcceptedResponse { commandId: string; status: string; statusUrl: string }
export interface LoginResponse { token: string; userId: string; role?: string }

export interface OpenAccountRequest { accountId?: string; initialBalance?: string; currency?: string }
export interface AmountRequest { accountId: string; amount: string }
export interface DepositRequest extends AmountRequest { reference?: string }
export interface CloseAccountRequest { accountId: string }
export interface TransferRequest { fromAccountId: string; toAccountId: string; amount: string }

export interface BalanceItem {
  accountId: string;
  ownerId?: string;
  currency: string;
  balance: number;
  status: 'open' | 'closed' | string;
  version: number;
  updatedAt?: string;
}
export interface HistoryItem {
  eventId: string;
  accountId: string;
  version: number;
  eventType: string;
  amount: number | null;
  /** Null for AccountClosed and TransferCompleted (no balance change). */
  balanceAfter: number | null;
  commandId?: string;
  timestamp: string;
}

export type CommandName = 'open-account' | 'deposit' | 'withdraw' | 'close-account' | 'transfer';

// ---- request builders -----------------------------------------------------

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
 * `toAccountId`), so the app shows the server's own words.
 */
export function buildTransferBody(fromAccountId: string, toAccountId: string, amountWire: string): TransferRequest {
  return { fromAccountId, toAccountId: toAccountId.trim(), amount: amountWire };
}

export function commandPath(name: CommandName): string {
  return `/commands/${name}`;
}

/** The headers of one command POST. */
export function commandHeaders(token: string, idempotencyKey: string): Record<string, string> {
  return {
    Authorization: `Bearer ${token}`,
    'Content-Type': 'application/json',
    'Idempotency-Key': idempotencyKey,
  };
}

// ---- results --------------------------------------------------------------

export type ApiResult<T> =
  | { ok: true; status: number; body: T; attempts: number }
  | { ok: false; kind: 'problem'; status: number; problem: Problem; attempts: number }
  | { ok: false; kind: 'network'; message: string; attempts: number };

/** Reads a non-2xx answer as a problem document, or makes one up for it. */
export async function readProblem(res: Response): Promise<Problem> {
  const text = await res.text().catch(() => '');
  const ct = res.headers.get('content-type') ?? '';
  if (text && /json/i.test(ct)) {
    try {
      const p = JSON.parse(text) as Partial<Problem>;
      if (p && typeof p === 'object' && typeof p.title === 'string') {
        return { type: p.type ?? 'about:blank', title: p.title, status: p.status ?? res.status, detail: p.detail, errors: p.errors };
      }
    } catch {
      /* fall through */
    }
  }
  return { type: 'about:blank', title: res.statusText || `HTTP ${res.status}`, status: res.status, detail: text && text.length < 300 ? text : undefined };
}

/** A line a person can read: "Invalid request: amount: must be positive". */
export function describeProblem(p: Problem): string {
  const parts = [p.title];
  if (p.detail) parts.push(p.detail);
  for (const e of p.errors ?? []) parts.push(`${e.field}: ${e.message}`);
  return parts.join(' — ');
}

export interface ApiClientOptions {
  baseUrl?: string;
  getToken: () => string | null;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  retry?: RetryPolicy;
  /** Called before each retry, for the UI ("retrying in 400 ms"). */
  onRetry?: (info: { path: string; attempt: number; delayMs: number; reason: string }) => void;
}

export class ApiClient {
  private readonly baseUrl: string;
  private readonly fetchImpl: typeof fetch;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  readonly retry: RetryPolicy;

  constructor(private readonly opts: ApiClientOptions) {
    this.baseUrl = opts.baseUrl ?? '';
    this.fetchImpl = opts.fetch ?? ((...a: Parameters<typeof fetch>) => fetch(...a));
    this.sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.random = opts.random ?? Math.random;
    this.retry = opts.retry ?? DEFAULT_HTTP_RETRY;
  }

  /**
   * One logical request. Network errors and 5xx are retried with backoff;
   * the headers (so the Idempotency-Key) are the same on every try. 4xx is
   * returned at once as a problem.
   */
  async request<T>(method: string, path: string, init: { body?: unknown; headers?: Record<string, string>; auth?: boolean } = {}): Promise<ApiResult<T>> {
    const headers: Record<string, string> = { Accept: 'application/json', ...(init.headers ?? {}) };
    if (init.auth !== false) {
      const token = this.opts.getToken();
      if (token) headers.Authorization = `Bearer ${token}`;
    }
    let payload: string | undefined;
    if (init.body !== undefined) {
      payload = JSON.stringify(init.body);
      headers['Content-Type'] = 'application/json';
    }
    const max = Math.max(1, this.retry.maxAttempts);
    let last: ApiResult<T> = { ok: false, kind: 'network', message: 'not sent', attempts: 0 };
    for (let attempt = 1; attempt <= max; attempt++) {
      let reason: string;
      try {
        const res = await this.fetchImpl(this.baseUrl + path, { method, headers, body: payload });
        if (res.ok) {
          const text = await res.text();
          let body: T;
          try {
            body = (text ? JSON.parse(text) : null) as T;
          } catch {
            // Not retried: the server did answer, just not as agreed.
            return { ok: false, kind: 'problem', status: res.status, attempts: attempt, problem: { type: 'about:blank', title: 'Unreadable answer', status: res.status, detail: 'the server answered with something that is not JSON' } };
          }
          return { ok: true, status: res.status, body, attempts: attempt };
        }
        const problem = await readProblem(res);
        last = { ok: false, kind: 'problem', status: res.status, problem, attempts: attempt };
        if (res.status < 500) return last;
        reason = `HTTP ${res.status}`;
      } catch (e) {
        const message = e instanceof Error ? e.message : String(e);
        last = { ok: false, kind: 'network', message, attempts: attempt };
        reason = message;
      }
      if (attempt < max) {
        const delayMs = backoffDelay(attempt - 1, this.retry, this.random);
        this.opts.onRetry?.({ path, attempt, delayMs, reason });
        await this.sleep(delayMs);
      }
    }
    return last;
  }

  login(userId: string): Promise<ApiResult<LoginResponse>> {
    return this.request<LoginResponse>('POST', '/auth/demo-login', { body: { userId }, auth: false });
  }

  command(name: CommandName, body: unknown, idempotencyKey: string): Promise<ApiResult<AcceptedResponse>> {
    return this.request<AcceptedResponse>('POST', commandPath(name), { body, headers: { 'Idempotency-Key': idempotencyKey } });
  }

  /**
   * Read models. `minPosition` (read-your-writes): the server answers once the
   * read model has applied the event at that global position, else 503 with
   * Retry-After, retried here like any 5xx.
   */
  balances(minPosition: number | null = null): Promise<ApiResult<{ items: BalanceItem[] }>> {
    return this.request('GET', `/projections/AccountBalances${withMinPosition({}, minPosition)}`);
  }

  history(accountId: string, limit = 50, minPosition: number | null = null): Promise<ApiResult<{ items: HistoryItem[] }>> {
    return this.request('GET', `/projections/TransactionHistory${withMinPosition({ accountId, limit: String(limit) }, minPosition)}`);
  }
}
