//! The processor's metrics, each emitted from one place.

use ledgerline_contracts::{CommandMessage, StatusMessage};

/// Counts a command decided just now and how long it waited since the 202.
pub fn record_decided(message: &CommandMessage, status: &StatusMessage) {
    let kind = format!("{:?}", status.payload.status).to_lowercase();
    metrics::counter!("ledgerline_commands_decided_total", "kind" => message.command.kind().slug(), "status" => kind).increment(1);
    let waited = time::OffsetDateTime::now_utc() - message.accepted_at;
    metrics::histogram!("ledgerline_command_end_to_end_seconds")
        .record(waited.as_seconds_f64().max(0.0));
}

/// Counts a command given up on (it ends `failed` / `UNDECIDABLE`).
pub fn record_undecidable() {
    metrics::counter!("ledgerline_commands_undecidable_total").increment(1);
}

/// How many partitions this replica decides now (it holds their leases).
pub fn record_partitions_owned(owned: usize) {
    metrics::gauge!("ledgerline_processor_partitions_owned").set(owned as f64);
}
