use ledgerline_contracts::EventEnvelope;
use ledgerline_domain::AccountEvent;
use ledgerline_projection::Projector;
use sqlx::PgConnection;
use time::UtcOffset;

/// Projects `AccountBalances` (one row per account) and, in the same
/// transaction, `DailySummary` (money in and out per owner, day, currency).
#[derive(Clone)]
pub struct Balances;

impl Projector for Balances {
    const NAME: &'static str = "AccountBalances";
    const DURABLE: &'static str = "balance-service";

    /// A batch folded into its final rows: three statements, however many
    /// events (see `set_apply`).
    async fn apply_all(
        &self,
        tx: &mut PgConnection,
        events: &[EventEnvelope],
    ) -> Result<(), sqlx::Error> {
        crate::set_apply::apply_all(tx, events).await
    }

    async fn apply(&self, tx: &mut PgConnection, e: &EventEnvelope) -> Result<(), sqlx::Error> {
        update_balance(&mut *tx, e).await?;
        match &e.event {
            AccountEvent::MoneyDeposited { amount, .. } => {
                add_to_day(tx, e, Flow::Deposit, amount.minor()).await
            }
            AccountEvent::MoneyWithdrawn { amount, .. } => {
                add_to_day(tx, e, Flow::Withdrawal, amount.minor()).await
            }
            // Transfers count as money in and out of the day too.
            AccountEvent::TransferCredited { amount, .. }
            | AccountEvent::TransferRefunded { amount, .. } => {
                add_to_day(tx, e, Flow::Deposit, amount.minor()).await
            }
            AccountEvent::TransferDebited { amount, .. } => {
                add_to_day(tx, e, Flow::Withdrawal, amount.minor()).await
            }
            AccountEvent::AccountOpened { .. }
            | AccountEvent::AccountClosed {}
            | AccountEvent::TransferCompleted { .. } => Ok(()),
        }
    }
}

async fn update_balance(tx: &mut PgConnection, e: &EventEnvelope) -> Result<(), sqlx::Error> {
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
        AccountEvent::MoneyDeposited { balance_after, .. }
        | AccountEvent::MoneyWithdrawn { balance_after, .. }
        | AccountEvent::TransferDebited { balance_after, .. }
        | AccountEvent::TransferCredited { balance_after, .. }
        | AccountEvent::TransferRefunded { balance_after, .. } => {
            sqlx::query("UPDATE accounts SET balance = $2, version = $3, updated_at = $4 WHERE account_id = $1")
                .bind(id)
                .bind(balance_after.minor())
        }
        AccountEvent::TransferCompleted { .. } => {
            sqlx::query("UPDATE accounts SET version = $2, updated_at = $3 WHERE account_id = $1").bind(id)
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

enum Flow {
    Deposit,
    Withdrawal,
}

/// Adds one movement to its owner's day. The owner and currency come from
/// the account's row, written by its `AccountOpened` (always applied first:
/// the runner applies an account's events in version order).
async fn add_to_day(
    tx: &mut PgConnection,
    e: &EventEnvelope,
    flow: Flow,
    amount: i64,
) -> Result<(), sqlx::Error> {
    let day = e.metadata.timestamp.to_offset(UtcOffset::UTC).date();
    let (deposits, deposit_count, withdrawals, withdrawal_count) = match flow {
        Flow::Deposit => (amount, 1_i64, 0_i64, 0_i64),
        Flow::Withdrawal => (0, 0, amount, 1),
    };
    sqlx::query(
        "INSERT INTO daily_summary (owner_id, day, currency, deposits, deposit_count, withdrawals, withdrawal_count)
         SELECT owner_id, $2, currency, $3, $4, $5, $6 FROM accounts WHERE account_id = $1
         ON CONFLICT (owner_id, day, currency) DO UPDATE SET
             deposits = daily_summary.deposits + EXCLUDED.deposits,
             deposit_count = daily_summary.deposit_count + EXCLUDED.deposit_count,
             withdrawals = daily_summary.withdrawals + EXCLUDED.withdrawals,
             withdrawal_count = daily_summary.withdrawal_count + EXCLUDED.withdrawal_count",
    )
    .bind(e.aggregate_id.as_str())
    .bind(day)
    .bind(deposits)
    .bind(deposit_count)
    .bind(withdrawals)
    .bind(withdrawal_count)
    .execute(tx)
    .await
    .map(|_| ())
}
