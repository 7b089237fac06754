//! `proto/openapi.json` and `proto/asyncapi.json` against the schemas and the
//! routers: every `./schemas/X.json` reference exists, the OpenAPI paths are
//! exactly the routes served, every operation documents a problem-document
//! 4xx, and the AsyncAPI document has every NATS subject and the socket, with
//! the trace context on every JetStream message.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_json::Value;

fn proto() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../proto")
}

fn load(name: &str) -> Value {
    let path = proto().join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not valid JSON: {e}", path.display()))
}

/// Every `$ref` string anywhere in `value`, with the JSON pointer where it sits.
fn refs(value: &Value, at: &str, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                if let ("$ref", Some(target)) = (key.as_str(), child.as_str()) {
                    out.push((at.to_owned(), target.to_owned()));
                }
                refs(
                    child,
                    &format!("{at}/{}", key.replace('~', "~0").replace('/', "~1")),
                    out,
                );
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                refs(child, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

/// Follows a local `#/…` reference (as many times as it takes).
fn resolve<'a>(doc: &'a Value, mut value: &'a Value) -> &'a Value {
    for _ in 0..16 {
        match value
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix('#'))
        {
            Some(pointer) => {
                value = doc
                    .pointer(pointer)
                    .unwrap_or_else(|| panic!("dangling reference #{pointer}"))
            }
            None => return value,
        }
    }
    panic!("reference loop")
}

/// The problem document's schema in the (generated, self-contained) OpenAPI
/// document.
const PROBLEM: &str = "#/components/schemas/Problem";

fn check_schema_refs(name: &str) {
    let doc = load(name);
    let mut found = Vec::new();
    refs(&doc, "", &mut found);
    let mut schema_refs = 0;
    for (at, target) in &found {
        if let Some(local) = target.strip_prefix('#') {
            assert!(
                doc.pointer(local).is_some(),
                "{name}{at}: dangling reference {target}"
            );
            continue;
        }
        let file = target.strip_prefix("./schemas/").unwrap_or_else(|| {
            panic!("{name}{at}: reference {target} is neither local nor ./schemas/X.json")
        });
        assert!(
            file.ends_with(".json") && !file.contains('/') && !file.contains('#'),
            "{name}{at}: {target} is not ./schemas/X.json"
        );
        let path = proto().join("schemas").join(file);
        assert!(
            path.is_file(),
            "{name}{at}: {target} does not exist ({})",
            path.display()
        );
        schema_refs += 1;
    }
    assert!(schema_refs > 0, "{name} references no schema file");
}

#[test]
fn every_schema_reference_names_a_file_in_proto_schemas() {
    check_schema_refs("asyncapi.json");
}

/// The routes the routers serve, as the document names them. Each command
/// name is a POST route of its own beside `GET /commands/{commandId}`.
const ROUTES: [&str; 23] = [
    // services/command-api/src/routes.rs
    "/commands/open-account",
    "/commands/deposit",
    "/commands/withdraw",
    "/commands/transfer",
    "/commands/close-account",
    "/commands/{commandId}",
    // libs/auth/src/demo_login.rs (when DEMO_LOGIN=true)
    "/auth/demo-login",
    // services/command-processor/src/routes.rs (the router's `{id}`)
    "/queries/account/{accountId}",
    "/events/account/{accountId}",
    "/events/stream",
    "/stats",
    // services/balance-service/src/routes.rs (read models and their status)
    "/projections/AccountBalances",
    "/projections/DailySummary",
    "/projections",
    "/projections/AuditLog",
    "/projections/rebuild",
    // services/history-service, audit-service
    "/projections/TransactionHistory",
    "/audit",
    // services/socket-service/src/upgrade.rs
    "/ws",
    // services/command-api/src/api_document.rs
    "/openapi.json",
    // libs/runtime/src/health.rs
    "/healthz",
    "/readyz",
    "/metrics",
];

/// Routes that never answer a 4xx, so need no problem response.
const NO_4XX: [&str; 4] = ["/healthz", "/readyz", "/metrics", "/openapi.json"];

/// The NATS subjects (libs/bus/src/subjects.rs and the `Rpc` names, default
/// prefix) and the socket.
const CHANNELS: [&str; 14] = [
    // JetStream streams
    "bank.cmd.{partition}.{accountId}",
    "bank.evt.{accountId}",
    "bank.status.{userId}",
    // request–reply between processes (libs/bus/src/rpc.rs)
    "bank.rpc.accept",
    "bank.rpc.store.account-events",
    "bank.rpc.store.events",
    "bank.rpc.store.head",
    "bank.rpc.store.accounts-of",
    "bank.rpc.store.event-at",
    "bank.rpc.store.outcomes",
    "bank.rpc.store.marked-told",
    "bank.rpc.projections.status",
    "bank.rpc.projections.rebuild.{name}",
    // services/socket-service/src/upgrade.rs
    "/ws",
];

/// The messages published to JetStream (`Bus::publish_json`), which carry
/// `Nats-Msg-Id` and the W3C `traceparent` (libs/telemetry/src/propagation.rs).
const JETSTREAM_MESSAGES: [&str; 3] = ["CommandMessage", "EventEnvelope", "StatusMessage"];

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// What `GET /openapi.json` serves stands alone: every reference is local
/// and resolves, so a saved copy works as well as the URL.
#[test]
fn the_served_document_is_self_contained() {
    let doc = ledgerline_contracts::api_document::openapi().expect("parses");
    let mut found = Vec::new();
    refs(&doc, "", &mut found);
    assert!(found.len() > 100, "only {} references", found.len());
    for (at, target) in &found {
        let pointer = target
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("served document{at}: {target} is not local"));
        assert!(
            doc.pointer(pointer).is_some(),
            "served document{at}: dangling reference {target}"
        );
    }
}

#[test]
fn openapi_paths_are_exactly_the_routes_served() {
    let doc = load("openapi.json");
    assert_eq!(
        doc["openapi"].as_str().map(|v| v.starts_with("3.1.")),
        Some(true),
        "not OpenAPI 3.1"
    );
    let paths: BTreeSet<&str> = doc["paths"]
        .as_object()
        .expect("paths")
        .keys()
        .map(String::as_str)
        .collect();
    let expected: BTreeSet<&str> = ROUTES.into_iter().collect();
    assert_eq!(
        paths, expected,
        "openapi.json paths differ from the routes served"
    );
}

#[test]
fn every_operation_has_a_4xx_problem_response() {
    let doc = load("openapi.json");
    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().expect("paths") {
        let item = resolve(&doc, item);
        for method in METHODS {
            let Some(operation) = item.get(method) else {
                continue;
            };
            operations += 1;
            let responses = operation["responses"]
                .as_object()
                .unwrap_or_else(|| panic!("{method} {path}: no responses"));
            assert!(!responses.is_empty(), "{method} {path}: no responses");
            if NO_4XX.contains(&path.as_str()) {
                continue;
            }
            let problem_4xx = responses
                .iter()
                .filter(|(code, _)| code.starts_with('4'))
                .any(|(_, response)| {
                    let response = resolve(&doc, response);
                    response["content"]["application/problem+json"]["schema"]["$ref"].as_str()
                        == Some(PROBLEM)
                });
            assert!(
                problem_4xx,
                "{method} {path}: no 4xx response with an application/problem+json {PROBLEM} body"
            );
        }
    }
    assert!(operations >= ROUTES.len(), "only {operations} operations");
}

#[test]
fn asyncapi_has_every_subject_and_the_socket() {
    let doc = load("asyncapi.json");
    assert_eq!(
        doc["asyncapi"].as_str().map(|v| v.starts_with("2.6.")),
        Some(true),
        "not AsyncAPI 2.6"
    );
    let channels = doc["channels"].as_object().expect("channels");
    for channel in CHANNELS {
        let item = channels
            .get(channel)
            .unwrap_or_else(|| panic!("asyncapi.json has no channel {channel}"));
        assert!(
            item.get("publish").is_some() || item.get("subscribe").is_some(),
            "channel {channel} has no operation"
        );
    }
    let names: BTreeSet<&str> = channels.keys().map(String::as_str).collect();
    let expected: BTreeSet<&str> = CHANNELS.into_iter().collect();
    assert_eq!(
        names, expected,
        "asyncapi.json channels differ from the subjects used"
    );
    // Every `{parameter}` of a channel name is described.
    for (channel, item) in channels {
        for name in channel
            .split('{')
            .skip(1)
            .filter_map(|rest| rest.split_once('}'))
            .map(|(name, _)| name)
        {
            assert!(
                item["parameters"].get(name).is_some(),
                "channel {channel} does not describe {{{name}}}"
            );
        }
    }
}

#[test]
fn every_jetstream_message_documents_its_headers() {
    let doc = load("asyncapi.json");
    for name in JETSTREAM_MESSAGES {
        let headers = &doc["components"]["messages"][name]["headers"]["properties"];
        for header in ["Nats-Msg-Id", "traceparent"] {
            assert!(
                headers.get(header).is_some(),
                "message {name} does not document the {header} header"
            );
        }
    }
}
