use ledgerline_contracts::EventEnvelope;
use ledgerline_domain::AccountEvent;
use ledgerline_projection::Projector;
use sqlx::PgConnection;

#[derive(Clone)]
pub struct History;

impl Projector for History {
    const NAME: &'static str = "TransactionHistory";
    const DURABLE: &'static str = "history-service";

    async fn apply(&self, tx: &mut PgConnection, e: &EventEnvelope) -> Result<(), sqlx::Error> {
        let id = e.aggregate_id.as_str();
        if let AccountEvent::AccountOpened { owner_id, .. } = &e.event {
            sqlx::query("INSERT INTO account_owners (account_id, owner_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(id)
                .bind(owner_id.as_str())
                .execute(&mut *tx)
                .await?;
        }
        let (amount, balance_after) = figures(&e.event);
        sqlx::query(
            "INSERT INTO transactions (event_id, account_id, owner_id, version, event_type, amount, balance_after,
                                       command_id, occurred_at, global_position)
             SELECT $1, $2, owner_id, $3, $4, $5, $6, $7, $8, $9 FROM account_owners WHERE account_id = $2",
        )
        .bind(e.event_id)
        .bind(id)
        .bind(e.version)
        .bind(e.event.event_type())
        .bind(amount)
        .bind(balance_after)
        .bind(e.metadata.command_id)
        .bind(e.metadata.timestamp)
        .bind(e.global_position)
        .execute(tx)
        .await
        .map(|_| ())
    }

    /// The batch's owners, then its rows, one statement each, in order.
    async fn apply_all(
        &self,
        tx: &mut PgConnection,
        events: &[EventEnvelope],
    ) -> Result<(), sqlx::Error> {
        let opened: Vec<(String, String)> = events
            .iter()
            .filter_map(|e| match &e.event {
                AccountEvent::AccountOpened { owner_id, .. } => Some((
                    e.aggregate_id.as_str().to_owned(),
                    owner_id.as_str().to_owned(),
                )),
                _ => None,
            })
            .collect();
        if !opened.is_empty() {
            sqlx::query(
                "INSERT INTO account_owners (account_id, owner_id)
                 SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT DO NOTHING",
            )
            .bind(opened.iter().map(|(a, _)| a.clone()).collect::<Vec<_>>())
            .bind(opened.iter().map(|(_, o)| o.clone()).collect::<Vec<_>>())
            .execute(&mut *tx)
            .await?;
        }
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
