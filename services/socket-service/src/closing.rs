//! Why the server ends a socket, and how it says so: an `error` frame
//! naming the reason (when there is one a client can act on), then a close
//! frame whose code a client can branch on without parsing text.

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, close_code};
use tungstenite::error::{CapacityError, Error as WsError};

use crate::error_frames::error_frame;

/// Largest message (and frame) a client may send. Client frames are small
/// JSON objects; a bound keeps one socket from making the server buffer
/// megabytes before it can refuse them.
pub const MAX_CLIENT_MESSAGE: usize = 64 * 1024;

/// Close code for a socket whose bearer token expired (4000–4999 is the
/// range RFC 6455 leaves to applications).
pub const TOKEN_EXPIRED: u16 = 4001;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    ShuttingDown,
    /// The connection's queue was full: it fell too far behind.
    SlowConsumer,
    /// The token the socket was opened (or last refreshed) with expired.
    TokenExpired,
    /// A text frame that is not UTF-8.
    InvalidUtf8,
    /// A frame or message over [`MAX_CLIENT_MESSAGE`].
    TooBig,
}

impl CloseReason {
    /// The `error` frame sent before the close, if any.
    pub fn error_frame(self) -> Option<Message> {
        let (code, message) = match self {
            Self::ShuttingDown => return None,
            Self::SlowConsumer => (
                "SLOW_CONSUMER",
                "too many frames waiting for this connection; reconnect and resume",
            ),
            Self::TokenExpired => (
                "TOKEN_EXPIRED",
                "the token expired; reconnect with a new token (send a refresh frame before expiry to stay connected)",
            ),
            Self::InvalidUtf8 => ("INVALID_FRAME", "text frames must be valid UTF-8"),
            Self::TooBig => (
                "INVALID_FRAME",
                "a client frame may be at most 64 KiB; the socket is closed",
            ),
        };
        Some(error_frame(code, message))
    }

    pub fn close_frame(self) -> Message {
        let (code, reason) = match self {
            Self::ShuttingDown => (close_code::AWAY, "server shutting down; reconnect"),
            Self::SlowConsumer => (close_code::POLICY, "slow consumer; reconnect"),
            Self::TokenExpired => (TOKEN_EXPIRED, "token expired"),
            Self::InvalidUtf8 => (close_code::INVALID, "invalid UTF-8"),
            Self::TooBig => (close_code::SIZE, "message too big"),
        };
        Message::Close(Some(CloseFrame {
            code,
            reason: Utf8Bytes::from_static(reason),
        }))
    }

    /// The close a failed read calls for. `None`: the connection itself is
    /// broken (reset, protocol violation), nothing more can be said on it.
    ///
    /// tungstenite reports these two as errors of the read while the
    /// connection stays writable, so the client can still be told why.
    pub fn for_read_error(error: axum::Error) -> Option<Self> {
        let error = error.into_inner();
        let reason = match error.downcast_ref::<WsError>() {
            Some(WsError::Utf8(_)) => Some(Self::InvalidUtf8),
            Some(WsError::Capacity(CapacityError::MessageTooLong { .. })) => Some(Self::TooBig),
            _ => None,
        };
        tracing::debug!(%error, ?reason, "socket read failed");
        reason
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(message: Message) -> u16 {
        match message {
            Message::Close(Some(frame)) => frame.code,
            other => panic!("not a close: {other:?}"),
        }
    }

    #[test]
    fn each_reason_has_its_close_code() {
        assert_eq!(code(CloseReason::ShuttingDown.close_frame()), 1001);
        assert_eq!(code(CloseReason::SlowConsumer.close_frame()), 1008);
        assert_eq!(code(CloseReason::TokenExpired.close_frame()), 4001);
        assert_eq!(code(CloseReason::InvalidUtf8.close_frame()), 1007);
        assert_eq!(code(CloseReason::TooBig.close_frame()), 1009);
    }

    #[test]
    fn read_errors_map_to_invalid_payload_and_too_big() {
        let utf8 = axum::Error::new(WsError::Utf8("bad".into()));
        assert_eq!(
            CloseReason::for_read_error(utf8),
            Some(CloseReason::InvalidUtf8)
        );
        let big = axum::Error::new(WsError::Capacity(CapacityError::MessageTooLong {
            size: 70_000,
            max_size: MAX_CLIENT_MESSAGE,
        }));
        assert_eq!(CloseReason::for_read_error(big), Some(CloseReason::TooBig));
        let reset = axum::Error::new(WsError::ConnectionClosed);
        assert_eq!(CloseReason::for_read_error(reset), None);
    }
}
