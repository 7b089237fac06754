//! The event store answers reads of its global log only below its safe
//! high-water mark: rows of transactions older than every transaction still
//! in flight, anywhere on the database server. A long transaction elsewhere
//! holds the mark back, and a replay read then ends early yet looks
//! complete — the client would silently miss events it was promised. So a
//! replay first waits until the event at the store's head (as of now) is
//! readable, as a projector's rebuild does, and otherwise says the resume is
//! incomplete.

use std::time::Duration;

use ledgerline_store::StoreReads;
use tokio::time::Instant;

/// How long a resume waits for the mark before it gives up (its live
/// frames queue meanwhile, so this stays short).
const PATIENCE: Duration = Duration::from_secs(3);
const POLL: Duration = Duration::from_millis(100);

pub async fn wait_until_head_is_readable(store: &dyn StoreReads) -> Result<(), String> {
    let head = store.head().await.map_err(|e| e.to_string())?;
    if head <= 0 {
        return Ok(());
    }
    let deadline = Instant::now() + PATIENCE;
    loop {
        if readable(store, head).await? {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "the event store is readable only below position {head}: \
                 a long transaction holds its safe high-water mark back"
            ));
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Whether the event at `position` is below the mark: a page of the whole
/// log that starts right before it.
async fn readable(store: &dyn StoreReads, position: i64) -> Result<bool, String> {
    let page = store
        .events(position - 1, 1, None)
        .await
        .map_err(|e| e.to_string())?;
    Ok(!page.is_empty())
}
