//! Retrying a command's handling in place: a NAK would let the account's
//! next command overtake this one, so the partition waits here instead —
//! but only for faults that can pass (see `fault`).

use std::time::Duration;

use async_nats::jetstream::AckKind;
use ledgerline_bus::Delivery;
use ledgerline_contracts::CommandKey;
use ledgerline_runtime::Shutdown;

use crate::fault::Fault;

/// Attempts a permanent fault gets before the command is given up on: a
/// refusal seen this often is not a race.
const PERMANENT_ATTEMPTS: u32 = 3;
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// How retrying ended.
#[derive(Debug)]
pub enum Retried<T> {
    Done(T),
    /// The same permanent fault every time: the command cannot be handled.
    GaveUp(Fault),
    /// Shutdown (or a lost lease) came first: the message stays unacked and
    /// comes back after AckWait.
    Stopped,
}

/// Runs `attempt` until it succeeds, with backoff and in-progress acks so
/// JetStream does not redeliver meanwhile. Transient faults (PostgreSQL or
/// NATS away) are waited out for as long as they last; a permanent one is
/// given [`PERMANENT_ATTEMPTS`], so no message holds its partition for ever.
pub async fn retry_in_place<T, F>(
    delivery: &Delivery,
    key: CommandKey,
    shutdown: &Shutdown,
    mut attempt: impl FnMut() -> F,
) -> Retried<T>
where
    F: Future<Output = Result<T, Fault>>,
{
    let mut backoff = FIRST_BACKOFF;
    let mut permanent = 0;
    loop {
        match attempt().await {
            Ok(value) => return Retried::Done(value),
            Err(fault) if fault.is_permanent() => {
                permanent += 1;
                tracing::warn!(%fault, %key, attempt = permanent, "cannot handle the command");
                if permanent >= PERMANENT_ATTEMPTS {
                    return Retried::GaveUp(fault);
                }
            }
            Err(fault) => tracing::warn!(%fault, %key, "retrying"),
        }
        if shutdown.is_cancelled() {
            return Retried::Stopped;
        }
        let _ = delivery.ack_with(AckKind::Progress).await;
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
        if shutdown.is_cancelled() {
            return Retried::Stopped;
        }
    }
}
