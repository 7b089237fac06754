use std::net::SocketAddr;

use ledgerline_domain::Amount;

/// Configuration by environment (or flags), with defaults for a local run
/// against NATS on 127.0.0.1:4222 and PostgreSQL on 127.0.0.1:5432.
#[derive(Debug, Clone, clap::Parser)]
#[command(name = "ledgerline")]
pub struct Config {
    /// Address the HTTP server binds (port 0 picks a free port).
    #[arg(long, env = "HTTP_ADDR", default_value = "127.0.0.1:8080")]
    pub http_addr: SocketAddr,
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/ledgerline"
    )]
    pub database_url: String,
    #[arg(long, env = "NATS_URL", default_value = "nats://127.0.0.1:4222")]
    pub nats_url: String,
    /// First token of every subject; streams are named after it
    /// (`bank` → BANK_COMMANDS, BANK_EVENTS, BANK_STATUS).
    #[arg(long, env = "NATS_PREFIX", default_value = "bank")]
    pub nats_prefix: String,
    /// HS256 secret for bearer tokens. Required unless demo sign-in is on.
    #[arg(long, env = "JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// Enables `POST /auth/demo-login` (never in production).
    #[arg(long, env = "DEMO_LOGIN", default_value_t = false)]
    pub demo_login: bool,
    /// Lifetime of demo tokens, in seconds.
    #[arg(long, env = "TOKEN_TTL_SECS", default_value_t = 8 * 3600)]
    pub token_ttl_secs: u64,
    /// Largest amount a single command may move, in major units.
    #[arg(long, env = "MAX_AMOUNT", default_value = "1000000.00", value_parser = parse_max_amount)]
    pub max_amount: Amount,
    /// JetStream servers each stream is kept on (3 in a three-node cluster).
    #[arg(long, env = "STREAM_REPLICAS", default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=5))]
    pub stream_replicas: u64,
    /// Number of command partitions (`bank.cmd.{partition}.{accountId}`).
    #[arg(long, env = "COMMAND_PARTITIONS", default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub command_partitions: u32,
    /// Seconds a command-processor replica's partition lease lasts without
    /// renewal: a crashed replica's partitions move to the others after
    /// this. Longer than the command AckWait (10 s), so the crashed owner's
    /// unacked commands are redelivered before newer ones.
    #[arg(long, env = "PARTITION_LEASE_SECS", default_value_t = 15, value_parser = clap::value_parser!(u64).range(11..=600))]
    pub partition_lease_secs: u64,
    /// Take a snapshot every N events of an account.
    #[arg(long, env = "SNAPSHOT_EVERY", default_value_t = 10, value_parser = clap::value_parser!(i64).range(1..))]
    pub snapshot_every: i64,
    /// A command not decided this many seconds after it was accepted ends
    /// as `failed` with code TIMEOUT and is never applied (0: no deadline).
    #[arg(long, env = "COMMAND_DEADLINE_SECS", default_value_t = 30)]
    pub command_deadline_secs: u64,
    /// Frames that may wait for one socket before it is closed as a slow
    /// consumer (it can reconnect and resume).
    #[arg(long, env = "SOCKET_QUEUE", default_value_t = 256)]
    pub socket_queue: usize,
    /// Seconds one write to a socket may take. A client that does not read
    /// for this long is dropped (the TCP connection ends): a blocked write
    /// must not hold a connection, its task and its buffers for ever.
    #[arg(long, env = "SOCKET_WRITE_TIMEOUT_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub socket_write_timeout_secs: u64,
    /// Largest accepted request body, in bytes.
    #[arg(long, env = "BODY_LIMIT", default_value_t = 16 * 1024)]
    pub body_limit: usize,
    /// Connections per service pool.
    #[arg(long, env = "DB_POOL_SIZE", default_value_t = 5)]
    pub db_pool_size: u32,
    /// Built browser app served at `/` (skipped when the folder is missing).
    #[arg(long, env = "WEB_DIR", default_value = "services/web/dist")]
    pub web_dir: String,
    /// Share (0 to 1) of command requests answered 503 before anything is
    /// queued, to watch client retries work. Off by default.
    #[arg(long, env = "CHAOS_FAILURE_RATE", default_value = "0", value_parser = parse_rate)]
    pub chaos_failure_rate: f64,
}

fn parse_max_amount(text: &str) -> Result<Amount, String> {
    let ceiling =
        Amount::from_minor(ledgerline_domain::ABSOLUTE_MAX_MINOR).map_err(|e| e.to_string())?;
    Amount::parse_major(text, ceiling).map_err(|e| e.to_string())
}

fn parse_rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(rate) if (0.0..=1.0).contains(&rate) => Ok(rate),
        _ => Err("must be a number from 0 to 1".to_owned()),
    }
}

impl Config {
    /// Defaults and environment, no command line: what tests start from.
    pub fn from_env() -> Result<Self, clap::Error> {
        <Self as clap::Parser>::try_parse_from(["ledgerline"])
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[test]
    fn a_partition_lease_not_longer_than_the_ack_wait_is_refused() {
        let parse =
            |secs: &str| Config::try_parse_from(["ledgerline", "--partition-lease-secs", secs]);
        for bad in ["10", "0", "601", "15s"] {
            let error = parse(bad).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(error.contains("--partition-lease-secs"), "{bad}: {error}");
        }
        assert_eq!(parse("11").map(|c| c.partition_lease_secs).ok(), Some(11));
    }
}
