//! Batches of a stream's items, paced: at most one batch every `every`.
//! An item that arrives after a quiet spell is handed out at once (with
//! whatever else is already waiting); under load a batch holds what arrived
//! in one period, up to `most`. A projector's batch and the audit log's
//! status groups are taken this way (`tuning::BATCH_EVERY`).
//!
//! A linger counted from each batch's first item (`chunks_timeout`) made a
//! lone item wait the whole linger, and under load gave one batch per
//! linger *plus* the time the last batch took to apply; pacing from the
//! last batch costs a quiet system nothing and holds the number of batches
//! (and so of transactions) to one per period whatever the load.

use std::time::Duration;

use futures::{Stream, StreamExt};
use tokio::time::{Instant, sleep_until};

/// A stream taken a batch at a time (see the module docs).
pub struct Paced<S> {
    items: S,
    most: usize,
    every: Duration,
    /// When the last batch was handed out (none yet: the first goes at once).
    last: Option<Instant>,
    ended: bool,
}

impl<S: Stream + Unpin> Paced<S> {
    pub fn new(items: S, most: usize, every: Duration) -> Self {
        Self {
            items,
            most: most.max(1),
            every,
            last: None,
            ended: false,
        }
    }

    /// The next batch: waits for an item, then adds what arrives until
    /// `every` has passed since the last batch (nothing more to wait for
    /// when it has: only what is already waiting is added) or until the
    /// batch holds `most`. `None` once the stream has ended. Dropping the
    /// future drops the batch being gathered.
    pub async fn next(&mut self) -> Option<Vec<S::Item>> {
        if self.ended {
            return None;
        }
        let Some(first) = self.items.next().await else {
            self.ended = true;
            return None;
        };
        let mut batch = vec![first];
        let until = self
            .last
            .map_or_else(Instant::now, |last| last + self.every);
        let deadline = sleep_until(until);
        tokio::pin!(deadline);
        while batch.len() < self.most {
            tokio::select! {
                // The stream first: an item already waiting is taken even
                // when the deadline has passed.
                biased;
                item = self.items.next() => match item {
                    Some(item) => batch.push(item),
                    None => {
                        self.ended = true;
                        break;
                    }
                },
                () = &mut deadline => break,
            }
        }
        self.last = Some(Instant::now());
        Some(batch)
    }
}

#[cfg(test)]
mod tests {
    use futures::stream;
    use tokio::sync::mpsc;

    use super::*;

    /// Real time, with margins far wider than a busy machine's delays.
    const PERIOD: Duration = Duration::from_secs(1);

    #[tokio::test]
    async fn a_lone_item_goes_at_once_and_later_ones_wait_for_the_period() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let items = stream::poll_fn(move |cx| rx.poll_recv(cx));
        let mut paced = Paced::new(items, 10, PERIOD);
        let start = Instant::now();
        tx.send(1).unwrap();
        assert_eq!(paced.next().await, Some(vec![1]));
        assert!(start.elapsed() < PERIOD / 2, "the first batch waited");
        // Within the period: the next batch gathers until it is over.
        tx.send(2).unwrap();
        let sender = tokio::spawn(async move {
            tokio::time::sleep(PERIOD / 10).await;
            tx.send(3).unwrap();
            tokio::time::sleep(PERIOD * 2).await;
            tx.send(4).unwrap();
        });
        assert_eq!(paced.next().await, Some(vec![2, 3]));
        assert!(start.elapsed() >= PERIOD, "the second batch did not wait");
        // Quiet for longer than the period: the next item goes at once.
        assert_eq!(paced.next().await, Some(vec![4]));
        let quiet_until = start + PERIOD / 10 + PERIOD * 2;
        assert!(
            Instant::now() < quiet_until + PERIOD / 2,
            "the item after a quiet spell waited"
        );
        sender.await.unwrap();
        assert_eq!(paced.next().await, None, "the stream ended");
    }

    #[tokio::test]
    async fn a_full_batch_goes_without_waiting_out_the_period() {
        let mut paced = Paced::new(stream::iter(0..7), 3, Duration::from_secs(60));
        assert_eq!(paced.next().await, Some(vec![0, 1, 2]));
        assert_eq!(paced.next().await, Some(vec![3, 4, 5]));
        // The stream ends inside the period: what was gathered goes.
        assert_eq!(paced.next().await, Some(vec![6]));
        assert_eq!(paced.next().await, None);
    }
}
