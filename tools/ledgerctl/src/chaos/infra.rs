//! The chaos run's own NATS and PostgreSQL, in a temporary directory, so
//! they can be killed and stopped without touching anything else.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::process::{Child, Command};

async fn wait_for_port(port: u16, what: &str) -> anyhow::Result<()> {
    for _ in 0..150 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("{what} did not come up on port {port}")
}

fn is_root() -> bool {
    std::env::var("USER").is_ok_and(|u| u == "root")
        || std::fs::metadata("/proc/self")
            .map(|m| {
                use std::os::unix::fs::MetadataExt;
                m.uid() == 0
            })
            .unwrap_or(false)
}

/// A throwaway PostgreSQL cluster (initdb + pg_ctl), run as `postgres`
/// when we are root (PostgreSQL refuses to run as root).
pub struct Postgres {
    pub(crate) dir: PathBuf,
    pub(crate) bin: PathBuf,
    pub port: u16,
}

fn pg_bin() -> anyhow::Result<PathBuf> {
    if let Ok(dir) = std::env::var("PG_BIN") {
        return Ok(PathBuf::from(dir));
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .context("PostgreSQL server binaries not found (set PG_BIN)")?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("pg_ctl").exists())
        .collect();
    versions.sort();
    versions
        .pop()
        .context("no pg_ctl under /usr/lib/postgresql/*/bin (set PG_BIN)")
}

impl Postgres {
    pub(crate) fn command(&self, tool: &str) -> Command {
        let path = self.bin.join(tool);
        let mut command = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        };
        command.stdout(Stdio::null()).stderr(Stdio::null());
        command
    }

    pub async fn init(base: &Path, port: u16) -> anyhow::Result<Self> {
        let dir = base.join("postgres");
        std::fs::create_dir_all(&dir)?;
        if is_root() {
            let status = Command::new("chown")
                .args(["-R", "postgres"])
                .arg(&dir)
                .status()
                .await?;
            anyhow::ensure!(status.success(), "chown {} failed", dir.display());
        }
        let pg = Self {
            dir,
            bin: pg_bin()?,
            port,
        };
        let status = pg
            .command("initdb")
            .args(["-A", "trust", "-U", "postgres", "--no-sync", "-D"])
            .arg(pg.dir.join("data"))
            .status()
            .await?;
        anyhow::ensure!(status.success(), "initdb failed");
        pg.start().await?;
        Ok(pg)
    }

    pub async fn start(&self) -> anyhow::Result<()> {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300",
            self.port,
            self.dir.display()
        );
        let status = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.dir.join("data"))
            .arg("-l")
            .arg(self.dir.join("log"))
            .args(["-o", &options, "-w", "start"])
            .status()
            .await?;
        anyhow::ensure!(
            status.success(),
            "pg_ctl start failed (see {})",
            self.dir.join("log").display()
        );
        wait_for_port(self.port, "PostgreSQL").await
    }

    /// Stops at once, as a crash would (`-m immediate`).
    pub async fn stop(&self) -> anyhow::Result<()> {
        let status = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(["-m", "immediate", "-w", "stop"])
            .status()
            .await?;
        anyhow::ensure!(status.success(), "pg_ctl stop failed");
        Ok(())
    }

    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }
}

/// A throwaway nats-server with JetStream: on its own, or one node of a
/// cluster.
pub struct Nats {
    dir: PathBuf,
    pub port: u16,
    /// The cluster options of a node (name, cluster listen URL, routes).
    cluster: Vec<String>,
    child: Option<Child>,
}

impl Nats {
    pub async fn start(base: &Path, port: u16) -> anyhow::Result<Self> {
        let mut nats = Self {
            dir: base.join("nats"),
            port,
            cluster: Vec::new(),
            child: None,
        };
        nats.restart().await?;
        Ok(nats)
    }

    /// `nodes` servers clustered with JetStream (every stream can then keep
    /// up to `nodes` replicas), on client ports `port..port + nodes` and
    /// cluster ports 200 above. Started together: JetStream needs a
    /// quorum of them before it answers.
    pub async fn start_cluster(base: &Path, port: u16, nodes: u16) -> anyhow::Result<Vec<Self>> {
        let cluster_port = |i: u16| port + 200 + i;
        let mut servers: Vec<Self> = (0..nodes)
            .map(|i| {
                let routes: Vec<String> = (0..nodes)
                    .filter(|j| *j != i)
                    .map(|j| format!("nats://127.0.0.1:{}", cluster_port(j)))
                    .collect();
                Self {
                    dir: base.join(format!("nats-{i}")),
                    port: port + i,
                    cluster: vec![
                        "--server_name".to_owned(),
                        format!("n{i}"),
                        "--cluster_name".to_owned(),
                        "chaos".to_owned(),
                        "--cluster".to_owned(),
                        format!("nats://127.0.0.1:{}", cluster_port(i)),
                        "--routes".to_owned(),
                        routes.join(","),
                    ],
                    child: None,
                }
            })
            .collect();
        for server in &mut servers {
            server.spawn()?;
        }
        for server in &servers {
            wait_for_port(server.port, "NATS").await?;
        }
        for server in &servers {
            server.wait_for_meta_leader().await?;
        }
        Ok(servers)
    }

    /// Until the node knows the JetStream cluster's leader: before that it
    /// cannot create a stream.
    async fn wait_for_meta_leader(&self) -> anyhow::Result<()> {
        let http = reqwest::Client::new();
        for _ in 0..300 {
            let jsz: Option<serde_json::Value> =
                match http.get(self.monitor_url("jsz")).send().await {
                    Ok(r) => r.json().await.ok(),
                    Err(_) => None,
                };
            if jsz.is_some_and(|j| j["meta_cluster"]["leader"].is_string()) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!(
            "the NATS node on port {} found no JetStream leader",
            self.port
        )
    }

    fn spawn(&mut self) -> anyhow::Result<()> {
        let bin = std::env::var("NATS_SERVER").unwrap_or_else(|_| "nats-server".to_owned());
        let child = Command::new(bin)
            .args([
                "-a",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-m",
                &self.monitor_port().to_string(),
                "-js",
                "-sd",
            ])
            .arg(&self.dir)
            .args(&self.cluster)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("starting nats-server (set NATS_SERVER)")?;
        self.child = Some(child);
        Ok(())
    }

    pub async fn restart(&mut self) -> anyhow::Result<()> {
        self.spawn()?;
        wait_for_port(self.port, "NATS").await
    }

    /// SIGKILL, as a crash would.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// The server's monitoring port (`/varz`: its own message counters).
    fn monitor_port(&self) -> u16 {
        self.port + 100
    }

    pub fn monitor_url(&self, endpoint: &str) -> String {
        format!("http://127.0.0.1:{}/{endpoint}", self.monitor_port())
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let mut command = std::process::Command::new(if is_root() { "runuser" } else { "sh" });
        let pg_ctl = self.bin.join("pg_ctl");
        let data = self.dir.join("data");
        if is_root() {
            command
                .args(["-u", "postgres", "--"])
                .arg(pg_ctl)
                .arg("-D")
                .arg(data)
                .args(["-m", "immediate", "stop"]);
        } else {
            command.arg("-c").arg(format!(
                "{} -D {} -m immediate stop",
                pg_ctl.display(),
                data.display()
            ));
        }
        let _ = command.stdout(Stdio::null()).stderr(Stdio::null()).status();
    }
}
