use crate::{Amount, Balance, Currency};

/// A business rule said no. The account is left exactly as it was.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("Account already exists")]
    AccountAlreadyExists,
    #[error("Account not found")]
    AccountNotFound,
    #[error("Account is closed")]
    AccountClosed,
    #[error("You do not own this account")]
    NotOwner,
    #[error("Insufficient funds: balance {balance}, requested {requested}")]
    InsufficientFunds { balance: Balance, requested: Amount },
    #[error("Balance must be zero to close the account (it is {balance})")]
    NonZeroBalance { balance: Balance },
    #[error("The balance would exceed what an account can hold")]
    BalanceLimitExceeded,
    #[error("A transfer needs two different accounts")]
    SameAccount,
    #[error("The target account holds {target}, not {sent}")]
    CurrencyMismatch { sent: Currency, target: Currency },
    #[error("A transfer from this account has not finished yet")]
    TransferInFlight,
    #[error("No transfer of that amount is under way from this account")]
    NoTransferInFlight,
}

impl Rejection {
    /// A stable, machine-readable code for clients.
    pub fn code(&self) -> &'static str {
        match self {
            Self::AccountAlreadyExists => "ACCOUNT_ALREADY_EXISTS",
            Self::AccountNotFound => "ACCOUNT_NOT_FOUND",
            Self::AccountClosed => "ACCOUNT_CLOSED",
            Self::NotOwner => "NOT_OWNER",
            Self::InsufficientFunds { .. } => "INSUFFICIENT_FUNDS",
            Self::NonZeroBalance { .. } => "NON_ZERO_BALANCE",
            Self::BalanceLimitExceeded => "BALANCE_LIMIT_EXCEEDED",
            Self::SameAccount => "SAME_ACCOUNT",
            Self::CurrencyMismatch { .. } => "CURRENCY_MISMATCH",
            Self::TransferInFlight => "TRANSFER_IN_FLIGHT",
            Self::NoTransferInFlight => "NO_TRANSFER_IN_FLIGHT",
        }
    }
}
