// Where the socket resumes from: per signed-in user, the highest status
// `seq` received and the highest event `globalPosition` applied. Kept in
// memory and mirrored to sessionStorage, so a reload resumes as well.
//
// A reconnect opens `/ws?access_token=…&statusSeq=N&eventPosition=P`; the
// server then replays the status envelopes with seq > N and the events of
// the user's accounts with globalPosition > P before the live frames.

/** The subset of `Storage` used here (sessionStorage in the browser). */
export interface KeyValueStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export interface ResumePoint {
  userId: string;
  /** Highest status envelope `seq` received; null: none yet. */
  statusSeq: number | null;
  /** Highest event `globalPosition` applied; null: none yet. */
  eventPosition: number | null;
  /** When this sign-in started (ms since the epoch, client clock). */
  since: number;
}

export const RESUME_KEY_PREFIX = 'ledgerline.resume:';

export function resumeKey(userId: string): string {
  return RESUME_KEY_PREFIX + userId;
}

function position(v: unknown): number | null {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : null;
}

/** The query parameters of a resuming connect (unknown positions are sent as 0: replay everything). */
export function resumeQuery(p: Pick<ResumePoint, 'statusSeq' | 'eventPosition'>): string {
  return `statusSeq=${p.statusSeq ?? 0}&eventPosition=${p.eventPosition ?? 0}`;
}

export class ResumeTracker {
  private point: ResumePoint;

  private constructor(point: ResumePoint, private readonly store: KeyValueStore | null) {
    this.point = point;
  }

  /** A fresh sign-in: nothing to resume from; any stored point of the user is dropped. */
  static fresh(userId: string, store: KeyValueStore | null, now = Date.now()): ResumeTracker {
    const t = new ResumeTracker({ userId, statusSeq: null, eventPosition: null, since: now }, store);
    t.save();
    return t;
  }

  /** The point stored for this user (after a reload), or null when there is none (or it is unreadable). */
  static restore(userId: string, store: KeyValueStore | null): ResumeTracker | null {
    if (!store) return null;
    let raw: string | null;
    try {
      raw = store.getItem(resumeKey(userId));
    } catch {
      return null;
    }
    if (!raw) return null;
    let p: Partial<ResumePoint>;
    try {
      p = JSON.parse(raw) as Partial<ResumePoint>;
    } catch {
      return null;
    }
    if (!p || typeof p !== 'object' || p.userId !== userId) return null;
    const since = typeof p.since === 'number' && Number.isFinite(p.since) ? p.since : 0;
    return new ResumeTracker({ userId, statusSeq: position(p.statusSeq), eventPosition: position(p.eventPosition), since }, store);
  }

  /** Removes the stored point of a user (sign-out). */
  static forget(userId: string, store: KeyValueStore | null): void {
    try {
      store?.removeItem(resumeKey(userId));
    } catch {
      /* storage unavailable */
    }
  }

  get current(): Readonly<ResumePoint> {
    return { ...this.point };
  }

  /** A status frame arrived; returns true when it moved the point. */
  noteStatus(seq: unknown): boolean {
    const s = position(seq);
    if (s === null || (this.point.statusSeq !== null && s <= this.point.statusSeq)) return false;
    this.point.statusSeq = s;
    this.save();
    return true;
  }

  /** An event was applied (or was already reflected); returns true when it moved the point. */
  noteEvent(globalPosition: unknown): boolean {
    const g = position(globalPosition);
    if (g === null || (this.point.eventPosition !== null && g <= this.point.eventPosition)) return false;
    this.point.eventPosition = g;
    this.save();
    return true;
  }

  /** `statusSeq=N&eventPosition=P` for the next connect. */
  query(): string {
    return resumeQuery(this.point);
  }

  private save(): void {
    try {
      this.store?.setItem(resumeKey(this.point.userId), JSON.stringify(this.point));
    } catch {
      /* storage full or unavailable: the in-memory point still works for this page */
    }
  }
}
