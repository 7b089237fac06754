use std::sync::Arc;

use aide::axum::ApiRouter;
use aide::axum::routing::get_with;
use aide::openapi::{
    Parameter, ParameterData, ParameterSchemaOrContent, ReferenceOr, SchemaObject, StatusCode,
};
use aide::transform::TransformOperation;
use axum::Router;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::{FromRef, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use ledgerline_auth::{AuthError, Caller, TokenKeys};
use ledgerline_runtime::api_doc::{OperationDocs, Refusal};
use ledgerline_runtime::{ApiProblem, ValidQuery};
use schemars::JsonSchema;
use serde::Deserialize;
use time::OffsetDateTime;

use crate::closing::MAX_CLIENT_MESSAGE;
use crate::connection::{self, Session, Shared};
use crate::replay::ResumeFrom;

/// Each socket's read buffer, allocated when it opens: room for a client
/// frame (a command is a few hundred bytes); a longer one still passes, the
/// buffer growing for it.
const READ_BUFFER: usize = 512;
/// How much a socket's writes gather before they go out (not allocated
/// ahead: the buffer grows to the frames written).
const WRITE_BUFFER: usize = 2 * 1024;
/// The subprotocol a browser offers beside its token:
/// `new WebSocket(url, ["bearer", token])`.
const BEARER_PROTOCOL: &str = "bearer";

/// The route's state: what every socket shares, behind one pointer that
/// each socket's session holds.
#[derive(Clone)]
pub struct SocketState(pub Arc<Shared>);

impl FromRef<SocketState> for TokenKeys {
    fn from_ref(state: &SocketState) -> TokenKeys {
        state.0.keys.clone()
    }
}

pub fn routes(state: SocketState) -> Router {
    api().with_state::<()>(state).into()
}

/// The route, documented, before it is given its state.
pub fn api() -> ApiRouter<SocketState> {
    ApiRouter::new().api_route("/ws", get_with(upgrade, doc))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct WsQuery {
    /// The bearer token. Besides it only `statusSeq` and `eventPosition`
    /// are allowed.
    access_token: Option<String>,
    /// Resume: the `seq` of the last `status` frame the client saw (a
    /// BANK_STATUS stream sequence). The user's status envelopes with a
    /// greater sequence are replayed.
    #[serde(rename = "statusSeq")]
    status_seq: Option<u64>,
    /// Resume: the highest `event.globalPosition` the client saw. Events of
    /// the user's accounts with a greater global position are replayed from
    /// the event store (without `seq`). A negative value counts as 0.
    #[serde(rename = "eventPosition")]
    event_position: Option<i64>,
}

fn doc(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op
        .id("openSocket")
        .tag("socket")
        .summary("Open the live WebSocket")
        .description(r#"Authenticated before the upgrade, so a bad token is a 401 problem document and no socket is opened. The token comes from `?access_token=`, or else from the `Sec-WebSocket-Protocol` list (any entry other than `bearer`, as in `new WebSocket(url, ["bearer", token])`); an `Authorization` header is not read here. The query string is checked before the token (400 first).

A reconnecting client resumes with `statusSeq` and/or `eventPosition`: after `welcome` the server replays what it missed — the status envelopes after `statusSeq` and the events of the user's accounts after `eventPosition` — then live frames, each frame once. A replay that cannot be completed sends an `error` frame `RESUME_INCOMPLETE` instead (re-read the read models) and carries on live. The frames are described in `asyncapi.json` (channel `/ws`)."#)
        .served_by("socket-service")
        .refuses_saying(Refusal::BadRequest, "The query string has a parameter other than `access_token`, `statusSeq` and `eventPosition`, a `statusSeq` that is not a non-negative integer or an `eventPosition` that is not an integer; or the request is not a WebSocket upgrade.")
        .refuses_saying(Refusal::Unauthorized, "No token, or the token is not valid (checked before the upgrade).")
        .with(socket_security)
}

/// The token comes in the query or as a subprotocol entry, never in
/// `Authorization`; the switch to the socket is the answer.
fn socket_security(mut op: TransformOperation<'_>) -> TransformOperation<'_> {
    let operation = op.inner_mut();
    operation.security = ["wsAccessToken", "wsSubprotocol"]
        .into_iter()
        .map(|scheme| [(scheme.to_owned(), Vec::new())].into_iter().collect())
        .collect();
    if let Some(ReferenceOr::Item(switching)) = operation
        .responses
        .as_mut()
        .and_then(|r| r.responses.get_mut(&StatusCode::Code(101)))
    {
        switching.description = "Switching Protocols. The first frame is `welcome`.".to_owned();
    }
    operation.parameters.push(ReferenceOr::Item(Parameter::Header {
        parameter_data: ParameterData {
            name: "Sec-WebSocket-Protocol".to_owned(),
            description: Some(
                "`bearer, <token>`: the token as a subprotocol entry; the server then selects `bearer`."
                    .to_owned(),
            ),
            required: false,
            deprecated: None,
            format: ParameterSchemaOrContent::Schema(SchemaObject {
                json_schema: schemars::json_schema!({"type": "string"}),
                example: None,
                external_docs: None,
            }),
            example: Some(serde_json::json!("bearer, eyJhbGciOiJIUzI1NiJ9.e30.c2ln")),
            examples: Default::default(),
            explode: None,
            extensions: Default::default(),
        },
        style: Default::default(),
    }));
    op
}

/// The token from `?access_token=` or from the `Sec-WebSocket-Protocol`
/// list (any entry that is not the `bearer` marker).
fn token<'a>(query: &'a WsQuery, headers: &'a HeaderMap) -> Result<&'a str, AuthError> {
    if let Some(token) = query.access_token.as_deref() {
        return Ok(token);
    }
    headers
        .get("sec-websocket-protocol")
        .and_then(|v| v.to_str().ok())
        .and_then(|list| {
            list.split(',')
                .map(str::trim)
                .find(|p| !p.is_empty() && *p != BEARER_PROTOCOL)
        })
        .ok_or(AuthError::Missing)
}

/// `GET /ws`: authenticated before the upgrade, so a bad token is a 401
/// problem document and no socket is opened.
async fn upgrade(
    State(state): State<SocketState>,
    ValidQuery(query): ValidQuery<WsQuery>,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiProblem> {
    let SocketState(shared) = state;
    let (caller, expires_at) = authenticate(&shared.keys, &query, &headers)?;
    let ws = ws.map_err(|e| ApiProblem::bad_request(format!("not a WebSocket upgrade: {e}")))?;
    let resume = ResumeFrom {
        status_seq: query.status_seq,
        event_position: query.event_position,
    };
    Ok(ws
        .protocols([BEARER_PROTOCOL])
        // Both bounds: without a frame limit tungstenite reads a frame of up
        // to 16 MiB into memory before the message limit refuses it.
        .max_message_size(MAX_CLIENT_MESSAGE)
        .max_frame_size(MAX_CLIENT_MESSAGE)
        // Small buffers: tungstenite's defaults cost ~138 KiB per idle
        // connection (bench/results). A frame is a few hundred bytes;
        // longer messages still pass.
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        .on_upgrade(move |socket| {
            let session = Session {
                shared,
                user: caller.user_id,
                expires_at,
                resume,
            };
            connection::serve(socket, session)
        })
        .into_response())
}

/// The caller and their token's expiry. The problem document says what
/// to do, not which check of the JWT library failed (that is logged).
fn authenticate(
    keys: &TokenKeys,
    query: &WsQuery,
    headers: &HeaderMap,
) -> Result<(Caller, OffsetDateTime), ApiProblem> {
    let token = token(query, headers).map_err(|_| {
        ApiProblem::unauthorized(
            "missing bearer token: send it in ?access_token= or as a Sec-WebSocket-Protocol entry beside \"bearer\"",
        )
    })?;
    keys.verify_with_expiry(token).map_err(|error| {
        tracing::info!(%error, "socket token refused");
        ApiProblem::unauthorized(
            "the token is not valid: malformed, expired or not issued by this server",
        )
    })
}
