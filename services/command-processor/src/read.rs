//! Reading a delivery as a command. A NATS message can come from anyone:
//! what is not a command, or names another account than its subject's, is
//! poison — told to its sender when it names one, and never redelivered.

use async_nats::jetstream::AckKind;
use ledgerline_bus::{Bus, Delivery};
use ledgerline_contracts::{
    CommandMessage, StatusEnvelope, StatusError, StatusKind, StatusMessage,
};
use ledgerline_domain::UserId;
use uuid::Uuid;

/// The command in a delivery, if it is one and came on its account's subject.
pub fn read_command(bus: &Bus, delivery: &Delivery) -> Result<CommandMessage, String> {
    let message: CommandMessage =
        serde_json::from_slice(&delivery.payload).map_err(|e| e.to_string())?;
    // The subject must agree with the body, or the partition order is a lie.
    let expected = bus.subjects.command(
        ledgerline_bus::partition_of(message.command.account_id(), bus.partitions),
        message.command.account_id(),
    );
    if delivery.subject.as_str() != expected {
        return Err("subject does not match the command's account".into());
    }
    Ok(message)
}

/// A message that cannot be a command: tell its sender (when it names one)
/// with a `failed` envelope, and terminate it so it is never redelivered.
pub async fn reject_poison(bus: &Bus, delivery: Delivery, reason: &str) {
    tracing::warn!(subject = %delivery.subject, reason, "poison command message terminated");
    let loose: serde_json::Value = serde_json::from_slice(&delivery.payload).unwrap_or_default();
    let command_id = loose
        .get("commandId")
        .and_then(|v| v.as_str())
        .and_then(|s| Uuid::parse_str(s).ok());
    let user_id = loose
        .get("userId")
        .and_then(|v| v.as_str())
        .and_then(|s| UserId::parse(s).ok());
    if let (Some(command_id), Some(user_id)) = (command_id, user_id) {
        let entity = delivery
            .subject
            .rsplit('.')
            .next()
            .unwrap_or_default()
            .to_owned();
        // The reason can echo the sender's bytes: no control characters
        // (PostgreSQL's jsonb refuses `\u0000`, which would stall the
        // outcome recorders).
        let reason: String = reason.chars().filter(|c| !c.is_control()).collect();
        let error = StatusError {
            code: "INVALID_COMMAND".into(),
            message: format!("The command could not be read: {reason}"),
        };
        let payload = StatusEnvelope::new(command_id, &entity, Err((StatusKind::Failed, error)));
        if let Err(error) = bus
            .publish_status(&StatusMessage { user_id, payload })
            .await
        {
            tracing::warn!(%error, "cannot publish failed envelope");
        }
    }
    let _ = delivery.ack_with(AckKind::Term).await;
}
