use ledgerline_auth::TokenKeys;
use ledgerline_projection::{ReadModel, ReadModelDb, Sources, StartFrom, start_read_model};
use ledgerline_runtime::{Config, ServiceHandle, Shutdown};
use sqlx::migrate::Migrator;

use crate::History;
use crate::routes::{HistoryState, routes};

pub const SCHEMA: &str = "history";
static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// Starts the TransactionHistory read model — bootstrapped from the event
/// store when it is new — and its route.
pub async fn start(
    config: &Config,
    keys: &TokenKeys,
    shutdown: &Shutdown,
    sources: &Sources,
) -> anyhow::Result<ServiceHandle> {
    let db =
        ReadModelDb::connect(&config.database_url, SCHEMA, &MIGRATOR, config.db_pool_size).await?;
    let router = routes(HistoryState {
        db: db.clone(),
        keys: keys.clone(),
        sources: sources.clone(),
    });
    let read_model = ReadModel {
        service: "history-service",
        projector: History,
        db,
        router,
        start_from: StartFrom::EventStore,
    };
    Ok(start_read_model(sources, shutdown, read_model))
}
