use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, StatusCode, header};
use http_body_util::LengthLimitError;

use crate::error_chain::caused_by;
use crate::{ApiProblem, BodyTimedOut};

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
}

/// The body of a JSON request: `application/json` (else 415), at most
/// `limit` bytes (else 413), read without buffering more than the limit,
/// and in full before the server's body deadline (else 408).
pub async fn read_json_body(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<Bytes, ApiProblem> {
    if !is_json(headers) {
        return Err(ApiProblem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Send application/json",
        ));
    }
    axum::body::to_bytes(body, limit).await.map_err(|error| {
        if let Some(BodyTimedOut(within)) = caused_by::<BodyTimedOut>(&error) {
            return ApiProblem::new(
                StatusCode::REQUEST_TIMEOUT,
                "body-timeout",
                "The body did not arrive in time",
            )
            .detail(format!("send the whole body within {} s", within.as_secs()));
        }
        if caused_by::<LengthLimitError>(&error).is_some() {
            return ApiProblem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body-too-large",
                "The body is too large",
            )
            .detail(format!("at most {limit} bytes"));
        }
        // The client went away or broke the framing (bad chunked encoding).
        ApiProblem::bad_request("the body could not be read")
    })
}
