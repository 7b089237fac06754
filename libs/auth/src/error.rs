/// Why a request carries no usable bearer token, or a token cannot be made.
///
/// The messages are the `detail` of a 401 problem document, so they are
/// short, stable and name nothing of the JWT library: a client (or an
/// attacker) learns what to do, not how verification is implemented. The
/// library's own reason stays in `InvalidToken`'s field, for logs.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("missing bearer token")]
    Missing,
    #[error("expected 'Authorization: Bearer <token>'")]
    Malformed,
    #[error("the token has expired")]
    Expired,
    /// Signed by us, but valid for longer than `TOKEN_MAX_TTL_SECS`: a
    /// token minted (or leaked) with a long life is refused, not trusted
    /// for years.
    #[error("the token is valid for longer than this server allows")]
    TooLongLived,
    /// Anything else: a bad signature, another algorithm, a missing or
    /// malformed claim. The field says which, for logs only.
    #[error("the token is not valid")]
    InvalidToken(String),
    #[error("cannot sign token: {0}")]
    Signing(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reason_kept_for_logs_is_never_in_the_message() {
        let error = AuthError::InvalidToken("InvalidSignature".into());
        assert_eq!(error.to_string(), "the token is not valid");
        assert!(format!("{error:?}").contains("InvalidSignature"));
    }
}
