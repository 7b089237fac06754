//! Events as the event store hands them to read models, with the account
//! written as a plain string.

use ledgerline_contracts::{EventEnvelope, EventMetadata};
use ledgerline_domain::AccountEvent;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::commands::{account, user};

/// `event` as the `version`th of `account_id`, at `position` in the log,
/// sent by alice now (set `metadata` fields after to say otherwise).
pub fn envelope(
    account_id: &str,
    version: i64,
    position: i64,
    event: AccountEvent,
) -> EventEnvelope {
    EventEnvelope {
        event_id: Uuid::now_v7(),
        aggregate_type: "BankAccount".into(),
        aggregate_id: account(account_id),
        version,
        global_position: position,
        schema_version: event.schema_version(),
        event,
        metadata: EventMetadata {
            command_id: Uuid::now_v7(),
            correlation_id: Uuid::now_v7(),
            user_id: user("alice"),
            timestamp: OffsetDateTime::now_utc(),
            traceparent: None,
        },
    }
}
