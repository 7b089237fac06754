//! One pooled connection kept by a single writer — a commit queue's worker,
//! which has one statement in flight at a time — instead of taken from
//! the pool and given back for every statement. sqlx tests a connection
//! with a round trip each time it goes back to the pool, so a writer that
//! keeps its connection saves a round trip (and a wake-up of the backend
//! and of a task here) per statement. After an error the connection goes
//! back to the pool, which tests it and closes it if it is broken, and the
//! next statement takes another.

use sqlx::pool::PoolConnection;
use sqlx::{PgConnection, PgPool, Postgres};

pub struct HeldConnection {
    pool: PgPool,
    held: Option<PoolConnection<Postgres>>,
}

impl HeldConnection {
    pub fn new(pool: PgPool) -> Self {
        Self { pool, held: None }
    }

    /// Runs `statement` on the connection held (taken from the pool when
    /// none is); after an error the connection goes back to the pool, which
    /// tests it and closes it if it is broken.
    pub async fn run<T, E: From<sqlx::Error>>(
        &mut self,
        statement: impl AsyncFnOnce(&mut PgConnection) -> Result<T, E>,
    ) -> Result<T, E> {
        let conn = match self.held.take() {
            Some(held) => held,
            None => self.pool.acquire().await?,
        };
        let result = statement(&mut **self.held.insert(conn)).await;
        if result.is_err() {
            self.held = None;
        }
        result
    }
}
