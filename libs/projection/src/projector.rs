use std::future::Future;

use ledgerline_contracts::EventEnvelope;
use sqlx::PgConnection;

/// One read model: how events change it.
pub trait Projector: Clone + Send + Sync + 'static {
    /// The read model's name, e.g. `AccountBalances`.
    const NAME: &'static str;
    /// The durable consumer's name, e.g. `balance-service`.
    const DURABLE: &'static str;

    /// Applies `events` inside the caller's transaction: in order, each the
    /// next version of its account (duplicates and gaps are already dealt
    /// with). A batch of any size, a single event being a batch of one: a
    /// projector folds them in memory and writes a few set-based statements.
    fn apply(
        &self,
        tx: &mut PgConnection,
        events: &[EventEnvelope],
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;

    /// Copies into a rebuilt schema what the read model holds that the
    /// event store does not (the audit log's command outcomes). Called at
    /// the start of a rebuild and again, with writers paused, just before
    /// the switch; it must skip what it copied before.
    fn carry_over(
        &self,
        _tx: &mut PgConnection,
        _live: &str,
        _shadow: &str,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send {
        async { Ok(()) }
    }
}
