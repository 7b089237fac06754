use std::fmt;

use serde::{Deserialize, Serialize};

/// Why an identifier was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("must be 1 to 64 characters of A-Z, a-z, 0-9, '_' or '-'")]
    Invalid,
    #[error("must be three upper-case letters (ISO 4217), such as EUR")]
    InvalidCurrency,
}

/// Identifiers become NATS subject tokens, so a `.`, `*`, `>` or space must
/// never get through: only `[A-Za-z0-9_-]{1,64}` is accepted.
fn check_token(value: &str) -> Result<(), IdError> {
    let ok = (1..=64).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok { Ok(()) } else { Err(IdError::Invalid) }
}

macro_rules! token_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn parse(value: impl Into<String>) -> Result<Self, IdError> {
                let value = value.into();
                check_token(&value)?;
                Ok(Self(value))
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(value: String) -> Result<Self, IdError> {
                Self::parse(value)
            }
        }
        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

token_id!(
    /// A bank account, e.g. `acc-123`.
    AccountId
);
token_id!(
    /// A signed-in person, e.g. `alice`.
    UserId
);

/// An ISO 4217 currency code.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency(String);

impl Currency {
    pub fn parse(value: impl Into<String>) -> Result<Self, IdError> {
        let value = value.into();
        if value.len() == 3 && value.bytes().all(|b| b.is_ascii_uppercase()) {
            Ok(Self(value))
        } else {
            Err(IdError::InvalidCurrency)
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for Currency {
    fn default() -> Self {
        Self("EUR".to_owned())
    }
}
impl TryFrom<String> for Currency {
    type Error = IdError;
    fn try_from(value: String) -> Result<Self, IdError> {
        Self::parse(value)
    }
}
impl From<Currency> for String {
    fn from(c: Currency) -> String {
        c.0
    }
}
impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_that_could_break_a_nats_subject_are_refused() {
        for bad in ["", "a.b", "a*", "a>", "a b", "é", "a\n", &"x".repeat(65)] {
            assert_eq!(AccountId::parse(bad), Err(IdError::Invalid), "{bad:?}");
            assert_eq!(UserId::parse(bad), Err(IdError::Invalid), "{bad:?}");
        }
    }

    #[test]
    fn plain_ids_are_accepted() {
        for good in ["acc-123", "alice", "A_b-9", &"x".repeat(64)] {
            assert_eq!(
                AccountId::parse(good).map(|a| a.to_string()),
                Ok(good.to_string())
            );
        }
    }

    #[test]
    fn currency_is_three_upper_case_letters() {
        assert!(Currency::parse("EUR").is_ok());
        for bad in ["eur", "EURO", "E1R", ""] {
            assert!(Currency::parse(bad).is_err(), "{bad}");
        }
    }
}
