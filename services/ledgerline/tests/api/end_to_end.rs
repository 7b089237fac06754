use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{next_frame, send_text, spawn_app, status_frames};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alice_sees_every_outcome_on_every_socket_and_bob_sees_none() {
    let app = spawn_app().await;
    let alice = app.token("alice").await;
    let bob = app.token("bob").await;
    let mut tab1 = app.socket(&alice).await;
    let mut tab2 = app.socket(&alice).await;
    let mut bobs = app.socket(&bob).await;

    let open = app
        .accepted(
            &alice,
            "open-account",
            json!({"accountId": "acc-a", "initialBalance": "100.00"}),
        )
        .await;
    let deposit = app.deposit(&alice, "acc-a", 50.25).await;
    let withdraw = app
        .accepted(
            &alice,
            "withdraw",
            json!({"accountId": "acc-a", "amount": "20"}),
        )
        .await;
    let over = app
        .accepted(
            &alice,
            "withdraw",
            json!({"accountId": "acc-a", "amount": "1000"}),
        )
        .await;
    let expected = [
        (&open, "succeeded"),
        (&deposit, "succeeded"),
        (&withdraw, "succeeded"),
        (&over, "rejected"),
    ];

    for tab in [&mut tab1, &mut tab2] {
        let frames = status_frames(tab, 4, Duration::from_secs(10)).await;
        let got: Vec<(String, String)> = frames
            .iter()
            .map(|f| {
                (
                    f["commandId"].as_str().unwrap().to_owned(),
                    f["status"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        let want: Vec<(String, String)> = expected
            .iter()
            .map(|(id, s)| ((*id).clone(), (*s).to_owned()))
            .collect();
        assert_eq!(got, want);
        assert_eq!(frames[3]["error"]["code"], "INSUFFICIENT_FUNDS");
        assert!(
            frames.iter().all(|f| f["seq"].as_u64().is_some()),
            "status frames carry seq"
        );
        assert_eq!(
            frames[1]["events"][0]["data"],
            json!({"amount": "50.25", "balanceAfter": "150.25", "reference": null})
        );
    }
    // Bob's socket hears nothing of Alice's.
    let leaked = status_frames(&mut bobs, 1, Duration::from_millis(500)).await;
    assert!(leaked.is_empty(), "bob received {leaked:?}");

    // The store says 130.25; every read model converges to it.
    assert_eq!(
        app.balance_and_version(&alice, "acc-a").await,
        (Some(13025), Some(3))
    );
    app.eventually(&alice, "/projections/AccountBalances", |b| {
        b["items"][0]["balance"] == "130.25"
    })
    .await;
    let kinds = app.history_kinds(&alice, "acc-a", 3).await;
    assert_eq!(kinds, ["MoneyWithdrawn", "MoneyDeposited", "AccountOpened"]);
    // 3 events + 4 outcomes in the audit log.
    app.eventually(&alice, "/audit", |b| {
        b["items"].as_array().map_or(0, Vec::len) == 7
    })
    .await;
    let (status, outcome) = app.get(&alice, &format!("/commands/{over}")).await;
    assert_eq!(
        (status, outcome["status"].as_str()),
        (200, Some("rejected"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bob_can_neither_act_on_nor_read_alices_account() {
    let app = spawn_app().await;
    let alice = app.token("alice").await;
    let bob = app.token("bob").await;
    let mut bobs = app.socket(&bob).await;
    let mut alices = app.socket(&alice).await;
    app.open_account_with(&alice, "acc-b", 10).await;
    status_frames(&mut alices, 1, Duration::from_secs(10)).await;

    let steal = app
        .accepted(
            &bob,
            "withdraw",
            json!({"accountId": "acc-b", "amount": 10}),
        )
        .await;
    let frames = status_frames(&mut bobs, 1, Duration::from_secs(10)).await;
    assert_eq!(frames[0]["commandId"], steal.as_str());
    assert_eq!(frames[0]["error"]["code"], "NOT_OWNER");

    assert_eq!(app.get(&bob, "/queries/account/acc-b").await.0, 403);
    assert_eq!(app.get(&bob, "/events/account/acc-b").await.0, 403);
    let (_, balances) = app.get(&bob, "/projections/AccountBalances").await;
    assert_eq!(balances["items"], json!([]));
    let (_, history) = app
        .get(&bob, "/projections/TransactionHistory?accountId=acc-b")
        .await;
    assert_eq!(history["items"], json!([]));
    let (_, stream) = app.get(&bob, "/events/stream").await;
    assert_eq!(stream, json!([]));
    assert_eq!(app.get(&bob, &format!("/commands/{steal}")).await.0, 200);
    let (_, account) = app.get(&alice, "/queries/account/acc-b").await;
    assert_eq!(account["balance"], "10.00");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_idempotency_key_twice_moves_money_once() {
    let app = spawn_app().await;
    let alice = app.token("alice").await;
    let mut socket = app.socket(&alice).await;
    app.open_account(&alice, "acc-i").await;
    let body = json!({"accountId": "acc-i", "amount": "7.50"});
    let (s1, first) = app
        .command(&alice, "deposit", body.clone(), Some("pay-1"))
        .await;
    let (s2, second) = app.command(&alice, "deposit", body, Some("pay-1")).await;
    assert_eq!((s1, s2), (202, 202));
    assert_eq!(first["commandId"], second["commandId"]);
    // The same key for a different request is refused, not silently reused.
    let (s3, problem) = app
        .command(
            &alice,
            "deposit",
            json!({"accountId": "acc-i", "amount": 1}),
            Some("pay-1"),
        )
        .await;
    assert_eq!(
        (s3, problem["type"].as_str()),
        (422, Some("urn:ledgerline:problem:idempotency-key-reused"))
    );
    // Also a body commandId repeated.
    let id = "0194f5a0-0000-7000-8000-000000000001";
    for _ in 0..2 {
        let (s, a) = app
            .command(
                &alice,
                "deposit",
                json!({"accountId": "acc-i", "amount": 1, "commandId": id}),
                None,
            )
            .await;
        assert_eq!((s, a["commandId"].as_str()), (202, Some(id)));
    }
    let frames = status_frames(&mut socket, 3, Duration::from_secs(10)).await;
    assert_eq!(frames.len(), 3, "one outcome per distinct command");
    let extra = status_frames(&mut socket, 1, Duration::from_millis(500)).await;
    assert!(
        extra.is_empty(),
        "a repeat produced another outcome: {extra:?}"
    );
    assert_eq!(
        app.balance_and_version(&alice, "acc-i").await,
        (Some(850), Some(3))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_key_sent_many_times_at_once_moves_money_once() {
    let app = spawn_app().await;
    let alice = app.token("alice").await;
    let mut socket = app.socket(&alice).await;
    app.open_account(&alice, "acc-k").await;
    status_frames(&mut socket, 1, Duration::from_secs(10)).await;
    // Concurrent repeats land in one group insert of the accepted rows.
    let body = json!({"accountId": "acc-k", "amount": 5});
    let answers = futures::future::join_all(
        (0..16).map(|_| app.command(&alice, "deposit", body.clone(), Some("burst-1"))),
    )
    .await;
    let ids: std::collections::HashSet<String> = answers
        .iter()
        .map(|(status, answer)| {
            assert_eq!(*status, 202, "{answer}");
            answer["commandId"].as_str().unwrap_or_default().to_owned()
        })
        .collect();
    assert_eq!(ids.len(), 1, "one command id for one key: {ids:?}");
    let frames = status_frames(&mut socket, 2, Duration::from_secs(5)).await;
    assert_eq!(frames.len(), 1, "one outcome: {frames:?}");
    assert_eq!(
        app.balance_and_version(&alice, "acc-k").await,
        (Some(500), Some(2))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_sent_over_the_socket_are_accepted_and_answered() {
    let app = spawn_app().await;
    let alice = app.token("alice").await;
    let mut socket = app.socket(&alice).await;
    send_text(&mut socket, r#"{"type":"command","requestId":"r1","command":"open-account","body":{"accountId":"acc-s"}}"#).await;
    let accepted = next_frame(&mut socket, Duration::from_secs(5))
        .await
        .expect("accepted frame");
    assert_eq!(
        (accepted["type"].as_str(), accepted["requestId"].as_str()),
        (Some("accepted"), Some("r1"))
    );
    let status = status_frames(&mut socket, 1, Duration::from_secs(10)).await;
    assert_eq!(status[0]["commandId"], accepted["commandId"]);
    assert_eq!(status[0]["status"], "succeeded");

    send_text(&mut socket, r#"{"type":"command","requestId":"r2","command":"deposit","body":{"accountId":"acc-s","amount":"3"}}"#).await;
    // The opening's own event frame may still be on its way (events and
    // statuses travel separately), so read until the deposit's status and
    // the deposit's event have both arrived.
    let mut seen: Vec<Value> = Vec::new();
    let deposit_id = loop {
        let frame = next_frame(&mut socket, Duration::from_secs(10))
            .await
            .expect("the deposit's accepted frame");
        if frame["type"] == "accepted" {
            assert_eq!(frame["requestId"], "r2");
            break frame["commandId"].clone();
        }
        seen.push(frame);
    };
    let deposited = |f: &Value| f["type"] == "event" && f["event"]["eventType"] == "MoneyDeposited";
    let answered = |f: &Value| f["type"] == "status" && f["commandId"] == deposit_id;
    while !(seen.iter().any(deposited) && seen.iter().any(answered)) {
        seen.push(
            next_frame(&mut socket, Duration::from_secs(10))
                .await
                .unwrap_or_else(|| panic!("the deposit's status and event: {seen:?}")),
        );
    }
    let status = seen.iter().find(|f| answered(f)).expect("status frame");
    assert_eq!(status["status"], "succeeded");
    let event = seen
        .iter()
        .find(|f| deposited(f))
        .expect("the account's event arrives as an event frame");
    assert!(event["seq"].as_u64().is_some());
}
