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
    },
    Closed {
        owner_id: UserId,
        currency: Currency,
    },
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
        self.status = match (self.status, event) {
            (
                _,
                AccountEvent::AccountOpened {
                    owner_id,
                    currency,
                    initial_balance,
                },
            ) => AccountStatus::Open {
                owner_id: owner_id.clone(),
                currency: currency.clone(),
                balance: *initial_balance,
            },
            (
                AccountStatus::Open {
                    owner_id, currency, ..
                },
                AccountEvent::MoneyDeposited { balance_after, .. },
            )
            | (
                AccountStatus::Open {
                    owner_id, currency, ..
                },
                AccountEvent::MoneyWithdrawn { balance_after, .. },
            ) => AccountStatus::Open {
                owner_id,
                currency,
                balance: *balance_after,
            },
            (
                AccountStatus::Open {
                    owner_id, currency, ..
                },
                AccountEvent::AccountClosed {},
            ) => AccountStatus::Closed { owner_id, currency },
            (status, _) => status,
        };
        self
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
