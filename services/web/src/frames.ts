// What the socket brings, applied: status envelopes (their events, then the
// outcome), event frames (deduplicated by version; a version gap is healed
// from the account's event log), and error frames — answers to our command
// and refresh frames are someone else's business (command-sender.ts, the
// refresh below), RESUME_INCOMPLETE means read what was missed.
import type { AccountLoader } from './account-loader.js';
import type { CommandSender } from './command-sender.js';
import type { Outcomes } from './outcomes.js';
import type { ResumeTracker } from './resume.js';
import type { ServerFrame } from './socket.js';
import type { EventEnvelope, LedgerState, StatusEnvelope } from './state.js';
import { toast } from './toasts.js';
import { problemText } from './wording.js';

/** Request ids of this app's `refresh` frames start with this. */
export const REFRESH_PREFIX = 'refresh:';

export interface FrameDeps {
  ledger: LedgerState;
  loader: AccountLoader;
  outcomes: Outcomes;
  sender: CommandSender;
  resume: () => ResumeTracker | null;
  render: () => void;
  /** Drops the socket so that it reconnects (with the session's current token). */
  reconnect: () => void;
}

export class FrameHandler {
  constructor(private readonly deps: FrameDeps) {}

  onFrame(frame: ServerFrame): void {
    const { sender, outcomes, loader, render } = this.deps;
    if (sender.onFrame(frame)) return;
    switch (frame.type) {
      case 'status': {
        const env = frame as unknown as StatusEnvelope;
        for (const ev of env.events ?? []) this.applyPushed(ev);
        this.deps.resume()?.noteStatus(env.seq);
        outcomes.onStatus(env);
        render();
        break;
      }
      case 'event': {
        const ev = (frame as unknown as { event?: EventEnvelope }).event;
        if (ev) {
          this.applyPushed(ev);
          render();
        }
        break;
      }
      case 'error': {
        const requestId = typeof frame.requestId === 'string' ? frame.requestId : '';
        if (frame.code === 'RESUME_INCOMPLETE') {
          // The server could not replay what we missed: read it instead.
          loader.loadAll();
        } else if (requestId.startsWith(REFRESH_PREFIX)) {
          // The socket would not take the new token: a new connection presents it instead.
          this.deps.reconnect();
        } else if (frame.code !== 'TOKEN_EXPIRED') {
          // (TOKEN_EXPIRED is followed by the 4001 close, handled with the session.)
          const text = problemText({ title: String(frame.message ?? 'unknown'), errors: frame.errors as never });
          toast('failed', `The live connection reported a problem: ${text}`, { code: typeof frame.code === 'string' ? frame.code : undefined });
        }
        break;
      }
      default:
        // welcome, heartbeat, refreshed: nothing to show
        break;
    }
  }

  /** An event the socket brought (live or replayed). */
  private applyPushed(ev: EventEnvelope): void {
    const r = this.deps.ledger.applyEvent(ev);
    // Applied now, or already reflected: nothing at or before it needs replaying.
    this.deps.resume()?.noteEvent(ev.globalPosition);
    if (r.gap) void this.deps.loader.heal(ev.aggregateId, r.missingAfter ?? 0);
  }
}
