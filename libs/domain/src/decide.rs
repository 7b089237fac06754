use crate::{Account, AccountCommand, AccountEvent, AccountStatus, Amount, Rejection, UserId};

/// Decides a command against the account as it is now: the events it would
/// cause, or the rule that refuses it. Pure, so it is tested without servers
/// and replayed safely after an optimistic-concurrency conflict.
pub fn decide(
    account: &Account,
    actor: &UserId,
    command: &AccountCommand,
) -> Result<Vec<AccountEvent>, Rejection> {
    match command {
        AccountCommand::OpenAccount {
            currency,
            initial_balance,
            ..
        } => {
            return match account.status {
                AccountStatus::NotOpened => Ok(vec![AccountEvent::AccountOpened {
                    owner_id: actor.clone(),
                    currency: currency.clone(),
                    initial_balance: *initial_balance,
                }]),
                _ => Err(Rejection::AccountAlreadyExists),
            };
        }
        // Anyone may receive money: the credit is checked against the
        // account, not against who sent it.
        AccountCommand::CreditTransfer {
            from_account_id,
            amount,
            currency,
            ..
        } => {
            return credit(account, from_account_id, *amount, currency);
        }
        _ => {}
    }
    let (balance, in_flight, currency) = match &account.status {
        AccountStatus::NotOpened => return Err(Rejection::AccountNotFound),
        // Ownership is checked before anything else is revealed about the account.
        AccountStatus::Open { owner_id, .. } | AccountStatus::Closed { owner_id, .. }
            if owner_id != actor =>
        {
            return Err(Rejection::NotOwner);
        }
        AccountStatus::Closed { .. } => return Err(Rejection::AccountClosed),
        AccountStatus::Open {
            balance,
            in_flight,
            currency,
            ..
        } => (*balance, *in_flight, currency.clone()),
    };
    let insufficient = |requested: Amount| Rejection::InsufficientFunds { balance, requested };
    match command {
        AccountCommand::OpenAccount { .. } | AccountCommand::CreditTransfer { .. } => {
            Err(Rejection::AccountAlreadyExists)
        }
        AccountCommand::Deposit {
            amount, reference, ..
        } => {
            let balance_after = balance
                .plus(*amount)
                .ok_or(Rejection::BalanceLimitExceeded)?;
            Ok(vec![AccountEvent::MoneyDeposited {
                amount: *amount,
                balance_after,
                reference: reference.clone(),
            }])
        }
        AccountCommand::Withdraw { amount, .. } => {
            let balance_after = balance
                .minus(*amount)
                .ok_or_else(|| insufficient(*amount))?;
            Ok(vec![AccountEvent::MoneyWithdrawn {
                amount: *amount,
                balance_after,
            }])
        }
        AccountCommand::CloseAccount { .. } if balance.minor() != 0 => {
            Err(Rejection::NonZeroBalance { balance })
        }
        AccountCommand::CloseAccount { .. } if in_flight.minor() != 0 => {
            Err(Rejection::TransferInFlight)
        }
        AccountCommand::CloseAccount { .. } => Ok(vec![AccountEvent::AccountClosed {}]),
        AccountCommand::Transfer {
            account_id,
            to_account_id,
            ..
        } if account_id == to_account_id => Err(Rejection::SameAccount),
        AccountCommand::Transfer {
            to_account_id,
            amount,
            ..
        } => {
            let balance_after = balance
                .minus(*amount)
                .ok_or_else(|| insufficient(*amount))?;
            Ok(vec![AccountEvent::TransferDebited {
                to_account_id: to_account_id.clone(),
                amount: *amount,
                currency,
                balance_after,
            }])
        }
        AccountCommand::CompleteTransfer {
            to_account_id,
            amount,
            ..
        } => {
            in_flight
                .minus(*amount)
                .ok_or(Rejection::NoTransferInFlight)?;
            Ok(vec![AccountEvent::TransferCompleted {
                to_account_id: to_account_id.clone(),
                amount: *amount,
            }])
        }
        AccountCommand::RefundTransfer {
            to_account_id,
            amount,
            ..
        } => {
            in_flight
                .minus(*amount)
                .ok_or(Rejection::NoTransferInFlight)?;
            let balance_after = balance
                .plus(*amount)
                .ok_or(Rejection::BalanceLimitExceeded)?;
            Ok(vec![AccountEvent::TransferRefunded {
                to_account_id: to_account_id.clone(),
                amount: *amount,
                balance_after,
            }])
        }
    }
}

fn credit(
    account: &Account,
    from_account_id: &crate::AccountId,
    amount: Amount,
    source_currency: &crate::Currency,
) -> Result<Vec<AccountEvent>, Rejection> {
    match &account.status {
        AccountStatus::NotOpened => Err(Rejection::AccountNotFound),
        AccountStatus::Closed { .. } => Err(Rejection::AccountClosed),
        AccountStatus::Open { currency, .. } if currency != source_currency => {
            Err(Rejection::CurrencyMismatch {
                sent: source_currency.clone(),
                target: currency.clone(),
            })
        }
        AccountStatus::Open { balance, .. } => {
            let balance_after = balance
                .plus(amount)
                .ok_or(Rejection::BalanceLimitExceeded)?;
            Ok(vec![AccountEvent::TransferCredited {
                from_account_id: from_account_id.clone(),
                amount,
                balance_after,
            }])
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::{AccountId, Amount, Balance, Currency};

    fn acc() -> AccountId {
        AccountId::parse("acc-1").unwrap()
    }
    fn alice() -> UserId {
        UserId::parse("alice").unwrap()
    }
    fn amount(minor: i64) -> Amount {
        Amount::from_minor(minor).unwrap()
    }
    fn open(initial: i64) -> AccountCommand {
        AccountCommand::OpenAccount {
            account_id: acc(),
            currency: Currency::default(),
            initial_balance: Balance::from_minor(initial).unwrap(),
        }
    }
    fn opened(initial: i64) -> AccountEvent {
        AccountEvent::AccountOpened {
            owner_id: alice(),
            currency: Currency::default(),
            initial_balance: Balance::from_minor(initial).unwrap(),
        }
    }

    /// given(events).when(actor, command) → the decision.
    struct Given(Account);
    fn given(events: &[AccountEvent]) -> Given {
        Given(Account::replay(acc(), events))
    }
    impl Given {
        fn when(
            &self,
            actor: &UserId,
            command: AccountCommand,
        ) -> Result<Vec<AccountEvent>, Rejection> {
            decide(&self.0, actor, &command)
        }
    }

    #[test]
    fn opening_a_new_account_records_the_owner() {
        assert_eq!(given(&[]).when(&alice(), open(100)), Ok(vec![opened(100)]));
    }

    #[test]
    fn opening_twice_is_rejected() {
        assert_eq!(
            given(&[opened(0)]).when(&alice(), open(0)),
            Err(Rejection::AccountAlreadyExists)
        );
    }

    #[test]
    fn deposit_records_the_balance_after() {
        let events =
            given(&[opened(100)]).when(&alice(), AccountCommand::deposit(acc(), amount(50)));
        let balance_after = Balance::from_minor(150).unwrap();
        assert_eq!(
            events,
            Ok(vec![AccountEvent::MoneyDeposited {
                amount: amount(50),
                balance_after,
                reference: None
            }])
        );
    }

    #[test]
    fn over_withdrawal_is_rejected_with_insufficient_funds() {
        let decision =
            given(&[opened(100)]).when(&alice(), AccountCommand::withdraw(acc(), amount(101)));
        assert_eq!(decision.map_err(|r| r.code()), Err("INSUFFICIENT_FUNDS"));
    }

    #[test]
    fn commands_on_a_missing_account_are_rejected() {
        let decision = given(&[]).when(&alice(), AccountCommand::deposit(acc(), amount(1)));
        assert_eq!(decision, Err(Rejection::AccountNotFound));
    }

    #[test]
    fn only_the_owner_may_act() {
        let bob = UserId::parse("bob").unwrap();
        for cmd in [
            AccountCommand::deposit(acc(), amount(1)),
            AccountCommand::withdraw(acc(), amount(1)),
            AccountCommand::CloseAccount { account_id: acc() },
        ] {
            assert_eq!(
                given(&[opened(5)]).when(&bob, cmd),
                Err(Rejection::NotOwner)
            );
        }
    }

    #[test]
    fn closing_needs_a_zero_balance_and_then_refuses_everything() {
        let close = || AccountCommand::CloseAccount { account_id: acc() };
        assert_eq!(
            given(&[opened(1)])
                .when(&alice(), close())
                .map_err(|r| r.code()),
            Err("NON_ZERO_BALANCE")
        );
        assert_eq!(
            given(&[opened(0)]).when(&alice(), close()),
            Ok(vec![AccountEvent::AccountClosed {}])
        );
        let closed = given(&[opened(0), AccountEvent::AccountClosed {}]);
        assert_eq!(
            closed.when(&alice(), AccountCommand::deposit(acc(), amount(1))),
            Err(Rejection::AccountClosed)
        );
        assert_eq!(
            closed.when(&alice(), close()),
            Err(Rejection::AccountClosed)
        );
    }

    #[test]
    fn a_deposit_that_would_overflow_is_rejected() {
        let full = AccountEvent::AccountOpened {
            owner_id: alice(),
            currency: Currency::default(),
            initial_balance: Balance::from_minor(i64::MAX).unwrap(),
        };
        assert_eq!(
            given(&[full]).when(&alice(), AccountCommand::deposit(acc(), amount(1))),
            Err(Rejection::BalanceLimitExceeded)
        );
    }

    fn other() -> AccountId {
        AccountId::parse("acc-2").unwrap()
    }
    fn transfer(minor: i64) -> AccountCommand {
        AccountCommand::Transfer {
            account_id: acc(),
            to_account_id: other(),
            amount: amount(minor),
        }
    }
    fn debited(minor: i64, after: i64) -> AccountEvent {
        AccountEvent::TransferDebited {
            to_account_id: other(),
            amount: amount(minor),
            currency: Currency::default(),
            balance_after: Balance::from_minor(after).unwrap(),
        }
    }

    #[test]
    fn a_transfer_debits_the_source_and_holds_the_money_in_flight() {
        let events = given(&[opened(100)]).when(&alice(), transfer(30)).unwrap();
        assert_eq!(events, vec![debited(30, 70)]);
        let account = Account::replay(acc(), &[opened(100), debited(30, 70)]);
        assert_eq!(
            (account.balance().minor(), account.in_flight().minor()),
            (70, 30)
        );
    }

    #[test]
    fn transfers_need_funds_an_owner_and_two_accounts() {
        assert_eq!(
            given(&[opened(10)])
                .when(&alice(), transfer(11))
                .map_err(|r| r.code()),
            Err("INSUFFICIENT_FUNDS")
        );
        let bob = UserId::parse("bob").unwrap();
        assert_eq!(
            given(&[opened(10)]).when(&bob, transfer(1)),
            Err(Rejection::NotOwner)
        );
        let to_self = AccountCommand::Transfer {
            account_id: acc(),
            to_account_id: acc(),
            amount: amount(1),
        };
        assert_eq!(
            given(&[opened(10)]).when(&alice(), to_self),
            Err(Rejection::SameAccount)
        );
    }

    #[test]
    fn anyone_can_credit_an_open_account_in_its_currency() {
        let credit = |currency: &str| AccountCommand::CreditTransfer {
            account_id: acc(),
            from_account_id: other(),
            amount: amount(5),
            currency: Currency::parse(currency).unwrap(),
        };
        let bob = UserId::parse("bob").unwrap();
        let credited = AccountEvent::TransferCredited {
            from_account_id: other(),
            amount: amount(5),
            balance_after: Balance::from_minor(15).unwrap(),
        };
        assert_eq!(
            given(&[opened(10)]).when(&bob, credit("EUR")),
            Ok(vec![credited])
        );
        assert_eq!(
            given(&[]).when(&bob, credit("EUR")),
            Err(Rejection::AccountNotFound)
        );
        assert_eq!(
            given(&[opened(0), AccountEvent::AccountClosed {}]).when(&bob, credit("EUR")),
            Err(Rejection::AccountClosed)
        );
        assert_eq!(
            given(&[opened(10)])
                .when(&bob, credit("USD"))
                .map_err(|r| r.code()),
            Err("CURRENCY_MISMATCH")
        );
    }

    #[test]
    fn a_transfer_ends_completed_or_refunded_and_only_once() {
        let in_flight = [opened(100), debited(30, 70)];
        let complete = AccountCommand::CompleteTransfer {
            account_id: acc(),
            to_account_id: other(),
            amount: amount(30),
        };
        let refund = AccountCommand::RefundTransfer {
            account_id: acc(),
            to_account_id: other(),
            amount: amount(30),
        };
        let completed = given(&in_flight).when(&alice(), complete.clone()).unwrap();
        let after = Account::replay(acc(), in_flight.iter().chain(&completed));
        assert_eq!(
            (after.balance().minor(), after.in_flight().minor()),
            (70, 0)
        );
        let refunded = given(&in_flight).when(&alice(), refund.clone()).unwrap();
        let after = Account::replay(acc(), in_flight.iter().chain(&refunded));
        assert_eq!(
            (after.balance().minor(), after.in_flight().minor()),
            (100, 0)
        );
        // Nothing in flight: neither may happen (again).
        assert_eq!(
            given(&[opened(100)]).when(&alice(), complete),
            Err(Rejection::NoTransferInFlight)
        );
        assert_eq!(
            given(&[opened(100)]).when(&alice(), refund),
            Err(Rejection::NoTransferInFlight)
        );
    }

    #[test]
    fn an_account_with_money_in_flight_cannot_be_closed() {
        let close = AccountCommand::CloseAccount { account_id: acc() };
        assert_eq!(
            given(&[opened(30), debited(30, 0)]).when(&alice(), close),
            Err(Rejection::TransferInFlight)
        );
    }

    fn any_command() -> impl Strategy<Value = (bool, AccountCommand)> {
        let a = || (1i64..5_000).prop_map(|m| Amount::from_minor(m).unwrap());
        let cmd = prop_oneof![
            (0i64..1_000).prop_map(open),
            a().prop_map(|m| AccountCommand::deposit(acc(), m)),
            a().prop_map(|m| AccountCommand::withdraw(acc(), m)),
            Just(AccountCommand::CloseAccount { account_id: acc() }),
            a().prop_map(|m| AccountCommand::Transfer {
                account_id: acc(),
                to_account_id: other(),
                amount: m
            }),
            a().prop_map(|m| AccountCommand::CompleteTransfer {
                account_id: acc(),
                to_account_id: other(),
                amount: m
            }),
            a().prop_map(|m| AccountCommand::RefundTransfer {
                account_id: acc(),
                to_account_id: other(),
                amount: m
            }),
        ];
        (any::<bool>(), cmd)
    }

    proptest! {
        /// For any sequence of commands from the owner or a stranger: the
        /// balance never goes negative, a rejection leaves the account as it
        /// was, and replaying the accepted events rebuilds the same account.
        #[test]
        fn ledger_invariants_hold_for_any_command_sequence(commands in prop::collection::vec(any_command(), 0..60)) {
            let bob = UserId::parse("bob").unwrap();
            let mut account = Account::new(acc());
            let mut log = Vec::new();
            for (by_owner, command) in commands {
                let actor = if by_owner { alice() } else { bob.clone() };
                let before = account.clone();
                match decide(&account, &actor, &command) {
                    Ok(events) => {
                        for e in &events { account = account.apply(e); }
                        log.extend(events);
                    }
                    Err(_) => prop_assert_eq!(&account, &before),
                }
                prop_assert!(account.balance().minor() >= 0);
                prop_assert!(account.in_flight().minor() >= 0);
                prop_assert_eq!(account.version, log.len() as i64);
            }
            prop_assert_eq!(Account::replay(acc(), &log), account);
        }
    }
}
