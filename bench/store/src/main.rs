//! `make bench` (e) and (f), straight on the event store's tables in a
//! private database: events are generated in PostgreSQL with one
//! `INSERT … SELECT FROM generate_series` (fast, no service involved), then
//!
//! (e) an account of 100,000 events is loaded with `PostgresEventStore::load`
//!     (latest snapshot + the events after it — the snapshot is taken 10
//!     events behind the head, the worst case with `SNAPSHOT_EVERY=10`) and
//!     with `load_without_snapshot` (every event);
//! (f) a plain sequential `SELECT` of the events table in pages, the
//!     store's own page read (`EventStore::stream`), and the balance
//!     projector's own `apply` replayed over all of it (one transaction per
//!     page, and one per event); `ledgerctl bench suite` then times the real
//!     `POST /projections/rebuild` on the same database.
//!
//! Prints one JSON object.

use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use ledgerline_domain::{Account, AccountId};
use ledgerline_projection::Projector;
use ledgerline_store::{EventStore, PostgresEventStore};
use serde_json::json;
use sqlx::migrate::Migrator;

static BALANCES: Migrator = sqlx::migrate!("../../services/balance-service/migrations");

#[derive(Parser)]
struct Args {
    /// A database of its own (created; its schemas are dropped first).
    #[arg(long, env = "DATABASE_URL")]
    database_url: String,
    #[arg(long, default_value_t = 100_000)]
    big_account_events: i64,
    /// Accounts × events of the rebuild data set (besides the big account).
    #[arg(long, default_value_t = 2_000)]
    accounts: i64,
    #[arg(long, default_value_t = 100)]
    events_per_account: i64,
    #[arg(long, default_value_t = 1_000)]
    page: i64,
}

#[tokio::main]
#[allow(clippy::float_arithmetic)]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    ledgerline_runtime::ensure_database(&args.database_url).await?;
    let admin = sqlx::PgPool::connect(&args.database_url).await?;
    sqlx::query("DROP SCHEMA IF EXISTS es CASCADE")
        .execute(&admin)
        .await?;
    sqlx::query("DROP SCHEMA IF EXISTS balances CASCADE")
        .execute(&admin)
        .await?;
    let es = ledgerline_runtime::connect_schema(
        &args.database_url,
        ledgerline_store::SCHEMA,
        &ledgerline_store::MIGRATOR,
        4,
    )
    .await?;
    let store = PostgresEventStore::new(es.clone());

    // (e) one account with many events.
    let big = AccountId::parse("big-1")?;
    let started = Instant::now();
    generate(&es, "big-", 1, args.big_account_events).await?;
    let generated_big = started.elapsed();
    let mut without = Vec::new();
    let mut full = None;
    for _ in 0..5 {
        let t = Instant::now();
        let account = store.load_without_snapshot(&big).await?;
        without.push(t.elapsed());
        full = Some(account);
    }
    let full = full.context("no load")?;
    anyhow::ensure!(
        full.version == args.big_account_events,
        "loaded {} events",
        full.version
    );
    let at = args.big_account_events - 10;
    // The account as it was at `at`: the full replay's state, wound back
    // (done on the JSON form, so fields added to `Account` later come along).
    let mut snapshot = serde_json::to_value(&full)?;
    snapshot["version"] = json!(at);
    snapshot["status"]["balance"] = json!((at - 1) * 100);
    let snapshot: Account = serde_json::from_value(snapshot).context("snapshot state")?;
    sqlx::query("INSERT INTO snapshots (aggregate_id, version, state) VALUES ($1, $2, $3)")
        .bind(big.as_str())
        .bind(at)
        .bind(serde_json::to_value(&snapshot)?)
        .execute(&es)
        .await?;
    let mut with = Vec::new();
    for _ in 0..200 {
        let t = Instant::now();
        let account = store.load(&big).await?;
        with.push(t.elapsed());
        anyhow::ensure!(
            account == full,
            "the snapshot load differs from the full replay"
        );
    }

    // (f) the rebuild data set: many accounts, interleaved as live traffic would be.
    let t = Instant::now();
    generate(&es, "r-", args.accounts, args.events_per_account).await?;
    let generated_rest = t.elapsed();
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&es)
        .await?;
    sqlx::query("VACUUM ANALYZE events").execute(&es).await?;

    // Plain sequential read: the same pages, rows only.
    let t = Instant::now();
    let (mut after, mut read) = (0i64, 0i64);
    loop {
        let rows: Vec<(i64, serde_json::Value, serde_json::Value)> = sqlx::query_as(
            "SELECT global_position, data, metadata FROM events WHERE global_position > $1 ORDER BY global_position LIMIT $2",
        )
        .bind(after)
        .bind(args.page)
        .fetch_all(&es)
        .await?;
        let Some(last) = rows.last() else { break };
        after = last.0;
        read += rows.len() as i64;
    }
    let plain = t.elapsed();
    anyhow::ensure!(read == total, "read {read} of {total}");

    // The store's own global-log read (decoded envelopes), no projection.
    let t = Instant::now();
    let (mut after, mut decoded) = (0i64, 0i64);
    loop {
        let page = store.stream(after, args.page, None).await?;
        let Some(last) = page.last() else { break };
        after = last.global_position;
        decoded += page.len() as i64;
    }
    let stream_read = t.elapsed();

    // The rebuild: stream + Balances::apply, one transaction per page.
    let balances = ledgerline_runtime::connect_schema(
        &args.database_url,
        balance_service::SCHEMA,
        &BALANCES,
        2,
    )
    .await?;
    let projector = balance_service::Balances;
    let t = Instant::now();
    let (mut after, mut applied) = (0i64, 0i64);
    loop {
        let page = store.stream(after, args.page, None).await?;
        let Some(last) = page.last() else { break };
        after = last.global_position;
        let mut tx = balances.begin().await?;
        projector.apply(&mut tx, &page).await?;
        tx.commit().await?;
        applied += page.len() as i64;
    }
    let rebuild = t.elapsed();
    let balance: i64 =
        sqlx::query_scalar("SELECT balance FROM accounts WHERE account_id = 'big-1'")
            .fetch_one(&balances)
            .await?;
    anyhow::ensure!(
        balance == (args.big_account_events - 1) * 100,
        "rebuilt balance {balance}"
    );

    // For comparison, what the live runner's shape costs: one transaction per event.
    sqlx::query("TRUNCATE accounts, daily_summary")
        .execute(&balances)
        .await?;
    let sample = 20_000.min(total);
    let page = store.stream(0, sample, None).await?;
    let t = Instant::now();
    for event in &page {
        let mut tx = balances.begin().await?;
        projector
            .apply(&mut tx, std::slice::from_ref(event))
            .await?;
        tx.commit().await?;
    }
    let per_event = t.elapsed();

    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let p99 = |v: &Vec<Duration>| v[(v.len() * 99 / 100).min(v.len() - 1)];
    let rate = |n: i64, d: Duration| n as f64 / d.as_secs_f64();
    let with_median = median(&mut with);
    let without_median = median(&mut without);
    println!(
        "{}",
        json!({
            "load": {
                "events": args.big_account_events,
                "snapshotAtVersion": at,
                "withSnapshotMs": {"median": ms(with_median), "p99": ms(p99(&with)), "max": ms(*with.last().unwrap_or(&Duration::ZERO)), "runs": with.len()},
                "withoutSnapshotMs": {"median": ms(without_median), "min": ms(without[0]), "max": ms(*without.last().unwrap_or(&Duration::ZERO)), "runs": without.len()},
                "generateSecs": generated_big.as_secs_f64(),
            },
            "rebuild": {
                "events": total,
                "accounts": args.accounts + 1,
                "page": args.page,
                "plainReadPerSec": rate(read, plain),
                "storeStreamPerSec": rate(decoded, stream_read),
                "rebuildPerSec": rate(applied, rebuild),
                "rebuildToPlainRead": rate(applied, rebuild) / rate(read, plain),
                "oneTransactionPerEventPerSec": rate(sample, per_event),
                "oneTransactionPerEventSample": sample,
                "generateSecs": generated_rest.as_secs_f64(),
            },
        })
    );
    Ok(())
}

/// `accounts` accounts named `{prefix}{n}`, each with `events` events
/// (opened with 0, then deposits of 1.00), interleaved by version; amounts
/// in the form the processor writes them (`"1.00"`).
async fn generate(
    pool: &sqlx::PgPool,
    prefix: &str,
    accounts: i64,
    events: i64,
) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO events (event_id, aggregate_type, aggregate_id, version, event_type, schema_version, data, metadata)
         SELECT gen_random_uuid(), 'BankAccount', $1 || a, v,
                CASE WHEN v = 1 THEN 'AccountOpened' ELSE 'MoneyDeposited' END, 1,
                CASE WHEN v = 1 THEN jsonb_build_object('ownerId', 'bench', 'currency', 'EUR', 'initialBalance', '0.00')
                     ELSE jsonb_build_object('amount', '1.00', 'balanceAfter', (v - 1) || '.00') END,
                jsonb_build_object('commandId', gen_random_uuid(), 'correlationId', gen_random_uuid(),
                                   'userId', 'bench', 'timestamp', '2026-11-22T10:00:00Z')
         FROM generate_series(1, $3::bigint) v, generate_series(1, $2::bigint) a
         ORDER BY v, a",
    )
    .bind(prefix)
    .bind(accounts)
    .bind(events)
    .execute(pool)
    .await?;
    Ok(())
}
