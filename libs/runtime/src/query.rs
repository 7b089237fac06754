use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::ApiProblem;

/// `Query<T>` whose refusal is a problem document, not plain text.
/// Declare `T` with `deny_unknown_fields` so typos are refused too.
pub struct ValidQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ValidQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiProblem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(q)| ValidQuery(q))
            .map_err(|e| {
                ApiProblem::bad_request(format!("invalid query string: {}", e.body_text()))
            })
    }
}
