//! `{"type":"refresh","token":"<new JWT>"}`: a client keeps its socket
//! past its token's expiry by handing over a newer token of the same user,
//! checked like any token. Taken, it is answered with a `refreshed` frame
//! carrying the new expiry; refused, with an `error` frame, and the socket
//! still closes at the old expiry.

use ledgerline_auth::TokenKeys;
use ledgerline_contracts::{FieldError, RefreshedFrame};
use ledgerline_domain::UserId;

use crate::answer::Answer;
use crate::error_frames::error;

pub fn refresh(
    keys: &TokenKeys,
    user: &UserId,
    request_id: Option<String>,
    token: Option<&str>,
) -> Answer {
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return Answer::text(error(
            request_id,
            "INVALID_FRAME",
            "a refresh frame needs a token",
            vec![FieldError::new("token", "required")],
        ));
    };
    let (caller, expires_at) = match keys.verify_with_expiry(token) {
        Ok(verified) => verified,
        Err(e) => {
            // The library's reason stays in the log: a client learns only
            // that the token was not taken.
            tracing::info!(error = %e, %user, "socket refresh refused");
            return Answer::text(error(
                request_id,
                "INVALID_TOKEN",
                "the token is not valid: malformed, expired or not issued by this server",
                vec![],
            ));
        }
    };
    // A socket stays with the user it was opened for.
    if &caller.user_id != user {
        tracing::warn!(%user, other = %caller.user_id, "socket refresh with another user's token");
        return Answer::text(error(
            request_id,
            "INVALID_TOKEN",
            "the token is for another user; a socket keeps the user it was opened for",
            vec![],
        ));
    }
    let frame = RefreshedFrame {
        frame_type: Default::default(),
        request_id,
        expires_at,
    };
    Answer {
        text: serde_json::to_string(&frame).unwrap_or_default(),
        expires_at: Some(expires_at),
    }
}

#[cfg(test)]
mod tests {
    use ledgerline_auth::Role;
    use serde_json::Value;

    use super::*;

    fn keys() -> TokenKeys {
        TokenKeys::new(b"refresh-test")
    }
    fn user(name: &str) -> UserId {
        UserId::parse(name).unwrap()
    }
    fn frame(answer: &Answer) -> Value {
        serde_json::from_str(&answer.text).unwrap()
    }

    #[test]
    fn a_newer_token_of_the_same_user_moves_the_expiry() {
        let token = keys().issue(&user("alice"), Role::User, 600).unwrap();
        let answer = refresh(&keys(), &user("alice"), Some("r".into()), Some(&token));
        assert!(answer.expires_at.is_some());
        let frame = frame(&answer);
        assert_eq!(
            (frame["type"].as_str(), frame["requestId"].as_str()),
            (Some("refreshed"), Some("r"))
        );
        assert!(frame["expiresAt"].is_string());
    }

    #[test]
    fn another_users_expired_foreign_or_missing_token_is_refused() {
        let bobs = keys().issue(&user("bob"), Role::User, 600).unwrap();
        let expired = keys().issue(&user("alice"), Role::User, -5).unwrap();
        let foreign = TokenKeys::new(b"other")
            .issue(&user("alice"), Role::User, 600)
            .unwrap();
        for token in [
            Some(bobs.as_str()),
            Some(expired.as_str()),
            Some(foreign.as_str()),
            Some("x"),
            None,
        ] {
            let answer = refresh(&keys(), &user("alice"), None, token);
            assert_eq!(answer.expires_at, None, "{token:?}");
            let frame = frame(&answer);
            assert_eq!(frame["type"], "error", "{token:?}");
            let message = frame["message"].as_str().unwrap();
            assert!(
                !message.contains("Signature") && !message.contains("Error"),
                "{message}"
            );
        }
    }
}
