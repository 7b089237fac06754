//! Every `error` frame the server sends is built here: one answering a
//! client frame (its `requestId`, its fields) and one of the server's own
//! (a reason to close, a replay that could not finish). Messages pass
//! [`for_client`] on the way out, so no internal name reaches a client.

use axum::extract::ws::{Message, Utf8Bytes};
use ledgerline_contracts::{ErrorFrame, FieldError};

use crate::public_text::for_client;

/// A JSON text message.
pub fn json(value: &impl serde::Serialize) -> Message {
    Message::Text(Utf8Bytes::from(
        serde_json::to_string(value).unwrap_or_default(),
    ))
}

/// The `error` frame answering a client frame.
pub fn error(
    request_id: Option<String>,
    code: &str,
    message: impl Into<String>,
    errors: Vec<FieldError>,
) -> String {
    let errors = errors
        .into_iter()
        .map(|e| FieldError::new(&e.field, for_client(&e.message)))
        .collect();
    let frame = ErrorFrame {
        frame_type: Default::default(),
        request_id,
        code: code.to_owned(),
        message: for_client(&message.into()),
        errors,
    };
    serde_json::to_string(&frame).unwrap_or_default()
}

/// A server `error` frame (no `requestId`: it answers no client frame).
pub fn error_frame(code: &str, message: impl Into<String>) -> Message {
    json(&ErrorFrame {
        frame_type: Default::default(),
        request_id: None,
        code: code.to_owned(),
        message: message.into(),
        errors: vec![],
    })
}
