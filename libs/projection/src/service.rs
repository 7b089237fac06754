//! One read-model service, started the same way for every projector: its
//! routes, its readiness, the projector itself, the status and rebuild
//! responders, and the lag reporter.

use axum::Router;
use ledgerline_runtime::{Readiness, ServiceHandle, Shutdown};

use crate::read_models::LocalReadModel;
use crate::rebuild::{rebuild_starter, serve_rebuild};
use crate::sources::Sources;
use crate::{
    Projector, ReadModelDb, consumer_ready, report_lag, run_projector, run_projector_bootstrapped,
    serve_projection_status,
};

/// Where a read model that has never run starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartFrom {
    /// The beginning of the event stream.
    Stream,
    /// The event store, replayed through its owner, then the stream
    /// from shortly before (the stream keeps only days of events).
    EventStore,
}

/// What a read-model service brings: the rest is the same for all.
pub struct ReadModel<P: Projector> {
    /// The service's name (`balance-service`): its readiness checks are
    /// listed under it.
    pub service: &'static str,
    pub projector: P,
    /// Connected and migrated ([`ReadModelDb::connect`]).
    pub db: ReadModelDb,
    /// The service's query routes.
    pub router: Router,
    pub start_from: StartFrom,
}

/// Starts a read model: ready once NATS is connected, PostgreSQL answers
/// and the durable consumer is bound; the projector follows the stream;
/// the read model joins this process's read models (its status and rebuild
/// asked in process) and answers other processes' status and rebuild
/// requests; the lag gauges are kept current. A service adds its own tasks
/// and checks to the handle returned.
pub fn start_read_model<P: Projector>(
    sources: &Sources,
    shutdown: &Shutdown,
    read_model: ReadModel<P>,
) -> ServiceHandle {
    let ReadModel {
        service,
        projector,
        db,
        router,
        start_from,
    } = read_model;
    let bus = &sources.bus;
    let readiness =
        consumer_ready::<P>(db.ready(Readiness::default().nats(bus.client.clone())), bus);
    let follow = match start_from {
        StartFrom::Stream => tokio::spawn(run_projector(
            sources.clone(),
            db.clone(),
            projector.clone(),
            shutdown.clone(),
        )),
        StartFrom::EventStore => tokio::spawn(run_projector_bootstrapped(
            sources.clone(),
            db.clone(),
            projector.clone(),
            shutdown.clone(),
        )),
    };
    let rebuild = rebuild_starter(
        sources.store.clone(),
        db.clone(),
        projector,
        shutdown.clone(),
    );
    // Registered before anything can ask: `GET /projections` in this
    // process finds it at once.
    sources.read_models.add(LocalReadModel {
        name: P::NAME,
        db: db.clone(),
        rebuild: rebuild.clone(),
    });
    let status = tokio::spawn(serve_projection_status::<P>(
        bus.clone(),
        db.clone(),
        shutdown.clone(),
    ));
    let rebuild = tokio::spawn(serve_rebuild(
        bus.clone(),
        P::NAME,
        rebuild,
        shutdown.clone(),
    ));
    let lag = tokio::spawn(report_lag::<P>(sources.clone(), db, shutdown.clone()));
    ServiceHandle::new(service, router, readiness)
        .task(follow)
        .task(status)
        .task(rebuild)
        .task(lag)
}
