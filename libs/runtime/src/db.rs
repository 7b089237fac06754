use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, PgPool};

use crate::pool_options;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("bad DATABASE_URL: {0}")]
    Url(#[source] sqlx::Error),
    #[error("cannot reach PostgreSQL: {0}")]
    Connect(#[source] sqlx::Error),
    #[error("migrating schema {schema}: {source}")]
    Migrate {
        schema: String,
        source: sqlx::migrate::MigrateError,
    },
}

async fn connect_schema_once(
    database_url: &str,
    schema: &'static str,
    migrator: &Migrator,
    pool_size: u32,
) -> Result<PgPool, DbError> {
    let options: PgConnectOptions = database_url.parse().map_err(DbError::Url)?;
    let options = options
        .options([("search_path", schema)])
        .log_statements(tracing::log::LevelFilter::Trace);
    let pool = pool_options(pool_size)
        .connect_with(options)
        .await
        .map_err(DbError::Connect)?;
    let create = format!("CREATE SCHEMA IF NOT EXISTS {schema}");
    sqlx::raw_sql(sqlx::AssertSqlSafe(create))
        .execute(&pool)
        .await
        .map_err(DbError::Connect)?;
    migrator
        .run(&pool)
        .await
        .map_err(|source| DbError::Migrate {
            schema: schema.to_owned(),
            source,
        })?;
    Ok(pool)
}

async fn ensure_database_once(database_url: &str) -> Result<(), DbError> {
    let options: PgConnectOptions = database_url.parse().map_err(DbError::Url)?;
    let Some(name) = options.get_database().map(str::to_owned) else {
        return Ok(());
    };
    let admin = options.database("postgres");
    let mut conn = sqlx::PgConnection::connect_with(&admin)
        .await
        .map_err(DbError::Connect)?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(&name)
            .fetch_one(&mut conn)
            .await
            .map_err(DbError::Connect)?;
    if !exists {
        let create = format!("CREATE DATABASE \"{}\"", name.replace('"', "\"\""));
        // Two services may race to create it; the loser's error is harmless.
        if let Err(error) = sqlx::raw_sql(sqlx::AssertSqlSafe(create))
            .execute(&mut conn)
            .await
        {
            tracing::debug!(%error, "create database raced");
        }
    }
    Ok(())
}

/// How long start-up waits for PostgreSQL before giving up: a service
/// restarted while the database is down waits for it rather than exiting.
const STARTUP_PATIENCE: Duration = Duration::from_secs(90);

async fn patiently<T, F, Fut>(what: &str, attempt: F) -> Result<T, DbError>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<T, DbError>>,
{
    let deadline = tokio::time::Instant::now() + STARTUP_PATIENCE;
    let mut delay = Duration::from_millis(100);
    loop {
        match attempt().await {
            Err(DbError::Connect(e)) if tokio::time::Instant::now() < deadline => {
                tracing::warn!(error = %e, "{what}: PostgreSQL not reachable yet; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(2));
            }
            other => return other,
        }
    }
}

/// A pool whose connections work inside `schema` (the one schema a service
/// owns): the schema is created, its migrations run — with their own
/// `_sqlx_migrations` table inside it — and `search_path` points there, so
/// services never touch each other's tables. Waits for PostgreSQL at start.
pub async fn connect_schema(
    database_url: &str,
    schema: &'static str,
    migrator: &Migrator,
    pool_size: u32,
) -> Result<PgPool, DbError> {
    patiently(schema, || {
        connect_schema_once(database_url, schema, migrator, pool_size)
    })
    .await
}

/// Creates the database named in `database_url` when it does not exist yet,
/// so `make demo` works on a fresh PostgreSQL and each test run can ask for
/// a database of its own. Waits for PostgreSQL at start.
pub async fn ensure_database(database_url: &str) -> Result<(), DbError> {
    patiently("database", || ensure_database_once(database_url)).await
}
