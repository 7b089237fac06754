use ledgerline_contracts::{
    CommandKey, EventEnvelope, EventMetadata, StatusEnvelope, StatusError, StatusKind,
    StatusMessage,
};
use ledgerline_domain::{AGGREGATE_TYPE, Account, AccountEvent, AccountId, UserId};
use time::OffsetDateTime;
use uuid::Uuid;

/// The decision on one command, ready to commit: the events to append at
/// `expected_version` (none for a rejection) and the outcome to remember.
#[derive(Debug, Clone)]
pub struct Decision {
    /// Where the outcome is kept (see `CommandKey`).
    pub key: CommandKey,
    /// The id the events' metadata and the outcome carry.
    pub command_id: Uuid,
    pub correlation_id: Uuid,
    pub user_id: UserId,
    pub account_id: AccountId,
    pub expected_version: i64,
    pub outcome: Result<Vec<AccountEvent>, (StatusKind, StatusError)>,
    /// The account after the events, when a snapshot is due.
    pub snapshot: Option<Account>,
    pub decided_at: OffsetDateTime,
    /// The W3C trace context of the decision, kept beside its events.
    pub traceparent: Option<String>,
}

impl Decision {
    /// The envelopes of the new events, with fresh ids; the store fills in
    /// `global_position` as it inserts them.
    pub fn new_envelopes(&self) -> Vec<EventEnvelope> {
        let events = self.outcome.as_deref().unwrap_or(&[]);
        events
            .iter()
            .enumerate()
            .map(|(i, event)| EventEnvelope {
                event_id: Uuid::now_v7(),
                aggregate_type: AGGREGATE_TYPE.to_owned(),
                aggregate_id: self.account_id.clone(),
                version: self.expected_version + 1 + i as i64,
                global_position: 0,
                event: event.clone(),
                schema_version: event.schema_version(),
                metadata: EventMetadata {
                    command_id: self.command_id,
                    correlation_id: self.correlation_id,
                    user_id: self.user_id.clone(),
                    timestamp: self.decided_at,
                    traceparent: self.traceparent.clone(),
                },
            })
            .collect()
    }

    pub fn event_count(&self) -> usize {
        self.outcome.as_ref().map_or(0, Vec::len)
    }

    /// Whether the decision was taken on the account at `expected_version`
    /// (its events, or a rejection that rests on the balance), and so holds
    /// only while the account is still there. A `failed` outcome rests on
    /// nothing.
    pub fn rests_on_account(&self) -> bool {
        self.status_kind() != StatusKind::Failed
    }

    /// How the command ended: succeeded, or how it did not.
    pub fn status_kind(&self) -> StatusKind {
        match &self.outcome {
            Ok(_) => StatusKind::Succeeded,
            Err((kind, _)) => *kind,
        }
    }

    pub fn status_message(&self, envelopes: Vec<EventEnvelope>) -> StatusMessage {
        let outcome = match &self.outcome {
            Ok(_) => Ok(envelopes),
            Err(e) => Err(e.clone()),
        };
        let mut payload = StatusEnvelope::new(self.command_id, self.account_id.as_str(), outcome);
        // The store keeps microseconds: the status published now and the one
        // read back from the store later must be the same.
        payload.timestamp = self
            .decided_at
            .replace_nanosecond(self.decided_at.microsecond() * 1_000)
            .unwrap_or(self.decided_at);
        StatusMessage {
            user_id: self.user_id.clone(),
            payload,
        }
    }
}
