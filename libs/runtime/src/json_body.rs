use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, StatusCode, header};

use crate::ApiProblem;

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
}

/// The body of a JSON request: `application/json` (else 415) and at most
/// `limit` bytes (else 413), read without buffering more than the limit.
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
    axum::body::to_bytes(body, limit).await.map_err(|_| {
        ApiProblem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body-too-large",
            "The body is too large",
        )
        .detail(format!("at most {limit} bytes"))
    })
}
