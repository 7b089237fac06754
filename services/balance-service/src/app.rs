use ledgerline_auth::TokenKeys;
use ledgerline_projection::{ReadModel, ReadModelDb, Sources, StartFrom, start_read_model};
use ledgerline_runtime::{Config, ServiceHandle, Shutdown};
use sqlx::migrate::Migrator;

use crate::Balances;
use crate::routes::{BalanceState, routes};

pub const SCHEMA: &str = "balances";
static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// Starts the AccountBalances read model (whose projector also keeps
/// DailySummary) and its routes — including `GET /projections` and
/// `POST /projections/rebuild`, served here for the whole system.
pub async fn start(
    config: &Config,
    keys: &TokenKeys,
    shutdown: &Shutdown,
    sources: &Sources,
) -> anyhow::Result<ServiceHandle> {
    let db =
        ReadModelDb::connect(&config.database_url, SCHEMA, &MIGRATOR, config.db_pool_size).await?;
    let router = routes(BalanceState {
        db: db.clone(),
        keys: keys.clone(),
        sources: sources.clone(),
        body_limit: config.body_limit,
    });
    let read_model = ReadModel {
        service: "balance-service",
        projector: Balances,
        db,
        router,
        start_from: StartFrom::Stream,
    };
    Ok(start_read_model(sources, shutdown, read_model))
}
