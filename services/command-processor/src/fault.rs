//! Why handling a command did not finish, and whether trying the same thing
//! again can help. The difference decides whether a partition waits: a
//! fault of the infrastructure (PostgreSQL or NATS away) is waited out in
//! place — commands stay queued and are decided when it returns — while a
//! fault of the command or of its stored data would be hit again on every
//! attempt, so it is given a few attempts and then ends as `failed` (see
//! `retry`), and the partition moves on.

use ledgerline_bus::BusError;
use ledgerline_store::{CommitError, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum Fault {
    /// The infrastructure is away or overloaded: the same attempt can
    /// succeed later.
    #[error("{0}")]
    Transient(String),
    /// Trying again will meet the same refusal.
    #[error("{0}")]
    Permanent(String),
}

impl Fault {
    pub fn is_permanent(&self) -> bool {
        matches!(self, Self::Permanent(_))
    }
}

impl From<StoreError> for Fault {
    fn from(error: StoreError) -> Self {
        match &error {
            StoreError::Database(e) if is_transient(e) => Self::Transient(error.to_string()),
            // Shutting down: the next owner decides it.
            StoreError::Stopped(_) => Self::Transient(error.to_string()),
            _ => Self::Permanent(error.to_string()),
        }
    }
}

impl From<CommitError> for Fault {
    fn from(error: CommitError) -> Self {
        match error {
            CommitError::Store(e) => e.into(),
            // Races with another writer: deciding again resolves them.
            other => Self::Transient(other.to_string()),
        }
    }
}

impl From<BusError> for Fault {
    fn from(error: BusError) -> Self {
        match error {
            BusError::Encode(_) => Self::Permanent(error.to_string()),
            _ => Self::Transient(error.to_string()),
        }
    }
}

/// Whether a database error is the server being away or busy rather than
/// a refusal of this statement. What is not known to be a refusal counts
/// as transient: deciding late is better than failing a command that an
/// outage merely delayed.
fn is_transient(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(e) => {
            // SQLSTATE classes: 08 connection, 40 rollback (serialization,
            // deadlock), 53 resources, 57 operator intervention (shutdown),
            // 58 system error. Anything else (22 data, 23 integrity, 42
            // syntax …) refuses this very statement every time.
            let code = e.code();
            let class = code.as_deref().and_then(|c| c.get(..2)).unwrap_or("");
            matches!(class, "08" | "40" | "53" | "57" | "58")
        }
        sqlx::Error::Decode(_)
        | sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::ColumnNotFound(_)
        | sqlx::Error::ColumnIndexOutOfBounds { .. }
        | sqlx::Error::TypeNotFound { .. }
        | sqlx::Error::RowNotFound
        | sqlx::Error::Configuration(_) => false,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corrupt_data_is_permanent_and_an_unreachable_server_is_not() {
        assert!(Fault::from(StoreError::Corrupt("bad row".into())).is_permanent());
        assert!(Fault::from(StoreError::Database(sqlx::Error::RowNotFound)).is_permanent());
        assert!(!Fault::from(StoreError::Database(sqlx::Error::PoolTimedOut)).is_permanent());
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        assert!(!Fault::from(StoreError::Database(sqlx::Error::Io(io))).is_permanent());
        assert!(!Fault::from(CommitError::Conflict).is_permanent());
    }
}
