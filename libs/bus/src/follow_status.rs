use std::fmt::Display;
use std::future::Future;
use std::time::Duration;

use async_nats::jetstream::AckKind;
use futures::StreamExt;
use ledgerline_contracts::StatusMessage;
use tokio_util::sync::CancellationToken;

use crate::Bus;

impl Bus {
    /// Follows `bank.status.>` with the durable consumer `durable` until
    /// shutdown, reconnecting through faults: each status is handed to
    /// `record` and acked once recorded, NAKed (retried) when recording
    /// failed, and terminated when it does not decode — a buggy publisher
    /// cannot stop the consumer. `record` must be idempotent.
    pub async fn follow_status<F, Fut, E>(
        &self,
        durable: &str,
        shutdown: CancellationToken,
        record: F,
    ) where
        F: Fn(StatusMessage) -> Fut,
        Fut: Future<Output = Result<(), E>>,
        E: Display,
    {
        let stream = self.subjects.status_stream();
        while !shutdown.is_cancelled() {
            let consumer = match self
                .durable_consumer(
                    &stream,
                    durable,
                    self.subjects.all_status(),
                    Duration::from_secs(10),
                )
                .await
            {
                Ok(c) => c,
                Err(error) => {
                    tracing::warn!(%error, durable, "cannot bind status consumer; retrying");
                    tokio::select! { () = shutdown.cancelled() => return, () = tokio::time::sleep(Duration::from_secs(1)) => continue }
                }
            };
            let Ok(mut messages) = consumer.messages().await else {
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            };
            loop {
                let next = tokio::select! { () = shutdown.cancelled() => return, n = messages.next() => n };
                let delivery = match next {
                    Some(Ok(d)) => d,
                    Some(Err(error)) => {
                        tracing::warn!(%error, durable, "status stream error");
                        continue;
                    }
                    None => break,
                };
                let Ok(status) = serde_json::from_slice::<StatusMessage>(&delivery.payload) else {
                    tracing::warn!(subject = %delivery.subject, durable, "undecodable status message terminated");
                    let _ = delivery.ack_with(AckKind::Term).await;
                    continue;
                };
                match record(status).await {
                    Ok(()) => {
                        let _ = delivery.ack().await;
                    }
                    Err(error) => {
                        tracing::warn!(%error, durable, "cannot record status; will retry");
                        let _ = delivery
                            .ack_with(AckKind::Nak(Some(Duration::from_secs(1))))
                            .await;
                    }
                }
            }
        }
    }
}
