//! Read-your-writes: the status envelope's `position`, passed back as
//! `?minPosition=`, makes a read model answer with the write in it.

use std::time::Duration;

use command_processor::handle_command;
use ledgerline_testkit::commands::{deposit, message};

use crate::helpers::{spawn_app, status_frames};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_with_min_position_sees_the_write_it_names() {
    let app = spawn_app().await;
    let alice = app.token("alice").await;
    let mut socket = app.socket(&alice).await;
    app.open_account(&alice, "acc-r").await;
    status_frames(&mut socket, 1, Duration::from_secs(10)).await;
    for amount in 1..=5 {
        let id = app.deposit(&alice, "acc-r", amount).await;
        let status = status_frames(&mut socket, 1, Duration::from_secs(10)).await;
        let position = status[0]["position"]
            .as_i64()
            .expect("the status carries a position");
        assert_eq!(
            status[0]["position"],
            status[0]["events"][0]["globalPosition"]
        );
        // Asked once, no polling: the answer already holds the deposit.
        let (code, balances) = app
            .get(
                &alice,
                &format!("/projections/AccountBalances?minPosition={position}"),
            )
            .await;
        assert_eq!(code, 200);
        assert_eq!(
            balances["items"][0]["version"],
            amount + 1,
            "balance read model after deposit {amount}"
        );
        let path =
            format!("/projections/TransactionHistory?accountId=acc-r&minPosition={position}");
        let (_, history) = app.get(&alice, &path).await;
        assert_eq!(
            history["items"].as_array().map(Vec::len),
            Some(amount as usize + 1)
        );
        let (_, command) = app.get(&alice, &format!("/commands/{id}")).await;
        if command["status"] == "succeeded" {
            assert_eq!(command["position"], position);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_position_no_event_has_is_404_after_waiting_for_it() {
    let app = spawn_app().await;
    let alice = app.token("alice").await;
    // Past the log's head: no retry would help, so not a 503.
    let (status, body) = app
        .get(&alice, "/projections/AccountBalances?minPosition=999999")
        .await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(
        app.get(&alice, "/projections/AccountBalances?minPosition=-1")
            .await
            .0,
        422
    );
    assert_eq!(
        app.get(&alice, "/projections/TransactionHistory?minPosition=x")
            .await
            .0,
        400
    );
    assert_eq!(
        app.get(&alice, "/projections/AccountBalances?minPosition=0")
            .await
            .0,
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stored_event_the_read_model_has_not_applied_is_503_with_retry_after() {
    let app = spawn_app().await;
    let alice = app.token("alice").await;
    app.open_account(&alice, "acc-w").await;
    // A deposit committed to the store whose event never reaches JetStream
    // (a processor that died before publishing): the read models cannot
    // apply it until a later event of the account makes them heal the gap.
    let store = app.event_store().await;
    let decided = handle_command(&store, &message("alice", deposit("acc-w", 100)), 10)
        .await
        .expect("decided");
    let position = decided.status.payload.position.expect("a position");
    let response = app
        .http
        .get(app.url(&format!(
            "/projections/AccountBalances?minPosition={position}"
        )))
        .bearer_auth(&alice)
        .send()
        .await
        .expect("an answer");
    assert_eq!(response.status().as_u16(), 503);
    assert_eq!(
        response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("1")
    );
}
