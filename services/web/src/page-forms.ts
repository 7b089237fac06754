// The page's two forms beside the accounts: "Open an account" and
// "Transfer money" — each one intent per submission, like a card's form.
import type { Commands } from './commands.js';
import { byTestId, h } from './dom.js';
import { IntentForm } from './intent-form.js';
import type { CommandIntent } from './intents.js';
import { decimalSeparator, parseAmountInput } from './money.js';
import { buildOpenAccountBody, buildTransferBody } from './requests.js';
import { commandLabel, pendingText } from './wording.js';

export const ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
const ID_RULE = 'letters, digits, “-” and “_” only, at most 64';

export interface FormDeps {
  commands: Commands;
  locale: string;
  maxAmountMinor: bigint;
  onChange: () => void;
}

export class OpenAccountForm {
  private readonly form: IntentForm;
  private readonly id = byTestId<HTMLInputElement>('open-account-id');
  private readonly initial = byTestId<HTMLInputElement>('open-account-initial');
  private readonly pendingLine = byTestId('open-account-pending');

  constructor(private readonly deps: FormDeps) {
    if (decimalSeparator(deps.locale) === ',') this.initial.placeholder = '0,00';
    this.form = new IntentForm({
      fields: [this.id, this.initial],
      clearOnSuccess: [this.id, this.initial],
      buttons: { open: byTestId<HTMLButtonElement>('open-account-submit') },
      errorLine: byTestId('open-account-error'),
      fieldFor: { accountId: this.id, initialBalance: this.initial, currency: this.initial },
    }, deps.commands, deps.onChange);
    this.form.submitsOn(byTestId<HTMLFormElement>('open-account-form'), () => this.submit());
  }

  private submit(): void {
    const id = this.id.value.trim();
    if (id && !ID_RE.test(id)) {
      this.form.showError(this.id, `Account id: ${ID_RULE}.`);
      return;
    }
    let initialBalance: string | undefined;
    if (this.initial.value.trim()) {
      const parsed = parseAmountInput(this.initial.value, { allowZero: true, locale: this.deps.locale, maxMinor: this.deps.maxAmountMinor });
      if (!parsed.ok) {
        this.form.showError(this.initial, `Initial balance: ${parsed.message.replace(/^The amount/, 'it')}`);
        return;
      }
      initialBalance = parsed.wire;
    }
    const body = buildOpenAccountBody({ accountId: id || undefined, initialBalance });
    void this.form.submit('open', () => ({ name: 'open-account', body, label: commandLabel('open-account', body as Record<string, unknown>), accountId: null }));
  }

  render(pending: CommandIntent[]): void {
    const mine = pending.filter((i) => i.name === 'open-account');
    const text = pendingText(mine);
    this.pendingLine.hidden = text === '';
    this.pendingLine.textContent = text ? `Opening… ${text}` : '';
    this.form.render();
  }
}

export class TransferForm {
  private readonly form: IntentForm;
  private readonly from = byTestId<HTMLSelectElement>('transfer-from');
  private readonly to = byTestId<HTMLInputElement>('transfer-to');
  private readonly amount = byTestId<HTMLInputElement>('transfer-amount');
  private readonly submitButton = byTestId<HTMLButtonElement>('transfer-submit');

  constructor(private readonly deps: FormDeps) {
    if (decimalSeparator(deps.locale) === ',') this.amount.placeholder = '0,00';
    this.form = new IntentForm({
      fields: [this.from, this.to, this.amount],
      clearOnSuccess: [this.to, this.amount],
      buttons: { transfer: this.submitButton },
      errorLine: byTestId('transfer-error'),
      fieldFor: { fromAccountId: this.from, toAccountId: this.to, amount: this.amount },
    }, deps.commands, deps.onChange);
    this.form.submitsOn(byTestId<HTMLFormElement>('transfer-form'), () => this.submit());
  }

  private submit(): void {
    const from = this.from.value;
    const to = this.to.value.trim();
    if (!from) {
      this.form.showError(this.from, 'Choose the account to transfer from.');
      return;
    }
    if (!ID_RE.test(to)) {
      this.form.showError(this.to, `Enter the account id to transfer to: ${ID_RULE}.`);
      return;
    }
    const parsed = parseAmountInput(this.amount.value, { locale: this.deps.locale, maxMinor: this.deps.maxAmountMinor });
    if (!parsed.ok) {
      this.form.showError(this.amount, parsed.message);
      return;
    }
    const body = buildTransferBody(from, to, parsed.wire);
    void this.form.submit('transfer', () => ({ name: 'transfer', body, label: commandLabel('transfer', body as unknown as Record<string, unknown>), accountId: from }));
  }

  /** The "From" choices: the user's open accounts; the selection is kept while it stays one. */
  render(openAccountIds: string[]): void {
    const sig = openAccountIds.join('\n');
    if (this.from.dataset.sig !== sig) {
      const keep = this.from.value;
      this.from.dataset.sig = sig;
      this.from.replaceChildren(...openAccountIds.map((id) => h('option', { value: id }, id)));
      if (openAccountIds.includes(keep)) this.from.value = keep;
    }
    const none = openAccountIds.length === 0;
    this.from.disabled = none;
    this.submitButton.disabled = none;
    this.form.render();
  }

  /** Sign-out: nothing of the last user stays in the form. */
  reset(): void {
    this.to.value = '';
    this.amount.value = '';
    this.form.showError(null, '');
    this.form.slot.reset();
  }
}
