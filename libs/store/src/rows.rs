//! Stored rows ⇄ contract types.

use ledgerline_contracts::{EventEnvelope, EventMetadata};
use ledgerline_domain::{AccountEvent, AccountId};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::StoreError;

#[derive(sqlx::FromRow)]
pub(crate) struct EventRow {
    pub global_position: i64,
    pub event_id: Uuid,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub version: i64,
    pub event_type: String,
    pub schema_version: i32,
    pub data: Value,
    pub metadata: Value,
}

pub(crate) const EVENT_COLUMNS: &str = "global_position, event_id, aggregate_type, aggregate_id, version, event_type, schema_version, data, metadata";

impl TryFrom<EventRow> for EventEnvelope {
    type Error = StoreError;

    fn try_from(row: EventRow) -> Result<Self, StoreError> {
        let event_id = row.event_id;
        let corrupt = |what: &str, e: &dyn std::fmt::Display| {
            StoreError::Corrupt(format!("event {event_id} {what}: {e}"))
        };
        let stored_version =
            u32::try_from(row.schema_version).map_err(|e| corrupt("schema version", &e))?;
        let (data, schema_version) = crate::upcast(&row.event_type, stored_version, row.data);
        let event: AccountEvent =
            serde_json::from_value(json!({"eventType": row.event_type, "data": data}))
                .map_err(|e| corrupt("data", &e))?;
        let metadata: EventMetadata =
            serde_json::from_value(row.metadata).map_err(|e| corrupt("metadata", &e))?;
        Ok(EventEnvelope {
            event_id,
            aggregate_type: row.aggregate_type,
            aggregate_id: AccountId::parse(row.aggregate_id)
                .map_err(|e| corrupt("aggregate id", &e))?,
            version: row.version,
            global_position: row.global_position,
            event,
            schema_version,
            metadata,
        })
    }
}

/// `data` of an event, as stored (the `data` half of the adjacently tagged enum).
pub(crate) fn event_data(event: &AccountEvent) -> Result<Value, StoreError> {
    let mut tagged = serde_json::to_value(event).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(tagged
        .get_mut("data")
        .map(Value::take)
        .unwrap_or_else(|| json!({})))
}
