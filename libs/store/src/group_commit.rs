//! Group commit: many decisions, on many accounts, in one PostgreSQL
//! transaction — one fsync instead of one per command. Each table gets one
//! `INSERT … SELECT FROM unnest(…)` of all its rows, so the round trips do
//! not grow with the batch either.

use std::collections::HashMap;

use ledgerline_contracts::{EventEnvelope, StatusMessage};
use ledgerline_domain::AccountId;
use sqlx::PgPool;
use uuid::Uuid;

use crate::rows::event_data;
use crate::{CommitError, Decision, StoreError};

fn corrupt(e: impl std::fmt::Display) -> CommitError {
    CommitError::Store(StoreError::Corrupt(e.to_string()))
}

/// Appends every decision's events at its expected version and records
/// every outcome (and due snapshot), atomically: all of them or none. A
/// version race on any account fails the whole group with
/// [`CommitError::Conflict`], a known command id with
/// [`CommitError::AlreadyDecided`]; the caller decides again one by one.
pub(crate) async fn commit_all(
    pool: &PgPool,
    decisions: Vec<Decision>,
) -> Result<Vec<StatusMessage>, CommitError> {
    if decisions.is_empty() {
        return Ok(Vec::new());
    }
    let mut envelopes: Vec<Vec<EventEnvelope>> =
        decisions.iter().map(Decision::new_envelopes).collect();
    let mut tx = pool.begin().await.map_err(StoreError::from)?;

    let all = || envelopes.iter().flatten();
    if all().next().is_some() {
        let metadata = all()
            .map(|e| serde_json::to_value(&e.metadata))
            .collect::<Result<Vec<_>, _>>()
            .map_err(corrupt)?;
        let data = all()
            .map(|e| event_data(&e.event))
            .collect::<Result<Vec<_>, _>>()?;
        // `WITH ORDINALITY … ORDER BY`: positions are drawn in batch order,
        // so an account's events keep their version order in the global log.
        let positions: Vec<(Uuid, i64)> = sqlx::query_as(
            "INSERT INTO events (event_id, aggregate_type, aggregate_id, version, event_type, schema_version, data, metadata)
             SELECT event_id, aggregate_type, aggregate_id, version, event_type, schema_version, data, metadata
             FROM unnest($1::uuid[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::int[], $7::jsonb[], $8::jsonb[])
                  WITH ORDINALITY AS t(event_id, aggregate_type, aggregate_id, version, event_type, schema_version, data, metadata, n)
             ORDER BY n
             RETURNING event_id, global_position",
        )
        .bind(all().map(|e| e.event_id).collect::<Vec<_>>())
        .bind(all().map(|e| e.aggregate_type.clone()).collect::<Vec<_>>())
        .bind(all().map(|e| e.aggregate_id.as_str().to_owned()).collect::<Vec<_>>())
        .bind(all().map(|e| e.version).collect::<Vec<_>>())
        .bind(all().map(|e| e.event.event_type().to_owned()).collect::<Vec<_>>())
        .bind(
            all()
                .map(|e| i32::try_from(e.schema_version).unwrap_or(i32::MAX))
                .collect::<Vec<_>>(),
        )
        .bind(data)
        .bind(metadata)
        .fetch_all(&mut *tx)
        .await
        .map_err(CommitError::from_sqlx)?;
        let positions: HashMap<Uuid, i64> = positions.into_iter().collect();
        for envelope in envelopes.iter_mut().flatten() {
            envelope.global_position = *positions
                .get(&envelope.event_id)
                .ok_or_else(|| corrupt(format!("event {} got no position", envelope.event_id)))?;
        }
    }

    let snapshots: Vec<_> = decisions
        .iter()
        .filter_map(|d| d.snapshot.as_ref())
        .collect();
    if !snapshots.is_empty() {
        let states = snapshots
            .iter()
            .map(serde_json::to_value)
            .collect::<Result<Vec<_>, _>>()
            .map_err(corrupt)?;
        sqlx::query(
            "INSERT INTO snapshots (aggregate_id, version, state)
             SELECT * FROM unnest($1::text[], $2::bigint[], $3::jsonb[]) ON CONFLICT DO NOTHING",
        )
        .bind(
            snapshots
                .iter()
                .map(|s| s.id.as_str().to_owned())
                .collect::<Vec<_>>(),
        )
        .bind(snapshots.iter().map(|s| s.version).collect::<Vec<_>>())
        .bind(states)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from)?;
    }

    let messages: Vec<StatusMessage> = decisions
        .iter()
        .zip(envelopes)
        .map(|(decision, envelopes)| decision.status_message(envelopes))
        .collect();
    crate::outcomes::record(&mut tx, &decisions, &messages).await?;
    tx.commit().await.map_err(CommitError::from_sqlx)?;
    Ok(messages)
}

/// The current version of each of `ids` that has events.
pub(crate) async fn versions(
    pool: &PgPool,
    ids: &[AccountId],
) -> Result<HashMap<AccountId, i64>, StoreError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    // One index probe per account (the last entry of `(aggregate_id,
    // version)`), whatever the accounts' lengths: `max … GROUP BY` over
    // `= ANY` reads every event of every account, or the whole table.
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT id, v FROM unnest($1::text[]) AS t(id)
         CROSS JOIN LATERAL (SELECT version FROM events WHERE aggregate_id = t.id
                             ORDER BY version DESC LIMIT 1) AS last(v)",
    )
    .bind(
        ids.iter()
            .map(|id| id.as_str().to_owned())
            .collect::<Vec<_>>(),
    )
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|(id, version)| {
            AccountId::parse(id)
                .map(|id| (id, version))
                .map_err(|e| StoreError::Corrupt(e.to_string()))
        })
        .collect()
}
