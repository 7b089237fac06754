//! Starting a new read model from the event store rather than from the
//! beginning of the event stream (which keeps only days of events).

use std::time::Duration;

use ledgerline_bus::Bus;
use ledgerline_runtime::Shutdown;
use time::OffsetDateTime;

use crate::runner::run_projector_from;
use crate::store_pages::{Patience, head_within, replay_to};
use crate::{Projector, ReadModelDb, projection_status};

/// The replay holds every event committed before the bootstrap began (it
/// catches up with the head read after that moment); the stream is followed
/// from this long before, to cover clock skew between this process and the
/// NATS server. What both deliver is skipped as a duplicate.
const OVERLAP: Duration = Duration::from_secs(60);
/// How long to wait for the command processor (and the store's safe
/// high-water mark) before giving up on the bootstrap and replaying the
/// stream from its beginning instead.
const PATIENCE: Duration = Duration::from_secs(30);

/// Like [`crate::run_projector`], but a read model that has never applied
/// an event, and whose consumer does not exist yet, first replays the event
/// store (through the processor, page by page) and then follows the stream
/// only from shortly before the replay began.
pub async fn run_projector_bootstrapped<P: Projector>(
    bus: Bus,
    db: ReadModelDb,
    projector: P,
    shutdown: Shutdown,
) {
    let start = tokio::select! {
        () = shutdown.cancelled() => return,
        start = bootstrap(&bus, &db, &projector) => start,
    };
    run_projector_from(bus, db, projector, shutdown, start).await
}

/// The time from which the stream must be followed, or `None` to follow
/// it from wherever the consumer is (or from its beginning).
async fn bootstrap<P: Projector>(
    bus: &Bus,
    db: &ReadModelDb,
    projector: &P,
) -> Option<OffsetDateTime> {
    let applied = projection_status(&db.pool(), P::NAME).await.ok()?.events;
    if applied > 0 || consumer_exists(bus, P::DURABLE).await {
        return None;
    }
    let started = OffsetDateTime::now_utc();
    let mut replayed = 0;
    let caught_up = async {
        let head = head_within(bus, PATIENCE).await?;
        // A processor that does not serve event-log pages at all (an older
        // version) is given up on quickly: the stream is replayed instead.
        replay_to(
            bus,
            &db.pool(),
            projector,
            0,
            head,
            Patience {
                wait: PATIENCE,
                page_retries: 2,
            },
            |_, n| replayed += n,
        )
        .await
    };
    match caught_up.await {
        Ok(position) => {
            tracing::info!(
                projection = P::NAME,
                replayed,
                position,
                "bootstrapped from the event store"
            );
            Some(started - OVERLAP)
        }
        Err(error) => {
            tracing::warn!(%error, projection = P::NAME, "cannot bootstrap from the event store; replaying the stream");
            None
        }
    }
}

async fn consumer_exists(bus: &Bus, durable: &str) -> bool {
    match bus.js.get_stream(bus.subjects.events_stream()).await {
        Ok(stream) => stream
            .get_consumer::<async_nats::jetstream::consumer::pull::Config>(durable)
            .await
            .is_ok(),
        Err(_) => false,
    }
}
