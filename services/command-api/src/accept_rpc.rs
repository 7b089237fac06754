//! `bank.rpc.accept`: commands that arrive on a socket are accepted by the
//! command API over NATS request–reply, so acceptance (and its table) has
//! one owner whichever door a command came in by.

use std::time::Duration;

use futures::StreamExt;
use ledgerline_bus::Bus;
use ledgerline_contracts::{AcceptedResponse, Problem};
use ledgerline_runtime::Shutdown;
use serde::{Deserialize, Serialize};

use crate::{AcceptRequest, AcceptService};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AcceptReply {
    Accepted(AcceptedResponse),
    Refused(Problem),
}

pub fn subject(bus: &Bus) -> String {
    format!("{}.rpc.accept", bus.subjects.prefix())
}

pub async fn serve(service: AcceptService, shutdown: Shutdown) {
    let bus = service.bus.clone();
    let mut requests = match bus.client.queue_subscribe(subject(&bus), "command-api".into()).await {
        Ok(s) => s,
        Err(error) => return tracing::error!(%error, "cannot serve accept requests"),
    };
    loop {
        let request = tokio::select! {
            () = shutdown.cancelled() => return,
            r = requests.next() => match r { Some(r) => r, None => return },
        };
        let Some(reply_to) = request.reply.clone() else { continue };
        let service = service.clone();
        tokio::spawn(async move {
            let reply = match serde_json::from_slice::<AcceptRequest>(&request.payload) {
                Ok(accept) => match service.accept(&accept).await {
                    Ok(accepted) => AcceptReply::Accepted(accepted),
                    Err(problem) => AcceptReply::Refused(problem.0),
                },
                Err(e) => AcceptReply::Refused(Problem::new(400, "bad-request", "Bad accept request").detail(e.to_string())),
            };
            let body = serde_json::to_vec(&reply).unwrap_or_default();
            if let Err(error) = service.bus.client.publish(reply_to, body.into()).await {
                tracing::warn!(%error, "cannot answer accept request");
            }
        });
    }
}

/// Asks the command API to accept a command (used by the socket service).
pub async fn request_accept(bus: &Bus, request: &AcceptRequest) -> Result<AcceptReply, String> {
    let body = serde_json::to_vec(request).map_err(|e| e.to_string())?;
    let answer = tokio::time::timeout(Duration::from_secs(5), bus.client.request(subject(bus), body.into()))
        .await
        .map_err(|_| "the command API did not answer in time".to_owned())?
        .map_err(|e| e.to_string())?;
    serde_json::from_slice(&answer.payload).map_err(|e| e.to_string())
}
