//! What every service's routes share in the generated OpenAPI document.
//!
//! The document is generated from the routers (aide): a route registered
//! with `api_route` is documented, its parameters and bodies are the
//! schemars types the handler reads and writes, and the answers it can give
//! are declared beside it with the helpers here. `ledgerline`'s
//! `api_document` puts the services' routers together.

use aide::generate::GenContext;
use aide::openapi::{
    Header, MediaType, Operation, ParameterSchemaOrContent, ReferenceOr, Response, SchemaObject,
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
    /// The refusals of a route that reads a JSON body before it does its
    /// work: the read's own (400, 408, 413, 415, 422) and a missing token.
    pub const BODY: [Refusal; 6] = [
        Refusal::BadRequest,
        Refusal::Unauthorized,
        Refusal::RequestTimeout,
        Refusal::PayloadTooLarge,
        Refusal::UnsupportedMediaType,
        Refusal::Unprocessable,
    ];

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
                "The request conflicts with the state it meets. Problem `type`: `urn:ledgerline:problem:{slug}`."
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

    fn refuses_saying(self, refusal: Refusal, description: &str) -> Self {
        fn described<'a>(
            r: TransformResponse<'a, Problem>,
            description: &str,
            retry_after: bool,
        ) -> TransformResponse<'a, Problem> {
            let mut r = r.description(description);
            if retry_after {
                r.inner().headers.insert(
                    "Retry-After".to_owned(),
                    header(
                        "Seconds to wait before retrying; always `1`.",
                        json!({"type": "integer", "const": 1}),
                    ),
                );
            }
            r
        }
        let d = description;
        match refusal {
            Refusal::BadRequest => {
                self.response_with::<400, ApiProblem, _>(|r| described(r, d, false))
            }
            Refusal::Unauthorized => {
                self.response_with::<401, ApiProblem, _>(|r| described(r, d, false))
            }
            Refusal::Forbidden => {
                self.response_with::<403, ApiProblem, _>(|r| described(r, d, false))
            }
            Refusal::NotFound => {
                self.response_with::<404, ApiProblem, _>(|r| described(r, d, false))
            }
            Refusal::RequestTimeout => {
                self.response_with::<408, ApiProblem, _>(|r| described(r, d, false))
            }
            Refusal::Conflict => {
                self.response_with::<409, ApiProblem, _>(|r| described(r, d, false))
            }
            Refusal::PayloadTooLarge => {
                self.response_with::<413, ApiProblem, _>(|r| described(r, d, false))
            }
            Refusal::UnsupportedMediaType => {
                self.response_with::<415, ApiProblem, _>(|r| described(r, d, false))
            }
            Refusal::Unprocessable => {
                self.response_with::<422, ApiProblem, _>(|r| described(r, d, false))
            }
            Refusal::Internal => {
                self.response_with::<500, ApiProblem, _>(|r| described(r, d, false))
            }
            Refusal::Unavailable => {
                self.response_with::<503, ApiProblem, _>(|r| described(r, d, true))
            }
        }
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
