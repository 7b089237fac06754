//! Bad input on every route and socket frame: a clear 4xx problem document
//! (or an error frame), nothing queued, and the service still up.

use std::time::Duration;

use ledgerline_auth::{Role, TokenKeys};
use ledgerline_domain::UserId;
use reqwest::Method;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::{JWT_SECRET, TestApp, next_frame, send_text, spawn_app};

const ALG_NONE: &str =
    "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6OTk5OTk5OTk5OX0.";

struct Case {
    name: String,
    method: Method,
    path: String,
    token: Option<String>,
    content_type: Option<&'static str>,
    headers: Vec<(&'static str, String)>,
    body: Option<String>,
    expect: u16,
}

fn case(name: impl Into<String>, method: Method, path: &str, expect: u16) -> Case {
    Case {
        name: name.into(),
        method,
        path: path.to_owned(),
        token: None,
        content_type: Some("application/json"),
        headers: vec![],
        body: None,
        expect,
    }
}

impl Case {
    fn token(mut self, token: &str) -> Self {
        self.token = Some(token.to_owned());
        self
    }
    fn body(mut self, body: impl Into<String>) -> Self {
        self.body = Some(body.into());
        self
    }
    fn content_type(mut self, content_type: Option<&'static str>) -> Self {
        self.content_type = content_type;
        self
    }
    fn header(mut self, name: &'static str, value: &str) -> Self {
        self.headers.push((name, value.to_owned()));
        self
    }
}

async fn run(app: &TestApp, case: &Case) {
    let mut request = app.http.request(case.method.clone(), app.url(&case.path));
    if let Some(token) = &case.token {
        request = request.header("Authorization", format!("Bearer {token}"));
    }
    if let Some(ct) = case.content_type {
        request = request.header("Content-Type", ct);
    }
    for (name, value) in &case.headers {
        request = request.header(*name, value);
    }
    if let Some(body) = &case.body {
        request = request.body(body.clone());
    }
    let response = request.send().await.expect("the service answers");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let problem: Value = response.json().await.unwrap_or(Value::Null);
    assert_eq!(status, case.expect, "{}: {problem}", case.name);
    assert_eq!(content_type, "application/problem+json", "{}", case.name);
    assert_eq!(
        problem["status"].as_u64(),
        Some(u64::from(case.expect)),
        "{}: {problem}",
        case.name
    );
    assert!(
        problem["type"]
            .as_str()
            .is_some_and(|t| t.starts_with("urn:ledgerline:problem:")),
        "{}",
        case.name
    );
    assert!(
        problem["title"].as_str().is_some_and(|t| !t.is_empty()),
        "{}",
        case.name
    );
}

fn command_cases(token: &str) -> Vec<Case> {
    let post = |name: &str, path: &str, body: &str, expect: u16| {
        case(format!("{name} → {path}"), Method::POST, path, expect)
            .token(token)
            .body(body)
    };
    let mut cases = Vec::new();
    for kind in ["open-account", "deposit", "withdraw", "close-account"] {
        let path = format!("/commands/{kind}");
        cases.push(post("malformed JSON", &path, "{\"accountId\": ", 400));
        cases.push(post("not an object", &path, "[1,2]", 422));
        cases.push(post(
            "unknown field",
            &path,
            r#"{"accountId":"acc-1","amount":1,"bonus":true}"#,
            422,
        ));
        cases.push(post("empty body", &path, "", 400));
        cases.push(post("not UTF-8", &path, "\u{0}\u{1}", 400));
        for bad_id in ["a.b", "a*", "a>", "a b", "", &"x".repeat(65)] {
            let body = json!({"accountId": bad_id, "amount": 1}).to_string();
            let body = if kind == "open-account" || kind == "close-account" {
                json!({"accountId": bad_id}).to_string()
            } else {
                body
            };
            cases.push(post(&format!("account id {bad_id:?}"), &path, &body, 422));
        }
        cases.push(post(
            "bad commandId",
            &path,
            r#"{"accountId":"acc-1","amount":1,"commandId":"nope"}"#,
            422,
        ));
        cases.push(case(format!("no token → {path}"), Method::POST, &path, 401).body("{}"));
        cases.push(
            case(format!("garbage token → {path}"), Method::POST, &path, 401)
                .token("garbage")
                .body("{}"),
        );
        cases.push(
            case(format!("alg none → {path}"), Method::POST, &path, 401)
                .token(ALG_NONE)
                .body("{}"),
        );
        cases.push(post("wrong content type", &path, "{}", 415).content_type(Some("text/plain")));
        cases.push(post("no content type", &path, "{}", 415).content_type(None));
        cases.push(post(
            "huge body",
            &path,
            &format!(r#"{{"accountId":"{}"}}"#, "a".repeat(20_000)),
            413,
        ));
    }
    for path in ["/commands/deposit", "/commands/withdraw"] {
        // Raw JSON text, so `1e3` reaches the server as written.
        for (name, amount) in [
            ("negative", "-1"),
            ("zero", "0"),
            ("zero string", r#""0.00""#),
            ("over-precise", "1.005"),
            ("over-precise string", r#""1.005""#),
            ("exponent", "1e3"),
            ("exponent string", r#""1e3""#),
            ("huge", "1e30"),
            ("huge digits", "123456789012345678901234567890"),
            ("above max", r#""1000000.01""#),
            ("boolean", "true"),
            ("null", "null"),
            ("object", r#"{"value":1}"#),
            ("words", r#""ten""#),
            ("padded", r#"" 5""#),
            ("plus sign", r#""+5""#),
        ] {
            let body = format!(r#"{{"accountId":"acc-1","amount":{amount}}}"#);
            cases.push(post(&format!("{name} amount"), path, &body, 422));
        }
        cases.push(post(
            "missing amount",
            path,
            r#"{"accountId":"acc-1"}"#,
            422,
        ));
        cases.push(post("missing account", path, r#"{"amount":1}"#, 422));
        cases.push(post(
            "number account id",
            path,
            r#"{"accountId":7,"amount":1}"#,
            422,
        ));
        cases.push(
            post(
                "bad idempotency key",
                path,
                r#"{"accountId":"acc-1","amount":1}"#,
                422,
            )
            .header("Idempotency-Key", &"k".repeat(300)),
        );
    }
    cases.push(post(
        "negative initial balance",
        "/commands/open-account",
        r#"{"initialBalance":-5}"#,
        422,
    ));
    cases.push(post(
        "bad currency",
        "/commands/open-account",
        r#"{"currency":"euro"}"#,
        422,
    ));
    cases.push(post("unknown command", "/commands/steal", "{}", 404));
    cases
}

fn query_cases(token: &str) -> Vec<Case> {
    let get = |name: &str, path: &str, expect: u16| {
        case(format!("{name} → {path}"), Method::GET, path, expect)
            .token(token)
            .content_type(None)
    };
    let mut cases = vec![
        get("bad command id", "/commands/not-a-uuid", 422),
        get(
            "unknown command",
            "/commands/0194f5a0-0000-7000-8000-000000000009",
            404,
        ),
        get("bad account id", "/queries/account/a.b", 422),
        get("missing account", "/queries/account/nobody", 404),
        get("bad account id", "/events/account/a*b", 422),
        get("zero limit", "/events/account/acc-1?limit=0", 422),
        get("unknown query field", "/events/account/acc-1?bogus=1", 400),
        get("text limit", "/events/stream?limit=abc", 400),
        get("huge limit", "/events/stream?limit=100000", 422),
        get(
            "bad account filter",
            "/projections/TransactionHistory?accountId=a%20b",
            422,
        ),
        get(
            "huge limit",
            "/projections/TransactionHistory?limit=9999",
            422,
        ),
        get(
            "unknown query field",
            "/projections/TransactionHistory?acount=1",
            400,
        ),
        get("negative limit", "/audit?limit=-1", 422),
        get("text cursor", "/audit?before=x", 400),
        get("unknown route", "/nowhere", 404),
        case("POST to an unknown route", Method::POST, "/nowhere", 404)
            .token(token)
            .body("{}"),
        case("wrong method", Method::PUT, "/commands/deposit", 405)
            .token(token)
            .body("{}"),
        case(
            "wrong method",
            Method::DELETE,
            "/projections/AccountBalances",
            405,
        )
        .token(token),
    ];
    for path in [
        "/commands/0194f5a0-0000-7000-8000-000000000009",
        "/queries/account/acc-1",
        "/events/account/acc-1",
        "/events/stream",
        "/projections/AccountBalances",
        "/projections/TransactionHistory",
        "/audit",
    ] {
        cases.push(case(format!("no token → {path}"), Method::GET, path, 401).content_type(None));
        cases.push(
            case(format!("alg none → {path}"), Method::GET, path, 401)
                .token(ALG_NONE)
                .content_type(None),
        );
    }
    cases
}

fn login_cases() -> Vec<Case> {
    let post = |name: &str, body: &str, expect: u16| {
        case(name, Method::POST, "/auth/demo-login", expect).body(body)
    };
    vec![
        post("malformed login", "{", 400),
        post("bad user id", r#"{"userId":"a.b"}"#, 422),
        post("missing user id", "{}", 422),
        post("unknown role", r#"{"userId":"a","role":"god"}"#, 422),
        post("unknown field", r#"{"userId":"a","admin":true}"#, 422),
        post("login as text", r#"{"userId":"a"}"#, 415).content_type(Some("text/plain")),
        post(
            "huge login",
            &format!(r#"{{"userId":"{}"}}"#, "a".repeat(5_000)),
            413,
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_problem_documents_and_queue_nothing() {
    let app = spawn_app().await;
    let token = app.token("alice").await;
    let expired = TokenKeys::new(JWT_SECRET.as_bytes())
        .issue(&UserId::parse("alice").unwrap(), Role::User, -60)
        .unwrap();
    let foreign = TokenKeys::new(b"someone-else")
        .issue(&UserId::parse("alice").unwrap(), Role::User, 60)
        .unwrap();
    let mut cases = command_cases(&token);
    cases.extend(query_cases(&token));
    cases.extend(login_cases());
    cases.push(
        case("expired token", Method::POST, "/commands/deposit", 401)
            .token(&expired)
            .body("{}"),
    );
    cases.push(
        case("foreign token", Method::POST, "/commands/deposit", 401)
            .token(&foreign)
            .body("{}"),
    );
    cases.push(
        case(
            "expired token",
            Method::GET,
            "/projections/AccountBalances",
            401,
        )
        .token(&expired)
        .content_type(None),
    );
    cases.push(case("no token", Method::GET, "/ws", 401).content_type(None));
    cases.push(case("garbage token", Method::GET, "/ws?access_token=x", 401).content_type(None));
    cases.push(
        case(
            "unknown query",
            Method::GET,
            &format!("/ws?access_token={token}&x=1"),
            400,
        )
        .content_type(None),
    );
    cases.push(
        case(
            "not an upgrade",
            Method::GET,
            &format!("/ws?access_token={token}"),
            400,
        )
        .content_type(None),
    );
    for case in &cases {
        run(&app, case).await;
    }
    assert!(cases.len() >= 150, "only {} cases", cases.len());
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
    let frames = [
        ("not json", "hello"),
        ("not an object", "[]"),
        ("unknown type", r#"{"type":"launch"}"#),
        ("unknown field", r#"{"type":"ping","extra":1}"#),
        ("missing type", r#"{"command":"deposit"}"#),
        (
            "unknown command",
            r#"{"type":"command","command":"steal","body":{}}"#,
        ),
        ("missing body", r#"{"type":"command","command":"deposit"}"#),
        (
            "bad amount",
            r#"{"type":"command","command":"deposit","body":{"accountId":"a","amount":"1.001"}}"#,
        ),
        (
            "bad account",
            r#"{"type":"command","command":"deposit","body":{"accountId":"a.b","amount":1}}"#,
        ),
        (
            "unknown body field",
            r#"{"type":"command","command":"withdraw","body":{"accountId":"a","amount":1,"x":0}}"#,
        ),
        (
            "malformed body",
            r#"{"type":"command","command":"withdraw","body":"{"}"#,
        ),
        (
            "long request id",
            &format!(r#"{{"type":"ping","requestId":"{}"}}"#, "r".repeat(200)),
        ),
    ];
    for (name, text) in frames {
        send_text(&mut socket, text).await;
        let frame = next_frame(&mut socket, Duration::from_secs(5))
            .await
            .unwrap_or_else(|| panic!("{name}: no answer"));
        assert_eq!(frame["type"], "error", "{name}: {frame}");
        assert!(
            ["INVALID_FRAME", "INVALID_COMMAND"].contains(&frame["code"].as_str().unwrap_or("")),
            "{name}: {frame}"
        );
    }
    futures::SinkExt::send(&mut socket, Message::Binary(vec![1u8, 2, 3].into()))
        .await
        .unwrap();
    let frame = next_frame(&mut socket, Duration::from_secs(5))
        .await
        .expect("binary answered");
    assert_eq!(frame["code"], "INVALID_FRAME");
    // The socket is still open and serving.
    send_text(&mut socket, r#"{"type":"ping"}"#).await;
    let mut answered = false;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
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
