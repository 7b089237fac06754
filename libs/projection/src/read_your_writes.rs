//! Read-your-writes: a client that got `position` in its command's status
//! asks a read model with `?minPosition=`; the read model answers once it
//! has applied that event, or says 503 with `Retry-After`. A position with
//! no event (after waiting as long, in case it is still being committed)
//! is 404: no retry would help.
//!
//! Global positions interleave across accounts, so a read model's highest
//! position says nothing about one event. Instead the event store's owner
//! says which account and version sit at the position (`bank.rpc.event-at`),
//! and the read model waits until its own version of that account is there.

use std::time::Duration;

use ledgerline_runtime::ApiProblem;
use ledgerline_store::StoreReads;
use sqlx::PgPool;

use crate::tuning::READ_YOUR_WRITES_PATIENCE;

/// Checks a `?minPosition=` value: a global position is never negative.
pub fn min_position(value: Option<i64>) -> Result<i64, ApiProblem> {
    match value.unwrap_or(0) {
        p if p >= 0 => Ok(p),
        _ => Err(ApiProblem::invalid(vec![
            ledgerline_contracts::FieldError::new(
                "minPosition",
                "must be a global position (0 or more)",
            ),
        ])),
    }
}

pub async fn wait_for_position(
    store: &dyn StoreReads,
    pool: &PgPool,
    min_position: i64,
) -> Result<(), ApiProblem> {
    if min_position <= 0 {
        return Ok(());
    }
    let deadline = tokio::time::Instant::now() + READ_YOUR_WRITES_PATIENCE;
    let not_yet = || {
        ApiProblem::unavailable(format!(
            "this read model has not reached position {min_position} yet; retry"
        ))
    };
    let location = loop {
        match store.event_at(min_position).await {
            Ok(Some(location)) => break location,
            // Not (yet) in the store: committed positions may still be arriving.
            Ok(None) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await
            }
            // Still no event there: the position is not one the server
            // gave out (past the log's head, or a gap), and waiting longer
            // will not change that — 404, like a version an account never
            // had, not a 503 to retry.
            Ok(None) => {
                return Err(ApiProblem::not_found(format!(
                    "no event has position {min_position}"
                )));
            }
            Err(error) => {
                return Err(ApiProblem::unavailable(format!(
                    "cannot check the position: {error}"
                )));
            }
        }
    };
    loop {
        let applied: Option<i64> =
            sqlx::query_scalar("SELECT version FROM projected_versions WHERE aggregate_id = $1")
                .bind(location.account_id.as_str())
                .fetch_optional(pool)
                .await
                .map_err(|e| ApiProblem::unavailable(format!("cannot read the read model: {e}")))?;
        if applied.is_some_and(|v| v >= location.version) {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(not_yet());
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}
