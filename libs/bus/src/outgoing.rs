//! Publishing: one message at a time awaiting its ack, or many with all of
//! their acks in flight at once (what a batch of decisions publishes).

use std::time::Duration;

use async_nats::HeaderMap;
use bytes::Bytes;
use futures::future::join_all;
use ledgerline_contracts::{CommandMessage, EventEnvelope, StatusMessage};
use serde::Serialize;

use crate::{Bus, BusError, partition_of};

/// A message ready to publish: subject, dedup id and trace context fixed
/// when it was made, so it can be sent later, or again, unchanged.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub subject: String,
    pub headers: HeaderMap,
    pub payload: Bytes,
}

impl Outgoing {
    /// `msg_id` makes a repeat of this message a duplicate JetStream drops
    /// (within its window); the current span's trace context goes along, so
    /// the receiver continues this trace.
    pub fn new(subject: String, msg_id: &str, body: &impl Serialize) -> Result<Self, BusError> {
        let payload = Bytes::from(serde_json::to_vec(body)?);
        let mut headers = HeaderMap::new();
        headers.insert("Nats-Msg-Id", msg_id);
        ledgerline_telemetry::inject_current(&mut headers);
        Ok(Self {
            subject,
            headers,
            payload,
        })
    }
}

impl Bus {
    pub fn outgoing_command(&self, message: &CommandMessage) -> Result<Outgoing, BusError> {
        let account = message.command.account_id();
        let subject = self
            .subjects
            .command(partition_of(account, self.partitions), account);
        Outgoing::new(subject, &message.dedup_id(), message)
    }

    pub fn outgoing_event(&self, event: &EventEnvelope) -> Result<Outgoing, BusError> {
        Outgoing::new(
            self.subjects.event(&event.aggregate_id),
            &event.event_id.to_string(),
            event,
        )
    }

    pub fn outgoing_status(&self, status: &StatusMessage) -> Result<Outgoing, BusError> {
        Outgoing::new(
            self.subjects.status(&status.user_id),
            &status.key().to_string(),
            status,
        )
    }

    /// Publishes one JSON message and waits for JetStream's ack (see
    /// [`Outgoing::new`] for `msg_id`).
    pub async fn publish_json(
        &self,
        subject: String,
        msg_id: &str,
        body: &impl Serialize,
    ) -> Result<(), BusError> {
        self.publish(&Outgoing::new(subject, msg_id, body)?).await
    }

    pub async fn publish_command(&self, message: &CommandMessage) -> Result<(), BusError> {
        self.publish(&self.outgoing_command(message)?).await
    }

    pub async fn publish_event(&self, event: &EventEnvelope) -> Result<(), BusError> {
        self.publish(&self.outgoing_event(event)?).await
    }

    pub async fn publish_status(&self, status: &StatusMessage) -> Result<(), BusError> {
        self.publish(&self.outgoing_status(status)?).await
    }

    /// Publishes and waits for JetStream's ack. A publish that timed out may
    /// still have been stored, so it is retried under the same id rather
    /// than given up on.
    pub async fn publish(&self, message: &Outgoing) -> Result<(), BusError> {
        tryhard::retry_fn(|| async {
            let ack = self
                .js
                .publish_with_headers(
                    message.subject.clone(),
                    message.headers.clone(),
                    message.payload.clone(),
                )
                .await
                .map_err(|e| e.to_string())?;
            ack.await.map_err(|e| e.to_string())
        })
        .retries(3)
        .exponential_backoff(Duration::from_millis(50))
        .await
        .map(|_| ())
        .map_err(|message_text| BusError::Publish {
            subject: message.subject.clone(),
            message: message_text,
        })
    }

    /// Publishes every message in order with all acks in flight, then waits
    /// for them; each one not acknowledged is published again alone (same
    /// id). Order on the stream is the order given unless a retry was
    /// needed — readers that care (the projectors) heal gaps from the store.
    pub async fn publish_all(&self, messages: &[Outgoing]) -> Result<(), BusError> {
        let mut acks = Vec::with_capacity(messages.len());
        for message in messages {
            let sent = self
                .js
                .publish_with_headers(
                    message.subject.clone(),
                    message.headers.clone(),
                    message.payload.clone(),
                )
                .await;
            acks.push(sent);
        }
        let pending = acks.into_iter().map(|sent| async move {
            match sent {
                Ok(ack) => ack.await.is_ok(),
                Err(_) => false,
            }
        });
        let acked = join_all(pending).await;
        for (message, acked) in messages.iter().zip(acked) {
            if !acked {
                self.publish(message).await?;
            }
        }
        Ok(())
    }
}
