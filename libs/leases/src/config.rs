//! What is leased and how: the partitions, where their leases live, the
//! work queue their owners pull from, and this replica's name and TTL.

use std::time::Duration;

/// The shortest TTL accepted: renewals every TTL/3 must fit a NATS round
/// trip with room to spare.
pub const MIN_TTL: Duration = Duration::from_secs(1);

/// The partitions `0..count` handed out among the replicas, and where.
#[derive(Debug, Clone)]
pub struct Partitions {
    pub count: u32,
    /// The NATS KV bucket holding the heartbeats and leases (its stream is
    /// `KV_{bucket}`).
    pub bucket: String,
    /// What a partition's owner works through.
    pub queue: WorkQueue,
}

/// The JetStream stream the partitions' owners work through: the bucket
/// is kept on as many servers as it is.
#[derive(Debug, Clone)]
pub struct WorkQueue {
    pub stream: String,
}

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
    /// `ttl`, and a replica id made from `host` (see [`replica_id_for`]).
    pub fn new(ttl: Duration, host: &str) -> Self {
        Self {
            ttl,
            replica_id: replica_id_for(host),
        }
    }
}

/// `host` (a pod's or host's name) made safe for a KV key, plus a random
/// suffix, so a restarted pod with the same name is a new member, never
/// mistaken for its predecessor whose leases may still be running out.
pub fn replica_id_for(host: &str) -> String {
    let host: String = host
        .trim()
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
