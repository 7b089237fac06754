use futures::StreamExt;
use ledgerline_bus::Bus;
use ledgerline_contracts::{
    AccountEventsRequest, EventAtRequest, EventLocation, EventsReply, UserEventsRequest,
};
use ledgerline_domain::{AccountId, UserId};
use ledgerline_runtime::Shutdown;
use ledgerline_store::EventStore;

/// Largest page one request may ask for.
const MAX_PAGE: i64 = 1_000;

/// Serves `bank.rpc.account-events.*` and `bank.rpc.user-events.*`: reads of
/// the event store for services that must not touch its tables.
pub async fn serve_event_reads<S: EventStore>(bus: Bus, store: S, shutdown: Shutdown) {
    let group = "command-processor".to_owned();
    let (accounts, users, positions) = match tokio::try_join!(
        bus.client
            .queue_subscribe(bus.subjects.account_events_all(), group.clone()),
        bus.client
            .queue_subscribe(bus.subjects.user_events_all(), group.clone()),
        bus.client.queue_subscribe(bus.event_at_subject(), group),
    ) {
        Ok(subs) => subs,
        Err(error) => return tracing::error!(%error, "cannot serve event-store reads"),
    };
    let mut requests = futures::stream::select(futures::stream::select(accounts, users), positions);
    loop {
        let request = tokio::select! {
            () = shutdown.cancelled() => return,
            r = requests.next() => match r { Some(r) => r, None => return },
        };
        let Some(reply_to) = request.reply.clone() else {
            continue;
        };
        let store = store.clone();
        let client = bus.client.clone();
        tokio::spawn(async move {
            let token = request
                .subject
                .rsplit('.')
                .next()
                .unwrap_or_default()
                .to_owned();
            let body = if request.subject.ends_with(".rpc.event-at") {
                serde_json::to_vec(&event_at(&store, &request.payload).await)
            } else if request.subject.contains(".rpc.account-events.") {
                serde_json::to_vec(&account_events(&store, &token, &request.payload).await)
            } else {
                serde_json::to_vec(&user_events(&store, &token, &request.payload).await)
            }
            .unwrap_or_default();
            if let Err(error) = client.publish(reply_to, body.into()).await {
                tracing::warn!(%error, "cannot answer an event-store read");
            }
        });
    }
}

async fn account_events<S: EventStore>(store: &S, account: &str, payload: &[u8]) -> EventsReply {
    let (Ok(account), Ok(request)) = (
        AccountId::parse(account),
        serde_json::from_slice::<AccountEventsRequest>(payload),
    ) else {
        return EventsReply::Error("bad account-events request".into());
    };
    match store
        .account_events(
            &account,
            request.after_version.max(0),
            request.limit.clamp(1, MAX_PAGE),
        )
        .await
    {
        Ok(events) => EventsReply::Events(events),
        Err(e) => EventsReply::Error(e.to_string()),
    }
}

async fn user_events<S: EventStore>(store: &S, user: &str, payload: &[u8]) -> EventsReply {
    let (Ok(user), Ok(request)) = (
        UserId::parse(user),
        serde_json::from_slice::<UserEventsRequest>(payload),
    ) else {
        return EventsReply::Error("bad user-events request".into());
    };
    match store
        .stream(
            request.after_position.max(0),
            request.limit.clamp(1, MAX_PAGE),
            Some(&user),
        )
        .await
    {
        Ok(events) => EventsReply::Events(events),
        Err(e) => EventsReply::Error(e.to_string()),
    }
}

/// Which account and version sit at a global position (read-your-writes).
async fn event_at<S: EventStore>(
    store: &S,
    payload: &[u8],
) -> Result<Option<EventLocation>, String> {
    let request: EventAtRequest =
        serde_json::from_slice(payload).map_err(|e| format!("bad event-at request: {e}"))?;
    let found = store
        .event_at(request.position)
        .await
        .map_err(|e| e.to_string())?;
    Ok(found.map(|(account_id, version)| EventLocation {
        account_id,
        version,
    }))
}
