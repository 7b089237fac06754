//! One generic, typed request–reply over NATS for the boundaries between
//! components that run in different processes (in `ledgerline all` they
//! are plain calls and none of this is used). An [`Rpc`] names its subject
//! and its request and response types; [`Bus::serve`] is the one responder
//! loop and [`Bus::call`] the one client, with one timeout policy and typed
//! errors on the wire.

use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use futures::future::BoxFuture;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio_util::sync::CancellationToken;

use crate::Bus;

/// How long a caller waits for an answer.
pub const RPC_TIMEOUT: Duration = Duration::from_secs(5);

/// The queue group of every responder: one replica answers each request.
const QUEUE_GROUP: &str = "ledgerline";

/// A request–reply between components: `{prefix}.rpc.{NAME}` (and, for
/// calls addressed to one of several responders, `.{token}` after it).
pub trait Rpc: 'static {
    const NAME: &'static str;
    type Request: Serialize + DeserializeOwned + Send + Sync + 'static;
    /// Refusals the callee decides (a problem document, a store fault) are
    /// part of the response type; [`RpcError`] is only "no answer".
    type Response: Serialize + DeserializeOwned + Send + 'static;
}

/// Why a call got no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RpcError {
    #[error("no {0} responder is running")]
    NoResponder(&'static str),
    #[error("{0} did not answer within {RPC_TIMEOUT:?}")]
    Timeout(&'static str),
    #[error("{name}: {message}")]
    Transport { name: &'static str, message: String },
    /// The answer (or the request, on the serving side) is not the
    /// contract's type: versions disagree, or someone else is talking.
    #[error("{name}: undecodable message: {message}")]
    Decode { name: &'static str, message: String },
}

/// What a responder sends back: the response, or why the request itself
/// could not be read.
type Reply<R> = Result<<R as Rpc>::Response, String>;

impl Bus {
    fn rpc_subject<R: Rpc>(&self, token: Option<&str>) -> String {
        match token {
            Some(token) => format!("{}.rpc.{}.{token}", self.subjects.prefix(), R::NAME),
            None => format!("{}.rpc.{}", self.subjects.prefix(), R::NAME),
        }
    }

    /// Asks the responder of `R`.
    pub async fn call<R: Rpc>(&self, request: &R::Request) -> Result<R::Response, RpcError> {
        self.call_on::<R>(None, request).await
    }

    /// Asks the responder of `R` that serves `token` (see [`Bus::serve_on`]).
    pub async fn call_on<R: Rpc>(
        &self,
        token: Option<&str>,
        request: &R::Request,
    ) -> Result<R::Response, RpcError> {
        let decode = |message: String| RpcError::Decode {
            name: R::NAME,
            message,
        };
        let body = Bytes::from(serde_json::to_vec(request).map_err(|e| decode(e.to_string()))?);
        let answer = tokio::time::timeout(
            RPC_TIMEOUT,
            self.client.request(self.rpc_subject::<R>(token), body),
        )
        .await
        .map_err(|_| RpcError::Timeout(R::NAME))?
        .map_err(|e| match e.kind() {
            async_nats::RequestErrorKind::NoResponders => RpcError::NoResponder(R::NAME),
            async_nats::RequestErrorKind::TimedOut => RpcError::Timeout(R::NAME),
            _ => RpcError::Transport {
                name: R::NAME,
                message: e.to_string(),
            },
        })?;
        serde_json::from_slice::<Reply<R>>(&answer.payload)
            .map_err(|e| decode(e.to_string()))?
            .map_err(decode)
    }

    /// Answers every request for `R` with `handler` until `shutdown`, each
    /// request in a task of its own, sharing the requests with the other
    /// replicas that serve it.
    pub async fn serve<R, H>(&self, handler: H, shutdown: CancellationToken)
    where
        R: Rpc,
        H: Fn(R::Request) -> BoxFuture<'static, R::Response> + Send + Sync + 'static,
    {
        self.serve_on::<R, H>(None, handler, shutdown).await
    }

    /// [`Bus::serve`] for the requests addressed to `token` only.
    pub async fn serve_on<R, H>(&self, token: Option<&str>, handler: H, shutdown: CancellationToken)
    where
        R: Rpc,
        H: Fn(R::Request) -> BoxFuture<'static, R::Response> + Send + Sync + 'static,
    {
        self.responder::<R, H, R::Response>(token, Some(QUEUE_GROUP), handler, shutdown)
            .await
    }

    /// Answers every request for `R` — as every other responder of `R`
    /// does (no queue group): for [`Bus::gather`]. A handler answering
    /// `None` stays silent.
    pub async fn serve_every<R, H>(&self, handler: H, shutdown: CancellationToken)
    where
        R: Rpc,
        H: Fn(R::Request) -> BoxFuture<'static, Option<R::Response>> + Send + Sync + 'static,
    {
        self.responder::<R, H, Option<R::Response>>(None, None, handler, shutdown)
            .await
    }

    /// Asks every responder of `R` (see [`Bus::serve_every`]) and collects
    /// the answers that arrive within `window`, or until `enough` says so.
    pub async fn gather<R: Rpc>(
        &self,
        request: &R::Request,
        window: Duration,
        mut enough: impl FnMut(&R::Response) -> bool,
    ) -> Result<Vec<R::Response>, RpcError> {
        let transport = |e: &dyn std::fmt::Display| RpcError::Transport {
            name: R::NAME,
            message: e.to_string(),
        };
        let body = serde_json::to_vec(request).map_err(|e| RpcError::Decode {
            name: R::NAME,
            message: e.to_string(),
        })?;
        let inbox = self.client.new_inbox();
        let mut replies = self
            .client
            .subscribe(inbox.clone())
            .await
            .map_err(|e| transport(&e))?;
        self.client
            .publish_with_reply(self.rpc_subject::<R>(None), inbox, body.into())
            .await
            .map_err(|e| transport(&e))?;
        let deadline = tokio::time::Instant::now() + window;
        let mut answers = Vec::new();
        while let Ok(Some(reply)) = tokio::time::timeout_at(deadline, replies.next()).await {
            match serde_json::from_slice::<Reply<R>>(&reply.payload) {
                Ok(Ok(answer)) => {
                    let done = enough(&answer);
                    answers.push(answer);
                    if done {
                        break;
                    }
                }
                Ok(Err(message)) => tracing::warn!(rpc = R::NAME, %message, "request refused"),
                Err(error) => tracing::warn!(rpc = R::NAME, %error, "undecodable answer ignored"),
            }
        }
        let _ = replies.unsubscribe().await;
        Ok(answers)
    }

    /// The one responder loop: each request in a task of its own.
    async fn responder<R, H, T>(
        &self,
        token: Option<&str>,
        queue: Option<&str>,
        handler: H,
        shutdown: CancellationToken,
    ) where
        R: Rpc,
        T: Into<Option<R::Response>> + Send + 'static,
        H: Fn(R::Request) -> BoxFuture<'static, T> + Send + Sync + 'static,
    {
        let subject = self.rpc_subject::<R>(token);
        let subscribed = match queue {
            Some(queue) => {
                self.client
                    .queue_subscribe(subject.clone(), queue.to_owned())
                    .await
            }
            None => self.client.subscribe(subject.clone()).await,
        };
        let mut requests = match subscribed {
            Ok(requests) => requests,
            Err(error) => return tracing::error!(%error, %subject, "cannot serve requests"),
        };
        let handler = std::sync::Arc::new(handler);
        loop {
            let request = tokio::select! {
                () = shutdown.cancelled() => return,
                next = requests.next() => match next { Some(r) => r, None => return },
            };
            let Some(reply_to) = request.reply.clone() else {
                continue;
            };
            let (client, handler) = (self.client.clone(), handler.clone());
            tokio::spawn(async move {
                let reply: Option<Reply<R>> =
                    match serde_json::from_slice::<R::Request>(&request.payload) {
                        Ok(request) => handler(request).await.into().map(Ok),
                        Err(e) => Some(Err(format!("not a {} request: {e}", R::NAME))),
                    };
                // A gather's responder may have nothing to say.
                let Some(reply) = reply else { return };
                let body = match serde_json::to_vec(&reply) {
                    Ok(body) => body,
                    Err(error) => {
                        return tracing::warn!(%error, rpc = R::NAME, "cannot encode a reply");
                    }
                };
                if let Err(error) = client.publish(reply_to, body.into()).await {
                    tracing::warn!(%error, rpc = R::NAME, "cannot answer");
                }
            });
        }
    }
}
