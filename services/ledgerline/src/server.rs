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
use tokio::net::TcpListener;
use tokio::sync::watch;

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
