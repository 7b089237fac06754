use std::time::Duration;

use async_nats::jetstream::AckKind;
use futures::StreamExt;
use ledgerline_bus::Bus;
use ledgerline_contracts::{StatusKind, StatusMessage};
use ledgerline_runtime::Shutdown;
use sqlx::PgPool;

/// The durable consumer of command outcomes.
pub const DURABLE: &str = "command-api-outcomes";

/// Learns outcomes from `bank.status.>` for `GET /commands/{id}`. The first
/// outcome recorded wins, so a redelivered status changes nothing.
pub async fn follow_outcomes(bus: Bus, pool: PgPool, shutdown: Shutdown) {
    let stream = bus.subjects.status_stream();
    while !shutdown.is_cancelled() {
        let consumer = match bus
            .durable_consumer(
                &stream,
                DURABLE,
                bus.subjects.all_status(),
                Duration::from_secs(10),
            )
            .await
        {
            Ok(c) => c,
            Err(error) => {
                tracing::warn!(%error, "cannot bind outcome consumer; retrying");
                tokio::select! { () = shutdown.cancelled() => return, () = tokio::time::sleep(Duration::from_secs(1)) => continue }
            }
        };
        let Ok(mut messages) = consumer.messages().await else {
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        };
        loop {
            let next =
                tokio::select! { () = shutdown.cancelled() => return, n = messages.next() => n };
            let delivery = match next {
                Some(Ok(d)) => d,
                Some(Err(error)) => {
                    tracing::warn!(%error, "outcome stream error");
                    continue;
                }
                None => break,
            };
            let Ok(status) = serde_json::from_slice::<StatusMessage>(&delivery.payload) else {
                tracing::warn!(subject = %delivery.subject, "undecodable status message terminated");
                let _ = delivery.ack_with(AckKind::Term).await;
                continue;
            };
            match record(&pool, &status).await {
                Ok(()) => {
                    let _ = delivery.ack().await;
                }
                Err(error) => {
                    tracing::warn!(%error, "cannot record outcome; will retry");
                    let _ = delivery
                        .ack_with(AckKind::Nak(Some(Duration::from_secs(1))))
                        .await;
                }
            }
        }
    }
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
