use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::ws::Utf8Bytes;
use ledgerline_contracts::{EventEnvelope, EventFrame, StatusEnvelope};
use ledgerline_domain::AccountId;

/// A server frame, serialised once for all of its recipients, with what a
/// connection needs to tell whether it has already sent it. One pointer:
/// a frame is cloned once per recipient, and every connection's queue has
/// room for many (tokio allocates a queue's slots 32 at a time).
#[derive(Debug, Clone)]
pub struct Frame(Arc<Framed>);

#[derive(Debug)]
struct Framed {
    text: Utf8Bytes,
    key: FrameKey,
}

impl Frame {
    /// A status frame; `payload.seq` must be set.
    pub fn status(payload: &StatusEnvelope) -> Option<Self> {
        let seq = payload.seq?;
        let text = serde_json::to_string(payload).ok()?;
        Some(Self::new(text, FrameKey::Status(seq)))
    }

    pub fn event(event: EventEnvelope, seq: Option<u64>) -> Option<Self> {
        let key = FrameKey::Event(event.aggregate_id.clone(), event.version);
        let text = serde_json::to_string(&EventFrame {
            frame_type: Default::default(),
            seq,
            event,
        })
        .ok()?;
        Some(Self::new(text, key))
    }

    fn new(text: String, key: FrameKey) -> Self {
        Self(Arc::new(Framed {
            text: Utf8Bytes::from(text),
            key,
        }))
    }

    /// The frame's JSON, to write (a reference count, not a copy).
    pub fn text(&self) -> Utf8Bytes {
        self.0.text.clone()
    }

    pub fn key(&self) -> &FrameKey {
        &self.0.key
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameKey {
    /// A status envelope with its BANK_STATUS sequence.
    Status(u64),
    /// An event of an account at a version.
    Event(AccountId, i64),
}

/// What one connection has sent so far. Replay (from JetStream and the
/// event store) and live frames can overlap; each frame goes out once, in
/// order, whichever road it came by.
#[derive(Debug, Default)]
pub struct Delivered {
    status_seq: u64,
    event_versions: HashMap<AccountId, i64>,
}

impl Delivered {
    /// Starts after what the client says it already has.
    pub fn after(status_seq: u64) -> Self {
        Self {
            status_seq,
            event_versions: HashMap::new(),
        }
    }

    /// `true` (and remembered) if the frame is new to this connection.
    pub fn admit(&mut self, key: &FrameKey) -> bool {
        match key {
            FrameKey::Status(seq) => {
                let new = *seq > self.status_seq;
                if new {
                    self.status_seq = *seq;
                }
                new
            }
            // Looked up before inserting: no allocation for an account
            // this connection has seen (every frame but its first).
            FrameKey::Event(account, version) => match self.event_versions.get_mut(account) {
                Some(seen) if *version > *seen => {
                    *seen = *version;
                    true
                }
                Some(_) => false,
                None => {
                    self.event_versions.insert(account.clone(), *version);
                    *version > 0
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_frame_is_admitted_once_and_only_forward() {
        let mut delivered = Delivered::after(5);
        assert!(!delivered.admit(&FrameKey::Status(5)));
        assert!(delivered.admit(&FrameKey::Status(6)));
        assert!(!delivered.admit(&FrameKey::Status(6)));
        let a = AccountId::parse("a").unwrap();
        assert!(delivered.admit(&FrameKey::Event(a.clone(), 1)));
        assert!(delivered.admit(&FrameKey::Event(a.clone(), 2)));
        assert!(!delivered.admit(&FrameKey::Event(a.clone(), 1)));
        assert!(delivered.admit(&FrameKey::Event(AccountId::parse("b").unwrap(), 1)));
    }
}
