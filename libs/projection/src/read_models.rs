//! The read models this process runs, for the admin routes to ask in
//! process (`GET /projections`, `POST /projections/rebuild`): in
//! `ledgerline all` every read model is here and no admin request crosses
//! NATS; the ones run elsewhere are asked over NATS (see `admin`).

use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;

use crate::ReadModelDb;
use crate::rebuild_board::RebuildAnswer;

/// Starts a rebuild of one read model (see `rebuild::rebuild_starter`).
pub(crate) type StartRebuild = Arc<dyn Fn() -> BoxFuture<'static, RebuildAnswer> + Send + Sync>;

/// One read model of this process: its database (for its status) and how
/// to start its rebuild.
#[derive(Clone)]
pub(crate) struct LocalReadModel {
    pub name: &'static str,
    pub db: ReadModelDb,
    pub rebuild: StartRebuild,
}

/// Shared by every read-model service of one process.
#[derive(Clone, Default)]
pub struct LocalReadModels(Arc<Mutex<Vec<LocalReadModel>>>);

impl LocalReadModels {
    fn all(&self) -> std::sync::MutexGuard<'_, Vec<LocalReadModel>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn add(&self, read_model: LocalReadModel) {
        self.all().push(read_model);
    }

    pub(crate) fn get(&self, name: &str) -> Option<LocalReadModel> {
        self.all().iter().find(|m| m.name == name).cloned()
    }

    pub(crate) fn names(&self) -> Vec<&'static str> {
        self.all().iter().map(|m| m.name).collect()
    }
}
