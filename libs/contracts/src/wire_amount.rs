//! Amounts arrive as a JSON number (`10.10`) or string (`"10.10"`) in major
//! units. They are taken as raw JSON text and parsed digit by digit, so
//! `10.10` is exactly 1010 minor units and no float is ever involved.

use std::borrow::Cow;

use ledgerline_domain::{Amount, AmountError, Balance};
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// The untouched JSON text of an amount.
#[derive(Debug, Deserialize, Serialize)]
#[serde(transparent)]
pub struct WireAmount(Box<RawValue>);

impl WireAmount {
    fn text(&self) -> Result<Cow<'_, str>, AmountError> {
        let raw = self.0.get();
        if raw.starts_with('"') {
            serde_json::from_str::<String>(raw)
                .map(Cow::Owned)
                .map_err(|_| AmountError::Malformed)
        } else if raw.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
            Ok(Cow::Borrowed(raw))
        } else {
            Err(AmountError::Malformed)
        }
    }

    pub fn amount(&self, max: Amount) -> Result<Amount, AmountError> {
        Amount::parse_major(&self.text()?, max)
    }

    pub fn balance(&self, max: Amount) -> Result<Balance, AmountError> {
        Balance::parse_major(&self.text()?, max)
    }
}

/// The schemas describe the default `MAX_AMOUNT` (1000000.00, in
/// `libs/runtime/src/config.rs`): a deployment that sets another maximum
/// refuses or takes amounts past it with 422 whatever the document says.
/// The patterns are exactly what [`Amount::parse_major`] and
/// [`Balance::parse_major`] take under that maximum — leading zeros included —
/// so a request the schema calls valid is never refused for its amount, and
/// one it calls invalid always is.
impl JsonSchema for WireAmount {
    fn schema_name() -> Cow<'static, str> {
        "WireAmount".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "Major units greater than zero and at most MAX_AMOUNT (default 1000000.00), with at most 2 fraction digits, as a JSON number or a string: 10.5 or \"10.50\".",
            "oneOf": [
                { "type": "number", "multipleOf": 0.01, "exclusiveMinimum": 0, "maximum": 1_000_000 },
                { "type": "string", "pattern": "^(0*[1-9][0-9]{0,5}(\\.[0-9]{1,2})?|0*1000000(\\.00?)?|0+\\.(0[1-9]|[1-9][0-9]?))$" }
            ]
        })
    }
}

/// The schema of an opening balance: a [`WireAmount`] that may be zero
/// (only described; the value itself is read by [`WireAmount::balance`]).
pub struct WireBalance;

impl JsonSchema for WireBalance {
    fn schema_name() -> Cow<'static, str> {
        "WireBalance".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "Major units from 0 to MAX_AMOUNT (default 1000000.00), with at most 2 fraction digits, as a JSON number or a string: 0, 10.5 or \"10.50\".",
            "oneOf": [
                { "type": "number", "multipleOf": 0.01, "minimum": 0, "maximum": 1_000_000 },
                // A minus sign only on zero: "-0" parses as 0.
                { "type": "string", "pattern": "^(-?0+(\\.0{1,2})?|0+\\.[0-9]{1,2}|0*[1-9][0-9]{0,5}(\\.[0-9]{1,2})?|0*1000000(\\.00?)?)$" }
            ]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<Amount, AmountError> {
        let wire: WireAmount = serde_json::from_str(json).map_err(|_| AmountError::Malformed)?;
        wire.amount(Amount::from_minor(100_000_000).unwrap())
    }

    #[test]
    fn numbers_and_strings_parse_exactly() {
        assert_eq!(parse("10.10").map(Amount::minor), Ok(1010));
        assert_eq!(parse("\"10.10\"").map(Amount::minor), Ok(1010));
        assert_eq!(parse("0.29").map(Amount::minor), Ok(29));
    }

    #[test]
    fn other_json_is_refused() {
        for bad in [
            "1e3", "1.005", "true", "null", "[1]", "{}", "\"\"", "-1", "0",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
