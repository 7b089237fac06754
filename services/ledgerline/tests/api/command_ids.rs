//! Command ids a client names are its user's own: another user naming the
//! same id — derived from someone's Idempotency-Key, copied from their
//! command, or a transfer step's id read from an event — gets a command of
//! their own, and can neither claim, block nor answer anyone else's.

use ledgerline_contracts::{CommandKey, TransferStep};
use ledgerline_domain::UserId;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, minor, spawn_app};

/// The namespace the command API derives ids from Idempotency-Keys in: an
/// attacker can read it in the source.
const IDEMPOTENCY_NAMESPACE: Uuid = Uuid::from_u128(0x6c65_6467_6572_6c69_6e65_2d69_646b_6579);

async fn post(app: &TestApp, token: &str, kind: &str, body: Value, key: Option<&str>) -> String {
    let (status, answer) = app.command(token, kind, body, key).await;
    assert_eq!(status, 202, "{kind}: {answer}");
    answer["commandId"].as_str().expect("commandId").to_owned()
}

async fn balance(app: &TestApp, token: &str, account: &str) -> (i64, i64) {
    let (_, a) = app.get(token, &format!("/queries/account/{account}")).await;
    (
        minor(&a["balance"]).unwrap_or(-1),
        minor(&a["inFlight"]).unwrap_or(-1),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_another_user_names_first_is_still_yours() {
    let app = spawn_app().await;
    let (alice, bob) = (app.token("alice").await, app.token("bob").await);
    let opened = post(
        &app,
        &alice,
        "open-account",
        json!({"accountId": "acc-a"}),
        None,
    )
    .await;
    assert_eq!(app.outcome(&alice, &opened).await["status"], "succeeded");

    // Bob names the id Alice's `Idempotency-Key: pay-2` will derive, before
    // she uses it, and the id of Alice's earlier command.
    let pay2 = Uuid::new_v5(&IDEMPOTENCY_NAMESPACE, b"alice:pay-2").to_string();
    for id in [&pay2, &opened] {
        let bobs = post(
            &app,
            &bob,
            "open-account",
            json!({"commandId": id, "accountId": format!("acc-b-{}", &id[..8])}),
            None,
        )
        .await;
        assert_eq!(&bobs, id, "Bob knows his command by the id he named");
        assert_eq!(app.outcome(&bob, id).await["kind"], "open-account");
    }

    // Alice's first request with that key is accepted and decided as hers.
    let deposit = json!({"accountId": "acc-a", "amount": 5});
    let (status, answer) = app
        .command(&alice, "deposit", deposit.clone(), Some("pay-2"))
        .await;
    assert_eq!(
        (status, answer["commandId"].as_str()),
        (202, Some(pay2.as_str()))
    );
    let outcome = app.outcome(&alice, &pay2).await;
    assert_eq!(
        (&outcome["kind"], &outcome["status"]),
        (&json!("deposit"), &json!("succeeded"))
    );
    // A repeat of it is the same command; her open-account is still hers.
    let (status, _) = app.command(&alice, "deposit", deposit, Some("pay-2")).await;
    assert_eq!(status, 202);
    assert_eq!(app.outcome(&alice, &opened).await["kind"], "open-account");
    assert_eq!(
        balance(&app, &alice, "acc-a").await,
        (500, 0),
        "deposited once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nobody_can_name_a_transfer_steps_id() {
    let app = spawn_app().await;
    let (alice, bob, mallory) = (
        app.token("alice").await,
        app.token("bob").await,
        app.token("mallory").await,
    );
    for (token, account, initial) in [
        (&alice, "acc-a", 100),
        (&bob, "acc-b", 0),
        (&mallory, "acc-m", 10),
    ] {
        let id = post(
            &app,
            token,
            "open-account",
            json!({"accountId": account, "initialBalance": initial}),
            None,
        )
        .await;
        assert_eq!(app.outcome(token, &id).await["status"], "succeeded");
    }

    // Mallory learns the id Alice will give her transfer and names its
    // credit step's id first, in refused commands — as the old scheme
    // derived it, and as the current one does (the code is public).
    let transfer = Uuid::now_v7();
    let alice_id = UserId::parse("alice").unwrap();
    let transfer_key = CommandKey::of_client(&alice_id, transfer);
    let credit_ids = [
        Uuid::new_v5(&transfer, b"credit"),
        CommandKey::of_step(transfer_key, TransferStep::Credit).as_uuid(),
    ];
    for id in credit_ids {
        let refused = post(
            &app,
            &mallory,
            "withdraw",
            json!({"commandId": id, "accountId": "acc-m", "amount": 1000}),
            None,
        )
        .await;
        assert_eq!(app.outcome(&mallory, &refused).await["status"], "rejected");
    }

    // Alice's transfer is not stalled by them.
    let id = post(
        &app,
        &alice,
        "transfer",
        json!({"commandId": transfer, "fromAccountId": "acc-a", "toAccountId": "acc-b", "amount": 30}),
        None,
    )
    .await;
    assert_eq!(app.outcome(&alice, &id).await["status"], "succeeded");
    assert_eq!(
        balance(&app, &alice, "acc-a").await,
        (7_000, 0),
        "nothing left in flight"
    );
    assert_eq!(balance(&app, &bob, "acc-b").await, (3_000, 0));

    // Every step id of the finished transfer, as the events show them to
    // Bob and Alice, named by Eve as her own transfer's id: each is a
    // transfer of Eve's, decided on its own merits.
    let eve = app.token("eve").await;
    let id = post(
        &app,
        &eve,
        "open-account",
        json!({"accountId": "acc-e", "initialBalance": 10}),
        None,
    )
    .await;
    assert_eq!(app.outcome(&eve, &id).await["status"], "succeeded");
    let mut step_ids = Vec::new();
    for (token, account) in [(&alice, "acc-a"), (&bob, "acc-b")] {
        let (_, events) = app
            .get(
                token,
                &format!("/events/account/{account}?afterVersion=0&limit=100"),
            )
            .await;
        let events = events.as_array().cloned().unwrap_or_default();
        for e in events {
            let id = e["metadata"]["commandId"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            if id != transfer.to_string()
                && e["eventType"]
                    .as_str()
                    .is_some_and(|t| t.starts_with("Transfer"))
            {
                step_ids.push(id);
            }
        }
    }
    assert_eq!(
        step_ids.len(),
        2,
        "the credit and completion steps: {step_ids:?}"
    );
    for id in step_ids {
        let hers = post(
            &app,
            &eve,
            "transfer",
            json!({"commandId": id, "fromAccountId": "acc-e", "toAccountId": "acc-b", "amount": 1}),
            None,
        )
        .await;
        let outcome = app.outcome(&eve, &hers).await;
        assert_eq!(outcome["status"], "succeeded", "{outcome}");
    }
    assert_eq!(balance(&app, &eve, "acc-e").await, (800, 0));
    assert_eq!(balance(&app, &bob, "acc-b").await, (3_200, 0));
    assert_eq!(
        balance(&app, &alice, "acc-a").await,
        (7_000, 0),
        "Alice's side untouched"
    );
}
