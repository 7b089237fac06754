use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{Message, Utf8Bytes, WebSocket};
use futures::StreamExt;
use futures::stream::{SplitSink, SplitStream};
use ledgerline_auth::TokenKeys;
use ledgerline_contracts::{HeartbeatFrame, WelcomeFrame};
use ledgerline_domain::{Amount, UserId};
use time::OffsetDateTime;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::client_frames::{self, Context};
use crate::closing::CloseReason;
use crate::error_frames::{error_frame, json};
use crate::expiry::TokenExpiry;
use crate::frame::{Delivered, Frame};
use crate::outbound::{Gone, Outbound};
use crate::registry::Registry;
use crate::replay::{self, ReplayError, ResumeFrom};
use crate::routes::Connection;
use tryhard::RetryPolicy;

pub const HEARTBEAT: Duration = Duration::from_secs(15);

/// The most queued frames written in one go.
const WRITTEN_TOGETHER: usize = 16;

/// What every socket of the process uses, held once for all of them.
pub struct Shared {
    pub registry: Registry,
    pub keys: TokenKeys,
    pub max_amount: Amount,
    pub shutdown: CancellationToken,
    /// How long one write may take before the connection is dropped
    /// (`SOCKET_WRITE_TIMEOUT_SECS`).
    pub write_timeout: Duration,
}

/// One socket's session: who it is for, until when, and where it resumes
/// from.
pub struct Session {
    pub shared: Arc<Shared>,
    pub user: UserId,
    /// The `exp` of the token the socket was opened with.
    pub expires_at: OffsetDateTime,
    pub resume: ResumeFrom,
}

/// How a session ended, and so what is left to write.
enum Ending {
    /// The server closes, saying why.
    Close(CloseReason),
    /// The client closed or the connection broke; nothing more to say.
    Ended,
    /// A write failed or timed out: drop the socket without another word.
    Gone,
}

impl From<Gone> for Ending {
    fn from(Gone: Gone) -> Self {
        Self::Gone
    }
}

/// Serves one socket until it closes, the server shuts down, its token
/// expires, or it falls too far behind (then it is closed with a reason,
/// and may reconnect and resume). Whatever the ending, the socket is dropped
/// when this returns, which ends the TCP connection.
///
/// Subscribe first, then replay, then release: the connection joins the
/// user's live feed (frames queue up), replays what the client missed, and
/// only then drains the queue — skipping whatever the replay already sent.
pub fn serve(socket: WebSocket, session: Session) -> impl Future<Output = ()> + Send {
    // Split here, outside the session's future: an async fn's arguments
    // keep their room in its future for as long as it runs.
    let (sink, incoming) = socket.split();
    serve_halves(sink, incoming, session)
}

async fn serve_halves(
    sink: SplitSink<WebSocket, Message>,
    mut incoming: SplitStream<WebSocket>,
    session: Session,
) {
    let id = Uuid::now_v7();
    let (frames, queue) = mpsc::channel(session.shared.registry.queue);
    // The connection's own stop: cancelled when it falls too far behind
    // (the fan-out kicks it) or when the server shuts down (a child of the
    // process's token). One token of its own to wait on, not the process's:
    // waiting registers with the token, and a token every connection waits
    // on is one lock they all take, on every frame.
    let kicked = session.shared.shutdown.child_token();
    let connection = Connection {
        frames,
        kicked: kicked.clone(),
    };
    session
        .shared
        .registry
        .join(&session.user, id, connection)
        .await;
    metrics::gauge!("ledgerline_socket_connections").increment(1);
    let mut out = Outbound::new(sink, session.shared.write_timeout);
    let ending = match welcome(&mut out, &session, id).await {
        Ok(delivered) => {
            let live = Live {
                session: &session,
                queue,
                kicked,
                delivered,
            };
            live.run(&mut out, &mut incoming).await
        }
        Err(gone) => gone.into(),
    };
    match ending {
        Ending::Close(reason) => out.close(reason).await,
        // The reply to the client's close, if tungstenite queued one.
        Ending::Ended => {
            let _ = out.flush().await;
        }
        Ending::Gone => {}
    }
    drop((out, incoming));
    session.shared.registry.leave(&session.user, id);
    metrics::gauge!("ledgerline_socket_connections").decrement(1);
}

/// `welcome`, then what the client missed.
async fn welcome(out: &mut Outbound, session: &Session, id: Uuid) -> Result<Delivered, Gone> {
    let resume = session.resume;
    let mut delivered = Delivered::after(resume.status_seq.unwrap_or(0));
    out.send(json(&WelcomeFrame {
        frame_type: Default::default(),
        user_id: session.user.clone(),
        connection_id: id,
    }))
    .await?;
    replay_missed(out, session, &mut delivered).await?;
    Ok(delivered)
}

/// How often, and after how long at first, a failed replay is tried again
/// (0.5 + 1 + 2 + 4 s).
const REPLAY_RETRIES: u32 = 4;
const REPLAY_BACKOFF: Duration = Duration::from_millis(500);

/// Sends what the client missed. A replay that cannot be completed is
/// reported (`RESUME_INCOMPLETE`: re-read the read models) and live frames
/// follow anyway; only a broken socket ends the session.
async fn replay_missed(
    out: &mut Outbound,
    session: &Session,
    delivered: &mut Delivered,
) -> Result<(), Gone> {
    let user = &session.user;
    let registry = &session.shared.registry;
    // A read that fails is tried again for a few seconds: long enough to
    // ride out a JetStream cluster electing a stream's new leader (a node
    // was lost) or an event-store replica restarting. Live frames queue
    // meanwhile.
    //
    // Boxed: the replay's future is the largest part of a session's, and a
    // session keeps the room for its largest part for as long as it lives;
    // on the heap it is room taken only while the replay runs.
    let replayed = Box::pin(
        tryhard::retry_fn(|| {
            replay::missed(
                &registry.bus,
                registry.peers.store.as_ref(),
                user,
                session.resume,
            )
        })
        .retries(REPLAY_RETRIES)
        .custom_backoff(|attempt: u32, error: &ReplayError| match error {
            ReplayError::TooFarBehind => RetryPolicy::Break,
            _ => RetryPolicy::Delay(REPLAY_BACKOFF * 2u32.pow(attempt.saturating_sub(1))),
        }),
    )
    .await;
    match replayed {
        Ok(frames) => {
            for frame in frames {
                if delivered.admit(frame.key()) {
                    out.send(Message::Text(frame.text())).await?;
                }
            }
            Ok(())
        }
        Err(e) => {
            tracing::warn!(error = %e, %user, "resume incomplete");
            let message = format!("{}; re-read your read models", e.public_message());
            out.send(error_frame("RESUME_INCOMPLETE", message)).await
        }
    }
}

/// A welcomed socket: live frames out, client frames in.
struct Live<'a> {
    session: &'a Session,
    queue: mpsc::Receiver<Frame>,
    /// Cancelled when the connection was kicked or the server shuts down.
    kicked: CancellationToken,
    delivered: Delivered,
}

/// What woke the loop.
enum Step {
    Stop(CloseReason),
    Live(Option<Frame>),
    Heartbeat,
    Incoming(Option<Result<Message, axum::Error>>),
}

impl Live<'_> {
    async fn run(mut self, out: &mut Outbound, incoming: &mut SplitStream<WebSocket>) -> Ending {
        let session = self.session;
        let born = tokio::time::Instant::now();
        let mut expiry = TokenExpiry::new(session.expires_at);
        let mut heartbeat =
            tokio::time::interval_at(tokio::time::Instant::now() + HEARTBEAT, HEARTBEAT);
        let context = Context {
            acceptance: session.shared.registry.peers.acceptance.as_ref(),
            keys: &session.shared.keys,
            user: &session.user,
            max_amount: session.shared.max_amount,
        };
        // Waited on across the loop's turns: registered once.
        let stopped = self.kicked.clone().cancelled_owned();
        tokio::pin!(stopped);
        loop {
            let step = tokio::select! {
                () = &mut stopped => Step::Stop(if session.shared.shutdown.is_cancelled() {
                    CloseReason::ShuttingDown
                } else {
                    CloseReason::SlowConsumer
                }),
                () = expiry.reached() => Step::Stop(CloseReason::TokenExpired),
                frame = self.queue.recv() => Step::Live(frame),
                _ = heartbeat.tick() => Step::Heartbeat,
                message = incoming.next() => Step::Incoming(message),
            };
            let sent = match step {
                Step::Stop(reason) => return Ending::Close(reason),
                Step::Live(None) => return Ending::Ended,
                Step::Live(Some(frame)) => {
                    // What else waits in the queue goes out in the same
                    // write: a deposit's status and event frames reach a
                    // busy socket together, one write for both.
                    let (queue, delivered) = (&mut self.queue, &mut self.delivered);
                    let waiting = std::iter::from_fn(|| queue.try_recv().ok());
                    let frames = std::iter::once(frame)
                        .chain(waiting.take(WRITTEN_TOGETHER - 1))
                        .filter(|frame| delivered.admit(frame.key()))
                        .map(|frame| Message::Text(frame.text()));
                    out.send_all(frames).await
                }
                Step::Heartbeat => {
                    // A ping carrying the send time: the pong measures the round trip.
                    let sent = u64::try_from(born.elapsed().as_micros()).unwrap_or(u64::MAX);
                    let ping = Message::Ping(sent.to_be_bytes().to_vec().into());
                    let heartbeat = json(&HeartbeatFrame {
                        frame_type: Default::default(),
                        timestamp: OffsetDateTime::now_utc(),
                    });
                    match out.send(ping).await {
                        Ok(()) => out.send(heartbeat).await,
                        Err(gone) => Err(gone),
                    }
                }
                Step::Incoming(None | Some(Ok(Message::Close(_)))) => return Ending::Ended,
                Step::Incoming(Some(Err(error))) => {
                    return CloseReason::for_read_error(error).map_or(Ending::Ended, Ending::Close);
                }
                Step::Incoming(Some(Ok(Message::Text(text)))) => {
                    // Boxed, as the replay: room only while a frame is answered.
                    let answer = Box::pin(client_frames::answer(&context, text.as_str())).await;
                    if let Some(at) = answer.expires_at {
                        expiry.move_to(at);
                    }
                    out.send(Message::Text(Utf8Bytes::from(answer.text))).await
                }
                Step::Incoming(Some(Ok(Message::Binary(_)))) => {
                    let refusal = "binary frames are not supported; send JSON text";
                    out.send(error_frame("INVALID_FRAME", refusal)).await
                }
                Step::Incoming(Some(Ok(Message::Pong(payload)))) => {
                    if let Ok(sent) = <[u8; 8]>::try_from(payload.as_ref()) {
                        let now = u64::try_from(born.elapsed().as_micros()).unwrap_or(u64::MAX);
                        let rtt =
                            Duration::from_micros(now.saturating_sub(u64::from_be_bytes(sent)));
                        metrics::histogram!("ledgerline_socket_rtt_seconds")
                            .record(rtt.as_secs_f64());
                    }
                    Ok(())
                }
                // tungstenite answers pings itself, on the next write.
                Step::Incoming(Some(Ok(Message::Ping(_)))) => Ok(()),
            };
            if let Err(gone) = sent {
                return gone.into();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    /// The size of the future `f` returns, without calling it.
    fn future_size<A, B, F: Future>(_: impl FnOnce(A, B) -> F) -> usize {
        std::mem::size_of::<F>()
    }

    /// A session's future is most of what an idle socket costs, and it
    /// keeps the room of its largest part for as long as the socket is
    /// open: the replay, answering a client frame — each several times
    /// the rest — are boxed (5,200 bytes before, 1,136 after).
    #[test]
    fn a_session_future_stays_small() {
        let size = future_size(super::serve);
        assert!(size <= 2048, "a session's future is {size} bytes");
    }
}
