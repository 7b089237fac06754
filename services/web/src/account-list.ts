// The accounts on screen: one card per account, in the order they came.
import { AccountCard, type CardDeps } from './account-card.js';
import { byTestId } from './dom.js';
import type { CommandIntent } from './intents.js';
import type { Account } from './state.js';

export class AccountList {
  private readonly cards = new Map<string, AccountCard>();
  private readonly list = byTestId('accounts');
  private readonly empty = byTestId('no-accounts');

  constructor(private readonly deps: CardDeps) {}

  card(accountId: string): AccountCard | undefined {
    return this.cards.get(accountId);
  }

  render(accounts: Account[], pending: CommandIntent[]): void {
    for (const acc of accounts) {
      let card = this.cards.get(acc.accountId);
      if (!card) {
        card = new AccountCard(acc.accountId, this.deps);
        this.cards.set(acc.accountId, card);
        this.list.append(card.root);
      }
      card.render(acc, pending.filter((i) => i.accountId === acc.accountId));
    }
    const ids = new Set(accounts.map((a) => a.accountId));
    for (const [id, card] of this.cards) {
      if (!ids.has(id)) {
        card.root.remove();
        this.cards.delete(id);
      }
    }
    this.empty.hidden = accounts.length > 0;
  }
}
