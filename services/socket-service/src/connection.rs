use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, close_code};
use futures::{SinkExt, StreamExt};
use ledgerline_contracts::{ErrorFrame, HeartbeatFrame, WelcomeFrame};
use ledgerline_domain::{Amount, UserId};
use time::OffsetDateTime;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::client_frames;
use crate::registry::{CONNECTION_QUEUE, Connection, Registry};

pub const HEARTBEAT: Duration = Duration::from_secs(15);

fn json(value: &impl serde::Serialize) -> Message {
    Message::Text(Utf8Bytes::from(
        serde_json::to_string(value).unwrap_or_default(),
    ))
}

fn close(code: u16, reason: &'static str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: Utf8Bytes::from_static(reason),
    }))
}

/// Serves one socket until it closes, the server shuts down, or it falls
/// too far behind (then it is closed with a reason, and may reconnect).
pub async fn serve(
    socket: WebSocket,
    registry: Registry,
    user: UserId,
    max_amount: Amount,
    shutdown: CancellationToken,
) {
    let id = Uuid::now_v7();
    let (frames, mut queue) = mpsc::channel(CONNECTION_QUEUE);
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
    let (mut sink, mut incoming) = socket.split();
    let welcome = WelcomeFrame {
        frame_type: Default::default(),
        user_id: user.clone(),
        connection_id: id,
    };
    let mut heartbeat =
        tokio::time::interval_at(tokio::time::Instant::now() + HEARTBEAT, HEARTBEAT);
    if sink.send(json(&welcome)).await.is_ok() {
        loop {
            let outgoing = tokio::select! {
                () = shutdown.cancelled() => Err(close(close_code::AWAY, "server shutting down; reconnect")),
                () = kicked.cancelled() => {
                    let frame = ErrorFrame { frame_type: Default::default(), request_id: None, code: "SLOW_CONSUMER".into(),
                        message: "too many frames waiting for this connection; reconnect".into(), errors: vec![] };
                    let _ = sink.send(json(&frame)).await;
                    Err(close(close_code::POLICY, "slow consumer; reconnect"))
                }
                frame = queue.recv() => match frame {
                    Some(text) => Ok(Message::Text(text)),
                    None => break,
                },
                _ = heartbeat.tick() => Ok(json(&HeartbeatFrame { frame_type: Default::default(), timestamp: OffsetDateTime::now_utc() })),
                message = incoming.next() => match message {
                    Some(Ok(Message::Text(text))) => Ok(Message::Text(Utf8Bytes::from(
                        client_frames::answer(&registry.bus, &user, text.as_str(), max_amount).await,
                    ))),
                    Some(Ok(Message::Binary(_))) => Ok(json(&ErrorFrame { frame_type: Default::default(), request_id: None,
                        code: "INVALID_FRAME".into(), message: "binary frames are not supported; send JSON text".into(), errors: vec![] })),
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
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
}
