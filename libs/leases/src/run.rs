//! One replica's lease loop: renews, heartbeats, watches the bucket and
//! moves towards owning exactly its rendezvous share. NATS calls are
//! bounded, and each task also watches its own lease's deadline, so a
//! stalled NATS never keeps a task running past its lease.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use async_nats::jetstream::Context;
use async_nats::jetstream::kv::{Entry, Watch, WatcherError};
use futures::StreamExt;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep, sleep_until};
use tokio_util::sync::CancellationToken;

use crate::bucket::{self, Acquired, Renewed};
use crate::config::{LeaseConfig, Partitions};
use crate::error::LeaseError;
use crate::rendezvous::desired_partitions;
use crate::replica::{FAR, Lease, Replica};

/// The first and the longest wait between attempts to open the bucket
/// while NATS is away at start.
const OPEN_RETRY_FIRST: Duration = Duration::from_millis(100);
const OPEN_RETRY_MAX: Duration = Duration::from_secs(5);

/// Bounds on one NATS call: a fifth of the TTL, so several attempts fit
/// before a lease runs out — at least a round trip under load, and no
/// longer than a NATS that is away takes to notice.
const CALL_LIMIT_MIN: Duration = Duration::from_millis(200);
const CALL_LIMIT_MAX: Duration = Duration::from_secs(5);

impl<F> Replica<F>
where
    F: Fn(u32, CancellationToken) -> JoinHandle<()> + Send + 'static,
{
    pub async fn start(
        js: Context,
        partitions: Partitions,
        config: LeaseConfig,
        shutdown: CancellationToken,
        spawn: F,
        owned: watch::Sender<BTreeSet<u32>>,
    ) -> Result<(), LeaseError> {
        let limit = (config.ttl / 5).clamp(CALL_LIMIT_MIN, CALL_LIMIT_MAX);
        // NATS may be away at start: wait for it rather than fail.
        let mut backoff = OPEN_RETRY_FIRST;
        let (store, ttl) = loop {
            match bucket::open(&js, &partitions, config.ttl, limit).await {
                Ok(opened) => break opened,
                Err(error) => tracing::warn!(%error, "cannot open the lease bucket; retrying"),
            }
            tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                () = sleep(backoff) => backoff = (backoff * 2).min(OPEN_RETRY_MAX),
            }
        };
        if ttl.is_zero() {
            return Err(LeaseError::BucketNeverExpires(partitions.bucket));
        }
        if ttl != config.ttl {
            tracing::warn!(configured = ?config.ttl, bucket = ?ttl, "the lease bucket has another TTL; using the bucket's (delete the bucket to change it)");
        }
        let all_tasks = shutdown.child_token();
        let (finished, finished_rx) = mpsc::unbounded_channel();
        let replica = Self {
            client: js.client(),
            js,
            partitions,
            store,
            id: config.replica_id,
            ttl,
            limit,
            spawn,
            members: BTreeSet::new(),
            leases: BTreeMap::new(),
            lost: BTreeMap::new(),
            tasks: BTreeMap::new(),
            _stop_tasks_on_drop: all_tasks.clone().drop_guard(),
            all_tasks,
            finished,
            epochs: 0,
            acquire_due: Instant::now(),
            draining: false,
            owned,
        };
        replica.run(shutdown, finished_rx).await
    }

    async fn run(
        mut self,
        shutdown: CancellationToken,
        mut finished: mpsc::UnboundedReceiver<(u32, u64)>,
    ) -> Result<(), LeaseError> {
        tracing::info!(replica = %self.id, ttl = ?self.ttl, "partition leases starting");
        let mut changes: Option<Watch> = None;
        // Learn who else is there before wanting anything.
        let mut next_tick = Instant::now() + self.tick(&mut changes).await;
        loop {
            self.give_up_expiring_leases();
            self.reconcile().await;
            self.report_owned();
            if self.draining && self.leases.is_empty() && self.tasks.is_empty() {
                break;
            }
            let wake = self.next_wake().min(next_tick);
            tokio::select! {
                () = shutdown.cancelled(), if !self.draining => self.begin_draining().await,
                Some((partition, epoch)) = finished.recv() => self.task_ended(partition, epoch),
                () = sleep_until(next_tick) => next_tick = Instant::now() + self.tick(&mut changes).await,
                change = next_change(&mut changes) => match change {
                    Some(Ok(entry)) => self.on_change(&entry),
                    Some(Err(error)) => {
                        tracing::warn!(%error, "lease watch failed; renewing it");
                        changes = None;
                    }
                    None => changes = None,
                },
                () = sleep_until(wake) => {}
            }
        }
        // Said already when draining began, but that may have failed.
        if let Err(error) = bucket::leave(&self.store, &self.id, self.limit).await {
            tracing::warn!(%error, "could not leave; the heartbeat will expire");
        }
        tracing::info!(replica = %self.id, "partition leases stopped");
        Ok(())
    }

    /// Renews the leases, heartbeats, lists the members and keeps the watch
    /// on the bucket; returns when to do it again (sooner after a failure).
    async fn tick(&mut self, changes: &mut Option<Watch>) -> Duration {
        if !self.connected() {
            // Every call would only wait out its timeout; the client
            // reconnects by itself, and the tasks' deadlines run regardless.
            return self.ttl / 10;
        }
        let renewed = self.renew_all().await;
        let mut healthy = renewed;
        if !self.draining {
            match bucket::heartbeat(&self.store, &self.id, self.limit).await {
                Ok(()) => {}
                Err(error) => {
                    tracing::warn!(%error, "heartbeat failed");
                    healthy = false;
                    // The bucket itself may be gone (NATS restarted empty).
                    if let Ok((store, _)) =
                        bucket::open(&self.js, &self.partitions, self.ttl, self.limit).await
                    {
                        self.store = store;
                    }
                }
            }
            match bucket::members(&self.store, self.limit).await {
                Ok(mut members) => {
                    members.insert(self.id.clone());
                    if members != self.members {
                        tracing::info!(replica = %self.id, ?members, "members changed");
                        self.members = members;
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "cannot list members; keeping the last list");
                    self.members.insert(self.id.clone());
                    healthy = false;
                }
            }
            self.acquire_due = Instant::now();
        }
        if changes.is_none() {
            match bucket::bounded("watching the leases", self.limit, self.store.watch_all()).await {
                Ok(watch) => *changes = Some(watch),
                Err(error) => tracing::warn!(%error, "cannot watch the leases; relying on polling"),
            }
        }
        if healthy { self.ttl / 3 } else { self.ttl / 10 }
    }

    /// Renews every held lease at its known revision, all at once.
    async fn renew_all(&mut self) -> bool {
        let (store, id, limit) = (&self.store, self.id.as_str(), self.limit);
        let renewals = self.leases.iter().map(|(&partition, lease)| async move {
            let sent = Instant::now();
            let result = bucket::renew(store, partition, id, lease.revision, limit).await;
            (partition, sent, result)
        });
        let mut all_renewed = true;
        for (partition, sent, result) in futures::future::join_all(renewals).await {
            match result {
                Ok(Renewed::At(revision)) => {
                    let deadline = self.deadline_after(sent);
                    if let Some(lease) = self.leases.get_mut(&partition) {
                        lease.revision = revision;
                        lease.deadline.send_replace(deadline);
                    }
                }
                Ok(Renewed::Lost) => self.lose(partition, "another replica holds it now"),
                Err(error) => {
                    tracing::warn!(%error, partition, "cannot renew a lease");
                    all_renewed = false;
                }
            }
        }
        all_renewed
    }

    /// Moves towards owning exactly the desired partitions: stops the tasks
    /// of partitions no longer ours, lets go of leases whose task has ended,
    /// takes free desired partitions and starts their tasks.
    async fn reconcile(&mut self) {
        let desired = if self.draining {
            BTreeSet::new()
        } else {
            desired_partitions(
                self.partitions.count,
                self.members.iter().map(String::as_str),
                &self.id,
            )
        };
        for (partition, task) in &self.tasks {
            if !desired.contains(partition) || !self.leases.contains_key(partition) {
                task.token.cancel();
            }
        }
        // Only once the task has ended: then the next owner starts after it.
        let releasable: Vec<(u32, u64)> = self
            .leases
            .iter()
            .filter(|(p, _)| !desired.contains(p) && !self.tasks.contains_key(p))
            .map(|(&p, lease)| (p, lease.revision))
            .collect();
        for (partition, revision) in releasable {
            if !self.connected() {
                break;
            }
            match bucket::release(&self.store, partition, revision, self.limit).await {
                Ok(()) => {
                    self.leases.remove(&partition);
                    tracing::info!(replica = %self.id, partition, "lease released");
                }
                // Kept and renewed; released on a later pass.
                Err(error) => tracing::warn!(%error, partition, "cannot release a lease yet"),
            }
        }
        if Instant::now() >= self.acquire_due {
            if self.connected() {
                self.acquire(&desired).await;
            } else {
                self.acquire_due = Instant::now() + self.retry();
            }
        }
        let now = Instant::now();
        let startable: Vec<u32> = self
            .leases
            .iter()
            .filter(|(p, lease)| {
                desired.contains(p) && !self.tasks.contains_key(p) && lease.start_at <= now
            })
            .map(|(&p, _)| p)
            .collect();
        for partition in startable {
            self.start_task(partition);
        }
    }

    async fn acquire(&mut self, desired: &BTreeSet<u32>) {
        let wanted: Vec<u32> = desired
            .iter()
            .filter(|p| !self.leases.contains_key(p) && !self.tasks.contains_key(p))
            .copied()
            .collect();
        let mut missing = false;
        for partition in wanted {
            let sent = Instant::now();
            let last_written = self.lost.get(&partition).copied();
            match bucket::acquire(&self.store, partition, &self.id, last_written, self.limit).await
            {
                Ok(Acquired::Held(revision)) => {
                    self.lost.remove(&partition);
                    tracing::info!(replica = %self.id, partition, "lease acquired");
                    let (deadline, _) = watch::channel(self.deadline_after(sent));
                    self.leases.insert(
                        partition,
                        Lease {
                            revision,
                            deadline,
                            start_at: Instant::now(),
                        },
                    );
                }
                Ok(Acquired::Taken) => missing = true,
                Err(error) => {
                    tracing::debug!(%error, partition, "cannot take a lease now");
                    missing = true;
                }
            }
        }
        // Held elsewhere: the holder is letting go (the watch will say so)
        // or has died (its key expires); look again soon either way.
        self.acquire_due = Instant::now() + if missing { self.retry() } else { FAR };
    }

    async fn begin_draining(&mut self) {
        self.draining = true;
        self.acquire_due = Instant::now() + FAR;
        // Leave first: the others start wanting our partitions and take each
        // one as soon as we let it go.
        if let Err(error) = bucket::leave(&self.store, &self.id, self.limit).await {
            tracing::warn!(%error, "could not leave yet");
        }
    }
}

async fn next_change(changes: &mut Option<Watch>) -> Option<Result<Entry, WatcherError>> {
    match changes {
        Some(watch) => watch.next().await,
        None => std::future::pending().await,
    }
}
