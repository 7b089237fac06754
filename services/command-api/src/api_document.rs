//! `GET /openapi.json`: the HTTP API's reference, for anyone (no token: it
//! is documentation). The command API serves it because the edge sends it
//! every path no other component claims, the browser app and `/docs` among
//! them; `/docs` renders this document.

use aide::axum::ApiRouter;
use aide::axum::routing::get_with;
use aide::transform::TransformOperation;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::{Json, Router};
use bytes::Bytes;
use ledgerline_contracts::api_document::openapi;
use ledgerline_runtime::api_doc::OperationDocs;
use serde_json::{Value, json};

/// The route, with the document prepared once at start.
pub fn api_document_routes() -> Result<Router, serde_json::Error> {
    let body = Bytes::from(served_document()?.to_string());
    Ok(api_document_api().with_state::<()>(body).into())
}

/// The route, documented, before it is given the document.
pub fn api_document_api() -> ApiRouter<Bytes> {
    ApiRouter::new().api_route("/openapi.json", get_with(serve, doc))
}

async fn serve(State(body): State<Bytes>) -> ([(header::HeaderName, HeaderValue); 1], Bytes) {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
}

fn doc(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op.id("getOpenApiDocument")
        .tag("reference")
        .summary("This document")
        .description("`proto/openapi.json` as compiled into the binary: generated from the routers and the Rust types, and self-contained (every reference is local), so a saved copy works as well as the URL. The first of `servers` is `/`, the origin that served it. The browser app's `/docs` (from `WEB_DIR`) renders it. No token. Never an error response.")
        .served_by("command-api")
        .response_with::<200, Json<OpenApiDocument>, _>(|r| r.description("The OpenAPI 3.1 document."))
}

/// The shape of an OpenAPI 3.1 document, as far as this route promises.
#[derive(schemars::JsonSchema)]
#[allow(dead_code)]
struct OpenApiDocument {
    #[schemars(extend("pattern" = "^3\\.1\\."))]
    openapi: String,
    info: serde_json::Map<String, Value>,
    paths: serde_json::Map<String, Value>,
}

/// The committed document, whose first server is the origin that served
/// it (a relative URL resolves against the document's): "try it" from
/// `/docs` then calls this origin, the only one the page's CSP lets it
/// reach, whichever host name the reader used.
fn served_document() -> Result<Value, serde_json::Error> {
    let mut doc = openapi()?;
    let this_origin = json!({
        "url": "/",
        "description": "The origin that served this document"
    });
    match doc.get_mut("servers").and_then(Value::as_array_mut) {
        Some(servers) => servers.insert(0, this_origin),
        None => doc["servers"] = json!([this_origin]),
    }
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_served_document_first_names_its_own_origin() {
        let doc = served_document().unwrap();
        assert_eq!(doc["servers"][0]["url"], "/");
        assert!(doc["servers"].as_array().unwrap().len() > 1);
        assert!(doc["paths"]["/openapi.json"]["get"].is_object());
    }
}
