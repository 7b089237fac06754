//! The outbox's marks, written behind the publishes. Once JetStream has
//! acknowledged a status, its key is handed here, and a writer of its own
//! records `told_at` for every key handed over within [`FLUSH_EVERY`] in
//! one statement: one commit a tick for the whole process instead of one
//! per group on each partition's path.
//!
//! A mark that is never written (a crash, PostgreSQL away for longer than
//! the writer tries) leaves that outcome untold: the API's reconciler
//! queues its command again and the repeat publishes the status under the
//! same `Nats-Msg-Id`, which JetStream drops inside its duplicate window.
//! Late or lost marks cost a repeat, never a lost status.

use std::time::Duration;

use ledgerline_contracts::CommandKey;
use ledgerline_runtime::Shutdown;
use ledgerline_store::EventStore;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// How long keys gather before they are written.
const FLUSH_EVERY: Duration = Duration::from_millis(100);
/// Attempts at one write before its keys are left to the reconciler.
const ATTEMPTS: u32 = 3;

/// Where publishers hand the keys of the statuses JetStream acknowledged.
#[derive(Clone)]
pub struct ToldMarks {
    keys: mpsc::UnboundedSender<Vec<CommandKey>>,
}

impl ToldMarks {
    /// Starts the writer; it writes what is left and stops after shutdown.
    pub fn start<S: EventStore>(store: S, shutdown: Shutdown) -> (Self, JoinHandle<()>) {
        let (keys, rx) = mpsc::unbounded_channel();
        (
            Self { keys },
            tokio::spawn(write_marks(store, rx, shutdown)),
        )
    }

    /// Hands over the keys of statuses JetStream acknowledged.
    pub fn told(&self, keys: Vec<CommandKey>) {
        if keys.is_empty() {
            return;
        }
        if self.keys.send(keys).is_err() {
            // Only after shutdown: the reconciler repairs what is unmarked.
            tracing::debug!("told marks after the writer stopped; left to the reconciler");
        }
    }
}

async fn write_marks<S: EventStore>(
    store: S,
    mut rx: mpsc::UnboundedReceiver<Vec<CommandKey>>,
    shutdown: Shutdown,
) {
    let mut tick = tokio::time::interval(FLUSH_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut pending: Vec<CommandKey> = Vec::new();
    loop {
        let stopping = tokio::select! {
            () = shutdown.cancelled() => true,
            _ = tick.tick() => false,
        };
        while let Ok(keys) = rx.try_recv() {
            pending.extend(keys);
        }
        if !pending.is_empty() {
            write(&store, &pending).await;
            pending.clear();
        }
        if stopping {
            break;
        }
    }
    // Partitions finishing their last group may still hand keys over: wait
    // for them a little (until every sender is gone), then write those.
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        while let Some(keys) = rx.recv().await {
            pending.extend(keys);
        }
    })
    .await;
    write(&store, &pending).await;
}

async fn write<S: EventStore>(store: &S, keys: &[CommandKey]) {
    if keys.is_empty() {
        return;
    }
    for attempt in 1..=ATTEMPTS {
        match store.mark_told(keys).await {
            Ok(()) => return,
            Err(error) if attempt == ATTEMPTS => tracing::warn!(
                %error,
                count = keys.len(),
                "cannot record told outcomes; the reconciler will publish them again"
            ),
            Err(error) => {
                tracing::debug!(%error, attempt, "recording told outcomes failed; retrying");
                tokio::time::sleep(FLUSH_EVERY * attempt).await;
            }
        }
    }
}
