use std::sync::Arc;

use aide::axum::ApiRouter;
use aide::axum::routing::{get_with, post_with};
use axum::body::Body;
use axum::extract::{FromRef, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router, middleware};
use ledgerline_auth::{Caller, TokenKeys};
use ledgerline_contracts::{CommandKey, FieldError, StatusEnvelope, StatusKind};
use ledgerline_domain::CommandKind;
use ledgerline_runtime::{ApiProblem, read_json_body};
use ledgerline_store::StoreReads;
use ledgerline_store::told::told;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::chaos::{ChaosRate, chaos};
use crate::route_docs::{command_doc, command_status_doc};
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
    api()
        .route_layer(middleware::from_fn_with_state(ChaosRate(chaos_rate), chaos))
        .with_state::<()>(state)
        .into()
}

/// The routes, documented, before they are given their state.
pub fn api() -> ApiRouter<ApiState> {
    // One route per command name (POST only) beside the command ids (GET):
    // a 405's `Allow` then lists what that path really takes, and the
    // router prefers a name to an id, so `GET /commands/deposit` is 405.
    CommandKind::USER_SENT.into_iter().fold(
        ApiRouter::new().api_route(
            "/commands/{commandId}",
            get_with(command_status, command_status_doc),
        ),
        |router, kind| {
            let post_kind =
                move |state: State<ApiState>, caller: Caller, headers: HeaderMap, body: Body| {
                    post_command(state, caller, kind, headers, body)
                };
            router.api_route(
                &format!("/commands/{}", kind.slug()),
                post_with(post_kind, command_doc(kind)),
            )
        },
    )
}

/// The command id in the path: checked by the handler, so that a bad one
/// is a 422 naming the field.
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CommandIdPath {
    #[schemars(with = "Uuid")]
    command_id: String,
}

/// One of the caller's commands and its outcome.
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CommandStatus {
    command_id: Uuid,
    /// The command name; `unknown` when the outcome was recorded without
    /// the accepted request.
    #[schemars(extend("enum" = ["open-account", "deposit", "withdraw", "close-account", "transfer", "unknown"]))]
    kind: String,
    /// `accepted` until the outcome is known, then the outcome's status.
    status: CommandState,
    /// Read-your-writes: pass as `?minPosition=` to a read model; null
    /// while `accepted` or when the outcome wrote no event.
    position: Option<i64>,
    /// The status envelope (without `seq`), null while `accepted`.
    outcome: Option<StatusEnvelope>,
}

/// Where a command stands.
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) enum CommandState {
    Accepted,
    Succeeded,
    Rejected,
    Failed,
}

impl From<StatusKind> for CommandState {
    fn from(status: StatusKind) -> Self {
        match status {
            StatusKind::Succeeded => CommandState::Succeeded,
            StatusKind::Rejected => CommandState::Rejected,
            StatusKind::Failed => CommandState::Failed,
        }
    }
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
    Path(path): Path<CommandIdPath>,
) -> Result<Json<CommandStatus>, ApiProblem> {
    let id = Uuid::parse_str(&path.command_id)
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
        .map_or(CommandState::Accepted, |o| o.status.into());
    Ok(Json(CommandStatus {
        command_id: id,
        kind,
        status,
        position: outcome.as_ref().and_then(|o| o.position),
        outcome,
    }))
}
