use ledgerline_domain::{AccountEvent, AccountId, UserId};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// An event as stored and as published on `bank.evt.{accountId}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventEnvelope {
    pub event_id: Uuid,
    pub aggregate_type: String,
    pub aggregate_id: AccountId,
    /// 1 for the account's first event, then +1 per event: the gap detector.
    pub version: i64,
    /// Position in the store's global log (assigned at insert).
    pub global_position: i64,
    /// `eventType` and `data`.
    #[serde(flatten)]
    pub event: AccountEvent,
    pub schema_version: u32,
    pub metadata: EventMetadata,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventMetadata {
    pub command_id: Uuid,
    pub correlation_id: Uuid,
    pub user_id: UserId,
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(with = "String")]
    pub timestamp: OffsetDateTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
}

#[cfg(test)]
mod tests {
    use ledgerline_domain::{Amount, Balance};
    use serde_json::json;

    use super::*;

    #[test]
    fn event_type_and_data_sit_beside_the_envelope_fields() {
        let envelope = EventEnvelope {
            event_id: Uuid::nil(),
            aggregate_type: "BankAccount".into(),
            aggregate_id: AccountId::parse("acc-123").unwrap(),
            version: 5,
            global_position: 1042,
            event: AccountEvent::MoneyDeposited {
                amount: Amount::from_minor(50_000).unwrap(),
                balance_after: Balance::from_minor(130_000).unwrap(),
                reference: None,
            },
            schema_version: 1,
            metadata: EventMetadata {
                command_id: Uuid::nil(),
                correlation_id: Uuid::nil(),
                user_id: UserId::parse("alice").unwrap(),
                timestamp: OffsetDateTime::UNIX_EPOCH,
                traceparent: None,
            },
        };
        let value = serde_json::to_value(&envelope).unwrap();
        assert_eq!(value["eventType"], "MoneyDeposited");
        assert_eq!(
            value["data"],
            json!({"amount": "500.00", "balanceAfter": "1300.00", "reference": null})
        );
        assert_eq!(
            serde_json::from_value::<EventEnvelope>(value).unwrap(),
            envelope
        );
    }

    #[test]
    fn an_event_with_a_negative_balance_does_not_decode() {
        let value = json!({"eventId": Uuid::nil(), "aggregateType": "BankAccount", "aggregateId": "a", "version": 1,
            "globalPosition": 1, "eventType": "MoneyWithdrawn", "data": {"amount": 5, "balanceAfter": -5},
            "schemaVersion": 1, "metadata": {"commandId": Uuid::nil(), "correlationId": Uuid::nil(),
            "userId": "alice", "timestamp": "2026-01-01T00:00:00Z"}});
        assert!(serde_json::from_value::<EventEnvelope>(value).is_err());
    }
}
