//! `bank.rpc.accept`: commands that arrive on a socket are accepted by the
//! command API over NATS request–reply, so acceptance (and its table) has
//! one owner whichever door a command came in by.

use futures::StreamExt;
use ledgerline_contracts::{AcceptReply, Problem};
use ledgerline_runtime::Shutdown;

use ledgerline_contracts::AcceptRequest;

use crate::AcceptService;

pub async fn serve(service: AcceptService, shutdown: Shutdown) {
    let bus = service.bus.clone();
    let mut requests = match bus
        .client
        .queue_subscribe(bus.subjects.accept_rpc(), "command-api".into())
        .await
    {
        Ok(s) => s,
        Err(error) => return tracing::error!(%error, "cannot serve accept requests"),
    };
    loop {
        let request = tokio::select! {
            () = shutdown.cancelled() => return,
            r = requests.next() => match r { Some(r) => r, None => return },
        };
        let Some(reply_to) = request.reply.clone() else {
            continue;
        };
        let service = service.clone();
        tokio::spawn(async move {
            let reply = match serde_json::from_slice::<AcceptRequest>(&request.payload) {
                Ok(accept) => match service.accept(&accept).await {
                    Ok(accepted) => AcceptReply::Accepted(accepted),
                    Err(problem) => AcceptReply::Refused(problem.0),
                },
                Err(e) => AcceptReply::Refused(
                    Problem::new(400, "bad-request", "Bad accept request").detail(e.to_string()),
                ),
            };
            let body = serde_json::to_vec(&reply).unwrap_or_default();
            if let Err(error) = service.bus.client.publish(reply_to, body.into()).await {
                tracing::warn!(%error, "cannot answer accept request");
            }
        });
    }
}
