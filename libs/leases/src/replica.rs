//! A replica's lease bookkeeping: what it holds, what runs, and the
//! decisions that need no NATS call. The lease loop (`run`) drives it;
//! everything happens on that one task, so nothing here needs a lock.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use async_nats::jetstream::Context;
use async_nats::jetstream::kv::{Entry, Operation, Store};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep_until};
use tokio_util::sync::{CancellationToken, DropGuard};

use crate::bucket;
use crate::config::Partitions;

/// A lease this replica holds.
pub(super) struct Lease {
    pub(super) revision: u64,
    /// When to give it up unless renewed: TTL − TTL/3 after the write that
    /// last renewed it was sent (the key lives at least a TTL from then).
    /// The partition's task watches it too (see `start_task`), so it stops
    /// in time even while the loop waits on NATS.
    pub(super) deadline: watch::Sender<Instant>,
    /// The partition's task may start from then (later only after a task
    /// that ended by itself, see `task_ended`).
    pub(super) start_at: Instant,
}

/// A partition task that has not ended yet.
pub(super) struct Task {
    pub(super) token: CancellationToken,
    epoch: u64,
}

pub struct Replica<F> {
    pub(super) js: Context,
    pub(super) client: async_nats::Client,
    pub(super) partitions: Partitions,
    pub(super) store: Store,
    pub(super) id: String,
    pub(super) ttl: Duration,
    /// Bound on one NATS call.
    pub(super) limit: Duration,
    pub(super) spawn: F,
    pub(super) members: BTreeSet<String>,
    pub(super) leases: BTreeMap<u32, Lease>,
    /// The last revision we wrote of each lease we gave up: a key still at
    /// it is still ours to take back (see `bucket::acquire`).
    pub(super) lost: BTreeMap<u32, u64>,
    pub(super) tasks: BTreeMap<u32, Task>,
    /// Parent of every task's token; cancelled if the loop is dropped, so
    /// tasks never outlive the loop that renews their leases.
    pub(super) all_tasks: CancellationToken,
    pub(super) _stop_tasks_on_drop: DropGuard,
    pub(super) finished: mpsc::UnboundedSender<(u32, u64)>,
    pub(super) epochs: u64,
    /// When to try taking the desired partitions we do not hold.
    pub(super) acquire_due: Instant,
    pub(super) draining: bool,
    pub(super) owned: watch::Sender<BTreeSet<u32>>,
}

/// "Not before anything else happens": a wake-up that never comes first.
pub(super) const FAR: Duration = Duration::from_secs(24 * 3600);

/// Bounds on how soon to look again for a lease held elsewhere (a tenth of
/// the TTL): often enough to take it soon after it is freed, rarely enough
/// to cost NATS nothing.
const LOOK_AGAIN_MIN: Duration = Duration::from_millis(100);
const LOOK_AGAIN_MAX: Duration = Duration::from_secs(1);

/// How long a partition task that ended by itself waits to start again:
/// not a tight loop, and short against any TTL.
const RESTART_AFTER: Duration = Duration::from_secs(1);

impl<F> Replica<F>
where
    F: Fn(u32, CancellationToken) -> JoinHandle<()> + Send + 'static,
{
    /// A lease that could not be renewed for TTL − TTL/3 is given up before
    /// the key can expire and be taken: the task has TTL/3 to stop.
    pub(super) fn give_up_expiring_leases(&mut self) {
        let now = Instant::now();
        let expiring: Vec<u32> = self
            .leases
            .iter()
            .filter(|(_, lease)| now >= *lease.deadline.borrow())
            .map(|(&partition, _)| partition)
            .collect();
        for partition in expiring {
            self.lose(partition, "it could not be renewed in time");
        }
    }

    pub(super) fn deadline_after(&self, sent: Instant) -> Instant {
        sent + (self.ttl - self.ttl / 3)
    }

    /// Forgets a lease that is no longer ours and stops its task at once.
    pub(super) fn lose(&mut self, partition: u32, why: &str) {
        if let Some(lease) = self.leases.remove(&partition) {
            self.lost.insert(partition, lease.revision);
            tracing::warn!(replica = %self.id, partition, "lease lost: {why}; stopping the partition");
        }
        if let Some(task) = self.tasks.get(&partition) {
            task.token.cancel();
        }
    }

    pub(super) fn start_task(&mut self, partition: u32) {
        let Some(mut deadline) = self.leases.get(&partition).map(|l| l.deadline.subscribe()) else {
            return;
        };
        self.epochs += 1;
        let epoch = self.epochs;
        let token = self.all_tasks.child_token();
        let mut handle = (self.spawn)(partition, token.clone());
        let finished = self.finished.clone();
        let stop = token.clone();
        tokio::spawn(async move {
            // The task stops when its lease runs out or is dropped, whatever
            // the lease loop is busy with.
            let result = loop {
                let due = *deadline.borrow_and_update();
                tokio::select! {
                    result = &mut handle => break result,
                    changed = deadline.changed(), if !stop.is_cancelled() => {
                        if changed.is_err() {
                            stop.cancel();
                        }
                    }
                    () = sleep_until(due), if !stop.is_cancelled() => {
                        tracing::warn!(partition, "lease not renewed in time; stopping the partition");
                        stop.cancel();
                    }
                }
            };
            if let Err(error) = result {
                tracing::error!(%error, partition, "partition task failed");
            }
            let _ = finished.send((partition, epoch));
        });
        tracing::info!(replica = %self.id, partition, "partition started");
        self.tasks.insert(partition, Task { token, epoch });
    }

    pub(super) fn task_ended(&mut self, partition: u32, epoch: u64) {
        let Some(task) = self.tasks.get(&partition).filter(|t| t.epoch == epoch) else {
            return;
        };
        if !task.token.is_cancelled() {
            // Still ours and wanted: start it again, not in a tight loop.
            tracing::warn!(partition, "partition task ended by itself; restarting it");
            if let Some(lease) = self.leases.get_mut(&partition) {
                lease.start_at = Instant::now() + RESTART_AFTER;
            }
        }
        self.tasks.remove(&partition);
        tracing::info!(replica = %self.id, partition, "partition stopped");
    }

    /// Reacts to the bucket at once instead of at the next tick: a member
    /// joining or leaving, a lease let go, or our lease taken.
    pub(super) fn on_change(&mut self, entry: &Entry) {
        let removed = matches!(entry.operation, Operation::Delete | Operation::Purge);
        if let Some(member) = bucket::member_of(&entry.key) {
            let changed = if removed {
                member != self.id && self.members.remove(member)
            } else {
                !self.draining && self.members.insert(member.to_owned())
            };
            if changed {
                self.acquire_due = Instant::now();
            }
        } else if let Some(partition) = bucket::partition_of_key(&entry.key) {
            let ours = self.leases.get(&partition).map(|lease| lease.revision);
            if ours.is_some_and(|revision| entry.revision > revision)
                && entry.value != self.id.as_bytes()
            {
                self.lose(partition, "another replica took it");
            } else if removed {
                self.acquire_due = Instant::now();
            }
        }
    }

    /// How soon to look again for a lease held elsewhere: its holder is
    /// letting go (the watch will say so) or has died (its key expires).
    pub(super) fn retry(&self) -> Duration {
        (self.ttl / 10).clamp(LOOK_AGAIN_MIN, LOOK_AGAIN_MAX)
    }

    pub(super) fn connected(&self) -> bool {
        self.client.connection_state() == async_nats::connection::State::Connected
    }

    /// The earliest moment something is due without any event.
    pub(super) fn next_wake(&self) -> Instant {
        self.leases
            .values()
            .flat_map(|lease| [*lease.deadline.borrow(), lease.start_at])
            .filter(|&at| at > Instant::now())
            .chain([self.acquire_due])
            .min()
            .unwrap_or_else(|| Instant::now() + FAR)
    }

    pub(super) fn report_owned(&self) {
        let owned: BTreeSet<u32> = self
            .tasks
            .iter()
            .filter(|(p, task)| !task.token.is_cancelled() && self.leases.contains_key(p))
            .map(|(&p, _)| p)
            .collect();
        self.owned.send_if_modified(|current| {
            let changed = *current != owned;
            *current = owned;
            changed
        });
    }
}
