//! What a socket client cannot make the server do (issue 11): hold a
//! connection open by never reading, crash the connection with a frame
//! that is not UTF-8 or too big, or learn the server's internal types from
//! its error frames.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use ledgerline::Target;
use ledgerline_auth::{Role, TokenKeys};
use ledgerline_contracts::{StatusEnvelope, StatusError, StatusKind, StatusMessage};
use ledgerline_domain::UserId;
use serde_json::Value;
use tokio::net::TcpSocket;
use tokio_tungstenite::MaybeTlsStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};

use crate::helpers::{
    JWT_SECRET, Socket, connect_socket, next_frame, send_text, spawn_app, spawn_app_with,
    spawn_services,
};

/// Every frame until the server's close (its code and reason), or `None`
/// for the close if the connection ended without one or `wait` passed.
pub async fn until_close(
    socket: &mut Socket,
    wait: Duration,
) -> (Vec<Value>, Option<(u16, String)>) {
    let deadline = tokio::time::Instant::now() + wait;
    let mut frames = Vec::new();
    while let Ok(Some(Ok(message))) = tokio::time::timeout_at(deadline, socket.next()).await {
        match message {
            Message::Text(text) => frames.push(serde_json::from_str(text.as_str()).unwrap()),
            Message::Close(frame) => {
                let close = frame.map(|f| (u16::from(f.code), f.reason.to_string()));
                return (frames, close);
            }
            _ => {}
        }
    }
    (frames, None)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_is_dropped_and_its_tcp_connection_ends() {
    let app = spawn_app_with(|c| {
        c.socket_queue = 4;
        c.socket_write_timeout_secs = 1;
    })
    .await;
    let token = app.token("alice").await;
    // A client with a small, fixed receive window, so the server's writes
    // block soon once it stops reading.
    let tcp = TcpSocket::new_v4().unwrap();
    tcp.set_recv_buffer_size(16 * 1024).unwrap();
    let tcp = tcp
        .connect(([127, 0, 0, 1], app.port).into())
        .await
        .unwrap();
    let url = format!("ws://127.0.0.1:{}/ws?access_token={token}", app.port);
    let (mut socket, _) = tokio_tungstenite::client_async(url, MaybeTlsStream::Plain(tcp))
        .await
        .unwrap();
    let welcome = next_frame(&mut socket, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(welcome["type"], "welcome");

    // Megabytes of outcomes, none of them read.
    let bus = app.bus().await;
    let padding = "x".repeat(400_000);
    for _ in 0..40 {
        let error = StatusError {
            code: "TEST".into(),
            message: padding.clone(),
        };
        let payload = StatusEnvelope::new(
            uuid::Uuid::now_v7(),
            "acc-stuck",
            Err((StatusKind::Failed, error)),
        );
        let status = StatusMessage {
            user_id: UserId::parse("alice").unwrap(),
            payload,
        };
        bus.publish_status(&status).await.unwrap();
    }

    // Still not reading, the client writes a ping now and then. While the
    // server holds the connection these are accepted; once it has dropped
    // the socket, the kernel answers with a reset and a write fails.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut dropped = false;
    while tokio::time::Instant::now() < deadline {
        let ping = socket.send(Message::Ping(b"still there?".to_vec().into()));
        if let Ok(Err(_)) = tokio::time::timeout(Duration::from_secs(1), ping).await {
            dropped = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(
        dropped,
        "the server still holds the TCP connection of a client that does not read"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_utf8_closes_with_1007_and_a_too_big_frame_with_1009() {
    let app = spawn_app().await;
    let token = app.token("alice").await;

    let mut socket = app.socket(&token).await;
    let not_utf8 = Frame::message(vec![b'{', 0xff, 0xfe, b'}'], OpCode::Data(Data::Text), true);
    socket.send(Message::Frame(not_utf8)).await.unwrap();
    let (frames, close) = until_close(&mut socket, Duration::from_secs(5)).await;
    assert_eq!(
        close,
        Some((1007, "invalid UTF-8".to_owned())),
        "{frames:?}"
    );
    assert_eq!(
        frames.last().map(|f| &f["code"]),
        Some(&Value::from("INVALID_FRAME"))
    );

    // Just under the limit: an ordinary answer, the socket stays open.
    let mut socket = app.socket(&token).await;
    let big_id = "r".repeat(60 * 1024);
    send_text(
        &mut socket,
        &format!(r#"{{"type":"ping","requestId":"{big_id}"}}"#),
    )
    .await;
    let answer = next_frame(&mut socket, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(answer["code"], "INVALID_FRAME", "{answer}");

    // Over it (64 KiB): refused with a close, not a dropped connection.
    send_text(&mut socket, &"x".repeat(100 * 1024)).await;
    let (frames, close) = until_close(&mut socket, Duration::from_secs(5)).await;
    assert_eq!(
        close,
        Some((1009, "message too big".to_owned())),
        "{frames:?}"
    );
}

/// What an error frame or problem must not show: Rust type names, paths,
/// debug output, internal subjects, the JWT library's variant names.
fn leaks(text: &str) -> bool {
    [
        "struct ",
        "enum ",
        "::",
        "Error(",
        "ClientFrame",
        "Request",
        "RawValue",
        "AcceptReply",
        ".rpc.",
        "Signature",
        "InvalidToken",
    ]
    .iter()
    .any(|marker| text.contains(marker))
}

fn messages(frame: &Value) -> Vec<String> {
    let mut texts = vec![frame["message"].as_str().unwrap_or_default().to_owned()];
    for error in frame["errors"].as_array().into_iter().flatten() {
        texts.push(error["message"].as_str().unwrap_or_default().to_owned());
    }
    texts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socket_errors_name_no_internal_types_or_library_errors() {
    let app = spawn_app().await;
    let token = app.token("alice").await;
    let mut socket = app.socket(&token).await;
    for frame in [
        "[]",
        r#""hello""#,
        "42",
        r#"{"type":"command","command":"deposit","body":"x"}"#,
        r#"{"type":"command","command":"deposit","body":[]}"#,
        r#"{"type":"command","command":"open-account","body":7}"#,
        r#"{"type":"refresh","token":"not-a-jwt"}"#,
    ] {
        send_text(&mut socket, frame).await;
        let answer = next_frame(&mut socket, Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(answer["type"], "error", "{frame}: {answer}");
        for text in messages(&answer) {
            assert!(!leaks(&text), "{frame}: {text}");
        }
    }
    // Field validation still says what is wrong.
    send_text(&mut socket, r#"{"type":"ping","extra":1}"#).await;
    let answer = next_frame(&mut socket, Duration::from_secs(5))
        .await
        .unwrap();
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .contains("unknown field `extra`"),
        "{answer}"
    );

    // An expired token is refused before the upgrade, without the JWT
    // library's words.
    let keys = TokenKeys::new(JWT_SECRET.as_bytes());
    let expired = keys
        .issue(&UserId::parse("alice").unwrap(), Role::User, -5)
        .unwrap();
    let (status, problem) = app
        .get(&expired, &format!("/ws?access_token={expired}"))
        .await;
    assert_eq!(status, 401, "{problem}");
    assert!(
        !leaks(problem["detail"].as_str().unwrap_or_default()),
        "{problem}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_the_command_api_cannot_take_is_refused_without_its_plumbing() {
    // A socket service alone: no command API answers `bank.rpc.accept`.
    let app = spawn_services(&[Target::SocketService], |_| {}).await;
    let token = TokenKeys::new(JWT_SECRET.as_bytes())
        .issue(&UserId::parse("alice").unwrap(), Role::User, 600)
        .unwrap();
    let mut socket = connect_socket(app.port, &token, "").await;
    send_text(
        &mut socket,
        r#"{"type":"command","requestId":"r1","command":"open-account","body":{"accountId":"acc-x"}}"#,
    )
    .await;
    let answer = next_frame(&mut socket, Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(
        (answer["code"].as_str(), answer["requestId"].as_str()),
        (Some("UNAVAILABLE"), Some("r1"))
    );
    for text in messages(&answer) {
        assert!(!leaks(&text), "{text}");
    }
}
