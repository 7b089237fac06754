//! What every service's routes share in the generated OpenAPI document.
//!
//! The document is generated from the routers (aide): a route registered
//! with `api_route` is documented, its parameters and bodies are the
//! schemars types the handler reads and writes, and the answers it can give
//! are declared beside it with the helpers here. `ledgerline`'s
//! `api_document` puts the services' routers together.

use aide::generate::{GenContext, in_context};
use aide::openapi::{
    Header, MediaType, Operation, ParameterSchemaOrContent, ReferenceOr, Response, SchemaObject,
    StatusCode,
};
use aide::transform::{TransformOperation, TransformResponse};
use aide::{OperationInput, OperationOutput};
use ledgerline_contracts::Problem;
use schemars::JsonSchema;
use serde_json::json;

use crate::{ApiProblem, ValidQuery};

/// A refused query string is a 400 problem, like the rest of the route's
/// refusals; its parameters are `T`'s fields.
impl<T: JsonSchema> OperationInput for ValidQuery<T> {
    fn operation_input(ctx: &mut GenContext, operation: &mut Operation) {
        <axum::extract::Query<T> as OperationInput>::operation_input(ctx, operation);
    }
}

/// Every refusal is an RFC 9457 problem document.
impl OperationOutput for ApiProblem {
    type Inner = Problem;

    fn operation_response(ctx: &mut GenContext, _: &mut Operation) -> Option<Response> {
        Some(Response {
            content: [(
                "application/problem+json".to_owned(),
                MediaType {
                    schema: Some(SchemaObject {
                        json_schema: ctx.schema.subschema_for::<Problem>(),
                        example: None,
                        external_docs: None,
                    }),
                    ..Default::default()
                },
            )]
            .into_iter()
            .collect(),
            ..Default::default()
        })
    }
}

/// The refusals routes share, each with its problem `type` and what it
/// means wherever no route says more.
#[derive(Debug, Clone, Copy)]
pub enum Refusal {
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    Conflict,
    PayloadTooLarge,
    RequestTimeout,
    UnsupportedMediaType,
    Unprocessable,
    Unavailable,
    Internal,
}

impl Refusal {
    /// Its HTTP status.
    pub fn status(self) -> u16 {
        match self {
            Refusal::BadRequest => 400,
            Refusal::Unauthorized => 401,
            Refusal::Forbidden => 403,
            Refusal::NotFound => 404,
            Refusal::RequestTimeout => 408,
            Refusal::Conflict => 409,
            Refusal::PayloadTooLarge => 413,
            Refusal::UnsupportedMediaType => 415,
            Refusal::Unprocessable => 422,
            Refusal::Internal => 500,
            Refusal::Unavailable => 503,
        }
    }

    fn default_description(self) -> &'static str {
        match self {
            Refusal::BadRequest => {
                "The request could not be read. Problem `type`: `urn:ledgerline:problem:bad-request`."
            }
            Refusal::Unauthorized => {
                "Missing, malformed, expired, foreign or too long-lived bearer token. Problem `type`: `urn:ledgerline:problem:unauthorized`; `detail` is one of `missing bearer token`, `expected 'Authorization: Bearer <token>'`, `the token has expired`, `the token is valid for longer than this server allows`, `the token is not valid` (never the token library's own error)."
            }
            Refusal::Forbidden => {
                "The caller may not see this, or lacks the operator role. Problem `type`: `urn:ledgerline:problem:forbidden`."
            }
            Refusal::NotFound => {
                "Not found. Problem `type`: `urn:ledgerline:problem:not-found`; `detail` says what."
            }
            Refusal::Conflict => {
                "The request conflicts with the state it meets. The problem `type` and `detail` name the conflict."
            }
            Refusal::PayloadTooLarge => {
                "The body is over `BODY_LIMIT` bytes (default 16384). Problem `type`: `urn:ledgerline:problem:body-too-large`."
            }
            Refusal::RequestTimeout => {
                "The body did not arrive in full within `HTTP_BODY_TIMEOUT_SECS` (default 10) of the request's head; the connection is closed after this answer. Problem `type`: `urn:ledgerline:problem:body-timeout`."
            }
            Refusal::UnsupportedMediaType => {
                "`Content-Type` is missing or not `application/json`. Problem `type`: `urn:ledgerline:problem:unsupported-media-type`."
            }
            Refusal::Unprocessable => {
                "Well-formed but not valid; `errors` names each field that was wrong. Problem `type`: `urn:ledgerline:problem:invalid-body`."
            }
            Refusal::Unavailable => {
                "A dependency is unavailable; retry later. Problem `type`: `urn:ledgerline:problem:unavailable`."
            }
            Refusal::Internal => {
                "A failure on the server's side; details are only logged. Problem `type`: `urn:ledgerline:problem:internal`."
            }
        }
    }
}

/// Declaring an operation's refusals and where it is served, in a chain.
pub trait OperationDocs: Sized {
    /// Adds refusals with their shared descriptions.
    fn refuses(self, refusals: &[Refusal]) -> Self;
    /// Adds a refusal with what it means on this route.
    fn refuses_saying(self, refusal: Refusal, description: &str) -> Self;
    /// Names the service that serves the operation in a split deployment.
    fn served_by(self, service: &str) -> Self;
}

impl OperationDocs for TransformOperation<'_> {
    fn refuses(self, refusals: &[Refusal]) -> Self {
        refusals
            .iter()
            .fold(self, |op, r| op.refuses_saying(*r, r.default_description()))
    }

    fn refuses_saying(mut self, refusal: Refusal, description: &str) -> Self {
        let operation = self.inner_mut();
        let Some(mut response) =
            in_context(|ctx| <ApiProblem as OperationOutput>::operation_response(ctx, operation))
        else {
            return self;
        };
        response.description = description.to_owned();
        if let Refusal::Unavailable = refusal {
            response.headers.insert(
                "Retry-After".to_owned(),
                header(
                    "Seconds to wait before retrying; always `1`.",
                    json!({"type": "integer", "const": 1}),
                ),
            );
        }
        operation
            .responses
            .get_or_insert_with(Default::default)
            .responses
            .insert(
                StatusCode::Code(refusal.status()),
                ReferenceOr::Item(response),
            );
        self
    }

    fn served_by(mut self, service: &str) -> Self {
        self.inner_mut()
            .extensions
            .insert("x-service".to_owned(), json!(service));
        self
    }
}

/// A response header, described, with its schema.
pub fn header(description: &str, schema: serde_json::Value) -> ReferenceOr<Header> {
    ReferenceOr::Item(Header {
        description: Some(description.to_owned()),
        style: Default::default(),
        required: false,
        deprecated: None,
        format: ParameterSchemaOrContent::Schema(SchemaObject {
            json_schema: schemars::Schema::try_from(schema).unwrap_or_default(),
            example: None,
            external_docs: None,
        }),
        example: None,
        examples: Default::default(),
        extensions: Default::default(),
    })
}

/// Adds the RFC 8288 `Link: <…>; rel="next"` header a paged answer carries
/// while a next page exists.
pub fn with_next_link<'t, T>(
    mut r: TransformResponse<'t, T>,
    example: &str,
) -> TransformResponse<'t, T> {
    r.inner().headers.insert(
        "Link".to_owned(),
        header(
            "RFC 8288: the next page, `<…>; rel=\"next\"`. Absent on the last page.",
            json!({"type": "string", "examples": [example]}),
        ),
    );
    r
}
