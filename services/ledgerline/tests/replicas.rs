#![allow(clippy::unwrap_used)]
//! Several command-processor replicas: each partition is owned by one of
//! them at a time, and ownership follows replicas as they come and go. A
//! test binary of its own, so it does not share the machine with the 37
//! API tests running at once (leases are renewed on a clock).

#[allow(dead_code)]
#[path = "api/bursts.rs"]
mod bursts;
#[allow(dead_code)]
#[path = "api/helpers.rs"]
mod helpers;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use ledgerline::Target;
use ledgerline_bus::Bus;

use crate::bursts::{ALL_BUT_THE_PROCESSOR, assert_decided_as_one_at_a_time, burst, publish};
use crate::helpers::spawn_services;

/// Partition → the replica holding its lease, from the leases bucket.
async fn owners(bus: &Bus) -> BTreeMap<u32, String> {
    let mut owners = BTreeMap::new();
    let Ok(kv) = bus.js.get_key_value(bus.subjects.leases_bucket()).await else {
        return owners;
    };
    for partition in 0..bus.partitions {
        if let Ok(Some(value)) = kv.get(format!("partition.{partition}")).await {
            owners.insert(partition, String::from_utf8_lossy(&value).into_owned());
        }
    }
    owners
}

/// Waits until every partition is held and `replicas` replicas hold them.
/// Generous: a handover is milliseconds, but a lease left behind (a
/// replica stopped before it could delete its keys) lapses only after
/// `PARTITION_LEASE_SECS`, and the whole suite shares two cores.
async fn owned_by(bus: &Bus, replicas: usize) -> BTreeMap<u32, String> {
    let mut seen = BTreeMap::new();
    for _ in 0..900 {
        seen = owners(bus).await;
        let holders: BTreeSet<&String> = seen.values().collect();
        if seen.len() == bus.partitions as usize && holders.len() == replicas {
            return seen;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("partitions never settled on {replicas} replica(s): {seen:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_share_the_partitions_and_one_takes_all_when_the_other_leaves() {
    // Partitions go to replicas by rendezvous hash: with the default 4, one
    // replica wins them all in about 1 run in 8, and "share" is not tested.
    // With 16 that is 1 in 32,768.
    let app = spawn_services(&ALL_BUT_THE_PROCESSOR, |c| c.command_partitions = 16).await;
    let bus = app.bus().await;
    let store = app.event_store().await;
    let (_, first) = app.spawn_service(Target::CommandProcessor).await;
    let (_, second) = app.spawn_service(Target::CommandProcessor).await;
    owned_by(&bus, 2).await;

    let messages = burst(["acc-r1", "acc-r2", "acc-r3"]);
    publish(&bus, &messages).await;
    assert_decided_as_one_at_a_time(&store, &messages).await;

    // Scaling down: the leaver hands its partitions over as it stops.
    first.cancel();
    owned_by(&bus, 1).await;
    let messages = burst(["acc-r4", "acc-r5", "acc-r6"]);
    publish(&bus, &messages).await;
    assert_decided_as_one_at_a_time(&store, &messages).await;
    second.cancel();
}
