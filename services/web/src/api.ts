// The HTTP side of the app: a client that retries network errors and 5xx
// with backoff — every try of one request is the same request, so a command
// carries the same `commandId` each time — and the routes the app reads.
import { backoffDelay, type BackoffPolicy } from './backoff.js';
import { commandPath, type CommandName } from './requests.js';
import { withMinPosition } from './ryw.js';
import type { BalanceItem, EventEnvelope } from './state.js';

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
/** A page of the event log: the events themselves, oldest first; a full page names the next in `Link`. */
export type EventPage = EventEnvelope[];
/** `GET /queries/account/{id}`: the account rebuilt from its events (now, or as it was). */
export interface AccountAt {
  accountId: string;
  ownerId?: string;
  currency: string;
  balance: unknown;
  status: string;
  version: number;
  inFlight?: unknown;
  asOf?: string;
  rebuiltFrom?: { snapshotVersion: number | null; eventsReplayed: number };
}
export interface ProjectionView {
  name: string;
  /** `live`, `rebuilding` or `unreachable`. */
  status: string;
  checkpoint: number | null;
  eventsApplied: number | null;
  lag: number | null;
  lastUpdated: string | null;
  rebuild?: { phase?: string; replayed?: number | null; head?: number | null } | null;
  lastRebuild?: { outcome?: string; replayed?: number; finishedAt?: string } | null;
}
export interface ProjectionList { headPosition: number | null; items: ProjectionView[] }

// ---- results --------------------------------------------------------------

export type ApiResult<T> =
  | { ok: true; status: number; body: T; attempts: number; headers: Headers }
  | { ok: false; kind: 'problem'; status: number; problem: Problem; attempts: number }
  | { ok: false; kind: 'network'; message: string; attempts: number }
  | { ok: false; kind: 'stopped'; attempts: number };

export type ApiFailure = Extract<ApiResult<unknown>, { ok: false }>;

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
  return { type: 'about:blank', title: res.statusText || 'The server refused the request', status: res.status, detail: text && text.length < 300 ? text : undefined };
}

/** The `rel="next"` target of an RFC 8288 `Link` header, or null. */
export function nextLink(header: string | null): string | null {
  if (!header) return null;
  for (const part of header.split(',')) {
    const m = /<([^>]*)>\s*;(.*)$/.exec(part.trim());
    if (m && /\brel="?next"?/.test(m[2])) return m[1];
  }
  return null;
}

export interface RetryInfo { path: string; attempt: number; maxAttempts: number; delayMs: number; reason: string }

export interface RequestOptions {
  body?: unknown;
  headers?: Record<string, string>;
  auth?: boolean;
  /** Before each retry (the UI shows "retrying… attempt 2 of 8"). */
  onRetry?: (info: RetryInfo) => void;
  /** Checked before every retry: true ends the retries (the outcome is known already). */
  shouldStop?: () => boolean;
}

export interface ApiClientOptions {
  baseUrl?: string;
  getToken: () => string | null;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  retry?: RetryPolicy;
}

/** The most pages of balances read in one go (500 a page at most on the server). */
const MAX_BALANCE_PAGES = 1000;

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
   * the body and headers are the same on every try. 4xx is returned at once.
   */
  async request<T>(method: string, path: string, init: RequestOptions = {}): Promise<ApiResult<T>> {
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
          return { ok: true, status: res.status, body, attempts: attempt, headers: res.headers };
        }
        const problem = await readProblem(res);
        last = { ok: false, kind: 'problem', status: res.status, problem, attempts: attempt };
        if (res.status < 500) return last;
        reason = 'the server is unavailable';
      } catch (e) {
        const message = e instanceof Error ? e.message : String(e);
        last = { ok: false, kind: 'network', message, attempts: attempt };
        reason = 'the network failed';
      }
      if (attempt < max) {
        if (init.shouldStop?.()) return { ok: false, kind: 'stopped', attempts: attempt };
        const delayMs = backoffDelay(attempt - 1, this.retry, this.random);
        init.onRetry?.({ path, attempt: attempt + 1, maxAttempts: max, delayMs, reason });
        await this.sleep(delayMs);
        if (init.shouldStop?.()) return { ok: false, kind: 'stopped', attempts: attempt };
      }
    }
    return last;
  }

  login(userId: string, role?: string): Promise<ApiResult<LoginResponse>> {
    const body: Record<string, string> = { userId };
    if (role && role !== 'user') body.role = role;
    return this.request<LoginResponse>('POST', '/auth/demo-login', { body, auth: false });
  }

  /** A command; `body` carries the intent's `commandId`, so a retry is the same command. */
  command(name: CommandName, body: unknown, opts: Pick<RequestOptions, 'onRetry' | 'shouldStop'> = {}): Promise<ApiResult<AcceptedResponse>> {
    return this.request<AcceptedResponse>('POST', commandPath(name), { body, ...opts });
  }

  /**
   * Every page of AccountBalances, following `Link: <…>; rel="next"`.
   * `minPosition` (read-your-writes): the server answers once the read model
   * has applied that event, else 503 with Retry-After, retried like any 5xx.
   */
  async balances(minPosition: number | null = null): Promise<ApiResult<{ items: BalanceItem[] }>> {
    const items: BalanceItem[] = [];
    let path: string | null = `/projections/AccountBalances${withMinPosition({}, minPosition)}`;
    let attempts = 0;
    for (let page = 0; path && page < MAX_BALANCE_PAGES; page++) {
      const r: ApiResult<{ items: BalanceItem[] }> = await this.request('GET', path);
      if (!r.ok) return r;
      attempts += r.attempts;
      items.push(...(r.body.items ?? []));
      const next = nextLink(r.headers.get('link'));
      path = next && next.startsWith('/') ? withMinPositionKept(next, minPosition) : null;
      if (!path) return { ...r, attempts, body: { ...r.body, items } };
    }
    return { ok: false, kind: 'problem', status: 508, attempts, problem: { type: 'about:blank', title: 'Too many pages of balances', status: 508 } };
  }

  /** One page of an account's event log: versions after `afterVersion`, oldest first. */
  accountEvents(accountId: string, afterVersion: number, limit = 100): Promise<ApiResult<EventPage>> {
    const q = new URLSearchParams({ afterVersion: String(Math.max(0, afterVersion)), limit: String(limit) });
    return this.request('GET', `/events/account/${encodeURIComponent(accountId)}?${q}`);
  }

  /** The account rebuilt as it was after `version` events, or at the instant `asOf` (RFC 3339). */
  accountAt(accountId: string, at: { version: number } | { asOf: string }): Promise<ApiResult<AccountAt>> {
    const q = 'version' in at ? `version=${at.version}` : `asOf=${encodeURIComponent(at.asOf)}`;
    return this.request('GET', `/queries/account/${encodeURIComponent(accountId)}?${q}`);
  }

  /** Every read model: checkpoint, lag and state (live / rebuilding / unreachable). */
  projections(): Promise<ApiResult<ProjectionList>> {
    return this.request('GET', '/projections');
  }
}

/** A next-page link keeps the read's `minPosition` (the server's link may leave it out). */
function withMinPositionKept(path: string, minPosition: number | null): string {
  if (minPosition === null || /[?&]minPosition=/.test(path)) return path;
  return `${path}${path.includes('?') ? '&' : '?'}minPosition=${minPosition}`;
}
