use aide::axum::ApiRouter;
use aide::axum::routing::post_with;
use aide::transform::TransformOperation;
use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::{Json, Router};
use ledgerline_contracts::FieldError;
use ledgerline_domain::UserId;
use ledgerline_runtime::api_doc::{OperationDocs, Refusal};
use ledgerline_runtime::{ApiProblem, read_json_body};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::{Role, TokenKeys};

/// Who to sign in as.
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct DemoLogin {
    #[schemars(with = "UserId")]
    user_id: String,
    /// Absent or null means `user`. `operator` sees every account, the
    /// whole event stream and the whole audit log.
    #[serde(default)]
    #[schemars(extend("enum" = ["user", "operator", null]))]
    role: Option<String>,
}

/// A signed bearer token.
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
struct DemoToken {
    /// HS256 JWT with `sub`, `iat`, `exp` (and `role: operator` for
    /// operators).
    token: String,
    user_id: UserId,
    #[schemars(extend("enum" = ["user", "operator"]))]
    role: &'static str,
}

fn doc(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op
        .id("demoLogin")
        .tag("auth")
        .summary("Sign in as anyone (demo only)")
        .description("Mounted only when `DEMO_LOGIN=true`; signs an HS256 token for any valid user id, valid for `TOKEN_TTL_SECS` (default 28800). No bearer token needed. `Content-Type: application/json` is required (415) and the body is at most 4096 bytes (413; not `BODY_LIMIT`), then it is read as JSON (400) and validated (422).")
        .served_by("command-api")
        .input::<Json<DemoLogin>>()
        .with(|mut op| {
            if let Some(body) = op.inner_mut().request_body.as_mut().and_then(|b| b.as_item_mut()) {
                body.description = Some("`Content-Type: application/json` (parameters such as `; charset=utf-8` are allowed), at most 4096 bytes. Unknown fields are refused.".to_owned());
                for media in body.content.values_mut() {
                    media.example = Some(json!({"userId": "alice"}));
                }
            }
            op
        })
        .response_with::<200, Json<DemoToken>, _>(|r| r.description("A signed bearer token."))
        .refuses_saying(Refusal::BadRequest, "The body is not JSON (including an empty body, or bytes that are not UTF-8).")
        .refuses_saying(Refusal::NotFound, "Demo sign-in is off, so the route does not exist (`No such route`).")
        .refuses_saying(Refusal::PayloadTooLarge, "The body is over 4096 bytes (`body-too-large`, `detail`: `at most 4096 bytes`).")
        .refuses_saying(Refusal::Unprocessable, "`invalid-body`: wrong shape (field `body`: unknown or missing field, wrong type), a `userId` that is not `^[A-Za-z0-9_-]{1,64}$`, or a `role` other than `user`/`operator`.")
        .refuses_saying(Refusal::Internal, "The token could not be signed.")
        .refuses(&[Refusal::RequestTimeout, Refusal::UnsupportedMediaType])
}

#[derive(Clone)]
pub struct DemoState {
    keys: TokenKeys,
    ttl_secs: i64,
}

/// `POST /auth/demo-login {userId, role?}` → `{token}`: signs in anyone,
/// so it is mounted only when demo sign-in is enabled.
pub fn demo_login_routes(keys: TokenKeys, ttl_secs: u64) -> Router {
    let ttl_secs = i64::try_from(ttl_secs).unwrap_or(i64::MAX);
    demo_login_api()
        .with_state::<()>(DemoState { keys, ttl_secs })
        .into()
}

/// The route, documented, before it is given its state.
pub fn demo_login_api() -> ApiRouter<DemoState> {
    ApiRouter::new().api_route("/auth/demo-login", post_with(demo_login, doc))
}

/// A sign-in body is tiny.
const LOGIN_BODY_LIMIT: usize = 4 * 1024;

async fn demo_login(
    State(state): State<DemoState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<DemoToken>, ApiProblem> {
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
    Ok(Json(DemoToken {
        token,
        user_id,
        role: if role == Role::Operator {
            "operator"
        } else {
            "user"
        },
    }))
}
