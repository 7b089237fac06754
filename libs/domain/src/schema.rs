//! JSON Schemas for the value types whose rules live in `parse`, so the
//! published contracts carry the same rules (pattern, bounds) as the code.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};

use crate::{AccountId, Amount, Balance, Currency, UserId, money::ABSOLUTE_MAX_MINOR};

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
    "AmountMinor",
    json_schema!({
        "description": "A positive amount in integer minor units (cents).",
        "type": "integer", "minimum": 1, "maximum": ABSOLUTE_MAX_MINOR
    })
);
schema!(
    Balance,
    "BalanceMinor",
    json_schema!({
        "description": "A balance in integer minor units (cents).",
        "type": "integer", "minimum": 0
    })
);
