//! Group commit: many decisions, on many accounts, in one PostgreSQL
//! statement — one round trip and one fsync instead of one per command.
//! The statement inserts every table's rows from `unnest(…)` of one array
//! per column, its data-modifying `WITH` parts run together, and a single
//! statement is its own transaction: all of it is stored, or none.

use std::collections::HashMap;

use ledgerline_contracts::{EventEnvelope, StatusMessage};
use ledgerline_domain::AccountId;
use sqlx::{PgExecutor, PgPool};
use uuid::Uuid;

use crate::held_connection::HeldConnection;
use crate::outcomes::OutcomeColumns;
use crate::rows::event_data;
use crate::{CommitError, Decision, StoreError};

/// A group in one statement: the accounts the group rests on, each at
/// the version its first decision was taken on (`$1`, `$2`); the events
/// (`$3`–`$10`), due snapshots (`$11`–`$13`) and outcomes (`$14`–`$22`).
/// An account found at another version (one index probe each) stores
/// nothing and answers a row without an event id. Events that race a
/// concurrent append still meet `events_aggregate_version`, a command
/// decided concurrently `command_outcomes_pkey`. `WITH ORDINALITY … ORDER
/// BY`: positions are drawn in batch order, so an account's events keep
/// their version order in the global log.
const COMMIT: &str = "WITH stale AS (
    SELECT b.id FROM unnest($1::text[], $2::bigint[]) AS b(id, base)
    WHERE b.base <> coalesce((SELECT e.version FROM events e WHERE e.aggregate_id = b.id
                              ORDER BY e.version DESC LIMIT 1), 0)
    LIMIT 1
), appended AS (
    INSERT INTO events (event_id, aggregate_type, aggregate_id, version, event_type, schema_version, data, metadata)
    SELECT event_id, aggregate_type, aggregate_id, version, event_type, schema_version, data, metadata
    FROM unnest($3::uuid[], $4::text[], $5::text[], $6::bigint[], $7::text[], $8::int[], $9::jsonb[], $10::jsonb[])
         WITH ORDINALITY AS t(event_id, aggregate_type, aggregate_id, version, event_type, schema_version, data, metadata, n)
    WHERE NOT EXISTS (SELECT FROM stale)
    ORDER BY n
    RETURNING event_id, global_position
), snapshotted AS (
    INSERT INTO snapshots (aggregate_id, version, state)
    SELECT * FROM unnest($11::text[], $12::bigint[], $13::jsonb[])
    WHERE NOT EXISTS (SELECT FROM stale)
    ON CONFLICT DO NOTHING
), recorded AS (
    INSERT INTO command_outcomes (command_key, command_id, user_id, aggregate_id, status,
                                  error, first_version, last_version, decided_at)
    SELECT * FROM unnest($14::uuid[], $15::uuid[], $16::text[], $17::text[], $18::text[],
                         $19::jsonb[], $20::bigint[], $21::bigint[], $22::timestamptz[])
    WHERE NOT EXISTS (SELECT FROM stale)
)
SELECT event_id, global_position FROM appended
UNION ALL
SELECT NULL, 0 FROM stale";

fn corrupt(e: impl std::fmt::Display) -> CommitError {
    CommitError::Store(StoreError::Corrupt(e.to_string()))
}

/// Commits the groups the commit queue took together (see
/// `PostgresEventStore::commit_all`): all in one statement on the queue's
/// own connection, each answered with its own outcomes. Groups come from
/// callers deciding independently — a process's partitions, each its own
/// accounts — so they rarely clash; when the statement fails, each group
/// is committed again alone (all at once on the pool, as the callers would
/// have without the queue, so a store that is away costs each of them one
/// more wait, not one per group ahead of it) and answered with what its own
/// statement did. A group alone is one statement.
pub(crate) async fn commit_groups(
    pool: &PgPool,
    held: &mut HeldConnection,
    groups: Vec<Vec<Decision>>,
) -> Vec<Result<Vec<StatusMessage>, CommitError>> {
    let sizes: Vec<usize> = groups.iter().map(Vec::len).collect();
    let all: Vec<Decision> = groups.into_iter().flatten().collect();
    let together = held.run(async |conn| commit_all(conn, &all).await).await;
    if sizes.len() == 1 {
        return vec![together];
    }
    if let Ok(statuses) = together {
        let mut statuses = statuses.into_iter();
        return sizes
            .iter()
            .map(|&size| Ok(statuses.by_ref().take(size).collect()))
            .collect();
    }
    let mut alone = Vec::with_capacity(sizes.len());
    let mut start = 0;
    for size in sizes {
        alone.push(commit_all(
            pool,
            all.get(start..start + size).unwrap_or_default(),
        ));
        start += size;
    }
    futures::future::join_all(alone).await
}

/// Appends every decision's events at its expected version and records
/// every outcome (and due snapshot), atomically: all of them or none. A
/// version race on any account fails the whole group with
/// [`CommitError::Conflict`], a known command id with
/// [`CommitError::AlreadyDecided`]; the caller decides again one by one.
async fn commit_all(
    executor: impl PgExecutor<'_>,
    decisions: &[Decision],
) -> Result<Vec<StatusMessage>, CommitError> {
    if decisions.is_empty() {
        return Ok(Vec::new());
    }
    let (accounts, bases) = bases(decisions)?;
    let mut envelopes: Vec<Vec<EventEnvelope>> =
        decisions.iter().map(Decision::new_envelopes).collect();
    let all = || envelopes.iter().flatten();
    let metadata = all()
        .map(|e| serde_json::to_value(&e.metadata))
        .collect::<Result<Vec<_>, _>>()
        .map_err(corrupt)?;
    let data = all()
        .map(|e| event_data(&e.event))
        .collect::<Result<Vec<_>, _>>()?;
    let snapshots: Vec<_> = decisions
        .iter()
        .filter_map(|d| d.snapshot.as_ref())
        .collect();
    let states = snapshots
        .iter()
        .map(serde_json::to_value)
        .collect::<Result<Vec<_>, _>>()
        .map_err(corrupt)?;
    let query = sqlx::query_as(COMMIT)
        .bind(accounts)
        .bind(bases)
        .bind(all().map(|e| e.event_id).collect::<Vec<_>>())
        .bind(all().map(|e| e.aggregate_type.as_str()).collect::<Vec<_>>())
        .bind(all().map(|e| e.aggregate_id.as_str()).collect::<Vec<_>>())
        .bind(all().map(|e| e.version).collect::<Vec<_>>())
        .bind(all().map(|e| e.event.event_type()).collect::<Vec<_>>())
        .bind(
            all()
                .map(|e| i32::try_from(e.schema_version).unwrap_or(i32::MAX))
                .collect::<Vec<_>>(),
        )
        .bind(data)
        .bind(metadata)
        .bind(snapshots.iter().map(|s| s.id.as_str()).collect::<Vec<_>>())
        .bind(snapshots.iter().map(|s| s.version).collect::<Vec<_>>())
        .bind(states);
    let positions: Vec<(Option<Uuid>, i64)> = OutcomeColumns::of(decisions)?
        .bind(query)
        .fetch_all(executor)
        .await
        .map_err(CommitError::from_sqlx)?;
    let positions: HashMap<Uuid, i64> = positions
        .into_iter()
        .map(|(id, position)| id.map(|id| (id, position)).ok_or(CommitError::Conflict))
        .collect::<Result<_, _>>()?;
    for envelope in envelopes.iter_mut().flatten() {
        envelope.global_position = *positions
            .get(&envelope.event_id)
            .ok_or_else(|| corrupt(format!("event {} got no position", envelope.event_id)))?;
    }
    Ok(decisions
        .iter()
        .zip(envelopes)
        .map(|(decision, envelopes)| decision.status_message(envelopes))
        .collect())
}

/// Each account the group rests on, at the version its first decision was
/// taken on; the later decisions on it must follow on from the earlier
/// ones, or the group is not one history and cannot be stored.
fn bases(decisions: &[Decision]) -> Result<(Vec<&str>, Vec<i64>), CommitError> {
    let mut next: HashMap<&AccountId, i64> = HashMap::new();
    let (mut accounts, mut bases) = (Vec::new(), Vec::new());
    for decision in decisions.iter().filter(|d| d.rests_on_account()) {
        let after = decision.expected_version + decision.event_count() as i64;
        match next.insert(&decision.account_id, after) {
            None => {
                accounts.push(decision.account_id.as_str());
                bases.push(decision.expected_version);
            }
            Some(expected) if expected == decision.expected_version => {}
            Some(_) => return Err(CommitError::Conflict),
        }
    }
    Ok((accounts, bases))
}
