use ledgerline_contracts::EventEnvelope;
use ledgerline_domain::AccountEvent;
use ledgerline_projection::{Projector, record_account_owners};
use sqlx::PgConnection;

#[derive(Clone)]
pub struct History;

impl Projector for History {
    const NAME: &'static str = "TransactionHistory";
    const DURABLE: &'static str = "history-service";

    /// The batch's owners, then its rows, one statement each, in order.
    async fn apply(
        &self,
        tx: &mut PgConnection,
        events: &[EventEnvelope],
    ) -> Result<(), sqlx::Error> {
        record_account_owners(&mut *tx, events).await?;
        let figures: Vec<(Option<i64>, Option<i64>)> =
            events.iter().map(|e| figures(&e.event)).collect();
        // The owner by one index probe per row (`LIMIT` keeps it a probe).
        sqlx::query(
            "INSERT INTO transactions (event_id, account_id, owner_id, version, event_type, amount, balance_after,
                                       command_id, occurred_at, global_position)
             SELECT t.event_id, t.account_id, o.owner_id, t.version, t.event_type, t.amount, t.balance_after,
                    t.command_id, t.occurred_at, t.global_position
             FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::text[], $5::bigint[], $6::bigint[],
                         $7::uuid[], $8::timestamptz[], $9::bigint[])
                  WITH ORDINALITY AS t(event_id, account_id, version, event_type, amount, balance_after,
                                       command_id, occurred_at, global_position, n)
             CROSS JOIN LATERAL (SELECT owner_id FROM account_owners WHERE account_id = t.account_id LIMIT 1) AS o
             ORDER BY t.n",
        )
        .bind(events.iter().map(|e| e.event_id).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.aggregate_id.as_str().to_owned()).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.version).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.event.event_type().to_owned()).collect::<Vec<_>>())
        .bind(figures.iter().map(|(amount, _)| *amount).collect::<Vec<_>>())
        .bind(figures.iter().map(|(_, balance)| *balance).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.metadata.command_id).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.metadata.timestamp).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.global_position).collect::<Vec<_>>())
        .execute(tx)
        .await
        .map(|_| ())
    }
}

/// The amount an event moves and the balance after it, where it has them.
fn figures(event: &AccountEvent) -> (Option<i64>, Option<i64>) {
    match event {
        AccountEvent::AccountOpened {
            initial_balance, ..
        } => (None, Some(initial_balance.minor())),
        AccountEvent::MoneyDeposited {
            amount,
            balance_after,
            ..
        }
        | AccountEvent::MoneyWithdrawn {
            amount,
            balance_after,
        }
        | AccountEvent::TransferDebited {
            amount,
            balance_after,
            ..
        }
        | AccountEvent::TransferCredited {
            amount,
            balance_after,
            ..
        }
        | AccountEvent::TransferRefunded {
            amount,
            balance_after,
            ..
        } => (Some(amount.minor()), Some(balance_after.minor())),
        AccountEvent::TransferCompleted { amount, .. } => (Some(amount.minor()), None),
        AccountEvent::AccountClosed {} => (None, None),
    }
}
