use std::sync::Arc;

use axum::body::Body;
use axum::extract::{FromRef, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router, middleware};
use ledgerline_auth::{Caller, TokenKeys};
use ledgerline_contracts::{CommandKey, FieldError};
use ledgerline_domain::CommandKind;
use ledgerline_runtime::{ApiProblem, read_json_body};
use ledgerline_store::StoreReads;
use ledgerline_store::told::told;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::chaos::{ChaosRate, chaos};
use ledgerline_contracts::AcceptRequest;

use crate::AcceptService;

#[derive(Clone)]
pub struct ApiState {
    pub accept: AcceptService,
    /// Outcomes are the event store's: asked, never copied.
    pub store: Arc<dyn StoreReads>,
    pub keys: TokenKeys,
    pub body_limit: usize,
}

impl FromRef<ApiState> for TokenKeys {
    fn from_ref(state: &ApiState) -> TokenKeys {
        state.keys.clone()
    }
}

pub fn routes(state: ApiState, chaos_rate: f64) -> Router {
    // One route per command name (POST only) beside the command ids (GET):
    // a 405's `Allow` then lists what that path really takes, and the
    // router prefers a name to an id, so `GET /commands/deposit` is 405.
    let commands = CommandKind::USER_SENT.into_iter().fold(
        Router::new().route("/commands/{commandId}", get(command_status)),
        |router, kind| {
            let post_kind = move |state, caller, headers, body| {
                post_command(state, caller, kind, headers, body)
            };
            router.route(&format!("/commands/{}", kind.slug()), post(post_kind))
        },
    );
    commands
        .route_layer(middleware::from_fn_with_state(ChaosRate(chaos_rate), chaos))
        .with_state(state)
}

async fn post_command(
    State(state): State<ApiState>,
    caller: Caller,
    kind: CommandKind,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiProblem> {
    let kind = kind.slug().to_owned();
    let body = read_json_body(&headers, body, state.body_limit).await?;
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

/// The outcome of one of the caller's commands, for clients without a
/// socket: the command as the API accepted it, and its outcome as the event
/// store (its one keeper) holds it.
async fn command_status(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiProblem> {
    let id = Uuid::parse_str(&id)
        .map_err(|e| ApiProblem::invalid(vec![FieldError::new("commandId", e)]))?;
    // The caller's ids are theirs alone: the row is found under the key of
    // this user and id, never another user's command of the same id.
    let key = CommandKey::of_client(&caller.user_id, id);
    let kind: Option<String> =
        sqlx::query_scalar("SELECT kind FROM commands WHERE command_key = $1")
            .bind(key.as_uuid())
            .fetch_optional(&state.accept.pool)
            .await
            .map_err(|e| ApiProblem::unavailable(format!("cannot read commands: {e}")))?;
    // What the user was told (a transfer: once its last step is decided).
    let outcome = told(state.store.as_ref(), &[key])
        .await
        .map_err(|e| ApiProblem::unavailable(format!("cannot read the outcome: {e}")))?
        .remove(&key)
        .map(|status| status.payload);
    // A command decided without this API's record of it (queued by another
    // door) is still the caller's: its kind is just not known here.
    let kind = match (kind, &outcome) {
        (Some(kind), _) => kind,
        (None, Some(_)) => "unknown".to_owned(),
        (None, None) => return Err(ApiProblem::not_found(format!("no command {id} of yours"))),
    };
    let status = outcome
        .as_ref()
        .and_then(|o| serde_json::to_value(o.status).ok())
        .unwrap_or_else(|| json!("accepted"));
    Ok(Json(
        json!({ "commandId": id, "kind": kind, "status": status,
        // Read-your-writes: pass as `?minPosition=` to a read model.
        "position": outcome.as_ref().and_then(|o| o.position),
        "outcome": outcome }),
    ))
}
