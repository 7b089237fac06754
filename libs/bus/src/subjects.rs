use ledgerline_domain::{AccountId, UserId};

/// Subject and stream names under one prefix. The default prefix `bank`
/// gives DESIGN's names; tests use their own prefix so runs never meet.
/// Every token interpolated here is an `AccountId` or `UserId`, whose
/// parse refuses `.`, `*`, `>` and spaces.
#[derive(Debug, Clone)]
pub struct Subjects {
    prefix: String,
}

impl Subjects {
    pub fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_owned(),
        }
    }
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    fn stream(&self, suffix: &str) -> String {
        format!(
            "{}_{suffix}",
            self.prefix.to_ascii_uppercase().replace('-', "_")
        )
    }
    pub fn commands_stream(&self) -> String {
        self.stream("COMMANDS")
    }
    pub fn events_stream(&self) -> String {
        self.stream("EVENTS")
    }
    pub fn status_stream(&self) -> String {
        self.stream("STATUS")
    }
    /// The KV bucket of the command processors' partition leases; anything
    /// a bucket name may not hold becomes `_`.
    pub fn leases_bucket(&self) -> String {
        let prefix: String = self
            .prefix
            .chars()
            .map(|c| match c {
                'a'..='z' | 'A'..='Z' | '0'..='9' => c.to_ascii_uppercase(),
                _ => '_',
            })
            .collect();
        format!("{prefix}_PROCESSOR_LEASES")
    }

    pub fn command(&self, partition: u32, account: &AccountId) -> String {
        format!("{}.cmd.{partition}.{account}", self.prefix)
    }
    pub fn command_partition(&self, partition: u32) -> String {
        format!("{}.cmd.{partition}.>", self.prefix)
    }
    pub fn all_commands(&self) -> String {
        format!("{}.cmd.>", self.prefix)
    }
    pub fn event(&self, account: &AccountId) -> String {
        format!("{}.evt.{account}", self.prefix)
    }
    pub fn all_events(&self) -> String {
        format!("{}.evt.>", self.prefix)
    }
    pub fn status(&self, user: &UserId) -> String {
        format!("{}.status.{user}", self.prefix)
    }
    pub fn all_status(&self) -> String {
        format!("{}.status.>", self.prefix)
    }
    // Request–reply subjects are `{prefix}.rpc.{Rpc::NAME}` (see `rpc`).
}
