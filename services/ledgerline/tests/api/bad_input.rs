//! Bad input on every route and socket frame, replayed from the corpus in
//! `tests/corpus/` (one JSON object per line — add a line to add a case):
//! each gets a clear 4xx problem document or an error frame, nothing is
//! queued, and the service stays up.

use std::time::Duration;

use ledgerline_auth::{Role, TokenKeys};
use ledgerline_domain::UserId;
use reqwest::Method;
use serde::Deserialize;
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::{JWT_SECRET, TestApp, answer, next_frame, send_text, spawn_app};

const ALG_NONE: &str =
    "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6OTk5OTk5OTk5OX0.";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct BadRequest {
    name: String,
    method: String,
    path: String,
    /// user | none | garbage | alg-none | expired | foreign | not-bearer |
    /// query (a valid token in `?access_token=`).
    auth: String,
    content_type: Option<String>,
    #[serde(default)]
    headers: std::collections::BTreeMap<String, String>,
    body: Option<String>,
    expect: u16,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BadFrame {
    name: String,
    frame: String,
}

fn corpus<T: for<'de> Deserialize<'de>>(file: &str) -> Vec<T> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus")
        .join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

struct Tokens {
    user: String,
    expired: String,
    foreign: String,
}

async fn send(app: &TestApp, case: &BadRequest, tokens: &Tokens) {
    let mut path = case.path.clone();
    let bearer = match case.auth.as_str() {
        "user" => Some(format!("Bearer {}", tokens.user)),
        "garbage" => Some("Bearer garbage".to_owned()),
        "alg-none" => Some(format!("Bearer {ALG_NONE}")),
        "expired" => Some(format!("Bearer {}", tokens.expired)),
        "foreign" => Some(format!("Bearer {}", tokens.foreign)),
        "not-bearer" => Some("Basic YWxpY2U6c2VjcmV0".to_owned()),
        "query" => {
            path.push(if path.contains('?') { '&' } else { '?' });
            path.push_str(&format!("access_token={}", tokens.user));
            None
        }
        "none" => None,
        other => panic!("{}: unknown auth {other}", case.name),
    };
    let method = Method::from_bytes(case.method.as_bytes()).unwrap();
    let mut request = app.http.request(method, app.url(&path));
    if let Some(bearer) = bearer {
        request = request.header("Authorization", bearer);
    }
    if let Some(ct) = &case.content_type {
        request = request.header("Content-Type", ct);
    }
    for (name, value) in &case.headers {
        request = request.header(name, value);
    }
    if let Some(body) = &case.body {
        request = request.body(body.clone());
    }
    let name = format!(
        "{} {} ({})",
        case.method,
        case.path.chars().take(60).collect::<String>(),
        case.name
    );
    answer(request.send().await.expect("the service answers"))
        .await
        .assert_problem(case.expect, &name);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_problem_documents_and_queue_nothing() {
    let app = spawn_app().await;
    let alice = UserId::parse("alice").unwrap();
    let tokens = Tokens {
        user: app.token("alice").await,
        expired: TokenKeys::new(JWT_SECRET.as_bytes())
            .issue(&alice, Role::User, -60)
            .unwrap(),
        foreign: TokenKeys::new(b"someone-else")
            .issue(&alice, Role::User, 60)
            .unwrap(),
    };
    let cases: Vec<BadRequest> = corpus("bad-requests.jsonl");
    assert!(
        cases.len() >= 200,
        "the corpus has only {} requests",
        cases.len()
    );
    for case in &cases {
        send(&app, case, &tokens).await;
    }
    assert_eq!(
        app.commands_published().await,
        0,
        "a refused request reached JetStream"
    );
    assert_eq!(
        app.http
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_socket_frames_get_error_frames_and_queue_nothing() {
    let app = spawn_app().await;
    let token = app.token("alice").await;
    let mut socket = app.socket(&token).await;
    for case in corpus::<BadFrame>("bad-frames.jsonl") {
        send_text(&mut socket, &case.frame).await;
        let frame = next_frame(&mut socket, Duration::from_secs(5))
            .await
            .unwrap_or_else(|| panic!("{}: no answer", case.name));
        assert_eq!(frame["type"], "error", "{}: {frame}", case.name);
        let code = frame["code"].as_str().unwrap_or("");
        assert!(
            ["INVALID_FRAME", "INVALID_COMMAND"].contains(&code),
            "{}: {frame}",
            case.name
        );
    }
    futures::SinkExt::send(&mut socket, Message::Binary(vec![1u8, 2, 3].into()))
        .await
        .unwrap();
    let frame = next_frame(&mut socket, Duration::from_secs(5))
        .await
        .expect("binary answered");
    assert_eq!(frame["code"], "INVALID_FRAME");
    // Still open and serving.
    send_text(&mut socket, r#"{"type":"ping"}"#).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let mut answered = false;
    while let Ok(Some(Ok(message))) =
        tokio::time::timeout_at(deadline, futures::StreamExt::next(&mut socket)).await
    {
        if let Message::Text(t) = message {
            answered = serde_json::from_str::<Value>(t.as_str()).unwrap()["type"] == "heartbeat";
            break;
        }
    }
    assert!(answered, "ping answered with a heartbeat");
    assert_eq!(app.commands_published().await, 0);
}
