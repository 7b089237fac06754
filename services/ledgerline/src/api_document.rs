//! The HTTP API's OpenAPI document, generated from the routers of every
//! service: each registers its routes with their documentation (aide), and
//! every parameter and body is the schemars type its handler reads or
//! writes. `proto/openapi.json` is this document, committed (a test keeps
//! it equal; `make proto` rewrites it), and the command API serves it.

use std::collections::BTreeSet;

use aide::axum::ApiRouter;
use aide::openapi::{Info, OpenApi, SecurityScheme, Server, Tag};
use serde_json::Value;

/// The whole document: every service's routes, as `ledgerline all` serves
/// them.
pub fn api_document() -> Result<Value, DocumentError> {
    let mut doc = serde_json::to_value(generated()?)?;
    unwrap_doc_lines(&mut doc);
    drop_unreferenced_schemas(&mut doc);
    Ok(doc)
}

#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    #[error(
        "the schema name {0} is taken by two different types; rename one (`#[schemars(rename = …)]`)"
    )]
    SchemaNameTaken(String),
    #[error(transparent)]
    Json(#[from] serde_json::Error),
}

/// Moves a router's routes, and the schemas they name, into the document.
/// Each router names its schemas on its own, so two types of one name in
/// two services would overwrite each other: that is refused.
fn add<S: Clone + Send + Sync + 'static>(
    api: &mut OpenApi,
    router: ApiRouter<S>,
) -> Result<(), DocumentError> {
    let schemas = |api: &OpenApi| serde_json::to_value(api.components.as_ref().map(|c| &c.schemas));
    let before = schemas(api)?;
    let _ = router.finish_api(api);
    let after = schemas(api)?;
    if let (Value::Object(before), Value::Object(after)) = (before, after) {
        for (name, schema) in before {
            if after.get(&name) != Some(&schema) {
                return Err(DocumentError::SchemaNameTaken(name));
            }
        }
    }
    Ok(())
}

fn generated() -> Result<OpenApi, DocumentError> {
    let mut api = OpenApi {
        info: Info {
            title: "Ledgerline HTTP API".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            summary: Some(
                "Event-sourced bank: commands in, events, read models and a live socket out."
                    .to_owned(),
            ),
            description: Some(DESCRIPTION.to_owned()),
            ..Info::default()
        },
        servers: vec![Server {
            url: "http://127.0.0.1:8080".to_owned(),
            description: Some("`ledgerline all` with the default HTTP_ADDR".to_owned()),
            ..Server::default()
        }],
        tags: TAGS
            .iter()
            .map(|(name, description)| Tag {
                name: (*name).to_owned(),
                description: Some((*description).to_owned()),
                ..Tag::default()
            })
            .collect(),
        ..OpenApi::default()
    };
    // Each router documents its routes as it is built; finishing it moves
    // them, and the schemas they name, into the document.
    add(&mut api, command_api::api())?;
    add(&mut api, ledgerline_auth::demo_login_api())?;
    add(&mut api, event_store::api())?;
    add(&mut api, balance_service::api())?;
    add(&mut api, history_service::api())?;
    add(&mut api, audit_service::api())?;
    add(&mut api, socket_service::api())?;
    add(&mut api, command_api::api_document_api())?;
    add(&mut api, ledgerline_runtime::health_api())?;
    let _ = ApiRouter::<()>::new().finish_api_with(&mut api, |doc| {
        doc.security_scheme(
            "bearerAuth",
            SecurityScheme::Http {
                scheme: "bearer".to_owned(),
                bearer_format: Some("JWT".to_owned()),
                description: Some(BEARER.to_owned()),
                extensions: Default::default(),
            },
        )
        .security_scheme(
            "wsAccessToken",
            SecurityScheme::ApiKey {
                location: aide::openapi::ApiKeyLocation::Query,
                name: "access_token".to_owned(),
                description: Some("The same JWT, for `GET /ws` only.".to_owned()),
                extensions: Default::default(),
            },
        )
        .security_scheme(
            "wsSubprotocol",
            SecurityScheme::ApiKey {
                location: aide::openapi::ApiKeyLocation::Header,
                name: "Sec-WebSocket-Protocol".to_owned(),
                description: Some(
                    "The same JWT as an entry of the subprotocol list beside `bearer`, for `GET /ws` only."
                        .to_owned(),
                ),
                extensions: Default::default(),
            },
        )
    });
    Ok(api)
}

/// Doc comments break lines where the source does; a description is one
/// paragraph per blank line.
fn unwrap_doc_lines(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                match v {
                    Value::String(text) if key == "description" => {
                        *text = text
                            .split("\n\n")
                            .map(|p| p.replace('\n', " "))
                            .collect::<Vec<_>>()
                            .join("\n\n");
                    }
                    other => unwrap_doc_lines(other),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(unwrap_doc_lines),
        _ => {}
    }
}

/// The query and path types are spelled out as parameters; their own
/// schemas, which nothing refers to, are left out.
fn drop_unreferenced_schemas(doc: &mut Value) {
    loop {
        let mut used = BTreeSet::new();
        collect_refs(doc, &mut used);
        let Some(Value::Object(schemas)) = doc.pointer_mut("/components/schemas") else {
            return;
        };
        let unused: Vec<String> = schemas
            .keys()
            .filter(|name| !used.contains(&format!("#/components/schemas/{name}")))
            .cloned()
            .collect();
        if unused.is_empty() {
            return;
        }
        for name in unused {
            schemas.remove(&name);
        }
    }
}

fn collect_refs(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(target)) = map.get("$ref") {
                out.insert(target.clone());
            }
            map.values().for_each(|v| collect_refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

const TAGS: [(&str, &str); 7] = [
    (
        "commands",
        r#"command-api: accept commands and report their outcome"#,
    ),
    ("auth", r#"demo sign-in"#),
    (
        "queries",
        r#"command-processor: reads of the event store (current, as it was, totals)"#,
    ),
    (
        "projections",
        r#"balance-, history- and audit-service read models, and the read models' status"#,
    ),
    ("socket", r#"socket-service"#),
    (
        "health",
        r#"every process: liveness, readiness, Prometheus metrics"#,
    ),
    (
        "reference",
        r#"command-api: this document, rendered for people at `/docs`"#,
    ),
];

const BEARER: &str = r#"`Authorization: Bearer <token>`: an HS256 JWT signed with `JWT_SECRET` (in demo mode without `JWT_SECRET`, with a random secret made when the process started). `exp` and `sub` are required (no leeway); `sub` is the user id (`^[A-Za-z0-9_-]{1,64}$`); `role: operator` grants the operator role. Tokens with another algorithm (including `none`) are refused, and so is a token whose `exp` lies more than `TOKEN_MAX_TTL_SECS` (default 86400) after its `iat`, or after now."#;

const DESCRIPTION: &str = r#"The HTTP surface of Ledgerline as built. `ledgerline all` serves every route on one listener (`HTTP_ADDR`, default 127.0.0.1:8080); in a cluster each service serves its own routes (`x-service`) plus `/healthz`, `/readyz` and `/metrics`. The compose edge (`deploy/Caddyfile`) and the Kubernetes Ingress (`k8s/base/ingress.yaml`) put every route behind one origin, by path; the compose edge answers `/metrics` with 404 (Prometheus scrapes each service directly).

Errors are RFC 9457 problem documents (`application/problem+json`, the `Problem` schema) whose `type` is `urn:ledgerline:problem:{slug}`; a 503 carries `Retry-After: 1`. An unknown path is 404 `not-found` (`No such route`) whatever the method — also when the browser app is served (`WEB_DIR`), which answers only GET and HEAD of files that exist. A known path with another method is 405 `method-not-allowed` (`This route does not take that method`). A query string is decoded strictly where a route takes parameters: an unknown parameter, or a value of the wrong type, is 400 `bad-request`; a value of the right type that is out of range is 422 `invalid-body` naming the field.

Money going in (command bodies) is major units, exact (`"10.10"` or `10.10`); money coming out (events, balances, history, summaries, status frames) is the same major units, always as a string with two fraction digits (`"10.10"`): exact in every JSON reader, where a number would become a binary float in most. Identifiers (account and user ids) match `^[A-Za-z0-9_-]{1,64}$`.

Tracing: every request is one `http.request` span; a W3C `traceparent` request header is continued, and the commands the request publishes carry the trace on over NATS. This is active only when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (otherwise there is no trace and nothing is propagated).

This document is generated from the code: every route is registered with its documentation (`aide`), and every parameter and body is the Rust type the handler reads or writes (`schemars`); `make proto` rewrites it and a test fails when the committed copy differs.

Connections and answers: nothing a client does holds a connection open. A request's head must be complete `HTTP_HEADER_TIMEOUT_SECS` (default 10) after its first byte, and a connection with no request on it is closed after `HTTP_IDLE_TIMEOUT_SECS` (default 20) — both by closing the connection, without an answer. A request body must arrive in full within `HTTP_BODY_TIMEOUT_SECS` (default 10) of its head, else 408 `body-timeout` (and the connection closes). An upgraded `/ws` socket is no longer an HTTP request: none of these apply to it. Every answer carries `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer` and `Content-Security-Policy: default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; frame-ancestors 'none'; object-src 'none'; base-uri 'none'`; every answer but the browser app's static files (`Cache-Control: no-cache`) is `Cache-Control: no-store`."#;

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    /// Run with `UPDATE_SCHEMAS=1` (`make proto`) to rewrite the file.
    #[test]
    fn the_committed_document_is_the_one_the_routes_generate() {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../proto/openapi.json");
        let generated =
            serde_json::to_string_pretty(&super::api_document().unwrap()).unwrap() + "\n";
        if std::env::var_os("UPDATE_SCHEMAS").is_some() {
            std::fs::write(&path, &generated).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == generated,
            "{} drifted from the routes; run `make proto`",
            path.display()
        );
    }
}
