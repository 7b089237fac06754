use std::collections::BTreeSet;
use std::time::Duration;

use ledgerline_auth::TokenKeys;
use ledgerline_bus::Bus;
use ledgerline_leases::{LeaseConfig, Partitions, WorkQueue, run_leases_reporting};
use ledgerline_runtime::{Config, Readiness, ServiceHandle, Shutdown, connect_schema};
use ledgerline_store::{MIGRATOR, PostgresEventStore, SCHEMA};
use tokio::sync::watch;

use crate::decision::DecisionPolicy;
use crate::metrics::record_partitions_owned;
use crate::partition::{durable_name, run_partition};
use crate::told::ToldMarks;

/// Starts one decision loop per command partition this replica holds the
/// lease of. (Reads of the store are the `event-store` component's.)
pub async fn start(
    config: &Config,
    bus: &Bus,
    _keys: &TokenKeys,
    shutdown: &Shutdown,
) -> anyhow::Result<ServiceHandle> {
    let pool = connect_schema(&config.database_url, SCHEMA, &MIGRATOR, config.db_pool_size).await?;
    let store = PostgresEventStore::new(pool.clone());
    // Ready only when every partition's consumer is bound, too.
    let consumers = bus.clone();
    let readiness = Readiness::default()
        .nats(bus.client.clone())
        .postgres("postgres", pool)
        .check("consumers", move || {
            let bus = consumers.clone();
            // All at once: one round trip to JetStream, not one per
            // partition (a probe's timeout is short, and a cluster's
            // JetStream API slow while a node is away).
            async move {
                let stream = bus.subjects.commands_stream();
                let bound = (0..bus.partitions).map(|partition| {
                    let (bus, stream) = (&bus, &stream);
                    async move {
                        let durable = durable_name(partition);
                        bus.consumer_pending(stream, &durable)
                            .await
                            .map_err(|e| format!("{durable}: {e}"))
                    }
                });
                futures::future::try_join_all(bound).await.map(|_| ())
            }
        });
    let mut handle = ServiceHandle::new("command-processor", axum::Router::new(), readiness);
    let policy = DecisionPolicy {
        snapshot_every: config.snapshot_every,
        deadline: (config.command_deadline_secs > 0)
            .then(|| Duration::from_secs(config.command_deadline_secs)),
    };
    // One replica at a time owns each partition (see `ledgerline-leases`);
    // this one runs the decision loops of the partitions it holds.
    let partitions = Partitions {
        count: bus.partitions,
        bucket: bus.subjects.leases_bucket(),
        queue: WorkQueue {
            stream: bus.subjects.commands_stream(),
        },
    };
    let leases = LeaseConfig::new(
        Duration::from_secs(config.partition_lease_secs),
        &config.replica_name(),
    );
    let (owned, mut owned_now) = watch::channel(BTreeSet::new());
    // The outbox's marks, written behind the publishes of every partition.
    let (marks, writing_marks) = ToldMarks::start(store.clone(), shutdown.clone());
    handle = handle.task(writing_marks);
    let (deciding, decider_store) = (bus.clone(), store.clone());
    let run = run_leases_reporting(
        bus.js.clone(),
        partitions,
        leases,
        shutdown.clone(),
        move |partition, token| {
            tokio::spawn(run_partition(
                deciding.clone(),
                decider_store.clone(),
                marks.clone(),
                partition,
                policy,
                token,
            ))
        },
        owned,
    );
    handle = handle.task(tokio::spawn(async move {
        if let Err(error) = run.await {
            tracing::error!(%error, "partition leases stopped; this replica decides nothing");
        }
    }));
    handle = handle.task(tokio::spawn(async move {
        loop {
            record_partitions_owned(owned_now.borrow_and_update().len());
            if owned_now.changed().await.is_err() {
                break;
            }
        }
    }));
    for partition in 0..bus.partitions {
        let pending = bus.clone().report_pending(
            bus.subjects.commands_stream(),
            durable_name(partition),
            shutdown.clone(),
        );
        handle = handle.task(tokio::spawn(pending));
    }
    Ok(handle)
}
