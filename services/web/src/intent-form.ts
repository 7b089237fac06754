// What every command form of the page shares: one intent per submission
// (IntentSlot), a submit button that shows "Pending…" and takes no second
// submission until the outcome arrives or the form is changed, field errors
// that say what is wrong and go away as soon as the field is edited, and a
// form that clears when its command succeeded.
import type { Commands } from './commands.js';
import { CommandIntent, IntentSlot } from './intents.js';
import type { CommandName } from './requests.js';
import { problemText } from './wording.js';

/** A repeated click right after a success finds the form empty: that click is the same intent's, not a new mistake. */
const AFTER_CLEAR_MS = 1_000;

export interface IntentFormParts {
  /** The fields whose values make the intent (a change of any is a new intent). */
  fields: (HTMLInputElement | HTMLSelectElement)[];
  /** Fields emptied on success. */
  clearOnSuccess: HTMLInputElement[];
  /** Buttons that submit (action name → button). */
  buttons: Record<string, HTMLButtonElement>;
  errorLine: HTMLElement;
  /** Server field name → the input it is about. */
  fieldFor: Record<string, HTMLElement>;
}

export class IntentForm {
  readonly slot: IntentSlot;
  private clearedAt = 0;
  private readonly labels = new Map<HTMLButtonElement, string>();

  constructor(private readonly parts: IntentFormParts, private readonly commands: Commands, private readonly onChange: () => void) {
    this.slot = new IntentSlot(() => parts.fields.map((f) => f.value.trim()).join('\u0000'));
    for (const b of Object.values(parts.buttons)) this.labels.set(b, b.textContent ?? '');
    for (const f of parts.fields) {
      const edited = () => {
        f.removeAttribute('aria-invalid');
        if (parts.errorLine.textContent) this.showError(null, '');
        this.render();
      };
      f.addEventListener('input', edited);
      f.addEventListener('change', edited);
    }
  }

  /** True when the form is empty because its last command succeeded a moment ago. */
  justCleared(): boolean {
    return Date.now() - this.clearedAt < AFTER_CLEAR_MS && this.parts.clearOnSuccess.every((f) => f.value === '');
  }

  /**
   * False while the form's intent is pending (one intent, one command) and
   * right after its success emptied the form (a repeated click is that
   * intent's, not a new mistake).
   */
  takesSubmission(): boolean {
    return !this.slot.locked && !this.justCleared();
  }

  /** Calls `submit` on each submission of `formEl` (Enter, its submit button) the form takes. */
  submitsOn(formEl: HTMLFormElement, submit: () => void): void {
    formEl.addEventListener('submit', (e) => {
      e.preventDefault();
      if (this.takesSubmission()) submit();
    });
  }

  /** A field's problem, next to the form; `field` null clears the marks. */
  showError(field: HTMLElement | null, message: string): void {
    for (const f of this.parts.fields) f.removeAttribute('aria-invalid');
    this.parts.errorLine.textContent = message;
    if (field) {
      field.setAttribute('aria-invalid', 'true');
      field.focus();
    }
  }

  /**
   * Submits an intent made from the form, unless the form's pending intent
   * is this very submission again. Resolves when it was sent (or not).
   */
  async submit(action: string, make: (fields: string) => { name: CommandName; body: object; label: string; accountId: string | null }): Promise<void> {
    const taken = this.slot.take(action, (fields) => {
      const m = make(fields);
      return new CommandIntent(m.name, m.body, m.label, m.accountId, fields, action);
    });
    if (!taken) return; // still pending: one intent, one command
    const { intent, again } = taken;
    this.showError(null, '');
    intent.watch(() => this.onIntentChange(intent));
    this.render();
    const r = await this.commands.run(intent, again);
    if (r && !r.ok && r.kind === 'refused') {
      const errs = r.problem.errors ?? [];
      const first = errs.map((e) => this.parts.fieldFor[e.field]).find((x) => x);
      this.showError(first ?? null, problemText(r.problem));
    }
    this.render();
  }

  private onIntentChange(intent: CommandIntent): void {
    if (intent.phase === 'done' && intent.succeeded && this.slot.current === intent && intent.fields === this.currentFields()) {
      for (const f of this.parts.clearOnSuccess) f.value = '';
      this.clearedAt = Date.now();
      this.slot.reset();
    }
    this.render();
    this.onChange();
  }

  private currentFields(): string {
    return this.parts.fields.map((f) => f.value.trim()).join('\u0000');
  }

  /** Buttons: "Pending…" on the one used while its intent waits; none takes a second submission then. */
  render(): void {
    const locked = this.slot.locked;
    const intent = this.slot.current;
    for (const [action, b] of Object.entries(this.parts.buttons)) {
      const busy = locked && intent?.action === action;
      b.setAttribute('aria-disabled', locked ? 'true' : 'false');
      b.classList.toggle('is-pending', busy);
      b.textContent = busy ? 'Pending…' : (this.labels.get(b) ?? '');
    }
  }
}
