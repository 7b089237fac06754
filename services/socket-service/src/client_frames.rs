use ledgerline_auth::TokenKeys;
use ledgerline_bus::Acceptance;
use ledgerline_contracts::{
    AcceptRequest, AcceptedFrame, ClientFrame, DecodeError, FieldError, HeartbeatFrame,
    decode_command_request,
};
use ledgerline_domain::{Amount, CommandKind, UserId};
use time::OffsetDateTime;

use crate::answer::Answer;
use crate::error_frames::error;
use crate::refresh::refresh;

/// What a client frame is answered with: who the socket is for and what
/// the answers need.
pub struct Context<'a> {
    pub acceptance: &'a dyn Acceptance,
    pub keys: &'a TokenKeys,
    pub user: &'a UserId,
    pub max_amount: Amount,
}

/// Answers one text frame from a client: `ping` gets a heartbeat, a
/// `command` is validated by the same code as HTTP bodies and accepted by
/// the command API, a `refresh` may move the socket's expiry, anything else
/// gets an error frame. Never fails.
pub async fn answer(context: &Context<'_>, text: &str) -> Answer {
    let frame: ClientFrame = match serde_json::from_str(text) {
        Ok(f) => f,
        Err(e) => {
            return Answer::text(error(
                None,
                "INVALID_FRAME",
                format!("not a valid frame: {e}"),
                vec![],
            ));
        }
    };
    let request_id = frame.request_id.clone();
    if request_id.as_ref().is_some_and(|r| r.len() > 128) {
        return Answer::text(error(
            None,
            "INVALID_FRAME",
            "requestId must be at most 128 characters",
            vec![],
        ));
    }
    match frame.frame_type.as_str() {
        "ping" => Answer::text(
            serde_json::to_string(&HeartbeatFrame {
                frame_type: Default::default(),
                timestamp: OffsetDateTime::now_utc(),
            })
            .unwrap_or_default(),
        ),
        "command" => Answer::text(command(context, frame).await),
        "refresh" => refresh(
            context.keys,
            context.user,
            request_id,
            frame.token.as_deref(),
        ),
        // The client's own word, quoted back (shortened).
        other => Answer::text(error(
            request_id,
            "INVALID_FRAME",
            format!(
                "unknown frame type '{}'; expected ping, command or refresh",
                other.chars().take(64).collect::<String>()
            ),
            vec![],
        )),
    }
}

async fn command(context: &Context<'_>, frame: ClientFrame) -> String {
    let Context {
        acceptance,
        user,
        max_amount,
        ..
    } = *context;
    let request_id = frame.request_id;
    let Some(kind) = frame.command.as_deref().and_then(CommandKind::from_slug) else {
        let field = FieldError::new(
            "command",
            "must be open-account, deposit, withdraw or close-account",
        );
        return error(
            request_id,
            "INVALID_COMMAND",
            "unknown command",
            vec![field],
        );
    };
    let Some(body) = frame.body else {
        return error(
            request_id,
            "INVALID_COMMAND",
            "a command frame needs a body",
            vec![FieldError::new("body", "required")],
        );
    };
    // Refuse what is invalid here, at once; the command API checks again.
    if let Err(e) = decode_command_request(kind, body.get().as_bytes(), max_amount) {
        let errors = match e {
            DecodeError::Malformed(m) => vec![FieldError::new("body", m)],
            DecodeError::Invalid(errors) => errors,
        };
        return error(
            request_id,
            "INVALID_COMMAND",
            "the command is not valid",
            errors,
        );
    }
    let request = AcceptRequest {
        user_id: user.clone(),
        kind: kind.slug().to_owned(),
        idempotency_key: None,
        body: body.get().to_owned(),
    };
    match acceptance.accept(&request).await {
        Ok(accepted) => serde_json::to_string(&AcceptedFrame {
            frame_type: Default::default(),
            request_id,
            command_id: accepted.command_id,
            status_url: accepted.status_url,
        })
        .unwrap_or_default(),
        // `urn:ledgerline:problem:unavailable` → `UNAVAILABLE`, and so on.
        Err(problem) => {
            let code = problem
                .problem_type
                .rsplit(':')
                .next()
                .unwrap_or("refused")
                .to_ascii_uppercase()
                .replace('-', "_");
            error(
                request_id,
                &code,
                problem.detail.unwrap_or(problem.title),
                problem.errors,
            )
        }
    }
}
