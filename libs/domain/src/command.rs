use serde::{Deserialize, Serialize};

use crate::{AccountId, Amount, Balance, Currency, Reference};

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
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reference: Option<Reference>,
    },
    Withdraw {
        account_id: AccountId,
        amount: Amount,
    },
    CloseAccount {
        account_id: AccountId,
    },
    /// A transfer's first step, decided on the source: the user's command.
    /// Money leaves the source and is "in flight" until the transfer ends.
    Transfer {
        account_id: AccountId,
        to_account_id: AccountId,
        amount: Amount,
    },
    /// Second step, on the target (issued by the processor, never a user).
    CreditTransfer {
        account_id: AccountId,
        from_account_id: AccountId,
        amount: Amount,
        currency: Currency,
    },
    /// Last step on the source when the credit succeeded.
    CompleteTransfer {
        account_id: AccountId,
        to_account_id: AccountId,
        amount: Amount,
    },
    /// Last step on the source when the credit was refused: money returns.
    RefundTransfer {
        account_id: AccountId,
        to_account_id: AccountId,
        amount: Amount,
    },
}

/// The name of a command, as used in routes, metrics and frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CommandKind {
    OpenAccount,
    Deposit,
    Withdraw,
    CloseAccount,
    Transfer,
    CreditTransfer,
    CompleteTransfer,
    RefundTransfer,
}

impl AccountCommand {
    pub fn account_id(&self) -> &AccountId {
        match self {
            Self::OpenAccount { account_id, .. }
            | Self::Deposit { account_id, .. }
            | Self::Withdraw { account_id, .. }
            | Self::CloseAccount { account_id }
            | Self::Transfer { account_id, .. }
            | Self::CreditTransfer { account_id, .. }
            | Self::CompleteTransfer { account_id, .. }
            | Self::RefundTransfer { account_id, .. } => account_id,
        }
    }

    /// A step of a transfer after its debit: issued by the processor only.
    pub fn is_transfer_step(&self) -> bool {
        matches!(
            self,
            Self::CreditTransfer { .. }
                | Self::CompleteTransfer { .. }
                | Self::RefundTransfer { .. }
        )
    }

    pub fn kind(&self) -> CommandKind {
        match self {
            Self::OpenAccount { .. } => CommandKind::OpenAccount,
            Self::Deposit { .. } => CommandKind::Deposit,
            Self::Withdraw { .. } => CommandKind::Withdraw,
            Self::CloseAccount { .. } => CommandKind::CloseAccount,
            Self::Transfer { .. } => CommandKind::Transfer,
            Self::CreditTransfer { .. } => CommandKind::CreditTransfer,
            Self::CompleteTransfer { .. } => CommandKind::CompleteTransfer,
            Self::RefundTransfer { .. } => CommandKind::RefundTransfer,
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
            Self::Transfer => "transfer",
            Self::CreditTransfer => "credit-transfer",
            Self::CompleteTransfer => "complete-transfer",
            Self::RefundTransfer => "refund-transfer",
        }
    }

    /// The commands a user may send (`POST /commands/{slug}`); the steps a
    /// transfer takes after its debit are the processor's alone.
    pub fn from_slug(slug: &str) -> Option<Self> {
        Self::USER_SENT.into_iter().find(|k| k.slug() == slug)
    }

    /// The commands a user may send, each at `POST /commands/{slug}`.
    pub const USER_SENT: [Self; 5] = [
        Self::OpenAccount,
        Self::Deposit,
        Self::Withdraw,
        Self::CloseAccount,
        Self::Transfer,
    ];
}

/// Convenience for tests and callers that build commands by hand.
impl AccountCommand {
    pub fn deposit(account_id: AccountId, amount: Amount) -> Self {
        Self::Deposit {
            account_id,
            amount,
            reference: None,
        }
    }
    pub fn withdraw(account_id: AccountId, amount: Amount) -> Self {
        Self::Withdraw { account_id, amount }
    }
}
