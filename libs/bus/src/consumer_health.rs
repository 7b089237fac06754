use std::time::Duration;

use async_nats::jetstream::consumer::pull;
use tokio_util::sync::CancellationToken;

use crate::{Bus, BusError};

impl Bus {
    /// Messages waiting for a durable consumer; an error when it is not bound.
    pub async fn consumer_pending(&self, stream: &str, durable: &str) -> Result<u64, BusError> {
        let failed = |e: &dyn std::fmt::Display| BusError::JetStream {
            what: "consumer info",
            message: e.to_string(),
        };
        let stream = self.js.get_stream(stream).await.map_err(|e| failed(&e))?;
        let mut consumer = stream
            .get_consumer::<pull::Config>(durable)
            .await
            .map_err(|e| failed(&e))?;
        Ok(consumer.info().await.map_err(|e| failed(&e))?.num_pending)
    }

    /// Keeps `ledgerline_consumer_pending{consumer}` current: every 5 s
    /// once the consumer has answered, every 500 ms until then (it may not
    /// be bound yet).
    pub async fn report_pending(
        self,
        stream: String,
        durable: String,
        shutdown: CancellationToken,
    ) {
        let mut known = false;
        loop {
            if let Ok(pending) = self.consumer_pending(&stream, &durable).await {
                metrics::gauge!("ledgerline_consumer_pending", "consumer" => durable.clone())
                    .set(pending as f64);
                known = true;
            }
            let wait = if known {
                Duration::from_secs(5)
            } else {
                Duration::from_millis(500)
            };
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(wait) => {}
            }
        }
    }
}
