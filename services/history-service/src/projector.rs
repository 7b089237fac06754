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
        let (amount, balance_after) = match &e.event {
            AccountEvent::AccountOpened {
                owner_id,
                initial_balance,
                ..
            } => {
                sqlx::query("INSERT INTO account_owners (account_id, owner_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                    .bind(id)
                    .bind(owner_id.as_str())
                    .execute(&mut *tx)
                    .await?;
                (None, Some(initial_balance.minor()))
            }
            AccountEvent::MoneyDeposited {
                amount,
                balance_after,
                ..
            }
            | AccountEvent::MoneyWithdrawn {
                amount,
                balance_after,
            } => (Some(amount.minor()), Some(balance_after.minor())),
            AccountEvent::TransferDebited {
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
        };
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
}
