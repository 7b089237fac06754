//! What a connection is doing, as far as its timeouts care, and the
//! deadline that follows from it.
//!
//! hyper has one clock, `header_read_timeout`, started when it begins
//! waiting for a head — so on a kept-alive connection it is also the idle
//! limit, and a header timeout short enough to stop a slowloris would close
//! browsers' and proxies' idle connections as fast. Watching the bytes and
//! the requests ourselves keeps the two apart (as Go's `ReadHeaderTimeout`
//! and `IdleTimeout` are).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes, HttpBody};
use http_body::{Frame, SizeHint};
use ledgerline_runtime::HttpTimeouts;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::watch;
use tokio::time::Instant;

#[derive(Debug, Clone, Copy)]
enum Phase {
    /// No request on the connection, and no byte of the next one.
    Idle { since: Instant },
    /// The first bytes of a request's head have come; the rest must follow.
    ReadingHead { since: Instant },
    /// Requests being answered (their bodies have their own deadline).
    Busy { requests: usize },
}

/// Which limit a connection overstayed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Lapse {
    Idle,
    Header,
}

/// One connection's phase, updated by its reads and its requests.
#[derive(Clone)]
pub(super) struct Activity(watch::Sender<Phase>);

impl Activity {
    pub(super) fn new() -> Self {
        Self(watch::Sender::new(Phase::Idle {
            since: Instant::now(),
        }))
    }

    fn bytes_arrived(&self) {
        self.0.send_if_modified(|phase| match phase {
            Phase::Idle { .. } => {
                *phase = Phase::ReadingHead {
                    since: Instant::now(),
                };
                true
            }
            _ => false,
        });
    }

    /// A request's head is complete; the connection is busy until the
    /// returned guard is dropped (when its answer has been sent).
    pub(super) fn request_started(&self) -> Busy {
        self.0.send_modify(|phase| {
            let requests = match *phase {
                Phase::Busy { requests } => requests + 1,
                _ => 1,
            };
            *phase = Phase::Busy { requests };
        });
        Busy(self.clone())
    }

    /// Resolves when the connection has been idle, or reading one head,
    /// for longer than allowed; never while a request is being answered.
    pub(super) async fn lapsed(&self, timeouts: HttpTimeouts) -> Lapse {
        let mut phase = self.0.subscribe();
        loop {
            let limit = match *phase.borrow_and_update() {
                Phase::Idle { since } => Some((since + timeouts.idle, Lapse::Idle)),
                Phase::ReadingHead { since } => Some((since + timeouts.header, Lapse::Header)),
                Phase::Busy { .. } => None,
            };
            let deadline = async {
                match limit {
                    Some((at, lapse)) => {
                        tokio::time::sleep_until(at).await;
                        lapse
                    }
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                lapse = deadline => return lapse,
                changed = phase.changed() => {
                    // `self` holds the sender, so the channel cannot close.
                    if changed.is_err() {
                        return std::future::pending().await;
                    }
                }
            }
        }
    }
}

/// A request in progress; dropping it ends it.
pub(super) struct Busy(Activity);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.0.send_modify(|phase| {
            if let Phase::Busy { requests } = *phase {
                *phase = match requests {
                    0 | 1 => Phase::Idle {
                        since: Instant::now(),
                    },
                    more => Phase::Busy { requests: more - 1 },
                };
            }
        });
    }
}

/// The connection's socket, telling the activity when bytes arrive.
pub(super) struct ReadWatch<T> {
    io: T,
    activity: Activity,
}

impl<T> ReadWatch<T> {
    pub(super) fn new(io: T, activity: Activity) -> Self {
        Self { io, activity }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for ReadWatch<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.io).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.bytes_arrived();
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for ReadWatch<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// An answer's body, holding its request's [`Busy`] until hyper has sent
/// it (and drops it).
pub(super) struct UntilSent {
    body: Body,
    _busy: Busy,
}

impl UntilSent {
    pub(super) fn new(body: Body, busy: Busy) -> Self {
        Self { body, _busy: busy }
    }
}

impl HttpBody for UntilSent {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
