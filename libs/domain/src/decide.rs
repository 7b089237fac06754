use crate::{Account, AccountCommand, AccountEvent, AccountStatus, Rejection, UserId};

/// Decides a command against the account as it is now: the events it would
/// cause, or the rule that refuses it. Pure, so it is tested without servers
/// and replayed safely after an optimistic-concurrency conflict.
pub fn decide(
    account: &Account,
    actor: &UserId,
    command: &AccountCommand,
) -> Result<Vec<AccountEvent>, Rejection> {
    if let AccountCommand::OpenAccount {
        currency,
        initial_balance,
        ..
    } = command
    {
        return match account.status {
            AccountStatus::NotOpened => Ok(vec![AccountEvent::AccountOpened {
                owner_id: actor.clone(),
                currency: currency.clone(),
                initial_balance: *initial_balance,
            }]),
            _ => Err(Rejection::AccountAlreadyExists),
        };
    }
    let balance = match &account.status {
        AccountStatus::NotOpened => return Err(Rejection::AccountNotFound),
        // Ownership is checked before anything else is revealed about the account.
        AccountStatus::Open { owner_id, .. } | AccountStatus::Closed { owner_id, .. }
            if owner_id != actor =>
        {
            return Err(Rejection::NotOwner);
        }
        AccountStatus::Closed { .. } => return Err(Rejection::AccountClosed),
        AccountStatus::Open { balance, .. } => *balance,
    };
    match command {
        AccountCommand::OpenAccount { .. } => Err(Rejection::AccountAlreadyExists),
        AccountCommand::Deposit { amount, .. } => {
            let balance_after = balance
                .plus(*amount)
                .ok_or(Rejection::BalanceLimitExceeded)?;
            Ok(vec![AccountEvent::MoneyDeposited {
                amount: *amount,
                balance_after,
            }])
        }
        AccountCommand::Withdraw { amount, .. } => {
            let balance_after = balance.minus(*amount).ok_or(Rejection::InsufficientFunds {
                balance,
                requested: *amount,
            })?;
            Ok(vec![AccountEvent::MoneyWithdrawn {
                amount: *amount,
                balance_after,
            }])
        }
        AccountCommand::CloseAccount { .. } if balance.minor() != 0 => {
            Err(Rejection::NonZeroBalance { balance })
        }
        AccountCommand::CloseAccount { .. } => Ok(vec![AccountEvent::AccountClosed {}]),
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
                balance_after
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

    fn any_command() -> impl Strategy<Value = (bool, AccountCommand)> {
        let a = || (1i64..5_000).prop_map(|m| Amount::from_minor(m).unwrap());
        let cmd = prop_oneof![
            (0i64..1_000).prop_map(open),
            a().prop_map(|m| AccountCommand::deposit(acc(), m)),
            a().prop_map(|m| AccountCommand::withdraw(acc(), m)),
            Just(AccountCommand::CloseAccount { account_id: acc() }),
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
                prop_assert_eq!(account.version, log.len() as i64);
            }
            prop_assert_eq!(Account::replay(acc(), &log), account);
        }
    }
}
