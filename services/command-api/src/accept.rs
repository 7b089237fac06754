use axum::http::StatusCode;
use futures::future::BoxFuture;
use ledgerline_bus::{Acceptance, Bus};
use ledgerline_contracts::{
    AcceptRequest, AcceptedResponse, CommandMessage, DecodeError, FieldError, Problem,
    decode_command_request,
};
use ledgerline_domain::{Amount, CommandKind};
use ledgerline_runtime::ApiProblem;
use sqlx::PgPool;

use crate::recorder::{NewCommand, Recorder};
use time::OffsetDateTime;
use uuid::Uuid;

/// Namespace of command ids derived from `Idempotency-Key`s.
const IDEMPOTENCY_NAMESPACE: Uuid = Uuid::from_u128(0x6c65_6467_6572_6c69_6e65_2d69_646b_6579);

/// Acceptance: validation, idempotency and the queueing of commands.
#[derive(Clone)]
pub struct AcceptService {
    pub pool: PgPool,
    pub(crate) recorder: Recorder,
    pub bus: Bus,
    pub max_amount: Amount,
}

fn idempotency_key(key: &str) -> Result<&str, ApiProblem> {
    let ok = (1..=255).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic());
    if ok {
        Ok(key)
    } else {
        Err(ApiProblem::invalid(vec![FieldError::new(
            "Idempotency-Key",
            "must be 1 to 255 visible ASCII characters",
        )]))
    }
}

impl AcceptService {
    /// Validates and queues a command. `Ok` only once JetStream has acked
    /// the publish; on any error nothing new was queued.
    pub async fn accept(&self, request: &AcceptRequest) -> Result<AcceptedResponse, ApiProblem> {
        let kind = CommandKind::from_slug(&request.kind)
            .ok_or_else(|| ApiProblem::not_found(format!("no command named '{}'", request.kind)))?;
        let decoded = decode_command_request(kind, request.body.as_bytes(), self.max_amount)
            .map_err(|e| match e {
                DecodeError::Malformed(detail) => ApiProblem::bad_request(detail),
                DecodeError::Invalid(errors) => ApiProblem::invalid(errors),
            })?;
        let derived = match &request.idempotency_key {
            Some(key) => {
                let name = format!("{}:{}", request.user_id, idempotency_key(key)?);
                Some(Uuid::new_v5(&IDEMPOTENCY_NAMESPACE, name.as_bytes()))
            }
            None => None,
        };
        let command_id = match (derived, decoded.command_id) {
            (Some(a), Some(b)) if a != b => {
                return Err(ApiProblem::invalid(vec![FieldError::new(
                    "commandId",
                    "give either Idempotency-Key or commandId, not both",
                )]));
            }
            (Some(id), _) | (None, Some(id)) => id,
            (None, None) => Uuid::now_v7(),
        };
        let message = CommandMessage {
            command_id,
            correlation_id: command_id,
            user_id: request.user_id.clone(),
            accepted_at: OffsetDateTime::now_utc(),
            command: decoded.command,
            requeued: None,
        };
        let inserted = self.record(&message, kind).await?;
        if let Err(error) = self.bus.publish_command(&message).await {
            tracing::warn!(%error, %command_id, "command not queued");
            if inserted {
                // Best effort: a retry with the same key records it again.
                let _ = sqlx::query(
                    "DELETE FROM commands WHERE command_key = $1 AND status = 'accepted'",
                )
                .bind(message.key().as_uuid())
                .execute(&self.pool)
                .await;
            }
            return Err(ApiProblem::unavailable(
                "the command queue is not reachable; nothing was queued",
            ));
        }
        metrics::counter!("ledgerline_commands_accepted_total", "kind" => kind.slug()).increment(1);
        Ok(AcceptedResponse {
            command_id,
            status: "accepted".into(),
            status_url: format!("/commands/{command_id}"),
        })
    }

    /// Records the command under its key; `false` when the user's id was
    /// accepted before (the same command again, which is then queued again
    /// under the same key — JetStream and the event store both drop the
    /// repeat). Another user's use of the same id is another key: ids are
    /// the user's own.
    async fn record(
        &self,
        message: &CommandMessage,
        kind: CommandKind,
    ) -> Result<bool, ApiProblem> {
        let request = serde_json::to_value(&message.command).map_err(ApiProblem::internal)?;
        let inserted = self
            .recorder
            .insert(NewCommand {
                key: message.key(),
                command_id: message.command_id,
                user_id: message.user_id.as_str().to_owned(),
                kind: kind.slug(),
                request: request.clone(),
            })
            .await
            .map_err(|e| ApiProblem::unavailable(format!("cannot record the command: {e}")))?;
        if inserted {
            return Ok(true);
        }
        let previous: serde_json::Value =
            sqlx::query_scalar("SELECT request FROM commands WHERE command_key = $1")
                .bind(message.key().as_uuid())
                .fetch_one(&self.pool)
                .await
                .map_err(|e| ApiProblem::unavailable(format!("cannot read the command: {e}")))?;
        if previous != request {
            return Err(ApiProblem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency-key-reused",
                "This idempotency key was used for a different request",
            ));
        }
        Ok(false)
    }
}

/// The command API as the boundary other doors (the socket) accept through.
impl Acceptance for AcceptService {
    fn accept<'a>(
        &'a self,
        request: &'a AcceptRequest,
    ) -> BoxFuture<'a, Result<AcceptedResponse, Problem>> {
        Box::pin(async move { AcceptService::accept(self, request).await.map_err(|p| p.0) })
    }
}
