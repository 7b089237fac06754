use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use ledgerline_runtime::ApiProblem;

/// The chaos switch: answers this share of command requests with 503
/// before anything is queued, so people can watch client retries work.
#[derive(Clone, Copy)]
pub struct ChaosRate(pub f64);

pub async fn chaos(
    State(ChaosRate(rate)): State<ChaosRate>,
    request: Request,
    next: Next,
) -> Response {
    // Only commands: reading an outcome is never refused on purpose.
    if request.method() == axum::http::Method::POST && rate > 0.0 && rand::random::<f64>() < rate {
        return ApiProblem::unavailable(
            "chaos switch: this request was refused on purpose (CHAOS_FAILURE_RATE)",
        )
        .into_response();
    }
    next.run(request).await
}
