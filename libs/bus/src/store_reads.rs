use std::time::Duration;

use bytes::Bytes;
use ledgerline_contracts::{
    AccountEventsRequest, EventAtRequest, EventEnvelope, EventLocation, EventsReply,
    UserEventsRequest,
};
use ledgerline_domain::{AccountId, UserId};
use serde::Serialize;

use crate::{Bus, BusError};

const READ_TIMEOUT: Duration = Duration::from_secs(5);

impl Bus {
    async fn read_events(
        &self,
        subject: String,
        request: &impl Serialize,
    ) -> Result<Vec<EventEnvelope>, BusError> {
        let failed = |message: String| BusError::JetStream {
            what: "event store read",
            message,
        };
        let body = Bytes::from(serde_json::to_vec(request)?);
        let answer = tokio::time::timeout(READ_TIMEOUT, self.client.request(subject, body))
            .await
            .map_err(|_| failed("the command processor did not answer in time".into()))?
            .map_err(|e| failed(e.to_string()))?;
        match serde_json::from_slice(&answer.payload).map_err(|e| failed(e.to_string()))? {
            EventsReply::Events(events) => Ok(events),
            EventsReply::Error(message) => Err(failed(message)),
        }
    }

    /// The account's events with `version > after_version` (at most `limit`),
    /// read from the event store by its owner.
    pub async fn account_events(
        &self,
        account: &AccountId,
        after_version: i64,
        limit: i64,
    ) -> Result<Vec<EventEnvelope>, BusError> {
        let request = AccountEventsRequest {
            after_version,
            limit,
        };
        let events = self
            .read_events(self.subjects.account_events(account), &request)
            .await?;
        // Trust, but check: only this account's events, in version order.
        let ordered = events.windows(2).all(|w| w[0].version < w[1].version);
        if !ordered
            || events
                .iter()
                .any(|e| &e.aggregate_id != account || e.version <= after_version)
        {
            return Err(BusError::JetStream {
                what: "event store read",
                message: "inconsistent reply".into(),
            });
        }
        Ok(events)
    }

    /// Events of the user's accounts with `global_position > after_position`.
    pub async fn user_events(
        &self,
        user: &UserId,
        after_position: i64,
        limit: i64,
    ) -> Result<Vec<EventEnvelope>, BusError> {
        let request = UserEventsRequest {
            after_position,
            limit,
        };
        self.read_events(self.subjects.user_events(user), &request)
            .await
    }

    /// `bank.rpc.event-at`: answered by the event store's owner.
    pub fn event_at_subject(&self) -> String {
        format!("{}.rpc.event-at", self.subjects.prefix())
    }

    /// Which account and version sit at `position` (`None`: no such event yet).
    pub async fn event_at(&self, position: i64) -> Result<Option<EventLocation>, BusError> {
        let failed = |message: String| BusError::JetStream {
            what: "event store read",
            message,
        };
        let body = Bytes::from(serde_json::to_vec(&EventAtRequest { position })?);
        let answer = tokio::time::timeout(
            READ_TIMEOUT,
            self.client.request(self.event_at_subject(), body),
        )
        .await
        .map_err(|_| failed("the command processor did not answer in time".into()))?
        .map_err(|e| failed(e.to_string()))?;
        serde_json::from_slice::<Result<Option<EventLocation>, String>>(&answer.payload)
            .map_err(|e| failed(e.to_string()))?
            .map_err(failed)
    }
}
