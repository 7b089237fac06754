#![allow(clippy::unwrap_used)]
//! How the store's PostgreSQL connections behave when one breaks: a held
//! connection (a commit queue's) keeps its backend while it works and is
//! replaced after an error; a pooled connection that sat idle is tested
//! before it is handed out, so a backend that went away meanwhile costs
//! no statement.

use ledgerline_runtime::IDLE_CONNECTION_TEST_AFTER;
use ledgerline_store::{HeldConnection, MIGRATOR, SCHEMA};
use ledgerline_testkit::TestDatabase;
use sqlx::{Connection, PgConnection, PgPool};

async fn backend_pid(conn: &mut PgConnection) -> Result<i32, sqlx::Error> {
    sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(conn)
        .await
}

/// Ends `pid`'s backend from a connection of its own, as a restarted
/// server or a dropped link would.
async fn terminate(db: &TestDatabase, pid: i32) {
    let mut admin = PgConnection::connect(&db.url()).await.unwrap();
    let ended: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
        .bind(pid)
        .fetch_one(&mut admin)
        .await
        .unwrap();
    assert!(ended);
    admin.close().await.unwrap();
}

async fn pool(db: &TestDatabase) -> PgPool {
    db.schema(SCHEMA, &MIGRATOR, 1).await
}

#[tokio::test]
async fn a_held_connection_keeps_its_backend_and_is_replaced_after_an_error() {
    let db = TestDatabase::create("held").await;
    let mut held = HeldConnection::new(pool(&db).await);
    let first = held.run(async |c| backend_pid(c).await).await.unwrap();
    let again = held.run(async |c| backend_pid(c).await).await.unwrap();
    assert_eq!(first, again, "the same connection between statements");

    terminate(&db, first).await;
    let failed = held.run(async |c| backend_pid(c).await).await;
    assert!(failed.is_err(), "its backend is gone");
    let next = held.run(async |c| backend_pid(c).await).await.unwrap();
    assert_ne!(next, first, "a new connection after the error");
}

#[tokio::test]
async fn an_idle_pooled_connection_is_tested_before_it_is_handed_out() {
    let db = TestDatabase::create("idle").await;
    let pool = pool(&db).await;
    let first: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&pool)
        .await
        .unwrap();
    terminate(&db, first).await;
    tokio::time::sleep(IDLE_CONNECTION_TEST_AFTER + std::time::Duration::from_millis(500)).await;
    // The pool's one connection is dead; the test before the hand-out finds
    // it so, and the statement runs on a new one.
    let next: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_ne!(next, first);
}
