//! `POST /projections/rebuild {"name": …}` (operator role): asks the
//! projector that owns the read model, over NATS, to rebuild it from the
//! event store into a shadow copy and switch; answers 202 at once with the
//! rebuild's id and where to follow it (`GET /projections/{name}`).

use aide::transform::TransformOperation;
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ledgerline_auth::Caller;
use ledgerline_contracts::FieldError;
use ledgerline_projection::{READ_MODELS, RebuildAnswer, request_rebuild};
use ledgerline_runtime::api_doc::{OperationDocs, Refusal, header};
use ledgerline_runtime::{ApiProblem, read_json_body};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use super::BalanceState;

/// Which read model to rebuild.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RebuildRequest {
    /// `AccountBalances` (with DailySummary), `TransactionHistory` or
    /// `AuditLog`.
    #[schemars(extend("enum" = ["AccountBalances", "TransactionHistory", "AuditLog"]))]
    name: String,
}

/// A rebuild under way, and where to follow it.
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct RebuildStarted {
    rebuild_id: Uuid,
    name: String,
    /// Always `rebuilding`.
    status: &'static str,
    /// The read model's status route.
    status_url: String,
}

pub(super) fn doc(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op
        .id("rebuildProjection")
        .tag("projections")
        .summary("Rebuild a read model from the event store without downtime (operator)")
        .description("Forwarded over NATS (`bank.rpc.projections.rebuild.{name}`, queue group) to the projector that owns the read model. It replays the event store into a shadow schema while the live copy keeps serving and following the stream, pauses writers briefly, takes what the live copy applied meanwhile, and renames the shadow into place in one transaction. Progress (`rebuild.replayed`/`rebuild.head`) and the last outcome (`lastRebuild`) appear in `GET /projections` and `GET /projections/AuditLog`. Served by balance-service.")
        .served_by("balance-service")
        .input::<Json<RebuildRequest>>()
        .response_with::<202, Json<RebuildStarted>, _>(|mut r| {
            r.inner().headers.insert(
                "Location".to_owned(),
                header("The read model's status URL (same as `statusUrl`).", json!({"type": "string"})),
            );
            r.description("The rebuild started.")
        })
        .refuses_saying(Refusal::BadRequest, "The body is not JSON.")
        .refuses_saying(Refusal::Forbidden, "The token lacks the operator role.")
        .refuses_saying(Refusal::NotFound, "No read model of that name.")
        .refuses_saying(Refusal::Conflict, "`rebuild-in-progress`: a rebuild of this read model is running.")
        .refuses_saying(Refusal::Unprocessable, r#"The body is not exactly `{"name": …}`."#)
        .refuses_saying(Refusal::Unavailable, "The owning projector did not answer.")
        .refuses(&[Refusal::Unauthorized, Refusal::RequestTimeout, Refusal::PayloadTooLarge, Refusal::UnsupportedMediaType])
}

pub(super) async fn rebuild(
    State(state): State<BalanceState>,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiProblem> {
    caller.require_operator()?;
    let body = read_json_body(&headers, body, state.body_limit).await?;
    let RebuildRequest { name } = read_request(&body)?;
    // Only a known name becomes a subject token.
    let Some(name) = READ_MODELS.iter().find(|known| **known == name) else {
        return Err(ApiProblem::not_found(format!(
            "no read model named {name}; known: {}",
            READ_MODELS.join(", ")
        )));
    };
    match request_rebuild(&state.sources, name).await {
        Ok(RebuildAnswer::Started { id }) => {
            let status_url = format!("/projections/{name}");
            Ok((
                StatusCode::ACCEPTED,
                [(header::LOCATION, status_url.clone())],
                Json(RebuildStarted {
                    rebuild_id: id,
                    name: (*name).to_owned(),
                    status: "rebuilding",
                    status_url,
                }),
            )
                .into_response())
        }
        Ok(RebuildAnswer::AlreadyRunning) => Err(ApiProblem::new(
            StatusCode::CONFLICT,
            "rebuild-in-progress",
            "A rebuild of this read model is already running",
        )
        .detail(format!("follow it at /projections/{name}"))),
        Ok(RebuildAnswer::Failed { message }) => Err(ApiProblem::unavailable(format!(
            "the {name} projector cannot start a rebuild: {message}"
        ))),
        Err(message) => Err(ApiProblem::unavailable(message)),
    }
}

/// The body is exactly `{"name": "<read model>"}` (a [`RebuildRequest`],
/// read by hand so that each wrong field is named): not JSON is 400, any
/// other shape 422 naming the field.
fn read_request(body: &[u8]) -> Result<RebuildRequest, ApiProblem> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiProblem::bad_request(format!("the body is not JSON: {e}")))?;
    let Value::Object(fields) = value else {
        return Err(ApiProblem::invalid(vec![FieldError::new(
            "body",
            "must be an object {\"name\": …}",
        )]));
    };
    let mut errors: Vec<FieldError> = fields
        .keys()
        .filter(|k| *k != "name")
        .map(|k| FieldError::new(k, "unknown field"))
        .collect();
    let name = match fields.get("name") {
        Some(Value::String(name)) => Some(name.clone()),
        Some(_) => {
            errors.push(FieldError::new("name", "must be a string"));
            None
        }
        None => {
            errors.push(FieldError::new("name", "required"));
            None
        }
    };
    match name {
        Some(name) if errors.is_empty() => Ok(RebuildRequest { name }),
        _ => Err(ApiProblem::invalid(errors)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_object_with_just_a_string_name_is_read() {
        assert_eq!(
            read_request(br#"{"name":"AuditLog"}"#).unwrap().name,
            "AuditLog"
        );
        for (body, status) in [
            (&b"{"[..], 400),
            (&b"[]"[..], 422),
            (&br#"{}"#[..], 422),
            (&br#"{"name":1}"#[..], 422),
            (&br#"{"name":"AuditLog","x":1}"#[..], 422),
        ] {
            assert_eq!(read_request(body).unwrap_err().status().as_u16(), status);
        }
    }
}
