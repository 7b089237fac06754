use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

/// A payer's note on a deposit ("Invoice 42"): 1 to 140 characters, no
/// control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Reference(String);

/// What [`Reference::parse`] takes: 1–140 characters (JSON Schema counts
/// characters too), none of them a control character (Unicode `Cc`, which
/// is what `char::is_control` tests).
#[cfg(feature = "schema")]
impl schemars::JsonSchema for Reference {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Reference".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "minLength": 1,
            "maxLength": 140,
            "pattern": "^[^\\u0000-\\u001f\\u007f-\\u009f]*$"
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be 1 to 140 characters without control characters")]
pub struct ReferenceError;

impl Reference {
    pub fn parse(value: impl Into<String>) -> Result<Self, ReferenceError> {
        let value = value.into();
        let ok = (1..=140).contains(&value.chars().count()) && !value.chars().any(char::is_control);
        if ok {
            Ok(Self(value))
        } else {
            Err(ReferenceError)
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Reference {
    type Error = ReferenceError;
    fn try_from(value: String) -> Result<Self, ReferenceError> {
        Self::parse(value)
    }
}
impl From<Reference> for String {
    fn from(r: Reference) -> String {
        r.0
    }
}
impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// For fields that must be present but may be null: unlike a plain
/// `Option`, a missing key is an error, so older shapes cannot slip through
/// without their upcaster.
pub fn required_nullable<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_short_printable_text() {
        assert!(Reference::parse("Invoice 42 — März").is_ok());
        for bad in [
            String::new(),
            "x".repeat(141),
            "a\nb".to_owned(),
            "\u{7}".to_owned(),
        ] {
            assert_eq!(Reference::parse(bad), Err(ReferenceError));
        }
    }
}
