//! The audit log shows each entry to the owner of the account it concerns
//! (issue 11, A): a transfer's sender sees their side, the receiver theirs,
//! operators both — nobody reads another's balance with a 0.01 transfer.

use serde_json::{Value, json};

use crate::helpers::spawn_app;

fn items(body: &Value) -> &Vec<Value> {
    body["items"].as_array().expect("items")
}

fn has_event(body: &Value, account: &str, event_type: &str) -> bool {
    items(body)
        .iter()
        .any(|e| e["accountId"] == account && e["payload"]["eventType"] == event_type)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_shows_each_side_only_to_its_owner() {
    let app = spawn_app().await;
    let (alice, bob) = (app.token("alice").await, app.token("bob").await);
    let ops = app.token_with_role("ops", Some("operator")).await;
    app.open_account(&alice, "acc-a").await;
    app.open_account_with(&bob, "acc-b", 100).await;
    let transfer = app
        .accepted(
            &bob,
            "transfer",
            json!({"fromAccountId": "acc-b", "toAccountId": "acc-a", "amount": "0.01"}),
        )
        .await;

    // Everything has reached the audit log once the operator sees it all.
    app.eventually(&ops, "/audit", |b| {
        has_event(b, "acc-a", "TransferCredited")
            && has_event(b, "acc-b", "TransferDebited")
            && has_event(b, "acc-b", "TransferCompleted")
            && items(b)
                .iter()
                .any(|e| e["payload"]["commandId"] == transfer.as_str() && e["kind"] == "status")
    })
    .await;

    let (status, bobs) = app.get(&bob, "/audit").await;
    assert_eq!(status, 200);
    assert!(has_event(&bobs, "acc-b", "TransferDebited"), "{bobs}");
    assert!(has_event(&bobs, "acc-b", "TransferCompleted"), "{bobs}");
    assert!(
        items(&bobs)
            .iter()
            .any(|e| e["kind"] == "status" && e["payload"]["commandId"] == transfer.as_str()),
        "the sender sees the transfer's outcome: {bobs}"
    );
    for entry in items(&bobs) {
        assert_eq!(
            entry["accountId"], "acc-b",
            "bob sees another's entry: {entry}"
        );
        assert_ne!(entry["payload"]["eventType"], "TransferCredited", "{entry}");
    }

    let (_, alices) = app.get(&alice, "/audit").await;
    assert!(has_event(&alices, "acc-a", "TransferCredited"), "{alices}");
    let credited = items(&alices)
        .iter()
        .find(|e| e["payload"]["eventType"] == "TransferCredited")
        .unwrap();
    assert_eq!(credited["payload"]["data"]["balanceAfter"], "0.01");
    for entry in items(&alices) {
        assert_eq!(
            entry["accountId"], "acc-a",
            "alice sees another's entry: {entry}"
        );
    }
}
