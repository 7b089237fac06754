//! What the broker still holds of the command work queue: which commands
//! of an account are still queued (the command API's reconciler), and
//! which of a partition's are, in order (the processor's order barrier).
//! A work queue drops what is acked, so what it holds is what is not done.

use std::collections::HashSet;

use async_nats::jetstream::stream::{DirectGetErrorKind, LastRawMessageErrorKind};
use ledgerline_contracts::CommandKey;
use ledgerline_domain::AccountId;
use uuid::Uuid;

use crate::{Bus, BusError, partition_of};

/// The commands of one account still in the work queue, as far as they
/// were read.
#[derive(Debug, Default)]
pub struct Queued {
    pub keys: HashSet<CommandKey>,
    /// Messages read to find them.
    pub read: usize,
    /// `false` when the walk stopped at its limit before the last one.
    pub complete: bool,
}

fn failed(what: &'static str) -> impl Fn(&dyn std::fmt::Display) -> BusError {
    move |e| BusError::JetStream {
        what,
        message: e.to_string(),
    }
}

impl Bus {
    /// The keys of `account`'s commands still in the work queue (not yet
    /// acked by the processor), read from the dedup ids of the messages on
    /// its subject — at most `limit` of them.
    pub async fn queued_commands(
        &self,
        account: &AccountId,
        limit: usize,
    ) -> Result<Queued, BusError> {
        let stream = self
            .js
            .get_stream_no_info(self.subjects.commands_stream())
            .await
            .map_err(|e| failed("getting stream")(&e))?;
        let subject = self
            .subjects
            .command(partition_of(account, self.partitions), account);
        let mut queued = Queued::default();
        let mut next = None;
        while queued.read < limit {
            let message = match stream
                .direct_get_next_for_subject(subject.clone(), next)
                .await
            {
                Ok(message) => message,
                Err(e) if e.kind() == DirectGetErrorKind::NotFound => {
                    queued.complete = true;
                    return Ok(queued);
                }
                Err(e) => return Err(failed("direct get")(&e)),
            };
            queued.read += 1;
            next = Some(message.sequence + 1);
            // `{key}` or `{key}:requeue:{n}` (see `CommandMessage::dedup_id`).
            let key = message
                .headers
                .get("Nats-Msg-Id")
                .and_then(|id| id.as_str().split(':').next().map(Uuid::parse_str))
                .and_then(Result::ok);
            if let Some(key) = key {
                queued.keys.insert(CommandKey::from_stored(key));
            }
        }
        Ok(queued)
    }

    /// The stream sequence of the first command still queued on `filter`
    /// (a partition's subjects) at or after stream sequence `from`, if any.
    /// Asked of the stream's leader: a follower answering a direct get
    /// may not have seen the newest messages or acks yet, and the order
    /// barrier must not take a missing message for a decided one.
    pub async fn first_queued(&self, filter: &str, from: u64) -> Result<Option<u64>, BusError> {
        let stream = self
            .js
            .get_stream_no_info(self.subjects.commands_stream())
            .await
            .map_err(|e| failed("getting stream")(&e))?;
        match stream.get_first_raw_message_by_subject(filter, from).await {
            Ok(message) => Ok(Some(message.sequence)),
            Err(e) if e.kind() == LastRawMessageErrorKind::NoMessageFound => Ok(None),
            Err(e) => Err(failed("message get")(&e)),
        }
    }
}
