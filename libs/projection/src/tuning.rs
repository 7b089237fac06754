//! The numbers that tune the read models, named once: how a projector
//! batches and retries, how a replay pages through the event store, how
//! long a read-your-writes query waits, how long a query's page may be.
//! (Intervals used in one place only, such as how often the lag gauges
//! refresh, stay beside their use.)

use std::time::Duration;

// The live projector (`runner`, `batch`): its batch size (`GROUP_SIZE`),
// pace (`BATCH_EVERY`), AckWait and ack-pending bound are the system's, in
// `ledgerline_runtime::tuning`.

/// When an event that follows a gap the store cannot heal yet comes back.
pub const GAP_RETRY: Duration = Duration::from_millis(500);
/// When an event that could not be applied (a database fault, a poison
/// event) comes back.
pub const FAULT_RETRY: Duration = Duration::from_secs(1);
/// How long to wait before binding the durable consumer again after a fault.
pub const REBIND_AFTER: Duration = Duration::from_secs(1);

// Replaying the event store (rebuild, bootstrap).

/// Pages a replay reads ahead of what it has applied (of `EVENT_PAGE`, 500
/// events: about 24,000 events in memory at most).
pub const REPLAY_READ_AHEAD: usize = 48;
/// Pages a replay asks the store for at once (each page's query overlaps
/// the decoding of the others).
pub const REPLAY_READERS: usize = 3;
/// Events a replay applies in one transaction at most (about: the pages
/// read while the last transaction was applied go in together, the last
/// one whole).
pub const REPLAY_BATCH: usize = 20_000;
/// How often a page that could not be read is asked for again (500 ms
/// apart) before a rebuild's replay gives up.
pub const PAGE_RETRIES: u32 = 20;
/// How long a new read model waits for the command processor (and the
/// store's safe high-water mark) before giving up on bootstrapping from the
/// event store and replaying the stream from its beginning instead.
pub const BOOTSTRAP_PATIENCE: Duration = Duration::from_secs(30);
/// How often a bootstrap asks again for a page it could not read: a
/// processor that does not serve event-log pages at all (an older version)
/// is given up on quickly.
pub const BOOTSTRAP_PAGE_RETRIES: u32 = 2;
/// A bootstrap's replay holds every event committed before it began; the
/// stream is followed from this long before, to cover clock skew between
/// this process and the NATS server. What both deliver is skipped as a
/// duplicate.
pub const BOOTSTRAP_OVERLAP: Duration = Duration::from_secs(60);

// Queries.

/// How long a query with `?minPosition=` waits for its read model before
/// answering 503.
pub const READ_YOUR_WRITES_PATIENCE: Duration = Duration::from_secs(3);

/// How many rows a query's page holds unless `limit` says otherwise, and
/// the most it may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageLimits {
    pub default: i64,
    pub max: i64,
}

/// `GET /projections/AccountBalances`.
pub const ACCOUNT_BALANCES_PAGE: PageLimits = PageLimits {
    default: 100,
    max: 500,
};
/// `GET /projections/TransactionHistory`.
pub const TRANSACTION_HISTORY_PAGE: PageLimits = PageLimits {
    default: 50,
    max: 500,
};
/// `GET /audit`.
pub const AUDIT_LOG_PAGE: PageLimits = PageLimits {
    default: 100,
    max: 1_000,
};
