use ledgerline_contracts::EventEnvelope;
use ledgerline_projection::{Projector, record_account_owners};
use sqlx::{AssertSqlSafe, PgConnection};

#[derive(Clone)]
pub struct AuditEvents;

impl Projector for AuditEvents {
    const NAME: &'static str = "AuditLog";
    const DURABLE: &'static str = "audit-service";

    /// The batch's new accounts' owners, then its entries, one statement
    /// each, in order. Each entry is filed under its account's owner, not
    /// under the user whose command caused it: a transfer's credit is the
    /// receiver's to read, though the sender's command made it.
    async fn apply(
        &self,
        tx: &mut PgConnection,
        events: &[EventEnvelope],
    ) -> Result<(), sqlx::Error> {
        record_account_owners(&mut *tx, events).await?;
        let payloads = events
            .iter()
            .map(serde_json::to_value)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|err| sqlx::Error::Protocol(err.to_string()))?;
        // An account whose owner is unknown (never, as events come in
        // order) gets a NULL owner: visible to operators only.
        sqlx::query(
            "INSERT INTO entries (kind, ref_id, user_id, account_id, owner_id, summary, payload)
             SELECT 'event', t.ref_id, t.user_id, t.account_id, o.owner_id, t.summary, t.payload
             FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::jsonb[])
                  WITH ORDINALITY AS t(ref_id, user_id, account_id, summary, payload, n)
             LEFT JOIN account_owners o ON o.account_id = t.account_id
             ORDER BY t.n
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
