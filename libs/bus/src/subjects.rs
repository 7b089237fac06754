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
    /// Request–reply: the accounts a user owns, answered by the processor.
    pub fn accounts_of(&self, user: &UserId) -> String {
        format!("{}.rpc.accounts-of.{user}", self.prefix)
    }
    pub fn accounts_of_all(&self) -> String {
        format!("{}.rpc.accounts-of.*", self.prefix)
    }
    /// Request–reply: accept a command (answered by the command API).
    pub fn accept_rpc(&self) -> String {
        format!("{}.rpc.accept", self.prefix)
    }
    /// Request–reply: an account's events after a version (processor).
    pub fn account_events(&self, account: &AccountId) -> String {
        format!("{}.rpc.account-events.{account}", self.prefix)
    }
    pub fn account_events_all(&self) -> String {
        format!("{}.rpc.account-events.*", self.prefix)
    }
    /// Request–reply: a user's events after a global position (processor).
    pub fn user_events(&self, user: &UserId) -> String {
        format!("{}.rpc.user-events.{user}", self.prefix)
    }
    pub fn user_events_all(&self) -> String {
        format!("{}.rpc.user-events.*", self.prefix)
    }
    /// Request–reply: every projector answers with its status (no queue
    /// group, so one request gathers them all).
    pub fn projections_rpc(&self) -> String {
        format!("{}.rpc.projections", self.prefix)
    }
    /// Request–reply: the event store's head position (processor).
    pub fn store_head_rpc(&self) -> String {
        format!("{}.rpc.store-head", self.prefix)
    }
    /// Request–reply: a page of the whole event log after a global position,
    /// below the safe high-water mark (processor; projectors replaying).
    pub fn store_events_rpc(&self) -> String {
        format!("{}.rpc.store-events", self.prefix)
    }
    /// Request–reply: rebuild one read model (its projector, queue group).
    /// `name` is a read model's name (`AccountBalances`…), checked by the
    /// caller against the known ones: never user text.
    pub fn projection_rebuild(&self, name: &str) -> String {
        format!("{}.rpc.projections.rebuild.{name}", self.prefix)
    }
}
