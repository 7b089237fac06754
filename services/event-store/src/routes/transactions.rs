//! An account's transactions: the money movements among its events, oldest
//! first. Opening (its initial balance is where the account starts, not a
//! movement), closing and a transfer's completion (the money had already
//! left at its debit) move nothing and are not listed.

use ledgerline_contracts::EventEnvelope;
use ledgerline_domain::{AccountEvent, AccountId, Amount};
use ledgerline_store::{EventStore, MAX_PAGE, StoreError};
use schemars::JsonSchema;
use serde::Serialize;
use time::OffsetDateTime;

/// One money movement of an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[schemars(rename = "AccountTransaction")]
pub(super) struct Transaction {
    #[serde(rename = "type")]
    kind: TransactionKind,
    /// Written out in major units (`"500.00"`).
    amount: Amount,
    /// RFC 3339: the event's `metadata.timestamp`.
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(with = "String", extend("format" = "date-time"))]
    timestamp: OffsetDateTime,
}

/// `deposit` (MoneyDeposited), `withdrawal` (MoneyWithdrawn),
/// `transfer-out` (TransferDebited), `transfer-in` (TransferCredited),
/// `transfer-refund` (TransferRefunded: a refused transfer's money back).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
enum TransactionKind {
    Deposit,
    Withdrawal,
    TransferOut,
    TransferIn,
    TransferRefund,
}

/// The transaction an event records, if it moved money.
fn transaction(envelope: &EventEnvelope) -> Option<Transaction> {
    let (kind, amount) = match &envelope.event {
        AccountEvent::MoneyDeposited { amount, .. } => (TransactionKind::Deposit, *amount),
        AccountEvent::MoneyWithdrawn { amount, .. } => (TransactionKind::Withdrawal, *amount),
        AccountEvent::TransferDebited { amount, .. } => (TransactionKind::TransferOut, *amount),
        AccountEvent::TransferCredited { amount, .. } => (TransactionKind::TransferIn, *amount),
        AccountEvent::TransferRefunded { amount, .. } => (TransactionKind::TransferRefund, *amount),
        AccountEvent::AccountOpened { .. }
        | AccountEvent::AccountClosed {}
        | AccountEvent::TransferCompleted { .. } => return None,
    };
    Some(Transaction {
        kind,
        amount,
        timestamp: envelope.metadata.timestamp,
    })
}

/// The transactions among the account's first `up_to_version` events: the
/// version of the account being answered, so that the list agrees with its
/// balance even while new events are appended. Read a store page at a time.
pub(super) async fn transactions<S: EventStore>(
    store: &S,
    id: &AccountId,
    up_to_version: i64,
) -> Result<Vec<Transaction>, StoreError> {
    let mut found = Vec::new();
    let mut after = 0;
    while after < up_to_version {
        let limit = (up_to_version - after).min(MAX_PAGE);
        let page = store.account_events(id, after, limit).await?;
        let Some(last) = page.last().map(|e| e.version) else {
            break;
        };
        found.extend(
            page.iter()
                .filter(|e| e.version <= up_to_version)
                .filter_map(transaction),
        );
        after = last;
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use ledgerline_domain::{Balance, Currency, UserId};
    use ledgerline_store::InMemoryEventStore;

    use super::*;

    fn amount(text: &str) -> Amount {
        serde_json::from_value(serde_json::json!(text)).unwrap()
    }

    fn balance(text: &str) -> Balance {
        serde_json::from_value(serde_json::json!(text)).unwrap()
    }

    fn envelope(version: i64, event: AccountEvent) -> EventEnvelope {
        serde_json::from_value(serde_json::json!({
            "eventId": uuid_like(version),
            "aggregateType": "BankAccount",
            "aggregateId": "acc-1",
            "version": version,
            "globalPosition": version,
            "eventType": event.event_type(),
            "data": serde_json::to_value(&event).unwrap()["data"],
            "schemaVersion": event.schema_version(),
            "metadata": {
                "commandId": uuid_like(version),
                "correlationId": uuid_like(version),
                "userId": "alice",
                "timestamp": "2026-11-22T10:00:00Z"
            }
        }))
        .unwrap()
    }

    fn uuid_like(n: i64) -> String {
        format!("00000000-0000-0000-0000-{n:012}")
    }

    #[test]
    fn money_movements_are_transactions_and_the_rest_is_not() {
        let to = AccountId::parse("acc-2").unwrap();
        let cases = [
            (
                AccountEvent::AccountOpened {
                    owner_id: UserId::parse("alice").unwrap(),
                    currency: Currency::parse("EUR").unwrap(),
                    initial_balance: balance("1000"),
                },
                None,
            ),
            (
                AccountEvent::MoneyDeposited {
                    amount: amount("5"),
                    balance_after: balance("5"),
                    reference: None,
                },
                Some("deposit"),
            ),
            (
                AccountEvent::MoneyWithdrawn {
                    amount: amount("1"),
                    balance_after: balance("4"),
                },
                Some("withdrawal"),
            ),
            (
                AccountEvent::TransferDebited {
                    to_account_id: to.clone(),
                    amount: amount("1"),
                    currency: Currency::parse("EUR").unwrap(),
                    balance_after: balance("3"),
                },
                Some("transfer-out"),
            ),
            (
                AccountEvent::TransferCompleted {
                    to_account_id: to.clone(),
                    amount: amount("1"),
                },
                None,
            ),
            (
                AccountEvent::TransferRefunded {
                    to_account_id: to.clone(),
                    amount: amount("1"),
                    balance_after: balance("4"),
                },
                Some("transfer-refund"),
            ),
            (
                AccountEvent::TransferCredited {
                    from_account_id: to,
                    amount: amount("2"),
                    balance_after: balance("6"),
                },
                Some("transfer-in"),
            ),
            (AccountEvent::AccountClosed {}, None),
        ];
        for (version, (event, kind)) in (1..).zip(cases) {
            let found = transaction(&envelope(version, event.clone()));
            assert_eq!(
                found.map(|t| serde_json::to_value(t.kind).unwrap()),
                kind.map(serde_json::Value::from),
                "{event:?}"
            );
        }
    }

    #[test]
    fn a_transaction_reads_as_type_amount_and_timestamp() {
        let deposit = AccountEvent::MoneyDeposited {
            amount: amount("500"),
            balance_after: balance("1500"),
            reference: None,
        };
        let found = transaction(&envelope(2, deposit)).unwrap();
        assert_eq!(
            serde_json::to_value(found).unwrap(),
            serde_json::json!({"type": "deposit", "amount": "500.00", "timestamp": "2026-11-22T10:00:00Z"})
        );
    }

    #[tokio::test]
    async fn an_empty_history_has_no_transactions() {
        let store = InMemoryEventStore::new();
        let id = AccountId::parse("acc-1").unwrap();
        assert_eq!(transactions(&store, &id, 0).await.unwrap(), []);
        assert_eq!(transactions(&store, &id, 5).await.unwrap(), []);
    }
}
