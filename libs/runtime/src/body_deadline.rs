use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use http_body::{Frame, SizeHint};
use tokio::time::Sleep;

/// The client did not send the whole body in time.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the request body did not arrive within {0:?}")]
pub struct BodyTimedOut(pub Duration);

/// `body`, which must arrive in full within `within` from now, or its
/// reader gets [`BodyTimedOut`] (a 408 from [`read_json_body`](crate::read_json_body)).
///
/// A deadline for the whole body, not between chunks (as tower-http's
/// `RequestBodyTimeout` has): one byte every few seconds would otherwise
/// hold a request open for hours within a 16 KiB limit.
pub fn with_deadline(body: Body, within: Duration) -> Body {
    if body.is_end_stream() {
        // No body (a GET, `Content-Length: 0`): nothing to wait for.
        return body;
    }
    Body::new(DeadlineBody {
        body,
        deadline: Box::pin(tokio::time::sleep(within)),
        within,
    })
}

struct DeadlineBody {
    body: Body,
    deadline: Pin<Box<Sleep>>,
    within: Duration,
}

impl HttpBody for DeadlineBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        // What has arrived is handed on even at the deadline.
        if let Poll::Ready(frame) = Pin::new(&mut self.body).poll_frame(cx) {
            return Poll::Ready(frame);
        }
        match self.deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(axum::Error::new(BodyTimedOut(self.within))))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use axum::body::to_bytes;
    use futures::stream;

    use super::*;

    #[tokio::test]
    async fn a_body_that_stalls_ends_in_body_timed_out() {
        let stalled = Body::from_stream(stream::pending::<Result<Bytes, std::io::Error>>());
        let error = to_bytes(with_deadline(stalled, Duration::from_millis(50)), 1024)
            .await
            .err()
            .map(|e| crate::error_chain::caused_by::<BodyTimedOut>(&e).is_some());
        assert_eq!(error, Some(true));
    }

    #[tokio::test]
    async fn a_body_in_time_is_read_whole() {
        let chunks = stream::iter([Ok::<_, std::io::Error>(Bytes::from("{}"))]);
        let body = with_deadline(Body::from_stream(chunks), Duration::from_secs(2));
        assert_eq!(to_bytes(body, 1024).await.ok(), Some(Bytes::from("{}")));
    }
}
