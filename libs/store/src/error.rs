#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("event store database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("stored data does not decode: {0}")]
    Corrupt(String),
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
