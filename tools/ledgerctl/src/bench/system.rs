//! A private Ledgerline for benchmarks: its own PostgreSQL cluster (fsync
//! on, as in production) and nats-server, in a work directory, and
//! `ledgerline` processes on them. The chaos run's infrastructure, reused.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::Context;
use tokio::process::{Child, Command};

use crate::chaos::infra::{Nats, Postgres};

pub struct Infra {
    pub postgres: Postgres,
    pub nats: Nats,
    pub dir: PathBuf,
}

impl Infra {
    /// `initdb` + `nats-server -js` on `base_port` and `base_port + 1`.
    pub async fn start(dir: &Path, base_port: u16, fsync: bool) -> anyhow::Result<Self> {
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir)?;
        let dir = std::fs::canonicalize(dir)?;
        let postgres = Postgres::init(&dir, base_port)
            .await
            .context("starting PostgreSQL")?;
        // The chaos cluster runs with fsync off; a benchmark wants the
        // commit cost production pays, so restart it with our settings.
        postgres.stop().await?;
        start_postgres(&postgres, fsync).await?;
        let nats = Nats::start(&dir, base_port + 1)
            .await
            .context("starting nats-server")?;
        Ok(Self {
            postgres,
            nats,
            dir,
        })
    }
}

async fn start_postgres(pg: &Postgres, fsync: bool) -> anyhow::Result<()> {
    let options = format!(
        "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync={} -c max_connections=400 -c shared_buffers=256MB",
        pg.port,
        pg.dir.display(),
        if fsync { "on" } else { "off" }
    );
    let status = pg
        .command("pg_ctl")
        .arg("-D")
        .arg(pg.dir.join("data"))
        .arg("-l")
        .arg(pg.dir.join("log"))
        .args(["-o", &options, "-w", "start"])
        .status()
        .await?;
    anyhow::ensure!(status.success(), "pg_ctl start failed");
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", pg.port))
            .await
            .is_ok()
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("PostgreSQL did not come up")
}

/// One `ledgerline <services…>` process.
pub struct Process {
    pub child: Child,
    pub port: u16,
}

impl Process {
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub async fn stop(mut self) {
        if let Some(pid) = self.child.id() {
            let _ = Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status()
                .await;
        }
        if tokio::time::timeout(Duration::from_secs(15), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }
}

pub fn ledgerline_binary(given: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    match given {
        Some(p) => Ok(p),
        None => Ok(std::env::current_exe()?.with_file_name("ledgerline")),
    }
}

/// Starts `ledgerline <services>` on `port` against the infrastructure,
/// and waits for `/readyz`.
pub async fn spawn_ledgerline(
    binary: &Path,
    infra: &Infra,
    database: &str,
    services: &[&str],
    port: u16,
    extra_env: &[(&str, String)],
) -> anyhow::Result<Process> {
    let log_name = format!("{}.log", services.join("+"));
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(infra.dir.join(log_name))?;
    let child = Command::new(binary)
        .args(services)
        .env("DATABASE_URL", infra.postgres.url(database))
        .env("NATS_URL", infra.nats.url())
        .env("NATS_PREFIX", "bench")
        .env("JWT_SECRET", "bench-secret")
        .env("DEMO_LOGIN", "true")
        .env("WEB_DIR", "/nonexistent")
        .env("RUST_LOG", "warn")
        .env("HTTP_ADDR", format!("127.0.0.1:{port}"))
        .envs(extra_env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(Stdio::from(log.try_clone()?))
        .stderr(Stdio::from(log))
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {}", binary.display()))?;
    let process = Process { child, port };
    wait_ready(&process.url()).await?;
    Ok(process)
}

pub async fn wait_ready(url: &str) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    for _ in 0..600 {
        if let Ok(r) = client.get(format!("{url}/readyz")).send().await
            && r.status().is_success()
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("{url} did not become ready")
}

/// Resident memory of a process in KiB (`VmRSS` in /proc/<pid>/status).
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}
