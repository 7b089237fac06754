use anyhow::bail;
use ledgerline_auth::TokenKeys;
use ledgerline_runtime::Config;
use rand::RngCore;

/// Bytes of a secret made at start: HS256's own key size.
const RANDOM_SECRET_BYTES: usize = 32;

/// The keys bearer tokens are signed and checked with: `JWT_SECRET`, or —
/// demo sign-in only — a random secret made now. Never a secret compiled
/// into the binary: anyone could read it and sign themselves an operator
/// token for any exposed demo.
pub fn token_keys(config: &Config) -> anyhow::Result<TokenKeys> {
    let secret = match (&config.jwt_secret, config.demo_login) {
        (Some(secret), _) if !secret.is_empty() => secret.as_bytes().to_vec(),
        (_, true) => {
            tracing::warn!(
                "JWT_SECRET not set: demo mode signs tokens with a random secret made at start. \
                 Tokens end with this process, and other processes cannot check them: \
                 a deployment of several processes needs the same JWT_SECRET in each"
            );
            let mut secret = vec![0; RANDOM_SECRET_BYTES];
            // The thread-local generator is a CSPRNG seeded from the OS.
            rand::rng().fill_bytes(&mut secret);
            secret
        }
        _ => bail!("JWT_SECRET is required (or set DEMO_LOGIN=true for a local demo)"),
    };
    Ok(TokenKeys::with_max_lifetime(
        &secret,
        config.token_max_ttl_secs,
    ))
}

#[cfg(test)]
mod tests {
    use ledgerline_auth::Role;
    use ledgerline_domain::UserId;

    use super::*;

    fn demo_config() -> Config {
        let mut config = Config::from_env().unwrap();
        config.jwt_secret = None;
        config.demo_login = true;
        config
    }

    #[test]
    fn each_demo_process_signs_with_a_secret_of_its_own() {
        let (one, other) = (
            token_keys(&demo_config()).unwrap(),
            token_keys(&demo_config()).unwrap(),
        );
        let ops = UserId::parse("ops").unwrap();
        let token = one.issue(&ops, Role::Operator, 60).unwrap();
        assert!(one.verify(&token).is_ok());
        assert!(other.verify(&token).is_err());
    }

    #[test]
    fn without_demo_sign_in_a_secret_is_required() {
        let mut config = demo_config();
        config.demo_login = false;
        assert!(token_keys(&config).is_err());
        config.jwt_secret = Some("shared".into());
        let keys = token_keys(&config).unwrap();
        let token = TokenKeys::new(b"shared")
            .issue(&UserId::parse("alice").unwrap(), Role::User, 60)
            .unwrap();
        assert!(keys.verify(&token).is_ok());
    }
}
