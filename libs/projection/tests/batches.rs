#![allow(clippy::unwrap_used)]
//! The live runner against the real NATS and PostgreSQL, with a read model
//! of its own (one row per deposit): a burst is written in a few
//! transactions with the checkpoint, events delivered again change
//! nothing, and one event that cannot be applied holds back only itself;
//! and two read models sharing one process's event feed.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_nats::jetstream::consumer::pull;
use axum::Router;
use futures::StreamExt;

use ledgerline_bus::Bus;
use ledgerline_contracts::EventEnvelope;
use ledgerline_domain::{AccountEvent, Amount, Balance};
use ledgerline_projection::{
    EventFeed, LocalReadModels, Projector, ReadModel, ReadModelDb, Sources, StartFrom,
    projection_status, run_projector, start_read_model,
};
use ledgerline_runtime::Shutdown;
use ledgerline_store::InMemoryEventStore;
use ledgerline_testkit::events::envelope;
use ledgerline_testkit::{TestDatabase, TestPrefix};
use sqlx::migrate::Migrator;
use sqlx::{Connection, PgConnection, PgPool};

static MIGRATOR: Migrator = sqlx::migrate!("./tests/migrations");
const SCHEMA: &str = "moves";
/// The amount the test projector refuses to apply (and `Picky` while it is
/// told to): a poison event.
const POISON: i64 = 7_777;

#[derive(Clone)]
struct Moves;

impl Projector for Moves {
    const NAME: &'static str = "Moves";
    const DURABLE: &'static str = "moves-test";

    async fn apply(
        &self,
        tx: &mut PgConnection,
        events: &[EventEnvelope],
    ) -> Result<(), sqlx::Error> {
        if events.iter().any(|e| amount_of(e) == Some(POISON)) {
            return Err(sqlx::Error::Protocol("a poison event".into()));
        }
        insert(tx, events).await
    }
}

fn amount_of(event: &EventEnvelope) -> Option<i64> {
    match &event.event {
        AccountEvent::MoneyDeposited { amount, .. } => Some(amount.minor()),
        _ => None,
    }
}

/// One row per deposit.
async fn insert(tx: &mut PgConnection, events: &[EventEnvelope]) -> Result<(), sqlx::Error> {
    for e in events {
        let Some(amount) = amount_of(e) else {
            continue;
        };
        sqlx::query(
            "INSERT INTO moves (account_id, version, amount, global_position) VALUES ($1, $2, $3, $4)",
        )
        .bind(e.aggregate_id.as_str())
        .bind(e.version)
        .bind(amount)
        .bind(e.global_position)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// A runner on a database and stream prefix of its own, removed on drop.
struct Harness {
    bus: Bus,
    pool: PgPool,
    database_url: String,
    shutdown: Shutdown,
    // Dropped in this order, after the runner was told to stop.
    _prefix: TestPrefix,
    _database: TestDatabase,
}

async fn start() -> Harness {
    let database = TestDatabase::create("test_proj").await;
    let prefix = TestPrefix::new("p");
    let database_url = database.url();
    let bus = Bus::connect(prefix.nats_url(), prefix.as_str(), 1)
        .await
        .unwrap();
    bus.ensure_streams(1).await.unwrap();
    let db = ReadModelDb::connect(&database_url, SCHEMA, &MIGRATOR, 3)
        .await
        .unwrap();
    let shutdown = Shutdown::new();
    // No gap is left to heal here: an empty store answers any read.
    let sources = Sources {
        bus: bus.clone(),
        store: std::sync::Arc::new(InMemoryEventStore::new()),
        read_models: LocalReadModels::default(),
        feed: EventFeed::expecting(1),
    };
    tokio::spawn(run_projector(sources, db.clone(), Moves, shutdown.clone()));
    Harness {
        bus,
        pool: db.pool(),
        database_url,
        shutdown,
        _prefix: prefix,
        _database: database,
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

fn deposit(account: &str, version: i64, position: i64, amount: i64) -> EventEnvelope {
    let event = AccountEvent::MoneyDeposited {
        amount: Amount::from_minor(amount).unwrap(),
        balance_after: Balance::from_minor(amount * version).unwrap(),
        reference: None,
    };
    envelope(account, version, position, event)
}

impl Harness {
    /// Publishes without a `Nats-Msg-Id`, so JetStream keeps a second copy
    /// of an event: what a projector sees when a batch it committed is
    /// delivered again (its acks lost, a crash before acking).
    async fn publish(&self, events: &[EventEnvelope]) {
        let mut acks = Vec::new();
        for e in events {
            let body = serde_json::to_vec(e).unwrap();
            let subject = self.bus.subjects.event(&e.aggregate_id);
            acks.push(self.bus.js.publish(subject, body.into()).await.unwrap());
        }
        for ack in acks {
            ack.await.unwrap();
        }
    }

    /// Holds every writer of the read model (its switch gate, taken
    /// exclusively as a rebuild's switch does) until the connection closes.
    async fn hold_writers(&self) -> PgConnection {
        let mut hold = PgConnection::connect(&self.database_url).await.unwrap();
        sqlx::query("SELECT pg_advisory_lock(hashtext('ledgerline:switch:moves'))")
            .execute(&mut hold)
            .await
            .unwrap();
        hold
    }

    async fn wait_for_events(&self, applied: i64) -> ledgerline_projection::ProjectionStatus {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let status = projection_status(&self.pool, Moves::NAME).await.unwrap();
            if status.events >= applied {
                return status;
            }
            if tokio::time::Instant::now() >= deadline {
                let per: Vec<(String, i64, i64)> = sqlx::query_as(
                    "SELECT account_id, count(*), max(version) FROM moves GROUP BY 1 ORDER BY 1",
                )
                .fetch_all(&self.pool)
                .await
                .unwrap();
                panic!("stuck at {status:?}, waiting for {applied}: {per:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Rows, their sum, and how many transactions wrote them.
    async fn moves(&self) -> (i64, i64, i64) {
        sqlx::query_as(
            "SELECT count(*), coalesce(sum(amount), 0)::bigint, count(DISTINCT xmin::text) FROM moves",
        )
        .fetch_one(&self.pool)
        .await
        .unwrap()
    }
}

/// 300 events over 6 accounts, `amount` = 1 … 300 in publish order.
fn burst() -> Vec<EventEnvelope> {
    (1..=300)
        .map(|n| {
            let account = format!("acc-{}", n % 6);
            deposit(&account, (n - 1) / 6 + 1, n, n)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_is_applied_in_order_in_few_transactions_and_checkpointed() {
    let app = start().await;
    let events = burst();
    let hold = app.hold_writers().await;
    app.publish(&events).await;
    hold.close().await.unwrap();

    let status = app.wait_for_events(300).await;
    assert_eq!((status.events, status.last_position), (300, 300));
    let (rows, sum, transactions) = app.moves().await;
    assert_eq!((rows, sum), (300, 300 * 301 / 2));
    assert!(
        transactions <= 20,
        "300 events piled up took {transactions} transactions"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_delivered_again_is_not_applied_twice() {
    let app = start().await;
    let events = burst();
    app.publish(&events).await;
    app.wait_for_events(300).await;

    // The whole burst again, followed by one new event per account, while
    // writers are held: they arrive together, the copies beside new work.
    let fresh: Vec<EventEnvelope> = (0..6)
        .map(|a| deposit(&format!("acc-{a}"), 51, 301 + a, 1000))
        .collect();
    let hold = app.hold_writers().await;
    app.publish(&events).await;
    app.publish(&fresh).await;
    hold.close().await.unwrap();

    let status = app.wait_for_events(306).await;
    // Let any copy still in flight arrive: it must change nothing.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let again = projection_status(&app.pool, Moves::NAME).await.unwrap();
    assert_eq!((status.events, again.events), (306, 306));
    assert_eq!(again.last_position, 306);
    let (rows, sum, _) = app.moves().await;
    assert_eq!((rows, sum), (306, 300 * 301 / 2 + 6000));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_event_in_a_batch_holds_back_only_itself() {
    let app = start().await;
    let mut events = burst();
    // Its own account, in the middle of the burst.
    events.insert(150, deposit("acc-poison", 1, 1000, POISON));
    let hold = app.hold_writers().await;
    app.publish(&events).await;
    hold.close().await.unwrap();

    let status = app.wait_for_events(300).await;
    let (rows, sum, _) = app.moves().await;
    assert_eq!((status.events, rows, sum), (300, 300, 300 * 301 / 2));
    let poisoned: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM projected_versions WHERE aggregate_id = 'acc-poison'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(poisoned, 0);
}

// Two read models in one process share one durable consumer on the event
// stream: each event is delivered to the process once, both apply it, and
// it is acked only when both have it — an event one of them cannot apply
// yet comes back, and the other, which had it, does not apply it twice.

/// Applies everything.
#[derive(Clone)]
struct Keen;

impl Projector for Keen {
    const NAME: &'static str = "Keen";
    const DURABLE: &'static str = "keen-test";

    async fn apply(
        &self,
        tx: &mut PgConnection,
        events: &[EventEnvelope],
    ) -> Result<(), sqlx::Error> {
        insert(tx, events).await
    }
}

/// Refuses the poison while `refusing` holds.
#[derive(Clone)]
struct Picky {
    refusing: Arc<AtomicBool>,
}

impl Projector for Picky {
    const NAME: &'static str = "Picky";
    const DURABLE: &'static str = "picky-test";

    async fn apply(
        &self,
        tx: &mut PgConnection,
        events: &[EventEnvelope],
    ) -> Result<(), sqlx::Error> {
        let poisoned = events.iter().any(|e| amount_of(e) == Some(POISON));
        if poisoned && self.refusing.load(Ordering::SeqCst) {
            return Err(sqlx::Error::Protocol("not yet".into()));
        }
        insert(tx, events).await
    }
}

async fn wait_for<P: Projector>(pool: &PgPool, applied: i64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let status = projection_status(pool, P::NAME).await.unwrap();
        if status.events >= applied {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} stuck at {status:?}, waiting for {applied}",
            P::NAME
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Rows and their sum in one read model.
async fn moves_in(pool: &PgPool) -> (i64, i64) {
    sqlx::query_as("SELECT count(*), coalesce(sum(amount), 0)::bigint FROM moves")
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_models_of_one_process_share_one_delivery_and_an_event_is_acked_when_all_have_it() {
    let database = TestDatabase::create("test_feed").await;
    let prefix = TestPrefix::new("f");
    let bus = Bus::connect(prefix.nats_url(), prefix.as_str(), 1)
        .await
        .unwrap();
    bus.ensure_streams(1).await.unwrap();
    let shutdown = Shutdown::new();
    let sources = Sources {
        bus: bus.clone(),
        store: Arc::new(InMemoryEventStore::new()),
        read_models: LocalReadModels::default(),
        feed: EventFeed::expecting(2),
    };
    let keen = ReadModelDb::connect(&database.url(), "keen", &MIGRATOR, 3)
        .await
        .unwrap();
    let picky = ReadModelDb::connect(&database.url(), "picky", &MIGRATOR, 3)
        .await
        .unwrap();
    let refusing = Arc::new(AtomicBool::new(true));
    let first = start_read_model(
        &sources,
        &shutdown,
        ReadModel {
            service: "keen",
            projector: Keen,
            db: keen.clone(),
            router: Router::new(),
            start_from: StartFrom::Stream,
        },
    );
    assert!(sources.feed.durable().is_none(), "one of two has joined");
    let second = start_read_model(
        &sources,
        &shutdown,
        ReadModel {
            service: "picky",
            projector: Picky {
                refusing: refusing.clone(),
            },
            db: picky.clone(),
            router: Router::new(),
            start_from: StartFrom::Stream,
        },
    );
    assert_eq!(
        sources.feed.durable().as_deref(),
        Some("keen-test_picky-test")
    );

    // 60 deposits over 3 accounts, and the poison on an account of its own.
    let mut events: Vec<EventEnvelope> = (1..=60)
        .map(|n| deposit(&format!("acc-{}", n % 3), (n - 1) / 3 + 1, n, n))
        .collect();
    events.insert(30, deposit("acc-poison", 1, 1000, POISON));
    for e in &events {
        let body = serde_json::to_vec(e).unwrap();
        let subject = bus.subjects.event(&e.aggregate_id);
        bus.js
            .publish(subject, body.into())
            .await
            .unwrap()
            .await
            .unwrap();
    }
    let all = 60 * 61 / 2;
    wait_for::<Keen>(&keen.pool(), 61).await;
    wait_for::<Picky>(&picky.pool(), 60).await;

    // One durable consumer on the stream, named after both read models.
    let stream = bus
        .js
        .get_stream(bus.subjects.events_stream())
        .await
        .unwrap();
    let names: Vec<String> = stream.consumer_names().map(|n| n.unwrap()).collect().await;
    assert_eq!(names, ["keen-test_picky-test"]);
    let mut consumer = stream
        .get_consumer::<pull::Config>("keen-test_picky-test")
        .await
        .unwrap();

    // The poison is not acked while Picky refuses it: it comes back (a
    // redelivery within the second after its NAK), and Keen, which
    // applied it the first time, keeps one row of it.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let info = consumer.info().await.unwrap().clone();
        if info.num_redelivered > 0 {
            assert_eq!(info.num_ack_pending, 1, "only the poison is unacked");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never redelivered: {info:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(moves_in(&keen.pool()).await, (61, all + POISON));
    assert_eq!(moves_in(&picky.pool()).await, (60, all));

    // Once Picky takes it, both hold everything once and nothing is left
    // unacked.
    refusing.store(false, Ordering::SeqCst);
    wait_for::<Picky>(&picky.pool(), 61).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while consumer.info().await.unwrap().num_ack_pending > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the poison was never acked"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(moves_in(&keen.pool()).await, (61, all + POISON));
    assert_eq!(moves_in(&picky.pool()).await, (61, all + POISON));
    assert_eq!(
        projection_status(&keen.pool(), Keen::NAME)
            .await
            .unwrap()
            .events,
        61
    );

    shutdown.cancel();
    drop((first, second));
}
