//! Command acceptance as a boundary: a command that comes in by another
//! door than `POST /commands/*` (a socket frame) is accepted by the command
//! API, which owns acceptance and its table. In `ledgerline all` that is a
//! call of the command API's `AcceptService`; split, [`RemoteAcceptance`]
//! asks it over NATS and [`serve_acceptance`] answers.

use std::sync::Arc;

use futures::future::BoxFuture;
use ledgerline_contracts::{AcceptRequest, AcceptedResponse, Problem};
use tokio_util::sync::CancellationToken;

use crate::Bus;
use crate::rpc::Rpc;

/// Accepts a command: validated, recorded and queued — or refused with the
/// problem document `POST /commands/*` would have answered.
pub trait Acceptance: Send + Sync + 'static {
    fn accept<'a>(
        &'a self,
        request: &'a AcceptRequest,
    ) -> BoxFuture<'a, Result<AcceptedResponse, Problem>>;
}

pub struct Accept;

impl Rpc for Accept {
    const NAME: &'static str = "accept";
    type Request = AcceptRequest;
    type Response = Result<AcceptedResponse, Problem>;
}

/// The command API of another process.
#[derive(Clone)]
pub struct RemoteAcceptance {
    bus: Bus,
}

impl RemoteAcceptance {
    pub fn new(bus: Bus) -> Self {
        Self { bus }
    }
}

impl Acceptance for RemoteAcceptance {
    fn accept<'a>(
        &'a self,
        request: &'a AcceptRequest,
    ) -> BoxFuture<'a, Result<AcceptedResponse, Problem>> {
        Box::pin(async move {
            self.bus
                .call::<Accept>(request)
                .await
                .unwrap_or_else(|error| {
                    // Which subject, which error: for the log, not the client.
                    tracing::warn!(%error, "the command API did not answer an accept request");
                    Err(Problem::new(
                        503,
                        "unavailable",
                        "The command API did not answer; nothing was queued, try again",
                    ))
                })
        })
    }
}

/// Answers accept requests from other processes with `acceptance`.
pub async fn serve_acceptance(
    bus: Bus,
    acceptance: Arc<dyn Acceptance>,
    shutdown: CancellationToken,
) {
    bus.serve::<Accept, _>(
        move |request| {
            let acceptance = acceptance.clone();
            Box::pin(async move { acceptance.accept(&request).await })
        },
        shutdown,
    )
    .await;
}
