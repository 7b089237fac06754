use std::collections::HashSet;

use ledgerline_bus::Bus;
use ledgerline_contracts::{StatusKind, StatusMessage};
use ledgerline_runtime::Shutdown;
use sqlx::PgPool;

/// The durable consumer of command outcomes.
pub const DURABLE: &str = "command-api-outcomes";

/// Learns outcomes from `bank.status.>` for `GET /commands/{id}`. The first
/// outcome recorded wins, so a redelivered status changes nothing.
pub async fn follow_outcomes(bus: Bus, pool: PgPool, shutdown: Shutdown) {
    bus.follow_status(DURABLE, shutdown, |statuses| {
        let pool = pool.clone();
        async move { record(&pool, &statuses).await }
    })
    .await;
}

fn status_name(kind: StatusKind) -> &'static str {
    match kind {
        StatusKind::Succeeded => "succeeded",
        StatusKind::Rejected => "rejected",
        StatusKind::Failed => "failed",
    }
}

/// Every outcome of the group in one statement. An outcome can arrive
/// before its command's row (a publish that timed out was stored after
/// all): a placeholder row keeps it for the command to find.
async fn record(pool: &PgPool, statuses: &[StatusMessage]) -> Result<(), sqlx::Error> {
    // One row per command: a statement may not update a row twice.
    let mut seen = HashSet::new();
    let statuses: Vec<&StatusMessage> = statuses.iter().filter(|s| seen.insert(s.key())).collect();
    let outcomes = statuses
        .iter()
        .map(|s| serde_json::to_value(&s.payload))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
    sqlx::query(
        "INSERT INTO commands (command_key, command_id, user_id, kind, request, status, outcome, decided_at)
         SELECT key, id, user_id, 'unknown', 'null'::jsonb, status, outcome, now()
         FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::jsonb[])
              AS t(key, id, user_id, status, outcome)
         ORDER BY key
         ON CONFLICT (command_key) DO UPDATE SET status = EXCLUDED.status, outcome = EXCLUDED.outcome, decided_at = now()
         WHERE commands.status = 'accepted'",
    )
    .bind(statuses.iter().map(|s| s.key().as_uuid()).collect::<Vec<_>>())
    .bind(statuses.iter().map(|s| s.payload.command_id).collect::<Vec<_>>())
    .bind(statuses.iter().map(|s| s.user_id.as_str().to_owned()).collect::<Vec<_>>())
    .bind(statuses.iter().map(|s| status_name(s.payload.status).to_owned()).collect::<Vec<_>>())
    .bind(outcomes)
    .execute(pool)
    .await
    .map(|_| ())
}
