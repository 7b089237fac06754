//! How every PostgreSQL pool of the process is set up.
//!
//! sqlx's default tests a pooled connection before every acquire with a
//! round trip (`test_before_acquire`), so each statement waits for two
//! round trips, two wake-ups of the backend and two of ours. On a
//! command's path that is twice over (the accept's insert, the decision's
//! commit); at 200 commands a second these tests were about a fifth of
//! the messages the process sent to PostgreSQL (`strace` of `ledgerline
//! all`). A connection in steady use needs no test: a
//! connection that broke fails its statement, which the callers already
//! meet (the command API answers 503 and nothing is queued, the processor
//! and the projectors retry), and sqlx closes it. Only a connection that
//! sat idle a while — where a restarted server or a dropped link goes
//! unnoticed — is tested before it is handed out.

use std::time::Duration;

use sqlx::Connection;
use sqlx::postgres::PgPoolOptions;

/// A pooled connection idle longer than this is tested (one round trip)
/// before it is handed out.
pub const IDLE_CONNECTION_TEST_AFTER: Duration = Duration::from_secs(5);

/// How long an acquire waits for a free connection.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// Pool options of at most `size` connections (see the module docs).
pub fn pool_options(size: u32) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(size)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for > IDLE_CONNECTION_TEST_AFTER {
                    conn.ping().await?;
                }
                Ok(true)
            })
        })
}
