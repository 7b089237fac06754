//! Money is `i64` minor units with checked arithmetic. Text in major units
//! ("10.10") is parsed digit by digit, never through a float.
//!
//! Out of the system — HTTP bodies, socket frames, events, read models — an
//! amount is one form only: a string of major units with exactly two
//! fraction digits (`"1300.00"`), the form clients send (they may also send
//! a JSON number, see `WireAmount`). A string, not a JSON number, because
//! most JSON readers (JavaScript's among them) turn numbers into binary
//! floats; a string stays exact in every language, as ISO 20022 and Open
//! Banking APIs write amounts. [`major`] writes it, digit by digit.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The largest amount the type can hold at all: 10^15 minor units. Services
/// apply a lower, configured maximum on top.
pub const ABSOLUTE_MAX_MINOR: i64 = 1_000_000_000_000_000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error(
        "must be a decimal number in major units with at most 2 fraction digits, such as 10.50"
    )]
    Malformed,
    #[error("must have at most 2 fraction digits")]
    TooPrecise,
    #[error("must be greater than zero")]
    NotPositive,
    #[error("must not be negative")]
    Negative,
    #[error("must be at most {max}")]
    TooLarge { max: Balance },
}

/// A strictly positive amount of money, in minor units (written out as
/// major units: `"10.50"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "Stored", into = "String")]
pub struct Amount(i64);

/// A balance (zero or more), in minor units (written out as major units:
/// `"0.00"`).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(try_from = "Stored", into = "String")]
pub struct Balance(i64);

/// Money as it is read back, in minor units: from major-unit text
/// (`"10.50"`, what this version writes), or from an integer of minor
/// units — the form events, snapshots and queued commands were written in
/// before amounts went out in major units. Clients never reach this: their
/// amounts are parsed by `WireAmount`. Read by a visitor of its own rather
/// than as an untagged enum, which buffered every amount and built an
/// error for each form it was not.
struct Stored(i64);

impl<'de> Deserialize<'de> for Stored {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StoredVisitor)
    }
}

struct StoredVisitor;

impl serde::de::Visitor<'_> for StoredVisitor {
    type Value = Stored;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an amount: major units as text (\"10.50\") or an integer of minor units")
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Stored, E> {
        parse_minor(text).map(Stored).map_err(E::custom)
    }

    fn visit_i64<E: serde::de::Error>(self, minor: i64) -> Result<Stored, E> {
        Ok(Stored(minor))
    }

    fn visit_u64<E: serde::de::Error>(self, minor: u64) -> Result<Stored, E> {
        i64::try_from(minor)
            .map(Stored)
            .map_err(|_| E::invalid_value(serde::de::Unexpected::Unsigned(minor), &self))
    }
}

/// Minor units written as major units with two fraction digits: 1050 →
/// `"10.50"`, -250 → `"-2.50"` (a net change can be negative).
pub fn major(minor: i64) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// `#[serde(serialize_with = "ledgerline_domain::money::as_major")]` for a
/// read model's integer column of minor units.
pub fn as_major<S: serde::Serializer>(minor: &i64, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&major(*minor))
}

/// [`as_major`] for a column that may be empty (`null` stays `null`).
pub fn as_major_opt<S: serde::Serializer>(
    minor: &Option<i64>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match minor {
        Some(minor) => serializer.serialize_str(&major(*minor)),
        None => serializer.serialize_none(),
    }
}

/// Parses `digits[.d[d]]` into minor units. Signs, exponents, spaces and
/// more than two fraction digits are refused, not rounded.
fn parse_minor(text: &str) -> Result<i64, AmountError> {
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, fraction) = match unsigned.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (unsigned, None),
    };
    let digits_only = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits_only(whole) || fraction.is_some_and(|f| !digits_only(f)) {
        return Err(AmountError::Malformed);
    }
    let fraction = fraction.unwrap_or("");
    if fraction.len() > 2 {
        return Err(AmountError::TooPrecise);
    }
    let too_large = AmountError::TooLarge {
        max: Balance(ABSOLUTE_MAX_MINOR),
    };
    let trimmed = whole.trim_start_matches('0');
    if trimmed.len() > 16 {
        return Err(too_large);
    }
    let whole: i64 = if trimmed.is_empty() {
        0
    } else {
        trimmed.parse().map_err(|_| too_large.clone())?
    };
    let cents: i64 = match fraction.len() {
        0 => 0,
        1 => {
            fraction
                .parse::<i64>()
                .map_err(|_| AmountError::Malformed)?
                * 10
        }
        _ => fraction
            .parse::<i64>()
            .map_err(|_| AmountError::Malformed)?,
    };
    let minor = whole
        .checked_mul(100)
        .and_then(|w| w.checked_add(cents))
        .filter(|m| *m <= ABSOLUTE_MAX_MINOR)
        .ok_or(too_large)?;
    if negative && minor != 0 {
        return Err(AmountError::Negative);
    }
    Ok(minor)
}

impl Amount {
    /// Parses major units ("10.10" → 1010 minor units), refusing anything
    /// that is not exactly representable, not positive, or above `max`.
    pub fn parse_major(text: &str, max: Amount) -> Result<Self, AmountError> {
        let minor = parse_minor(text)?;
        if minor == 0 {
            return Err(AmountError::NotPositive);
        }
        Self::from_minor(minor).and_then(|a| a.at_most(max))
    }

    pub fn from_minor(minor: i64) -> Result<Self, AmountError> {
        if minor <= 0 {
            Err(AmountError::NotPositive)
        } else if minor > ABSOLUTE_MAX_MINOR {
            Err(AmountError::TooLarge {
                max: Balance(ABSOLUTE_MAX_MINOR),
            })
        } else {
            Ok(Self(minor))
        }
    }

    pub fn at_most(self, max: Amount) -> Result<Self, AmountError> {
        if self.0 > max.0 {
            Err(AmountError::TooLarge {
                max: Balance(max.0),
            })
        } else {
            Ok(self)
        }
    }

    pub fn minor(self) -> i64 {
        self.0
    }
}

impl Balance {
    pub const ZERO: Balance = Balance(0);

    /// Parses a non-negative balance in major units ("0" is allowed).
    pub fn parse_major(text: &str, max: Amount) -> Result<Self, AmountError> {
        let minor = parse_minor(text)?;
        if minor > max.0 {
            return Err(AmountError::TooLarge {
                max: Balance(max.0),
            });
        }
        Ok(Self(minor))
    }

    pub fn from_minor(minor: i64) -> Result<Self, AmountError> {
        if minor < 0 {
            Err(AmountError::Negative)
        } else {
            Ok(Self(minor))
        }
    }

    pub fn minor(self) -> i64 {
        self.0
    }

    /// `None` when the sum would overflow.
    pub fn plus(self, amount: Amount) -> Option<Balance> {
        self.0.checked_add(amount.0).map(Balance)
    }

    /// `None` when the balance would go below zero.
    pub fn minus(self, amount: Amount) -> Option<Balance> {
        self.0
            .checked_sub(amount.0)
            .filter(|b| *b >= 0)
            .map(Balance)
    }
}

impl TryFrom<Stored> for Amount {
    type Error = AmountError;
    fn try_from(stored: Stored) -> Result<Self, AmountError> {
        Self::from_minor(stored.0)
    }
}
impl From<Amount> for String {
    fn from(a: Amount) -> String {
        major(a.0)
    }
}
impl TryFrom<Stored> for Balance {
    type Error = AmountError;
    fn try_from(stored: Stored) -> Result<Self, AmountError> {
        Self::from_minor(stored.0)
    }
}
impl From<Balance> for String {
    fn from(b: Balance) -> String {
        major(b.0)
    }
}
impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&major(self.0))
    }
}
impl fmt::Display for Balance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&major(self.0))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn max() -> Amount {
        Amount::from_minor(100_000_000).unwrap()
    }

    #[test]
    fn major_units_parse_exactly() {
        let cases = [
            ("10.10", 1010),
            ("10.1", 1010),
            ("10", 1000),
            ("0.01", 1),
            ("007.50", 750),
            ("1000000", 100_000_000),
        ];
        for (text, minor) in cases {
            assert_eq!(
                Amount::parse_major(text, max()).map(Amount::minor),
                Ok(minor),
                "{text}"
            );
        }
    }

    #[test]
    fn inexact_or_non_positive_amounts_are_refused() {
        assert_eq!(
            Amount::parse_major("1.005", max()),
            Err(AmountError::TooPrecise)
        );
        assert_eq!(Amount::parse_major("-1", max()), Err(AmountError::Negative));
        assert_eq!(
            Amount::parse_major("0", max()),
            Err(AmountError::NotPositive)
        );
        assert_eq!(
            Amount::parse_major("0.00", max()),
            Err(AmountError::NotPositive)
        );
        for bad in [
            "1e3", "", ".5", "5.", "+5", " 5", "5 ", "1,5", "0x10", "NaN", "Infinity", "--1",
            "1.2.3",
        ] {
            assert_eq!(
                Amount::parse_major(bad, max()),
                Err(AmountError::Malformed),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn huge_amounts_are_refused_without_overflow() {
        for huge in [
            "1000000.01",
            "99999999999999999999999999",
            "9223372036854775807",
            "10000000000000.00",
        ] {
            assert!(
                matches!(
                    Amount::parse_major(huge, max()),
                    Err(AmountError::TooLarge { .. })
                ),
                "{huge}"
            );
        }
    }

    #[test]
    fn display_is_major_units_with_two_digits() {
        assert_eq!(Amount::from_minor(50_000).unwrap().to_string(), "500.00");
        assert_eq!(Balance::from_minor(7).unwrap().to_string(), "0.07");
    }

    #[test]
    fn money_goes_out_as_major_unit_text_and_reads_back_in_either_stored_form() {
        let a = Amount::from_minor(130_050).unwrap();
        assert_eq!(serde_json::to_string(&a).unwrap(), r#""1300.50""#);
        assert_eq!(serde_json::from_str::<Amount>(r#""1300.50""#).unwrap(), a);
        // What earlier versions stored: integer minor units.
        assert_eq!(serde_json::from_str::<Amount>("130050").unwrap(), a);
        assert_eq!(serde_json::to_string(&Balance::ZERO).unwrap(), r#""0.00""#);
        for bad in [
            r#""0""#,
            r#""1.005""#,
            "0",
            "-5",
            r#""abc""#,
            "1.5",
            "null",
            "9223372036854775808",
        ] {
            assert!(serde_json::from_str::<Amount>(bad).is_err(), "{bad}");
        }
        assert_eq!(major(-250), "-2.50");
        assert_eq!(major(0), "0.00");
    }

    #[test]
    fn a_balance_never_goes_below_zero() {
        let b = Balance::from_minor(100).unwrap();
        assert_eq!(b.minus(Amount::from_minor(101).unwrap()), None);
        assert_eq!(
            b.minus(Amount::from_minor(100).unwrap()),
            Some(Balance::ZERO)
        );
        assert_eq!(
            Balance::from_minor(i64::MAX)
                .unwrap()
                .plus(Amount::from_minor(1).unwrap()),
            None
        );
    }

    proptest! {
        #[test]
        fn formatting_then_parsing_round_trips(minor in 1i64..=100_000_000) {
            let a = Amount::from_minor(minor).unwrap();
            prop_assert_eq!(Amount::parse_major(&a.to_string(), max()), Ok(a));
        }

        #[test]
        fn money_round_trips_through_json(minor in 0i64..=ABSOLUTE_MAX_MINOR) {
            let b = Balance::from_minor(minor).unwrap();
            let text = serde_json::to_string(&b).unwrap();
            prop_assert_eq!(serde_json::from_str::<Balance>(&text).unwrap(), b);
        }

        #[test]
        fn arbitrary_text_never_panics(text in ".{0,40}") {
            let _ = Amount::parse_major(&text, max());
        }
    }
}
