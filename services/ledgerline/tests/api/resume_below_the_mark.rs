//! Resume reads missed events below the event store's safe high-water
//! mark, which any transaction still in flight on the database server holds
//! back. A replay read while the mark lags must wait for it, not end early
//! and look complete.

use std::time::Duration;

use crate::helpers::{connect_socket, frames_until_quiet, spawn_app};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resume_while_a_transaction_holds_the_mark_back_still_gets_every_missed_event() {
    let app = spawn_app().await;
    let alice = app.token("alice").await;
    app.open_account_with(&alice, "acc-m", 10).await;
    app.eventually(&alice, "/projections/AccountBalances", |b| {
        b["items"][0]["version"] == 1
    })
    .await;

    // A transaction elsewhere on the server, older than the deposit's: the
    // deposit is committed, yet below the mark only once this one ends.
    // Held briefly (other tests share the server's mark).
    let (server, _) = app.config.database_url.rsplit_once('/').unwrap();
    let mut elsewhere =
        <sqlx::PgConnection as sqlx::Connection>::connect(&format!("{server}/postgres"))
            .await
            .unwrap();
    sqlx::raw_sql("BEGIN; SELECT pg_current_xact_id();")
        .execute(&mut elsewhere)
        .await
        .unwrap();
    app.deposit(&alice, "acc-m", 5).await;
    app.eventually(&alice, "/projections/AccountBalances", |b| {
        b["items"][0]["version"] == 2
    })
    .await;
    let release = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        sqlx::raw_sql("COMMIT")
            .execute(&mut elsewhere)
            .await
            .unwrap();
    });

    let mut socket = connect_socket(app.port, &alice, "&eventPosition=1").await;
    let frames = frames_until_quiet(&mut socket, Duration::from_secs(3)).await;
    release.await.unwrap();
    let versions: Vec<i64> = frames
        .iter()
        .filter(|f| f["type"] == "event")
        .filter_map(|f| f["event"]["version"].as_i64())
        .collect();
    assert_eq!(versions, [2], "{frames:#?}");
}
