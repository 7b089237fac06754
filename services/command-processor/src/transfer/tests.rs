//! The transfer process run step by step as the processor would: the
//! three steps, refusals, a crash after each step, a forged credit.

use ledgerline_contracts::CommandKey;
use ledgerline_domain::{AccountId, Amount, Balance, Currency, UserId};
use ledgerline_store::InMemoryEventStore;
use uuid::Uuid;

use super::*;
use crate::handle_command;

fn id(s: &str) -> AccountId {
    AccountId::parse(s).unwrap()
}
fn message(user: &str, command: AccountCommand) -> CommandMessage {
    let command_id = Uuid::now_v7();
    CommandMessage {
        command_id,
        correlation_id: command_id,
        user_id: UserId::parse(user).unwrap(),
        accepted_at: OffsetDateTime::now_utc(),
        command,
        requeued: None,
    }
}
async fn open(store: &InMemoryEventStore, user: &str, account: &str, minor: i64) {
    let command = AccountCommand::OpenAccount {
        account_id: id(account),
        currency: Currency::default(),
        initial_balance: Balance::from_minor(minor).unwrap(),
    };
    handle_command(store, &message(user, command), 10)
        .await
        .unwrap();
}
fn transfer(to: &str, minor: i64) -> AccountCommand {
    AccountCommand::Transfer {
        account_id: id("from"),
        to_account_id: id(to),
        amount: Amount::from_minor(minor).unwrap(),
    }
}

/// Runs a transfer to its end as the processor would, step by step.
async fn run(store: &InMemoryEventStore, first: CommandMessage) -> (Vec<StatusMessage>, usize) {
    let mut statuses = Vec::new();
    let mut steps = 0;
    let mut next = Some(first);
    while let Some(message) = next.take() {
        assert!(
            verified(store, &message).await.unwrap(),
            "step {:?} verifies",
            message.command
        );
        let handled = handle_command(store, &message, 10).await.unwrap();
        let follow = follow_up(store, &message, &handled.status, handled.fresh)
            .await
            .unwrap();
        statuses.extend(follow.status);
        next = follow.next;
        steps += 1;
    }
    (statuses, steps)
}

async fn balance(store: &InMemoryEventStore, account: &str) -> (i64, i64) {
    let account = store.load(&id(account)).await.unwrap();
    (account.balance().minor(), account.in_flight().minor())
}

#[tokio::test]
async fn a_transfer_moves_money_in_three_steps_and_tells_the_user_once() {
    let store = InMemoryEventStore::new();
    open(&store, "alice", "from", 100).await;
    open(&store, "bob", "to", 5).await;
    let first = message("alice", transfer("to", 30));
    let (statuses, steps) = run(&store, first.clone()).await;
    assert_eq!(steps, 3);
    assert_eq!(statuses.len(), 1, "one final status");
    assert_eq!(
        statuses[0].payload.command_id, first.command_id,
        "under the transfer's own id"
    );
    assert_eq!(
        (statuses[0].user_id.as_str(), statuses[0].payload.status),
        ("alice", StatusKind::Succeeded)
    );
    assert_eq!(balance(&store, "from").await, (70, 0));
    assert_eq!(balance(&store, "to").await, (35, 0));
}

#[tokio::test]
async fn a_refused_credit_is_refunded_and_the_user_learns_why() {
    let store = InMemoryEventStore::new();
    open(&store, "alice", "from", 100).await;
    let first = message("alice", transfer("nowhere", 30));
    let (statuses, _) = run(&store, first.clone()).await;
    assert_eq!(statuses.len(), 1);
    assert_eq!(statuses[0].payload.status, StatusKind::Rejected);
    assert_eq!(
        statuses[0].payload.error.as_ref().map(|e| e.code.as_str()),
        Some("ACCOUNT_NOT_FOUND")
    );
    assert_eq!(
        balance(&store, "from").await,
        (100, 0),
        "the money came back"
    );
}

#[tokio::test]
async fn a_refused_debit_is_the_final_status_and_moves_nothing() {
    let store = InMemoryEventStore::new();
    open(&store, "alice", "from", 10).await;
    open(&store, "bob", "to", 0).await;
    let (statuses, steps) = run(&store, message("alice", transfer("to", 30))).await;
    assert_eq!(
        (steps, statuses[0].payload.status),
        (1, StatusKind::Rejected)
    );
    assert_eq!(balance(&store, "from").await, (10, 0));
    assert_eq!(balance(&store, "to").await, (0, 0));
}

#[tokio::test]
async fn every_step_redelivered_after_a_crash_changes_nothing_and_follows_up_the_same() {
    let store = InMemoryEventStore::new();
    open(&store, "alice", "from", 100).await;
    open(&store, "bob", "to", 0).await;
    let mut next = Some(message("alice", transfer("to", 40)));
    while let Some(step) = next.take() {
        let handled = handle_command(&store, &step, 10).await.unwrap();
        let follow = follow_up(&store, &step, &handled.status, handled.fresh)
            .await
            .unwrap();
        // "Crash" before the follow-up was published: redelivery answers
        // from the store and derives the very same follow-up.
        let again = handle_command(&store, &step, 10).await.unwrap();
        assert!(!again.fresh);
        let follow_again = follow_up(&store, &step, &again.status, again.fresh)
            .await
            .unwrap();
        assert_eq!(
            follow.next.as_ref().map(|m| m.command_id),
            follow_again.next.as_ref().map(|m| m.command_id)
        );
        assert_eq!(
            follow.status.as_ref().map(|s| s.payload.command_id),
            follow_again.status.as_ref().map(|s| s.payload.command_id)
        );
        next = follow.next;
    }
    assert_eq!(balance(&store, "from").await, (60, 0));
    assert_eq!(balance(&store, "to").await, (40, 0));
}

#[tokio::test]
async fn a_forged_credit_is_not_verified() {
    let store = InMemoryEventStore::new();
    open(&store, "mallory", "from", 0).await;
    open(&store, "mallory", "to", 0).await;
    let transfer_id = Uuid::now_v7();
    let mallory = UserId::parse("mallory").unwrap();
    let transfer = CommandKey::of_client(&mallory, transfer_id);
    let forged = CommandMessage {
        command_id: CommandKey::of_step(transfer, TransferStep::Credit).as_uuid(),
        correlation_id: transfer_id,
        user_id: UserId::parse("mallory").unwrap(),
        accepted_at: OffsetDateTime::now_utc(),
        command: AccountCommand::CreditTransfer {
            account_id: id("to"),
            from_account_id: id("from"),
            amount: Amount::from_minor(1_000_000).unwrap(),
            currency: Currency::default(),
        },
        requeued: None,
    };
    assert!(
        !verified(&store, &forged).await.unwrap(),
        "no debit, no credit"
    );
    let mut wrong_id = forged.clone();
    wrong_id.command_id = Uuid::now_v7();
    assert!(!verified(&store, &wrong_id).await.unwrap());
}
