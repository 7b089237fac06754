//! The event store answers reads of its global log only below its safe
//! high-water mark: rows of transactions older than every transaction still
//! in flight, anywhere on the database server. A long transaction elsewhere
//! holds the mark back, and a replay read then ends early yet looks
//! complete — the client would silently miss events it was promised. So a
//! replay first waits until the event at the store's head (as of now) is
//! readable, as a projector's rebuild does, and otherwise says the resume is
//! incomplete.

use std::time::Duration;

use bytes::Bytes;
use ledgerline_bus::Bus;
use ledgerline_contracts::{EventsReply, StoreHead, UserEventsRequest};
use tokio::time::Instant;

/// How long a resume waits for the mark before it gives up (its live
/// frames queue meanwhile, so this stays short).
const PATIENCE: Duration = Duration::from_secs(3);
const POLL: Duration = Duration::from_millis(100);
/// How long one request to the store's owner may take.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(2);

pub async fn wait_until_head_is_readable(bus: &Bus) -> Result<(), String> {
    let head = store_head(bus).await?;
    if head <= 0 {
        return Ok(());
    }
    let deadline = Instant::now() + PATIENCE;
    loop {
        if readable(bus, head).await? {
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

async fn ask(bus: &Bus, subject: String, body: Bytes) -> Result<Bytes, String> {
    // Named in the error, which goes to the log (never to the client).
    let asked = subject.clone();
    let request = bus.client.request(subject, body);
    match tokio::time::timeout(ANSWER_TIMEOUT, request).await {
        Ok(Ok(answer)) => Ok(answer.payload),
        Ok(Err(e)) => Err(format!("{asked}: {e}")),
        Err(_) => Err("the command processor did not answer in time".to_owned()),
    }
}

/// The highest global position in the store (`bank.rpc.store-head`).
async fn store_head(bus: &Bus) -> Result<i64, String> {
    let answer = ask(bus, bus.subjects.store_head_rpc(), Bytes::new()).await?;
    serde_json::from_slice::<StoreHead>(&answer)
        .map(|h| h.head_position)
        .map_err(|e| e.to_string())
}

/// Whether the event at `position` is below the mark: a page of the whole
/// log (`bank.rpc.store-events`) that starts right before it.
async fn readable(bus: &Bus, position: i64) -> Result<bool, String> {
    let request = UserEventsRequest {
        after_position: position - 1,
        limit: 1,
    };
    let body = serde_json::to_vec(&request).map_err(|e| e.to_string())?;
    let answer = ask(bus, bus.subjects.store_events_rpc(), body.into()).await?;
    match serde_json::from_slice::<EventsReply>(&answer).map_err(|e| e.to_string())? {
        EventsReply::Events(events) => Ok(!events.is_empty()),
        EventsReply::Error(message) => Err(message),
    }
}
