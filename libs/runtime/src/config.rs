use std::net::SocketAddr;
use std::time::Duration;

use ledgerline_domain::Amount;

use crate::tuning::ACK_WAIT;

/// The longest life a bearer token may claim unless `TOKEN_MAX_TTL_SECS`
/// says otherwise: a day.
pub const DEFAULT_TOKEN_MAX_TTL_SECS: u64 = 24 * 3600;

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
    /// HS256 secret for bearer tokens. Required unless demo sign-in is on,
    /// which otherwise makes a random one at start (good for one process
    /// only: every process of a deployment must share the secret).
    #[arg(long, env = "JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// Enables `POST /auth/demo-login` (never in production).
    #[arg(long, env = "DEMO_LOGIN", default_value_t = false)]
    pub demo_login: bool,
    /// Lifetime of demo tokens, in seconds (at most TOKEN_MAX_TTL_SECS).
    #[arg(long, env = "TOKEN_TTL_SECS", default_value_t = 8 * 3600, value_parser = clap::value_parser!(u64).range(1..))]
    pub token_ttl_secs: u64,
    /// The longest life any bearer token may have, in seconds: a token
    /// whose `exp` lies further than this after its `iat` (or after now)
    /// is refused, whoever signed it.
    #[arg(long, env = "TOKEN_MAX_TTL_SECS", default_value_t = DEFAULT_TOKEN_MAX_TTL_SECS, value_parser = clap::value_parser!(u64).range(1..))]
    pub token_max_ttl_secs: u64,
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
    /// this. Longer than the command AckWait (`tuning::ACK_WAIT`, 10 s), so
    /// the crashed owner's unacked commands are redelivered before newer ones.
    #[arg(long, env = "PARTITION_LEASE_SECS", default_value_t = 15, value_parser = clap::value_parser!(u64).range(ACK_WAIT.as_secs() + 1..=600))]
    pub partition_lease_secs: u64,
    /// This process's name among the command-processor replicas sharing
    /// the partitions (a random suffix is added, so a restarted pod is a
    /// new member). Kubernetes sets it from the pod's name; unset or
    /// blank, HOSTNAME is used (see [`Config::replica_name`]).
    #[arg(long, env = "POD_NAME")]
    pub pod_name: Option<String>,
    /// The host's name: the replica's name when POD_NAME is unset or
    /// blank; unset or blank too, `/etc/hostname`, else `command-processor`.
    #[arg(long, env = "HOSTNAME")]
    pub hostname: Option<String>,
    /// Take a snapshot every N events of an account.
    #[arg(long, env = "SNAPSHOT_EVERY", default_value_t = 10, value_parser = clap::value_parser!(i64).range(1..))]
    pub snapshot_every: i64,
    /// A command not decided this many seconds after it was accepted ends
    /// as `failed` with code TIMEOUT and is never applied (0: no deadline).
    #[arg(long, env = "COMMAND_DEADLINE_SECS", default_value_t = 30)]
    pub command_deadline_secs: u64,
    /// An accepted command still without an outcome this many seconds
    /// after it was accepted is looked for in the broker, and queued again
    /// under its key if the broker lost it (see the command API's
    /// reconciler). Keep it below COMMAND_DEADLINE_SECS, so a command the
    /// broker lost is still decided rather than timed out.
    #[arg(long, env = "RECONCILE_AFTER_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub reconcile_after_secs: u64,
    /// Frames that may wait for one socket before it is closed as a slow
    /// consumer (it can reconnect and resume).
    #[arg(long, env = "SOCKET_QUEUE", default_value_t = 256)]
    pub socket_queue: usize,
    /// Seconds a client may take to send a request's head, from its first
    /// byte: a head is a few hundred bytes, sent at once by any real
    /// client; 10 s leaves room for a lossy mobile link's retransmissions
    /// and cuts a slowloris trickle.
    #[arg(long, env = "HTTP_HEADER_TIMEOUT_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub http_header_timeout_secs: u64,
    /// Seconds a client may take to send a request's whole body, from the
    /// end of its head (else 408): bodies are at most BODY_LIMIT (16 KiB),
    /// which even a 20 kbit/s link sends in under 7 s.
    #[arg(long, env = "HTTP_BODY_TIMEOUT_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub http_body_timeout_secs: u64,
    /// Seconds a connection may sit with no request on it (before its
    /// first, or after an answer) before it is closed. Long enough for a
    /// browser to reuse its connection across a burst of clicks and for a
    /// proxy's pool; short enough that idle connections cannot pile up.
    /// WebSockets are not HTTP requests once upgraded: they never expire.
    #[arg(long, env = "HTTP_IDLE_TIMEOUT_SECS", default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub http_idle_timeout_secs: u64,
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

/// How long the HTTP server waits for each part of a client's request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpTimeouts {
    pub header: Duration,
    pub body: Duration,
    pub idle: Duration,
}

/// Settings that are each valid but do not fit together.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("TOKEN_TTL_SECS ({ttl}) must not exceed TOKEN_MAX_TTL_SECS ({max})")]
    TokenTtlAboveMax { ttl: u64, max: u64 },
}

impl Config {
    /// Defaults and environment, no command line: what tests start from.
    pub fn from_env() -> Result<Self, clap::Error> {
        <Self as clap::Parser>::try_parse_from(["ledgerline"])
    }

    /// Checks what clap cannot: rules across settings.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.token_ttl_secs > self.token_max_ttl_secs {
            return Err(ConfigError::TokenTtlAboveMax {
                ttl: self.token_ttl_secs,
                max: self.token_max_ttl_secs,
            });
        }
        Ok(())
    }

    /// The name this command-processor replica goes by in the partition
    /// leases: POD_NAME, else HOSTNAME, else `/etc/hostname`, else
    /// `command-processor` — the first that is not blank.
    pub fn replica_name(&self) -> String {
        let named =
            |name: Option<String>| name.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
        named(self.pod_name.clone())
            .or_else(|| named(self.hostname.clone()))
            .or_else(|| named(std::fs::read_to_string("/etc/hostname").ok()))
            .unwrap_or_else(|| "command-processor".to_owned())
    }

    pub fn http_timeouts(&self) -> HttpTimeouts {
        HttpTimeouts {
            header: Duration::from_secs(self.http_header_timeout_secs),
            body: Duration::from_secs(self.http_body_timeout_secs),
            idle: Duration::from_secs(self.http_idle_timeout_secs),
        }
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

    #[test]
    fn the_replica_name_is_the_pod_name_else_the_host_name() {
        let parse = |args: &[&str]| {
            Config::try_parse_from(["ledgerline"].iter().chain(args))
                .unwrap()
                .replica_name()
        };
        let both = ["--pod-name", "pod-1", "--hostname", "host-1"];
        assert_eq!(parse(&both), "pod-1");
        assert_eq!(
            parse(&["--pod-name", " ", "--hostname", "host-1"]),
            "host-1"
        );
        assert!(!parse(&["--pod-name", "", "--hostname", ""]).is_empty());
    }

    #[test]
    fn a_token_ttl_above_the_maximum_is_refused() {
        let parse = |args: &[&str]| {
            Config::try_parse_from(["ledgerline"].iter().chain(args))
                .map_err(|e| e.to_string())
                .and_then(|c| c.validate().map(|()| c).map_err(|e| e.to_string()))
        };
        let too_long = parse(&["--token-ttl-secs", "7200", "--token-max-ttl-secs", "3600"]);
        assert_eq!(
            too_long.err().as_deref(),
            Some("TOKEN_TTL_SECS (7200) must not exceed TOKEN_MAX_TTL_SECS (3600)")
        );
        assert!(parse(&["--token-ttl-secs", "3600", "--token-max-ttl-secs", "3600"]).is_ok());
        assert!(parse(&["--token-max-ttl-secs", "0"]).is_err());
        // The defaults fit together.
        assert!(parse(&[]).is_ok());
    }

    #[test]
    fn http_timeouts_are_whole_seconds_from_one_to_an_hour() {
        for flag in [
            "--http-header-timeout-secs",
            "--http-body-timeout-secs",
            "--http-idle-timeout-secs",
        ] {
            for bad in ["0", "3601", "1.5"] {
                assert!(
                    Config::try_parse_from(["ledgerline", flag, bad]).is_err(),
                    "{flag} {bad}"
                );
            }
        }
        let config =
            Config::try_parse_from(["ledgerline", "--http-idle-timeout-secs", "2"]).unwrap();
        assert_eq!(config.http_timeouts().idle, Duration::from_secs(2));
    }
}
