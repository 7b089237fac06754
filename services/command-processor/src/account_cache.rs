//! The accounts a partition task decided recently, as they stand after its
//! last commit. Only the partition's owner writes its accounts, so the
//! cached state is the stored one and the next command needs no load; if
//! that ever stops being true (another writer during a handover), the
//! commit's version check fails, the entries are forgotten and the commands
//! are decided again from the store.

use std::collections::HashMap;

use ledgerline_domain::{Account, AccountId};

/// Accounts a partition task keeps decided state for: a hot set of
/// accounts costs no load at all, and 10,000 accounts are a few MB.
pub const CACHED_ACCOUNTS: usize = 10_000;

pub struct AccountCache {
    accounts: HashMap<AccountId, Account>,
    capacity: usize,
}

impl AccountCache {
    pub fn new(capacity: usize) -> Self {
        Self {
            accounts: HashMap::new(),
            capacity: capacity.max(1),
        }
    }

    pub fn get(&self, id: &AccountId) -> Option<&Account> {
        self.accounts.get(id)
    }

    /// Remembers an account as committed. When full, starts over: a cold
    /// account costs one load, which is all a miss ever costs.
    pub fn put(&mut self, account: Account) {
        if self.accounts.len() >= self.capacity && !self.accounts.contains_key(&account.id) {
            self.accounts.clear();
        }
        self.accounts.insert(account.id.clone(), account);
    }

    pub fn forget(&mut self, id: &AccountId) {
        self.accounts.remove(id);
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.accounts.len()
    }

    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(id: &str, version: i64) -> Account {
        let mut account = Account::new(AccountId::parse(id).unwrap());
        account.version = version;
        account
    }

    #[test]
    fn keeps_the_latest_state_and_starts_over_when_full() {
        let mut cache = AccountCache::new(2);
        cache.put(account("a", 1));
        cache.put(account("a", 2));
        cache.put(account("b", 1));
        assert_eq!(
            cache
                .get(&AccountId::parse("a").unwrap())
                .map(|a| a.version),
            Some(2)
        );
        assert_eq!(cache.len(), 2);
        cache.put(account("c", 1));
        assert_eq!(cache.len(), 1);
        assert!(cache.get(&AccountId::parse("a").unwrap()).is_none());
        cache.forget(&AccountId::parse("c").unwrap());
        assert!(cache.is_empty());
    }
}
