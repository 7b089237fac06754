use std::fmt;

use futures::TryStreamExt;
use ledgerline_runtime::Config;
use uuid::Uuid;

use crate::cleanup::run_to_end;

/// A NATS subject and stream prefix of the test's own, so runs sharing one
/// server never meet. Dropping it deletes every stream and KV bucket named
/// under it (`{PREFIX}_…`, `KV_{PREFIX}_…`) — also when the test fails.
#[derive(Debug)]
pub struct TestPrefix {
    prefix: String,
    nats_url: String,
}

impl TestPrefix {
    /// `{label}` followed by 12 random hex digits, on the NATS of `NATS_URL`.
    pub fn new(label: &str) -> Self {
        let config = Config::from_env().expect("configuration");
        let id = Uuid::now_v7().simple().to_string();
        Self {
            prefix: format!("{label}{}", &id[id.len() - 12..]),
            nats_url: config.nats_url,
        }
    }

    /// The same prefix on another server (a test's private NATS): the one
    /// cleaned up on drop.
    pub fn on(mut self, nats_url: &str) -> Self {
        nats_url.clone_into(&mut self.nats_url);
        self
    }

    pub fn as_str(&self) -> &str {
        &self.prefix
    }

    pub fn nats_url(&self) -> &str {
        &self.nats_url
    }

    /// How stream and bucket names begin under this prefix.
    pub fn stream_prefix(&self) -> String {
        self.prefix.to_ascii_uppercase()
    }
}

impl fmt::Display for TestPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.prefix)
    }
}

impl Drop for TestPrefix {
    fn drop(&mut self) {
        let url = self.nats_url.clone();
        let ours = [
            format!("{}_", self.stream_prefix()),
            format!("KV_{}_", self.stream_prefix()),
        ];
        run_to_end(async move {
            let Ok(client) = async_nats::connect(&url).await else {
                return;
            };
            let js = async_nats::jetstream::new(client);
            let names: Vec<String> = js.stream_names().try_collect().await.unwrap_or_default();
            for name in names {
                if ours.iter().any(|p| name.starts_with(p.as_str())) {
                    let _ = js.delete_stream(&name).await;
                }
            }
        });
    }
}
