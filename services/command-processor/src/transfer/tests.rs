//! The transfer process run step by step as the processor would: the
//! three steps, refusals, a crash after each step, a forged credit.

use ledgerline_contracts::CommandKey;
use ledgerline_domain::Currency;
use ledgerline_store::InMemoryEventStore;
use ledgerline_testkit::commands::{self, account as id, amount, message, open_with, user};
use uuid::Uuid;

use super::*;
use crate::handle_command;

/// A store in which each (owner, account, balance) is opened.
async fn opened(accounts: &[(&str, &str, i64)]) -> InMemoryEventStore {
    let store = InMemoryEventStore::new();
    for (owner, account, minor) in accounts {
        handle_command(&store, &message(owner, open_with(account, *minor)), 10)
            .await
            .unwrap();
    }
    store
}
fn transfer(to: &str, minor: i64) -> AccountCommand {
    commands::transfer("from", to, minor)
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

/// (balance, in flight) of "from" and of "to".
async fn balances(store: &InMemoryEventStore) -> [(i64, i64); 2] {
    [balance(store, "from").await, balance(store, "to").await]
}

#[tokio::test]
async fn a_transfer_moves_money_in_three_steps_and_tells_the_user_once() {
    let store = opened(&[("alice", "from", 100), ("bob", "to", 5)]).await;
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
    assert_eq!(balances(&store).await, [(70, 0), (35, 0)]);
}

#[tokio::test]
async fn a_refused_credit_is_refunded_and_the_user_learns_why() {
    let store = opened(&[("alice", "from", 100)]).await;
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
    let store = opened(&[("alice", "from", 10), ("bob", "to", 0)]).await;
    let (statuses, steps) = run(&store, message("alice", transfer("to", 30))).await;
    assert_eq!(
        (steps, statuses[0].payload.status),
        (1, StatusKind::Rejected)
    );
    assert_eq!(balances(&store).await, [(10, 0), (0, 0)]);
}

#[tokio::test]
async fn every_step_redelivered_after_a_crash_changes_nothing_and_follows_up_the_same() {
    let store = opened(&[("alice", "from", 100), ("bob", "to", 0)]).await;
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
    assert_eq!(balances(&store).await, [(60, 0), (40, 0)]);
}

#[tokio::test]
async fn a_forged_credit_is_not_verified() {
    let store = opened(&[("mallory", "from", 0), ("mallory", "to", 0)]).await;
    let transfer_id = Uuid::now_v7();
    let mallory = user("mallory");
    let transfer = CommandKey::of_client(&mallory, transfer_id);
    let forged = CommandMessage {
        command_id: CommandKey::of_step(transfer, TransferStep::Credit).as_uuid(),
        correlation_id: transfer_id,
        user_id: user("mallory"),
        accepted_at: OffsetDateTime::now_utc(),
        command: AccountCommand::CreditTransfer {
            account_id: id("to"),
            from_account_id: id("from"),
            amount: amount(1_000_000),
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
