use ledgerline_bus::Bus;
use ledgerline_contracts::{StatusKind, StatusMessage};
use ledgerline_runtime::Shutdown;
use sqlx::PgPool;

/// The durable consumer of command outcomes.
pub const DURABLE: &str = "command-api-outcomes";

/// Learns outcomes from `bank.status.>` for `GET /commands/{id}`. The first
/// outcome recorded wins, so a redelivered status changes nothing.
pub async fn follow_outcomes(bus: Bus, pool: PgPool, shutdown: Shutdown) {
    bus.follow_status(DURABLE, shutdown, |status| {
        let pool = pool.clone();
        async move { record(&pool, &status).await }
    })
    .await;
}

async fn record(pool: &PgPool, status: &StatusMessage) -> Result<(), sqlx::Error> {
    let payload = &status.payload;
    let name = match payload.status {
        StatusKind::Succeeded => "succeeded",
        StatusKind::Rejected => "rejected",
        StatusKind::Failed => "failed",
    };
    let outcome =
        serde_json::to_value(payload).map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
    sqlx::query(
        "INSERT INTO commands (command_id, user_id, kind, request, status, outcome, decided_at)
         VALUES ($1, $2, 'unknown', 'null'::jsonb, $3, $4, now())
         ON CONFLICT (command_id) DO UPDATE SET status = EXCLUDED.status, outcome = EXCLUDED.outcome, decided_at = now()
         WHERE commands.status = 'accepted'",
    )
    .bind(payload.command_id)
    .bind(status.user_id.as_str())
    .bind(name)
    .bind(outcome)
    .execute(pool)
    .await
    .map(|_| ())
}
