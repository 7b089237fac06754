//! JSON Schemas for the value types whose rules live in `parse`, so the
//! published contracts carry the same rules (pattern, bounds) as the code.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};

use crate::{AccountId, Amount, Balance, Currency, UserId};

const TOKEN_PATTERN: &str = "^[A-Za-z0-9_-]{1,64}$";

macro_rules! schema {
    ($ty:ty, $name:literal, $body:expr) => {
        impl JsonSchema for $ty {
            fn schema_name() -> Cow<'static, str> {
                $name.into()
            }
            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                $body
            }
        }
    };
}

schema!(
    AccountId,
    "AccountId",
    json_schema!({ "type": "string", "pattern": TOKEN_PATTERN })
);
schema!(
    UserId,
    "UserId",
    json_schema!({ "type": "string", "pattern": TOKEN_PATTERN })
);
schema!(
    Currency,
    "Currency",
    json_schema!({ "type": "string", "pattern": "^[A-Z]{3}$" })
);
schema!(
    Amount,
    "Amount",
    json_schema!({
        "description": "A positive amount in major units, exactly two fraction digits: \"10.50\".",
        "type": "string", "pattern": "^[0-9]+\\.[0-9]{2}$"
    })
);
schema!(
    Balance,
    "Balance",
    json_schema!({
        "description": "A balance (zero or more) in major units, exactly two fraction digits: \"0.00\".",
        "type": "string", "pattern": "^[0-9]+\\.[0-9]{2}$"
    })
);

/// The schema of money that may be negative (a net change), written out in
/// major units by [`crate::as_major`]: `#[schemars(with = "SignedMajor")]`.
pub struct SignedMajor;

schema!(
    SignedMajor,
    "SignedMajor",
    json_schema!({
        "description": "An amount in major units that may be negative, exactly two fraction digits: \"-20.50\".",
        "type": "string", "pattern": "^-?[0-9]+\\.[0-9]{2}$"
    })
);
