use ledgerline_bus::Bus;
use ledgerline_contracts::StatusMessage;
use ledgerline_projection::{ReadModelDb, write_gated};
use ledgerline_runtime::Shutdown;

/// Records every command outcome; `UNIQUE (kind, ref_id)` makes a
/// redelivered status a no-op.
pub async fn follow_status(bus: Bus, db: ReadModelDb, shutdown: Shutdown) {
    bus.follow_status("audit-service-status", shutdown, |status| {
        let db = db.clone();
        async move { record(&db, &status).await }
    })
    .await;
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
