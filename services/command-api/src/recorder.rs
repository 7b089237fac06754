//! Group commit for acceptance: the `commands` rows of requests arriving
//! together are inserted in one statement and one transaction, so a burst
//! of POSTs costs a few fsyncs rather than one each. A lone request waits
//! for nobody: it is inserted at once (see `ledgerline_store::CommitQueue`).

use std::collections::HashSet;
use std::sync::Arc;

use ledgerline_runtime::tuning::GROUP_SIZE;

use ledgerline_contracts::CommandKey;
use ledgerline_store::{CommitQueue, HeldConnection};
use serde_json::Value;
use sqlx::{PgConnection, PgPool};
use tokio::sync::Mutex;
use uuid::Uuid;

/// A command's row as accepted.
#[derive(Debug)]
pub struct NewCommand {
    pub key: CommandKey,
    /// The id the user knows it by.
    pub command_id: Uuid,
    pub user_id: String,
    pub kind: &'static str,
    pub request: Value,
}

/// A row's answer: whether this request inserted it.
type Inserted = Result<bool, String>;

#[derive(Clone)]
pub struct Recorder {
    queue: CommitQueue<NewCommand, Inserted>,
}

impl Recorder {
    /// Starts the inserting tasks; they end when the last clone is dropped.
    pub fn start(pool: PgPool) -> Self {
        // One statement in flight at a time: the queue keeps a connection.
        let held = Arc::new(Mutex::new(HeldConnection::new(pool)));
        let queue = CommitQueue::start(GROUP_SIZE, move |rows| {
            let held = held.clone();
            async move { insert_group(&mut *held.lock().await, rows).await }
        });
        Self { queue }
    }

    /// Inserts the row unless its key is there already; `true` when this
    /// call inserted it.
    pub async fn insert(&self, row: NewCommand) -> Result<bool, String> {
        self.queue
            .submit(row)
            .await
            .map_err(|_| "the command recorder has stopped".to_owned())?
    }
}

/// One statement for a group's rows; each row's answer in order.
async fn insert_group(held: &mut HeldConnection, rows: Vec<NewCommand>) -> Vec<Inserted> {
    // The same id twice in one group: only the first arrival's row goes
    // in; the later ones are answered "not inserted" and compared with
    // it like any repeat.
    let mut seen = HashSet::new();
    let first: Vec<&NewCommand> = rows.iter().filter(|r| seen.insert(r.key)).collect();
    match held.run(async |conn| insert_all(conn, &first).await).await {
        Ok(mut inserted) => rows
            .iter()
            .map(|row| Ok(inserted.remove(&row.key.as_uuid())))
            .collect(),
        Err(error) => {
            let error = error.to_string();
            rows.iter().map(|_| Err(error.clone())).collect()
        }
    }
}

/// The keys this statement inserted.
async fn insert_all(
    conn: &mut PgConnection,
    rows: &[&NewCommand],
) -> Result<HashSet<Uuid>, sqlx::Error> {
    let keys: Vec<Uuid> = sqlx::query_scalar(
        "INSERT INTO commands (command_key, command_id, user_id, kind, request)
         SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::jsonb[])
         -- Rows in key order: two groups holding the same keys lock them in
         -- the same order, so they queue instead of deadlocking.
         ORDER BY 1
         ON CONFLICT (command_key) DO NOTHING
         RETURNING command_key",
    )
    .bind(rows.iter().map(|r| r.key.as_uuid()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.command_id).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.user_id.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.kind.to_owned()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.request.clone()).collect::<Vec<_>>())
    .fetch_all(conn)
    .await?;
    Ok(keys.into_iter().collect())
}
