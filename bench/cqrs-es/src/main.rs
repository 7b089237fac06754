//! `make bench` (c): the same accounts and the same seeded command mix
//! (open, then deposits and withdrawals of 1–50, some rejected), decided and
//! appended on the same PostgreSQL by
//!
//! - Ledgerline: `command_processor::decide_command` on `PostgresEventStore`
//!   (snapshot + later events, `decide`, one statement with the events, a
//!   snapshot every 10 events and the outcome row, which checks the account
//!   version and the command's key);
//! - cqrs-es 0.5 + postgres-es 0.5, with the *same* `decide` and `apply`
//!   inside its `Aggregate`: its event store (every event replayed per
//!   command) and its snapshot store (a snapshot every 10 commands).
//!
//! `workers` tasks each own a slice of the accounts and run their commands
//! one after another, as the processor's partitions do. Ledgerline runs
//! twice: one command per transaction (`decide_command`), and as its
//! processor really decides, in groups (`command_processor::decide_group`:
//! each worker's next `--group` commands decided in order against its
//! cached accounts, committed in one transaction; `decide_command` is the
//! same function with a group of one). Prints JSON.

use std::time::{Duration, Instant};

use anyhow::Context;
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use futures::future::join_all;
use ledgerline_contracts::CommandMessage;
use ledgerline_domain::{
    Account, AccountCommand, AccountEvent, AccountId, Amount, Balance, Currency, Rejection, UserId,
    decide,
};
use ledgerline_store::PostgresEventStore;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

#[derive(clap::Parser)]
struct Args {
    /// Ledgerline's store goes here (schema `es`).
    #[arg(long)]
    database_url: String,
    /// cqrs-es's tables go here (a database of their own, same server).
    #[arg(long)]
    cqrs_database_url: String,
    /// 1,000 accounts of 31 commands: the group run lasts over a second
    /// (with 200 it lasted a quarter of one, and back-to-back runs ranged
    /// from 19,000 to 33,000 commands/s); each account's history stays as
    /// long, so cqrs-es replays as much per command.
    #[arg(long, default_value_t = 1000)]
    accounts: usize,
    /// Commands per account after it is opened.
    #[arg(long, default_value_t = 30)]
    commands: usize,
    #[arg(long, default_value_t = 8)]
    workers: usize,
    /// Commands a worker decides together in the group-commit run (the
    /// processor takes whatever is waiting on a partition, up to
    /// `ledgerline_runtime::tuning::GROUP_SIZE`).
    #[arg(long, default_value_t = 32)]
    group: usize,
}

/// The command mix, the same for both sides.
fn plan(args: &Args) -> Vec<Vec<(UserId, AccountCommand)>> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let user = UserId::parse("bench").unwrap_or_else(|_| unreachable!());
    (0..args.accounts)
        .map(|a| {
            let id = AccountId::parse(format!("cq-{a}")).unwrap_or_else(|_| unreachable!());
            let mut list = vec![(
                user.clone(),
                AccountCommand::OpenAccount {
                    account_id: id.clone(),
                    currency: Currency::parse("EUR").unwrap_or_else(|_| unreachable!()),
                    initial_balance: Balance::from_minor(10_000).unwrap_or_else(|_| unreachable!()),
                },
            )];
            for _ in 0..args.commands {
                let amount = Amount::from_minor(rng.random_range(1..=50) * 100)
                    .unwrap_or_else(|_| unreachable!());
                let command = if rng.random_bool(0.5) {
                    AccountCommand::deposit(id.clone(), amount)
                } else {
                    AccountCommand::withdraw(id.clone(), amount)
                };
                list.push((user.clone(), command));
            }
            list
        })
        .collect()
}

/// Runs every worker's share; returns the wall time.
async fn timed<F, Fut>(
    args: &Args,
    plan: &[Vec<(UserId, AccountCommand)>],
    run: F,
) -> anyhow::Result<Duration>
where
    F: Fn(Vec<(UserId, AccountCommand)>) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let shares: Vec<Vec<(UserId, AccountCommand)>> = (0..args.workers)
        .map(|w| {
            // Interleave the worker's accounts, as live traffic would.
            let mine: Vec<&Vec<_>> = plan
                .iter()
                .enumerate()
                .filter(|(i, _)| i % args.workers == w)
                .map(|(_, p)| p)
                .collect();
            let longest = mine.iter().map(|p| p.len()).max().unwrap_or(0);
            (0..longest)
                .flat_map(|k| mine.iter().filter_map(move |p| p.get(k).cloned()))
                .collect()
        })
        .collect();
    let started = Instant::now();
    for r in join_all(shares.into_iter().map(run)).await {
        r?;
    }
    Ok(started.elapsed())
}

// --- cqrs-es: the same decide/apply inside its Aggregate ---

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
struct BankEvent(AccountEvent);

impl DomainEvent for BankEvent {
    fn event_type(&self) -> String {
        self.0.event_type().to_owned()
    }
    fn event_version(&self) -> String {
        "1".to_owned()
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct BankAccount {
    account: Option<Account>,
}

impl Aggregate for BankAccount {
    const TYPE: &'static str = "BankAccount";
    type Command = (UserId, AccountCommand);
    type Event = BankEvent;
    type Error = Rejection;
    type Services = ();

    async fn handle(
        &mut self,
        (user, command): Self::Command,
        _: &(),
        sink: &EventSink<Self>,
    ) -> Result<(), Rejection> {
        let account = self
            .account
            .clone()
            .unwrap_or_else(|| Account::new(command.account_id().clone()));
        for event in decide(&account, &user, &command)? {
            sink.write(BankEvent(event), self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: BankEvent) {
        // cqrs-es rebuilds from Default, which knows no id: the first
        // event (AccountOpened) brings the account into being.
        let account = self.account.take().unwrap_or_else(|| {
            Account::new(AccountId::parse("pending").unwrap_or_else(|_| unreachable!()))
        });
        self.account = Some(account.apply(&event.0));
    }
}

const CQRS_TABLES: [&str; 2] = [
    "CREATE TABLE events (aggregate_type text NOT NULL, aggregate_id text NOT NULL, sequence bigint CHECK (sequence >= 0) NOT NULL,
       event_type text NOT NULL, event_version text NOT NULL, payload json NOT NULL, metadata json NOT NULL,
       PRIMARY KEY (aggregate_type, aggregate_id, sequence))",
    "CREATE TABLE snapshots (aggregate_type text NOT NULL, aggregate_id text NOT NULL, last_sequence bigint CHECK (last_sequence >= 0) NOT NULL,
       current_snapshot bigint CHECK (current_snapshot >= 0) NOT NULL, payload json NOT NULL,
       PRIMARY KEY (aggregate_type, aggregate_id, last_sequence))",
];

async fn cqrs_pool(url: &str) -> anyhow::Result<sqlx08::PgPool> {
    let pool = sqlx08::postgres::PgPoolOptions::new()
        .max_connections(10)
        .connect(url)
        .await?;
    sqlx08::query("DROP TABLE IF EXISTS events, snapshots")
        .execute(&pool)
        .await?;
    for sql in CQRS_TABLES {
        sqlx08::query(sql).execute(&pool).await?;
    }
    Ok(pool)
}

#[tokio::main]
#[allow(clippy::float_arithmetic)]
async fn main() -> anyhow::Result<()> {
    let args: Args = clap::Parser::parse();
    let plan = plan(&args);
    let total: usize = plan.iter().map(Vec::len).sum();

    // Ledgerline.
    ledgerline_runtime::ensure_database(&args.database_url).await?;
    {
        let admin = sqlx::PgPool::connect(&args.database_url).await?;
        sqlx::query("DROP SCHEMA IF EXISTS es CASCADE")
            .execute(&admin)
            .await?;
    }
    let pool = ledgerline_runtime::connect_schema(
        &args.database_url,
        ledgerline_store::SCHEMA,
        &ledgerline_store::MIGRATOR,
        10,
    )
    .await?;
    let store = PostgresEventStore::new(pool.clone());
    let policy = command_processor::DecisionPolicy {
        snapshot_every: 10,
        deadline: None,
    };
    let ours = timed(&args, &plan, |share| {
        let store = store.clone();
        async move {
            for (user, command) in share {
                let id = Uuid::now_v7();
                let message = CommandMessage {
                    command_id: id,
                    correlation_id: id,
                    user_id: user,
                    accepted_at: time::OffsetDateTime::now_utc(),
                    command,
                    requeued: None,
                };
                command_processor::decide_command(&store, &message, policy)
                    .await
                    .context("decide")?;
            }
            Ok(())
        }
    })
    .await?;
    let our_events: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&pool)
        .await?;

    // Ledgerline again, deciding in groups as the processor does.
    sqlx::query("TRUNCATE events, snapshots, command_outcomes")
        .execute(&pool)
        .await?;
    let group_size = args.group.max(1);
    let grouped = timed(&args, &plan, |share| {
        let store = store.clone();
        async move {
            let mut cache = command_processor::account_cache::AccountCache::new(
                command_processor::account_cache::CACHED_ACCOUNTS,
            );
            let span = tracing::Span::none();
            for chunk in share.chunks(group_size) {
                let messages: Vec<CommandMessage> = chunk
                    .iter()
                    .map(|(user, command)| {
                        let id = Uuid::now_v7();
                        CommandMessage {
                            command_id: id,
                            correlation_id: id,
                            user_id: user.clone(),
                            accepted_at: time::OffsetDateTime::now_utc(),
                            command: command.clone(),
                            requeued: None,
                        }
                    })
                    .collect();
                let group: Vec<_> = messages.iter().map(|m| (m, &span)).collect();
                command_processor::decide_group(&store, &mut cache, &group, policy)
                    .await
                    .context("decide a group")?;
            }
            Ok(())
        }
    })
    .await?;
    let grouped_events: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&pool)
        .await?;
    anyhow::ensure!(
        grouped_events == our_events,
        "group commit stored {grouped_events} events, one at a time {our_events}: not the same decisions"
    );

    // cqrs-es, event store then snapshot store.
    ledgerline_runtime::ensure_database(&args.cqrs_database_url).await?;
    let mut theirs = Vec::new();
    for snapshots in [None, Some(10usize)] {
        let cpool = cqrs_pool(&args.cqrs_database_url).await?;
        let cqrs = std::sync::Arc::new(match snapshots {
            None => postgres_es::postgres_cqrs::<BankAccount>(cpool.clone(), vec![], ()),
            Some(n) => {
                postgres_es::postgres_snapshot_cqrs::<BankAccount>(cpool.clone(), vec![], n, ())
            }
        });
        let (rejected, other, took) = {
            let results = std::sync::Mutex::new((0u64, Vec::<String>::new()));
            let took = timed(&args, &plan, |share| {
                let (cqrs, results) = (cqrs.clone(), &results);
                async move {
                    for (user, command) in share {
                        let id = command.account_id().as_str().to_owned();
                        match cqrs.execute(&id, (user, command)).await {
                            Ok(()) => {}
                            Err(cqrs_es::AggregateError::UserError(_)) => {
                                results.lock().unwrap_or_else(|p| p.into_inner()).0 += 1
                            }
                            Err(e) => results
                                .lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .1
                                .push(e.to_string()),
                        }
                    }
                    Ok(())
                }
            })
            .await?;
            let (rejected, other) = results.into_inner().unwrap_or_else(|p| p.into_inner());
            (rejected, other, took)
        };
        anyhow::ensure!(
            other.is_empty(),
            "cqrs-es failed: {:?}",
            other.iter().take(3).collect::<Vec<_>>()
        );
        let events: i64 = sqlx08::query_scalar("SELECT count(*) FROM events")
            .fetch_one(&cpool)
            .await?;
        anyhow::ensure!(
            events == our_events,
            "cqrs-es stored {events} events, Ledgerline {our_events}: not the same decisions"
        );
        theirs.push(json!({
            "store": if snapshots.is_some() { "snapshot store (every 10)" } else { "event store" },
            "secs": took.as_secs_f64(),
            "commandsPerSec": total as f64 / took.as_secs_f64(),
            "rejected": rejected,
        }));
    }
    let ours_rate = total as f64 / ours.as_secs_f64();
    let grouped_rate = total as f64 / grouped.as_secs_f64();
    println!(
        "{}",
        json!({
            "accounts": args.accounts,
            "commands": total,
            "events": our_events,
            "workers": args.workers,
            "ledgerline": {"secs": ours.as_secs_f64(), "commandsPerSec": ours_rate},
            "ledgerlineGroups": {"secs": grouped.as_secs_f64(), "commandsPerSec": grouped_rate, "group": group_size},
            "cqrsEs": theirs,
            "ratioToCqrsEs": theirs.iter().map(|t| ours_rate / t["commandsPerSec"].as_f64().unwrap_or(f64::NAN)).collect::<Vec<_>>(),
            "groupsRatioToCqrsEs": theirs.iter().map(|t| grouped_rate / t["commandsPerSec"].as_f64().unwrap_or(f64::NAN)).collect::<Vec<_>>(),
        })
    );
    Ok(())
}
