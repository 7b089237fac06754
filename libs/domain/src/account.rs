use serde::{Deserialize, Serialize};

use crate::{AccountEvent, AccountId, Balance, Currency, UserId};

/// A bank account as rebuilt from its events. `version` counts the events
/// applied so far (0 for an account that was never opened).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    pub id: AccountId,
    pub version: i64,
    pub status: AccountStatus,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "status",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum AccountStatus {
    NotOpened,
    Open {
        owner_id: UserId,
        currency: Currency,
        balance: Balance,
        /// Debited by transfers that have not ended yet.
        #[serde(default)]
        in_flight: Balance,
    },
    Closed {
        owner_id: UserId,
        currency: Currency,
    },
}

/// `balance - amount`, floored at zero: events record what happened, so
/// applying one never fails.
fn less(balance: Balance, amount: crate::Amount) -> Balance {
    balance.minus(amount).unwrap_or(Balance::ZERO)
}

fn next_status(status: AccountStatus, event: &AccountEvent) -> AccountStatus {
    let (owner_id, currency, balance, in_flight) = match (status, event) {
        (
            _,
            AccountEvent::AccountOpened {
                owner_id,
                currency,
                initial_balance,
            },
        ) => {
            return AccountStatus::Open {
                owner_id: owner_id.clone(),
                currency: currency.clone(),
                balance: *initial_balance,
                in_flight: Balance::ZERO,
            };
        }
        (
            AccountStatus::Open {
                owner_id,
                currency,
                balance,
                in_flight,
            },
            _,
        ) => (owner_id, currency, balance, in_flight),
        (status, _) => return status,
    };
    let (balance, in_flight) = match event {
        AccountEvent::MoneyDeposited { balance_after, .. }
        | AccountEvent::MoneyWithdrawn { balance_after, .. }
        | AccountEvent::TransferCredited { balance_after, .. } => (*balance_after, in_flight),
        AccountEvent::TransferDebited {
            amount,
            balance_after,
            ..
        } => (*balance_after, in_flight.plus(*amount).unwrap_or(in_flight)),
        AccountEvent::TransferCompleted { amount, .. } => (balance, less(in_flight, *amount)),
        AccountEvent::TransferRefunded {
            amount,
            balance_after,
            ..
        } => (*balance_after, less(in_flight, *amount)),
        AccountEvent::AccountClosed {} => return AccountStatus::Closed { owner_id, currency },
        AccountEvent::AccountOpened { .. } => (balance, in_flight),
    };
    AccountStatus::Open {
        owner_id,
        currency,
        balance,
        in_flight,
    }
}

impl Account {
    pub fn new(id: AccountId) -> Self {
        Self {
            id,
            version: 0,
            status: AccountStatus::NotOpened,
        }
    }

    /// Evolves the account by one event. Pure: no checks, because an event
    /// records something that already happened.
    pub fn apply(mut self, event: &AccountEvent) -> Self {
        self.version += 1;
        self.status = next_status(self.status, event);
        self
    }

    /// Money debited by transfers still under way.
    pub fn in_flight(&self) -> Balance {
        match &self.status {
            AccountStatus::Open { in_flight, .. } => *in_flight,
            _ => Balance::ZERO,
        }
    }

    pub fn replay<'a>(id: AccountId, events: impl IntoIterator<Item = &'a AccountEvent>) -> Self {
        events.into_iter().fold(Self::new(id), Self::apply)
    }

    pub fn owner(&self) -> Option<&UserId> {
        match &self.status {
            AccountStatus::NotOpened => None,
            AccountStatus::Open { owner_id, .. } | AccountStatus::Closed { owner_id, .. } => {
                Some(owner_id)
            }
        }
    }

    pub fn balance(&self) -> Balance {
        match &self.status {
            AccountStatus::Open { balance, .. } => *balance,
            _ => Balance::ZERO,
        }
    }
}
