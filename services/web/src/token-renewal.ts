// Keeps the session's token alive: before it expires, a new one is asked
// for (demo sign-in again, the only way this system issues tokens), shared
// with the other tabs, and handed to the socket (`refresh` frame) so it is
// not closed with 4001. When no new token can be had, the session ends
// cleanly at the old token's expiry, before the server cuts the socket.
import type { ApiClient } from './api.js';
import { renewDelay, tokenTimes, type Session } from './session.js';

/** A renewal that failed is tried again after this (or sooner, before the expiry). */
const RETRY_MS = 30_000;
/** The session ends this long before the token's `exp`, ahead of the server's 4001 close. */
const END_BEFORE_EXPIRY_MS = 500;

export interface RenewalDeps {
  api: ApiClient;
  session: () => Session | null;
  /** Keeps the new token (and shares it with the other tabs). */
  save: (s: Session) => void;
  /** Hands the new token to this tab's socket. */
  refreshSocket: (token: string) => void;
  /** The token expired without a successor. */
  onExpired: () => void;
  random?: () => number;
}

export class TokenRenewal {
  private renewTimer: ReturnType<typeof setTimeout> | null = null;
  private expiryTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly deps: RenewalDeps) {}

  /** (Re)arms the timers for the session's current token. */
  schedule(): void {
    this.stop();
    const s = this.deps.session();
    if (!s) return;
    const times = tokenTimes(s.token);
    const delay = renewDelay(s.token);
    if (!times || delay === null) return; // a token without `exp`: nothing to renew
    // A little jitter, so tabs sharing the token do not all ask at once.
    const jitter = Math.floor((this.deps.random ?? Math.random)() * Math.min(2_000, delay / 10));
    this.renewTimer = setTimeout(() => void this.renew(s.token), delay + jitter);
    this.expiryTimer = setTimeout(() => {
      if (this.deps.session()?.token === s.token) this.deps.onExpired();
    }, Math.max(0, times.expiresAt - Date.now() - END_BEFORE_EXPIRY_MS));
  }

  stop(): void {
    if (this.renewTimer) clearTimeout(this.renewTimer);
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    this.renewTimer = this.expiryTimer = null;
  }

  private async renew(old: string): Promise<void> {
    this.renewTimer = null;
    const s = this.deps.session();
    if (!s || s.token !== old) return; // another tab renewed it meanwhile
    const r = await this.deps.api.login(s.userId, s.role);
    const now = this.deps.session();
    if (!now || now.token !== old) return;
    if (r.ok && r.body.token && (r.body.userId ?? s.userId) === s.userId) {
      const next: Session = { ...s, token: r.body.token };
      this.deps.save(next);
      this.deps.refreshSocket(next.token);
      this.schedule();
      return;
    }
    // No new token now: try again while the old one lasts (the expiry timer ends the session).
    const left = (tokenTimes(old)?.expiresAt ?? 0) - Date.now();
    if (left > 2 * END_BEFORE_EXPIRY_MS) this.renewTimer = setTimeout(() => void this.renew(old), Math.min(RETRY_MS, left / 2));
  }
}
