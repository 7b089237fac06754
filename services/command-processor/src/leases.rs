//! Partition leases: with several command-processor replicas, exactly one at
//! a time decides each command partition, so an account's commands are
//! decided in the order they were accepted (DESIGN §5).
//!
//! Each replica heartbeats `member.{id}` in a NATS KV bucket
//! (`{PREFIX}_PROCESSOR_LEASES`) and computes, by rendezvous hashing over
//! the live members, which partitions it should own; every replica computes
//! the same answer, and a join or leave moves only about 1/N of them. It
//! takes a partition's `partition.{n}` key with a conditional write and runs
//! the partition's task only while it holds the key, renewing it every
//! TTL/3. The bucket's `max_age` is the TTL: the keys of a replica that died
//! expire by themselves.
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
//! Why the TTL (15 s) exceeds the consumers' AckWait (10 s): a crashed
//! owner last renewed at most about TTL/3 before it died, so its key
//! outlives it by about 2/3 TTL = 10 s, by when the commands it had been
//! handed but not acknowledged are due for redelivery — and JetStream serves redeliveries
//! before newer messages, so the new owner sees them first. The new owner
//! does not rely on timing alone: whenever the partition's consumer still
//! has unacknowledged commands (prefetched by a pull that was let go, or
//! held by a replica that lost its lease) it waits one AckWait before
//! starting (see `settle`); with none, as after an idle handover, it starts
//! at once.

mod bucket;
mod rendezvous;
mod replica;
mod run;
mod settle;

use std::collections::BTreeSet;
use std::time::Duration;

use ledgerline_bus::Bus;
use ledgerline_runtime::Shutdown;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

pub use bucket::bucket_name;
pub use rendezvous::{desired_partitions, owner_of};

/// The shortest TTL accepted: renewals every TTL/3 must fit a NATS round
/// trip with room to spare.
pub const MIN_TTL: Duration = Duration::from_secs(1);

#[derive(Debug, Clone)]
pub struct LeaseConfig {
    /// How long a lease outlives its holder's last renewal; also the
    /// bucket's `max_age`. Every replica must use the same: an existing
    /// bucket's `max_age` wins over this.
    pub ttl: Duration,
    /// This replica's name in the bucket: unique among live replicas,
    /// made of `A-Z a-z 0-9 _ -`.
    pub replica_id: String,
}

impl LeaseConfig {
    pub const DEFAULT_TTL: Duration = Duration::from_secs(15);

    /// The default TTL and an id from this pod's name (see [`replica_id_for_this_host`]).
    pub fn for_this_host() -> Self {
        Self {
            ttl: Self::DEFAULT_TTL,
            replica_id: replica_id_for_this_host(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    #[error("lease TTL {0:?} is shorter than {MIN_TTL:?}")]
    TtlTooShort(Duration),
    #[error("replica id {0:?} must be 1 to 128 of A-Z a-z 0-9 _ -")]
    InvalidReplicaId(String),
    #[error("lease bucket {0} has no max_age, so a dead replica's leases would never expire")]
    BucketNeverExpires(String),
    #[error("NATS, {what}: {message}")]
    Nats { what: &'static str, message: String },
}

/// `POD_NAME` or `HOSTNAME` (or `/etc/hostname`) plus a random suffix, so
/// a restarted pod with the same name is a new member, never mistaken for
/// its predecessor whose leases may still be running out.
pub fn replica_id_for_this_host() -> String {
    let host = ["POD_NAME", "HOSTNAME"]
        .into_iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "command-processor".to_owned());
    let host: String = host
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .take(100)
        .collect();
    // A v7 uuid ends in random bits.
    let random = uuid::Uuid::now_v7().simple().to_string();
    let suffix = random.get(random.len() - 10..).unwrap_or(&random);
    format!("{host}-{suffix}")
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

/// Runs until shutdown: keeps membership, acquires/renews/releases leases,
/// and for each partition it owns runs `spawn(partition, token)` — the
/// returned task must return soon after `token` is cancelled (within TTL/3:
/// that is the margin between giving up a lease that cannot be renewed and
/// its expiry). On shutdown it stops every task, waits for them, and lets
/// its leases go so that the other replicas take them over at once.
///
/// Fails only on an invalid configuration; NATS being away is waited out.
pub async fn run_leases<F>(
    bus: Bus,
    config: LeaseConfig,
    shutdown: Shutdown,
    spawn: F,
) -> Result<(), LeaseError>
where
    F: Fn(u32, CancellationToken) -> tokio::task::JoinHandle<()> + Send + 'static,
{
    let (owned, _) = watch::channel(BTreeSet::new());
    run_leases_reporting(bus, config, shutdown, spawn, owned).await
}

/// [`run_leases`], also publishing the partitions this replica owns (whose
/// task runs under a lease it holds) to `owned`. The same number is the
/// gauge `ledgerline_processor_partitions_owned`.
pub async fn run_leases_reporting<F>(
    bus: Bus,
    config: LeaseConfig,
    shutdown: Shutdown,
    spawn: F,
    owned: watch::Sender<BTreeSet<u32>>,
) -> Result<(), LeaseError>
where
    F: Fn(u32, CancellationToken) -> tokio::task::JoinHandle<()> + Send + 'static,
{
    validate(&config)?;
    replica::Replica::start(bus, config, shutdown, spawn, owned).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_replica_id_is_valid_and_unique() {
        let a = LeaseConfig::for_this_host();
        let b = LeaseConfig::for_this_host();
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
