//! A projector's health: `/readyz` is red until its durable consumer is
//! bound, and `/metrics` shows how far behind its read model is — the event
//! store's head minus the projection's checkpoint, and the messages its
//! durable consumer has not yet been delivered. (`GET /projections` tells
//! the same lag when asked; the gauges let Prometheus alert on it.)

use std::time::Duration;

use ledgerline_bus::Bus;
use ledgerline_runtime::{Readiness, Shutdown};

use crate::sources::Sources;
use crate::{Projector, ReadModelDb, lag, projection_status, store_head};

/// How often the gauges are refreshed once both are known.
const EVERY: Duration = Duration::from_secs(5);
/// How soon to ask again while one is still unknown during the first
/// [`START_UP`] (the consumer may not be bound, nor the processor
/// answering, yet); after that, every [`EVERY`] whatever the answer.
const UNTIL_KNOWN: Duration = Duration::from_millis(500);
const START_UP: Duration = Duration::from_secs(30);

/// Keeps `ledgerline_projection_lag_events{projection}` (store head −
/// checkpoint; left as it was while the command processor does not say its
/// head) and `ledgerline_consumer_pending{consumer}` (the durable
/// consumer's undelivered messages) current until shutdown.
pub async fn report_lag<P: Projector>(sources: Sources, db: ReadModelDb, shutdown: Shutdown) {
    let Sources { bus, store, .. } = sources;
    let stream = bus.subjects.events_stream();
    let started = tokio::time::Instant::now();
    loop {
        let pool = db.pool();
        let (head, status, pending) = tokio::join!(
            store_head(store.as_ref()),
            projection_status(&pool, P::NAME),
            bus.consumer_pending(&stream, P::DURABLE),
        );
        let lag_known = match (head, status) {
            (Some(head), Ok(status)) => {
                let lag = lag(head, status.last_position);
                metrics::gauge!("ledgerline_projection_lag_events", "projection" => P::NAME)
                    .set(lag as f64);
                true
            }
            _ => false,
        };
        let pending_known = match pending {
            Ok(pending) => {
                metrics::gauge!("ledgerline_consumer_pending", "consumer" => P::DURABLE)
                    .set(pending as f64);
                true
            }
            Err(_) => false,
        };
        let wait = if (lag_known && pending_known) || started.elapsed() > START_UP {
            EVERY
        } else {
            UNTIL_KNOWN
        };
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(wait) => {}
        }
    }
}

/// Adds the `consumer` readiness check: the projector's durable consumer on
/// the event stream exists. Until then the projector is not following the
/// stream — it is starting, re-binding after a fault, or (a new history
/// read model) still replaying the event store.
pub fn consumer_ready<P: Projector>(readiness: Readiness, bus: &Bus) -> Readiness {
    durable_ready(
        readiness,
        "consumer",
        bus,
        bus.subjects.events_stream(),
        P::DURABLE,
    )
}

/// Adds a readiness check named `check`: the durable consumer `durable`
/// on `stream` exists.
pub fn durable_ready(
    readiness: Readiness,
    check: &'static str,
    bus: &Bus,
    stream: String,
    durable: &'static str,
) -> Readiness {
    let bus = bus.clone();
    readiness.check(check, move || {
        let (bus, stream) = (bus.clone(), stream.clone());
        async move {
            bus.consumer_pending(&stream, durable)
                .await
                .map(|_| ())
                .map_err(|e| format!("{durable}: {e}"))
        }
    })
}
