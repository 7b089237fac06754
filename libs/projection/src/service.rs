//! One read-model service, started the same way for every projector: its
//! routes, its readiness, the projector itself, the status and rebuild
//! responders, and the lag reporter.

use axum::Router;
use ledgerline_runtime::{Readiness, ServiceHandle, Shutdown};

use std::sync::Arc;

use crate::feed::{ReadModelMember, StartFrom, durable_of};
use crate::read_models::LocalReadModel;
use crate::rebuild::{rebuild_starter, serve_rebuild};
use crate::runner::run_feed;
use crate::sources::Sources;
use crate::{Projector, ReadModelDb, feed_ready, report_lag, serve_projection_status};

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
/// and the process's event feed has bound its durable consumer; the
/// projector joins the feed (the last read model of the process to join
/// starts it, and its handle holds the feed's tasks);
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
    let readiness = feed_ready(
        db.ready(Readiness::default().nats(bus.client.clone())),
        bus,
        &sources.feed,
    );
    let member = ReadModelMember {
        projector: projector.clone(),
        db: db.clone(),
        start_from,
    };
    // The read model completing the set starts the feed, and reports its
    // consumer's pending messages.
    let feed = sources.feed.join(Arc::new(member)).map(|members| {
        let pending = tokio::spawn(bus.clone().report_pending(
            bus.subjects.events_stream(),
            durable_of(&members),
            shutdown.clone(),
        ));
        let follow = tokio::spawn(run_feed(sources.clone(), members, shutdown.clone()));
        (follow, pending)
    });
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
    let handle = ServiceHandle::new(service, router, readiness);
    match feed {
        Some((follow, pending)) => handle.task(follow).task(pending),
        None => handle,
    }
    .task(status)
    .task(rebuild)
    .task(lag)
}
