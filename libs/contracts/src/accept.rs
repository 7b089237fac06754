use ledgerline_domain::UserId;
use serde::{Deserialize, Serialize};

/// A command that came in through another door (a socket frame) for the
/// command API to accept (`ledgerline_bus::Acceptance`; over NATS,
/// `{prefix}.rpc.accept`). Internal to the cluster.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AcceptRequest {
    pub user_id: UserId,
    /// `open-account`, `deposit`, `withdraw` or `close-account`.
    pub kind: String,
    pub idempotency_key: Option<String>,
    /// The JSON body as text, so amounts are parsed exactly.
    pub body: String,
}
