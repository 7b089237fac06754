use ledgerline_domain::AccountId;

/// The command partition of an account: FNV-1a of its id, so every
/// command for one account lands on one partition, on every replica, in
/// every version (the hash must never change).
pub fn partition_of(account: &AccountId, partitions: u32) -> u32 {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in account.as_str().bytes() {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash % partitions.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_partition_is_stable_and_in_range() {
        let id = AccountId::parse("acc-123").unwrap();
        assert_eq!(partition_of(&id, 8), partition_of(&id, 8));
        // Pinned: changing the hash would reorder commands across a deploy.
        assert_eq!(
            partition_of(&AccountId::parse("a").unwrap(), 1_000_000),
            3_826_002_220 % 1_000_000
        );
        for n in 1..50 {
            assert!(partition_of(&id, n) < n);
        }
    }
}
