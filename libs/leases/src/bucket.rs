//! The lease bucket: a NATS KV bucket holding `member.{replica}` heartbeats
//! and `partition.{n}` leases, each value the holder's replica id. Every
//! operation is bounded by a timeout so that a stalled NATS can never keep
//! the lease loop from noticing that a lease ran out.

use std::collections::BTreeSet;
use std::future::Future;
use std::time::Duration;

use async_nats::jetstream::Context;
use async_nats::jetstream::kv::{Operation, Store, UpdateErrorKind};
use async_nats::jetstream::stream::{self, DiscardPolicy, StorageType};
use futures::TryStreamExt;

use crate::config::Partitions;
use crate::error::LeaseError;

const MEMBER_PREFIX: &str = "member.";
const PARTITION_PREFIX: &str = "partition.";

pub fn member_key(replica: &str) -> String {
    format!("{MEMBER_PREFIX}{replica}")
}

pub fn partition_key(partition: u32) -> String {
    format!("{PARTITION_PREFIX}{partition}")
}

fn nats(what: &'static str) -> impl FnOnce(&dyn std::fmt::Display) -> LeaseError {
    move |e| LeaseError::Nats {
        what,
        message: e.to_string(),
    }
}

/// Runs one NATS call, giving up after `limit`.
pub async fn bounded<T, E: std::fmt::Display>(
    what: &'static str,
    limit: Duration,
    call: impl Future<Output = Result<T, E>>,
) -> Result<T, LeaseError> {
    match tokio::time::timeout(limit, call).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(nats(what)(&e)),
        Err(_) => Err(LeaseError::Nats {
            what,
            message: format!("no answer within {limit:?}"),
        }),
    }
}

/// Opens the bucket, creating its stream if needed. `create_key_value`
/// cannot be used: it fails against nats-server 2.9, so the `KV_{bucket}`
/// stream is declared the way the client would. An existing bucket keeps
/// its `max_age`, which is the TTL every replica must agree on, so the one
/// it has is returned and used.
pub async fn open(
    js: &Context,
    partitions: &Partitions,
    ttl: Duration,
    limit: Duration,
) -> Result<(Store, Duration), LeaseError> {
    let bucket = &partitions.bucket;
    // As many copies as the work itself has (1 if unknown).
    let queue = js.get_stream(&partitions.queue.stream);
    let replicas = match tokio::time::timeout(limit, queue).await {
        Ok(Ok(stream)) => stream.cached_info().config.num_replicas.max(1),
        _ => 1,
    };
    let config = stream::Config {
        name: format!("KV_{bucket}"),
        subjects: vec![format!("$KV.{bucket}.>")],
        max_messages_per_subject: 1,
        // Expiry is what frees the leases of a replica that died.
        max_age: ttl,
        storage: StorageType::File,
        num_replicas: replicas,
        allow_rollup: true,
        deny_delete: true,
        allow_direct: true,
        discard: DiscardPolicy::New,
        ..Default::default()
    };
    let stream = bounded(
        "creating the lease bucket",
        limit,
        js.get_or_create_stream(config),
    )
    .await?;
    let ttl = stream.cached_info().config.max_age;
    let store = bounded("opening the lease bucket", limit, js.get_key_value(bucket)).await?;
    Ok((store, ttl))
}

/// What an attempt to take a partition's lease found.
pub enum Acquired {
    /// Ours now, at this revision.
    Held(u64),
    /// Someone else holds it.
    Taken,
}

/// Takes the lease if it is free: never written, deleted by a replica that
/// let it go, expired (on 2.9 an expired key simply vanishes), or still
/// ours from before a renewal we could not make in time — still at
/// `last_written`, the revision we last wrote, so nobody wrote it since.
/// The write is conditional on the revision just read, so of two replicas
/// racing for a lease exactly one wins.
pub async fn acquire(
    store: &Store,
    partition: u32,
    replica: &str,
    last_written: Option<u64>,
    limit: Duration,
) -> Result<Acquired, LeaseError> {
    let key = partition_key(partition);
    let current = bounded("reading a lease", limit, store.entry(key.clone())).await?;
    let expected = match current {
        None => 0,
        Some(entry) if entry.operation != Operation::Put => entry.revision,
        Some(entry)
            if entry.value == replica.as_bytes() && Some(entry.revision) == last_written =>
        {
            entry.revision
        }
        Some(_) => return Ok(Acquired::Taken),
    };
    match tokio::time::timeout(
        limit,
        store.update(&key, replica.to_owned().into(), expected),
    )
    .await
    {
        Ok(Ok(revision)) => Ok(Acquired::Held(revision)),
        Ok(Err(e)) if e.kind() == UpdateErrorKind::WrongLastRevision => Ok(Acquired::Taken),
        Ok(Err(e)) => Err(nats("taking a lease")(&e)),
        Err(_) => Err(nats("taking a lease")(&"no answer in time")),
    }
}

/// What a renewal found.
pub enum Renewed {
    At(u64),
    /// The key moved on without us: it expired and someone else took it.
    Lost,
}

pub async fn renew(
    store: &Store,
    partition: u32,
    replica: &str,
    revision: u64,
    limit: Duration,
) -> Result<Renewed, LeaseError> {
    let update = store.update(
        partition_key(partition),
        replica.to_owned().into(),
        revision,
    );
    match tokio::time::timeout(limit, update).await {
        Ok(Ok(revision)) => Ok(Renewed::At(revision)),
        Ok(Err(e)) if e.kind() == UpdateErrorKind::WrongLastRevision => Ok(Renewed::Lost),
        Ok(Err(e)) => Err(nats("renewing a lease")(&e)),
        Err(_) => Err(nats("renewing a lease")(&"no answer in time")),
    }
}

/// Lets a lease go at once, so the next owner need not wait for expiry.
/// Conditional on our revision: a lease already lost is not touched.
pub async fn release(
    store: &Store,
    partition: u32,
    revision: u64,
    limit: Duration,
) -> Result<(), LeaseError> {
    let delete = store.delete_expect_revision(partition_key(partition), Some(revision));
    match tokio::time::timeout(limit, delete).await {
        Ok(Ok(())) => Ok(()),
        // Someone else's already: nothing of ours to release.
        Ok(Err(e)) if e.kind() == UpdateErrorKind::WrongLastRevision => Ok(()),
        Ok(Err(e)) => Err(nats("releasing a lease")(&e)),
        Err(_) => Err(nats("releasing a lease")(&"no answer in time")),
    }
}

pub async fn heartbeat(store: &Store, replica: &str, limit: Duration) -> Result<(), LeaseError> {
    bounded(
        "sending the heartbeat",
        limit,
        store.put(member_key(replica), replica.to_owned().into()),
    )
    .await
    .map(|_| ())
}

pub async fn leave(store: &Store, replica: &str, limit: Duration) -> Result<(), LeaseError> {
    bounded("leaving", limit, store.delete(member_key(replica))).await
}

/// The replicas whose heartbeat has not expired.
pub async fn members(store: &Store, limit: Duration) -> Result<BTreeSet<String>, LeaseError> {
    let list = async {
        let keys: Vec<String> = store
            .keys()
            .await
            .map_err(|e| e.to_string())?
            .try_collect()
            .await
            .map_err(|e| e.to_string())?;
        Ok::<_, String>(keys)
    };
    let keys = bounded("listing members", limit, list).await?;
    Ok(keys
        .into_iter()
        .filter_map(|key| member_of(&key).map(str::to_owned))
        .collect())
}

pub fn member_of(key: &str) -> Option<&str> {
    key.strip_prefix(MEMBER_PREFIX)
}

pub fn partition_of_key(key: &str) -> Option<u32> {
    key.strip_prefix(PARTITION_PREFIX)?.parse().ok()
}
