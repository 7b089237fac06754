//! The id under which the system keeps a command — its outcome row, its
//! JetStream dedup id, the command API's record — as opposed to the id a
//! client knows it by.
//!
//! A client may name any UUID as its `commandId` (or an `Idempotency-Key`
//! that becomes one), so a client's id is only ever meaningful *within that
//! client's user*: the key is derived from the user and the id together,
//! and a transfer's later steps get keys derived from the transfer's key in
//! a namespace of their own. Both are SHA-1 name-based UUIDs (v5), so no
//! input a client controls can produce another user's key or a step's key:
//! one user can never claim, block or answer another's command.

use std::fmt;

use ledgerline_domain::UserId;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Keys of commands a user issued: `uuid_v5(CLIENT, "{userId}:{commandId}")`.
const CLIENT_NAMESPACE: Uuid = Uuid::from_u128(0x6c65_6467_6572_6c69_6e65_2d63_6c69_656e);
/// Keys of a transfer's later steps: `uuid_v5(STEP, "{transferKey}:{step}")`.
const STEP_NAMESPACE: Uuid = Uuid::from_u128(0x6c65_6467_6572_6c69_6e65_2d73_7465_7073);

/// A step of a transfer after its debit, issued by the processor alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferStep {
    Credit,
    Complete,
    Refund,
}

impl TransferStep {
    pub fn name(self) -> &'static str {
        match self {
            Self::Credit => "credit",
            Self::Complete => "complete",
            Self::Refund => "refund",
        }
    }
}

/// See the module documentation. It travels between components (the
/// store's outcome reads) as its UUID; it is never read from a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CommandKey(Uuid);

impl CommandKey {
    /// The key of the command `user` knows as `command_id`.
    pub fn of_client(user: &UserId, command_id: Uuid) -> Self {
        let name = format!("{user}:{command_id}");
        Self(Uuid::new_v5(&CLIENT_NAMESPACE, name.as_bytes()))
    }

    /// The key of a later step of the transfer whose key is `transfer`.
    pub fn of_step(transfer: CommandKey, step: TransferStep) -> Self {
        let name = format!("{}:{}", transfer.0, step.name());
        Self(Uuid::new_v5(&STEP_NAMESPACE, name.as_bytes()))
    }

    /// A key read back from where the system stored it (a database row).
    pub fn from_stored(key: Uuid) -> Self {
        Self(key)
    }

    pub fn as_uuid(self) -> Uuid {
        self.0
    }
}

impl fmt::Display for CommandKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(name: &str) -> UserId {
        UserId::parse(name).unwrap()
    }

    #[test]
    fn the_same_id_of_two_users_is_two_commands() {
        let id = Uuid::now_v7();
        assert_ne!(
            CommandKey::of_client(&user("alice"), id),
            CommandKey::of_client(&user("bob"), id)
        );
        assert_eq!(
            CommandKey::of_client(&user("alice"), id),
            CommandKey::of_client(&user("alice"), id),
            "a repeat is the same command"
        );
    }

    #[test]
    fn no_client_id_reaches_a_step_key() {
        // Whatever id a client names — even a step's key it has seen in an
        // event's metadata — its command's key is not that step's key.
        let transfer = CommandKey::of_client(&user("alice"), Uuid::now_v7());
        for step in [
            TransferStep::Credit,
            TransferStep::Complete,
            TransferStep::Refund,
        ] {
            let step_key = CommandKey::of_step(transfer, step);
            for attacker in ["alice", "bob"] {
                let named = CommandKey::of_client(&user(attacker), step_key.as_uuid());
                assert_ne!(named, step_key);
                assert_ne!(named, transfer);
            }
        }
        assert_ne!(
            CommandKey::of_step(transfer, TransferStep::Credit),
            CommandKey::of_step(transfer, TransferStep::Complete)
        );
    }
}
