use std::sync::Arc;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use ledgerline_domain::UserId;
use ledgerline_runtime::DEFAULT_TOKEN_MAX_TTL_SECS;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{AuthError, Caller, Role};

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    exp: i64,
    /// Tokens we issue always carry it; one without it is bounded by the
    /// time it has left instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    iat: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    role: Option<String>,
}

/// The HS256 secret, ready to sign and verify, and the longest life a
/// token may claim.
#[derive(Clone)]
pub struct TokenKeys(Arc<Inner>);

struct Inner {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    max_lifetime_secs: i64,
}

impl TokenKeys {
    /// Keys that accept tokens living at most `TOKEN_MAX_TTL_SECS`'s default.
    pub fn new(secret: &[u8]) -> Self {
        Self::with_max_lifetime(secret, DEFAULT_TOKEN_MAX_TTL_SECS)
    }

    /// Keys that refuse any token whose `exp` lies more than
    /// `max_lifetime_secs` after its `iat`, or after now.
    pub fn with_max_lifetime(secret: &[u8], max_lifetime_secs: u64) -> Self {
        // Only HS256: a token claiming `alg: none` or RS256 is refused.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["exp", "sub"]);
        validation.leeway = 0;
        Self(Arc::new(Inner {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            max_lifetime_secs: i64::try_from(max_lifetime_secs).unwrap_or(i64::MAX),
        }))
    }

    /// Signs a token for `user` valid for `ttl_secs` (negative for tests of expiry).
    pub fn issue(&self, user: &UserId, role: Role, ttl_secs: i64) -> Result<String, AuthError> {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let claims = Claims {
            sub: user.to_string(),
            exp: now.saturating_add(ttl_secs),
            iat: Some(now),
            role: (role == Role::Operator).then(|| "operator".to_owned()),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.0.encoding)
            .map_err(|e| AuthError::Signing(e.to_string()))
    }

    /// The caller a token stands for. The signature is checked first (by
    /// the library), so every other refusal is about a token we signed.
    pub fn verify(&self, token: &str) -> Result<Caller, AuthError> {
        self.verify_claims(token).map(|(caller, _)| caller)
    }

    /// The caller and the token's `exp`.
    fn verify_claims(&self, token: &str) -> Result<(Caller, i64), AuthError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.0.decoding, &self.0.validation)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => AuthError::Expired,
                _ => AuthError::InvalidToken(e.to_string()),
            })?;
        let claims = data.claims;
        self.check_lifetime(&claims, OffsetDateTime::now_utc().unix_timestamp())?;
        let user_id =
            UserId::parse(claims.sub).map_err(|e| AuthError::InvalidToken(format!("sub {e}")))?;
        let role = match claims.role.as_deref() {
            Some("operator") => Role::Operator,
            _ => Role::User,
        };
        Ok((Caller { user_id, role }, claims.exp))
    }

    /// A token may not outlive the bound from when it was issued, nor from
    /// now (which also covers an `iat` set in the future, or none at all).
    fn check_lifetime(&self, claims: &Claims, now: i64) -> Result<(), AuthError> {
        let max = self.0.max_lifetime_secs;
        let since_issue = claims.iat.map_or(0, |iat| claims.exp.saturating_sub(iat));
        let from_now = claims.exp.saturating_sub(now);
        if since_issue > max || from_now > max {
            return Err(AuthError::TooLongLived);
        }
        Ok(())
    }

    /// As [`TokenKeys::verify`], with the moment the token expires (`exp`):
    /// what outlives a request — a socket — must end when its token does.
    pub fn verify_with_expiry(&self, token: &str) -> Result<(Caller, OffsetDateTime), AuthError> {
        let (caller, exp) = self.verify_claims(token)?;
        let expires_at = OffsetDateTime::from_unix_timestamp(exp)
            .map_err(|e| AuthError::InvalidToken(format!("exp {e}")))?;
        Ok((caller, expires_at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> TokenKeys {
        TokenKeys::new(b"test-secret")
    }
    fn alice() -> UserId {
        UserId::parse("alice").unwrap()
    }

    #[test]
    fn a_signed_token_verifies_to_its_user_and_role() {
        let token = keys().issue(&alice(), Role::Operator, 60).unwrap();
        let caller = keys().verify(&token).unwrap();
        assert_eq!((caller.user_id, caller.role), (alice(), Role::Operator));
    }

    #[test]
    fn verify_with_expiry_gives_the_tokens_exp() {
        let before = OffsetDateTime::now_utc().unix_timestamp();
        let token = keys().issue(&alice(), Role::User, 120).unwrap();
        let (caller, expires_at) = keys().verify_with_expiry(&token).unwrap();
        assert_eq!(caller.user_id, alice());
        let exp = expires_at.unix_timestamp();
        assert!((before + 120..=before + 121).contains(&exp), "{exp}");
        let expired = keys().issue(&alice(), Role::User, -10).unwrap();
        assert!(keys().verify_with_expiry(&expired).is_err());
    }

    #[test]
    fn expired_foreign_and_garbage_tokens_are_refused() {
        let expired = keys().issue(&alice(), Role::User, -10).unwrap();
        assert!(keys().verify(&expired).is_err());
        let foreign = TokenKeys::new(b"other")
            .issue(&alice(), Role::User, 60)
            .unwrap();
        assert!(keys().verify(&foreign).is_err());
        assert!(keys().verify("garbage").is_err());
        assert!(keys().verify("").is_err());
    }

    #[test]
    fn alg_none_is_refused() {
        use base64_free::encode;
        let header = encode(br#"{"alg":"none","typ":"JWT"}"#);
        let body = encode(br#"{"sub":"alice","exp":99999999999}"#);
        assert!(keys().verify(&format!("{header}.{body}.")).is_err());
    }

    /// Signs arbitrary claims with `keys`' secret, as a careless (or
    /// malicious) holder of the secret could.
    fn signed(claims: serde_json::Value) -> String {
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(b"test-secret"),
        )
        .unwrap()
    }

    fn now() -> i64 {
        OffsetDateTime::now_utc().unix_timestamp()
    }

    #[test]
    fn a_token_living_longer_than_the_bound_is_refused() {
        let keys = TokenKeys::with_max_lifetime(b"test-secret", 3600);
        let year = keys
            .issue(&alice(), Role::Operator, 365 * 24 * 3600)
            .unwrap();
        assert!(matches!(keys.verify(&year), Err(AuthError::TooLongLived)));
        let hour = keys.issue(&alice(), Role::Operator, 3600).unwrap();
        assert!(keys.verify(&hour).is_ok());
        let longer = keys.issue(&alice(), Role::Operator, 3601).unwrap();
        assert!(keys.verify(&longer).is_err());
    }

    #[test]
    fn issued_long_ago_for_long_is_refused_even_near_its_end() {
        // exp − now is small, but exp − iat says it was minted for a week.
        let t = now();
        let token =
            signed(serde_json::json!({"sub": "alice", "iat": t - 7 * 24 * 3600, "exp": t + 60}));
        assert!(matches!(
            keys().verify(&token),
            Err(AuthError::TooLongLived)
        ));
    }

    #[test]
    fn without_iat_the_time_left_is_bounded() {
        let t = now();
        let short = signed(serde_json::json!({"sub": "alice", "exp": t + 60}));
        assert!(keys().verify(&short).is_ok());
        let forever = signed(serde_json::json!({"sub": "alice", "exp": 99_999_999_999_i64}));
        assert!(matches!(
            keys().verify(&forever),
            Err(AuthError::TooLongLived)
        ));
        // A future `iat` does not stretch the bound either.
        let future = signed(
            serde_json::json!({"sub": "alice", "iat": t + 10 * 24 * 3600, "exp": t + 10 * 24 * 3600 + 60}),
        );
        assert!(matches!(
            keys().verify(&future),
            Err(AuthError::TooLongLived)
        ));
    }

    #[test]
    fn refusals_say_what_is_wrong_without_naming_library_internals() {
        let expired = keys().issue(&alice(), Role::User, -10).unwrap();
        let foreign = TokenKeys::new(b"other")
            .issue(&alice(), Role::User, 60)
            .unwrap();
        let cases = [
            (expired.as_str(), "the token has expired"),
            (foreign.as_str(), "the token is not valid"),
            ("garbage", "the token is not valid"),
            ("a.b.c", "the token is not valid"),
        ];
        for (token, detail) in cases {
            let error = keys().verify(token).err().map(|e| e.to_string());
            assert_eq!(error.as_deref(), Some(detail), "{token}");
        }
        for name in [
            "ExpiredSignature",
            "InvalidSignature",
            "InvalidToken",
            "Base64",
            "Json",
        ] {
            for (token, _) in cases {
                let shown = keys()
                    .verify(token)
                    .err()
                    .map(|e| e.to_string())
                    .unwrap_or_default();
                assert!(!shown.contains(name), "{shown}");
            }
        }
    }

    proptest::proptest! {
        /// Whatever arrives in an Authorization header is refused without a
        /// panic, unless it is a token this key signed.
        #[test]
        fn arbitrary_tokens_are_refused(token in ".{0,300}", dots in "[A-Za-z0-9_-]{0,40}\\.[A-Za-z0-9_-]{0,80}\\.[A-Za-z0-9_-]{0,40}") {
            proptest::prop_assert!(keys().verify(&token).is_err());
            proptest::prop_assert!(keys().verify(&dots).is_err());
        }
    }

    /// A tiny base64url encoder, so the test needs no extra crate.
    mod base64_free {
        pub fn encode(bytes: &[u8]) -> String {
            const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
            let mut out = String::new();
            for chunk in bytes.chunks(3) {
                let n = chunk
                    .iter()
                    .enumerate()
                    .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
                for i in 0..=chunk.len() {
                    out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
                }
            }
            out
        }
    }
}
