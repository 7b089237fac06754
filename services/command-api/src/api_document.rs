//! `GET /openapi.json`: the HTTP API's reference, for anyone (no token: it
//! is documentation). The command API serves it because the edge sends it
//! every path no other component claims, the browser app and `/docs` among
//! them; `/docs` renders this document.

use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use axum::{Router, routing::get};
use bytes::Bytes;
use ledgerline_contracts::api_document::{BundleError, bundled_openapi};
use serde_json::{Value, json};

/// The route, with the document bundled once at start.
pub fn api_document_routes() -> Result<Router, BundleError> {
    let body = Bytes::from(served_document()?.to_string());
    Ok(Router::new().route(
        "/openapi.json",
        get(move || async move {
            (
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                )],
                body,
            )
                .into_response()
        }),
    ))
}

/// The bundled document, whose first server is the origin that served it
/// (a relative URL resolves against the document's): "try it" from `/docs`
/// then calls this origin, the only one the page's CSP lets it reach,
/// whichever host name the reader used.
fn served_document() -> Result<Value, BundleError> {
    let mut doc = bundled_openapi()?;
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
