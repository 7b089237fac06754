//! The reconciler: every 202 reaches an outcome even when the broker loses
//! what it acknowledged. A single JetStream server does not fsync each
//! message, a stream can be purged, and a republish inside the duplicate
//! window is swallowed; the `commands` table, written before the 202, is
//! the durable record to reconcile from.
//!
//! Every [`ROUND_EVERY`], the commands accepted more than `after` ago that
//! it has not seen decided are looked up in the event store (`StoreReads`):
//! those whose users were told their outcome (the store's outbox mark) are
//! settled and never looked at again; the others are looked for in the
//! broker (their account's subject in the work queue, reading at most
//! 1,000 queued messages a batch). One that is no longer
//! there is queued again under its key with a dedup id of its own
//! (`{key}:requeue:{n}`), which no earlier publish can shadow; the
//! processor, owner of the decision, then decides it exactly once — or
//! declares it `failed` (`TIMEOUT` once past the command deadline). The API
//! never declares an outcome itself, so there are never two. A command the
//! store has an outcome for is queued again only when its user was never
//! told (the status publish after the commit did not happen, or a
//! transfer's last step is not decided yet): its repeat publishes the
//! stored outcome (or queues the transfer's next step), so a decided
//! command's status is published again only when it was never acknowledged.
//!
//! Told implies decided — the processor marks a key only after JetStream
//! acknowledged the status it was owed, a transfer's own key only after its
//! last step's — so one primary-key probe per command answers the question;
//! the outcomes themselves (and their events) are not read.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use ledgerline_bus::{Bus, Queued};
use ledgerline_contracts::{CommandKey, CommandMessage};
use ledgerline_domain::{AccountCommand, AccountId, UserId};
use ledgerline_runtime::Shutdown;
use ledgerline_store::{ReadError, StoreReads};
use sqlx::PgPool;
use time::OffsetDateTime;
use uuid::Uuid;

/// Times one command is queued again before the reconciler stops trying
/// (and says so in the log): a command the processor keeps dropping.
pub const MAX_REQUEUES: i32 = 10;
/// Commands looked at per batch, and batches per round at most: every
/// command is looked at once (and settled) when it is `after` old, so the
/// rounds must keep up with the busiest load (here 500 × 4 every 250 ms,
/// 8,000 commands/s, twice what this machine decides at saturation) —
/// and no faster: a backlog (after a burst, or the API away) is worked
/// off at that pace, beside the live load rather than ahead of it.
const BATCH: i64 = 500;
const BATCHES_PER_ROUND: usize = 4;
/// Queued messages read per batch to tell which commands are still there:
/// under a deep backlog the look-up costs the broker at most this much, and
/// what was not looked at waits for a later round. Two per command of a
/// batch, as when batches were of 1,000 and this 2,000.
const WALK_BUDGET: usize = 1_000;
/// How often a round looks: often, so that each round finds only the
/// commands that came of age since the last one. Every `after / 2` (5 s
/// by default) a round at 1,000 commands/s looked at 5,000 commands at
/// once (and at 20,000 after a burst), a spike of CPU that a busy machine
/// took a second to catch up with while every command in flight waited.
const ROUND_EVERY: Duration = Duration::from_millis(250);
pub async fn run(
    bus: Bus,
    pool: PgPool,
    store: Arc<dyn StoreReads>,
    after: Duration,
    shutdown: Shutdown,
) {
    let mut tick = tokio::time::interval(ROUND_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        match round_of_batches(&bus, &pool, store.as_ref(), after).await {
            Ok(0) => {}
            Ok(requeued) => tracing::info!(
                requeued,
                "queued again accepted commands the broker no longer held"
            ),
            Err(error) => {
                tracing::warn!(%error, "reconciling accepted commands failed; next round retries")
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum ReconcileError {
    #[error("commands table: {0}")]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Bus(#[from] ledgerline_bus::BusError),
    #[error(transparent)]
    Store(#[from] ReadError),
}

/// Batches until one is not full (or the round's share is done); how many
/// commands were queued again.
async fn round_of_batches(
    bus: &Bus,
    pool: &PgPool,
    store: &dyn StoreReads,
    after: Duration,
) -> Result<usize, ReconcileError> {
    let mut requeued = 0;
    for _ in 0..BATCHES_PER_ROUND {
        let (looked_at, queued_again) = batch(bus, pool, store, after).await?;
        requeued += queued_again;
        if looked_at < BATCH as usize {
            break;
        }
    }
    Ok(requeued)
}

/// One batch: how many commands it looked at, and how many it queued again.
async fn batch(
    bus: &Bus,
    pool: &PgPool,
    store: &dyn StoreReads,
    after: Duration,
) -> Result<(usize, usize), ReconcileError> {
    let stale = candidates(pool, after).await?;
    let looked_at = stale.len();
    if stale.is_empty() {
        return Ok((0, 0));
    }
    // Told: settled here for good. Only the rest may have been lost — a
    // command never decided, one decided whose status publish did not
    // happen, a transfer whose later step the broker lost — and they are
    // looked at again `after` from now.
    let keys: Vec<_> = stale.iter().map(|s| s.message.key()).collect();
    let told = store.marked_told(&keys).await?;
    let is_settled = |k: &CommandKey| told.contains(k);
    let (settled, open): (Vec<_>, Vec<_>) = keys.iter().partition(|k| is_settled(k));
    let uuids = |keys: Vec<&CommandKey>| keys.into_iter().map(|k| k.as_uuid()).collect::<Vec<_>>();
    let (settled, open) = (uuids(settled), uuids(open));
    sqlx::query(
        "UPDATE commands SET status = CASE WHEN command_key = ANY($1) THEN 'decided' ELSE status END,
                             checked_at = now()
         WHERE command_key = ANY($1) OR command_key = ANY($2)",
    )
    .bind(&settled)
    .bind(&open)
    .execute(pool)
    .await?;
    let mut stale: Vec<Stale> = stale
        .into_iter()
        .filter(|s| !is_settled(&s.message.key()))
        .collect();
    stale.sort_by_key(|s| s.message.accepted_at);
    let mut held: HashMap<AccountId, Queued> = HashMap::new();
    let mut budget = WALK_BUDGET;
    let mut requeued = 0;
    for Stale {
        mut message,
        requeues,
    } in stale
    {
        let account = message.command.account_id().clone();
        let queued = match held.get(&account) {
            Some(queued) => queued,
            None if budget == 0 => continue,
            None => {
                let queued = bus.queued_commands(&account, budget).await?;
                budget -= queued.read.min(budget);
                held.entry(account).or_insert(queued)
            }
        };
        // Still queued (or too many queued to tell): it will be decided.
        if !queued.complete || queued.keys.contains(&message.key()) {
            continue;
        }
        let attempt = requeues + 1;
        message.requeued = u32::try_from(attempt).ok();
        bus.publish_command(&message).await?;
        sqlx::query("UPDATE commands SET requeues = $2 WHERE command_key = $1 AND requeues < $2")
            .bind(message.key().as_uuid())
            .bind(attempt)
            .execute(pool)
            .await?;
        metrics::counter!("ledgerline_commands_requeued_total").increment(1);
        requeued += 1;
        if attempt >= MAX_REQUEUES {
            tracing::error!(key = %message.key(), "queued again {attempt} times without an outcome; giving up on it");
        } else {
            tracing::info!(key = %message.key(), attempt, "accepted command was not in the broker; queued again");
        }
    }
    Ok((looked_at, requeued))
}

/// An accepted command without an outcome, as it was accepted.
struct Stale {
    message: CommandMessage,
    requeues: i32,
}

type StaleRow = (Uuid, String, serde_json::Value, OffsetDateTime, i32);

/// This batch's commands: accepted more than `after` ago, not known to be
/// decided, not looked at within `after`. Replicas of the API may look at
/// the same ones: the store answers both alike, and a command both queue
/// again carries the same dedup id (`{key}:requeue:{n}`), so JetStream keeps
/// one.
async fn candidates(pool: &PgPool, after: Duration) -> Result<Vec<Stale>, sqlx::Error> {
    let rows: Vec<StaleRow> = sqlx::query_as(
        "SELECT command_id, user_id, request, accepted_at, requeues FROM commands
         WHERE status = 'accepted' AND requeues < $2
           AND accepted_at < now() - make_interval(secs => $1)
           AND (checked_at IS NULL OR checked_at < now() - make_interval(secs => $1))
         ORDER BY accepted_at LIMIT $3",
    )
    .bind(after.as_secs_f64())
    .bind(MAX_REQUEUES)
    .bind(BATCH)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(command_id, user, request, accepted_at, requeues)| {
            // Rows are written only from validated commands; one that does
            // not read back is reported, not guessed at.
            let user_id = UserId::parse(user)
                .map_err(|e| tracing::error!(%command_id, %e, "unreadable user in commands"))
                .ok()?;
            let command = serde_json::from_value::<AccountCommand>(request)
                .map_err(|e| tracing::error!(%command_id, %e, "unreadable command in commands"))
                .ok()?;
            Some(Stale {
                message: CommandMessage {
                    command_id,
                    correlation_id: command_id,
                    user_id,
                    accepted_at,
                    command,
                    requeued: None,
                },
                requeues,
            })
        })
        .collect())
}
