//! Group commit for acceptance: the `commands` rows of requests arriving
//! together are inserted in one statement and one transaction, so a burst
//! of POSTs costs a few fsyncs rather than one each. A lone request waits
//! for nobody: it is inserted at once.

use std::collections::HashSet;

use ledgerline_runtime::tuning::GROUP_SIZE;

use ledgerline_contracts::CommandKey;
use serde_json::Value;
use sqlx::PgPool;
use std::sync::Arc;

use tokio::sync::{Mutex, mpsc, oneshot};
use uuid::Uuid;

/// Groups in flight at once: a request arriving while a group commits
/// starts the next group instead of waiting for that commit (PostgreSQL
/// flushes concurrent commits together).
const WORKERS: usize = 3;

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

type Reply = oneshot::Sender<Result<bool, String>>;

#[derive(Clone)]
pub struct Recorder {
    queue: mpsc::Sender<(NewCommand, Reply)>,
}

impl Recorder {
    /// Starts the inserting tasks; they end when the last clone is dropped.
    pub fn start(pool: PgPool) -> Self {
        let (queue, requests) = mpsc::channel(4 * GROUP_SIZE);
        let requests = Arc::new(Mutex::new(requests));
        for _ in 0..WORKERS {
            tokio::spawn(run(pool.clone(), requests.clone()));
        }
        Self { queue }
    }

    /// Inserts the row unless its key is there already; `true` when this
    /// call inserted it.
    pub async fn insert(&self, row: NewCommand) -> Result<bool, String> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send((row, reply))
            .await
            .map_err(|_| "the command recorder has stopped".to_owned())?;
        answer
            .await
            .map_err(|_| "the command recorder has stopped".to_owned())?
    }
}

async fn run(pool: PgPool, requests: Arc<Mutex<mpsc::Receiver<(NewCommand, Reply)>>>) {
    loop {
        // Take what is waiting (at least one), then let another worker in.
        let group = {
            let mut requests = requests.lock().await;
            let Some(first) = requests.recv().await else {
                return;
            };
            let mut group = vec![first];
            while group.len() < GROUP_SIZE {
                match requests.try_recv() {
                    Ok(next) => group.push(next),
                    Err(_) => break,
                }
            }
            group
        };
        let (rows, replies): (Vec<NewCommand>, Vec<Reply>) = group.into_iter().unzip();
        // The same id twice in one group: only the first arrival's row goes
        // in; the later ones are answered "not inserted" and compared with
        // it like any repeat.
        let mut seen = HashSet::new();
        let first: Vec<&NewCommand> = rows.iter().filter(|r| seen.insert(r.key)).collect();
        match insert_all(&pool, &first).await {
            Ok(mut inserted) => {
                for (row, reply) in rows.iter().zip(replies) {
                    let _ = reply.send(Ok(inserted.remove(&row.key.as_uuid())));
                }
            }
            Err(error) => {
                let error = error.to_string();
                for reply in replies {
                    let _ = reply.send(Err(error.clone()));
                }
            }
        }
    }
}

/// The keys this statement inserted.
async fn insert_all(pool: &PgPool, rows: &[&NewCommand]) -> Result<HashSet<Uuid>, sqlx::Error> {
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
    .fetch_all(pool)
    .await?;
    Ok(keys.into_iter().collect())
}
