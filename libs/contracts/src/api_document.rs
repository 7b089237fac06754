//! `proto/openapi.json`, compiled in for serving. The document is
//! generated from the routers and the Rust types (`ledgerline`'s
//! `api_document`, `make proto`) and is self-contained: every schema it
//! names is in its `components.schemas`.

use serde_json::Value;

/// The OpenAPI document as committed, compiled in.
pub const OPENAPI_SOURCE: &str = include_str!("../../../proto/openapi.json");

/// The committed document, parsed.
pub fn openapi() -> Result<Value, serde_json::Error> {
    serde_json::from_str(OPENAPI_SOURCE)
}
