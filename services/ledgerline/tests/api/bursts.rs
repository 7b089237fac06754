//! Bursts of commands whose outcomes depend on their order, and the check
//! that they were decided exactly as one at a time would decide them.

use std::time::Duration;

use command_processor::handle_command;
use ledgerline::Target;
use ledgerline_bus::Bus;
use ledgerline_contracts::{CommandMessage, StatusKind};
use ledgerline_store::{EventStore, InMemoryEventStore, PostgresEventStore};
use ledgerline_testkit::commands::{deposit, message, open, withdraw};

/// Opens, then deposits and withdrawals whose outcomes depend on their
/// order: a withdrawal decided before its deposit would be refused.
pub fn burst(accounts: [&str; 3]) -> Vec<CommandMessage> {
    let mut messages: Vec<CommandMessage> =
        accounts.iter().map(|a| message("alice", open(a))).collect();
    for round in 0..40_i64 {
        let account = accounts[(round % 3) as usize];
        messages.push(message("alice", deposit(account, 10 + round)));
        messages.push(message("alice", withdraw(account, 15 + round)));
    }
    // Refused: never opened.
    messages.push(message("alice", deposit("acc-g9", 1)));
    messages
}

/// Queues `messages` on the command stream, as the command API would.
pub async fn publish(bus: &Bus, messages: &[CommandMessage]) {
    let outgoing: Vec<_> = messages
        .iter()
        .map(|m| bus.outgoing_command(m).unwrap())
        .collect();
    bus.publish_all(&outgoing).await.unwrap();
}

/// Every service but the command processor (tests start it themselves).
pub const ALL_BUT_THE_PROCESSOR: [Target; 6] = [
    Target::EventStore,
    Target::CommandApi,
    Target::BalanceService,
    Target::HistoryService,
    Target::AuditService,
    Target::SocketService,
];

/// Waits for every command's outcome and checks each (and the accounts)
/// against the same commands decided one at a time, in order, in memory.
pub async fn assert_decided_as_one_at_a_time(
    store: &PostgresEventStore,
    messages: &[CommandMessage],
) {
    let keys: Vec<_> = messages.iter().map(|m| m.key()).collect();
    let mut decided = Default::default();
    for _ in 0..300 {
        decided = store.outcomes(&keys).await.unwrap();
        if decided.len() == keys.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(decided.len(), keys.len(), "every command has an outcome");
    let oracle = InMemoryEventStore::new();
    let mut accounts = std::collections::BTreeSet::new();
    for m in messages {
        let expected = handle_command(&oracle, m, 10).await.unwrap().status.payload;
        let got = &decided[&m.key()].payload;
        assert_eq!(
            (got.status, got.error.as_ref().map(|e| &e.code)),
            (expected.status, expected.error.as_ref().map(|e| &e.code)),
            "{:?}",
            m.command
        );
        accounts.insert(m.command.account_id().clone());
    }
    let rejected = decided
        .values()
        .filter(|s| s.payload.status == StatusKind::Rejected)
        .count();
    assert!(rejected > 0, "the burst includes refusals");
    for id in accounts {
        assert_eq!(
            store.load(&id).await.unwrap(),
            oracle.load(&id).await.unwrap()
        );
    }
}
