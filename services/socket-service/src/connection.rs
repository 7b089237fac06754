use std::time::Duration;

use axum::extract::ws::{Message, Utf8Bytes, WebSocket};
use futures::StreamExt;
use futures::stream::SplitStream;
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

/// One socket's session: who it is for, until when, and where it resumes
/// from.
pub struct Session {
    pub registry: Registry,
    pub keys: TokenKeys,
    pub user: UserId,
    /// The `exp` of the token the socket was opened with.
    pub expires_at: OffsetDateTime,
    pub max_amount: Amount,
    pub resume: ResumeFrom,
    pub shutdown: CancellationToken,
    /// How long one write may take before the connection is dropped.
    pub write_timeout: Duration,
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
pub async fn serve(socket: WebSocket, session: Session) {
    let id = Uuid::now_v7();
    let (frames, queue) = mpsc::channel(session.registry.queue);
    let kicked = CancellationToken::new();
    let connection = Connection {
        frames,
        kicked: kicked.clone(),
    };
    session.registry.join(&session.user, id, connection).await;
    metrics::gauge!("ledgerline_socket_connections").increment(1);
    let (sink, mut incoming) = socket.split();
    let mut out = Outbound::new(sink, session.write_timeout);
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
    session.registry.leave(&session.user, id);
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
    let registry = &session.registry;
    // A read that fails is tried again for a few seconds: long enough to
    // ride out a JetStream cluster electing a stream's new leader (a node
    // was lost) or an event-store replica restarting. Live frames queue
    // meanwhile.
    let replayed = tryhard::retry_fn(|| {
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
    })
    .await;
    match replayed {
        Ok(frames) => {
            for frame in frames {
                if delivered.admit(&frame.key) {
                    out.send(Message::Text(frame.text)).await?;
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
            acceptance: session.registry.peers.acceptance.as_ref(),
            keys: &session.keys,
            user: &session.user,
            max_amount: session.max_amount,
        };
        loop {
            let step = tokio::select! {
                () = session.shutdown.cancelled() => Step::Stop(CloseReason::ShuttingDown),
                () = self.kicked.cancelled() => Step::Stop(CloseReason::SlowConsumer),
                () = expiry.reached() => Step::Stop(CloseReason::TokenExpired),
                frame = self.queue.recv() => Step::Live(frame),
                _ = heartbeat.tick() => Step::Heartbeat,
                message = incoming.next() => Step::Incoming(message),
            };
            let sent = match step {
                Step::Stop(reason) => return Ending::Close(reason),
                Step::Live(None) => return Ending::Ended,
                Step::Live(Some(frame)) if self.delivered.admit(&frame.key) => {
                    out.send(Message::Text(frame.text)).await
                }
                Step::Live(Some(_)) => Ok(()),
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
                    let answer = client_frames::answer(&context, text.as_str()).await;
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
