use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use axum::{Json, Router};
use ledgerline_contracts::FieldError;
use ledgerline_domain::UserId;
use ledgerline_runtime::{ApiProblem, read_json_body};
use serde::Deserialize;
use serde_json::json;

use crate::{Role, TokenKeys};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct DemoLogin {
    user_id: String,
    #[serde(default)]
    role: Option<String>,
}

#[derive(Clone)]
struct DemoState {
    keys: TokenKeys,
    ttl_secs: i64,
}

/// `POST /auth/demo-login {userId, role?}` → `{token}`: signs in anyone,
/// so it is mounted only when demo sign-in is enabled.
pub fn demo_login_routes(keys: TokenKeys, ttl_secs: u64) -> Router {
    let ttl_secs = i64::try_from(ttl_secs).unwrap_or(i64::MAX);
    Router::new()
        .route("/auth/demo-login", post(demo_login))
        .with_state(DemoState { keys, ttl_secs })
}

/// A sign-in body is tiny.
const LOGIN_BODY_LIMIT: usize = 4 * 1024;

async fn demo_login(
    State(state): State<DemoState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<serde_json::Value>, ApiProblem> {
    let body = read_json_body(&headers, body, LOGIN_BODY_LIMIT).await?;
    let request: DemoLogin = serde_json::from_slice(&body).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => ApiProblem::invalid(vec![FieldError::new("body", e)]),
        _ => ApiProblem::bad_request(format!("the body is not valid JSON: {e}")),
    })?;
    let user_id = UserId::parse(request.user_id)
        .map_err(|e| ApiProblem::invalid(vec![FieldError::new("userId", e)]))?;
    let role = match request.role.as_deref() {
        None | Some("user") => Role::User,
        Some("operator") => Role::Operator,
        Some(_) => {
            return Err(ApiProblem::invalid(vec![FieldError::new(
                "role",
                "must be 'user' or 'operator'",
            )]));
        }
    };
    let token = state.keys.issue(&user_id, role, state.ttl_secs)?;
    Ok(Json(
        json!({ "token": token, "userId": user_id, "role": if role == Role::Operator { "operator" } else { "user" } }),
    ))
}
