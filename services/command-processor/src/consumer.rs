use std::time::Duration;

use async_nats::jetstream::AckKind;
use futures::StreamExt;
use ledgerline_bus::{Bus, Delivery};
use ledgerline_contracts::{
    CommandMessage, StatusEnvelope, StatusError, StatusKind, StatusMessage,
};
use ledgerline_domain::UserId;
use ledgerline_runtime::Shutdown;
use ledgerline_store::{CommitError, EventStore};
use uuid::Uuid;

use crate::account_cache::AccountCache;
use crate::fault::Fault;
use crate::handle::failed_decision;
use crate::retry::{Retried, retry_in_place};
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
    // Nothing is decided once the lease is gone.
    if shutdown.is_cancelled() {
        return;
    }
    let command = &message;
    let attempt = || async move {
        if !transfer::verified(store, command).await? {
            return Ok(None);
        }
        let handled = decide_command(store, command, policy).await?;
        publish_outcome(bus, store, command, &handled.status, handled.fresh).await?;
        Ok(Some(handled))
    };
    match retry_in_place(&delivery, message.key(), shutdown, attempt).await {
        Retried::Stopped => {}
        Retried::Done(None) => {
            tracing::warn!(key = %message.key(), "unverified transfer step dropped");
            let _ = delivery.ack_with(AckKind::Term).await;
        }
        Retried::Done(Some(handled)) => {
            if let Err(error) = delivery.ack().await {
                tracing::warn!(%error, key = %message.key(), "ack failed; redelivery will republish");
            }
            if handled.fresh {
                record_decided(&message, &handled.status);
            }
            tracing::debug!(key = %message.key(), status = ?handled.status.payload.status, fresh = handled.fresh, "command handled");
        }
        Retried::GaveUp(fault) => give_up(bus, store, &delivery, &message, shutdown, fault).await,
    }
}

/// A command that cannot be handled however often it is tried ends as
/// `failed` (`UNDECIDABLE`), told to its user like any outcome, and its
/// partition moves on. If an outcome was stored before the fault, that
/// outcome stands (never two); a transfer step that cannot even be verified
/// is dropped without one.
pub(crate) async fn give_up<S: EventStore>(
    bus: &Bus,
    store: &S,
    delivery: &Delivery,
    message: &CommandMessage,
    shutdown: &Shutdown,
    fault: Fault,
) {
    tracing::error!(%fault, key = %message.key(), "command cannot be decided; it ends as failed");
    metrics::counter!("ledgerline_commands_undecidable_total").increment(1);
    let failed = failed_decision(
        message,
        StatusError {
            code: "UNDECIDABLE".into(),
            message: "The command could not be decided; nothing was applied".into(),
        },
    );
    let attempt = || async {
        if !transfer::verified(store, message).await? {
            return Ok(());
        }
        match store.commit(failed.clone()).await {
            Ok(status) => {
                publish_outcome(bus, store, message, &status, true).await?;
                record_decided(message, &status);
                Ok(())
            }
            Err(CommitError::AlreadyDecided) => Ok(()),
            Err(error) => Err(Fault::from(error)),
        }
    };
    match retry_in_place(delivery, message.key(), shutdown, attempt).await {
        Retried::Stopped => {}
        Retried::Done(()) => {
            let _ = delivery.ack_with(AckKind::Term).await;
        }
        Retried::GaveUp(fault) => {
            tracing::error!(%fault, key = %message.key(), "cannot even store a failed outcome; the message is terminated");
            let _ = delivery.ack_with(AckKind::Term).await;
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
    fresh: bool,
) -> Result<(), Fault> {
    for event in &status.payload.events {
        bus.publish_event(event).await?;
    }
    let follow = transfer::follow_up(store, message, status, fresh).await?;
    if let Some(next) = &follow.next {
        bus.publish_command(next).await?;
    }
    if let Some(status) = &follow.status {
        bus.publish_status(status).await?;
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
