use axum::extract::{FromRef, State};
use axum::routing::get;
use axum::{Json, Router};
use ledgerline_auth::{Caller, TokenKeys};
use ledgerline_contracts::FieldError;
use ledgerline_projection::ReadModelDb;
use ledgerline_runtime::{ApiProblem, ValidQuery};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;

#[derive(Clone)]
pub struct AuditState {
    pub db: ReadModelDb,
    pub keys: TokenKeys,
}

impl FromRef<AuditState> for TokenKeys {
    fn from_ref(state: &AuditState) -> TokenKeys {
        state.keys.clone()
    }
}

pub fn routes(state: AuditState) -> Router {
    Router::new()
        .route("/audit", get(audit_log))
        .with_state(state)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AuditQuery {
    /// Entries with `id < before` (paging backwards).
    before: Option<i64>,
    limit: Option<i64>,
}

#[derive(Serialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
struct Entry {
    id: i64,
    kind: String,
    user_id: String,
    account_id: String,
    summary: String,
    payload: Value,
    #[serde(with = "time::serde::rfc3339")]
    recorded_at: OffsetDateTime,
}

/// The caller's audit entries, newest first; operators see everyone's.
async fn audit_log(
    State(state): State<AuditState>,
    caller: Caller,
    ValidQuery(q): ValidQuery<AuditQuery>,
) -> Result<Json<Value>, ApiProblem> {
    let limit = match q.limit.unwrap_or(100) {
        n @ 1..=1_000 => n,
        _ => {
            return Err(ApiProblem::invalid(vec![FieldError::new(
                "limit",
                "must be 1 to 1000",
            )]));
        }
    };
    let user = (!caller.is_operator()).then(|| caller.user_id.to_string());
    let items: Vec<Entry> = sqlx::query_as(
        "SELECT id, kind, user_id, account_id, summary, payload, recorded_at FROM entries
         WHERE ($1::text IS NULL OR user_id = $1) AND ($2::bigint IS NULL OR id < $2)
         ORDER BY id DESC LIMIT $3",
    )
    .bind(user)
    .bind(q.before)
    .bind(limit)
    .fetch_all(&state.db.pool())
    .await
    .map_err(|e| ApiProblem::unavailable(format!("cannot read the audit log: {e}")))?;
    let next = items.last().map(|e| e.id);
    Ok(Json(json!({ "items": items, "nextBefore": next })))
}
