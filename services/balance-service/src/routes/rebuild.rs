//! `POST /projections/rebuild {"name": …}` (operator role): asks the
//! projector that owns the read model, over NATS, to rebuild it from the
//! event store into a shadow copy and switch; answers 202 at once with the
//! rebuild's id and where to follow it (`GET /projections/{name}`).

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ledgerline_auth::Caller;
use ledgerline_contracts::FieldError;
use ledgerline_projection::{READ_MODELS, RebuildAnswer, request_rebuild};
use ledgerline_runtime::{ApiProblem, read_json_body};
use serde_json::{Value, json};

use super::BalanceState;

pub(super) async fn rebuild(
    State(state): State<BalanceState>,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiProblem> {
    caller.require_operator()?;
    let body = read_json_body(&headers, body, state.body_limit).await?;
    let name = read_name(&body)?;
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
                Json(json!({
                    "rebuildId": id,
                    "name": name,
                    "status": "rebuilding",
                    "statusUrl": status_url,
                })),
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

/// The body is exactly `{"name": "<read model>"}`: not JSON is 400, any
/// other shape 422 naming the field.
fn read_name(body: &[u8]) -> Result<String, ApiProblem> {
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
        Some(name) if errors.is_empty() => Ok(name),
        _ => Err(ApiProblem::invalid(errors)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_object_with_just_a_string_name_is_read() {
        assert_eq!(read_name(br#"{"name":"AuditLog"}"#).unwrap(), "AuditLog");
        for (body, status) in [
            (&b"{"[..], 400),
            (&b"[]"[..], 422),
            (&br#"{}"#[..], 422),
            (&br#"{"name":1}"#[..], 422),
            (&br#"{"name":"AuditLog","x":1}"#[..], 422),
        ] {
            assert_eq!(read_name(body).unwrap_err().status().as_u16(), status);
        }
    }
}
