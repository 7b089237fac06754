//! The reconciler: every 202 reaches an outcome even when the broker loses
//! what it acknowledged. A single JetStream server does not fsync each
//! message, a stream can be purged, and a republish inside the duplicate
//! window is swallowed; the `commands` table, written before the 202, is
//! the durable record to reconcile from.
//!
//! Every `after / 2`, commands accepted more than `after` ago and still
//! without an outcome are looked up in the broker (their account's subject
//! in the work queue, reading at most 2,000 queued messages a round). One
//! that is no longer there is queued again under its key with a dedup id of
//! its own (`{key}:requeue:{n}`), which no earlier publish can shadow; the
//! processor, owner of the decision, then decides it exactly once — or
//! declares it `failed` (`TIMEOUT` once past the command deadline), and if
//! it was decided already only publishes that outcome again. The API never declares an outcome itself, so there are never two.
//!
//! A command whose status is in the status stream but not yet recorded here
//! looks undecided too; requeuing it would republish its status, which
//! JetStream drops as a duplicate only within its 2-minute window. So the
//! reconciler works only while the outcome follower is less than
//! [`MAX_FOLLOWER_LAG`] behind the status stream.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use ledgerline_bus::{Bus, Queued, Recorded};
use ledgerline_contracts::CommandMessage;
use ledgerline_domain::{AccountCommand, AccountId, UserId};
use ledgerline_runtime::Shutdown;
use sqlx::PgPool;
use time::OffsetDateTime;
use tokio::time::Instant;
use uuid::Uuid;

use crate::outcomes;

/// Times one command is queued again before the reconciler stops trying
/// (and says so in the log): a command the processor keeps dropping.
pub const MAX_REQUEUES: i32 = 10;
/// Commands looked at per round.
const ROUND: i64 = 256;
/// Queued messages read per round to tell which commands are still there:
/// under a deep backlog the look-up costs the broker at most this much, and
/// what was not looked at waits for a later round.
const WALK_BUDGET: usize = 2_000;
/// See the module documentation; well inside JetStream's 2-minute window.
pub const MAX_FOLLOWER_LAG: Duration = Duration::from_secs(30);

pub async fn run(bus: Bus, pool: PgPool, after: Duration, shutdown: Shutdown) {
    let mut tick = tokio::time::interval((after / 2).max(Duration::from_millis(500)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut follower = FollowerLag::default();
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        match round(&bus, &pool, after, &mut follower).await {
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
}

/// One round; how many commands it queued again.
async fn round(
    bus: &Bus,
    pool: &PgPool,
    after: Duration,
    follower: &mut FollowerLag,
) -> Result<usize, ReconcileError> {
    let recorded = bus
        .recorded(&bus.subjects.status_stream(), outcomes::DURABLE)
        .await?;
    match follower.observe(Instant::now(), recorded) {
        Some(lag) if lag <= MAX_FOLLOWER_LAG => {}
        lag => {
            tracing::debug!(?lag, "outcome follower behind; not reconciling this round");
            return Ok(0);
        }
    }
    let mut stale = claim(pool, after).await?;
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
    Ok(requeued)
}

/// An accepted command without an outcome, as it was accepted.
struct Stale {
    message: CommandMessage,
    requeues: i32,
}

type StaleRow = (Uuid, String, serde_json::Value, OffsetDateTime, i32);

/// Takes this round's commands: accepted more than `after` ago, no outcome,
/// not looked at within `after`. `SKIP LOCKED` and the `checked_at` stamp
/// share the work between replicas of the API.
async fn claim(pool: &PgPool, after: Duration) -> Result<Vec<Stale>, sqlx::Error> {
    let rows: Vec<StaleRow> = sqlx::query_as(
        "UPDATE commands SET checked_at = now()
         WHERE command_key IN (
             SELECT command_key FROM commands
             WHERE status = 'accepted' AND request <> 'null'::jsonb AND requeues < $2
               AND accepted_at < now() - make_interval(secs => $1)
               AND (checked_at IS NULL OR checked_at < now() - make_interval(secs => $1))
             ORDER BY accepted_at LIMIT $3
             FOR UPDATE SKIP LOCKED)
         RETURNING command_id, user_id, request, accepted_at, requeues",
    )
    .bind(after.as_secs_f64())
    .bind(MAX_REQUEUES)
    .bind(ROUND)
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

/// Positions kept while the follower does not move (one per round).
const MAX_MARKS: usize = 1_000;

/// How far behind the status stream the outcome follower is: the age of
/// the newest observed stream position it has acked.
#[derive(Debug, Default)]
struct FollowerLag {
    /// (when, the status stream's last sequence then), oldest first.
    marks: VecDeque<(Instant, u64)>,
}

impl FollowerLag {
    /// Notes the stream's position now; `None` until some noted position
    /// has been recorded.
    fn observe(&mut self, now: Instant, recorded: Recorded) -> Option<Duration> {
        if self.marks.len() >= MAX_MARKS {
            // A follower stuck this long has an unknown (huge) lag.
            self.marks.pop_front();
        }
        self.marks.push_back((now, recorded.last_sequence));
        let newest_recorded = self
            .marks
            .iter()
            .rposition(|(_, seq)| *seq <= recorded.ack_floor)?;
        // Older marks are no longer needed: the follower has passed them.
        self.marks.drain(..newest_recorded);
        self.marks.front().map(|(at, _)| now.duration_since(*at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(recorded: (u64, u64)) -> Recorded {
        Recorded {
            last_sequence: recorded.0,
            ack_floor: recorded.1,
        }
    }

    #[test]
    fn the_lag_is_the_age_of_the_newest_position_the_follower_has_recorded() {
        let start = Instant::now();
        let mut lag = FollowerLag::default();
        // Caught up: no lag.
        assert_eq!(lag.observe(start, at((10, 10))), Some(Duration::ZERO));
        // Behind what it was 5 s ago, past what it was 10 s ago.
        let five = start + Duration::from_secs(5);
        assert_eq!(
            lag.observe(five, at((20, 12))),
            Some(Duration::from_secs(5))
        );
        let ten = start + Duration::from_secs(10);
        assert_eq!(lag.observe(ten, at((30, 25))), Some(Duration::from_secs(5)));
        // Stuck: the lag grows.
        let sixty = start + Duration::from_secs(60);
        assert_eq!(
            lag.observe(sixty, at((40, 25))),
            Some(Duration::from_secs(55))
        );
    }

    #[test]
    fn a_follower_behind_everything_noted_has_no_known_lag() {
        let mut lag = FollowerLag::default();
        assert_eq!(lag.observe(Instant::now(), at((10, 3))), None);
    }
}
