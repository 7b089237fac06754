use std::time::Duration;

use async_nats::jetstream::AckKind;
use futures::StreamExt;
use ledgerline_bus::{Bus, Delivery};
use ledgerline_contracts::{
    CommandMessage, StatusEnvelope, StatusError, StatusKind, StatusMessage,
};
use ledgerline_domain::UserId;
use ledgerline_runtime::Shutdown;
use ledgerline_store::EventStore;
use uuid::Uuid;

use crate::account_cache::AccountCache;
use crate::{DecisionPolicy, decide_command, transfer};

/// Redelivery comes back quickly after a crash, yet is long enough for one
/// command's load-decide-append.
pub const ACK_WAIT: Duration = Duration::from_secs(10);

/// The most commands decided in one group (one transaction).
pub const GROUP_SIZE: usize = 256;

/// Accounts a partition task keeps decided state for.
const CACHED_ACCOUNTS: usize = 10_000;

pub fn durable_name(partition: u32) -> String {
    format!("command-processor-p{partition}")
}

/// Decides one partition's commands in the order they were accepted, a
/// group at a time (see `batch`), so an account's commands are applied in
/// that order.
pub async fn run_partition<S: EventStore>(
    bus: Bus,
    store: S,
    partition: u32,
    policy: DecisionPolicy,
    shutdown: Shutdown,
) {
    let filter = bus.subjects.command_partition(partition);
    let mut cache = AccountCache::new(CACHED_ACCOUNTS);
    while !shutdown.is_cancelled() {
        let consumer = match bus
            .durable_consumer(
                &bus.subjects.commands_stream(),
                &durable_name(partition),
                filter.clone(),
                ACK_WAIT,
            )
            .await
        {
            Ok(c) => c,
            Err(error) => {
                tracing::warn!(%error, partition, "cannot bind command consumer; retrying");
                tokio::select! { () = shutdown.cancelled() => break, () = tokio::time::sleep(Duration::from_secs(1)) => continue }
            }
        };
        let messages = match consumer.messages().await {
            Ok(m) => m,
            Err(error) => {
                tracing::warn!(%error, partition, "cannot pull commands; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        // Every command already waiting (up to a group's worth) is decided
        // together; a quiet partition decides each as it comes.
        let mut groups = messages.ready_chunks(GROUP_SIZE);
        loop {
            let next = tokio::select! {
                // Cancellation first: a task whose lease is gone takes no
                // further group.
                biased;
                () = shutdown.cancelled() => return,
                next = groups.next() => next,
            };
            let Some(group) = next else { break };
            let mut deliveries = Vec::with_capacity(group.len());
            for delivery in group {
                match delivery {
                    Ok(delivery) => deliveries.push(delivery),
                    Err(error) => tracing::warn!(%error, partition, "command stream error"),
                }
            }
            crate::batch::run_batch(&bus, &store, &mut cache, deliveries, policy, &shutdown).await;
        }
    }
}

/// The command in a delivery, if it is one and came on its account's subject.
pub(crate) fn read_command(bus: &Bus, delivery: &Delivery) -> Result<CommandMessage, String> {
    let message: CommandMessage =
        serde_json::from_slice(&delivery.payload).map_err(|e| e.to_string())?;
    // The subject must agree with the body, or the partition order is a lie.
    let expected = bus.subjects.command(
        ledgerline_bus::partition_of(message.command.account_id(), bus.partitions),
        message.command.account_id(),
    );
    if delivery.subject.as_str() != expected {
        return Err("subject does not match the command's account".into());
    }
    Ok(message)
}

/// Counts a command decided just now and how long it waited since the 202.
pub(crate) fn record_decided(message: &CommandMessage, status: &StatusMessage) {
    let kind = format!("{:?}", status.payload.status).to_lowercase();
    metrics::counter!("ledgerline_commands_decided_total", "kind" => message.command.kind().slug(), "status" => kind).increment(1);
    let waited = time::OffsetDateTime::now_utc() - message.accepted_at;
    metrics::histogram!("ledgerline_command_end_to_end_seconds")
        .record(waited.as_seconds_f64().max(0.0));
}

/// Decides one command alone, from the store, retrying in place through
/// faults (the careful path a group falls back to).
pub(crate) async fn process<S: EventStore>(
    bus: &Bus,
    store: &S,
    delivery: Delivery,
    policy: DecisionPolicy,
    shutdown: &Shutdown,
) {
    let message = match read_command(bus, &delivery) {
        Ok(message) => message,
        Err(reason) => return reject_poison(bus, delivery, &reason).await,
    };
    match transfer::verified(store, &message).await {
        Ok(true) => {}
        Ok(false) => {
            tracing::warn!(command_id = %message.command_id, "unverified transfer step dropped");
            let _ = delivery.ack_with(AckKind::Term).await;
            return;
        }
        // The store is away: let the message come back after AckWait.
        Err(error) => return tracing::warn!(%error, "cannot verify a transfer step now"),
    }
    // Faults (PostgreSQL or NATS away) are retried in place (see
    // `retry_in_place`); nothing is decided once the lease is gone.
    if shutdown.is_cancelled() {
        return;
    }
    let command = &message;
    let attempt = || async move {
        let handled = decide_command(store, command, policy)
            .await
            .map_err(|e| format!("cannot decide now: {e}"))?;
        publish_outcome(bus, store, command, &handled.status)
            .await
            .map_err(|e| format!("publish after commit failed: {e}"))?;
        Ok(handled)
    };
    let Some(handled) = retry_in_place(&delivery, message.command_id, shutdown, attempt).await
    else {
        return;
    };
    if let Err(error) = delivery.ack().await {
        tracing::warn!(%error, command_id = %message.command_id, "ack failed; redelivery will republish");
    }
    if handled.fresh {
        record_decided(&message, &handled.status);
    }
    tracing::debug!(command_id = %message.command_id, status = ?handled.status.payload.status, fresh = handled.fresh, "command handled");
}

/// Runs `attempt` until it succeeds, retrying in place with backoff (a
/// NAK would let the account's next command overtake this one) and
/// in-progress acks so JetStream does not redeliver meanwhile. `None` when
/// shutdown (or a lost lease) comes first: the message stays unacked and
/// comes back after AckWait.
pub(crate) async fn retry_in_place<T, F>(
    delivery: &Delivery,
    command_id: Uuid,
    shutdown: &Shutdown,
    mut attempt: impl FnMut() -> F,
) -> Option<T>
where
    F: Future<Output = Result<T, String>>,
{
    let mut backoff = Duration::from_millis(100);
    loop {
        match attempt().await {
            Ok(value) => return Some(value),
            Err(error) => tracing::warn!(%error, %command_id, "retrying"),
        }
        if shutdown.is_cancelled() {
            return None;
        }
        let _ = delivery.ack_with(AckKind::Progress).await;
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(2));
        if shutdown.is_cancelled() {
            return None;
        }
    }
}

/// Events first, then what the outcome sets in motion: a transfer's next
/// step, or the status envelope — so a client that sees the status can rely
/// on the events being in the stream.
pub(crate) async fn publish_outcome<S: EventStore>(
    bus: &Bus,
    store: &S,
    message: &CommandMessage,
    status: &StatusMessage,
) -> Result<(), String> {
    for event in &status.payload.events {
        bus.publish_event(event).await.map_err(|e| e.to_string())?;
    }
    let follow = transfer::follow_up(store, message, status)
        .await
        .map_err(|e| e.to_string())?;
    if let Some(next) = &follow.next {
        bus.publish_command(next).await.map_err(|e| e.to_string())?;
    }
    if let Some(status) = &follow.status {
        bus.publish_status(status)
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// A message that cannot be a command: tell its sender (when it names one)
/// with a `failed` envelope, and terminate it so it is never redelivered.
pub(crate) async fn reject_poison(bus: &Bus, delivery: Delivery, reason: &str) {
    tracing::warn!(subject = %delivery.subject, reason, "poison command message terminated");
    let loose: serde_json::Value = serde_json::from_slice(&delivery.payload).unwrap_or_default();
    let command_id = loose
        .get("commandId")
        .and_then(|v| v.as_str())
        .and_then(|s| Uuid::parse_str(s).ok());
    let user_id = loose
        .get("userId")
        .and_then(|v| v.as_str())
        .and_then(|s| UserId::parse(s).ok());
    if let (Some(command_id), Some(user_id)) = (command_id, user_id) {
        let entity = delivery
            .subject
            .rsplit('.')
            .next()
            .unwrap_or_default()
            .to_owned();
        // The reason can echo the sender's bytes: no control characters
        // (PostgreSQL's jsonb refuses `\u0000`, which would stall the
        // outcome recorders).
        let reason: String = reason.chars().filter(|c| !c.is_control()).collect();
        let error = StatusError {
            code: "INVALID_COMMAND".into(),
            message: format!("The command could not be read: {reason}"),
        };
        let payload = StatusEnvelope::new(command_id, &entity, Err((StatusKind::Failed, error)));
        if let Err(error) = bus
            .publish_status(&StatusMessage { user_id, payload })
            .await
        {
            tracing::warn!(%error, "cannot publish failed envelope");
        }
    }
    let _ = delivery.ack_with(AckKind::Term).await;
}
