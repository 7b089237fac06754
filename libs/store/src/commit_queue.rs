//! Group commit's queue: callers hand in what they want written and wait
//! for their own answer; one worker takes everything waiting (at least one
//! item, at most a batch) and writes it as one batch. Nobody lingers: a
//! lone item is written at once, and items arriving while a batch is
//! written gather into the next one. So at a steady trickle a batch holds
//! what arrived during one write, and under load it grows until the worker
//! keeps up. One write in flight, not several: measured at 1,000 commands
//! a second, several in flight split the same arrivals into more, smaller
//! transactions (1.2 rows each instead of 1.8), and the machine's CPU, not
//! the disk, paid for them; at saturation two in flight decided no more
//! than one.
//!
//! The batch function answers every item of its batch, in order. A caller
//! that stops waiting does not stop the write: its item is written and
//! its answer dropped.

use std::future::Future;

use tokio::sync::{mpsc, oneshot};

type Waiting<T, R> = (T, oneshot::Sender<R>);

/// The queue ended: its worker stopped (the runtime is shutting down).
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the commit queue has stopped")]
pub struct Stopped;

/// Where callers hand in items; clones share the queue and its worker,
/// which ends when the last clone is dropped.
pub struct CommitQueue<T, R> {
    queue: mpsc::Sender<Waiting<T, R>>,
}

impl<T, R> Clone for CommitQueue<T, R> {
    fn clone(&self) -> Self {
        Self {
            queue: self.queue.clone(),
        }
    }
}

impl<T: Send + 'static, R: Send + 'static> CommitQueue<T, R> {
    /// Starts the worker, writing batches of at most `most` items with
    /// `write`, which answers each item of its batch in order. Must be
    /// called within a Tokio runtime.
    pub fn start<W, F>(most: usize, write: W) -> Self
    where
        W: Fn(Vec<T>) -> F + Send + 'static,
        F: Future<Output = Vec<R>> + Send + 'static,
    {
        let most = most.max(1);
        let (queue, waiting) = mpsc::channel(4 * most);
        tokio::spawn(work(waiting, most, write));
        Self { queue }
    }

    /// Hands `item` in and waits for its answer.
    pub async fn submit(&self, item: T) -> Result<R, Stopped> {
        let (reply, answer) = oneshot::channel();
        self.queue.send((item, reply)).await.map_err(|_| Stopped)?;
        answer.await.map_err(|_| Stopped)
    }
}

async fn work<T, R, W, F>(mut waiting: mpsc::Receiver<Waiting<T, R>>, most: usize, write: W)
where
    W: Fn(Vec<T>) -> F,
    F: Future<Output = Vec<R>>,
{
    let mut batch = Vec::with_capacity(most);
    // Take what is waiting (at least one), write it, and again.
    while waiting.recv_many(&mut batch, most).await > 0 {
        let (items, replies): (Vec<T>, Vec<oneshot::Sender<R>>) = batch.drain(..).unzip();
        for (answer, reply) in write(items).await.into_iter().zip(replies) {
            let _ = reply.send(answer);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn every_caller_gets_its_own_answer_and_waiting_items_share_a_batch() {
        let batches = Arc::new(AtomicUsize::new(0));
        let counted = batches.clone();
        let queue = CommitQueue::start(64, move |items: Vec<u32>| {
            let counted = counted.clone();
            async move {
                counted.fetch_add(1, Ordering::SeqCst);
                // Long enough for everything submitted meanwhile to queue.
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                items.into_iter().map(|i| i * 10).collect::<Vec<_>>()
            }
        });
        let answers = futures::future::join_all((0..50).map(|i| queue.submit(i))).await;
        let answers: Vec<u32> = answers.into_iter().map(Result::unwrap).collect();
        assert_eq!(answers, (0..50).map(|i| i * 10).collect::<Vec<_>>());
        // At most the first item alone, then the rest that queued behind it.
        assert!(batches.load(Ordering::SeqCst) <= 2);
    }

    #[tokio::test]
    async fn a_batch_holds_at_most_most_items() {
        let sizes = Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = sizes.clone();
        let queue = CommitQueue::start(4, move |items: Vec<u32>| {
            seen.lock().unwrap().push(items.len());
            async move { items }
        });
        let answers = futures::future::join_all((0..10).map(|i| queue.submit(i))).await;
        assert!(answers.into_iter().all(|a| a.is_ok()));
        let sizes = sizes.lock().unwrap().clone();
        assert_eq!(sizes.iter().sum::<usize>(), 10);
        assert!(sizes.iter().all(|&n| (1..=4).contains(&n)), "{sizes:?}");
    }

    #[tokio::test]
    async fn an_item_left_unanswered_is_reported_stopped() {
        let queue = CommitQueue::start(8, |_: Vec<u32>| async { Vec::<u32>::new() });
        assert!(matches!(queue.submit(1).await, Err(Stopped)));
    }
}
