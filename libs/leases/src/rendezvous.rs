//! Which live replica should own each partition: rendezvous
//! (highest-random-weight) hashing. Every replica that sees the same members
//! computes the same answer without talking to the others, and when one
//! replica joins or leaves only the partitions it gains or held move
//! (about 1/N of them); the rest stay where they are.

use std::collections::BTreeSet;

/// The weight of `member` for `partition`: FNV-1a over both, then a 64-bit
/// finaliser so that ids differing in one character still spread evenly.
/// Pinned by a test: replicas of different versions must agree on it.
fn weight(partition: u32, member: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut mix = |byte: u8| {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    };
    partition.to_be_bytes().into_iter().for_each(&mut mix);
    mix(b'/');
    member.bytes().for_each(&mut mix);
    // splitmix64's finaliser.
    let mut z = hash;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The member that should own `partition`, or `None` with no members.
/// Ties (vanishingly rare) go to the smaller id, so the answer never
/// depends on the order members were listed in.
pub fn owner_of<'a>(partition: u32, members: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    members
        .into_iter()
        .map(|member| (weight(partition, member), std::cmp::Reverse(member)))
        .max()
        .map(|(_, std::cmp::Reverse(member))| member)
}

/// The partitions out of `0..partitions` that `me` should own.
pub fn desired_partitions<'a>(
    partitions: u32,
    members: impl IntoIterator<Item = &'a str> + Clone,
    me: &str,
) -> BTreeSet<u32> {
    (0..partitions)
        .filter(|&partition| owner_of(partition, members.clone()) == Some(me))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn assignment(partitions: u32, members: &[&str]) -> BTreeMap<u32, String> {
        (0..partitions)
            .map(|p| (p, owner_of(p, members.iter().copied()).unwrap().to_owned()))
            .collect()
    }

    #[test]
    fn the_weight_is_pinned() {
        // Changing the hash would make replicas of two versions disagree
        // (value checked independently: FNV-1a 64 + splitmix64 finaliser).
        assert_eq!(weight(0, "a"), weight(0, "a"));
        assert_eq!(weight(7, "processor-1"), 0x77d3_8e1a_bef6_cfd7);
    }

    #[test]
    fn the_assignment_is_deterministic_and_independent_of_member_order() {
        let forward = assignment(64, &["p-a", "p-b", "p-c"]);
        let backward = assignment(64, &["p-c", "p-b", "p-a"]);
        assert_eq!(forward, backward);
        assert_eq!(forward, assignment(64, &["p-a", "p-b", "p-c"]));
    }

    #[test]
    fn no_members_means_no_owner_and_one_member_owns_everything() {
        assert_eq!(owner_of(3, []), None);
        assert_eq!(desired_partitions(8, ["solo"], "solo"), (0..8).collect());
        assert!(desired_partitions(8, ["solo"], "other").is_empty());
    }

    #[test]
    fn every_partition_has_exactly_one_owner() {
        let members = ["processor-7f2a-x1", "processor-7f2a-x2", "processor-9c01-q"];
        let sets: Vec<BTreeSet<u32>> = members
            .iter()
            .map(|me| desired_partitions(32, members, me))
            .collect();
        let total: usize = sets.iter().map(BTreeSet::len).sum();
        assert_eq!(total, 32);
        let union: BTreeSet<u32> = sets.into_iter().flatten().collect();
        assert_eq!(union, (0..32).collect());
    }

    #[test]
    fn partitions_are_spread_evenly() {
        // Similar ids, as pods of one deployment have.
        let members: Vec<String> = (0..4).map(|i| format!("command-processor-{i}")).collect();
        let members: Vec<&str> = members.iter().map(String::as_str).collect();
        let counts = assignment(1024, &members).into_values().fold(
            BTreeMap::<String, u32>::new(),
            |mut counts, owner| {
                *counts.entry(owner).or_default() += 1;
                counts
            },
        );
        assert_eq!(counts.len(), 4);
        for (member, count) in counts {
            assert!(
                (200..=312).contains(&count),
                "{member} owns {count} of 1024"
            );
        }
    }

    #[test]
    fn a_joining_member_takes_partitions_only_for_itself() {
        let before = assignment(256, &["a", "b", "c", "d"]);
        let after = assignment(256, &["a", "b", "c", "d", "e"]);
        let moved: Vec<u32> = (0..256).filter(|p| before[p] != after[p]).collect();
        assert!(moved.iter().all(|p| after[p] == "e"));
        // About a fifth move; far from all of them.
        assert!((25..=80).contains(&moved.len()), "{} moved", moved.len());
    }

    #[test]
    fn a_leaving_member_gives_up_only_its_own_partitions() {
        let before = assignment(256, &["a", "b", "c", "d"]);
        let after = assignment(256, &["a", "b", "d"]);
        for p in 0..256 {
            if before[&p] != "c" {
                assert_eq!(before[&p], after[&p], "partition {p} moved needlessly");
            } else {
                assert_ne!(after[&p], "c");
            }
        }
    }
}
