use std::time::Duration;

use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, PullConsumer, pull};
use async_nats::jetstream::stream::{self, DiscardPolicy, RetentionPolicy, StorageType};
use async_nats::jetstream::{self, Context};

use ledgerline_runtime::tuning::MAX_ACK_PENDING;

use crate::Subjects;

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("NATS_URL {url} is not a comma-separated list of server URLs: {source}")]
    Url { url: String, source: std::io::Error },
    #[error("cannot connect to NATS at {url}: {source}")]
    Connect {
        url: String,
        source: async_nats::ConnectError,
    },
    #[error("JetStream {what}: {message}")]
    JetStream { what: &'static str, message: String },
    #[error("publish to {subject} not acknowledged: {message}")]
    Publish { subject: String, message: String },
    #[error("encoding a message: {0}")]
    Encode(#[from] serde_json::Error),
}

fn js_err(what: &'static str) -> impl Fn(&dyn std::fmt::Display) -> BusError {
    move |e| BusError::JetStream {
        what,
        message: e.to_string(),
    }
}

/// The NATS connection, JetStream context and names a service works with.
#[derive(Clone)]
pub struct Bus {
    pub client: async_nats::Client,
    pub js: Context,
    pub subjects: Subjects,
    pub partitions: u32,
}

/// A message from a durable consumer.
pub type Delivery = jetstream::Message;

impl Bus {
    /// `url` may list several servers of one cluster, comma-separated: the
    /// client starts with any that answers (a process restarted while one
    /// node is down still connects) and learns the rest from the cluster.
    pub async fn connect(url: &str, prefix: &str, partitions: u32) -> Result<Self, BusError> {
        let servers = url
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::parse::<async_nats::ServerAddr>)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|source| BusError::Url {
                url: url.to_owned(),
                source,
            })?;
        let client = async_nats::ConnectOptions::new()
            .name("ledgerline")
            // Keep retrying through a NATS restart instead of failing the service.
            .retry_on_initial_connect()
            .connect(servers)
            .await
            .map_err(|source| BusError::Connect {
                url: url.to_owned(),
                source,
            })?;
        let js = jetstream::new(client.clone());
        Ok(Self {
            client,
            js,
            subjects: Subjects::new(prefix),
            partitions,
        })
    }

    /// Declares the three streams, each kept on `replicas` JetStream servers;
    /// safe to call from every service at start. Retried for about half a
    /// minute: a process that starts while a JetStream cluster elects its
    /// leader (a node was lost) waits for it rather than exiting.
    pub async fn ensure_streams(&self, replicas: u64) -> Result<(), BusError> {
        tryhard::retry_fn(|| self.declare_streams(replicas))
            .retries(8)
            .exponential_backoff(Duration::from_millis(250))
            .max_delay(Duration::from_secs(5))
            .await
    }

    async fn declare_streams(&self, replicas: u64) -> Result<(), BusError> {
        let s = &self.subjects;
        let streams = [
            (
                s.commands_stream(),
                s.all_commands(),
                RetentionPolicy::WorkQueue,
                Duration::ZERO,
            ),
            (
                s.events_stream(),
                s.all_events(),
                RetentionPolicy::Limits,
                Duration::from_secs(7 * 24 * 3600),
            ),
            (
                s.status_stream(),
                s.all_status(),
                RetentionPolicy::Limits,
                Duration::from_secs(24 * 3600),
            ),
        ];
        for (name, subject, retention, max_age) in streams {
            self.js
                .get_or_create_stream(stream::Config {
                    name,
                    subjects: vec![subject],
                    retention,
                    max_age,
                    storage: StorageType::File,
                    discard: DiscardPolicy::Old,
                    duplicate_window: Duration::from_secs(120),
                    allow_direct: true,
                    num_replicas: usize::try_from(replicas.max(1)).unwrap_or(1),
                    ..Default::default()
                })
                .await
                .map_err(|e| js_err("creating stream")(&e))?;
        }
        Ok(())
    }

    /// Removes this prefix's streams and its leases bucket (tests clean up
    /// with it).
    pub async fn delete_streams(&self) -> Result<(), BusError> {
        let s = &self.subjects;
        let leases = format!("KV_{}", s.leases_bucket());
        for name in [
            s.commands_stream(),
            s.events_stream(),
            s.status_stream(),
            leases,
        ] {
            let _ = self.js.delete_stream(name).await;
        }
        Ok(())
    }

    /// A durable pull consumer with one filter subject (what 2.9 supports).
    /// A short AckWait brings a crashed consumer's messages back quickly.
    pub async fn durable_consumer(
        &self,
        stream: &str,
        durable: &str,
        filter: String,
        ack_wait: Duration,
    ) -> Result<PullConsumer, BusError> {
        let stream = self
            .js
            .get_stream(stream)
            .await
            .map_err(|e| js_err("getting stream")(&e))?;
        stream
            .get_or_create_consumer(
                durable,
                pull::Config {
                    durable_name: Some(durable.to_owned()),
                    filter_subject: filter,
                    ack_policy: AckPolicy::Explicit,
                    deliver_policy: DeliverPolicy::All,
                    ack_wait,
                    max_ack_pending: MAX_ACK_PENDING,
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| js_err("creating consumer")(&e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nats_url() -> String {
        std::env::var("NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".to_owned())
    }

    #[tokio::test]
    async fn a_nats_url_that_is_not_a_list_of_server_urls_is_refused() {
        let refused = Bus::connect("nats://127.0.0.1:4222,::not a url::", "t", 1).await;
        assert!(
            matches!(refused, Err(BusError::Url { .. })),
            "{:?}",
            refused.err()
        );
    }

    #[tokio::test]
    async fn of_several_servers_one_that_answers_is_enough() {
        // Port 1 refuses: the client moves on to the next server listed.
        let url = format!("nats://127.0.0.1:1, {}", nats_url());
        let bus = tokio::time::timeout(Duration::from_secs(20), Bus::connect(&url, "t", 1))
            .await
            .expect("connects in time")
            .expect("connects");
        bus.client.flush().await.expect("the connection works");
    }
}
