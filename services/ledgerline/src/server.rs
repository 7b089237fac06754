//! The HTTP server: the router on hyper's HTTP/1.1 connections (as
//! `axum::serve` runs it), plus what `axum::serve` lacks — nothing a
//! client does can hold a connection open (issue 11): a request's head
//! and body must arrive in time, and a connection with no request on it
//! is closed. Upgraded WebSockets are no longer HTTP and are left alone.

mod activity;
mod connection;

use std::time::Duration;

use axum::Router;
use axum::serve::Listener;
use ledgerline_runtime::{HttpTimeouts, Shutdown};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// Small writes go out at once. With Nagle's algorithm a socket's status
/// frame, written while the event frame before it was not yet
/// acknowledged, waited for the client's delayed ACK — up to 40 ms on
/// Linux, which was the p99 of POST → status at any load, even 300/s.
fn no_delay(tcp: &TcpStream) {
    if let Err(error) = tcp.set_nodelay(true) {
        tracing::debug!(%error, "cannot set TCP_NODELAY on a connection");
    }
}

/// Serves `router` until `shutdown`, then stops accepting, lets each
/// connection finish the request in hand (at most `drain`), and returns.
pub async fn serve(
    mut listener: TcpListener,
    router: Router,
    timeouts: HttpTimeouts,
    shutdown: Shutdown,
    drain: Duration,
) {
    // Every connection task holds a receiver; `closed()` resolves once all
    // of them have ended.
    let (open_tx, open_rx) = watch::channel(());
    loop {
        // `Listener::accept` retries (after a pause) when accepting fails,
        // e.g. out of file descriptors, instead of ending the server.
        let (tcp, _peer) = tokio::select! {
            accepted = Listener::accept(&mut listener) => accepted,
            () = shutdown.cancelled() => break,
        };
        no_delay(&tcp);
        let (router, shutdown, open) = (router.clone(), shutdown.clone(), open_rx.clone());
        tokio::spawn(async move {
            connection::serve_connection(tcp, router, timeouts, shutdown).await;
            drop(open);
        });
    }
    drop(listener);
    drop(open_rx);
    if tokio::time::timeout(drain, open_tx.closed()).await.is_err() {
        tracing::warn!(
            connections = open_tx.receiver_count(),
            "HTTP requests still running after {drain:?}; closing"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn accepted_connections_send_small_writes_at_once() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap());
        let (accepted, client) = tokio::join!(listener.accept(), client);
        let ((tcp, _), _client) = (accepted.unwrap(), client.unwrap());
        assert!(!tcp.nodelay().unwrap(), "Nagle is on by default");
        no_delay(&tcp);
        assert!(tcp.nodelay().unwrap());
    }
}
