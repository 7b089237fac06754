use std::convert::Infallible;
use std::pin::pin;

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use ledgerline_runtime::{HttpTimeouts, Shutdown, with_deadline};
use tokio::net::TcpStream;
use tower::ServiceExt;

use super::activity::{Activity, ReadWatch, UntilSent};

/// Serves one connection until the client closes it, it overstays a
/// timeout, or shutdown has let its last request finish.
pub(super) async fn serve_connection(
    tcp: TcpStream,
    router: Router,
    timeouts: HttpTimeouts,
    shutdown: Shutdown,
) {
    let activity = Activity::new();
    let io = TokioIo::new(ReadWatch::new(tcp, activity.clone()));
    let requests = activity.clone();
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        let busy = requests.request_started();
        let request = request.map(|body| with_deadline(Body::new(body), timeouts.body));
        let answer = router.clone().oneshot(request);
        async move {
            let response = answer.await?;
            Ok::<_, Infallible>(response.map(|body| UntilSent::new(body, busy)))
        }
    });
    let mut http = http1::Builder::new();
    // The activity watchdog owns the header and idle limits (see
    // `activity`); hyper's clock would merge them.
    http.header_read_timeout(None);
    // Upgrades hand the socket to the WebSocket's own task and end this
    // future, so no limit here applies to a socket.
    let mut connection = pin!(http.serve_connection(io, service).with_upgrades());
    tokio::select! {
        served = connection.as_mut() => {
            if let Err(error) = served {
                tracing::debug!(%error, "connection ended");
            }
            return;
        }
        lapse = activity.lapsed(timeouts) => {
            // Dropping the connection closes the socket.
            tracing::debug!(?lapse, "closing a connection that overstayed its timeout");
            return;
        }
        () = shutdown.cancelled() => {}
    }
    // Finish the request in hand, take no other: hyper closes an idle
    // connection at once; one mid-head still has its deadline.
    connection.as_mut().graceful_shutdown();
    tokio::select! {
        _ = connection.as_mut() => {}
        _ = activity.lapsed(timeouts) => {}
    }
}
