use serde::{Deserialize, Serialize};

use crate::{AccountId, Amount, Balance, Currency};

/// What a user asks of one bank account. Who asks travels beside it, so
/// `decide` can check ownership.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all_fields = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum AccountCommand {
    OpenAccount {
        account_id: AccountId,
        currency: Currency,
        initial_balance: Balance,
    },
    Deposit {
        account_id: AccountId,
        amount: Amount,
    },
    Withdraw {
        account_id: AccountId,
        amount: Amount,
    },
    CloseAccount {
        account_id: AccountId,
    },
}

/// The name of a command, as used in routes, metrics and frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CommandKind {
    OpenAccount,
    Deposit,
    Withdraw,
    CloseAccount,
}

impl AccountCommand {
    pub fn account_id(&self) -> &AccountId {
        match self {
            Self::OpenAccount { account_id, .. }
            | Self::Deposit { account_id, .. }
            | Self::Withdraw { account_id, .. }
            | Self::CloseAccount { account_id } => account_id,
        }
    }

    pub fn kind(&self) -> CommandKind {
        match self {
            Self::OpenAccount { .. } => CommandKind::OpenAccount,
            Self::Deposit { .. } => CommandKind::Deposit,
            Self::Withdraw { .. } => CommandKind::Withdraw,
            Self::CloseAccount { .. } => CommandKind::CloseAccount,
        }
    }
}

impl CommandKind {
    /// The route segment: `open-account`, `deposit`, `withdraw`, `close-account`.
    pub fn slug(self) -> &'static str {
        match self {
            Self::OpenAccount => "open-account",
            Self::Deposit => "deposit",
            Self::Withdraw => "withdraw",
            Self::CloseAccount => "close-account",
        }
    }

    pub fn from_slug(slug: &str) -> Option<Self> {
        [
            Self::OpenAccount,
            Self::Deposit,
            Self::Withdraw,
            Self::CloseAccount,
        ]
        .into_iter()
        .find(|k| k.slug() == slug)
    }
}

/// Convenience for tests and callers that build commands by hand.
impl AccountCommand {
    pub fn deposit(account_id: AccountId, amount: Amount) -> Self {
        Self::Deposit { account_id, amount }
    }
    pub fn withdraw(account_id: AccountId, amount: Amount) -> Self {
        Self::Withdraw { account_id, amount }
    }
}
