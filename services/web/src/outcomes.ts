// Outcomes of commands, as status envelopes bring them (live, or replayed on
// resume): each one ends its intent, if this tab made it, and is shown once
// as a toast — in every tab of the user, so each names what it was about.
import type { IntentBook } from './intents.js';
import type { OwnWrites } from './ryw.js';
import type { StatusEnvelope } from './state.js';
import { toast } from './toasts.js';
import { outcomeText } from './wording.js';

const MAX_REMEMBERED = 2_000;

export class Outcomes {
  /** Command ids whose outcome was shown: one toast per command, whatever the duplicates. */
  private readonly shown = new Set<string>();
  /**
   * For a resume without a known statusSeq (every status of the user is
   * replayed): outcomes older than this sign-in are not toasted.
   */
  quietBefore: number | null = null;

  constructor(private readonly deps: { book: IntentBook; ownWrites: () => OwnWrites | null; onChange: () => void }) {}

  /** After the envelope's events were applied. */
  onStatus(env: StatusEnvelope): void {
    const { book } = this.deps;
    // Read-your-writes: the position of this tab's own command.
    if (book.isOwn(env.commandId)) this.deps.ownWrites()?.note(env.position);
    const intent = book.finish(env.commandId, env.status);
    this.deps.onChange();
    if (this.shown.has(env.commandId)) return;
    this.shown.add(env.commandId);
    if (this.shown.size > MAX_REMEMBERED) this.shown.delete(this.shown.values().next().value as string);
    if (!intent && this.quietBefore !== null && Date.parse(env.timestamp) < this.quietBefore) return;
    const kind = env.status === 'succeeded' ? 'success' : env.status === 'rejected' ? 'rejected' : 'failed';
    toast(kind, outcomeText(env, intent?.label), { commandId: env.commandId, code: env.error?.code });
  }

  clear(): void {
    this.shown.clear();
    this.quietBefore = null;
  }
}
