//! The Ledgerline services of a chaos run, each replica its own process.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::Context;
use tokio::process::{Child, Command};

pub const SERVICES: [&str; 7] = [
    "event-store",
    "command-api",
    "command-processor",
    "balance-service",
    "history-service",
    "audit-service",
    "socket-service",
];

/// One replica of one service.
pub struct Service {
    pub name: &'static str,
    pub replica: usize,
    pub port: u16,
    child: Option<Child>,
    pub restarts: u32,
}

impl Service {
    /// Its `POD_NAME`: the lease replica id of a processor, the log name.
    pub fn instance(&self) -> String {
        format!("{}-{}", self.name, self.replica)
    }
}

pub struct Services {
    binary: PathBuf,
    logs: PathBuf,
    env: Vec<(String, String)>,
    pub all: Vec<Service>,
}

impl Services {
    /// `replicas(service)` of each service, on consecutive ports from
    /// `first_port`: every service's first replica, then every second one.
    pub fn new(
        binary: PathBuf,
        logs: &Path,
        env: Vec<(String, String)>,
        first_port: u16,
        replicas: impl Fn(&str) -> usize,
    ) -> Self {
        let counts: Vec<usize> = SERVICES.iter().map(|s| replicas(s)).collect();
        let most = counts.iter().copied().max().unwrap_or(1);
        let all = (0..most)
            .flat_map(|replica| {
                SERVICES
                    .iter()
                    .zip(&counts)
                    .filter(move |(_, count)| replica < **count)
                    .map(move |(name, _)| (replica, *name))
            })
            .enumerate()
            .map(|(i, (replica, name))| Service {
                name,
                replica,
                port: first_port + i as u16,
                child: None,
                restarts: 0,
            })
            .collect();
        Self {
            binary,
            logs: logs.to_owned(),
            env,
            all,
        }
    }

    fn find(&mut self, name: &str, replica: usize) -> anyhow::Result<&mut Service> {
        self.all
            .iter_mut()
            .find(|s| s.name == name && s.replica == replica)
            .with_context(|| format!("no replica {replica} of {name}"))
    }

    pub fn port(&self, name: &str, replica: usize) -> u16 {
        self.all
            .iter()
            .find(|s| s.name == name && s.replica == replica)
            .map_or(0, |s| s.port)
    }

    /// How many replicas of `name` run.
    pub fn replicas(&self, name: &str) -> usize {
        self.all.iter().filter(|s| s.name == name).count()
    }

    /// The ports of every replica of `name`.
    pub fn ports(&self, name: &str) -> Vec<u16> {
        self.all
            .iter()
            .filter(|s| s.name == name)
            .map(|s| s.port)
            .collect()
    }

    /// Where a replica writes its log.
    pub fn log_path(&self, name: &str, replica: usize) -> PathBuf {
        self.logs.join(format!("{name}-{replica}.log"))
    }

    pub async fn start(&mut self, name: &str, replica: usize) -> anyhow::Result<()> {
        let log_path = self.log_path(name, replica);
        let (binary, env) = (self.binary.clone(), self.env.clone());
        let service = self.find(name, replica)?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log_path)?;
        let child = Command::new(&binary)
            .arg(name)
            .envs(env)
            .env("HTTP_ADDR", format!("127.0.0.1:{}", service.port))
            .env("POD_NAME", service.instance())
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log))
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        service.child = Some(child);
        wait_healthy(service.port).await
    }

    /// Every replica of every service, in `SERVICES` order.
    pub async fn start_all(&mut self) -> anyhow::Result<()> {
        let order: Vec<_> = self.all.iter().map(|s| (s.name, s.replica)).collect();
        for (name, replica) in order {
            self.start(name, replica).await?;
        }
        Ok(())
    }

    /// SIGKILL: no graceful anything.
    pub async fn kill(&mut self, name: &str, replica: usize) {
        if let Ok(service) = self.find(name, replica) {
            if let Some(mut child) = service.child.take() {
                let _ = child.kill().await;
            }
            service.restarts += 1;
        }
    }

    /// SIGTERM one replica and wait for it to exit (bounded); whether it
    /// exited cleanly.
    pub async fn stop(&mut self, name: &str, replica: usize) -> bool {
        let Ok(service) = self.find(name, replica) else {
            return false;
        };
        let Some(child) = service.child.take() else {
            return false;
        };
        terminate(child).await
    }

    /// SIGTERM every service and wait for a clean exit (bounded).
    pub async fn stop_all(&mut self) -> Vec<(String, bool)> {
        let mut exits = Vec::new();
        for service in &mut self.all {
            if let Some(child) = service.child.take() {
                exits.push((service.instance(), terminate(child).await));
            }
        }
        exits
    }
}

async fn terminate(mut child: Child) -> bool {
    if let Some(pid) = child.id() {
        let _ = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .await;
    }
    let clean = matches!(tokio::time::timeout(Duration::from_secs(15), child.wait()).await, Ok(Ok(s)) if s.success());
    if !clean {
        let _ = child.kill().await;
    }
    clean
}

/// Up to 90 s: a replica started while a NATS node is down waits for the
/// cluster's new leader before it serves.
async fn wait_healthy(port: u16) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    for _ in 0..900 {
        let healthy = client
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .send()
            .await;
        if healthy.is_ok_and(|r| r.status().is_success()) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("service on port {port} did not become healthy")
}

/// Waits until a replica answers `/readyz` with 200 (bounded).
pub async fn wait_ready(port: u16, within: Duration) -> bool {
    let client = reqwest::Client::new();
    let deadline = tokio::time::Instant::now() + within;
    while tokio::time::Instant::now() < deadline {
        let ready = client
            .get(format!("http://127.0.0.1:{port}/readyz"))
            .timeout(Duration::from_secs(2))
            .send()
            .await;
        if ready.is_ok_and(|r| r.status().is_success()) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    false
}
