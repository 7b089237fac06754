use ledgerline_domain::{AccountCommand, UserId};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{CommandKey, TransferStep};

/// A command accepted by the API, as queued on `bank.cmd.{partition}.{accountId}`.
/// Amounts inside are already minor units; the processor decodes it strictly
/// again, because a NATS message can come from anyone with access.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CommandMessage {
    /// The id the user knows the command by (the 202's `commandId`); for a
    /// transfer's later step, the step's key (see [`CommandMessage::key`]).
    pub command_id: Uuid,
    /// The user's command this one stems from: its own `commandId`, or the
    /// transfer's for a later step.
    pub correlation_id: Uuid,
    pub user_id: UserId,
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(with = "String")]
    pub accepted_at: OffsetDateTime,
    pub command: AccountCommand,
    /// Set when the command API's reconciler queued the command again (its
    /// n-th time) because the broker no longer held it: the repeat then
    /// carries a dedup id of its own, which JetStream's duplicate window
    /// cannot swallow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requeued: Option<u32>,
}

impl CommandMessage {
    /// The key the system keeps this command under. A user's command is
    /// keyed by its user and id together; a transfer step carries its key as
    /// its id — which the processor trusts only after checking that it is
    /// the key [`CommandMessage::step_key`] derives.
    pub fn key(&self) -> CommandKey {
        match self.transfer_step() {
            Some(_) => CommandKey::from_stored(self.command_id),
            None => CommandKey::of_client(&self.user_id, self.command_id),
        }
    }

    /// The key of the user's transfer a step belongs to (for a user's own
    /// command: its key).
    pub fn transfer_key(&self) -> CommandKey {
        CommandKey::of_client(&self.user_id, self.correlation_id)
    }

    /// The key a step of this message's transfer must carry.
    pub fn step_key(&self, step: TransferStep) -> CommandKey {
        CommandKey::of_step(self.transfer_key(), step)
    }

    /// Which later step of a transfer this is, if it is one.
    pub fn transfer_step(&self) -> Option<TransferStep> {
        match self.command {
            AccountCommand::CreditTransfer { .. } => Some(TransferStep::Credit),
            AccountCommand::CompleteTransfer { .. } => Some(TransferStep::Complete),
            AccountCommand::RefundTransfer { .. } => Some(TransferStep::Refund),
            _ => None,
        }
    }

    /// The JetStream dedup id: the key, or — for a reconciler's repeat —
    /// the key and the repeat's number.
    pub fn dedup_id(&self) -> String {
        match self.requeued {
            None => self.key().to_string(),
            Some(n) => format!("{}:requeue:{n}", self.key()),
        }
    }
}
