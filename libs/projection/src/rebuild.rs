//! Zero-downtime rebuild of a read model from the event store.
//!
//! The projector that owns the read model rebuilds it into a shadow schema
//! (`balances_rebuild`, made by the same migrations) by replaying the whole
//! event log with the same `Projector::apply` and checkpoint code, while
//! the live schema keeps serving and following the stream. Once the shadow
//! has caught up, writers pause for a moment (the switch gate), the shadow
//! takes what they applied meanwhile, and one transaction renames it into
//! place; the old schema is dropped.

use std::time::Duration;

use std::sync::Arc;

use ledgerline_bus::{Bus, Rpc};
use ledgerline_domain::AccountId;
use ledgerline_runtime::Shutdown;
use ledgerline_store::{StoreReads, account_events_through};
use serde::{Deserialize, Serialize};
use sqlx::{AssertSqlSafe, PgConnection, PgPool};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::read_model::gate_key;
use crate::read_models::StartRebuild;
use crate::rebuild_board::{RebuildAnswer, RebuildOutcome, RebuildProgress};
use crate::sources::Sources;
use crate::store_pages::{Patience, apply_page, head_within, replay, replay_to};
use crate::tuning::PAGE_RETRIES;
use crate::{Projector, ReadModelDb, ensure_checkpoint_tables};

/// How long the replay may wait for the store's safe high-water mark to
/// reach the head it set out to catch up with.
const CATCH_UP_PATIENCE: Duration = Duration::from_secs(60);

fn rebuild_key(schema: &str) -> String {
    format!("ledgerline:rebuild:{schema}")
}

/// `{prefix}.rpc.projections.rebuild.{name}`: start a rebuild of `name`,
/// asked of the projector that owns it (one replica answers).
pub struct RebuildRpc;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RebuildRequest {}

impl Rpc for RebuildRpc {
    const NAME: &'static str = "projections.rebuild";
    type Request = RebuildRequest;
    type Response = RebuildAnswer;
}

/// Asks the projector that owns `name` to rebuild it: in process when this
/// process runs it, else over NATS (the name must be a known read model: it
/// becomes a subject token).
pub async fn request_rebuild(sources: &Sources, name: &str) -> Result<RebuildAnswer, String> {
    if let Some(local) = sources.read_models.get(name) {
        return Ok((local.rebuild)().await);
    }
    sources
        .bus
        .call_on::<RebuildRpc>(Some(name), &RebuildRequest {})
        .await
        .map_err(|e| format!("the {name} projector did not answer: {e}"))
}

/// How a rebuild of `P`'s read model is started, in process. A
/// session-level advisory lock, held by the rebuilding connection, refuses
/// a second rebuild anywhere while one runs (and is released if the process
/// dies).
pub(crate) fn rebuild_starter<P: Projector>(
    store: Arc<dyn StoreReads>,
    db: ReadModelDb,
    projector: P,
    shutdown: Shutdown,
) -> StartRebuild {
    Arc::new(move || {
        let (store, db, projector, shutdown) = (
            store.clone(),
            db.clone(),
            projector.clone(),
            shutdown.clone(),
        );
        Box::pin(async move { start(store, &db, &projector, &shutdown).await })
    })
}

/// Answers rebuild requests for the read model `name` from other processes
/// (one replica takes each).
pub(crate) async fn serve_rebuild(
    bus: Bus,
    name: &'static str,
    rebuild: StartRebuild,
    shutdown: Shutdown,
) {
    bus.serve_on::<RebuildRpc, _>(Some(name), move |_| rebuild(), shutdown)
        .await;
}

async fn start<P: Projector>(
    store: Arc<dyn StoreReads>,
    db: &ReadModelDb,
    projector: &P,
    shutdown: &Shutdown,
) -> RebuildAnswer {
    let failed = |e: sqlx::Error| RebuildAnswer::Failed {
        message: e.to_string(),
    };
    let mut conn = match db.admin_connection().await {
        Ok(c) => c,
        Err(e) => return failed(e),
    };
    let locked: Result<bool, _> = sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtext($1))")
        .bind(rebuild_key(db.schema()))
        .fetch_one(&mut conn)
        .await;
    match locked {
        Ok(true) => {}
        Ok(false) => return RebuildAnswer::AlreadyRunning,
        Err(e) => return failed(e),
    }
    let id = Uuid::now_v7();
    db.board().current = Some(RebuildProgress {
        id,
        phase: "replaying".into(),
        replayed: 0,
        head: None,
        started_at: OffsetDateTime::now_utc(),
    });
    tracing::info!(%id, projection = P::NAME, "rebuild started");
    let (db, projector, shutdown) = (db.clone(), projector.clone(), shutdown.clone());
    tokio::spawn(async move {
        let result = tokio::select! {
            r = rebuild(&store, &db, &projector, &mut conn) => r,
            () = shutdown.cancelled() => Err("shut down".to_owned()),
        };
        // Closing the connection releases the rebuild lock.
        drop(conn);
        let mut board = db.board();
        let replayed = board.current.take().map_or(0, |p| p.replayed);
        match &result {
            Ok(()) => tracing::info!(%id, replayed, projection = P::NAME, "rebuild completed"),
            Err(error) => tracing::warn!(%id, %error, projection = P::NAME, "rebuild failed"),
        }
        board.last = Some(RebuildOutcome {
            id,
            outcome: if result.is_ok() {
                "completed"
            } else {
                "failed"
            }
            .into(),
            replayed,
            error: result.err(),
            finished_at: OffsetDateTime::now_utc(),
        });
    });
    RebuildAnswer::Started { id }
}

fn sql(e: sqlx::Error) -> String {
    e.to_string()
}

async fn run_sql(conn: &mut PgConnection, statement: String) -> Result<(), String> {
    sqlx::raw_sql(AssertSqlSafe(statement))
        .execute(conn)
        .await
        .map(|_| ())
        .map_err(sql)
}

/// The whole rebuild; `conn` holds the rebuild lock. Schema names are the
/// service's constant and a fixed suffix, never outside input.
async fn rebuild<P: Projector>(
    store: &Arc<dyn StoreReads>,
    db: &ReadModelDb,
    projector: &P,
    conn: &mut PgConnection,
) -> Result<(), String> {
    let live = db.schema();
    let shadow = format!("{live}_rebuild");
    // A leftover of a rebuild that died half-way is started afresh.
    run_sql(
        conn,
        format!("DROP SCHEMA IF EXISTS {shadow} CASCADE; CREATE SCHEMA {shadow}"),
    )
    .await?;
    let shadow_pool = db.pool_for(&shadow, 2).await.map_err(sql)?;
    let result = fill_and_switch(store, db, projector, conn, &shadow_pool, &shadow).await;
    shadow_pool.close().await;
    let old = match result {
        Ok(old) => old,
        Err(error) => {
            // The live read model is untouched; the half-built copy goes.
            let _ = run_sql(conn, format!("DROP SCHEMA IF EXISTS {shadow} CASCADE")).await;
            return Err(error);
        }
    };
    // This process's pool is replaced: new work takes no connection from
    // before the switch (nor any statement sqlx prepared on it). Other replicas
    // keep their pools: PostgreSQL re-plans prepared statements when a
    // schema is renamed, resolving names through search_path again.
    if let Err(error) = db.replace_pool().await {
        tracing::warn!(%error, "cannot open a fresh pool after the switch; keeping the old one");
    }
    run_sql(conn, format!("DROP SCHEMA IF EXISTS {old} CASCADE")).await
}

/// Migrates and fills the shadow, then switches; returns the old schema's
/// new name (to be dropped).
async fn fill_and_switch<P: Projector>(
    store: &Arc<dyn StoreReads>,
    db: &ReadModelDb,
    projector: &P,
    conn: &mut PgConnection,
    shadow_pool: &PgPool,
    shadow: &str,
) -> Result<String, String> {
    let live = db.schema();
    db.migrator()
        .run(shadow_pool)
        .await
        .map_err(|e| e.to_string())?;
    ensure_checkpoint_tables(shadow_pool).await.map_err(sql)?;
    carry_over(projector, shadow_pool, live, shadow).await?;

    // Catch up with the store while the live read model serves and follows.
    let mut replayed = 0_i64;
    let mut progress = |position: i64, read: usize, head: Option<i64>| {
        replayed += read as i64;
        if let Some(p) = db.board().current.as_mut() {
            p.replayed = replayed;
            p.head = head.map(|h| h.max(position));
        }
    };
    let head = head_within(store.as_ref(), CATCH_UP_PATIENCE).await?;
    if let Some(p) = db.board().current.as_mut() {
        p.head = Some(head);
    }
    let after = replay_to(
        store,
        shadow_pool,
        projector,
        0,
        head,
        Patience {
            wait: CATCH_UP_PATIENCE,
            page_retries: PAGE_RETRIES,
        },
        |position, n| progress(position, n, Some(head)),
    )
    .await?;

    // Pause every writer of the live read model (in every replica: they
    // take the gate shared in each transaction) and finish the shadow.
    if let Some(p) = db.board().current.as_mut() {
        p.phase = "switching".into();
    }
    sqlx::query("SELECT pg_advisory_lock(hashtext($1))")
        .bind(gate_key(live))
        .execute(&mut *conn)
        .await
        .map_err(sql)?;
    let switched = async {
        replay(store, shadow_pool, projector, after, PAGE_RETRIES, |position, n| {
            progress(position, n, Some(head))
        })
        .await?;
        take_what_live_has(store.as_ref(), projector, shadow_pool, live, shadow).await?;
        carry_over(projector, shadow_pool, live, shadow).await?;
        let old = format!("{live}_old_{}", OffsetDateTime::now_utc().unix_timestamp());
        run_sql(
            conn,
            format!(
                "BEGIN; ALTER SCHEMA {live} RENAME TO {old}; ALTER SCHEMA {shadow} RENAME TO {live}; COMMIT;"
            ),
        )
        .await?;
        Ok::<_, String>(old)
    }
    .await;
    if switched.is_err() {
        let _ = run_sql(conn, "ROLLBACK".into()).await;
    }
    let unlocked = sqlx::query("SELECT pg_advisory_unlock(hashtext($1))")
        .bind(gate_key(live))
        .execute(&mut *conn)
        .await
        .map_err(sql);
    let old = switched?;
    unlocked?;
    Ok(old)
}

/// The live read model may hold events the shadow has not read yet: events
/// the stream delivered whose transaction is still above the store's safe
/// high-water mark. With writers paused, read exactly those (by account and
/// version) so the shadow is never behind the live copy it replaces.
async fn take_what_live_has<P: Projector>(
    store: &dyn StoreReads,
    projector: &P,
    shadow_pool: &PgPool,
    live: &str,
    shadow: &str,
) -> Result<(), String> {
    let behind: Vec<(String, i64, i64)> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT l.aggregate_id, l.version, COALESCE(s.version, 0)
         FROM {live}.projected_versions l
         LEFT JOIN {shadow}.projected_versions s USING (aggregate_id)
         WHERE l.version > COALESCE(s.version, 0)"
    )))
    .fetch_all(shadow_pool)
    .await
    .map_err(sql)?;
    for (account, live_version, shadow_version) in behind {
        let account = AccountId::parse(&account).map_err(|e| e.to_string())?;
        let events = account_events_through(store, &account, shadow_version, live_version)
            .await
            .map_err(|e| e.to_string())?;
        apply_page(store, shadow_pool, projector, &events).await?;
    }
    Ok(())
}

async fn carry_over<P: Projector>(
    projector: &P,
    shadow_pool: &PgPool,
    live: &str,
    shadow: &str,
) -> Result<(), String> {
    let mut tx = shadow_pool.begin().await.map_err(sql)?;
    projector
        .carry_over(&mut tx, live, shadow)
        .await
        .map_err(sql)?;
    tx.commit().await.map_err(sql)
}
