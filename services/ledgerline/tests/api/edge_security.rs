//! The edge's answers to an attacker (issue 11, C): security headers on
//! every answer, 401s that say what is wrong without naming the token
//! library, token lifetimes bounded, and no demo secret anyone can read.

use ledgerline_auth::{Role, TokenKeys};
use ledgerline_domain::UserId;
use reqwest::header::HeaderMap;
use serde_json::Value;

use crate::helpers::{JWT_SECRET, TestApp, spawn_app_with};

/// What demo mode signed with before issue 11, readable in the binary.
const OLD_DEMO_SECRET: &str = "ledgerline-demo-secret-not-for-production";

async fn get(app: &TestApp, path: &str, token: Option<&str>) -> (u16, HeaderMap, String) {
    let mut request = app.http.get(app.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.text().await.unwrap_or_default())
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

fn assert_security_headers(path: &str, headers: &HeaderMap) {
    assert_eq!(
        header(headers, "x-content-type-options"),
        "nosniff",
        "{path}"
    );
    assert_eq!(header(headers, "referrer-policy"), "no-referrer", "{path}");
    let csp = header(headers, "content-security-policy");
    for directive in [
        "default-src 'self'",
        "connect-src 'self' ws: wss:",
        "frame-ancestors 'none'",
        "object-src 'none'",
        "base-uri 'none'",
    ] {
        assert!(csp.contains(directive), "{path}: {csp}");
    }
}

/// A folder with a tiny browser app, served at `/`.
fn web_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("ll-web-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("index.html"), "<!doctype html><title>t</title>").unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_carries_the_security_headers_and_api_answers_are_not_stored() {
    let dir = web_dir();
    let web = dir.to_string_lossy().into_owned();
    let app = spawn_app_with(move |c| c.web_dir = web).await;
    let alice = app.token("alice").await;

    let (status, headers, _) = get(&app, "/projections/AccountBalances", Some(&alice)).await;
    assert_eq!(status, 200);
    assert_security_headers("api", &headers);
    assert_eq!(header(&headers, "cache-control"), "no-store");

    let (status, headers, _) = get(&app, "/no/such/route", Some(&alice)).await;
    assert_eq!(status, 404);
    assert_security_headers("404", &headers);
    assert_eq!(header(&headers, "cache-control"), "no-store");

    let (status, headers, _) = get(&app, "/projections/AccountBalances", None).await;
    assert_eq!(status, 401);
    assert_security_headers("401", &headers);

    let (status, headers, body) = get(&app, "/", None).await;
    assert_eq!(status, 200, "{body}");
    assert_security_headers("/", &headers);
    // A static file may be cached, but must be revalidated.
    assert_eq!(header(&headers, "cache-control"), "no-cache");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_401_says_what_is_wrong_in_words_of_its_own() {
    let app = spawn_app_with(|_| {}).await;
    let alice = UserId::parse("alice").unwrap();
    let keys = TokenKeys::new(JWT_SECRET.as_bytes());
    let expired = keys.issue(&alice, Role::User, -60).unwrap();
    let foreign = TokenKeys::new(b"someone-else")
        .issue(&alice, Role::User, 60)
        .unwrap();
    let for_a_year = keys.issue(&alice, Role::Operator, 365 * 24 * 3600).unwrap();
    let cases = [
        (None, "missing bearer token"),
        (Some(expired.as_str()), "the token has expired"),
        (Some(foreign.as_str()), "the token is not valid"),
        (Some("garbage"), "the token is not valid"),
        (
            Some(for_a_year.as_str()),
            "the token is valid for longer than this server allows",
        ),
    ];
    for (token, detail) in cases {
        let (status, _, body) = get(&app, "/audit", token).await;
        assert_eq!(status, 401, "{detail}: {body}");
        let problem: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(problem["detail"], detail, "{body}");
        for internal in [
            "ExpiredSignature",
            "InvalidSignature",
            "InvalidToken",
            "Base64",
            "JSON error",
        ] {
            assert!(!body.contains(internal), "{body} names {internal}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_demo_without_jwt_secret_refuses_tokens_forged_with_a_known_secret() {
    let app = spawn_app_with(|c| c.jwt_secret = None).await;
    let ops = UserId::parse("ops").unwrap();
    let forged = TokenKeys::new(OLD_DEMO_SECRET.as_bytes())
        .issue(&ops, Role::Operator, 3600)
        .unwrap();
    let (status, _, body) = get(&app, "/stats", Some(&forged)).await;
    assert_eq!(status, 401, "a forged operator token was accepted: {body}");
    // Demo sign-in still works: its tokens carry the process's own secret.
    let signed_in = app.token_with_role("ops", Some("operator")).await;
    let (status, _, body) = get(&app, "/stats", Some(&signed_in)).await;
    assert_eq!(status, 200, "{body}");
}
