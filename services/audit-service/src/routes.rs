use aide::axum::ApiRouter;
use aide::axum::routing::get_with;
use aide::transform::TransformOperation;
use axum::extract::{FromRef, State};
use axum::{Json, Router};
use ledgerline_auth::{Caller, TokenKeys};
use ledgerline_contracts::{EventEnvelope, FieldError, StatusEnvelope};
use ledgerline_domain::UserId;
use ledgerline_projection::ReadModelDb;
use ledgerline_projection::tuning::AUDIT_LOG_PAGE;
use ledgerline_runtime::api_doc::{OperationDocs, Refusal};
use ledgerline_runtime::{ApiProblem, ValidQuery};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
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
    api().with_state::<()>(state).into()
}

/// The route, documented, before it is given its state.
pub fn api() -> ApiRouter<AuditState> {
    ApiRouter::new().api_route("/audit", get_with(audit_log, doc))
}

#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AuditQuery {
    /// Only entries with a smaller `id` (paging backwards).
    before: Option<i64>,
    /// Page size (default 100).
    #[schemars(range(min = 1, max = AUDIT_LOG_PAGE.max))]
    limit: Option<i64>,
}

/// A page of entries, newest first.
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
struct AuditPage {
    items: Vec<Entry>,
    /// The last item's `id`; null when `items` is empty.
    next_before: Option<i64>,
}

/// One entry: an event or a command's outcome.
#[derive(Serialize, JsonSchema, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "AuditEntry")]
struct Entry {
    id: i64,
    /// `event` or `status`.
    kind: String,
    #[schemars(with = "UserId")]
    user_id: String,
    /// The event's account, or the status envelope's `entityId`.
    account_id: String,
    /// E.g. `MoneyDeposited v3`, `Rejected: INSUFFICIENT_FUNDS`, `Succeeded`.
    summary: String,
    #[schemars(with = "Payload")]
    payload: Value,
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(with = "String", extend("format" = "date-time"))]
    recorded_at: OffsetDateTime,
}

/// The event envelope (kind `event`) or the status envelope (kind
/// `status`), as recorded: the schema of `Entry::payload`.
#[derive(JsonSchema)]
#[serde(untagged)]
#[schemars(rename = "AuditPayload")]
#[allow(dead_code)]
enum Payload {
    Event(EventEnvelope),
    Status(StatusEnvelope),
}

fn doc(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op
        .id("getAuditLog")
        .tag("projections")
        .summary("The audit log, newest first")
        .description("One append-only entry per event and per command outcome (rejections included). A user sees the events of the accounts they own and the outcomes of the commands they issued — so each side of a transfer sees its own side: the sender their `TransferDebited`/`TransferCompleted`/`TransferRefunded` and the transfer's outcome, the receiver the `TransferCredited` on their account. Operators see every entry (including, on a database migrated from before this rule, events recorded before it until an AuditLog rebuild). Page backwards with `before=nextBefore`.")
        .served_by("audit-service")
        .response_with::<200, Json<AuditPage>, _>(|r| r.description("A page of audit entries."))
        .refuses_saying(Refusal::BadRequest, "The query string has an unknown parameter or a value that is not an integer.")
        .refuses_saying(Refusal::Unprocessable, "`invalid-body`: `limit` is not 1 to 1000.")
        .refuses_saying(Refusal::Unavailable, "The audit log could not be read.")
        .refuses(&[Refusal::Unauthorized])
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
) -> Result<Json<AuditPage>, ApiProblem> {
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
    Ok(Json(AuditPage {
        items,
        next_before: next,
    }))
}
