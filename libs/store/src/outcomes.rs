//! A command's outcome as the event store keeps it: once, as the store's
//! own record — which command, its status and error, and which of its
//! account's versions its events are — not as a copy of the browser's
//! frame. The events themselves are stored once, in `events`; the status
//! message a caller gets is built from the record and those events when it
//! is read.

use std::collections::{HashMap, HashSet};

use ledgerline_contracts::{
    CommandKey, EventEnvelope, StatusEnvelope, StatusError, StatusKind, StatusMessage,
};
use ledgerline_domain::UserId;
use serde_json::Value;
use sqlx::postgres::PgArguments;
use sqlx::query::QueryAs;
use sqlx::{PgPool, Postgres};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::rows::{EVENT_COLUMNS, EventRow};
use crate::stats::kind_name;
use crate::{CommitError, Decision, StoreError};

/// The outcome rows of a group of decisions, a column each, bound in the
/// order of `command_outcomes (command_key, command_id, user_id,
/// aggregate_id, status, error, first_version, last_version, decided_at)`;
/// the versions of a decision's events are `expected_version + 1 ..=
/// + count`.
pub(crate) struct OutcomeColumns<'d> {
    keys: Vec<Uuid>,
    command_ids: Vec<Uuid>,
    users: Vec<&'d str>,
    accounts: Vec<&'d str>,
    statuses: Vec<&'static str>,
    errors: Vec<Option<Value>>,
    first_versions: Vec<Option<i64>>,
    last_versions: Vec<Option<i64>>,
    decided_at: Vec<OffsetDateTime>,
}

impl<'d> OutcomeColumns<'d> {
    pub(crate) fn of(decisions: &'d [Decision]) -> Result<Self, CommitError> {
        let versions = |d: &Decision, pick: fn(i64, i64) -> i64| {
            let count = d.event_count() as i64;
            (count > 0).then(|| pick(d.expected_version + 1, d.expected_version + count))
        };
        let errors = decisions
            .iter()
            .map(|d| match &d.outcome {
                Ok(_) => Ok(None),
                Err((_, error)) => serde_json::to_value(error).map(Some),
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| CommitError::Store(StoreError::Corrupt(e.to_string())))?;
        Ok(Self {
            keys: decisions.iter().map(|d| d.key.as_uuid()).collect(),
            command_ids: decisions.iter().map(|d| d.command_id).collect(),
            users: decisions.iter().map(|d| d.user_id.as_str()).collect(),
            accounts: decisions.iter().map(|d| d.account_id.as_str()).collect(),
            statuses: decisions
                .iter()
                .map(|d| kind_name(d.status_kind()))
                .collect(),
            errors,
            first_versions: decisions
                .iter()
                .map(|d| versions(d, |first, _| first))
                .collect(),
            last_versions: decisions
                .iter()
                .map(|d| versions(d, |_, last| last))
                .collect(),
            decided_at: decisions.iter().map(|d| d.decided_at).collect(),
        })
    }

    /// Binds the nine columns, in order, as the next parameters.
    pub(crate) fn bind<'q, O>(
        self,
        query: QueryAs<'q, Postgres, O, PgArguments>,
    ) -> QueryAs<'q, Postgres, O, PgArguments>
    where
        'd: 'q,
    {
        query
            .bind(self.keys)
            .bind(self.command_ids)
            .bind(self.users)
            .bind(self.accounts)
            .bind(self.statuses)
            .bind(self.errors)
            .bind(self.first_versions)
            .bind(self.last_versions)
            .bind(self.decided_at)
    }
}

#[derive(sqlx::FromRow)]
struct OutcomeRow {
    command_key: Uuid,
    command_id: Uuid,
    user_id: String,
    aggregate_id: String,
    status: String,
    error: Option<Value>,
    first_version: Option<i64>,
    last_version: Option<i64>,
    decided_at: OffsetDateTime,
}

/// The stored outcomes of those of `keys` that were decided, each with its
/// events read back from `events`.
pub(crate) async fn read(
    pool: &PgPool,
    keys: &[CommandKey],
) -> Result<HashMap<CommandKey, StatusMessage>, StoreError> {
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    // One primary-key probe per key (the `LIMIT` keeps the planner from
    // turning it into a join): `= ANY($1)` under a generic plan was seen
    // scanning the whole table under load.
    let rows: Vec<OutcomeRow> = sqlx::query_as(
        "SELECT o.* FROM unnest($1::uuid[]) AS t(id)
         CROSS JOIN LATERAL (SELECT command_key, command_id, user_id, aggregate_id, status, error,
                                    first_version, last_version, decided_at
                             FROM command_outcomes WHERE command_key = t.id LIMIT 1) AS o",
    )
    .bind(keys.iter().map(|k| k.as_uuid()).collect::<Vec<_>>())
    .fetch_all(pool)
    .await?;
    let mut events = events_of(pool, &rows).await?;
    rows.into_iter()
        .map(|row| {
            let key = CommandKey::from_stored(row.command_key);
            let own = events.remove(&row.command_key).unwrap_or_default();
            Ok((key, status_message(row, own)?))
        })
        .collect()
}

/// Records that the users of `keys` were told (see `EventStore::mark_told`):
/// one primary-key probe per key, as in [`read`].
pub(crate) async fn mark_told(pool: &PgPool, keys: &[CommandKey]) -> Result<(), StoreError> {
    if keys.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "UPDATE command_outcomes AS o SET told_at = now()
         FROM unnest($1::uuid[]) AS t(id)
         WHERE o.command_key = t.id AND o.told_at IS NULL",
    )
    .bind(keys.iter().map(|k| k.as_uuid()).collect::<Vec<_>>())
    .execute(pool)
    .await?;
    Ok(())
}

/// Those of `keys` whose outcome is marked told: one primary-key probe per
/// key, reading no events.
pub(crate) async fn marked_told(
    pool: &PgPool,
    keys: &[CommandKey],
) -> Result<HashSet<CommandKey>, StoreError> {
    if keys.is_empty() {
        return Ok(HashSet::new());
    }
    let rows: Vec<(Uuid,)> = sqlx::query_as(
        "SELECT o.command_key FROM unnest($1::uuid[]) AS t(id)
         CROSS JOIN LATERAL (SELECT command_key FROM command_outcomes
                             WHERE command_key = t.id AND told_at IS NOT NULL LIMIT 1) AS o",
    )
    .bind(keys.iter().map(|k| k.as_uuid()).collect::<Vec<_>>())
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(key,)| CommandKey::from_stored(key))
        .collect())
}

/// The events of every outcome that has some, by command key: one index
/// range scan per outcome.
async fn events_of(
    pool: &PgPool,
    rows: &[OutcomeRow],
) -> Result<HashMap<Uuid, Vec<EventEnvelope>>, StoreError> {
    let ranged: Vec<&OutcomeRow> = rows
        .iter()
        .filter(|r| r.first_version.is_some() && r.last_version.is_some())
        .collect();
    if ranged.is_empty() {
        return Ok(HashMap::new());
    }
    let columns = EVENT_COLUMNS
        .split(", ")
        .map(|c| format!("e.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let found: Vec<(Uuid, EventRow)> =
        sqlx::query_as::<_, KeyedEventRow>(sqlx::AssertSqlSafe(format!(
        "SELECT r.key, {columns} FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::bigint[])
                AS r(key, aggregate_id, first_version, last_version)
         CROSS JOIN LATERAL (SELECT {EVENT_COLUMNS} FROM events
                             WHERE aggregate_id = r.aggregate_id
                               AND version BETWEEN r.first_version AND r.last_version
                             ORDER BY version) AS e"
    )))
        .bind(ranged.iter().map(|r| r.command_key).collect::<Vec<_>>())
        .bind(
            ranged
                .iter()
                .map(|r| r.aggregate_id.clone())
                .collect::<Vec<_>>(),
        )
        .bind(ranged.iter().map(|r| r.first_version).collect::<Vec<_>>())
        .bind(ranged.iter().map(|r| r.last_version).collect::<Vec<_>>())
        .fetch_all(pool)
        .await?
        .into_iter()
        .map(|k| (k.key, k.row))
        .collect();
    let mut by_key: HashMap<Uuid, Vec<EventEnvelope>> = HashMap::new();
    for (key, row) in found {
        by_key.entry(key).or_default().push(row.try_into()?);
    }
    Ok(by_key)
}

#[derive(sqlx::FromRow)]
struct KeyedEventRow {
    key: Uuid,
    #[sqlx(flatten)]
    row: EventRow,
}

/// The status message of a stored outcome: what was published when it was
/// decided.
fn status_message(
    row: OutcomeRow,
    events: Vec<EventEnvelope>,
) -> Result<StatusMessage, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("outcome {}: {what}", row.command_key));
    let user_id = UserId::parse(row.user_id.clone()).map_err(|_| corrupt("user"))?;
    let error = || -> Result<StatusError, StoreError> {
        let error = row.error.clone().ok_or_else(|| corrupt("no error"))?;
        serde_json::from_value(error).map_err(|_| corrupt("error"))
    };
    let outcome = match row.status.as_str() {
        "succeeded" => Ok(events),
        "rejected" => Err((StatusKind::Rejected, error()?)),
        "failed" => Err((StatusKind::Failed, error()?)),
        _ => return Err(corrupt("status")),
    };
    let mut payload = StatusEnvelope::new(row.command_id, &row.aggregate_id, outcome);
    payload.timestamp = row.decided_at;
    Ok(StatusMessage { user_id, payload })
}
