//! Commands for the unit tests of this crate.

use ledgerline_contracts::CommandMessage;
use ledgerline_domain::{AccountCommand, AccountId, Amount, Balance, Currency, UserId};
use time::OffsetDateTime;
use uuid::Uuid;

/// `command` as queued by alice just now, under a fresh id.
pub fn message(command: AccountCommand) -> CommandMessage {
    CommandMessage {
        command_id: Uuid::now_v7(),
        correlation_id: Uuid::now_v7(),
        user_id: UserId::parse("alice").unwrap(),
        accepted_at: OffsetDateTime::now_utc(),
        command,
        requeued: None,
    }
}

pub fn open(account: &AccountId) -> AccountCommand {
    AccountCommand::OpenAccount {
        account_id: account.clone(),
        currency: Currency::default(),
        initial_balance: Balance::ZERO,
    }
}

pub fn deposit(account: &AccountId, minor: i64) -> AccountCommand {
    AccountCommand::deposit(account.clone(), Amount::from_minor(minor).unwrap())
}

pub fn withdraw(account: &AccountId, minor: i64) -> AccountCommand {
    AccountCommand::withdraw(account.clone(), Amount::from_minor(minor).unwrap())
}
