//! The admin view of the read models, so any service can serve
//! `GET /projections` without reading another service's tables: the read
//! models of this process are asked in process, the others over NATS
//! (`{prefix}.rpc.projections.status`, every replica answers); the event
//! store tells its head; lag is the difference.

use std::collections::BTreeMap;
use std::time::Duration;

use ledgerline_bus::{Bus, Rpc};
use ledgerline_contracts::ProjectionReport;
use ledgerline_runtime::Shutdown;
use ledgerline_store::StoreReads;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::rebuild_board::{RebuildOutcome, RebuildProgress};
use crate::sources::Sources;
use crate::{Projector, ReadModelDb, projection_status};

/// The read models the admin routes know (`Projector::NAME` of each
/// projector service; a test in `services/ledgerline` checks they agree).
/// A known one that does not answer is still listed, as `unreachable`.
pub const READ_MODELS: [&str; 3] = ["AccountBalances", "TransactionHistory", "AuditLog"];

/// How long a gather waits for projectors (it stops early once every
/// known read model has answered) and for the store head.
pub const GATHER_WINDOW: Duration = Duration::from_millis(300);

/// A projector reports itself `live` while it runs and its database answers.
pub const LIVE: &str = "live";
/// A projector that is rebuilding its read model (which still serves).
pub const REBUILDING: &str = "rebuilding";
/// Listed for a known read model whose projector did not answer in time.
pub const UNREACHABLE: &str = "unreachable";

/// One read model's status, as the admin routes show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProjectionView {
    /// `AccountBalances`, `TransactionHistory`, `AuditLog` or `DailySummary`.
    pub name: String,
    /// `live`: the projector answered (it runs and its database answers).
    /// `rebuilding`: it answered while a rebuild replays into its shadow
    /// copy (the live copy keeps serving; progress in `rebuild`).
    /// `unreachable`: a known read model whose projector did not answer in
    /// time.
    pub status: String,
    /// The highest `globalPosition` applied (0 before the first event);
    /// null when unreachable.
    pub checkpoint: Option<i64>,
    /// Events applied so far; null when unreachable.
    pub events_applied: Option<i64>,
    /// Store head − checkpoint, never negative; null when either is
    /// unknown.
    pub lag: Option<i64>,
    /// When the checkpoint last moved (RFC 3339); null before the first
    /// event or when unreachable.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schemars(with = "Option<String>", extend("format" = "date-time"))]
    pub last_updated: Option<OffsetDateTime>,
    /// While `rebuilding`: events replayed into the shadow copy and the
    /// store's head.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rebuild: Option<RebuildProgress>,
    /// How the last rebuild this projector ran ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_rebuild: Option<RebuildOutcome>,
}

/// A projector's answer on `bank.rpc.projections`: the contract's report,
/// plus its rebuild (fields an older asker ignores).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProjectorStatus {
    #[serde(flatten)]
    pub report: ProjectionReport,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rebuild: Option<RebuildProgress>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_rebuild: Option<RebuildOutcome>,
}

impl ProjectionView {
    fn new(status: Option<ProjectorStatus>, name: &str, head: Option<i64>) -> Self {
        match status {
            Some(ProjectorStatus {
                report: r,
                rebuild,
                last_rebuild,
            }) => Self {
                lag: head.map(|head| crate::lag(head, r.checkpoint)),
                name: r.name,
                status: r.status,
                checkpoint: Some(r.checkpoint),
                events_applied: Some(r.events_applied),
                last_updated: r.last_updated,
                rebuild,
                last_rebuild,
            },
            None => Self {
                name: name.to_owned(),
                status: UNREACHABLE.to_owned(),
                checkpoint: None,
                events_applied: None,
                lag: None,
                last_updated: None,
                rebuild: None,
                last_rebuild: None,
            },
        }
    }

    /// The projector answered: `live` or `rebuilding` (both serve).
    pub fn answered(&self) -> bool {
        self.status != UNREACHABLE
    }
}

/// Every read model and the head they are chasing.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProjectionsOverview {
    /// The event store's head (highest `globalPosition`, 0 when empty);
    /// null when the event store did not answer.
    pub head_position: Option<i64>,
    /// By name: the known read models, plus any other that answered.
    pub items: Vec<ProjectionView>,
}

impl ProjectionsOverview {
    pub fn find(&self, name: &str) -> Option<&ProjectionView> {
        self.items.iter().find(|v| v.name == name)
    }
}

async fn report(db: &ReadModelDb, name: &str) -> Result<ProjectorStatus, sqlx::Error> {
    let status = projection_status(&db.pool(), name).await?;
    let (rebuild, last_rebuild) = {
        let board = db.board();
        (board.current.clone(), board.last.clone())
    };
    Ok(ProjectorStatus {
        report: ProjectionReport {
            name: status.name,
            status: if rebuild.is_some() { REBUILDING } else { LIVE }.to_owned(),
            checkpoint: status.last_position,
            events_applied: status.events,
            last_updated: status.updated_at,
        },
        rebuild,
        last_rebuild,
    })
}

/// `{prefix}.rpc.projections.status`: every projector of the read models
/// named answers with its status (every replica: the asker merges them).
pub struct StatusRpc;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusRequest {
    /// The read models asked about (those the asker does not run itself).
    pub names: Vec<String>,
}

impl Rpc for StatusRpc {
    const NAME: &'static str = "projections.status";
    type Request = StatusRequest;
    type Response = ProjectorStatus;
}

/// Answers status requests naming `P`'s read model. No answer when the
/// database is away: the asker lists the read model as unreachable, which
/// is the truth.
pub async fn serve_projection_status<P: Projector>(bus: Bus, db: ReadModelDb, shutdown: Shutdown) {
    bus.serve_every::<StatusRpc, _>(
        move |request| {
            let db = db.clone();
            Box::pin(async move {
                if !request.names.iter().any(|n| n == P::NAME) {
                    return None;
                }
                report(&db, P::NAME)
                    .await
                    .map_err(|error| tracing::warn!(%error, projection = P::NAME, "cannot read projection status"))
                    .ok()
            })
        },
        shutdown,
    )
    .await;
}

/// The event store's head from its owner, or `None` when it does not
/// answer within [`GATHER_WINDOW`].
pub async fn store_head(store: &dyn StoreReads) -> Option<i64> {
    match tokio::time::timeout(GATHER_WINDOW, store.head()).await {
        Ok(Ok(head)) => Some(head),
        Ok(Err(error)) => {
            tracing::debug!(%error, "no store head");
            None
        }
        Err(_) => {
            tracing::debug!("store head timed out");
            None
        }
    }
}

/// The statuses of the known read models: in process for those this
/// process runs, over NATS (for [`GATHER_WINDOW`] at most) for the others.
async fn gather_reports(sources: &Sources) -> BTreeMap<String, ProjectorStatus> {
    let mut found: BTreeMap<String, ProjectorStatus> = BTreeMap::new();
    let local = sources.read_models.names();
    for name in &local {
        if let Some(model) = sources.read_models.get(name) {
            match report(&model.db, name).await {
                Ok(status) => {
                    found.insert((*name).to_owned(), status);
                }
                Err(error) => {
                    tracing::warn!(%error, projection = name, "cannot read projection status")
                }
            }
        }
    }
    let remote: Vec<String> = READ_MODELS
        .iter()
        .filter(|name| !local.contains(name))
        .map(|name| (*name).to_owned())
        .collect();
    if remote.is_empty() {
        return found;
    }
    let mut answered = std::collections::BTreeSet::new();
    let request = StatusRequest {
        names: remote.clone(),
    };
    let answers = sources
        .bus
        .gather::<StatusRpc>(&request, GATHER_WINDOW, |status| {
            answered.insert(status.report.name.clone());
            remote.iter().all(|name| answered.contains(name))
        })
        .await
        .unwrap_or_else(|error| {
            tracing::warn!(%error, "cannot ask for projection status");
            Vec::new()
        });
    for status in answers {
        let name = status.report.name.clone();
        let merged = match found.remove(&name) {
            Some(known) => merge(known, status),
            None => status,
        };
        found.insert(name, merged);
    }
    found
}

/// Replicas of one projector share its database: keep the furthest
/// checkpoint, but the rebuild of whichever replica runs it, and the most
/// recent rebuild outcome any of them knows.
fn merge(a: ProjectorStatus, b: ProjectorStatus) -> ProjectorStatus {
    let last_rebuild = match (a.last_rebuild.clone(), b.last_rebuild.clone()) {
        (Some(x), Some(y)) => Some(if x.finished_at >= y.finished_at { x } else { y }),
        (x, y) => x.or(y),
    };
    let mut kept = match (a.rebuild.is_some(), b.rebuild.is_some()) {
        (true, false) => a,
        (false, true) => b,
        _ if a.report.checkpoint >= b.report.checkpoint => a,
        _ => b,
    };
    kept.last_rebuild = last_rebuild;
    kept
}

/// Every read model's status and lag, from whichever projectors and
/// event store answer within [`GATHER_WINDOW`].
pub async fn gather(sources: &Sources) -> ProjectionsOverview {
    let (mut reports, head_position) =
        tokio::join!(gather_reports(sources), store_head(sources.store.as_ref()));
    let mut items: Vec<ProjectionView> = READ_MODELS
        .iter()
        .map(|name| ProjectionView::new(reports.remove(*name), name, head_position))
        .collect();
    items.extend(
        reports
            .into_values()
            .map(|r| ProjectionView::new(Some(r.clone()), &r.report.name, head_position)),
    );
    ProjectionsOverview {
        head_position,
        items,
    }
}

/// The status of a read model this process projects itself (read from its
/// own checkpoint; only the head is asked of the event store).
pub async fn local_view(
    store: &dyn StoreReads,
    db: &ReadModelDb,
    name: &str,
) -> Result<ProjectionView, sqlx::Error> {
    let (report, head) = tokio::join!(report(db, name), store_head(store));
    Ok(ProjectionView::new(Some(report?), name, head))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(checkpoint: i64) -> ProjectorStatus {
        ProjectorStatus {
            report: ProjectionReport {
                name: "AccountBalances".into(),
                status: LIVE.into(),
                checkpoint,
                events_applied: 7,
                last_updated: None,
            },
            rebuild: None,
            last_rebuild: None,
        }
    }

    #[test]
    fn lag_is_head_minus_checkpoint_and_unknown_without_a_head() {
        let view = ProjectionView::new(Some(report(40)), "AccountBalances", Some(42));
        assert_eq!(
            (view.lag, view.checkpoint, view.answered()),
            (Some(2), Some(40), true)
        );
        assert_eq!(ProjectionView::new(Some(report(40)), "x", None).lag, None);
        // A head read before the checkpoint moved on is never negative lag.
        assert_eq!(
            ProjectionView::new(Some(report(45)), "x", Some(42)).lag,
            Some(0)
        );
    }

    #[test]
    fn a_read_model_that_did_not_answer_is_unreachable() {
        let view = ProjectionView::new(None, "AuditLog", Some(42));
        assert_eq!((view.status.as_str(), view.lag), (UNREACHABLE, None));
        assert!(!view.answered());
    }

    #[test]
    fn a_rebuilding_replica_wins_the_merge_and_old_askers_still_read_the_report() {
        let mut rebuilding = report(10);
        rebuilding.report.status = REBUILDING.into();
        rebuilding.rebuild = Some(RebuildProgress {
            id: uuid::Uuid::now_v7(),
            phase: "replaying".into(),
            replayed: 3,
            head: Some(12),
            started_at: OffsetDateTime::UNIX_EPOCH,
        });
        let merged = merge(report(11), rebuilding.clone());
        assert_eq!(merged.report.status, REBUILDING);
        let wire = serde_json::to_vec(&rebuilding).unwrap();
        let old: ProjectionReport = serde_json::from_slice(&wire).unwrap();
        assert_eq!(old.checkpoint, 10);
        let back: ProjectorStatus = serde_json::from_slice(&wire).unwrap();
        assert_eq!(back, rebuilding);
    }
}
