//! What the private NATS and PostgreSQL of a benchmark did, from their own
//! counters: NATS messages in and out and slow consumers cut off (`/varz`),
//! PostgreSQL commits and rows written (`pg_stat_database`). Read before and after a run, the
//! difference per command says how many operations one command costs.

use serde::Serialize;

use crate::bench::system::Infra;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Counters {
    /// Messages the server received from clients (publishes, acks, pulls, requests).
    pub nats_in: u64,
    /// Messages the server sent to clients (deliveries, replies).
    pub nats_out: u64,
    /// Times the server cut off a client that did not read fast enough
    /// (its connection is closed; what it had in flight comes back after
    /// AckWait).
    pub nats_slow_consumers: u64,
    pub pg_commits: i64,
    /// Rows inserted, updated and deleted.
    pub pg_rows_written: i64,
}

impl Counters {
    pub async fn read(infra: &Infra) -> anyhow::Result<Self> {
        let varz: serde_json::Value = reqwest::get(infra.nats.monitor_url("varz"))
            .await?
            .json()
            .await?;
        let count = |field: &str| varz[field].as_u64().unwrap_or_default();
        let row = crate::bench::suite::psql(
            infra,
            "postgres",
            "SELECT sum(xact_commit)::bigint || ' ' || \
                    sum(tup_inserted + tup_updated + tup_deleted)::bigint \
             FROM pg_stat_database",
        )
        .await?;
        let mut numbers = row.split_whitespace().map(str::parse::<i64>);
        let mut next = || numbers.next().and_then(Result::ok).unwrap_or_default();
        Ok(Self {
            nats_in: count("in_msgs"),
            nats_out: count("out_msgs"),
            nats_slow_consumers: count("slow_consumers"),
            pg_commits: next(),
            pg_rows_written: next(),
        })
    }

    /// What happened between `before` and `self`, per `commands`.
    #[allow(clippy::float_arithmetic)]
    pub fn per_command(&self, before: &Self, commands: u64) -> serde_json::Value {
        let n = commands.max(1) as f64;
        let nats_in = self.nats_in.saturating_sub(before.nats_in) as f64;
        let nats_out = self.nats_out.saturating_sub(before.nats_out) as f64;
        serde_json::json!({
            "natsMessagesPerCommand": (nats_in + nats_out) / n,
            "natsInPerCommand": nats_in / n,
            "natsOutPerCommand": nats_out / n,
            "natsSlowConsumers": self.nats_slow_consumers.saturating_sub(before.nats_slow_consumers),
            "postgresCommitsPerCommand": (self.pg_commits - before.pg_commits) as f64 / n,
            "postgresRowsWrittenPerCommand": (self.pg_rows_written - before.pg_rows_written) as f64 / n,
        })
    }
}
