//! Requests of the event store's reads (`StoreReads`) over NATS, for
//! components that run in another process than the store's owner: the
//! `event-store` component answers `{prefix}.rpc.store.*`. Each reply is
//! `{"Ok": <response>}` or `{"Err": "<why the request was unreadable>"}`,
//! and each response a `Result` of the read itself.

use ledgerline_domain::{AccountId, UserId};
use serde::{Deserialize, Serialize};

use crate::CommandKey;

/// `store.account-events`: an account's events after a version.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AccountEventsRequest {
    pub account_id: AccountId,
    pub after_version: i64,
    pub limit: i64,
}

/// `store.events`: the global log after a position (only below the store's
/// safe high-water mark), optionally only one user's accounts.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EventsRequest {
    pub after_position: i64,
    pub limit: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<UserId>,
}

/// `store.head`: the highest global position.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeadRequest {}

/// `store.accounts-of`: the accounts a user opened.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AccountsOfRequest {
    pub owner: UserId,
}

/// `store.event-at`: which account and version sit at a global position
/// (read-your-writes: a read model waits until it applied that version).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EventAtRequest {
    pub position: i64,
}

/// `store.outcomes`: the stored outcomes of those commands that were decided.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OutcomesRequest {
    pub keys: Vec<CommandKey>,
}

/// `store.marked-told`: which of those commands' users were told their
/// outcome (the reconciler's question).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MarkedToldRequest {
    pub keys: Vec<CommandKey>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventLocation {
    pub account_id: AccountId,
    pub version: i64,
}
