use std::time::Duration;

use crate::config::MIN_TTL;

#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    #[error("lease TTL {0:?} is shorter than {MIN_TTL:?}")]
    TtlTooShort(Duration),
    #[error("replica id {0:?} must be 1 to 128 of A-Z a-z 0-9 _ -")]
    InvalidReplicaId(String),
    #[error("lease bucket {0} has no max_age, so a dead replica's leases would never expire")]
    BucketNeverExpires(String),
    #[error("NATS, {what}: {message}")]
    Nats { what: &'static str, message: String },
}
