#![allow(clippy::unwrap_used)]
//! The event store read over NATS (`RemoteStore` asking what
//! `serve_store_reads` answers) gives what the store itself gives, even for
//! pages whose events are as large as events can be: a page of `MAX_PAGE`
//! such events is larger than a NATS message may be.

use std::sync::Arc;
use std::time::Duration;

use ledgerline_bus::{Bus, RemoteStore, serve_store_reads};
use ledgerline_contracts::CommandKey;
use ledgerline_domain::{AccountEvent, AccountId, Amount, Balance, Currency, Reference};
use ledgerline_store::{Decision, EventStore, InMemoryEventStore, MAX_PAGE, StoreReads};
use ledgerline_testkit::TestPrefix;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// Events on the account beyond one page.
const EVENTS: i64 = 1_200;

/// The largest id there is: 64 characters.
fn longest_id(letter: char) -> String {
    std::iter::repeat_n(letter, 64).collect()
}

/// An account opened and then deposited into `EVENTS - 1` times, each with
/// the longest reference (140 characters of four bytes each), committed to
/// `store` as one decision.
async fn largest_events(store: &InMemoryEventStore) -> AccountId {
    let account = AccountId::parse(longest_id('a')).unwrap();
    let owner = ledgerline_domain::UserId::parse(longest_id('u')).unwrap();
    let reference = Reference::parse("𝄞".repeat(140)).unwrap();
    let mut events = vec![AccountEvent::AccountOpened {
        owner_id: owner.clone(),
        currency: Currency::parse("EUR").unwrap(),
        initial_balance: Balance::from_minor(0).unwrap(),
    }];
    events.extend((1..EVENTS).map(|n| AccountEvent::MoneyDeposited {
        amount: Amount::from_minor(1).unwrap(),
        balance_after: Balance::from_minor(n).unwrap(),
        reference: Some(reference.clone()),
    }));
    let decision = Decision {
        key: CommandKey::from_stored(Uuid::now_v7()),
        command_id: Uuid::now_v7(),
        correlation_id: Uuid::now_v7(),
        user_id: owner,
        account_id: account.clone(),
        expected_version: 0,
        outcome: Ok(events),
        snapshot: None,
        decided_at: OffsetDateTime::now_utc(),
        traceparent: None,
    };
    store.commit(decision).await.unwrap();
    account
}

#[tokio::test]
async fn pages_of_the_largest_events_read_over_nats_are_whole() {
    let prefix = TestPrefix::new("remote-store");
    let connect = Bus::connect(prefix.nats_url(), prefix.as_str(), 1);
    let bus = tokio::time::timeout(Duration::from_secs(20), connect)
        .await
        .unwrap()
        .unwrap();
    let store = InMemoryEventStore::new();
    let account = largest_events(&store).await;
    let local: Arc<dyn StoreReads> = Arc::new(store);
    let shutdown = CancellationToken::new();
    let serving = tokio::spawn(serve_store_reads(
        bus.clone(),
        local.clone(),
        shutdown.clone(),
    ));
    let remote = RemoteStore::new(bus.clone());

    // One event is over a kilobyte, so a page of MAX_PAGE would not fit
    // one NATS message; the remote read still answers what the local one does.
    let one = local.account_events(&account, 1, 1).await.unwrap();
    let size = serde_json::to_vec(&one).unwrap().len() as i64;
    assert!(size * MAX_PAGE > 1024 * 1024, "an event of {size} bytes");

    let wanted = local.account_events(&account, 0, MAX_PAGE).await.unwrap();
    let got = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            match remote.account_events(&account, 0, MAX_PAGE).await {
                Ok(events) => break events,
                // The responders may not be subscribed yet.
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(got.len() as i64, MAX_PAGE);
    assert_eq!(got, wanted);

    // From the middle, and past the end: the same as the store says.
    let tail = remote
        .account_events(&account, 700, MAX_PAGE)
        .await
        .unwrap();
    assert_eq!(
        tail,
        local.account_events(&account, 700, MAX_PAGE).await.unwrap()
    );
    assert_eq!(tail.len() as i64, EVENTS - 700);

    let log = remote.events(0, MAX_PAGE, None).await.unwrap();
    assert_eq!(log, local.events(0, MAX_PAGE, None).await.unwrap());
    assert_eq!(log.len() as i64, MAX_PAGE);
    let rest = remote
        .events(log[log.len() - 1].global_position, MAX_PAGE, None)
        .await
        .unwrap();
    assert_eq!(rest.len() as i64, EVENTS - MAX_PAGE);

    shutdown.cancel();
    let _ = serving.await;
}
