//! The JSON Schemas published in `proto/schemas/`, generated from the types.

use schemars::{Schema, schema_for};

use crate::*;

/// Every published schema, by file stem.
pub fn all() -> Vec<(&'static str, Schema)> {
    vec![
        ("open-account-request", schema_for!(OpenAccountRequest)),
        ("deposit-request", schema_for!(DepositRequest)),
        ("withdraw-request", schema_for!(WithdrawRequest)),
        ("close-account-request", schema_for!(CloseAccountRequest)),
        ("transfer-request", schema_for!(TransferRequest)),
        ("accepted-response", schema_for!(AcceptedResponse)),
        ("problem", schema_for!(Problem)),
        ("command-message", schema_for!(CommandMessage)),
        ("event-envelope", schema_for!(EventEnvelope)),
        ("status-envelope", schema_for!(StatusEnvelope)),
        ("status-message", schema_for!(StatusMessage)),
        ("event-frame", schema_for!(EventFrame)),
        ("accepted-frame", schema_for!(AcceptedFrame)),
        ("error-frame", schema_for!(ErrorFrame)),
        ("heartbeat-frame", schema_for!(HeartbeatFrame)),
        ("welcome-frame", schema_for!(WelcomeFrame)),
        ("refreshed-frame", schema_for!(RefreshedFrame)),
        ("client-frame", schema_for!(ClientFrame)),
    ]
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    fn dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../proto/schemas")
    }

    /// Run with `UPDATE_SCHEMAS=1` (`make proto`) to rewrite the files.
    #[test]
    fn committed_schemas_match_the_rust_types() {
        let update = std::env::var_os("UPDATE_SCHEMAS").is_some();
        for (name, schema) in super::all() {
            let path = dir().join(format!("{name}.json"));
            let generated = serde_json::to_string_pretty(&schema).unwrap() + "\n";
            if update {
                std::fs::create_dir_all(dir()).unwrap();
                std::fs::write(&path, &generated).unwrap();
            }
            let committed = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(
                committed == generated,
                "{} drifted from the Rust types; run `make proto`",
                path.display()
            );
        }
    }
}
