use ledgerline_contracts::EventEnvelope;
use ledgerline_domain::AccountEvent;
use ledgerline_projection::Projector;
use sqlx::PgConnection;

#[derive(Clone)]
pub struct Balances;

impl Projector for Balances {
    const NAME: &'static str = "AccountBalances";
    const DURABLE: &'static str = "balance-service";

    async fn apply(&self, tx: &mut PgConnection, e: &EventEnvelope) -> Result<(), sqlx::Error> {
        let id = e.aggregate_id.as_str();
        let query = match &e.event {
            AccountEvent::AccountOpened { owner_id, currency, initial_balance } => sqlx::query(
                "INSERT INTO accounts (account_id, owner_id, currency, balance, status, version, updated_at)
                 VALUES ($1, $2, $3, $4, 'open', $5, $6)",
            )
            .bind(id)
            .bind(owner_id.as_str())
            .bind(currency.as_str())
            .bind(initial_balance.minor()),
            AccountEvent::MoneyDeposited { balance_after, .. } | AccountEvent::MoneyWithdrawn { balance_after, .. } => {
                sqlx::query("UPDATE accounts SET balance = $2, version = $3, updated_at = $4 WHERE account_id = $1")
                    .bind(id)
                    .bind(balance_after.minor())
            }
            AccountEvent::AccountClosed {} => {
                sqlx::query("UPDATE accounts SET status = 'closed', balance = 0, version = $2, updated_at = $3 WHERE account_id = $1")
                    .bind(id)
            }
        };
        query
            .bind(e.version)
            .bind(e.metadata.timestamp)
            .execute(tx)
            .await
            .map(|_| ())
    }
}
