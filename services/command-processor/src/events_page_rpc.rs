use futures::StreamExt;
use ledgerline_bus::Bus;
use ledgerline_contracts::{EventsReply, UserEventsRequest};
use ledgerline_runtime::Shutdown;
use ledgerline_store::EventStore;

/// Largest page one request may ask for.
const MAX_PAGE: i64 = 1_000;

/// Serves `bank.rpc.store-events`: a page of the whole event log after a
/// global position (the body is `{afterPosition, limit}`, as for
/// user-events), only below the store's safe high-water mark, so a reader
/// paging on can never skip an event whose transaction commits late.
/// Projectors rebuilding a read model (or bootstrapping a new one) read the
/// store this way, never its tables. A queue group: one replica answers.
pub async fn serve_store_events<S: EventStore>(bus: Bus, store: S, shutdown: Shutdown) {
    let mut requests = match bus
        .client
        .queue_subscribe(bus.subjects.store_events_rpc(), "command-processor".into())
        .await
    {
        Ok(s) => s,
        Err(error) => return tracing::error!(%error, "cannot serve event-log pages"),
    };
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
            let reply = match serde_json::from_slice::<UserEventsRequest>(&request.payload) {
                Ok(page) => match store
                    .stream(
                        page.after_position.max(0),
                        page.limit.clamp(1, MAX_PAGE),
                        None,
                    )
                    .await
                {
                    Ok(events) => EventsReply::Events(events),
                    Err(e) => EventsReply::Error(e.to_string()),
                },
                Err(_) => EventsReply::Error("bad store-events request".into()),
            };
            let body = match serde_json::to_vec(&reply) {
                Ok(body) => body,
                Err(error) => return tracing::warn!(%error, "cannot encode an event-log page"),
            };
            if let Err(error) = client.publish(reply_to, body.into()).await {
                tracing::warn!(%error, "cannot answer an event-log page");
            }
        });
    }
}
