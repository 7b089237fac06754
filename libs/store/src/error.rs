#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("event store database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("stored data does not decode: {0}")]
    Corrupt(String),
    /// The process's commit queue is gone (its runtime is shutting down).
    #[error(transparent)]
    Stopped(#[from] crate::Stopped),
}

/// Why an append did not happen.
#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    /// Another writer appended to the account first: reload and decide again.
    #[error("version conflict")]
    Conflict,
    /// The command already has an outcome (decided concurrently elsewhere).
    #[error("command already decided")]
    AlreadyDecided,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for CommitError {
    fn from(error: sqlx::Error) -> Self {
        Self::from_sqlx(error)
    }
}

impl CommitError {
    /// What a failed append means: the constraints that make appends
    /// optimistic and outcomes unique say which race was lost.
    pub(crate) fn from_sqlx(error: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &error {
            match db.constraint() {
                Some("events_aggregate_version") => return Self::Conflict,
                Some("command_outcomes_pkey") => return Self::AlreadyDecided,
                _ => {}
            }
        }
        Self::Store(StoreError::Database(error))
    }
}
