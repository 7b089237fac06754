use ledgerline_contracts::EventEnvelope;
use ledgerline_projection::Projector;
use sqlx::{AssertSqlSafe, PgConnection};

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

    /// The whole batch in one statement, in order.
    async fn apply_all(
        &self,
        tx: &mut PgConnection,
        events: &[EventEnvelope],
    ) -> Result<(), sqlx::Error> {
        let payloads = events
            .iter()
            .map(serde_json::to_value)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|err| sqlx::Error::Protocol(err.to_string()))?;
        sqlx::query(
            "INSERT INTO entries (kind, ref_id, user_id, account_id, summary, payload)
             SELECT 'event', ref_id, user_id, account_id, summary, payload
             FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::jsonb[])
                  WITH ORDINALITY AS t(ref_id, user_id, account_id, summary, payload, n)
             ORDER BY n
             ON CONFLICT DO NOTHING",
        )
        .bind(events.iter().map(|e| e.event_id).collect::<Vec<_>>())
        .bind(
            events
                .iter()
                .map(|e| e.metadata.user_id.as_str().to_owned())
                .collect::<Vec<_>>(),
        )
        .bind(
            events
                .iter()
                .map(|e| e.aggregate_id.as_str().to_owned())
                .collect::<Vec<_>>(),
        )
        .bind(
            events
                .iter()
                .map(|e| format!("{} v{}", e.event.event_type(), e.version))
                .collect::<Vec<_>>(),
        )
        .bind(payloads)
        .execute(tx)
        .await
        .map(|_| ())
    }

    /// Command outcomes are not in the event store: a rebuilt log takes
    /// them from the live one (with their original time), as they are.
    async fn carry_over(
        &self,
        tx: &mut PgConnection,
        live: &str,
        shadow: &str,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO {shadow}.entries (kind, ref_id, user_id, account_id, summary, payload, recorded_at)
             SELECT kind, ref_id, user_id, account_id, summary, payload, recorded_at
             FROM {live}.entries WHERE kind = 'status' ORDER BY id
             ON CONFLICT (kind, ref_id) DO NOTHING"
        )))
        .execute(tx)
        .await
        .map(|_| ())
    }
}
