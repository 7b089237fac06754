#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Partition leases against a real NATS: one owner per partition at every
//! instant, across joins, graceful leaves and crashes. Each test has its own
//! prefix, so its own bucket, deleted when the test ends (also on failure).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::jetstream::{self, Context};
use ledgerline_leases::{
    LeaseConfig, LeaseError, Partitions, WorkQueue, desired_partitions, run_leases_reporting,
};
use ledgerline_testkit::TestPrefix;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::{Instant, timeout};
use tokio_util::sync::CancellationToken;

const PARTITIONS: u32 = 8;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Start,
    Stop,
}

#[derive(Debug, Clone)]
struct Event {
    replica: String,
    partition: u32,
    kind: Kind,
    at: Instant,
}

/// Every partition task started or stopped, in the order it happened.
type Log = Arc<Mutex<Vec<Event>>>;

struct Cluster {
    js: Context,
    partitions: Partitions,
    log: Log,
    /// Deletes the bucket when the cluster is dropped.
    _prefix: TestPrefix,
}

struct Replica {
    id: String,
    shutdown: CancellationToken,
    owned: watch::Receiver<BTreeSet<u32>>,
    handle: JoinHandle<Result<(), LeaseError>>,
}

/// Retries through a NATS that is still starting, as the services do.
async fn connect(url: &str) -> Context {
    let client = async_nats::ConnectOptions::new()
        .retry_on_initial_connect()
        .connect(url)
        .await
        .expect("NATS");
    jetstream::new(client)
}

/// `PARTITIONS` partitions leased in a bucket of the test's own, worked
/// through from a queue that does not exist (the bucket keeps one copy).
fn partitions(prefix: &str) -> Partitions {
    Partitions {
        count: PARTITIONS,
        bucket: format!("{}_LEASES", prefix.to_ascii_uppercase()),
        queue: WorkQueue {
            stream: format!("{}_WORK", prefix.to_ascii_uppercase()),
        },
    }
}

impl Cluster {
    async fn new() -> Self {
        Self::on(TestPrefix::new("lease")).await
    }

    async fn on(prefix: TestPrefix) -> Self {
        Self {
            js: connect(prefix.nats_url()).await,
            partitions: partitions(prefix.as_str()),
            log: Log::default(),
            _prefix: prefix,
        }
    }

    /// A replica whose partition tasks log their start, wait to be
    /// cancelled, and log their stop.
    fn start(&self, id: &str, ttl: Duration) -> Replica {
        let shutdown = CancellationToken::new();
        let (owned_tx, owned) = watch::channel(BTreeSet::new());
        let (log, replica) = (self.log.clone(), id.to_owned());
        let spawn = move |partition: u32, token: CancellationToken| {
            let (log, replica) = (log.clone(), replica.clone());
            record(&log, &replica, partition, Kind::Start);
            tokio::spawn(async move {
                token.cancelled().await;
                record(&log, &replica, partition, Kind::Stop);
            })
        };
        let config = LeaseConfig {
            ttl,
            replica_id: id.to_owned(),
        };
        let handle = tokio::spawn(run_leases_reporting(
            self.js.clone(),
            self.partitions.clone(),
            config,
            shutdown.clone(),
            spawn,
            owned_tx,
        ));
        Replica {
            id: id.to_owned(),
            shutdown,
            owned,
            handle,
        }
    }

    fn events(&self) -> Vec<Event> {
        self.log.lock().unwrap().clone()
    }

    /// No partition ever had two running tasks at once: the log is in the
    /// order things happened (one lock), so replaying it must never see a
    /// second start before the first one's stop.
    fn assert_never_two_owners(&self) {
        let mut running: BTreeMap<u32, String> = BTreeMap::new();
        for event in self.events() {
            match event.kind {
                Kind::Start => {
                    if let Some(owner) = running.insert(event.partition, event.replica.clone()) {
                        panic!(
                            "partition {} started on {} while {owner} still ran it",
                            event.partition, event.replica
                        );
                    }
                }
                Kind::Stop => {
                    let owner = running.remove(&event.partition);
                    assert_eq!(owner.as_deref(), Some(event.replica.as_str()));
                }
            }
        }
    }

    /// Two replicas started together, once each owns its share.
    async fn pair(&self, ids: [&str; 2], ttl: Duration) -> (Replica, Replica) {
        let mut pair = ids.map(|id| self.start(id, ttl));
        for replica in &mut pair {
            replica.owns(&share(&replica.id, &ids), GENEROUS).await;
        }
        let [a, b] = pair;
        (a, b)
    }

    /// Shuts `replicas` down, and no partition ever had two owners.
    async fn finish(self, replicas: impl IntoIterator<Item = Replica>) {
        self.assert_never_two_owners();
        for replica in replicas {
            replica.shut_down().await;
        }
        self.assert_never_two_owners();
    }
}

fn record(log: &Log, replica: &str, partition: u32, kind: Kind) {
    log.lock().unwrap().push(Event {
        replica: replica.to_owned(),
        partition,
        kind,
        at: Instant::now(),
    });
}

impl Replica {
    async fn owns(&mut self, expected: &BTreeSet<u32>, within: Duration) {
        let waited = timeout(within, self.owned.wait_for(|owned| owned == expected))
            .await
            .is_ok_and(|seen| seen.is_ok());
        assert!(
            waited,
            "{} owns {:?}, expected {expected:?}",
            self.id,
            *self.owned.borrow()
        );
    }

    fn owned(&self) -> BTreeSet<u32> {
        self.owned.borrow().clone()
    }

    async fn shut_down(self) {
        self.shutdown.cancel();
        let result = timeout(Duration::from_secs(30), self.handle).await;
        assert!(matches!(result, Ok(Ok(Ok(())))), "{}: {result:?}", self.id);
    }
}

fn all() -> BTreeSet<u32> {
    (0..PARTITIONS).collect()
}

fn share(me: &str, members: &[&str]) -> BTreeSet<u32> {
    desired_partitions(PARTITIONS, members.iter().copied(), me)
}

const GENEROUS: Duration = Duration::from_secs(30);

#[tokio::test]
async fn a_single_replica_owns_every_partition_and_stops_them_all_on_shutdown() {
    let cluster = Cluster::new().await;
    let mut solo = cluster.start("solo", Duration::from_secs(2));
    solo.owns(&all(), GENEROUS).await;
    solo.shut_down().await;

    let events = cluster.events();
    for kind in [Kind::Start, Kind::Stop] {
        let partitions: BTreeSet<u32> = events
            .iter()
            .filter(|e| e.kind == kind)
            .map(|e| e.partition)
            .collect();
        assert_eq!(partitions, all(), "{kind:?}");
    }
    cluster.assert_never_two_owners();
}

#[tokio::test]
async fn a_joining_replica_takes_its_share_without_any_partition_having_two_owners() {
    let cluster = Cluster::new().await;
    let ttl = Duration::from_secs(2);
    let mut a = cluster.start("replica-a", ttl);
    a.owns(&all(), GENEROUS).await;

    let mut b = cluster.start("replica-b", ttl);
    let members = ["replica-a", "replica-b"];
    let (share_a, share_b) = (share("replica-a", &members), share("replica-b", &members));
    assert!(
        !share_a.is_empty() && !share_b.is_empty(),
        "a degenerate split: {share_a:?}"
    );
    b.owns(&share_b, GENEROUS).await;
    a.owns(&share_a, GENEROUS).await;
    // Exactly one owner each, and it stays that way over a few renewals.
    tokio::time::sleep(ttl * 2).await;
    assert_eq!(a.owned(), share_a);
    assert_eq!(b.owned(), share_b);
    cluster.finish([a, b]).await;
}

#[tokio::test]
async fn a_replica_leaving_gracefully_hands_its_partitions_over_at_once() {
    let cluster = Cluster::new().await;
    // A long TTL, so that a handover that waited for expiry would show.
    let ttl = Duration::from_secs(10);
    let (a, mut b) = cluster.pair(["leaving", "staying"], ttl).await;

    let left = Instant::now();
    a.shut_down().await;
    b.owns(&all(), GENEROUS).await;
    let handover = left.elapsed();
    assert!(
        handover < ttl / 2,
        "the handover took {handover:?}, as if waiting for expiry"
    );
    cluster.finish([b]).await;
}

#[tokio::test]
async fn a_crashed_replicas_partitions_are_taken_over_only_after_its_leases_expire() {
    let cluster = Cluster::new().await;
    let ttl = Duration::from_secs(3);
    let members = ["crashing", "surviving"];
    let (a, mut b) = cluster.pair(members, ttl).await;
    let orphaned = share("crashing", &members);

    // No cleanup: no release, no leaving. (Its tasks stop with it, as in a
    // real crash, because they are bound to the lease loop.)
    let crashed = Instant::now();
    a.handle.abort();
    assert!(a.handle.await.unwrap_err().is_cancelled());

    b.owns(&all(), GENEROUS).await;
    // The crashed replica renewed at most TTL/3 before the crash, so its
    // leases lived at least 2/3 TTL past it; nothing was taken before then.
    for event in cluster.events() {
        if event.replica == "surviving" && orphaned.contains(&event.partition) {
            assert_eq!(event.kind, Kind::Start);
            let after = event.at.duration_since(crashed);
            assert!(
                after >= ttl / 2,
                "partition {} taken {after:?} after the crash",
                event.partition
            );
        }
    }
    cluster.finish([b]).await;
}

#[tokio::test]
async fn three_replicas_starting_together_then_one_leaving_end_with_one_owner_each() {
    // Three replicas starting together, then one leaving: every partition
    // ends with exactly one owner, the rendezvous one.
    let cluster = Cluster::new().await;
    let ttl = Duration::from_secs(2);
    let ids = ["r-one", "r-two", "r-three"];
    let mut replicas: Vec<Replica> = ids.iter().map(|id| cluster.start(id, ttl)).collect();
    for replica in &mut replicas {
        let expected = share(&replica.id, &ids);
        replica.owns(&expected, GENEROUS).await;
    }
    let leaving = replicas.remove(1);
    leaving.shut_down().await;
    let rest = ["r-one", "r-three"];
    for replica in &mut replicas {
        let expected = share(&replica.id, &rest);
        replica.owns(&expected, GENEROUS).await;
    }
    cluster.finish(replicas).await;
}

/// What the design relies on from the server (checked on nats-server 2.9):
/// a conditional write at revision 0 takes a key that expired by `max_age`
/// (on 2.9 it simply vanishes, with no marker), and one at the delete
/// marker's revision takes a deleted key.
#[tokio::test]
async fn a_lease_key_is_free_again_after_delete_and_after_expiry() {
    use async_nats::jetstream::kv::UpdateErrorKind;
    use async_nats::jetstream::stream;

    let cluster = Cluster::new().await;
    let bucket = cluster.partitions.bucket.clone();
    let max_age = Duration::from_secs(1);
    cluster
        .js
        .create_stream(stream::Config {
            name: format!("KV_{bucket}"),
            subjects: vec![format!("$KV.{bucket}.>")],
            max_messages_per_subject: 1,
            max_age,
            allow_rollup: true,
            deny_delete: true,
            allow_direct: true,
            discard: stream::DiscardPolicy::New,
            ..Default::default()
        })
        .await
        .unwrap();
    let kv = cluster.js.get_key_value(&bucket).await.unwrap();

    let first = kv.update("partition.0", "a".into(), 0).await.unwrap();
    let taken = kv.update("partition.0", "b".into(), 0).await.unwrap_err();
    assert_eq!(taken.kind(), UpdateErrorKind::WrongLastRevision);
    let renewed = kv.update("partition.0", "a".into(), first).await.unwrap();
    let stale = kv
        .update("partition.0", "a".into(), first)
        .await
        .unwrap_err();
    assert_eq!(stale.kind(), UpdateErrorKind::WrongLastRevision);

    kv.delete_expect_revision("partition.0", Some(renewed))
        .await
        .unwrap();
    let marker = kv.entry("partition.0").await.unwrap().unwrap();
    let retaken = kv
        .update("partition.0", "b".into(), marker.revision)
        .await
        .unwrap();

    let written = Instant::now();
    let expired = timeout(Duration::from_secs(10), async {
        loop {
            if kv.entry("partition.0").await.unwrap().is_none() {
                return Instant::now();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the key expires");
    assert!(expired.duration_since(written) >= max_age - Duration::from_millis(100));
    kv.update("partition.0", "c".into(), 0).await.unwrap();
    assert!(retaken > renewed);
}

/// A NATS server of the test's own (the shared one must not be restarted),
/// on a free port with its own store directory.
struct PrivateNats {
    port: u16,
    dir: std::path::PathBuf,
    child: Option<std::process::Child>,
}

impl PrivateNats {
    /// `None` when there is no `nats-server` to run.
    fn start() -> Option<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port();
        let dir = std::env::temp_dir().join(format!(
            "ledgerline-leases-{}",
            uuid::Uuid::now_v7().simple()
        ));
        let mut nats = Self {
            port,
            dir,
            child: None,
        };
        nats.child = Some(nats.spawn()?);
        Some(nats)
    }

    fn spawn(&self) -> Option<std::process::Child> {
        std::process::Command::new("nats-server")
            .args([
                "-a",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-js",
                "-sd",
            ])
            .arg(&self.dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .ok()
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn restart(&mut self) {
        self.stop();
        self.child = Some(self.spawn().expect("nats-server restarts"));
    }
}

impl Drop for PrivateNats {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[tokio::test]
async fn leases_come_back_after_nats_restarts() {
    let Some(mut nats) = PrivateNats::start() else {
        eprintln!("no nats-server to run; skipping");
        return;
    };
    let url = format!("nats://127.0.0.1:{}", nats.port);
    let cluster = timeout(GENEROUS, Cluster::on(TestPrefix::new("restart").on(&url)))
        .await
        .expect("the private NATS starts");
    let ttl = Duration::from_secs(2);
    let mut solo = cluster.start("solo", ttl);
    solo.owns(&all(), GENEROUS).await;

    // A blip: the leases may survive it or be given up and taken again.
    nats.restart();
    tokio::time::sleep(ttl * 2).await;
    solo.owns(&all(), GENEROUS).await;

    // A long outage: the leases cannot be renewed, so every partition stops
    // before its key could expire and be taken by another replica (the
    // last renewal was before the outage began) — then they come back.
    let outage = Instant::now();
    nats.stop();
    solo.owns(&BTreeSet::new(), ttl * 2).await;
    let stops: Vec<Event> = cluster
        .events()
        .into_iter()
        .filter(|e| e.kind == Kind::Stop && e.at >= outage)
        .collect();
    assert_eq!(stops.len(), PARTITIONS as usize, "{stops:?}");
    for stop in stops {
        let after = stop.at.duration_since(outage);
        assert!(
            after < ttl,
            "partition {} ran {after:?} into the outage",
            stop.partition
        );
    }
    tokio::time::sleep(ttl).await;
    nats.restart();
    solo.owns(&all(), GENEROUS).await;

    cluster.finish([solo]).await;
}
