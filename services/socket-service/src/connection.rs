use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, close_code};
use futures::stream::SplitSink;
use futures::{SinkExt, StreamExt};
use ledgerline_contracts::{ErrorFrame, HeartbeatFrame, WelcomeFrame};
use ledgerline_domain::{Amount, UserId};
use time::OffsetDateTime;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::client_frames;
use crate::frame::Delivered;
use crate::registry::{Connection, Registry};
use crate::replay::{self, ResumeFrom};

pub const HEARTBEAT: Duration = Duration::from_secs(15);

/// One socket's session: who it is for and where it resumes from.
pub struct Session {
    pub registry: Registry,
    pub user: UserId,
    pub max_amount: Amount,
    pub resume: ResumeFrom,
    pub shutdown: CancellationToken,
}

fn json(value: &impl serde::Serialize) -> Message {
    Message::Text(Utf8Bytes::from(
        serde_json::to_string(value).unwrap_or_default(),
    ))
}

fn error(code: &str, message: impl Into<String>) -> Message {
    json(&ErrorFrame {
        frame_type: Default::default(),
        request_id: None,
        code: code.to_owned(),
        message: message.into(),
        errors: vec![],
    })
}

fn close(code: u16, reason: &'static str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: Utf8Bytes::from_static(reason),
    }))
}

type Sink = SplitSink<WebSocket, Message>;

/// Serves one socket until it closes, the server shuts down, or it falls
/// too far behind (then it is closed with a reason, and may reconnect and
/// resume).
///
/// Subscribe first, then replay, then release: the connection joins the
/// user's live feed (frames queue up), replays what the client missed, and
/// only then drains the queue — skipping whatever the replay already sent.
pub async fn serve(socket: WebSocket, session: Session) {
    let Session {
        registry,
        user,
        max_amount,
        resume,
        shutdown,
    } = session;
    let id = Uuid::now_v7();
    let (frames, mut queue) = mpsc::channel(registry.queue);
    let kicked = CancellationToken::new();
    registry
        .join(
            &user,
            id,
            Connection {
                frames,
                kicked: kicked.clone(),
            },
        )
        .await;
    metrics::gauge!("ledgerline_socket_connections").increment(1);
    let born = tokio::time::Instant::now();
    let (mut sink, mut incoming) = socket.split();
    let mut delivered = Delivered::after(resume.status_seq.unwrap_or(0));
    let welcome = WelcomeFrame {
        frame_type: Default::default(),
        user_id: user.clone(),
        connection_id: id,
    };
    let started = sink.send(json(&welcome)).await.is_ok()
        && replay_missed(&mut sink, &registry, &user, resume, &mut delivered)
            .await
            .is_ok();
    let mut heartbeat =
        tokio::time::interval_at(tokio::time::Instant::now() + HEARTBEAT, HEARTBEAT);
    if started {
        loop {
            let outgoing = tokio::select! {
                () = shutdown.cancelled() => Err(close(close_code::AWAY, "server shutting down; reconnect")),
                () = kicked.cancelled() => {
                    let _ = sink.send(error("SLOW_CONSUMER", "too many frames waiting for this connection; reconnect and resume")).await;
                    Err(close(close_code::POLICY, "slow consumer; reconnect"))
                }
                frame = queue.recv() => match frame {
                    Some(frame) if delivered.admit(&frame.key) => Ok(Message::Text(frame.text)),
                    Some(_) => continue,
                    None => break,
                },
                _ = heartbeat.tick() => {
                    // A ping carrying the send time: the pong measures the round trip.
                    let sent = u64::try_from(born.elapsed().as_micros()).unwrap_or(u64::MAX);
                    if sink.send(Message::Ping(sent.to_be_bytes().to_vec().into())).await.is_err() {
                        break;
                    }
                    Ok(json(&HeartbeatFrame { frame_type: Default::default(), timestamp: OffsetDateTime::now_utc() }))
                }
                message = incoming.next() => match message {
                    Some(Ok(Message::Text(text))) => Ok(Message::Text(Utf8Bytes::from(
                        client_frames::answer(&registry.bus, &user, text.as_str(), max_amount).await,
                    ))),
                    Some(Ok(Message::Binary(_))) => Ok(error("INVALID_FRAME", "binary frames are not supported; send JSON text")),
                    Some(Ok(Message::Pong(payload))) => {
                        if let Ok(sent) = <[u8; 8]>::try_from(payload.as_ref()) {
                            let now = u64::try_from(born.elapsed().as_micros()).unwrap_or(u64::MAX);
                            let rtt = Duration::from_micros(now.saturating_sub(u64::from_be_bytes(sent)));
                            metrics::histogram!("ledgerline_socket_rtt_seconds").record(rtt.as_secs_f64());
                        }
                        continue;
                    }
                    Some(Ok(Message::Ping(_))) => continue,
                    Some(Ok(Message::Close(_)) | Err(_)) | None => break,
                },
            };
            match outgoing {
                Ok(message) => {
                    if sink.send(message).await.is_err() {
                        break;
                    }
                }
                Err(close_message) => {
                    let _ = sink.send(close_message).await;
                    break;
                }
            }
        }
    }
    registry.leave(&user, id).await;
    metrics::gauge!("ledgerline_socket_connections").decrement(1);
}

/// Sends what the client missed. A replay that cannot be completed is
/// reported (`RESUME_INCOMPLETE`: re-read the read models) and live frames
/// follow anyway; only a broken socket ends the session.
async fn replay_missed(
    sink: &mut Sink,
    registry: &Registry,
    user: &UserId,
    resume: ResumeFrom,
    delivered: &mut Delivered,
) -> Result<(), axum::Error> {
    match replay::missed(&registry.bus, user, resume).await {
        Ok(frames) => {
            for frame in frames {
                if delivered.admit(&frame.key) {
                    sink.send(Message::Text(frame.text)).await?;
                }
            }
            Ok(())
        }
        Err(e) => {
            tracing::warn!(error = %e, %user, "resume incomplete");
            sink.send(error(
                "RESUME_INCOMPLETE",
                format!("{e}; re-read your read models"),
            ))
            .await
        }
    }
}
