//! What a reconnecting client missed: status envelopes from BANK_STATUS
//! (by stream sequence) and events of its accounts from the event store (by
//! global position, so nothing depends on JetStream still holding them).
//! Nothing here lives in the socket service's memory, so resume works the
//! same after the service itself restarted.

use async_nats::jetstream::stream::DirectGetErrorKind;
use ledgerline_bus::Bus;
use ledgerline_contracts::StatusMessage;
use ledgerline_domain::UserId;
use ledgerline_runtime::tuning::EVENT_PAGE;
use ledgerline_store::StoreReads;

use crate::frame::Frame;

/// The most frames one resume replays; a client further behind is told to
/// re-read its read models instead.
pub const MAX_REPLAY: usize = 5_000;

/// What the client says it has already seen (`?statusSeq=&eventPosition=`).
#[derive(Debug, Clone, Copy, Default)]
pub struct ResumeFrom {
    pub status_seq: Option<u64>,
    pub event_position: Option<i64>,
}

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("reading missed status envelopes: {0}")]
    Status(String),
    #[error("reading missed events: {0}")]
    Events(String),
    #[error("more than {MAX_REPLAY} frames were missed")]
    TooFarBehind,
}

impl ReplayError {
    /// What the `RESUME_INCOMPLETE` frame says: the kind of failure, not
    /// the library's error text (that goes to the log).
    pub fn public_message(&self) -> String {
        match self {
            Self::Status(_) => "missed status envelopes could not be read".to_owned(),
            Self::Events(_) => "missed events could not be read".to_owned(),
            Self::TooFarBehind => format!("more than {MAX_REPLAY} frames were missed"),
        }
    }
}

pub async fn missed(
    bus: &Bus,
    store: &dyn StoreReads,
    user: &UserId,
    from: ResumeFrom,
) -> Result<Vec<Frame>, ReplayError> {
    let mut frames = Vec::new();
    if let Some(seq) = from.status_seq {
        missed_statuses(bus, user, seq, &mut frames).await?;
    }
    if let Some(position) = from.event_position {
        missed_events(store, user, position, &mut frames).await?;
    }
    Ok(frames)
}

async fn missed_statuses(
    bus: &Bus,
    user: &UserId,
    after: u64,
    frames: &mut Vec<Frame>,
) -> Result<(), ReplayError> {
    let stream = bus
        .js
        .get_stream(bus.subjects.status_stream())
        .await
        .map_err(|e| ReplayError::Status(e.to_string()))?;
    let subject = bus.subjects.status(user);
    let mut next = after.saturating_add(1);
    loop {
        let message = match stream
            .direct_get_next_for_subject(subject.clone(), Some(next))
            .await
        {
            Ok(m) => m,
            Err(e) if e.kind() == DirectGetErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(ReplayError::Status(e.to_string())),
        };
        next = message.sequence.saturating_add(1);
        let Ok(mut status) = serde_json::from_slice::<StatusMessage>(&message.payload) else {
            continue;
        };
        if &status.user_id != user {
            continue;
        }
        status.payload.seq = Some(message.sequence);
        frames.extend(Frame::status(&status.payload));
        if frames.len() > MAX_REPLAY {
            return Err(ReplayError::TooFarBehind);
        }
    }
}

async fn missed_events(
    store: &dyn StoreReads,
    user: &UserId,
    after: i64,
    frames: &mut Vec<Frame>,
) -> Result<(), ReplayError> {
    // Otherwise a page could end early, below a held-back mark, and look
    // like the end.
    crate::safe_mark::wait_until_head_is_readable(store)
        .await
        .map_err(ReplayError::Events)?;
    let mut position = after;
    loop {
        let page = store
            .events(position, EVENT_PAGE, Some(user))
            .await
            .map_err(|e| ReplayError::Events(e.to_string()))?;
        let full = page.len() as i64 == EVENT_PAGE;
        for event in page {
            position = position.max(event.global_position);
            frames.extend(Frame::event(event, None));
        }
        if frames.len() > MAX_REPLAY {
            return Err(ReplayError::TooFarBehind);
        }
        if !full {
            return Ok(());
        }
    }
}
