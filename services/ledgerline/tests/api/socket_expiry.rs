//! A socket does not outlive its bearer token: it closes at the token's
//! `exp` with 4001 `token expired`, unless the client hands over a newer
//! token of the same user with a `refresh` frame.

use std::time::Duration;

use futures::StreamExt;
use ledgerline_auth::{Role, TokenKeys};
use ledgerline_domain::UserId;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::{JWT_SECRET, Socket, connect_socket, next_frame, send_text, spawn_app};
use crate::socket_limits::until_close;

fn token(user: &str, ttl_secs: i64) -> String {
    TokenKeys::new(JWT_SECRET.as_bytes())
        .issue(&UserId::parse(user).unwrap(), Role::User, ttl_secs)
        .unwrap()
}

fn refresh(token: &str) -> String {
    json!({"type": "refresh", "requestId": "r1", "token": token}).to_string()
}

fn assert_expired(frames: &[Value], close: Option<(u16, String)>) {
    assert_eq!(
        close,
        Some((4001, "token expired".to_owned())),
        "{frames:?}"
    );
    let last = frames.last().expect("an error frame before the close");
    assert_eq!(
        (&last["type"], &last["code"]),
        (&json!("error"), &json!("TOKEN_EXPIRED"))
    );
}

/// Proof the socket is open and serving: a ping is answered, and no close
/// came before the answer.
async fn assert_open(socket: &mut Socket) {
    send_text(socket, r#"{"type":"ping"}"#).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        match tokio::time::timeout_at(deadline, socket.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => {
                let frame: Value = serde_json::from_str(text.as_str()).unwrap();
                assert_ne!(frame["type"], "error", "{frame}");
                if frame["type"] == "heartbeat" {
                    return;
                }
            }
            Ok(Some(Ok(Message::Close(close)))) => panic!("closed: {close:?}"),
            Ok(Some(Ok(_))) => {}
            other => panic!("no answer to a ping: {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_closes_when_its_token_expires() {
    let app = spawn_app().await;
    let mut socket = connect_socket(app.port, &token("alice", 2), "").await;
    let (frames, close) = until_close(&mut socket, Duration::from_secs(15)).await;
    assert_expired(&frames, close);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refreshed_socket_stays_open_past_its_first_tokens_expiry() {
    let app = spawn_app().await;
    let mut socket = connect_socket(app.port, &token("alice", 3), "").await;
    send_text(&mut socket, &refresh(&token("alice", 600))).await;
    let ack = next_frame(&mut socket, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(
        (ack["type"].as_str(), ack["requestId"].as_str()),
        (Some("refreshed"), Some("r1")),
        "{ack}"
    );
    assert!(ack["expiresAt"].is_string(), "{ack}");

    // Past the first token's expiry (at most 3 s after it was issued).
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_open(&mut socket).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_with_another_users_or_a_bad_token_is_refused_and_the_socket_still_expires() {
    let app = spawn_app().await;
    let mut socket = connect_socket(app.port, &token("alice", 3), "").await;
    for refused in [
        token("bob", 600),
        token("alice", -5),
        "not-a-jwt".to_owned(),
    ] {
        send_text(&mut socket, &refresh(&refused)).await;
        let answer = next_frame(&mut socket, Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(
            (
                answer["type"].as_str(),
                answer["code"].as_str(),
                answer["requestId"].as_str()
            ),
            (Some("error"), Some("INVALID_TOKEN"), Some("r1")),
            "{answer}"
        );
    }
    let (frames, close) = until_close(&mut socket, Duration::from_secs(15)).await;
    assert_expired(&frames, close);
}
