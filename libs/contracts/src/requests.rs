//! HTTP (and socket) command bodies: strict decoding — unknown fields, wrong
//! types and bad values are refused with the field that was wrong.

use ledgerline_domain::{
    AccountCommand, AccountId, Amount, Balance, CommandKind, Currency, Reference,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::wire_amount::WireBalance;
use crate::{FieldError, WireAmount};

#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OpenAccountRequest {
    /// Chosen by the caller, or generated when absent.
    #[schemars(with = "Option<AccountId>")]
    pub account_id: Option<String>,
    #[schemars(with = "Option<WireBalance>")]
    pub initial_balance: Option<WireAmount>,
    /// ISO 4217; EUR when absent.
    #[schemars(with = "Option<Currency>")]
    pub currency: Option<String>,
    /// Client-chosen UUID; the same id twice is one command.
    pub command_id: Option<Uuid>,
}

#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DepositRequest {
    #[schemars(with = "AccountId")]
    pub account_id: String,
    pub amount: WireAmount,
    /// A note for the payer's records (1–140 characters, no control characters).
    #[schemars(with = "Option<Reference>")]
    pub reference: Option<String>,
    pub command_id: Option<Uuid>,
}

#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WithdrawRequest {
    #[schemars(with = "AccountId")]
    pub account_id: String,
    pub amount: WireAmount,
    pub command_id: Option<Uuid>,
}

#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CloseAccountRequest {
    #[schemars(with = "AccountId")]
    pub account_id: String,
    pub command_id: Option<Uuid>,
}

/// Moves money to another account (anyone's): one final status arrives
/// once the target took it — or refused it and the money came back.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TransferRequest {
    #[schemars(with = "AccountId")]
    pub from_account_id: String,
    #[schemars(with = "AccountId")]
    pub to_account_id: String,
    pub amount: WireAmount,
    pub command_id: Option<Uuid>,
}

/// The answer to an accepted command: it is safely queued, and its outcome
/// will arrive as a status envelope (or at `statusUrl`).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AcceptedResponse {
    pub command_id: Uuid,
    /// Always `accepted`.
    pub status: String,
    pub status_url: String,
}

/// A validated command, with the client's command id when it chose one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandRequest {
    pub command: AccountCommand,
    pub command_id: Option<Uuid>,
}

/// Why a command body was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Not JSON at all (400).
    #[error("the body is not valid JSON: {0}")]
    Malformed(String),
    /// JSON of the wrong shape or with bad values (422).
    #[error("the body is not a valid command")]
    Invalid(Vec<FieldError>),
}

fn account_id(field: &str, value: &str, errors: &mut Vec<FieldError>) -> Option<AccountId> {
    AccountId::parse(value)
        .map_err(|e| errors.push(FieldError::new(field, e)))
        .ok()
}

fn amount(
    field: &str,
    value: &WireAmount,
    max: Amount,
    errors: &mut Vec<FieldError>,
) -> Option<Amount> {
    value
        .amount(max)
        .map_err(|e| errors.push(FieldError::new(field, e)))
        .ok()
}

fn generated_account_id() -> AccountId {
    let random = Uuid::now_v7().simple().to_string();
    // The tail of a v7 UUID is random; the head is the clock.
    AccountId::parse(format!("acc-{}", &random[random.len() - 12..]))
        .unwrap_or_else(|_| unreachable!())
}

/// Decodes and validates the body of `POST /commands/{kind}`.
pub fn decode_command_request(
    kind: CommandKind,
    body: &[u8],
    max: Amount,
) -> Result<CommandRequest, DecodeError> {
    fn parse<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, DecodeError> {
        serde_json::from_slice(body).map_err(|e| match e.classify() {
            serde_json::error::Category::Data => {
                DecodeError::Invalid(vec![FieldError::new("body", e)])
            }
            _ => DecodeError::Malformed(e.to_string()),
        })
    }
    let mut errors = Vec::new();
    let (command, command_id) = match kind {
        CommandKind::OpenAccount => {
            let req: OpenAccountRequest = parse(body)?;
            let account_id = match &req.account_id {
                Some(id) => account_id("accountId", id, &mut errors),
                None => Some(generated_account_id()),
            };
            let initial_balance = match &req.initial_balance {
                Some(v) => v
                    .balance(max)
                    .map_err(|e| errors.push(FieldError::new("initialBalance", e)))
                    .ok(),
                None => Some(Balance::ZERO),
            };
            let currency = match req.currency {
                Some(c) => Currency::parse(c)
                    .map_err(|e| errors.push(FieldError::new("currency", e)))
                    .ok(),
                None => Some(Currency::default()),
            };
            let command = match (account_id, initial_balance, currency) {
                (Some(account_id), Some(initial_balance), Some(currency)) => {
                    Some(AccountCommand::OpenAccount {
                        account_id,
                        currency,
                        initial_balance,
                    })
                }
                _ => None,
            };
            (command, req.command_id)
        }
        CommandKind::Deposit => {
            let req: DepositRequest = parse(body)?;
            let id = account_id("accountId", &req.account_id, &mut errors);
            let amount = amount("amount", &req.amount, max, &mut errors);
            let reference = match req.reference {
                Some(text) => match Reference::parse(text) {
                    Ok(r) => Some(r),
                    Err(e) => {
                        errors.push(FieldError::new("reference", e));
                        None
                    }
                },
                None => None,
            };
            (
                id.zip(amount)
                    .map(|(account_id, amount)| AccountCommand::Deposit {
                        account_id,
                        amount,
                        reference,
                    }),
                req.command_id,
            )
        }
        CommandKind::Withdraw => {
            let req: WithdrawRequest = parse(body)?;
            let id = account_id("accountId", &req.account_id, &mut errors);
            let amount = amount("amount", &req.amount, max, &mut errors);
            (
                id.zip(amount)
                    .map(|(account_id, amount)| AccountCommand::Withdraw { account_id, amount }),
                req.command_id,
            )
        }
        CommandKind::CloseAccount => {
            let req: CloseAccountRequest = parse(body)?;
            let id = account_id("accountId", &req.account_id, &mut errors);
            (
                id.map(|account_id| AccountCommand::CloseAccount { account_id }),
                req.command_id,
            )
        }
        CommandKind::Transfer => {
            let req: TransferRequest = parse(body)?;
            let from = account_id("fromAccountId", &req.from_account_id, &mut errors);
            let to = account_id("toAccountId", &req.to_account_id, &mut errors);
            if from.is_some() && from == to {
                errors.push(FieldError::new(
                    "toAccountId",
                    "must differ from fromAccountId",
                ));
            }
            let amount = amount("amount", &req.amount, max, &mut errors);
            let command = match (from, to, amount) {
                (Some(account_id), Some(to_account_id), Some(amount)) => {
                    Some(AccountCommand::Transfer {
                        account_id,
                        to_account_id,
                        amount,
                    })
                }
                _ => None,
            };
            (command, req.command_id)
        }
        // A transfer's later steps come from the processor, never from a request.
        CommandKind::CreditTransfer
        | CommandKind::CompleteTransfer
        | CommandKind::RefundTransfer => {
            return Err(DecodeError::Invalid(vec![FieldError::new(
                "command",
                "not a command clients may send",
            )]));
        }
    };
    match command {
        Some(command) if errors.is_empty() => Ok(CommandRequest {
            command,
            command_id,
        }),
        _ => Err(DecodeError::Invalid(errors)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(kind: CommandKind, body: &str) -> Result<CommandRequest, DecodeError> {
        decode_command_request(
            kind,
            body.as_bytes(),
            Amount::from_minor(100_000_000).unwrap(),
        )
    }

    fn invalid_fields(result: Result<CommandRequest, DecodeError>) -> Vec<String> {
        match result {
            Err(DecodeError::Invalid(errors)) => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn a_valid_deposit_decodes_to_minor_units() {
        let req = decode(
            CommandKind::Deposit,
            r#"{"accountId":"acc-1","amount":"10.10"}"#,
        )
        .unwrap();
        assert_eq!(
            req.command,
            AccountCommand::deposit(
                AccountId::parse("acc-1").unwrap(),
                Amount::from_minor(1010).unwrap()
            )
        );
    }

    #[test]
    fn open_account_fills_in_defaults() {
        let req = decode(CommandKind::OpenAccount, "{}").unwrap();
        let AccountCommand::OpenAccount {
            account_id,
            currency,
            initial_balance,
        } = req.command
        else {
            panic!()
        };
        assert!(account_id.as_str().starts_with("acc-"));
        assert_eq!((currency.as_str(), initial_balance.minor()), ("EUR", 0));
    }

    #[test]
    fn malformed_json_is_told_apart_from_a_wrong_shape() {
        assert!(matches!(
            decode(CommandKind::Deposit, "{not json"),
            Err(DecodeError::Malformed(_))
        ));
        assert_eq!(
            invalid_fields(decode(
                CommandKind::Deposit,
                r#"{"accountId":"a","amount":1,"x":1}"#
            )),
            ["body"]
        );
        assert_eq!(
            invalid_fields(decode(CommandKind::Deposit, r#"{"amount":1}"#)),
            ["body"]
        );
        assert_eq!(
            invalid_fields(decode(
                CommandKind::Deposit,
                r#"{"accountId":5,"amount":1}"#
            )),
            ["body"]
        );
    }

    #[test]
    fn every_bad_field_is_named() {
        let fields = invalid_fields(decode(
            CommandKind::Withdraw,
            r#"{"accountId":"a.b","amount":"1.005"}"#,
        ));
        assert_eq!(fields, ["accountId", "amount"]);
        let fields = invalid_fields(decode(
            CommandKind::OpenAccount,
            r#"{"currency":"eur","initialBalance":-1}"#,
        ));
        assert_eq!(fields, ["initialBalance", "currency"]);
    }
}
