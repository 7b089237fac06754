//! Transfers: a process across two accounts that moves money exactly once,
//! tells the sender once, and survives a crash between any two steps.

use std::time::Duration;

use command_processor::handle_command;
use command_processor::transfer::follow_up;
use ledgerline_testkit::commands::{message, transfer};
use serde_json::{Value, json};

use crate::helpers::{TestApp, frames_until_quiet, minor, spawn_app, status_frames};

async fn balance(app: &TestApp, token: &str, account: &str) -> (i64, i64) {
    let (_, a) = app.get(token, &format!("/queries/account/{account}")).await;
    (
        minor(&a["balance"]).unwrap(),
        minor(&a["inFlight"]).unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_to_another_user_moves_money_once_and_each_sees_their_side() {
    let app = spawn_app().await;
    let (alice, bob) = (app.token("alice").await, app.token("bob").await);
    let mut alices = app.socket(&alice).await;
    let mut bobs = app.socket(&bob).await;
    app.open_account_with(&alice, "acc-a", 100).await;
    app.open_account(&bob, "acc-b").await;
    status_frames(&mut alices, 1, Duration::from_secs(10)).await;
    status_frames(&mut bobs, 1, Duration::from_secs(10)).await;

    let transfer = app
        .accepted(
            &alice,
            "transfer",
            json!({"fromAccountId": "acc-a", "toAccountId": "acc-b", "amount": "30.50"}),
        )
        .await;
    let statuses = status_frames(&mut alices, 1, Duration::from_secs(15)).await;
    assert_eq!(
        (
            statuses[0]["commandId"].as_str(),
            statuses[0]["status"].as_str()
        ),
        (Some(transfer.as_str()), Some("succeeded"))
    );
    let extra = frames_until_quiet(&mut alices, Duration::from_millis(800)).await;
    assert!(
        extra.iter().all(|f| f["type"] != "status"),
        "one final status only: {extra:?}"
    );
    // Bob hears of the money as an event of his account, not as Alice's status.
    let bob_frames = frames_until_quiet(&mut bobs, Duration::from_millis(800)).await;
    assert!(bob_frames.iter().all(|f| f["type"] != "status"));
    let credited: Vec<&Value> = bob_frames
        .iter()
        .filter(|f| f["event"]["eventType"] == "TransferCredited")
        .collect();
    assert_eq!(credited.len(), 1, "{bob_frames:?}");
    assert_eq!(credited[0]["event"]["data"]["balanceAfter"], "30.50");

    assert_eq!(balance(&app, &alice, "acc-a").await, (6950, 0));
    assert_eq!(balance(&app, &bob, "acc-b").await, (3050, 0));
    app.eventually(&bob, "/projections/AccountBalances", |b| {
        b["items"][0]["balance"] == "30.50"
    })
    .await;
    app.eventually(&alice, "/projections/AccountBalances", |b| {
        b["items"][0]["balance"] == "69.50"
    })
    .await;
    let kinds = app.history_kinds(&alice, "acc-a", 3).await;
    assert_eq!(
        kinds,
        ["TransferCompleted", "TransferDebited", "AccountOpened"]
    );
    let (_, outcome) = app.get(&alice, &format!("/commands/{transfer}")).await;
    assert_eq!(outcome["status"], "succeeded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_the_target_refuses_is_refunded_and_says_why() {
    let app = spawn_app().await;
    let alice = app.token("alice").await;
    let mut socket = app.socket(&alice).await;
    app.open_account_with(&alice, "acc-a", 100).await;
    app.accepted(
        &alice,
        "open-account",
        json!({"accountId": "acc-usd", "currency": "USD"}),
    )
    .await;
    status_frames(&mut socket, 2, Duration::from_secs(10)).await;
    for (to, code) in [
        ("acc-nowhere", "ACCOUNT_NOT_FOUND"),
        ("acc-usd", "CURRENCY_MISMATCH"),
    ] {
        let id = app
            .accepted(
                &alice,
                "transfer",
                json!({"fromAccountId": "acc-a", "toAccountId": to, "amount": 40}),
            )
            .await;
        let statuses = status_frames(&mut socket, 1, Duration::from_secs(15)).await;
        assert_eq!(statuses[0]["commandId"], id.as_str());
        assert_eq!(
            (
                statuses[0]["status"].as_str(),
                statuses[0]["error"]["code"].as_str()
            ),
            (Some("rejected"), Some(code))
        );
        assert_eq!(
            balance(&app, &alice, "acc-a").await,
            (10_000, 0),
            "the money came back"
        );
        // Asked without a socket, the transfer says what the socket said
        // (its debit alone succeeded, but that is not its outcome).
        let (_, asked) = app.get(&alice, &format!("/commands/{id}")).await;
        assert_eq!(
            (&asked["status"], &asked["outcome"]["error"]["code"]),
            (&json!("rejected"), &json!(code)),
            "{asked}"
        );
        assert_eq!(asked["outcome"]["events"], statuses[0]["events"]);
    }
    let (status, problem) = app
        .command(
            &alice,
            "transfer",
            json!({"fromAccountId": "acc-a", "toAccountId": "acc-a", "amount": 1}),
            None,
        )
        .await;
    assert_eq!(
        (status, problem["errors"][0]["field"].as_str()),
        (422, Some("toAccountId"))
    );
}

/// The processor "dies" after committing `steps` steps (publishing none of
/// their follow-ups); JetStream then redelivers the last one.
async fn crash_after(steps: usize) {
    let app = spawn_app().await;
    let alice = app.token("alice").await;
    let mut socket = app.socket(&alice).await;
    app.open_account_with(&alice, "acc-a", 100).await;
    app.open_account(&alice, "acc-b").await;
    status_frames(&mut socket, 2, Duration::from_secs(10)).await;
    let store = app.event_store().await;
    let transfer = message("alice", transfer("acc-a", "acc-b", 2_500));
    let mut message = transfer.clone();
    for step in 0..steps {
        let handled = handle_command(&store, &message, 10).await.unwrap();
        if step + 1 < steps {
            message = follow_up(&store, &message, &handled.status, handled.fresh)
                .await
                .unwrap()
                .next
                .expect("a next step");
        }
    }
    app.bus().await.publish_command(&message).await.unwrap();
    let statuses = status_frames(&mut socket, 2, Duration::from_secs(15)).await;
    assert_eq!(
        statuses.len(),
        1,
        "crash after {steps} steps: one final status, got {statuses:?}"
    );
    assert_eq!(
        (
            statuses[0]["commandId"].as_str(),
            statuses[0]["status"].as_str()
        ),
        (
            Some(transfer.command_id.to_string().as_str()),
            Some("succeeded")
        )
    );
    assert_eq!(
        balance(&app, &alice, "acc-a").await,
        (7_500, 0),
        "crash after {steps} steps"
    );
    assert_eq!(
        balance(&app, &alice, "acc-b").await,
        (2_500, 0),
        "crash after {steps} steps"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_after_the_debit_loses_no_money() {
    crash_after(1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_after_the_credit_creates_no_money() {
    crash_after(2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_after_the_last_step_still_tells_the_user_once() {
    crash_after(3).await;
}
