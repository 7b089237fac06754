//! Starting a new read model from the event store rather than from the
//! beginning of the event stream (which keeps only days of events).

use ledgerline_bus::Bus;
use ledgerline_runtime::Shutdown;
use time::OffsetDateTime;

use crate::runner::run_projector_from;
use crate::sources::Sources;
use crate::store_pages::{Patience, head_within, replay_to};
use crate::tuning::{BOOTSTRAP_OVERLAP, BOOTSTRAP_PAGE_RETRIES, BOOTSTRAP_PATIENCE};
use crate::{Projector, ReadModelDb, projection_status};

/// Like [`crate::run_projector`], but a read model that has never applied
/// an event, and whose consumer does not exist yet, first replays the event
/// store (through the processor, page by page) and then follows the stream
/// only from shortly before the replay began.
pub async fn run_projector_bootstrapped<P: Projector>(
    sources: Sources,
    db: ReadModelDb,
    projector: P,
    shutdown: Shutdown,
) {
    let start = tokio::select! {
        () = shutdown.cancelled() => return,
        start = bootstrap(&sources, &db, &projector) => start,
    };
    run_projector_from(sources, db, projector, shutdown, start).await
}

/// The time from which the stream must be followed, or `None` to follow
/// it from wherever the consumer is (or from its beginning).
async fn bootstrap<P: Projector>(
    sources: &Sources,
    db: &ReadModelDb,
    projector: &P,
) -> Option<OffsetDateTime> {
    let applied = projection_status(&db.pool(), P::NAME).await.ok()?.events;
    if applied > 0 || consumer_exists(&sources.bus, P::DURABLE).await {
        return None;
    }
    let started = OffsetDateTime::now_utc();
    let mut replayed = 0;
    let caught_up = async {
        let head = head_within(sources.store.as_ref(), BOOTSTRAP_PATIENCE).await?;
        replay_to(
            &sources.store,
            &db.pool(),
            projector,
            0,
            head,
            Patience {
                wait: BOOTSTRAP_PATIENCE,
                page_retries: BOOTSTRAP_PAGE_RETRIES,
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
            Some(started - BOOTSTRAP_OVERLAP)
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
