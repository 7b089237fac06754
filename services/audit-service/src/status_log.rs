use ledgerline_bus::Bus;
use ledgerline_contracts::StatusMessage;
use ledgerline_projection::{ReadModelDb, write_gated};
use ledgerline_runtime::Shutdown;

/// The durable consumer on `bank.status.>`.
pub const DURABLE: &str = "audit-service-status";

/// Records every command outcome under its command's key; `UNIQUE (kind,
/// ref_id)` makes a redelivered status a no-op.
pub async fn follow_status(bus: Bus, db: ReadModelDb, shutdown: Shutdown) {
    bus.follow_status(DURABLE, shutdown, |statuses| {
        let db = db.clone();
        async move { record(&db, &statuses).await }
    })
    .await;
}

/// A group of outcomes in one transaction, under the read model's switch
/// gate, so a rebuild's switch pauses this writer too.
async fn record(db: &ReadModelDb, statuses: &[StatusMessage]) -> Result<(), sqlx::Error> {
    let summaries = statuses.iter().map(|s| {
        let p = &s.payload;
        match &p.error {
            Some(e) => format!("{:?}: {}", p.status, e.code),
            None => format!("{:?}", p.status),
        }
    });
    let payloads = statuses
        .iter()
        .map(|s| serde_json::to_value(&s.payload))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
    let mut tx = write_gated(db).await?;
    sqlx::query(
        "INSERT INTO entries (kind, ref_id, user_id, account_id, summary, payload)
         SELECT 'status', ref_id, user_id, account_id, summary, payload
         FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::jsonb[])
              WITH ORDINALITY AS t(ref_id, user_id, account_id, summary, payload, n)
         ORDER BY n
         ON CONFLICT DO NOTHING",
    )
    // Keyed like the command itself: two users' commands of the same id
    // are two entries.
    .bind(
        statuses
            .iter()
            .map(|s| s.key().as_uuid())
            .collect::<Vec<_>>(),
    )
    .bind(
        statuses
            .iter()
            .map(|s| s.user_id.as_str().to_owned())
            .collect::<Vec<_>>(),
    )
    .bind(
        statuses
            .iter()
            .map(|s| s.payload.entity_id.clone())
            .collect::<Vec<_>>(),
    )
    .bind(summaries.collect::<Vec<_>>())
    .bind(payloads)
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}
