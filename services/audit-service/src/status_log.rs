use std::time::Duration;

use async_nats::jetstream::AckKind;
use futures::StreamExt;
use ledgerline_bus::Bus;
use ledgerline_contracts::StatusMessage;
use ledgerline_projection::{ReadModelDb, write_gated};
use ledgerline_runtime::Shutdown;

/// Records every command outcome; `UNIQUE (kind, ref_id)` makes a
/// redelivered status a no-op.
pub async fn follow_status(bus: Bus, db: ReadModelDb, shutdown: Shutdown) {
    let stream = bus.subjects.status_stream();
    while !shutdown.is_cancelled() {
        let consumer = match bus
            .durable_consumer(
                &stream,
                "audit-service-status",
                bus.subjects.all_status(),
                Duration::from_secs(10),
            )
            .await
        {
            Ok(c) => c,
            Err(error) => {
                tracing::warn!(%error, "cannot bind audit status consumer; retrying");
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
                    tracing::warn!(%error, "audit status stream error");
                    continue;
                }
                None => break,
            };
            let Ok(status) = serde_json::from_slice::<StatusMessage>(&delivery.payload) else {
                tracing::warn!(subject = %delivery.subject, "undecodable status message terminated");
                let _ = delivery.ack_with(AckKind::Term).await;
                continue;
            };
            match record(&db, &status).await {
                Ok(()) => {
                    let _ = delivery.ack().await;
                }
                Err(error) => {
                    tracing::warn!(%error, "cannot record status; will retry");
                    let _ = delivery
                        .ack_with(AckKind::Nak(Some(Duration::from_secs(1))))
                        .await;
                }
            }
        }
    }
}

/// One outcome per transaction, under the read model's switch gate, so a
/// rebuild's switch pauses this writer too.
async fn record(db: &ReadModelDb, status: &StatusMessage) -> Result<(), sqlx::Error> {
    let p = &status.payload;
    let summary = match &p.error {
        Some(e) => format!("{:?}: {}", p.status, e.code),
        None => format!("{:?}", p.status),
    };
    let payload = serde_json::to_value(p).map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
    let mut tx = write_gated(db).await?;
    sqlx::query(
        "INSERT INTO entries (kind, ref_id, user_id, account_id, summary, payload)
         VALUES ('status', $1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
    )
    .bind(p.command_id)
    .bind(status.user_id.as_str())
    .bind(&p.entity_id)
    .bind(summary)
    .bind(payload)
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}
