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

    /// The connection held, taken from the pool when none is.
    pub async fn get(&mut self) -> Result<&mut PgConnection, sqlx::Error> {
        let held = match self.held.take() {
            Some(held) => held,
            None => self.pool.acquire().await?,
        };
        Ok(&mut **self.held.insert(held))
    }

    /// Gives the connection back to the pool (after an error: the pool
    /// tests it and closes it if it is broken).
    pub fn release(&mut self) {
        self.held = None;
    }

    /// `result`, releasing the connection when it is an error.
    pub fn check<T>(&mut self, result: Result<T, sqlx::Error>) -> Result<T, sqlx::Error> {
        if result.is_err() {
            self.release();
        }
        result
    }
}
