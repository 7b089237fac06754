use axum::extract::{FromRef, State};
use axum::routing::get;
use axum::{Json, Router};
use ledgerline_auth::{Caller, TokenKeys};
use ledgerline_contracts::FieldError;
use ledgerline_projection::ReadModelDb;
use ledgerline_projection::tuning::AUDIT_LOG_PAGE;
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

/// Every entry, for operators.
const EVERY_ENTRY: &str = "SELECT id, kind, user_id, account_id, summary, payload, recorded_at
     FROM entries WHERE ($1::bigint IS NULL OR id < $1)
     ORDER BY id DESC LIMIT $2";

/// The entries a user may read: the events of the accounts they own and
/// the outcomes of the commands they issued — so each side of a transfer
/// sees its own side only. The `CASE` is the index `entries_reader`'s.
const READERS_ENTRIES: &str = "SELECT id, kind, user_id, account_id, summary, payload, recorded_at
     FROM entries
     WHERE (CASE kind WHEN 'status' THEN user_id ELSE owner_id END) = $3
       AND ($1::bigint IS NULL OR id < $1)
     ORDER BY id DESC LIMIT $2";

/// The caller's audit entries, newest first; operators see everyone's.
async fn audit_log(
    State(state): State<AuditState>,
    caller: Caller,
    ValidQuery(q): ValidQuery<AuditQuery>,
) -> Result<Json<Value>, ApiProblem> {
    let limit = match q.limit.unwrap_or(AUDIT_LOG_PAGE.default) {
        n if (1..=AUDIT_LOG_PAGE.max).contains(&n) => n,
        _ => {
            return Err(ApiProblem::invalid(vec![FieldError::new(
                "limit",
                format!("must be 1 to {}", AUDIT_LOG_PAGE.max),
            )]));
        }
    };
    let pool = state.db.pool();
    let read = match caller.is_operator() {
        true => {
            sqlx::query_as(EVERY_ENTRY)
                .bind(q.before)
                .bind(limit)
                .fetch_all(&pool)
                .await
        }
        false => {
            sqlx::query_as(READERS_ENTRIES)
                .bind(q.before)
                .bind(limit)
                .bind(caller.user_id.as_str())
                .fetch_all(&pool)
                .await
        }
    };
    let items: Vec<Entry> =
        read.map_err(|e| ApiProblem::unavailable(format!("cannot read the audit log: {e}")))?;
    let next = items.last().map(|e| e.id);
    Ok(Json(json!({ "items": items, "nextBefore": next })))
}
