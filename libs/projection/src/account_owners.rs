//! The owner of each account, learnt from its `AccountOpened`: a read model
//! that files rows under the account's owner (history, audit) keeps
//! `account_owners (account_id TEXT PRIMARY KEY, owner_id TEXT NOT NULL)`
//! in its own schema. An account's events are applied in version order, so
//! its owner is known before any later event of it is filed.

use ledgerline_contracts::EventEnvelope;
use ledgerline_domain::AccountEvent;
use sqlx::PgConnection;

/// Records the owners of the accounts `events` open, in one statement
/// (none when they open none); an owner already known is kept.
pub async fn record_account_owners(
    tx: &mut PgConnection,
    events: &[EventEnvelope],
) -> Result<(), sqlx::Error> {
    let (accounts, owners): (Vec<String>, Vec<String>) = events
        .iter()
        .filter_map(|e| match &e.event {
            AccountEvent::AccountOpened { owner_id, .. } => Some((
                e.aggregate_id.as_str().to_owned(),
                owner_id.as_str().to_owned(),
            )),
            _ => None,
        })
        .unzip();
    if accounts.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO account_owners (account_id, owner_id)
         SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT DO NOTHING",
    )
    .bind(accounts)
    .bind(owners)
    .execute(tx)
    .await
    .map(|_| ())
}
