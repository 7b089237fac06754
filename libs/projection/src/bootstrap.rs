//! Starting a new read model from the event store rather than from the
//! beginning of the event stream (which keeps only days of events).

use std::sync::Arc;

use ledgerline_store::StoreReads;
use time::OffsetDateTime;

use crate::store_pages::{Patience, head_within, replay_to};
use crate::tuning::{BOOTSTRAP_OVERLAP, BOOTSTRAP_PAGE_RETRIES, BOOTSTRAP_PATIENCE};
use crate::{Projector, ReadModelDb, projection_status};

/// For a read model whose feed's consumer does not exist yet: one that has
/// never applied an event first replays the event store (through its
/// owner, page by page), and the answer is the time from which the stream
/// must be followed — shortly before the replay began. `None`: from the
/// stream's beginning (it has applied events already, or the replay
/// failed).
pub(crate) async fn bootstrap<P: Projector>(
    store: &Arc<dyn StoreReads>,
    db: &ReadModelDb,
    projector: &P,
) -> Option<OffsetDateTime> {
    let applied = projection_status(&db.pool(), P::NAME).await.ok()?.events;
    if applied > 0 {
        return None;
    }
    let started = OffsetDateTime::now_utc();
    let mut replayed = 0;
    let caught_up = async {
        let head = head_within(store.as_ref(), BOOTSTRAP_PATIENCE).await?;
        replay_to(
            store,
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
