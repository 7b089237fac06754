//! The command routes' documentation: what each command takes and how it
//! can be refused, beside the routes in `routes.rs`.

use aide::transform::TransformOperation;
use axum::Json;
use ledgerline_contracts::{
    AcceptedResponse, CloseAccountRequest, DepositRequest, OpenAccountRequest, TransferRequest,
    WithdrawRequest,
};
use ledgerline_domain::CommandKind;
use ledgerline_runtime::api_doc::{OperationDocs, Refusal, header};
use serde_json::{Value, json};

/// `POST /commands/{kind}`.
pub(crate) fn command_doc(
    kind: CommandKind,
) -> impl FnOnce(TransformOperation<'_>) -> TransformOperation<'_> {
    move |op| {
        let (id, summary, description, example) = about(kind);
        let op = op
            .id(id)
            .tag("commands")
            .summary(summary)
            .description(description);
        let op = match kind {
            CommandKind::OpenAccount => op.input::<Json<OpenAccountRequest>>(),
            CommandKind::Deposit => op.input::<Json<DepositRequest>>(),
            CommandKind::Withdraw => op.input::<Json<WithdrawRequest>>(),
            CommandKind::CloseAccount => op.input::<Json<CloseAccountRequest>>(),
            _ => op.input::<Json<TransferRequest>>(),
        };
        let mut op = op;
        if let Some(body) = op
            .inner_mut()
            .request_body
            .as_mut()
            .and_then(|b| b.as_item_mut())
        {
            body.description = Some(BODY.to_owned());
            for media in body.content.values_mut() {
                media.example = Some(example.clone());
            }
        }
        op.served_by("command-api")
            .with(idempotency_key)
            .response_with::<202, Json<AcceptedResponse>, _>(|mut r| {
                r.inner().headers.insert(
                    "Location".to_owned(),
                    header(
                        "The command's status URL, `/commands/{commandId}` (same as `statusUrl`).",
                        json!({"type": "string"}),
                    ),
                );
                r.description(ACCEPTED)
            })
            .refuses_saying(
                Refusal::BadRequest,
                "The body is not UTF-8, or not JSON at all (including an empty body).",
            )
            .refuses(&[
                Refusal::Unauthorized,
                Refusal::RequestTimeout,
                Refusal::PayloadTooLarge,
                Refusal::UnsupportedMediaType,
            ])
            .refuses_saying(Refusal::Unprocessable, UNPROCESSABLE)
            .refuses_saying(Refusal::Unavailable, UNAVAILABLE)
    }
}

fn about(kind: CommandKind) -> (&'static str, &'static str, &'static str, Value) {
    match kind {
        CommandKind::OpenAccount => (
            "openAccount",
            r#"Open an account"#,
            r#"Opens an account owned by the caller. Every field is optional: `accountId` is generated (`acc-` + 12 hex digits) when absent, `currency` defaults to `EUR`, `initialBalance` to 0. The decision (`AccountOpened`, or the rejection `ACCOUNT_ALREADY_EXISTS`) arrives later as a status envelope.

Checks in this order: chaos switch (503), bearer token (401), `Content-Type` (415), body size (413), UTF-8 and JSON syntax (400), body shape and values and `Idempotency-Key` (422), idempotency-key reuse (422), then the JetStream publish (503 when it is not acknowledged; nothing is queued). The command id is the body's `commandId`, else UUIDv5(`{userId}:{Idempotency-Key}`), else a new UUIDv7. Repeating an accepted command (same id, same user, same validated command) answers the same 202 again and is never decided twice. Command ids are the user's own: another user naming the same id gets a command of their own."#,
            json!({"accountId": "acc-1", "initialBalance": "100.00", "currency": "EUR"}),
        ),
        CommandKind::Deposit => (
            "deposit",
            r#"Deposit money"#,
            r#"Queues a deposit into one of the caller's accounts. `amount` is in major units, a JSON number or string with at most 2 fraction digits, greater than zero and at most `MAX_AMOUNT` (default 1000000.00). Possible rejections: `ACCOUNT_NOT_FOUND`, `NOT_OWNER`, `ACCOUNT_CLOSED`, `BALANCE_LIMIT_EXCEEDED`.

Checks in this order: chaos switch (503), bearer token (401), `Content-Type` (415), body size (413), UTF-8 and JSON syntax (400), body shape and values and `Idempotency-Key` (422), idempotency-key reuse (422), then the JetStream publish (503 when it is not acknowledged; nothing is queued). The command id is the body's `commandId`, else UUIDv5(`{userId}:{Idempotency-Key}`), else a new UUIDv7. Repeating an accepted command (same id, same user, same validated command) answers the same 202 again and is never decided twice. Command ids are the user's own: another user naming the same id gets a command of their own. An optional `reference` (1–140 printable characters) is kept on the MoneyDeposited event (schema version 2)."#,
            json!({"accountId": "acc-1", "amount": "500.00"}),
        ),
        CommandKind::Withdraw => (
            "withdraw",
            r#"Withdraw money"#,
            r#"Queues a withdrawal from one of the caller's accounts (same amount rules as deposit). Possible rejections: `ACCOUNT_NOT_FOUND`, `NOT_OWNER`, `ACCOUNT_CLOSED`, `INSUFFICIENT_FUNDS`.

Checks in this order: chaos switch (503), bearer token (401), `Content-Type` (415), body size (413), UTF-8 and JSON syntax (400), body shape and values and `Idempotency-Key` (422), idempotency-key reuse (422), then the JetStream publish (503 when it is not acknowledged; nothing is queued). The command id is the body's `commandId`, else UUIDv5(`{userId}:{Idempotency-Key}`), else a new UUIDv7. Repeating an accepted command (same id, same user, same validated command) answers the same 202 again and is never decided twice. Command ids are the user's own: another user naming the same id gets a command of their own."#,
            json!({"accountId": "acc-1", "amount": 20.5}),
        ),
        CommandKind::CloseAccount => (
            "closeAccount",
            r#"Close an account"#,
            r#"Queues the closing of one of the caller's accounts. Possible rejections: `ACCOUNT_NOT_FOUND`, `NOT_OWNER`, `ACCOUNT_CLOSED`, `NON_ZERO_BALANCE`.

Checks in this order: chaos switch (503), bearer token (401), `Content-Type` (415), body size (413), UTF-8 and JSON syntax (400), body shape and values and `Idempotency-Key` (422), idempotency-key reuse (422), then the JetStream publish (503 when it is not acknowledged; nothing is queued). The command id is the body's `commandId`, else UUIDv5(`{userId}:{Idempotency-Key}`), else a new UUIDv7. Repeating an accepted command (same id, same user, same validated command) answers the same 202 again and is never decided twice. Command ids are the user's own: another user naming the same id gets a command of their own."#,
            json!({"accountId": "acc-1"}),
        ),
        _ => (
            "transfer",
            r#"Move money to another account (anyone's), as a process across both accounts"#,
            r#"Debits the source (money in flight), credits the target, then completes — or refunds the source if the target refuses (ACCOUNT_NOT_FOUND, ACCOUNT_CLOSED, CURRENCY_MISMATCH). One final status envelope arrives under the returned commandId: succeeded, or rejected with the reason (INSUFFICIENT_FUNDS, NOT_OWNER, or the target's refusal after the money came back). fromAccountId and toAccountId must differ (422)."#,
            json!({"fromAccountId": "acc-1", "toAccountId": "acc-2", "amount": "25.00"}),
        ),
    }
}

const BODY: &str = r#"`Content-Type: application/json` is required (parameters such as `; charset=utf-8` are allowed). At most `BODY_LIMIT` bytes (default 16384). Unknown fields are refused."#;

const ACCEPTED: &str = r#"Accepted: the command is stored and acknowledged by JetStream on `bank.cmd.{partition}.{accountId}`. Its outcome follows as a `status` frame on `/ws` and at `statusUrl`."#;

const UNPROCESSABLE: &str = r#"`invalid-body`: wrong shape (unknown or missing field, wrong type: field `body`), bad values (`accountId`, `amount`, `initialBalance`, `currency`, `commandId`), an `Idempotency-Key` that is not 1 to 255 visible ASCII characters, or both `Idempotency-Key` and a different `commandId`. `idempotency-key-reused`: this key (or `commandId`) was used before for a different command."#;

const UNAVAILABLE: &str = r#"The chaos switch refused the request (`CHAOS_FAILURE_RATE`), the commands table could not be written, or JetStream did not acknowledge the publish. Nothing was queued; retry with the same `Idempotency-Key` or `commandId`."#;

/// The optional `Idempotency-Key` header every command takes.
fn idempotency_key(mut op: TransformOperation<'_>) -> TransformOperation<'_> {
    op.inner_mut().parameters.push(aide::openapi::ReferenceOr::Item(aide::openapi::Parameter::Header {
        parameter_data: aide::openapi::ParameterData {
            name: "Idempotency-Key".to_owned(),
            description: Some(r#"1 to 255 visible ASCII characters (0x21–0x7E). The command id becomes UUIDv5(`{userId}:{key}`), so a retry with the same key is the same command; the same key with a different command is 422 `idempotency-key-reused`."#.to_owned()),
            required: false,
            deprecated: None,
            format: aide::openapi::ParameterSchemaOrContent::Schema(aide::openapi::SchemaObject {
                json_schema: schemars::json_schema!({
                    "type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]{1,255}$"
                }),
                example: None,
                external_docs: None,
            }),
            example: None,
            examples: Default::default(),
            explode: None,
            extensions: Default::default(),
        },
        style: Default::default(),
    }));
    op
}
/// `GET /commands/{commandId}`.
pub(crate) fn command_status_doc(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op.id("getCommand")
        .tag("commands")
        .summary("The outcome of one of the caller's commands")
        .description("For clients without a socket. `status` is `accepted` until the event store holds the command's outcome, then `succeeded`, `rejected` or `failed` with the envelope in `outcome` (a transfer: once its last step is decided).")
        .served_by("command-api")
        .response_with::<200, Json<crate::routes::CommandStatus>, _>(|r| {
            r.description("The command as accepted, and its outcome as the event store holds it.")
        })
        .refuses(&[Refusal::Unauthorized])
        .refuses_saying(Refusal::NotFound, "No command with this id belongs to the caller.")
        .refuses_saying(Refusal::Unprocessable, "`invalid-body`: `commandId` is not a UUID.")
        .refuses_saying(Refusal::Unavailable, "The commands table or the event store could not be read. (The chaos switch refuses POSTs only; reading an outcome is never refused on purpose.)")
}
