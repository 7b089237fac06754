//! The whole event log, page by page, read from the event store through
//! its owner (`StoreReads::events`, only below the store's safe high-water
//! mark): how a read model is rebuilt or bootstrapped without reading the
//! event store's tables.

use std::sync::Arc;
use std::time::Duration;

use ledgerline_contracts::EventEnvelope;
use ledgerline_store::StoreReads;
use sqlx::PgPool;
use tokio_util::task::JoinQueue;

use crate::Projector;
use crate::apply::commit_events;
use crate::tuning::{REPLAY_BATCH, REPLAY_READ_AHEAD, REPLAY_READERS};
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

/// Applies events read from the store in one transaction, checkpoint
/// included.
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
/// (the store's safe head is reached); after each transaction `on_page`
/// sees the position reached and how many events it applied. A reader task
/// reads pages ahead (up to [`REPLAY_READ_AHEAD`]) while they are applied,
/// and whatever it has read meanwhile is applied together, in one
/// transaction, up to about
/// [`REPLAY_BATCH`] events: a replay costs few commits, and each account's
/// row is written once per transaction rather than once per page. Returns
/// the last position applied.
pub(crate) async fn replay<P: Projector>(
    store: &Arc<dyn StoreReads>,
    pool: &PgPool,
    projector: &P,
    after: i64,
    retries: u32,
    on_page: impl FnMut(i64, usize),
) -> Result<i64, String> {
    let (read, pages) = tokio::sync::mpsc::channel(REPLAY_READ_AHEAD);
    let reader = tokio::spawn(read_ahead(store.clone(), after, retries, read));
    let applied = apply_pages(store.as_ref(), pool, projector, after, pages, on_page).await;
    reader.abort();
    applied
}

type Page = Result<Vec<EventEnvelope>, String>;

/// Reads page after page into `pages`, in order, until one is empty or
/// cannot be read (that one is sent too), or nobody is listening any more.
///
/// [`REPLAY_READERS`] pages are read at once, each on a task of its own
/// (the query of one overlaps the decoding of another): page `i` asks for
/// the events after `after + i × EVENT_PAGE`. A full page covers its range
/// whole (its events are distinct positions above its start), so it is cut
/// at the next page's start. A page that is not full has reached the end
/// of what the store serves; the pages asked after it are dropped, since
/// the log may have grown between the asks, and reading goes on after it.
/// In whatever order the asks are answered, no event is missed: the store
/// serves a prefix of the log (below its safe high-water mark, every event
/// under one it serves is served too), so a full page answered early holds
/// every event its predecessor, answered later, saw beyond the cut.
async fn read_ahead(
    store: Arc<dyn StoreReads>,
    after: i64,
    retries: u32,
    pages: tokio::sync::mpsc::Sender<Page>,
) {
    // Dropping the queue (the replay is done, or aborted) aborts the reads
    // still in it.
    let mut asked: JoinQueue<(i64, Page)> = JoinQueue::with_capacity(REPLAY_READERS);
    let mut next_from = after;
    loop {
        while asked.len() < REPLAY_READERS {
            let (store, from) = (store.clone(), next_from);
            asked.spawn(async move { (from, page_with_retries(store, from, retries).await) });
            next_from = from + EVENT_PAGE;
        }
        let (from, read) = match asked.join_next().await {
            Some(Ok(read)) => read,
            Some(Err(error)) => (next_from, Err(format!("reading a page: {error}"))),
            None => return,
        };
        let (page, done) = match read {
            Err(error) => (Err(error), true),
            Ok(page) => match cut(page, from) {
                // The next page is asked for already.
                (page, Next::After(_)) => (Ok(page), false),
                (page, Next::Again(last)) => {
                    // Dropping the queue aborts the asks made after this page.
                    asked = JoinQueue::with_capacity(REPLAY_READERS);
                    next_from = last.unwrap_or(from);
                    (Ok(page), last.is_none())
                }
            },
        };
        if pages.send(page).await.is_err() || done {
            return;
        }
    }
}

/// Where reading goes on after a page.
#[derive(Debug, PartialEq, Eq)]
enum Next {
    /// The page was full: the next page (already asked for) starts here.
    After(i64),
    /// The page was not full, so it reached the end of what the store
    /// serves: ask again after its last event (`None`: it was empty, the
    /// log is read).
    Again(Option<i64>),
}

/// What a page asked for after `from` adds to the log read so far. A full
/// page's positions are distinct and above `from`, so it holds every event
/// up to `from + EVENT_PAGE` and is cut there (the next page starts there);
/// a page that is not full is whole.
fn cut(mut page: Vec<EventEnvelope>, from: i64) -> (Vec<EventEnvelope>, Next) {
    if page.len() as i64 >= EVENT_PAGE {
        let end = from + EVENT_PAGE;
        page.retain(|e| e.global_position <= end);
        (page, Next::After(end))
    } else {
        let last = page.last().map(|e| e.global_position);
        (page, Next::Again(last))
    }
}

async fn apply_pages<P: Projector>(
    store: &dyn StoreReads,
    pool: &PgPool,
    projector: &P,
    mut after: i64,
    mut pages: tokio::sync::mpsc::Receiver<Page>,
    mut on_page: impl FnMut(i64, usize),
) -> Result<i64, String> {
    loop {
        let (batch, end) = next_batch(&mut pages).await?;
        if let Some(last) = batch.last() {
            let last = last.global_position;
            apply_page(store, pool, projector, &batch).await?;
            after = last;
            on_page(after, batch.len());
        }
        if end {
            return Ok(after);
        }
    }
}

/// The next [`REPLAY_BATCH`] events (about: pages are added whole), or the
/// rest of the log; `true` once the empty page that ends the log is among
/// them. It waits for the reader rather than applying what is there: an
/// account is written once per batch, so a batch of a page or two (all
/// the reader had when the last commit ended) cost the database a row
/// write for almost every event of an interleaved log.
async fn next_batch(
    pages: &mut tokio::sync::mpsc::Receiver<Page>,
) -> Result<(Vec<EventEnvelope>, bool), String> {
    let mut batch = Vec::new();
    let mut end = false;
    while !end && batch.len() < REPLAY_BATCH {
        let Some(page) = pages.recv().await else {
            return Err("the event-log reader stopped".into());
        };
        let page = page?;
        end = page.is_empty();
        if batch.is_empty() {
            batch = page;
        } else {
            batch.extend(page);
        }
    }
    Ok((batch, end))
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

#[cfg(test)]
mod tests {
    use super::*;
    use ledgerline_domain::AccountEvent;
    use ledgerline_testkit::events::envelope;

    fn page(from: i64, len: i64) -> Page {
        Ok((from..from + len)
            .map(|position| envelope("acc", position, position, AccountEvent::AccountClosed {}))
            .collect())
    }

    fn positions(batch: &[EventEnvelope]) -> (i64, i64, usize) {
        let first = batch.first().map_or(0, |e| e.global_position);
        let last = batch.last().map_or(0, |e| e.global_position);
        (first, last, batch.len())
    }

    #[tokio::test]
    async fn the_pages_read_ahead_are_applied_together_up_to_a_batch() {
        const PAGE: i64 = 500;
        let batch_pages = (REPLAY_BATCH as i64) / PAGE;
        assert!(batch_pages + 3 <= REPLAY_READ_AHEAD as i64);
        let (read, mut pages) = tokio::sync::mpsc::channel(REPLAY_READ_AHEAD);
        // A batch's worth of full pages and two more read ahead, then the
        // end of the log.
        for n in 0..batch_pages + 2 {
            read.send(page(1 + n * PAGE, PAGE)).await.unwrap();
        }
        read.send(page(0, 0)).await.unwrap();
        let full = REPLAY_BATCH as i64;
        let (batch, end) = next_batch(&mut pages).await.unwrap();
        assert_eq!((positions(&batch), end), ((1, full, REPLAY_BATCH), false));
        let (batch, end) = next_batch(&mut pages).await.unwrap();
        assert_eq!(
            (positions(&batch), end),
            ((full + 1, full + 2 * PAGE, 2 * PAGE as usize), true)
        );
    }

    #[tokio::test]
    async fn a_batch_waits_for_the_end_of_the_log_and_a_page_that_failed_fails_the_replay() {
        let (read, mut pages) = tokio::sync::mpsc::channel(REPLAY_READ_AHEAD);
        read.send(page(1, 3)).await.unwrap();
        let waiting =
            tokio::time::timeout(std::time::Duration::from_millis(50), next_batch(&mut pages))
                .await;
        assert!(waiting.is_err(), "a page alone waits for more, or the end");
        read.send(page(1, 3)).await.unwrap();
        read.send(page(4, 2)).await.unwrap();
        read.send(page(0, 0)).await.unwrap();
        let (batch, end) = next_batch(&mut pages).await.unwrap();
        assert_eq!((positions(&batch), end), ((1, 5, 5), true));
        read.send(page(6, 2)).await.unwrap();
        read.send(Err("unreadable".into())).await.unwrap();
        assert_eq!(next_batch(&mut pages).await.unwrap_err(), "unreadable");
        drop(read);
        assert!(next_batch(&mut pages).await.is_err(), "the reader stopped");
    }

    fn at(positions: impl IntoIterator<Item = i64>) -> Vec<EventEnvelope> {
        positions
            .into_iter()
            .map(|p| envelope("acc", p, p, AccountEvent::AccountClosed {}))
            .collect()
    }

    #[test]
    fn a_full_page_is_cut_where_the_next_page_starts() {
        // Dense: exactly the page's range.
        let (page, next) = cut(at(1..=EVENT_PAGE), 0);
        assert_eq!(
            (positions(&page), next),
            ((1, EVENT_PAGE, 500), Next::After(EVENT_PAGE))
        );
        // Gaps (positions of rolled-back transactions) stretch a full page
        // past its range; what lies past it is the next page's.
        let gappy = at((1..=2 * EVENT_PAGE).filter(|p| p % 5 != 0));
        let (page, next) = cut(gappy[..EVENT_PAGE as usize].to_vec(), 0);
        assert_eq!(next, Next::After(EVENT_PAGE));
        assert_eq!(page.len(), 400);
        assert!(page.iter().all(|e| e.global_position <= EVENT_PAGE));
    }

    #[test]
    fn a_page_that_is_not_full_is_whole_and_reading_goes_on_after_it() {
        let (page, next) = cut(at([1_001, 1_200, 1_700]), 1_000);
        assert_eq!(
            (positions(&page), next),
            ((1_001, 1_700, 3), Next::Again(Some(1_700)))
        );
        let (page, next) = cut(Vec::new(), 1_000);
        assert_eq!((page.len(), next), (0, Next::Again(None)));
    }
}
