use std::time::Duration;

use async_nats::jetstream::consumer::DeliverPolicy;
use async_nats::jetstream::consumer::push::OrderedConfig;
use futures::StreamExt;
use ledgerline_contracts::{EventEnvelope, StatusMessage};
use ledgerline_domain::{AccountEvent, AccountId, UserId};
use tokio_util::sync::CancellationToken;

use crate::frame::Frame;
use crate::registry::Registry;

/// Subscribes to the user's status subject and to each account they own,
/// before returning (see `Registry::join`).
pub async fn start_user(registry: Registry, user: UserId, stop: CancellationToken) {
    let bus = &registry.bus;
    let status = ordered(
        &registry,
        bus.subjects.status_stream(),
        bus.subjects.status(&user),
    )
    .await;
    match status {
        Some(messages) => {
            tokio::spawn(pump_status(registry.clone(), user.clone(), messages, stop));
        }
        None => tracing::warn!(%user, "cannot follow status envelopes"),
    }
    for account in owned_accounts(&registry, &user).await {
        if let Some(stop) = registry.claim_account(&user, &account) {
            follow_account(registry.clone(), user.clone(), account, stop).await;
        }
    }
}

async fn owned_accounts(registry: &Registry, user: &UserId) -> Vec<AccountId> {
    let request = registry
        .bus
        .client
        .request(registry.bus.subjects.accounts_of(user), "".into());
    match tokio::time::timeout(Duration::from_secs(2), request).await {
        Ok(Ok(answer)) => serde_json::from_slice(&answer.payload).unwrap_or_default(),
        _ => {
            tracing::warn!(%user, "accounts-of lookup failed; following new accounts only");
            Vec::new()
        }
    }
}

type Ordered = async_nats::jetstream::consumer::push::Ordered;

/// An ordered consumer from now on: JetStream recreates it on a gap, and
/// each message carries its stream sequence for the frame's `seq`.
async fn ordered(registry: &Registry, stream: String, subject: String) -> Option<Ordered> {
    let js = &registry.bus.js;
    let stream = js
        .get_stream(stream)
        .await
        .map_err(|e| tracing::warn!(error = %e, "get stream"))
        .ok()?;
    let config = OrderedConfig {
        deliver_subject: registry.bus.client.new_inbox(),
        filter_subject: subject,
        deliver_policy: DeliverPolicy::New,
        ..Default::default()
    };
    let consumer = stream
        .create_consumer(config)
        .await
        .map_err(|e| tracing::warn!(error = %e, "create consumer"))
        .ok()?;
    consumer
        .messages()
        .await
        .map_err(|e| tracing::warn!(error = %e, "consumer messages"))
        .ok()
}

async fn pump_status(
    registry: Registry,
    user: UserId,
    mut messages: Ordered,
    stop: CancellationToken,
) {
    loop {
        let next = tokio::select! { () = stop.cancelled() => return, n = messages.next() => n };
        let message = match next {
            Some(Ok(m)) => m,
            Some(Err(error)) => {
                tracing::warn!(%error, %user, "status consumer error");
                continue;
            }
            None => return,
        };
        let Ok(mut status) = serde_json::from_slice::<StatusMessage>(&message.payload) else {
            tracing::warn!(subject = %message.subject, "undecodable status message skipped");
            continue;
        };
        // Never deliver another user's envelope, whatever the subject said.
        if status.user_id != user {
            tracing::warn!(subject = %message.subject, "status for another user skipped");
            continue;
        }
        status.payload.seq = message.info().ok().map(|i| i.stream_sequence);
        for event in &status.payload.events {
            if let AccountEvent::AccountOpened { owner_id, .. } = &event.event
                && let Some(stop) = registry.claim_account(owner_id, &event.aggregate_id)
            {
                tokio::spawn(follow_account(
                    registry.clone(),
                    owner_id.clone(),
                    event.aggregate_id.clone(),
                    stop,
                ));
            }
        }
        // The end of the command's trace: pushed to the user's sockets.
        let span = tracing::info_span!("socket.push", command_id = %status.payload.command_id);
        ledgerline_telemetry::continue_from(&span, message.headers.as_ref(), None);
        let _entered = span.enter();
        if let Some(frame) = Frame::status(&status.payload) {
            registry.fan_out(&user, frame);
        }
    }
}

/// Subscribes to an account's events, then pumps them in the background;
/// returns once subscribed.
pub async fn follow_account(
    registry: Registry,
    user: UserId,
    account: AccountId,
    stop: CancellationToken,
) {
    let bus = &registry.bus;
    let Some(messages) = ordered(
        &registry,
        bus.subjects.events_stream(),
        bus.subjects.event(&account),
    )
    .await
    else {
        return tracing::warn!(%account, "cannot follow account events");
    };
    tokio::spawn(pump_events(registry, user, account, messages, stop));
}

async fn pump_events(
    registry: Registry,
    user: UserId,
    account: AccountId,
    mut messages: Ordered,
    stop: CancellationToken,
) {
    loop {
        let next = tokio::select! { () = stop.cancelled() => return, n = messages.next() => n };
        let message = match next {
            Some(Ok(m)) => m,
            Some(Err(error)) => {
                tracing::warn!(%error, %account, "event consumer error");
                continue;
            }
            None => return,
        };
        let Ok(event) = serde_json::from_slice::<EventEnvelope>(&message.payload) else {
            tracing::warn!(subject = %message.subject, "undecodable event skipped");
            continue;
        };
        if event.aggregate_id != account {
            continue;
        }
        let seq = message.info().ok().map(|i| i.stream_sequence);
        if let Some(frame) = Frame::event(event, seq) {
            registry.fan_out(&user, frame);
        }
    }
}
