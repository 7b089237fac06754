// Read-your-writes: the highest `position` (global position of a command's
// last event) from the status envelopes of commands THIS TAB submitted. Read
// models are asked with `?minPosition=` at least that value (app.ts also
// counts the last event the socket brought), so they answer only once they
// have applied this tab's own writes (or 503 with Retry-After, which the
// HTTP client retries like any 5xx). Kept in memory and in sessionStorage
// (per tab), so a reload of the tab still reads its own writes.

import type { KeyValueStore } from './resume.js';

export const OWN_WRITES_KEY_PREFIX = 'ledgerline.ownPosition:';

export function ownWritesKey(userId: string): string {
  return OWN_WRITES_KEY_PREFIX + userId;
}

function position(v: unknown): number | null {
  return typeof v === 'number' && Number.isSafeInteger(v) && v > 0 ? v : null;
}

/** `?accountId=…&minPosition=N` style query: `minPosition` only when known. */
export function withMinPosition(params: Record<string, string>, minPosition: number | null): string {
  const q = new URLSearchParams(params);
  if (position(minPosition) !== null) q.set('minPosition', String(minPosition));
  const s = q.toString();
  return s ? `?${s}` : '';
}

export class OwnWrites {
  private highest: number | null;

  private constructor(private readonly userId: string, private readonly store: KeyValueStore | null, highest: number | null) {
    this.highest = highest;
  }

  /** A fresh sign-in: no own writes yet (a stored value of the user is dropped). */
  static fresh(userId: string, store: KeyValueStore | null): OwnWrites {
    const w = new OwnWrites(userId, store, null);
    OwnWrites.forget(userId, store);
    return w;
  }

  /** After a reload: the value this tab stored for the user, if any. */
  static restore(userId: string, store: KeyValueStore | null): OwnWrites {
    let highest: number | null = null;
    try {
      const raw = store?.getItem(ownWritesKey(userId));
      if (raw) highest = position(Number(raw));
    } catch {
      /* storage unavailable */
    }
    return new OwnWrites(userId, store, highest);
  }

  static forget(userId: string, store: KeyValueStore | null): void {
    try {
      store?.removeItem(ownWritesKey(userId));
    } catch {
      /* storage unavailable */
    }
  }

  /** The `minPosition` to send, or null when this tab has no known write. */
  get minPosition(): number | null {
    return this.highest;
  }

  /** A status envelope of one of this tab's commands carried `position`; true when it moved the value. */
  note(p: unknown): boolean {
    const v = position(p);
    if (v === null || (this.highest !== null && v <= this.highest)) return false;
    this.highest = v;
    try {
      this.store?.setItem(ownWritesKey(this.userId), String(v));
    } catch {
      /* storage full or unavailable: the in-memory value still works */
    }
    return true;
  }
}
