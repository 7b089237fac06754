use ledgerline_domain::{AccountCommand, UserId};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// A command accepted by the API, as queued on `bank.cmd.{partition}.{accountId}`.
/// Amounts inside are already minor units; the processor decodes it strictly
/// again, because a NATS message can come from anyone with access.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CommandMessage {
    pub command_id: Uuid,
    pub correlation_id: Uuid,
    pub user_id: UserId,
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(with = "String")]
    pub accepted_at: OffsetDateTime,
    pub command: AccountCommand,
}
