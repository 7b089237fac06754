//! The Ledgerline services of a chaos run, each its own process.

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

pub struct Service {
    pub name: &'static str,
    pub port: u16,
    child: Option<Child>,
    pub restarts: u32,
}

pub struct Services {
    binary: PathBuf,
    logs: PathBuf,
    env: Vec<(String, String)>,
    pub all: Vec<Service>,
}

impl Services {
    pub fn new(binary: PathBuf, logs: &Path, env: Vec<(String, String)>, first_port: u16) -> Self {
        let all = SERVICES
            .iter()
            .enumerate()
            .map(|(i, name)| Service {
                name,
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

    pub fn port(&self, name: &str) -> u16 {
        self.all
            .iter()
            .find(|s| s.name == name)
            .map_or(0, |s| s.port)
    }

    pub async fn start(&mut self, name: &str) -> anyhow::Result<()> {
        let service = self
            .all
            .iter_mut()
            .find(|s| s.name == name)
            .context("no such service")?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.logs.join(format!("{name}.log")))?;
        let child = Command::new(&self.binary)
            .arg(name)
            .envs(self.env.iter().cloned())
            .env("HTTP_ADDR", format!("127.0.0.1:{}", service.port))
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log))
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", self.binary.display()))?;
        service.child = Some(child);
        wait_healthy(service.port).await
    }

    /// SIGKILL: no graceful anything.
    pub async fn kill(&mut self, name: &str) {
        if let Some(service) = self.all.iter_mut().find(|s| s.name == name) {
            if let Some(mut child) = service.child.take() {
                let _ = child.kill().await;
            }
            service.restarts += 1;
        }
    }

    /// SIGTERM every service and wait for a clean exit (bounded).
    pub async fn stop_all(&mut self) -> Vec<(&'static str, bool)> {
        let mut exits = Vec::new();
        for service in &mut self.all {
            if let Some(mut child) = service.child.take() {
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
                exits.push((service.name, clean));
            }
        }
        exits
    }
}

async fn wait_healthy(port: u16) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    for _ in 0..300 {
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
