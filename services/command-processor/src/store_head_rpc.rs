use futures::StreamExt;
use ledgerline_bus::Bus;
use ledgerline_contracts::StoreHead;
use ledgerline_runtime::Shutdown;
use ledgerline_store::EventStore;

/// Answers `bank.rpc.store-head` with the highest global position in the
/// event store, so `GET /projections` can tell each read model's lag
/// without reading the processor's tables. A queue group: one replica
/// answers. No answer while the store is unreachable — the asker then
/// reports the lag as unknown rather than a wrong number.
pub async fn serve_store_head<S: EventStore>(bus: Bus, store: S, shutdown: Shutdown) {
    let mut requests = match bus
        .client
        .queue_subscribe(bus.subjects.store_head_rpc(), "command-processor".into())
        .await
    {
        Ok(s) => s,
        Err(error) => return tracing::error!(%error, "cannot serve store-head requests"),
    };
    loop {
        let request = tokio::select! {
            () = shutdown.cancelled() => return,
            r = requests.next() => match r { Some(r) => r, None => return },
        };
        let Some(reply) = request.reply else {
            continue;
        };
        let head_position = match store.head_position().await {
            Ok(position) => position,
            Err(error) => {
                tracing::warn!(%error, "store head lookup failed");
                continue;
            }
        };
        let body = match serde_json::to_vec(&StoreHead { head_position }) {
            Ok(body) => body,
            Err(error) => {
                tracing::warn!(%error, "cannot encode store head");
                continue;
            }
        };
        if let Err(error) = bus.client.publish(reply, body.into()).await {
            tracing::warn!(%error, "cannot answer store-head");
        }
    }
}
