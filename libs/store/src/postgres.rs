use ledgerline_contracts::{CommandKey, EventEnvelope, StatusMessage};
use ledgerline_domain::{Account, AccountId, UserId};
use sqlx::PgPool;
use sqlx::migrate::Migrator;

use std::sync::{Arc, OnceLock};

use tokio::sync::Mutex;

use crate::commit_queue::CommitQueue;
use crate::held_connection::HeldConnection;
use crate::rows::{EVENT_COLUMNS, EventRow};
use crate::{
    AggregateVersion, CommitError, Decision, EventStore, PointInTime, Rebuilt, StoreError,
    StoreStats,
};

/// The schema the command processor owns.
pub const SCHEMA: &str = "es";
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// Groups on their way to one statement, and each group's answer.
type Commits = CommitQueue<Vec<Decision>, Result<Vec<StatusMessage>, CommitError>>;

/// At most this many callers' groups go into one statement; a group
/// arriving while one commits waits for it and joins the next (see
/// `commit_queue`).
const GROUPS_PER_STATEMENT: usize = 32;

#[derive(Clone)]
pub struct PostgresEventStore {
    pool: PgPool,
    /// Started at the first commit (it needs the runtime), shared by clones.
    commits: Arc<OnceLock<Commits>>,
}

impl PostgresEventStore {
    /// `pool` must have `search_path` set to [`SCHEMA`] (see
    /// `ledgerline_runtime::connect_schema`).
    pub fn new(pool: PgPool) -> Self {
        Self {
            pool,
            commits: Arc::default(),
        }
    }

    fn commits(&self) -> &Commits {
        self.commits.get_or_init(|| {
            let pool = self.pool.clone();
            let held = Arc::new(Mutex::new(HeldConnection::new(pool.clone())));
            CommitQueue::start(GROUPS_PER_STATEMENT, move |groups| {
                let (pool, held) = (pool.clone(), held.clone());
                async move {
                    let mut held = held.lock().await;
                    crate::group_commit::commit_groups(&pool, &mut held, groups).await
                }
            })
        })
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    async fn replay_from(&self, account: Account) -> Result<Account, StoreError> {
        self.replay_until(account, i64::MAX).await
    }

    /// `account` with its events after its version, up to `until`.
    async fn replay_until(&self, mut account: Account, until: i64) -> Result<Account, StoreError> {
        while account.version < until {
            let batch = self
                .account_events(
                    &account.id,
                    account.version,
                    (until - account.version).min(1_000),
                )
                .await?;
            if batch.is_empty() {
                break;
            }
            for envelope in &batch {
                account = account.apply(&envelope.event);
            }
        }
        Ok(account)
    }

    /// How many events the account had at `at`.
    async fn version_at(&self, id: &AccountId, at: PointInTime) -> Result<i64, StoreError> {
        let current: i64 = sqlx::query_scalar(
            "SELECT coalesce(max(version), 0) FROM events WHERE aggregate_id = $1",
        )
        .bind(id.as_str())
        .fetch_one(&self.pool)
        .await?;
        let t = match at {
            PointInTime::Version(version) => return Ok(version.clamp(0, current)),
            PointInTime::Time(t) => t,
        };
        // Both sides go through PostgreSQL's own (microsecond) timestamp
        // parsing, so an event stamped exactly `t` on the wire is at or
        // before `t` here too, whatever its nanoseconds.
        let at = t
            .format(&time::format_description::well_known::Rfc3339)
            .map_err(|e| StoreError::Corrupt(format!("as-of time {t}: {e}")))?;
        let first_after: Option<i64> = sqlx::query_scalar(
            "SELECT min(version) FROM events
             WHERE aggregate_id = $1 AND (metadata ->> 'timestamp')::timestamptz > $2::timestamptz",
        )
        .bind(id.as_str())
        .bind(at)
        .fetch_one(&self.pool)
        .await?;
        Ok(first_after.map_or(current, |v| v - 1))
    }
}

impl EventStore for PostgresEventStore {
    async fn load(&self, id: &AccountId) -> Result<Account, StoreError> {
        let snapshot: Option<serde_json::Value> = sqlx::query_scalar(
            "SELECT state FROM snapshots WHERE aggregate_id = $1 ORDER BY version DESC LIMIT 1",
        )
        .bind(id.as_str())
        .fetch_optional(&self.pool)
        .await?;
        let start = match snapshot {
            Some(state) => serde_json::from_value(state)
                .map_err(|e| StoreError::Corrupt(format!("snapshot of {id}: {e}")))?,
            None => Account::new(id.clone()),
        };
        self.replay_from(start).await
    }

    async fn load_without_snapshot(&self, id: &AccountId) -> Result<Account, StoreError> {
        self.replay_from(Account::new(id.clone())).await
    }

    async fn outcome(&self, key: CommandKey) -> Result<Option<StatusMessage>, StoreError> {
        Ok(crate::outcomes::read(&self.pool, &[key])
            .await?
            .remove(&key))
    }

    /// A group of one (see `group_commit`).
    async fn commit(&self, decision: Decision) -> Result<StatusMessage, CommitError> {
        self.commit_all(vec![decision])
            .await?
            .pop()
            .ok_or_else(|| CommitError::Store(StoreError::Corrupt("no outcome".into())))
    }

    async fn outcomes(
        &self,
        keys: &[CommandKey],
    ) -> Result<std::collections::HashMap<CommandKey, StatusMessage>, StoreError> {
        crate::outcomes::read(&self.pool, keys).await
    }

    async fn mark_told(&self, keys: &[CommandKey]) -> Result<(), StoreError> {
        crate::outcomes::mark_told(&self.pool, keys).await
    }

    async fn marked_told(
        &self,
        keys: &[CommandKey],
    ) -> Result<std::collections::HashSet<CommandKey>, StoreError> {
        crate::outcomes::marked_told(&self.pool, keys).await
    }

    /// Through the process's commit queue: groups committed by several
    /// callers at once (a process's partitions) share one statement, and
    /// each is answered as if it had been committed alone.
    async fn commit_all(
        &self,
        decisions: Vec<Decision>,
    ) -> Result<Vec<StatusMessage>, CommitError> {
        if decisions.is_empty() {
            return Ok(Vec::new());
        }
        self.commits()
            .submit(decisions)
            .await
            .map_err(|stopped| CommitError::Store(stopped.into()))?
    }

    async fn account_events(
        &self,
        id: &AccountId,
        after_version: i64,
        limit: i64,
    ) -> Result<Vec<EventEnvelope>, StoreError> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE aggregate_id = $1 AND version > $2 ORDER BY version LIMIT $3"
        );
        let rows: Vec<EventRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id.as_str())
            .bind(after_version)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter().map(EventEnvelope::try_from).collect()
    }

    async fn stream(
        &self,
        after_position: i64,
        limit: i64,
        owner: Option<&UserId>,
    ) -> Result<Vec<EventEnvelope>, StoreError> {
        // Only rows of transactions older than every one still in flight: a
        // position assigned earlier but committed later cannot be skipped.
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events e
             WHERE global_position > $1 AND tx_id < pg_snapshot_xmin(pg_current_snapshot())
               AND ($3::text IS NULL OR aggregate_id IN (
                   SELECT aggregate_id FROM events WHERE event_type = 'AccountOpened' AND data ->> 'ownerId' = $3))
             ORDER BY global_position LIMIT $2"
        );
        let rows: Vec<EventRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(after_position)
            .bind(limit)
            .bind(owner.map(UserId::as_str))
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter().map(EventEnvelope::try_from).collect()
    }

    async fn accounts_of(&self, owner: &UserId) -> Result<Vec<AccountId>, StoreError> {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT aggregate_id FROM events WHERE event_type = 'AccountOpened' AND data ->> 'ownerId' = $1 ORDER BY global_position",
        )
        .bind(owner.as_str())
        .fetch_all(&self.pool)
        .await?;
        ids.into_iter()
            .map(|id| AccountId::parse(id).map_err(|e| StoreError::Corrupt(e.to_string())))
            .collect()
    }

    async fn load_as_of(&self, id: &AccountId, at: PointInTime) -> Result<Rebuilt, StoreError> {
        let target = self.version_at(id, at).await?;
        let snapshot: Option<(i64, serde_json::Value)> = sqlx::query_as(
            "SELECT version, state FROM snapshots WHERE aggregate_id = $1 AND version <= $2
             ORDER BY version DESC LIMIT 1",
        )
        .bind(id.as_str())
        .bind(target)
        .fetch_optional(&self.pool)
        .await?;
        let (snapshot_version, start) = match snapshot {
            Some((version, state)) => (
                Some(version),
                serde_json::from_value::<Account>(state).map_err(|e| {
                    StoreError::Corrupt(format!("snapshot of {id} v{version}: {e}"))
                })?,
            ),
            None => (None, Account::new(id.clone())),
        };
        let from = start.version;
        let account = self.replay_until(start, target).await?;
        Ok(Rebuilt {
            events_replayed: account.version - from,
            account,
            snapshot_version,
        })
    }

    async fn stats(&self) -> Result<StoreStats, StoreError> {
        // One snapshot of the database for every total, so they agree with
        // each other even while commands are being decided.
        let mut tx = self.pool.begin().await?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await?;
        let (events, aggregates, head_position): (i64, i64, i64) = sqlx::query_as(
            "SELECT count(*), count(DISTINCT aggregate_id), coalesce(max(global_position), 0) FROM events",
        )
        .fetch_one(&mut *tx)
        .await?;
        let snapshots: i64 = sqlx::query_scalar("SELECT count(*) FROM snapshots")
            .fetch_one(&mut *tx)
            .await?;
        let events_by_type: Vec<(String, i64)> =
            sqlx::query_as("SELECT event_type, count(*) FROM events GROUP BY event_type")
                .fetch_all(&mut *tx)
                .await?;
        let commands_by_status: Vec<(String, i64)> =
            sqlx::query_as("SELECT status, count(*) FROM command_outcomes GROUP BY status")
                .fetch_all(&mut *tx)
                .await?;
        tx.commit().await?;
        Ok(StoreStats {
            events,
            aggregates,
            snapshots,
            head_position,
            events_by_type: events_by_type.into_iter().collect(),
            commands_by_status: commands_by_status.into_iter().collect(),
        }
        .with_every_status())
    }

    async fn aggregate_versions(
        &self,
        after: Option<&AccountId>,
        limit: i64,
    ) -> Result<Vec<AggregateVersion>, StoreError> {
        let rows: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT aggregate_id, max(version), count(*) FROM events
             WHERE $1::text IS NULL OR aggregate_id > $1
             GROUP BY aggregate_id ORDER BY aggregate_id LIMIT $2",
        )
        .bind(after.map(AccountId::as_str))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(id, version, event_count)| {
                Ok(AggregateVersion {
                    aggregate_id: AccountId::parse(id)
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    version,
                    event_count,
                })
            })
            .collect()
    }

    async fn event_at(&self, position: i64) -> Result<Option<(AccountId, i64)>, StoreError> {
        let row: Option<(String, i64)> =
            sqlx::query_as("SELECT aggregate_id, version FROM events WHERE global_position = $1")
                .bind(position)
                .fetch_optional(&self.pool)
                .await?;
        row.map(|(id, version)| {
            AccountId::parse(id)
                .map(|id| (id, version))
                .map_err(|e| StoreError::Corrupt(e.to_string()))
        })
        .transpose()
    }

    async fn head_position(&self) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT coalesce(max(global_position), 0) FROM events")
                .fetch_one(&self.pool)
                .await?,
        )
    }
}
