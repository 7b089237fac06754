// Runs a user intent: registers it (so its outcome is recognised whichever
// way and whenever it comes), sends it, and says what happened when it could
// not be sent. The outcome itself arrives later as a status envelope
// (outcomes.ts).
import type { CommandSender, SendResult } from './command-sender.js';
import type { CommandIntent, IntentBook } from './intents.js';
import { toast } from './toasts.js';
import { problemText } from './wording.js';

export class Commands {
  constructor(private readonly deps: {
    sender: CommandSender;
    book: IntentBook;
    /** Something about pending commands changed: redraw markers and buttons. */
    onChange: () => void;
    /** A 401: the session is over. */
    onUnauthorized: () => void;
    /** Guards against answers for a session that ended meanwhile. */
    epoch: () => number;
  }) {}

  /** Sends an intent (again, when `again`); resolves with how the sending went. */
  async run(intent: CommandIntent, again = false): Promise<SendResult | null> {
    const { book, sender, onChange } = this.deps;
    const epoch = this.deps.epoch();
    book.add(intent);
    intent.set(again ? 'retrying' : 'sending', { attempt: 1, maxAttempts: 1 });
    onChange();
    const r = await sender.send(intent.name, intent.body, {
      onProgress: (p) => {
        intent.set(p.retrying ? 'retrying' : 'sending', p);
        onChange();
      },
      shouldStop: () => intent.phase === 'done' || epoch !== this.deps.epoch(),
    });
    if (epoch !== this.deps.epoch()) return null;
    if (r.ok) {
      intent.set('accepted');
    } else if (r.kind === 'refused') {
      book.finish(intent.commandId, 'refused');
      toast('failed', `${intent.label} was not accepted: ${problemText(r.problem)}`, { commandId: intent.commandId, code: r.code });
    } else if (r.kind === 'unsent') {
      intent.set('unsent');
      toast('failed', `${intent.label} could not be sent: ${r.reason}. Try again — it will not be applied twice.`, { commandId: intent.commandId });
    } else if (r.kind === 'unauthorized') {
      book.finish(intent.commandId, 'refused');
      this.deps.onUnauthorized();
      return r;
    }
    onChange();
    return r;
  }
}
