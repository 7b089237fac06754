use axum::body::Body;
use axum::extract::{FromRef, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router, middleware, routing::get};
use ledgerline_auth::{Caller, TokenKeys};
use ledgerline_contracts::FieldError;
use ledgerline_runtime::ApiProblem;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::chaos::{ChaosRate, chaos};
use ledgerline_contracts::AcceptRequest;

use crate::AcceptService;

#[derive(Clone)]
pub struct ApiState {
    pub accept: AcceptService,
    pub keys: TokenKeys,
    pub body_limit: usize,
}

impl FromRef<ApiState> for TokenKeys {
    fn from_ref(state: &ApiState) -> TokenKeys {
        state.keys.clone()
    }
}

pub fn routes(state: ApiState, chaos_rate: f64) -> Router {
    // One path pattern: POST takes a command name, GET a command id.
    let commands = Router::new()
        .route("/commands/{name}", get(command_status).post(post_command))
        .route_layer(middleware::from_fn_with_state(ChaosRate(chaos_rate), chaos));
    commands.with_state(state)
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
}

async fn post_command(
    State(state): State<ApiState>,
    caller: Caller,
    Path(kind): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiProblem> {
    if !is_json(&headers) {
        return Err(ApiProblem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Send application/json",
        ));
    }
    let body = axum::body::to_bytes(body, state.body_limit)
        .await
        .map_err(|_| {
            ApiProblem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body-too-large",
                "The body is too large",
            )
            .detail(format!("at most {} bytes", state.body_limit))
        })?;
    let body = String::from_utf8(body.to_vec())
        .map_err(|_| ApiProblem::bad_request("the body is not UTF-8"))?;
    let idempotency_key = match headers.get("idempotency-key") {
        Some(v) => Some(
            v.to_str()
                .map_err(|_| {
                    ApiProblem::invalid(vec![FieldError::new(
                        "Idempotency-Key",
                        "must be visible ASCII",
                    )])
                })?
                .to_owned(),
        ),
        None => None,
    };
    let request = AcceptRequest {
        user_id: caller.user_id,
        kind,
        idempotency_key,
        body,
    };
    let accepted = state.accept.accept(&request).await?;
    let location = accepted.status_url.clone();
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, location)],
        Json(accepted),
    )
        .into_response())
}

/// The outcome of one of the caller's commands, for clients without a socket.
async fn command_status(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiProblem> {
    let id = Uuid::parse_str(&id)
        .map_err(|e| ApiProblem::invalid(vec![FieldError::new("commandId", e)]))?;
    let row: Option<(String, String, Option<Value>)> = sqlx::query_as(
        "SELECT kind, status, outcome FROM commands WHERE command_id = $1 AND user_id = $2",
    )
    .bind(id)
    .bind(caller.user_id.as_str())
    .fetch_optional(&state.accept.pool)
    .await
    .map_err(|e| ApiProblem::unavailable(format!("cannot read commands: {e}")))?;
    let (kind, status, outcome) =
        row.ok_or_else(|| ApiProblem::not_found(format!("no command {id} of yours")))?;
    Ok(Json(
        json!({ "commandId": id, "kind": kind, "status": status, "outcome": outcome }),
    ))
}
