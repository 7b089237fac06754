//! Getting a [`Caller`] out of a request: the bearer token of its
//! `Authorization` header, verified — a handler that takes a `Caller` runs
//! only for a valid token; anything else is a 401 problem document.

use axum::extract::{FromRef, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use ledgerline_runtime::ApiProblem;

use crate::{AuthError, Caller, TokenKeys};

impl From<AuthError> for ApiProblem {
    fn from(error: AuthError) -> Self {
        match error {
            AuthError::Signing(e) => ApiProblem::internal(e),
            other => ApiProblem::unauthorized(other.to_string()),
        }
    }
}

/// The token of an `Authorization: Bearer …` header.
pub fn bearer_token(parts: &Parts) -> Result<&str, AuthError> {
    let value = parts.headers.get(AUTHORIZATION).ok_or(AuthError::Missing)?;
    let value = value.to_str().map_err(|_| AuthError::Malformed)?;
    let (scheme, token) = value.split_once(' ').ok_or(AuthError::Malformed)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(AuthError::Malformed);
    }
    Ok(token.trim())
}

impl<S> FromRequestParts<S> for Caller
where
    TokenKeys: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiProblem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let keys = TokenKeys::from_ref(state);
        Ok(keys.verify(bearer_token(parts)?)?)
    }
}

/// A route that takes a `Caller` needs a bearer token: the document says
/// so for each of them.
impl aide::OperationInput for Caller {
    fn operation_input(
        _: &mut aide::generate::GenContext,
        operation: &mut aide::openapi::Operation,
    ) {
        operation.security.push(
            [("bearerAuth".to_owned(), Vec::new())]
                .into_iter()
                .collect(),
        );
    }
}
