//! The process-wide feed: ONE ordered JetStream consumer on every event
//! (`bank.evt.>`) and one on every status envelope (`bank.status.>`),
//! routed in-process through the registry's table.
//!
//! A consumer per user and per account made a user's first socket cost one
//! JetStream round trip per account (300 accounts: half a second before
//! `welcome`) and put thousands of consumers on the server. Two consumers
//! per process cost nothing per socket; a join only fills the table.
//!
//! Both are subscribed before `start` returns, that is before the service
//! serves its first request, so a socket welcomed after its join sees
//! everything published after that.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context as _;
use async_nats::jetstream::Message;
use async_nats::jetstream::consumer::DeliverPolicy;
use async_nats::jetstream::consumer::push::{Ordered, OrderedConfig};
use futures::StreamExt;
use ledgerline_contracts::{EventEnvelope, StatusMessage};
use ledgerline_domain::{AccountEvent, AccountId, UserId};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::frame::Frame;
use crate::registry::Registry;

/// The two pumps, and whether both still run (for `/readyz`).
pub struct Feed {
    pub tasks: Vec<JoinHandle<()>>,
    pub alive: Arc<AtomicBool>,
}

pub async fn start(registry: &Registry, shutdown: &CancellationToken) -> anyhow::Result<Feed> {
    let subjects = &registry.bus.subjects;
    let events = ordered(registry, subjects.events_stream(), subjects.all_events())
        .await
        .context("subscribing to every event")?;
    let statuses = ordered(registry, subjects.status_stream(), subjects.all_status())
        .await
        .context("subscribing to every status envelope")?;
    let alive = Arc::new(AtomicBool::new(true));
    // `bank.evt.>` → `bank.evt.`: what precedes the account in a subject.
    let routes = EventRoutes {
        registry: registry.clone(),
        subject_prefix: subjects.all_events().trim_end_matches('>').to_owned(),
    };
    let status_routes = StatusRoutes {
        registry: registry.clone(),
        subject_prefix: subjects.all_status().trim_end_matches('>').to_owned(),
    };
    let tasks = vec![
        tokio::spawn(pump(events, shutdown.clone(), alive.clone(), move |m| {
            routes.route(m)
        })),
        tokio::spawn(pump(statuses, shutdown.clone(), alive.clone(), move |m| {
            status_routes.route(m)
        })),
    ];
    Ok(Feed { tasks, alive })
}

/// An ordered push consumer of what comes after the stream's current last
/// message: the client recreates it after a gap or a reconnect from the
/// last sequence it delivered, and each message carries its stream
/// sequence for the frame's `seq`.
struct Subscription {
    messages: Ordered,
    /// The stream's last sequence when the feed started. A consumer
    /// recreated before it delivered anything restarts from the stream's
    /// first message (the client knows no later sequence); what is at or
    /// below this floor is history, never a live frame.
    floor: u64,
}

async fn ordered(
    registry: &Registry,
    stream: String,
    filter: String,
) -> anyhow::Result<Subscription> {
    let bus = &registry.bus;
    let mut stream = bus.js.get_stream(&stream).await?;
    let floor = stream.info().await?.state.last_sequence;
    let config = OrderedConfig {
        deliver_subject: bus.client.new_inbox(),
        filter_subject: filter,
        deliver_policy: DeliverPolicy::ByStartSequence {
            start_sequence: floor.saturating_add(1),
        },
        description: Some("socket-service feed".to_owned()),
        ..Default::default()
    };
    let messages = stream.create_consumer(config).await?.messages().await?;
    Ok(Subscription { messages, floor })
}

async fn pump(
    subscription: Subscription,
    shutdown: CancellationToken,
    alive: Arc<AtomicBool>,
    mut route: impl FnMut(Message),
) {
    let Subscription {
        mut messages,
        floor,
    } = subscription;
    loop {
        let next = tokio::select! {
            () = shutdown.cancelled() => return,
            next = messages.next() => next,
        };
        match next {
            Some(Ok(message)) => {
                let seq = message.info().map(|i| i.stream_sequence).unwrap_or(0);
                if seq > floor {
                    route(message);
                }
            }
            // The ordered consumer recreates itself; nothing to do but note it.
            Some(Err(error)) => tracing::warn!(%error, "socket feed consumer error"),
            None => {
                tracing::error!("socket feed subscription ended; sockets get no live frames");
                alive.store(false, Ordering::Relaxed);
                return;
            }
        }
    }
}

struct EventRoutes {
    registry: Registry,
    subject_prefix: String,
}

impl EventRoutes {
    /// An event goes to its account's owner's sockets, and to no one else.
    fn route(&self, message: Message) {
        // Most events in a busy bank are of users with no socket here;
        // with no socket at all there is nothing to decode.
        if self.registry.routes().is_empty() {
            return;
        }
        let Ok(event) = serde_json::from_slice::<EventEnvelope>(&message.payload) else {
            tracing::warn!(subject = %message.subject, "undecodable event skipped");
            return;
        };
        // Only the account its subject names.
        let account = message.subject.strip_prefix(self.subject_prefix.as_str());
        if account != Some(event.aggregate_id.as_str()) {
            tracing::warn!(subject = %message.subject, "event on another account's subject skipped");
            return;
        }
        let seq = message.info().ok().map(|i| i.stream_sequence);
        let account: AccountId = event.aggregate_id.clone();
        let opened_by = match &event.event {
            AccountEvent::AccountOpened { owner_id, .. } => Some(owner_id.clone()),
            _ => None,
        };
        let Some(frame) = Frame::event(event, seq) else {
            return;
        };
        let mut routes = self.registry.routes();
        // A new account of a user with a socket here is theirs from its
        // first event on.
        if let Some(owner) = opened_by {
            routes.adopt(&owner, &account);
        }
        routes.send_to_owner(&account, frame);
    }
}

struct StatusRoutes {
    registry: Registry,
    subject_prefix: String,
}

impl StatusRoutes {
    /// A status envelope goes to the sockets of the user whose subject it
    /// came on — and only if the envelope names that same user.
    fn route(&self, message: Message) {
        let Some(user) = message
            .subject
            .strip_prefix(self.subject_prefix.as_str())
            .and_then(|u| UserId::parse(u).ok())
        else {
            return;
        };
        if !self.registry.routes().has_hub(&user) {
            return;
        }
        let Ok(mut status) = serde_json::from_slice::<StatusMessage>(&message.payload) else {
            tracing::warn!(subject = %message.subject, "undecodable status message skipped");
            return;
        };
        // Never deliver another user's envelope, whatever the subject said.
        if status.user_id != user {
            tracing::warn!(subject = %message.subject, "status for another user skipped");
            return;
        }
        status.payload.seq = message.info().ok().map(|i| i.stream_sequence);
        // The end of the command's trace: pushed to the user's sockets.
        let span = tracing::info_span!("socket.push", command_id = %status.payload.command_id);
        ledgerline_telemetry::continue_from(&span, message.headers.as_ref(), None);
        let _entered = span.enter();
        if let Some(frame) = Frame::status(&status.payload) {
            self.registry.routes().send_to_user(&user, frame);
        }
    }
}
