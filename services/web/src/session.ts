// The signed-in session, shared by every tab of the browser: kept in
// localStorage, so a new tab starts signed in, and followed through
// `storage` events, so signing out (or in as someone else) in one tab does
// the same in all, and a token one tab renewed reaches the others.

export interface Session { token: string; userId: string; role?: string }

export const SESSION_KEY = 'ledgerline.session';

/** The subset of `Storage` used (localStorage in the browser). */
export interface SessionStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

function parse(raw: string | null): Session | null {
  if (!raw) return null;
  try {
    const s = JSON.parse(raw) as Session;
    return s && typeof s.token === 'string' && typeof s.userId === 'string' ? s : null;
  } catch {
    return null;
  }
}

/** The token's `exp` and `iat` (ms since the epoch), read from its payload; null when unreadable. */
export function tokenTimes(token: string): { expiresAt: number; issuedAt: number | null } | null {
  const part = token.split('.')[1];
  if (!part) return null;
  try {
    const json = atob(part.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(part.length / 4) * 4, '='));
    const p = JSON.parse(json) as { exp?: unknown; iat?: unknown };
    if (typeof p.exp !== 'number') return null;
    return { expiresAt: p.exp * 1000, issuedAt: typeof p.iat === 'number' ? p.iat * 1000 : null };
  } catch {
    return null;
  }
}

/** True when the token is past its `exp` (a token without a readable `exp` is taken as valid: the server decides). */
export function tokenExpired(token: string, now = Date.now()): boolean {
  const t = tokenTimes(token);
  return t !== null && t.expiresAt <= now;
}

/**
 * How long from `now` to renew a token: a quarter of its life before it
 * ends, at most 5 minutes before (an 8-hour demo token is renewed 5 minutes
 * before its end, a 20-second one 5 seconds before).
 */
export function renewDelay(token: string, now = Date.now()): number | null {
  const t = tokenTimes(token);
  if (!t) return null;
  const life = t.expiresAt - (t.issuedAt ?? now);
  const lead = Math.min(5 * 60_000, Math.max(1_000, life / 4));
  return Math.max(0, t.expiresAt - lead - now);
}

export class SharedSession {
  private readonly listeners: ((s: Session | null) => void)[] = [];

  constructor(private readonly store: SessionStore | null, win?: Pick<Window, 'addEventListener'>) {
    win?.addEventListener('storage', (e: StorageEvent) => {
      // Another tab changed the session (localStorage.clear() has a null key).
      if (e.key !== SESSION_KEY && e.key !== null) return;
      const s = parse(e.newValue);
      for (const l of this.listeners) l(s);
    });
  }

  /** The session of this browser, if one is signed in with a token not yet expired. */
  load(): Session | null {
    let s: Session | null = null;
    try {
      s = parse(this.store?.getItem(SESSION_KEY) ?? null);
    } catch {
      return null;
    }
    return s && !tokenExpired(s.token) ? s : null;
  }

  save(s: Session): void {
    try {
      this.store?.setItem(SESSION_KEY, JSON.stringify(s));
    } catch {
      /* storage unavailable: this tab still works */
    }
  }

  clear(): void {
    try {
      this.store?.removeItem(SESSION_KEY);
    } catch {
      /* storage unavailable */
    }
  }

  /** Called when another tab signs in, out, or renews the token. */
  onChange(listener: (s: Session | null) => void): void {
    this.listeners.push(listener);
  }
}
