// One account on screen: its balance first, then deposit/withdraw (one
// intent per submission), closing (after a confirmation), its history (rows
// made from its events), its event log and time travel.
import type { ApiClient } from './api.js';
import type { Commands } from './commands.js';
import { confirmAction } from './confirm-dialog.js';
import { cssId, h, localTime } from './dom.js';
import { EventLogPanel } from './event-log.js';
import { historyRows, rowText, type HistoryRow } from './history.js';
import { CommandIntent, IntentSlot } from './intents.js';
import { IntentForm } from './intent-form.js';
import { decimalSeparator, formatMinor, parseAmountInput } from './money.js';
import { buildAmountBody, buildCloseBody, buildDepositBody, parseReferenceInput, REFERENCE_MAX } from './requests.js';
import type { Account, EventEnvelope } from './state.js';
import { TimeTravelPanel } from './time-travel.js';
import { commandLabel, pendingText } from './wording.js';

export interface CardDeps {
  api: ApiClient;
  commands: Commands;
  locale: string;
  maxAmountMinor: bigint;
  events: (accountId: string) => EventEnvelope[];
  lowestKnown: (accountId: string) => number | null;
  loadEarlier: (accountId: string) => Promise<void>;
  version: (accountId: string) => number;
  onChange: () => void;
}

function historyItem(r: HistoryRow): HTMLLIElement {
  const amount = r.amount !== null ? `${r.sign}${formatMinor(r.amount)}` : '';
  const after = r.balanceAfter !== null ? `balance ${formatMinor(r.balanceAfter)}` : '';
  return h('li', { class: `tx tx-${r.eventType}`, 'data-testid': 'history-item', 'data-version': r.version, 'data-event-type': r.eventType, 'data-text': rowText(r) },
    h('span', { class: 'tx-kind' }, r.label,
      r.reference ? h('span', { class: 'tx-reference', 'data-testid': 'history-reference' }, ` · ${r.reference}`) : null,
      r.detail ? h('span', { class: 'tx-detail' }, ` · ${r.detail}`) : null,
      r.transferState ? h('span', { class: `tx-state tx-state-${r.transferState.replace(' ', '-')}` }, r.transferState) : null),
    h('span', { class: 'tx-amount' }, amount),
    h('span', { class: 'tx-after' }, after),
    h('time', { class: 'tx-time', datetime: r.timestamp }, localTime(r.timestamp)),
  );
}

export class AccountCard {
  readonly root: HTMLElement;
  private readonly balance: HTMLElement;
  private readonly currency: HTMLElement;
  private readonly status: HTMLElement;
  private readonly pending: HTMLElement;
  private readonly amount: HTMLInputElement;
  private readonly reference: HTMLInputElement;
  private readonly closeButton: HTMLButtonElement;
  private readonly controls: (HTMLButtonElement | HTMLInputElement)[];
  private readonly history: HTMLOListElement;
  private readonly form: IntentForm;
  private readonly closeSlot = new IntentSlot(() => 'close');
  readonly eventLog: EventLogPanel;
  readonly timeTravel: TimeTravelPanel;
  private historySig = '';

  constructor(private readonly accountId: string, private readonly deps: CardDeps) {
    const sid = cssId(accountId);
    const example = decimalSeparator(deps.locale) === ',' ? '0,00' : '0.00';
    this.balance = h('span', { class: 'balance', 'data-testid': 'balance' }, '0.00');
    this.currency = h('span', { class: 'currency' }, '');
    this.status = h('span', { class: 'badge', 'data-testid': 'status' }, 'open');
    this.pending = h('span', { class: 'badge pending', 'data-testid': 'pending', hidden: true }, '');
    this.amount = h('input', {
      id: `amount-${sid}`, 'data-testid': 'amount', type: 'text', inputmode: 'decimal', autocomplete: 'off',
      placeholder: example, 'aria-describedby': `amount-err-${sid}`,
    });
    this.reference = h('input', {
      id: `reference-${sid}`, 'data-testid': 'reference', type: 'text', maxlength: REFERENCE_MAX, autocomplete: 'off',
      placeholder: 'optional, for deposits', 'aria-describedby': `amount-err-${sid}`,
    });
    const errorLine = h('p', { id: `amount-err-${sid}`, class: 'field-error', 'data-testid': 'field-error', 'aria-live': 'polite' });
    const deposit = h('button', { type: 'submit', 'data-testid': 'deposit', class: 'primary' }, 'Deposit');
    const withdraw = h('button', { type: 'button', 'data-testid': 'withdraw' }, 'Withdraw');
    this.closeButton = h('button', { type: 'button', 'data-testid': 'close', class: 'danger', 'aria-label': `Close account ${accountId}` }, 'Close account');
    this.history = h('ol', { class: 'history', 'data-testid': 'history', 'aria-label': `History of ${accountId}` });

    const formEl = h('form', { class: 'amount-form', novalidate: true },
      h('label', { for: `amount-${sid}` }, 'Amount'),
      h('div', { class: 'amount-row' }, this.amount, deposit, withdraw),
      h('label', { for: `reference-${sid}` }, 'Reference'),
      h('div', { class: 'amount-row reference-row' }, this.reference),
      errorLine,
    );
    this.form = new IntentForm({
      fields: [this.amount, this.reference],
      clearOnSuccess: [this.amount, this.reference],
      buttons: { deposit, withdraw },
      errorLine,
      fieldFor: { amount: this.amount, reference: this.reference, accountId: this.amount },
    }, deps.commands, deps.onChange);
    formEl.addEventListener('submit', (e) => {
      e.preventDefault();
      this.moveMoney('deposit');
    });
    withdraw.addEventListener('click', () => this.moveMoney('withdraw'));
    this.closeButton.addEventListener('click', () => void this.close());

    this.timeTravel = new TimeTravelPanel(accountId, deps.api, () => deps.version(accountId));
    this.eventLog = new EventLogPanel(accountId, {
      events: () => deps.events(accountId),
      lowestKnown: () => deps.lowestKnown(accountId),
      loadEarlier: () => deps.loadEarlier(accountId),
      showAsOf: (v) => this.timeTravel.openAt(v),
    });

    const titleId = `title-${sid}`;
    this.root = h('article', { class: 'card', 'data-testid': `account-${accountId}`, 'aria-labelledby': titleId },
      h('header', { class: 'card-head' }, h('h3', { id: titleId }, accountId), this.status, this.pending),
      h('p', { class: 'balance-line' }, h('span', { class: 'sr-only' }, 'Balance: '), this.balance, ' ', this.currency),
      formEl,
      h('div', { class: 'card-actions' }, this.closeButton),
      h('h4', {}, 'Transactions'),
      this.history,
      this.eventLog.root,
      this.timeTravel.root,
    );
    this.controls = [this.amount, this.reference, deposit, withdraw, this.closeButton];
  }

  private moveMoney(kind: 'deposit' | 'withdraw'): void {
    if (!this.form.takesSubmission()) return;
    const parsed = parseAmountInput(this.amount.value, { locale: this.deps.locale, maxMinor: this.deps.maxAmountMinor });
    if (!parsed.ok) {
      this.form.showError(this.amount, parsed.message);
      return;
    }
    let body: object = buildAmountBody(this.accountId, parsed.wire);
    if (kind === 'deposit') {
      const ref = parseReferenceInput(this.reference.value);
      if (!ref.ok) {
        this.form.showError(this.reference, ref.message);
        return;
      }
      body = buildDepositBody(this.accountId, parsed.wire, ref.value);
    }
    void this.form.submit(kind, () => ({ name: kind, body, label: commandLabel(kind, body as Record<string, unknown>), accountId: this.accountId }));
  }

  private async close(): Promise<void> {
    if (this.closeSlot.locked) return;
    const ok = await confirmAction(`Close account ${this.accountId}? Its balance must be 0.00; a closed account takes no more money.`, 'Close account');
    if (!ok) return;
    const taken = this.closeSlot.take('close', (fields) => {
      const body = buildCloseBody(this.accountId);
      return new CommandIntent('close-account', body, commandLabel('close-account', body as unknown as Record<string, unknown>), this.accountId, fields, 'close');
    });
    if (!taken) return;
    taken.intent.watch(() => this.renderClose());
    this.renderClose();
    await this.deps.commands.run(taken.intent, taken.again);
    this.renderClose();
  }

  private renderClose(): void {
    const busy = this.closeSlot.locked;
    this.closeButton.setAttribute('aria-disabled', busy ? 'true' : 'false');
    this.closeButton.textContent = busy ? 'Pending…' : 'Close account';
  }

  render(acc: Account, pending: CommandIntent[]): void {
    this.balance.textContent = formatMinor(acc.balance);
    this.currency.textContent = acc.currency;
    this.status.textContent = acc.status;
    this.status.className = `badge status-${acc.status}`;
    const closed = acc.status === 'closed';
    this.root.classList.toggle('closed', closed);
    for (const c of this.controls) c.disabled = closed;
    const text = pendingText(pending);
    this.pending.hidden = text === '';
    this.pending.textContent = text;
    this.root.setAttribute('aria-busy', pending.length > 0 ? 'true' : 'false');
    const rows = historyRows(this.deps.events(this.accountId));
    const sig = rows.map((r) => `${r.version}:${r.transferState ?? ''}`).join(',');
    if (sig !== this.historySig) {
      this.historySig = sig;
      this.history.replaceChildren(...rows.map(historyItem));
    }
    this.form.render();
    this.renderClose();
    this.eventLog.render();
  }
}
