//! The database side of one read model: the schema it lives in, a pool
//! that can be replaced after a rebuild's switch, and the switch gate.

use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use ledgerline_runtime::{Readiness, connect_schema, pool_options};
use sqlx::migrate::Migrator;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, PgConnection, PgPool};

use crate::checkpoint::ensure_checkpoint_tables;
use crate::rebuild_board::RebuildBoard;

/// How long a pool replaced after a rebuild's switch stays open for the
/// work that took it before the switch.
const RETIRE_AFTER: Duration = Duration::from_secs(10);

/// A read model's schema and pool. Clones share one pool slot: after a
/// rebuild renames the rebuilt schema into place, the pool is replaced by a
/// fresh one, so new work never takes a connection (or a statement sqlx
/// prepared on it) from before the switch.
#[derive(Clone)]
pub struct ReadModelDb {
    inner: Arc<Inner>,
}

struct Inner {
    schema: &'static str,
    database_url: String,
    migrator: &'static Migrator,
    pool_size: u32,
    pool: RwLock<PgPool>,
    board: Mutex<RebuildBoard>,
}

#[derive(Debug, thiserror::Error)]
pub enum ReadModelError {
    #[error(transparent)]
    Db(#[from] ledgerline_runtime::DbError),
    #[error("preparing the read model: {0}")]
    Sql(#[from] sqlx::Error),
    #[error("migrating: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl ReadModelDb {
    /// Connects to `schema`, runs its migrations and creates the
    /// checkpoint tables (waiting for PostgreSQL at start, like every pool).
    pub async fn connect(
        database_url: &str,
        schema: &'static str,
        migrator: &'static Migrator,
        pool_size: u32,
    ) -> Result<Self, ReadModelError> {
        let pool = connect_schema(database_url, schema, migrator, pool_size).await?;
        ensure_checkpoint_tables(&pool).await?;
        Ok(Self {
            inner: Arc::new(Inner {
                schema,
                database_url: database_url.to_owned(),
                migrator,
                pool_size,
                pool: RwLock::new(pool),
                board: Mutex::new(RebuildBoard::default()),
            }),
        })
    }

    /// The pool to use now. Take it per unit of work and do not keep it:
    /// a switch replaces it.
    pub fn pool(&self) -> PgPool {
        self.inner
            .pool
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Adds the `postgres` readiness check, on whichever pool is current.
    pub fn ready(&self, readiness: Readiness) -> Readiness {
        let db = self.clone();
        readiness.check("postgres", move || {
            let pool = db.pool();
            async move {
                sqlx::query("SELECT 1")
                    .execute(&pool)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }
        })
    }

    pub fn schema(&self) -> &'static str {
        self.inner.schema
    }

    pub(crate) fn migrator(&self) -> &'static Migrator {
        self.inner.migrator
    }

    pub(crate) fn board(&self) -> std::sync::MutexGuard<'_, RebuildBoard> {
        self.inner
            .board
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn options(&self) -> Result<PgConnectOptions, sqlx::Error> {
        let options: PgConnectOptions = self.inner.database_url.parse()?;
        Ok(options.log_statements(tracing::log::LevelFilter::Trace))
    }

    /// A pool whose `search_path` is `schema` (the live one or a shadow).
    pub(crate) async fn pool_for(&self, schema: &str, size: u32) -> Result<PgPool, sqlx::Error> {
        pool_options(size)
            .connect_with(self.options()?.options([("search_path", schema)]))
            .await
    }

    /// A connection of its own (no pool), for session-level locks and the
    /// schema switch.
    pub(crate) async fn admin_connection(&self) -> Result<PgConnection, sqlx::Error> {
        PgConnection::connect_with(&self.options()?).await
    }

    /// Replaces the pool by a fresh one on the (renamed) live schema. The
    /// old pool is closed only after [`RETIRE_AFTER`]: a request that took
    /// it just before the switch still gets a connection (closing at once
    /// would fail its acquire), and its statements resolve through
    /// `search_path` to the renamed schema, as other replicas' do.
    pub(crate) async fn replace_pool(&self) -> Result<(), sqlx::Error> {
        let fresh = self
            .pool_for(self.inner.schema, self.inner.pool_size)
            .await?;
        let old = std::mem::replace(
            &mut *self
                .inner
                .pool
                .write()
                .unwrap_or_else(PoisonError::into_inner),
            fresh,
        );
        tokio::spawn(async move {
            tokio::time::sleep(RETIRE_AFTER).await;
            old.close().await
        });
        Ok(())
    }
}

/// The advisory-lock key every write to a read model holds shared (in its
/// transaction) and a rebuild's switch holds exclusively: the pause that
/// lets the switch see a read model nobody is writing, across replicas.
pub(crate) fn gate_key(schema: &str) -> String {
    format!("ledgerline:switch:{schema}")
}

/// Takes the switch gate, shared, inside a write transaction. Always the
/// first statement of the transaction, so every later statement resolves
/// table names after any switch that was waiting has committed.
pub(crate) async fn enter_gate(tx: &mut PgConnection, schema: &str) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_advisory_xact_lock_shared(hashtext($1))")
        .bind(gate_key(schema))
        .execute(tx)
        .await
        .map(|_| ())
}

/// Begins a transaction on the live read model that holds the switch gate:
/// for writers outside the runner (the audit log's command outcomes), so a
/// rebuild's switch pauses them too.
pub async fn write_gated(
    db: &ReadModelDb,
) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error> {
    let mut tx = db.pool().begin().await?;
    enter_gate(&mut tx, db.schema()).await?;
    Ok(tx)
}
