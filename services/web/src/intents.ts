// One user intent is one command. A form submission mints a command id
// (UUID v7) and that id goes with every try of it — a retry after a 503, the
// HTTP fallback of a socket send, a press of the button again after the app
// gave up sending — so the server decides it once, however often it arrives.
// While the intent waits for its outcome, the form that made it cannot make
// it again, unless the person changes what the form says.
import { newCommandId } from './ids.js';
import { withCommandId, type CommandName } from './requests.js';

export type IntentPhase =
  /** Being sent (first try). */
  | 'sending'
  /** Being sent again after a failed try. */
  | 'retrying'
  /** Accepted (202 or an `accepted` frame): the outcome is on its way. */
  | 'accepted'
  /** Every try failed: not known to the server yet; sending again reuses the id. */
  | 'unsent'
  /** Its outcome is known (or it was refused as invalid). */
  | 'done';

export class CommandIntent {
  readonly commandId: string;
  readonly body: Record<string, unknown>;
  phase: IntentPhase = 'sending';
  /** How it ended: the status envelope's word, or `refused` (invalid, never queued). */
  outcome: 'succeeded' | 'rejected' | 'failed' | 'refused' | null = null;
  /** The try in progress (1 = the first) and how many there may be. */
  attempt = 1;
  maxAttempts = 1;
  private readonly listeners = new Set<() => void>();

  constructor(
    readonly name: CommandName,
    body: object,
    /** "Deposit of 5.00 into acc-1". */
    readonly label: string,
    /** The account it is about (the source of a transfer), null for opening one. */
    readonly accountId: string | null,
    /** What the form said when it was made: a change of the form is a new intent. */
    readonly fields: string,
    readonly action: string = name,
    commandId: string = newCommandId(),
  ) {
    this.commandId = commandId;
    this.body = withCommandId(body, commandId);
  }

  get succeeded(): boolean {
    return this.outcome === 'succeeded';
  }

  get pending(): boolean {
    return this.phase === 'sending' || this.phase === 'retrying' || this.phase === 'accepted';
  }

  /** Moves to a phase and tells whoever watches. */
  set(phase: IntentPhase, attempt?: { attempt: number; maxAttempts: number }): void {
    if (this.phase === 'done') return;
    this.phase = phase;
    if (attempt) {
      this.attempt = attempt.attempt;
      this.maxAttempts = attempt.maxAttempts;
    }
    for (const l of [...this.listeners]) l();
  }

  watch(listener: () => void): void {
    this.listeners.add(listener);
  }
}

/** The intent a form holds: a repeated submit of an unchanged form is no new command. */
export class IntentSlot {
  private intent: CommandIntent | null = null;

  constructor(private readonly readFields: () => string) {}

  get current(): CommandIntent | null {
    return this.intent;
  }

  /** The form still shows what its pending intent was made from: it cannot submit again. */
  get locked(): boolean {
    const i = this.intent;
    return i !== null && i.pending && i.fields === this.readFields();
  }

  /**
   * For a submit: null when the form's intent is still pending (a double
   * click, a repeated Enter); the same intent when it was not sent and the
   * form is unchanged (trying again keeps its id); otherwise a new one.
   */
  take(action: string, make: (fields: string) => CommandIntent): { intent: CommandIntent; again: boolean } | null {
    const fields = this.readFields();
    const cur = this.intent;
    if (cur && cur.fields === fields && cur.phase !== 'done') {
      if (cur.pending) return null;
      if (cur.action === action) return { intent: cur, again: true };
    }
    this.intent = make(fields);
    return { intent: this.intent, again: false };
  }

  reset(): void {
    this.intent = null;
  }
}

/** Every intent of this tab's session, by command id. */
export class IntentBook {
  private readonly intents = new Map<string, CommandIntent>();
  /** Ids this tab minted, kept after their outcome for read-your-writes (bounded). */
  private readonly own = new Set<string>();
  private static readonly MAX_OWN = 1_000;

  add(i: CommandIntent): void {
    this.intents.set(i.commandId, i);
    this.own.add(i.commandId);
    if (this.own.size > IntentBook.MAX_OWN) this.own.delete(this.own.values().next().value as string);
  }

  get(commandId: string): CommandIntent | undefined {
    return this.intents.get(commandId);
  }

  isOwn(commandId: string): boolean {
    return this.own.has(commandId);
  }

  /** Its outcome came (or it was refused): no longer pending. */
  finish(commandId: string, outcome: NonNullable<CommandIntent['outcome']>): CommandIntent | undefined {
    const i = this.intents.get(commandId);
    if (i) {
      if (i.outcome === null) i.outcome = outcome;
      i.set('done');
      this.intents.delete(commandId);
    }
    return i;
  }

  pending(): CommandIntent[] {
    return [...this.intents.values()].filter((i) => i.pending);
  }

  clear(): void {
    for (const i of this.intents.values()) i.set('done');
    this.intents.clear();
    this.own.clear();
  }
}
