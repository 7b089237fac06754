//! The writing half of a socket, where every write has a deadline.
//!
//! A client that stops reading fills its TCP window, then the server's
//! send buffer, and then a write waits for ever: the connection, its task
//! and megabytes of kernel buffers stay held by a client that is gone or
//! hostile. So a write that does not finish within the timeout ends the
//! connection — the socket is dropped, which ends the TCP connection — and
//! a close that cannot be written in time is not waited for either.

use std::time::Duration;

use axum::extract::ws::{Message, WebSocket};
use futures::SinkExt;
use futures::stream::SplitSink;
use tokio::time::error::Elapsed;

use crate::closing::CloseReason;

/// The socket cannot take more: it is broken, or the client did not take
/// a frame within the write timeout. Either way the connection is over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gone;

pub struct Outbound {
    sink: SplitSink<WebSocket, Message>,
    timeout: Duration,
}

impl Outbound {
    pub fn new(sink: SplitSink<WebSocket, Message>, timeout: Duration) -> Self {
        Self { sink, timeout }
    }

    /// Writes and flushes one message, within the write timeout.
    pub async fn send(&mut self, message: Message) -> Result<(), Gone> {
        self.send_all(std::iter::once(message)).await
    }

    /// Writes the messages and flushes once, all within the write timeout:
    /// small frames share a write (tungstenite writes out early only what
    /// outgrows its write buffer).
    pub async fn send_all(
        &mut self,
        messages: impl IntoIterator<Item = Message> + Send,
    ) -> Result<(), Gone> {
        let sink = &mut self.sink;
        let written = tokio::time::timeout(self.timeout, async move {
            for message in messages {
                sink.feed(message).await?;
            }
            sink.flush().await
        })
        .await;
        self.outcome(written)
    }

    /// Writes what tungstenite queued by itself (a pong, the reply to the
    /// client's close), within the write timeout.
    pub async fn flush(&mut self) -> Result<(), Gone> {
        let written = tokio::time::timeout(self.timeout, self.sink.flush()).await;
        self.outcome(written)
    }

    /// Says why (an `error` frame, when the reason has one), then closes.
    /// What cannot be written in time is given up: the caller drops the
    /// socket either way.
    ///
    /// Both frames go out in one write. Dropping a socket with unread input
    /// (the rest of a too-big frame) resets the connection, and a reset
    /// discards a second small segment the kernel was still holding back
    /// (Nagle) — the client would get the reason but not the close.
    pub async fn close(&mut self, reason: CloseReason) {
        let sink = &mut self.sink;
        let written = tokio::time::timeout(self.timeout, async move {
            if let Some(frame) = reason.error_frame() {
                sink.feed(frame).await?;
            }
            sink.feed(reason.close_frame()).await?;
            sink.flush().await
        })
        .await;
        let _ = self.outcome(written);
    }

    fn outcome(&self, written: Result<Result<(), axum::Error>, Elapsed>) -> Result<(), Gone> {
        match written {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => {
                tracing::debug!(%error, "socket write failed");
                Err(Gone)
            }
            Err(_) => {
                metrics::counter!("ledgerline_socket_write_timeouts_total").increment(1);
                tracing::info!(timeout = ?self.timeout, "socket write timed out; dropping the connection");
                Err(Gone)
            }
        }
    }
}
