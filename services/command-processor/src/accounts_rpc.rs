use futures::StreamExt;
use ledgerline_bus::Bus;
use ledgerline_domain::UserId;
use ledgerline_runtime::Shutdown;
use ledgerline_store::EventStore;

/// Answers `bank.rpc.accounts-of.{userId}` with the JSON array of account
/// ids the user owns, so the socket service can follow their accounts
/// without reading tables it does not own. A queue group lets several
/// processor replicas share the requests.
pub async fn serve_accounts_of<S: EventStore>(bus: Bus, store: S, shutdown: Shutdown) {
    let mut requests = match bus
        .client
        .queue_subscribe(bus.subjects.accounts_of_all(), "command-processor".into())
        .await
    {
        Ok(s) => s,
        Err(error) => return tracing::error!(%error, "cannot serve accounts-of requests"),
    };
    loop {
        let request = tokio::select! {
            () = shutdown.cancelled() => return,
            r = requests.next() => match r { Some(r) => r, None => return },
        };
        let Some(reply) = request.reply.clone() else {
            continue;
        };
        let user = request
            .subject
            .rsplit('.')
            .next()
            .and_then(|u| UserId::parse(u).ok());
        let body = match user {
            Some(user) => match store.accounts_of(&user).await {
                Ok(ids) => serde_json::to_vec(&ids).unwrap_or_default(),
                Err(error) => {
                    tracing::warn!(%error, "accounts-of lookup failed");
                    continue;
                }
            },
            None => b"[]".to_vec(),
        };
        if let Err(error) = bus.client.publish(reply, body.into()).await {
            tracing::warn!(%error, "cannot answer accounts-of");
        }
    }
}
