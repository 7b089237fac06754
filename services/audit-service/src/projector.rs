use ledgerline_contracts::EventEnvelope;
use ledgerline_projection::Projector;
use sqlx::PgConnection;

#[derive(Clone)]
pub struct AuditEvents;

impl Projector for AuditEvents {
    const NAME: &'static str = "AuditLog";
    const DURABLE: &'static str = "audit-service";

    async fn apply(&self, tx: &mut PgConnection, e: &EventEnvelope) -> Result<(), sqlx::Error> {
        let payload =
            serde_json::to_value(e).map_err(|err| sqlx::Error::Protocol(err.to_string()))?;
        sqlx::query(
            "INSERT INTO entries (kind, ref_id, user_id, account_id, summary, payload)
             VALUES ('event', $1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        )
        .bind(e.event_id)
        .bind(e.metadata.user_id.as_str())
        .bind(e.aggregate_id.as_str())
        .bind(format!("{} v{}", e.event.event_type(), e.version))
        .bind(payload)
        .execute(tx)
        .await
        .map(|_| ())
    }
}
