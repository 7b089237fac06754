use ledgerline_runtime::{Config, connect_schema, ensure_database};
use sqlx::migrate::Migrator;
use sqlx::{Connection, PgConnection, PgPool};
use uuid::Uuid;

use crate::cleanup::run_to_end;

/// A database of the test's own on the PostgreSQL server of `DATABASE_URL`,
/// dropped (`WITH (FORCE)`, so open pools do not hold it) when this value
/// is dropped — also when the test fails.
#[derive(Debug)]
pub struct TestDatabase {
    server: String,
    name: String,
}

impl TestDatabase {
    /// Names a fresh database, `ll_{label}_{uuid}`, without creating it:
    /// for a service under test that creates its database as it starts.
    pub fn named(label: &str) -> Self {
        let config = Config::from_env().expect("configuration");
        let (server, _) = config
            .database_url
            .rsplit_once('/')
            .expect("DATABASE_URL has a path");
        Self {
            server: server.to_owned(),
            name: format!("ll_{label}_{}", Uuid::now_v7().simple()),
        }
    }

    /// A fresh database, created.
    pub async fn create(label: &str) -> Self {
        let database = Self::named(label);
        ensure_database(&database.url())
            .await
            .expect("create the test database");
        database
    }

    pub fn url(&self) -> String {
        format!("{}/{}", self.server, self.name)
    }

    /// A pool inside `schema` of this database, migrated by `migrator` —
    /// exactly as a service connects (`ledgerline_runtime::connect_schema`).
    pub async fn schema(
        &self,
        schema: &'static str,
        migrator: &Migrator,
        pool_size: u32,
    ) -> PgPool {
        ensure_database(&self.url())
            .await
            .expect("create the test database");
        connect_schema(&self.url(), schema, migrator, pool_size)
            .await
            .expect("connect and migrate the test schema")
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let admin = format!("{}/postgres", self.server);
        let drop = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
        run_to_end(async move {
            if let Ok(mut conn) = PgConnection::connect(&admin).await {
                let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(drop))
                    .execute(&mut conn)
                    .await;
                let _ = conn.close().await;
            }
        });
    }
}
