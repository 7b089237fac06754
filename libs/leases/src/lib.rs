//! Partition leases: with several replicas of a service that works through
//! partitioned queues, exactly one replica at a time owns each partition
//! `0..n`. The command processor relies on it to decide an account's
//! commands in the order they were accepted (DESIGN §5); this crate knows
//! nothing of commands — only partitions, replicas, a KV bucket and the
//! work queue a partition's owner pulls from.
//!
//! Each replica heartbeats `member.{id}` in a NATS KV bucket (the command
//! processor's is `{PREFIX}_PROCESSOR_LEASES`) and computes, by rendezvous
//! hashing over the live members, which partitions it should own; every
//! replica computes the same answer, and a join or leave moves only about
//! 1/N of them. It takes a partition's `partition.{n}` key with a
//! conditional write and runs the partition's task only while it holds the
//! key, renewing it every TTL/3. The bucket's `max_age` is the TTL: the
//! keys of a replica that died expire by themselves.
//!
//! A partition changes hands only after its task has stopped:
//! - let go: the old owner stops the task, waits for it, then deletes the
//!   key; the new owner, watching the bucket, takes it at once;
//! - lost: a replica that could not renew for TTL − TTL/3 stops the task
//!   (each task watches its own deadline, whatever the loop is waiting on),
//!   leaving it TTL/3 to end before the key can expire and be taken;
//! - crashed: tasks are bound to the lease loop and stop with it; the keys
//!   expire a TTL after the last renewal.
//!
//! Why the TTL (15 s by default) must exceed the work queue's AckWait (10 s
//! for the command processor): a crashed owner last renewed at most about
//! TTL/3 before it died, so its key outlives it by about 2/3 TTL = 10 s, by
//! when the messages it had been handed but not acknowledged are due for
//! redelivery. The new owner starts as soon as it holds the key: keeping
//! its work in order against what a predecessor left unacknowledged is the
//! work's own business (the command processor hands back what it pulled
//! and did not decide when it lets go, and holds later deliveries behind a
//! barrier until earlier ones are back); the TTL keeps that hold short
//! after a crash.

mod bucket;
mod config;
mod error;
mod rendezvous;
mod replica;
mod run;

use std::collections::BTreeSet;

use async_nats::jetstream::Context;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

pub use config::{LeaseConfig, MIN_TTL, Partitions, WorkQueue, replica_id_for};
pub use error::LeaseError;
pub use rendezvous::{desired_partitions, owner_of};

/// Runs until `shutdown`: keeps membership, acquires/renews/releases
/// leases, and for each partition it owns runs `spawn(partition, token)` —
/// the returned task must return soon after `token` is cancelled (within
/// TTL/3: that is the margin between giving up a lease that cannot be
/// renewed and its expiry). On shutdown it stops every task, waits for
/// them, and lets its leases go so that the other replicas take them over
/// at once.
///
/// Fails only on an invalid configuration; NATS being away is waited out.
pub async fn run_leases<F>(
    js: Context,
    partitions: Partitions,
    config: LeaseConfig,
    shutdown: CancellationToken,
    spawn: F,
) -> Result<(), LeaseError>
where
    F: Fn(u32, CancellationToken) -> tokio::task::JoinHandle<()> + Send + 'static,
{
    let (owned, _) = watch::channel(BTreeSet::new());
    run_leases_reporting(js, partitions, config, shutdown, spawn, owned).await
}

/// [`run_leases`], also publishing the partitions this replica owns (whose
/// task runs under a lease it holds) to `owned`.
pub async fn run_leases_reporting<F>(
    js: Context,
    partitions: Partitions,
    config: LeaseConfig,
    shutdown: CancellationToken,
    spawn: F,
    owned: watch::Sender<BTreeSet<u32>>,
) -> Result<(), LeaseError>
where
    F: Fn(u32, CancellationToken) -> tokio::task::JoinHandle<()> + Send + 'static,
{
    validate(&config)?;
    replica::Replica::start(js, partitions, config, shutdown, spawn, owned).await
}

fn validate(config: &LeaseConfig) -> Result<(), LeaseError> {
    if config.ttl < MIN_TTL {
        return Err(LeaseError::TtlTooShort(config.ttl));
    }
    let id = &config.replica_id;
    let valid = (1..=128).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !valid {
        return Err(LeaseError::InvalidReplicaId(id.clone()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_host_replica_id_is_valid_and_unique() {
        let a = LeaseConfig::new(Duration::from_secs(15), "pod.example com");
        let b = LeaseConfig::new(Duration::from_secs(15), "pod.example com");
        assert!(validate(&a).is_ok(), "{:?}", a.replica_id);
        assert_ne!(a.replica_id, b.replica_id);
    }

    #[test]
    fn bad_configurations_are_refused() {
        let config = |ttl, id: &str| LeaseConfig {
            ttl,
            replica_id: id.to_owned(),
        };
        assert!(matches!(
            validate(&config(Duration::from_millis(500), "a")),
            Err(LeaseError::TtlTooShort(_))
        ));
        for id in ["", "a.b", "a b", "a*", "a>"] {
            assert!(matches!(
                validate(&config(Duration::from_secs(15), id)),
                Err(LeaseError::InvalidReplicaId(_))
            ));
        }
    }
}
