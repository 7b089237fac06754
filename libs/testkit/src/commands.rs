//! Commands as the command API queues them, with the ids and amounts of a
//! test written as plain strings and minor units.

use ledgerline_contracts::CommandMessage;
use ledgerline_domain::{AccountCommand, AccountId, Amount, Balance, Currency, UserId};
use time::OffsetDateTime;
use uuid::Uuid;

pub fn account(id: &str) -> AccountId {
    AccountId::parse(id).expect("a valid account id")
}

pub fn user(id: &str) -> UserId {
    UserId::parse(id).expect("a valid user id")
}

pub fn amount(minor: i64) -> Amount {
    Amount::from_minor(minor).expect("a positive amount")
}

/// Opens `account` in the default currency, empty.
pub fn open(account: &str) -> AccountCommand {
    open_with(account, 0)
}

/// Opens `account` in the default currency with `initial` minor units.
pub fn open_with(account: &str, initial: i64) -> AccountCommand {
    AccountCommand::OpenAccount {
        account_id: self::account(account),
        currency: Currency::default(),
        initial_balance: Balance::from_minor(initial).expect("a valid balance"),
    }
}

pub fn deposit(account: &str, minor: i64) -> AccountCommand {
    AccountCommand::deposit(self::account(account), amount(minor))
}

pub fn withdraw(account: &str, minor: i64) -> AccountCommand {
    AccountCommand::withdraw(self::account(account), amount(minor))
}

pub fn transfer(from: &str, to: &str, minor: i64) -> AccountCommand {
    AccountCommand::Transfer {
        account_id: account(from),
        to_account_id: account(to),
        amount: amount(minor),
    }
}

/// `command` as the command API queues it for `user` just now: under a
/// fresh command id, which is also its correlation id.
pub fn message(user: &str, command: AccountCommand) -> CommandMessage {
    message_with_id(user, Uuid::now_v7(), command)
}

/// [`message`] under a command id the test chose (one it already holds,
/// such as the id an HTTP answer returned).
pub fn message_with_id(user: &str, command_id: Uuid, command: AccountCommand) -> CommandMessage {
    CommandMessage {
        command_id,
        correlation_id: command_id,
        user_id: self::user(user),
        accepted_at: OffsetDateTime::now_utc(),
        command,
        requeued: None,
    }
}
