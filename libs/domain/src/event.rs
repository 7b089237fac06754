use serde::{Deserialize, Serialize};

use crate::{AccountId, Amount, Balance, Currency, Reference, UserId};

/// What happened to one bank account. Stored as `eventType` + `data`.
/// Amounts in `data` are integer minor units.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "eventType", content = "data", rename_all_fields = "camelCase")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum AccountEvent {
    AccountOpened {
        owner_id: UserId,
        currency: Currency,
        initial_balance: Balance,
    },
    /// Schema version 2 added `reference` (required, may be null); stored
    /// version-1 events are upcast by the event store when read.
    MoneyDeposited {
        amount: Amount,
        balance_after: Balance,
        #[serde(deserialize_with = "crate::required_nullable")]
        reference: Option<Reference>,
    },
    MoneyWithdrawn {
        amount: Amount,
        balance_after: Balance,
    },
    AccountClosed {},
    /// Money left for another account and is in flight until the transfer ends.
    TransferDebited {
        to_account_id: AccountId,
        amount: Amount,
        /// The source's currency, which the target must hold too.
        currency: Currency,
        balance_after: Balance,
    },
    TransferCredited {
        from_account_id: AccountId,
        amount: Amount,
        balance_after: Balance,
    },
    /// The target took the money: nothing is in flight any more.
    TransferCompleted {
        to_account_id: AccountId,
        amount: Amount,
    },
    /// The target refused: the money came back.
    TransferRefunded {
        to_account_id: AccountId,
        amount: Amount,
        balance_after: Balance,
    },
}

impl AccountEvent {
    pub fn event_type(&self) -> &'static str {
        match self {
            Self::AccountOpened { .. } => "AccountOpened",
            Self::MoneyDeposited { .. } => "MoneyDeposited",
            Self::MoneyWithdrawn { .. } => "MoneyWithdrawn",
            Self::AccountClosed {} => "AccountClosed",
            Self::TransferDebited { .. } => "TransferDebited",
            Self::TransferCredited { .. } => "TransferCredited",
            Self::TransferCompleted { .. } => "TransferCompleted",
            Self::TransferRefunded { .. } => "TransferRefunded",
        }
    }

    /// The version of this event type's `data` shape.
    pub fn schema_version(&self) -> u32 {
        match self {
            Self::MoneyDeposited { .. } => 2,
            _ => 1,
        }
    }
}
