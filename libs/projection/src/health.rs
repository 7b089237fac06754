//! A projector's health: `/readyz` is red until its process's event feed
//! has bound its durable consumer, and `/metrics` shows how far behind its
//! read model is — the event store's head minus the projection's
//! checkpoint. (`GET /projections` tells the same lag when asked; the
//! gauge lets Prometheus alert on it. The messages the feed's consumer
//! has not yet been delivered are reported once per feed, by
//! `Bus::report_pending`, see `service`.)

use std::time::Duration;

use ledgerline_bus::Bus;
use ledgerline_runtime::{Readiness, Shutdown};

use crate::feed::EventFeed;
use crate::sources::Sources;
use crate::{Projector, ReadModelDb, lag, projection_status, store_head};

/// How often the gauge is refreshed once known.
const EVERY: Duration = Duration::from_secs(5);
/// How soon to ask again while it is still unknown during the first
/// [`START_UP`] (the consumer may not be bound, nor the processor
/// answering, yet); after that, every [`EVERY`] whatever the answer.
const UNTIL_KNOWN: Duration = Duration::from_millis(500);
const START_UP: Duration = Duration::from_secs(30);

/// Keeps `ledgerline_projection_lag_events{projection}` (store head −
/// checkpoint; left as it was while the command processor does not say its
/// head) current until shutdown.
pub async fn report_lag<P: Projector>(sources: Sources, db: ReadModelDb, shutdown: Shutdown) {
    let store = sources.store;
    let started = tokio::time::Instant::now();
    loop {
        let pool = db.pool();
        let (head, status) = tokio::join!(
            store_head(store.as_ref()),
            projection_status(&pool, P::NAME),
        );
        let known = match (head, status) {
            (Some(head), Ok(status)) => {
                let lag = lag(head, status.last_position);
                metrics::gauge!("ledgerline_projection_lag_events", "projection" => P::NAME)
                    .set(lag as f64);
                true
            }
            _ => false,
        };
        let wait = if known || started.elapsed() > START_UP {
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

/// Adds the `consumer` readiness check: the process's event feed has
/// every read model and its durable consumer on the event stream exists.
/// Until then the read model is not following the stream — it is
/// starting, re-binding after a fault, or (a new history read model) still
/// replaying the event store.
pub fn feed_ready(readiness: Readiness, bus: &Bus, feed: &EventFeed) -> Readiness {
    let (bus, feed) = (bus.clone(), feed.clone());
    readiness.check("consumer", move || {
        let (bus, feed) = (bus.clone(), feed.clone());
        async move {
            let durable = feed
                .durable()
                .ok_or_else(|| "the event feed is still gathering its read models".to_owned())?;
            bus.consumer_pending(&bus.subjects.events_stream(), &durable)
                .await
                .map(|_| ())
                .map_err(|e| format!("{durable}: {e}"))
        }
    })
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
