//! The read model's own bookkeeping, in its schema: the last version
//! applied of each account and the projection's checkpoint.

use std::collections::HashMap;

use serde::Serialize;
use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;

/// Per-account last applied version (the duplicate and gap detector), and
/// the projection's position in the global log. Created in the schema of
/// the service that owns the read model.
pub async fn ensure_checkpoint_tables(pool: &PgPool) -> Result<(), sqlx::Error> {
    sqlx::raw_sql(
        "CREATE TABLE IF NOT EXISTS projected_versions (
             aggregate_id TEXT PRIMARY KEY,
             version      BIGINT NOT NULL
         );
         CREATE TABLE IF NOT EXISTS projection_checkpoint (
             name          TEXT PRIMARY KEY,
             last_position BIGINT NOT NULL,
             events        BIGINT NOT NULL,
             updated_at    TIMESTAMPTZ NOT NULL
         );",
    )
    .execute(pool)
    .await
    .map(|_| ())
}

/// The last version applied of each account (absent: none yet), read in
/// one statement and locked until the transaction ends, so a concurrent
/// writer of the same accounts waits; `aggregate_ids` sorted, so two
/// writers lock in the same order.
pub(crate) async fn seen_versions(
    tx: &mut PgConnection,
    aggregate_ids: &[String],
) -> Result<HashMap<String, i64>, sqlx::Error> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        // One index probe per id, locked in the ids' (sorted) order; the
        // `LIMIT` keeps the planner from a join that could scan the table.
        "SELECT p.aggregate_id, p.version FROM unnest($1::text[]) AS t(id)
         CROSS JOIN LATERAL (SELECT aggregate_id, version FROM projected_versions
                             WHERE aggregate_id = t.id LIMIT 1 FOR UPDATE) AS p",
    )
    .bind(aggregate_ids)
    .fetch_all(&mut *tx)
    .await?;
    Ok(rows.into_iter().collect())
}

/// Records that each account's event `version` is applied, in one statement.
pub(crate) async fn advance_versions(
    tx: &mut PgConnection,
    versions: &[(String, i64)],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO projected_versions (aggregate_id, version)
         SELECT * FROM unnest($1::text[], $2::bigint[])
         ON CONFLICT (aggregate_id) DO UPDATE SET version = EXCLUDED.version",
    )
    .bind(
        versions
            .iter()
            .map(|(id, _)| id.clone())
            .collect::<Vec<_>>(),
    )
    .bind(versions.iter().map(|(_, v)| *v).collect::<Vec<_>>())
    .execute(&mut *tx)
    .await
    .map(|_| ())
}

/// Moves the projection's checkpoint past `events` applied events, the
/// furthest at `position` — once per transaction, however many it holds.
pub(crate) async fn advance_checkpoint(
    tx: &mut PgConnection,
    name: &str,
    events: i64,
    position: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO projection_checkpoint (name, last_position, events, updated_at) VALUES ($1, $2, $3, now())
         ON CONFLICT (name) DO UPDATE SET last_position = GREATEST(projection_checkpoint.last_position, EXCLUDED.last_position),
             events = projection_checkpoint.events + EXCLUDED.events, updated_at = now()",
    )
    .bind(name)
    .bind(position)
    .bind(events)
    .execute(&mut *tx)
    .await
    .map(|_| ())
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProjectionStatus {
    pub name: String,
    pub last_position: i64,
    pub events: i64,
    #[serde(with = "time::serde::rfc3339::option")]
    pub updated_at: Option<OffsetDateTime>,
}

/// Store head − checkpoint, never negative (the head may have been read
/// before the checkpoint moved on).
pub fn lag(head: i64, checkpoint: i64) -> i64 {
    head.saturating_sub(checkpoint).max(0)
}

pub async fn projection_status(pool: &PgPool, name: &str) -> Result<ProjectionStatus, sqlx::Error> {
    let row: Option<(i64, i64, OffsetDateTime)> = sqlx::query_as(
        "SELECT last_position, events, updated_at FROM projection_checkpoint WHERE name = $1",
    )
    .bind(name)
    .fetch_optional(pool)
    .await?;
    let (last_position, events, updated_at) = match row {
        Some((p, e, u)) => (p, e, Some(u)),
        None => (0, 0, None),
    };
    Ok(ProjectionStatus {
        name: name.to_owned(),
        last_position,
        events,
        updated_at,
    })
}
