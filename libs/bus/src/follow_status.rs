use std::fmt::Display;
use std::future::Future;
use std::time::Duration;

use async_nats::jetstream::AckKind;
use futures::future::join_all;
use ledgerline_contracts::StatusMessage;
use tokio_util::sync::CancellationToken;

use ledgerline_runtime::Paced;
use ledgerline_runtime::tuning::{ACK_WAIT, BATCH_EVERY, GROUP_SIZE};

use crate::Bus;

impl Bus {
    /// Follows `bank.status.>` with the durable consumer `durable` until
    /// shutdown, reconnecting through faults. Every status already waiting
    /// (up to `GROUP_SIZE`, at most a group every `BATCH_EVERY`: see `Paced`)
    /// is handed to `record` together, so it can
    /// store them in one transaction; they are acked once recorded, NAKed
    /// (retried) when recording failed, and a status that does not decode
    /// is terminated — a buggy publisher cannot stop the consumer. `record`
    /// must be idempotent.
    pub async fn follow_status<F, Fut, E>(
        &self,
        durable: &str,
        shutdown: CancellationToken,
        record: F,
    ) where
        F: Fn(Vec<StatusMessage>) -> Fut,
        Fut: Future<Output = Result<(), E>>,
        E: Display,
    {
        let stream = self.subjects.status_stream();
        while !shutdown.is_cancelled() {
            let consumer = match self
                .durable_consumer(&stream, durable, self.subjects.all_status(), ACK_WAIT)
                .await
            {
                Ok(c) => c,
                Err(error) => {
                    tracing::warn!(%error, durable, "cannot bind status consumer; retrying");
                    tokio::select! { () = shutdown.cancelled() => return, () = tokio::time::sleep(Duration::from_secs(1)) => continue }
                }
            };
            let Ok(messages) = consumer.messages().await else {
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            };
            // One commit for many under load; alone, a status goes at once.
            let mut groups = Paced::new(messages, GROUP_SIZE, BATCH_EVERY);
            loop {
                let next =
                    tokio::select! { () = shutdown.cancelled() => return, n = groups.next() => n };
                let Some(group) = next else { break };
                let mut deliveries = Vec::with_capacity(group.len());
                let mut statuses = Vec::with_capacity(group.len());
                for delivery in group {
                    let delivery = match delivery {
                        Ok(d) => d,
                        Err(error) => {
                            tracing::warn!(%error, durable, "status stream error");
                            continue;
                        }
                    };
                    match serde_json::from_slice::<StatusMessage>(&delivery.payload) {
                        Ok(status) => {
                            statuses.push(status);
                            deliveries.push(delivery);
                        }
                        Err(_) => {
                            tracing::warn!(subject = %delivery.subject, durable, "undecodable status message terminated");
                            let _ = delivery.ack_with(AckKind::Term).await;
                        }
                    }
                }
                if statuses.is_empty() {
                    continue;
                }
                let acks = match record(statuses.clone()).await {
                    Ok(()) => vec![AckKind::Ack; statuses.len()],
                    Err(error) => {
                        // One bad status must not hold back the others:
                        // each is recorded alone, and only what fails
                        // alone is retried.
                        tracing::warn!(%error, durable, "cannot record a group of statuses; recording each alone");
                        let mut acks = Vec::with_capacity(statuses.len());
                        for status in statuses {
                            acks.push(match record(vec![status]).await {
                                Ok(()) => AckKind::Ack,
                                Err(error) => {
                                    tracing::warn!(%error, durable, "cannot record status; will retry");
                                    AckKind::Nak(Some(Duration::from_secs(1)))
                                }
                            });
                        }
                        acks
                    }
                };
                join_all(deliveries.iter().zip(acks).map(|(d, ack)| d.ack_with(ack))).await;
            }
        }
    }
}
