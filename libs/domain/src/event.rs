use serde::{Deserialize, Serialize};

use crate::{Amount, Balance, Currency, UserId};

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
    MoneyDeposited {
        amount: Amount,
        balance_after: Balance,
    },
    MoneyWithdrawn {
        amount: Amount,
        balance_after: Balance,
    },
    AccountClosed {},
}

impl AccountEvent {
    pub fn event_type(&self) -> &'static str {
        match self {
            Self::AccountOpened { .. } => "AccountOpened",
            Self::MoneyDeposited { .. } => "MoneyDeposited",
            Self::MoneyWithdrawn { .. } => "MoneyWithdrawn",
            Self::AccountClosed {} => "AccountClosed",
        }
    }

    /// The version of this event type's `data` shape.
    pub fn schema_version(&self) -> u32 {
        1
    }
}
