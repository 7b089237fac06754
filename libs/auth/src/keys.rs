use std::sync::Arc;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use ledgerline_domain::UserId;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{AuthError, Caller, Role};

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    exp: i64,
    iat: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    role: Option<String>,
}

/// The HS256 secret, ready to sign and verify.
#[derive(Clone)]
pub struct TokenKeys(Arc<Inner>);

struct Inner {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl TokenKeys {
    pub fn new(secret: &[u8]) -> Self {
        // Only HS256: a token claiming `alg: none` or RS256 is refused.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["exp", "sub"]);
        validation.leeway = 0;
        Self(Arc::new(Inner {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
        }))
    }

    /// Signs a token for `user` valid for `ttl_secs` (negative for tests of expiry).
    pub fn issue(&self, user: &UserId, role: Role, ttl_secs: i64) -> Result<String, AuthError> {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let claims = Claims {
            sub: user.to_string(),
            exp: now.saturating_add(ttl_secs),
            iat: now,
            role: (role == Role::Operator).then(|| "operator".to_owned()),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.0.encoding)
            .map_err(|e| AuthError::Signing(e.to_string()))
    }

    pub fn verify(&self, token: &str) -> Result<Caller, AuthError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.0.decoding, &self.0.validation)
            .map_err(|e| AuthError::InvalidToken(e.to_string()))?;
        let user_id = UserId::parse(data.claims.sub)
            .map_err(|e| AuthError::InvalidToken(format!("sub {e}")))?;
        let role = match data.claims.role.as_deref() {
            Some("operator") => Role::Operator,
            _ => Role::User,
        };
        Ok(Caller { user_id, role })
    }

    /// As [`TokenKeys::verify`], with the moment the token expires (`exp`):
    /// what outlives a request — a socket — must end when its token does.
    pub fn verify_with_expiry(&self, token: &str) -> Result<(Caller, OffsetDateTime), AuthError> {
        let caller = self.verify(token)?;
        let data = jsonwebtoken::decode::<Claims>(token, &self.0.decoding, &self.0.validation)
            .map_err(|e| AuthError::InvalidToken(e.to_string()))?;
        let expires_at = OffsetDateTime::from_unix_timestamp(data.claims.exp)
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
