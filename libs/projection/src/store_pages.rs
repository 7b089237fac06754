//! The whole event log, page by page, read from the event store through
//! its owner (`StoreReads::events`, only below the store's safe high-water
//! mark): how a read model is rebuilt or bootstrapped without reading the
//! event store's tables.

use std::sync::Arc;
use std::time::Duration;

use ledgerline_contracts::EventEnvelope;
use ledgerline_store::StoreReads;
use sqlx::PgPool;

use crate::Projector;
use crate::apply::commit_events;
use ledgerline_runtime::tuning::EVENT_PAGE;

/// The events with `global_position > after`, oldest first, at most `limit`.
pub(crate) async fn store_page(
    store: &dyn StoreReads,
    after: i64,
    limit: i64,
) -> Result<Vec<EventEnvelope>, String> {
    let events = store
        .events(after, limit, None)
        .await
        .map_err(|e| e.to_string())?;
    let ordered = events
        .windows(2)
        .all(|w| w[0].global_position < w[1].global_position);
    if !ordered || events.iter().any(|e| e.global_position <= after) {
        return Err("inconsistent event-log page".into());
    }
    Ok(events)
}

/// Applies one page in one transaction, checkpoint included.
pub(crate) async fn apply_page<P: Projector>(
    store: &dyn StoreReads,
    pool: &PgPool,
    projector: &P,
    events: &[EventEnvelope],
) -> Result<(), String> {
    commit_events(store, pool, None, projector, events)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// A page, asked for again (half a second apart) up to `retries` times
/// when it cannot be read (the processor restarting, a NATS reconnect).
async fn page_with_retries(
    store: Arc<dyn StoreReads>,
    after: i64,
    retries: u32,
) -> Result<Vec<EventEnvelope>, String> {
    let mut attempt = 0;
    loop {
        match store_page(store.as_ref(), after, EVENT_PAGE).await {
            Ok(page) => return Ok(page),
            Err(error) if attempt < retries => {
                attempt += 1;
                tracing::debug!(%error, attempt, "event-log page not read; asking again");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(error) => return Err(error),
        }
    }
}

/// Replays the log after `after` into `pool` until a page comes back empty
/// (the store's safe head is reached); `on_page` sees the position and the
/// number of events read so far. The next page is read while this one is
/// applied. Returns the last position read.
pub(crate) async fn replay<P: Projector>(
    store: &Arc<dyn StoreReads>,
    pool: &PgPool,
    projector: &P,
    mut after: i64,
    retries: u32,
    mut on_page: impl FnMut(i64, usize),
) -> Result<i64, String> {
    let mut next = tokio::spawn(page_with_retries(store.clone(), after, retries));
    loop {
        let page = next.await.map_err(|e| format!("reading a page: {e}"))??;
        let Some(last) = page.last() else {
            return Ok(after);
        };
        let last = last.global_position;
        next = tokio::spawn(page_with_retries(store.clone(), last, retries));
        if let Err(error) = apply_page(store.as_ref(), pool, projector, &page).await {
            next.abort();
            return Err(error);
        }
        after = last;
        on_page(after, page.len());
    }
}

/// How long a replay waits for the store's safe high-water mark, and how
/// often it asks again for a page it could not read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Patience {
    pub wait: Duration,
    pub page_retries: u32,
}

/// Replays until everything at or below `target` (the store's head when
/// the caller asked) is applied. A page only ever holds events below the
/// store's safe high-water mark, which any long transaction on the server
/// holds back; so an empty page is not the end: wait for the mark to pass
/// `target`, at most `patience.wait`. Every event committed before the head was
/// read is then in (its position is at most `target`), whatever the mark.
pub(crate) async fn replay_to<P: Projector>(
    store: &Arc<dyn StoreReads>,
    pool: &PgPool,
    projector: &P,
    mut after: i64,
    target: i64,
    patience: Patience,
    mut on_page: impl FnMut(i64, usize),
) -> Result<i64, String> {
    let deadline = tokio::time::Instant::now() + patience.wait;
    loop {
        after = replay(
            store,
            pool,
            projector,
            after,
            patience.page_retries,
            &mut on_page,
        )
        .await?;
        if after >= target {
            return Ok(after);
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(format!(
                "the event log is readable only up to position {after} of {target}: \
                 a long transaction on the server holds the store's safe high-water mark back"
            ));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The store's head, asked until it answers (at most `patience`).
pub(crate) async fn head_within(store: &dyn StoreReads, patience: Duration) -> Result<i64, String> {
    let deadline = tokio::time::Instant::now() + patience;
    loop {
        if let Some(head) = crate::store_head(store).await {
            return Ok(head);
        }
        if tokio::time::Instant::now() >= deadline {
            return Err("the event store does not tell its head".into());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
