//! Every decoder of outside input, fed arbitrary and near-valid input:
//! it never panics, and it accepts exactly what the contract allows.
#![allow(clippy::unwrap_used)]

use ledgerline_contracts::{
    AcceptRequest, ClientFrame, CommandMessage, DecodeError, EventEnvelope, StatusMessage,
    decode_command_request,
};
use ledgerline_domain::{AccountCommand, Amount, CommandKind};
use proptest::prelude::*;

const KINDS: [CommandKind; 4] = [
    CommandKind::OpenAccount,
    CommandKind::Deposit,
    CommandKind::Withdraw,
    CommandKind::CloseAccount,
];

fn max() -> Amount {
    Amount::from_minor(100_000_000).unwrap()
}

/// The contract, written independently of the parser: digits, optionally
/// a point and one or two digits; more than zero; at most the maximum.
fn amount_is_valid(text: &str) -> Option<i64> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let shape_ok = !whole.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.bytes().all(|b| b.is_ascii_digit())
        && (fraction.len() <= 2)
        && (text.contains('.') != fraction.is_empty());
    if !shape_ok {
        return None;
    }
    let whole: i128 = whole.parse().ok()?;
    let cents: i128 = format!("{fraction:0<2}").parse().ok()?;
    let minor = whole * 100 + cents;
    (minor > 0 && minor <= 100_000_000).then_some(minor as i64)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn arbitrary_bytes_never_panic_any_decoder(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        for kind in KINDS {
            let _ = decode_command_request(kind, &bytes, max());
        }
        let _ = serde_json::from_slice::<ClientFrame>(&bytes);
        let _ = serde_json::from_slice::<CommandMessage>(&bytes);
        let _ = serde_json::from_slice::<EventEnvelope>(&bytes);
        let _ = serde_json::from_slice::<StatusMessage>(&bytes);
        let _ = serde_json::from_slice::<AcceptRequest>(&bytes);
    }

    /// Near-valid amounts as JSON strings: accepted exactly when the
    /// contract says so, and then to the exact minor unit.
    #[test]
    fn an_amount_string_is_accepted_iff_the_contract_allows_it(text in "[-+ ]?[0-9]{0,12}(\\.[0-9]{0,4})?(e[0-9])?") {
        let body = serde_json::json!({"accountId": "acc-1", "amount": text}).to_string();
        let decoded = decode_command_request(CommandKind::Deposit, body.as_bytes(), max());
        match (amount_is_valid(&text), decoded) {
            (Some(minor), Ok(request)) => {
                let AccountCommand::Deposit { amount, .. } = request.command else { panic!("not a deposit") };
                prop_assert_eq!(amount.minor(), minor);
            }
            (None, Err(DecodeError::Invalid(errors))) => prop_assert_eq!(errors[0].field.as_str(), "amount"),
            (expected, got) => prop_assert!(false, "{text:?}: expected {expected:?}, got {got:?}"),
        }
    }

    /// The same for JSON numbers, written as raw JSON text.
    #[test]
    fn an_amount_number_is_accepted_iff_the_contract_allows_it(text in "-?[0-9]{1,12}(\\.[0-9]{1,4})?") {
        let body = format!(r#"{{"accountId":"acc-1","amount":{text}}}"#);
        let decoded = decode_command_request(CommandKind::Withdraw, body.as_bytes(), max());
        // JSON numbers allow no sign other than '-' and no leading zeros.
        let leading_zero = text.len() > 1 && text.starts_with('0') && !text.starts_with("0.");
        let valid = !(text.starts_with('-') || leading_zero);
        match (amount_is_valid(&text).filter(|_| valid), decoded) {
            (Some(minor), Ok(request)) => {
                let AccountCommand::Withdraw { amount, .. } = request.command else { panic!("not a withdrawal") };
                prop_assert_eq!(amount.minor(), minor);
            }
            (None, Err(_)) => {}
            (expected, got) => prop_assert!(false, "{text}: expected {expected:?}, got {got:?}"),
        }
    }

    /// Account ids: accepted exactly when they are safe NATS subject tokens.
    #[test]
    fn an_account_id_is_accepted_iff_it_is_a_safe_subject_token(id in "[A-Za-z0-9_.*> -]{0,70}") {
        let body = serde_json::json!({"accountId": id}).to_string();
        let decoded = decode_command_request(CommandKind::CloseAccount, body.as_bytes(), max());
        let safe = (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        prop_assert_eq!(decoded.is_ok(), safe, "{:?}", id);
    }
}
