//! `ledgerctl chaos`: the services as separate processes under steady load,
//! with sockets connected and resuming, while processes are SIGKILLed, NATS
//! is restarted, the broker loses queued commands it had acknowledged and
//! PostgreSQL is stopped for 10 s; then every guarantee is checked and the
//! figures printed.

pub(crate) mod cluster;
pub(crate) mod infra;
mod load;
mod services;
mod verify;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use infra::{Nats, Postgres};
use load::{Accepted, Record, Shared, SocketLog, Target};
use services::Services;
use verify::{Check, Figures, Reader, check};

#[derive(clap::Args)]
pub struct ChaosArgs {
    /// Seconds of load while faults are injected.
    #[arg(long, default_value_t = 60)]
    duration: u64,
    /// Commands per second.
    #[arg(long, default_value_t = 40)]
    rate: u32,
    #[arg(long, default_value_t = 4)]
    users: usize,
    /// Accounts per user.
    #[arg(long, default_value_t = 2)]
    accounts: usize,
    /// Seed for the fault schedule (random when absent; printed).
    #[arg(long)]
    seed: Option<u64>,
    /// The `ledgerline` binary (default: next to this one).
    #[arg(long)]
    ledgerline: Option<PathBuf>,
    /// Where the run keeps its databases and logs.
    #[arg(long, default_value = "target/chaos")]
    work_dir: PathBuf,
    /// First of the ports the run uses (PostgreSQL, NATS, then the services).
    #[arg(long, default_value_t = 17_400)]
    base_port: u16,
}

/// The run's NATS subject prefix.
const PREFIX: &str = "chaos";

#[derive(Debug, Clone, Copy)]
enum Fault {
    Kill(&'static str),
    RestartNats,
    StopPostgres,
    /// The processor is killed and down for 3 s while commands are accepted,
    /// then the command stream is purged: acknowledged commands the broker
    /// lost (what a single server's unflushed writes or an operator's purge
    /// do).
    LoseCommands,
}

/// What a chaos run sets up before its faults, and checks after them: its
/// own PostgreSQL, the services (each replica its own process), signed-in
/// users with two resuming sockets each, and their accounts.
pub(crate) struct Run {
    pub dir: PathBuf,
    pub seed: u64,
    pub started: Instant,
    pub postgres: Postgres,
    pub services: Services,
    pub http: reqwest::Client,
    pub record: Shared,
    pub target: Arc<Target>,
    pub reader: Reader,
    users: usize,
    accounts: usize,
    sockets: Vec<tokio::task::JoinHandle<()>>,
    stop_sockets: CancellationToken,
}

/// How a run is shaped, whichever faults it injects.
pub(crate) struct Shape<'a> {
    pub name: &'a str,
    pub seed: Option<u64>,
    pub work_dir: &'a std::path::Path,
    pub ledgerline: Option<PathBuf>,
    pub base_port: u16,
    pub users: usize,
    pub accounts: usize,
    /// How many replicas of each service.
    pub replicas: &'a dyn Fn(&str) -> usize,
}

impl Run {
    /// PostgreSQL, then `start_nats` (which gets the run's directory and
    /// the next free port, and answers NATS_URL), then the services and the
    /// clients.
    pub async fn start<N, F>(
        shape: Shape<'_>,
        extra_env: &[(&str, &str)],
        start_nats: F,
    ) -> anyhow::Result<(Self, N)>
    where
        F: AsyncFnOnce(&std::path::Path, u16) -> anyhow::Result<(N, String)>,
    {
        let seed = shape.seed.unwrap_or_else(|| rand::rng().random());
        let started = Instant::now();
        let dir = shape.work_dir.join(format!("run-{seed}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        let dir = std::fs::canonicalize(&dir)?;
        let binary = match shape.ledgerline {
            Some(path) => path,
            None => std::env::current_exe()?.with_file_name("ledgerline"),
        };
        let postgres = Postgres::init(&dir, shape.base_port)
            .await
            .context("starting PostgreSQL for the run")?;
        let (nats, nats_url) = start_nats(&dir, shape.base_port + 1)
            .await
            .context("starting NATS for the run")?;
        let mut env: Vec<(String, String)> = [
            ("DATABASE_URL", postgres.url("ledgerline").as_str()),
            ("NATS_URL", nats_url.as_str()),
            ("NATS_PREFIX", PREFIX),
            ("JWT_SECRET", "chaos-secret"),
            ("DEMO_LOGIN", "true"),
            ("COMMAND_PARTITIONS", "4"),
            ("COMMAND_DEADLINE_SECS", "120"),
            ("DB_POOL_SIZE", "4"),
            ("WEB_DIR", "/nonexistent"),
            ("RUST_LOG", "warn,ledgerline=info"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        for (k, v) in extra_env {
            env.retain(|(key, _)| key != k);
            env.push(((*k).to_owned(), (*v).to_owned()));
        }
        let mut services = Services::new(binary, &dir, env, shape.base_port + 10, shape.replicas);
        let replicas: Vec<String> = services::SERVICES
            .iter()
            .map(|s| format!("{s} ×{}", services.replicas(s)))
            .collect();
        services.start_all().await?;
        let url = |name: &str| format!("http://127.0.0.1:{}", services.port(name, 0));
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()?;
        let mut tokens = Vec::new();
        for user in 0..shape.users {
            tokens.push(login(&http, &url("command-api"), &format!("chaos{user}"), false).await?);
        }
        let operator = login(&http, &url("command-api"), "ops", true).await?;
        let target = Arc::new(Target {
            apis: services
                .ports("command-api")
                .into_iter()
                .map(|p| format!("http://127.0.0.1:{p}"))
                .collect(),
            socket_ports: services.ports("socket-service"),
            tokens: tokens.clone(),
        });
        let reader = Reader {
            http: http.clone(),
            store: url("event-store"),
            balances: url("balance-service"),
            history: url("history-service"),
            audit: url("audit-service"),
            operator,
            tokens,
        };
        println!(
            "{}: seed {seed}, {} users × {} accounts, work dir {}\n  {}",
            shape.name,
            shape.users,
            shape.accounts,
            dir.display(),
            replicas.join(", ")
        );
        let mut run = Self {
            dir,
            seed,
            started,
            postgres,
            services,
            http,
            record: Shared::default(),
            target,
            reader,
            users: shape.users,
            accounts: shape.accounts,
            sockets: Vec::new(),
            stop_sockets: CancellationToken::new(),
        };
        run.open_sockets();
        tokio::time::sleep(Duration::from_secs(1)).await;
        run.open_accounts().await;
        Ok((run, nats))
    }

    /// Two sockets per user, each reconnecting and resuming until the end.
    fn open_sockets(&mut self) {
        for user in 0..self.users {
            for _ in 0..2 {
                let index = {
                    let mut r = self.record.lock();
                    r.sockets.push(SocketLog {
                        user,
                        ..Default::default()
                    });
                    r.sockets.len() - 1
                };
                self.sockets.push(tokio::spawn(load::socket(
                    self.target.clone(),
                    self.record.clone(),
                    user,
                    index,
                    self.stop_sockets.clone(),
                )));
            }
        }
    }

    async fn open_accounts(&self) {
        for user in 0..self.users {
            for account in 0..self.accounts {
                let id = load::account_name(user, account);
                let body = json!({"accountId": id, "initialBalance": 100});
                let sent = Instant::now();
                if let Some(cid) = load::post(
                    &self.http,
                    &self.target,
                    &self.record,
                    user,
                    "open-account",
                    body,
                    Duration::from_secs(30),
                )
                .await
                {
                    self.record.lock().accepted.insert(
                        cid,
                        Accepted {
                            user,
                            account: id,
                            kind: "open-account",
                            minor: 10_000,
                            to: None,
                            sent,
                            accepted: Instant::now(),
                        },
                    );
                }
            }
        }
    }

    /// Commands at `rate` per second until the token is cancelled.
    pub fn load(&self, rate: u32) -> (CancellationToken, tokio::task::JoinHandle<()>) {
        let stop = CancellationToken::new();
        let generator = tokio::spawn(load::generate(
            self.target.clone(),
            self.record.clone(),
            self.accounts,
            rate,
            stop.clone(),
        ));
        (stop, generator)
    }

    /// Waits for every outcome and for the read models, closes the sockets,
    /// and checks what every run promises: each 202 exactly one outcome,
    /// sockets lost and doubled nothing, money and read models right.
    pub async fn verify(&mut self, figures: &mut Figures) -> anyhow::Result<(Vec<Check>, Record)> {
        // Let every outcome arrive (a killed processor's commands come back after AckWait).
        let drain_deadline = Instant::now() + Duration::from_secs(120);
        while verify::undelivered(&self.record.lock()) > 0 && Instant::now() < drain_deadline {
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        self.reader.converge(self.users, self.accounts).await;
        self.stop_sockets.cancel();
        for s in self.sockets.drain(..) {
            let _ = s.await;
        }
        // Every socket and load task has ended: take the record out of its lock.
        let record = std::mem::take(&mut *self.record.lock());
        figures.refused_4xx = record.refused.len();
        figures.gave_up = record.gave_up;
        figures.http_posts = record.posts;
        figures.http_retries = record.retries;
        figures.sockets = record.sockets.len();
        figures.socket_reconnects = record.sockets.iter().map(|s| s.reconnects).sum();
        let mut checks = vec![
            verify::envelopes(&record, figures),
            verify::one_outcome_each(&record, figures),
        ];
        checks.push(check(
            "no command refused with 4xx, none given up",
            figures.refused_4xx == 0 && figures.gave_up == 0,
            format!(
                "{} refused {:?}, {} gave up",
                figures.refused_4xx,
                record.refused.iter().take(3).collect::<Vec<_>>(),
                figures.gave_up
            ),
        ));
        let resume_incomplete: u32 = record.sockets.iter().map(|s| s.resume_incomplete).sum();
        checks.push(check(
            "every resume completed",
            resume_incomplete == 0,
            format!("{resume_incomplete} incomplete"),
        ));
        checks.extend(
            self.reader
                .read_models(&record, self.users, self.accounts, figures)
                .await?,
        );
        Ok((checks, record))
    }

    /// SIGTERM every replica: each drains and exits cleanly.
    pub async fn stop(&mut self) -> Check {
        let exits = self.services.stop_all().await;
        let unclean: Vec<_> = exits
            .iter()
            .filter(|(_, clean)| !clean)
            .map(|(n, _)| n.clone())
            .collect();
        check(
            "SIGTERM: every service drained and exited cleanly",
            unclean.is_empty(),
            format!("unclean: {unclean:?}"),
        )
    }
}

pub async fn run(args: ChaosArgs) -> anyhow::Result<bool> {
    let shape = Shape {
        name: "chaos",
        seed: args.seed,
        work_dir: &args.work_dir,
        ledgerline: args.ledgerline.clone(),
        base_port: args.base_port,
        users: args.users,
        accounts: args.accounts,
        replicas: &|_| 1,
    };
    let (mut run, mut nats) = Run::start(shape, &[], async |dir, port| {
        let nats = Nats::start(dir, port).await?;
        let url = nats.url();
        Ok((nats, url))
    })
    .await?;
    println!("chaos: {} s at {} commands/s", args.duration, args.rate);
    let processor = format!(
        "http://127.0.0.1:{}",
        run.services.port("command-processor", 0)
    );

    // Load and faults.
    let (stop_load, generator) = run.load(args.rate);
    let mut rng = StdRng::seed_from_u64(run.seed);
    let mut faults = [
        Fault::Kill("command-processor"),
        Fault::Kill("balance-service"),
        Fault::Kill("history-service"),
        Fault::Kill("audit-service"),
        Fault::Kill("socket-service"),
        Fault::RestartNats,
        Fault::StopPostgres,
        Fault::Kill("command-processor"),
        Fault::LoseCommands,
    ];
    faults.shuffle(&mut rng);
    let slot = Duration::from_secs(args.duration) / (faults.len() as u32 + 1);
    let mut log = Vec::new();
    let mut readiness_red = false;
    let mut figures_lost_by_broker = 0;
    let load_started = Instant::now();
    for (i, fault) in faults.iter().enumerate() {
        let jitter = slot.mul_f64(rng.random_range(0.0..0.6));
        let at = (slot * (i as u32 + 1) + jitter).saturating_sub(slot.mul_f64(0.3));
        if let Some(wait) = at.checked_sub(load_started.elapsed()) {
            tokio::time::sleep(wait).await;
        }
        let when = load_started.elapsed().as_secs_f32();
        match *fault {
            Fault::Kill(name) => {
                run.services.kill(name, 0).await;
                tokio::time::sleep(Duration::from_secs(1)).await;
                run.services.start(name, 0).await?;
                log.push(format!(
                    "{when:>5.1} s  SIGKILL {name}, restarted after 1 s"
                ));
            }
            Fault::RestartNats => {
                nats.kill().await;
                tokio::time::sleep(Duration::from_secs(1)).await;
                nats.restart().await?;
                log.push(format!(
                    "{when:>5.1} s  SIGKILL nats-server, restarted after 1 s"
                ));
            }
            Fault::LoseCommands => {
                // Killed: the kill can land between a decision's commit and
                // its status publish, and the purge then drops the
                // redelivery that would repair it — the store's outbox
                // (`told_at`) and the reconciler tell that user anyway.
                run.services.kill("command-processor", 0).await;
                tokio::time::sleep(Duration::from_secs(3)).await;
                let lost = purge_commands(&nats.url()).await?;
                figures_lost_by_broker += lost;
                run.services.start("command-processor", 0).await?;
                log.push(format!(
                    "{when:>5.1} s  processor killed, down 3 s, then the command stream purged: {lost} accepted commands lost by the broker"
                ));
            }
            Fault::StopPostgres => {
                run.postgres.stop().await?;
                let red_until = Instant::now() + Duration::from_secs(10);
                while Instant::now() < red_until {
                    let ready = run.http.get(format!("{processor}/readyz")).send().await;
                    readiness_red |= matches!(ready, Ok(r) if r.status().as_u16() == 503);
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                run.postgres.start().await?;
                log.push(format!(
                    "{when:>5.1} s  PostgreSQL stopped (immediate) for 10 s"
                ));
            }
        }
    }
    if let Some(wait) = Duration::from_secs(args.duration).checked_sub(load_started.elapsed()) {
        tokio::time::sleep(wait).await;
    }
    stop_load.cancel();
    generator.await?;

    let mut figures = Figures {
        lost_by_broker: figures_lost_by_broker,
        ..Figures::default()
    };
    let (mut checks, _record) = run.verify(&mut figures).await?;
    checks.push(check(
        "readiness went red while PostgreSQL was down",
        readiness_red,
        format!("{readiness_red}"),
    ));
    checks.push(run.stop().await);
    nats.kill().await;

    let setup = json!({
        "durationSecs": args.duration, "rate": args.rate, "users": args.users,
        "accountsPerUser": args.accounts,
    });
    report(
        "chaos",
        &run.dir,
        run.seed,
        setup,
        &log,
        &serde_json::to_value(&figures)?,
        &checks,
        run.started.elapsed(),
        &format!(
            "ledgerctl chaos --seed {} --duration {} --rate {}",
            run.seed, args.duration, args.rate
        ),
    )?;
    Ok(checks.iter().all(|c| c.passed))
}

/// Empties the run's command stream; how many queued commands it dropped.
async fn purge_commands(nats_url: &str) -> anyhow::Result<u64> {
    let client = async_nats::connect(nats_url).await?;
    let js = async_nats::jetstream::new(client);
    let stream = js
        .get_stream(ledgerline_bus::Subjects::new(PREFIX).commands_stream())
        .await?;
    Ok(stream.purge().await?.purged)
}

async fn login(
    http: &reqwest::Client,
    api: &str,
    user: &str,
    operator: bool,
) -> anyhow::Result<String> {
    let mut body = json!({"userId": user});
    if operator {
        body["role"] = json!("operator");
    }
    let answer: serde_json::Value = http
        .post(format!("{api}/auth/demo-login"))
        .json(&body)
        .send()
        .await?
        .json()
        .await?;
    answer["token"]
        .as_str()
        .map(str::to_owned)
        .context("no token")
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn report(
    name: &str,
    dir: &std::path::Path,
    seed: u64,
    setup: serde_json::Value,
    faults: &[String],
    figures: &serde_json::Value,
    checks: &[verify::Check],
    took: Duration,
    reproduce: &str,
) -> anyhow::Result<()> {
    println!("\nfaults injected:");
    for f in faults {
        println!("  {f}");
    }
    println!("\nfigures:");
    if let Some(map) = figures.as_object() {
        for (k, v) in map.iter().filter(|(_, v)| !v.is_array()) {
            println!("  {k:<22} {v}");
        }
    }
    println!("\nchecks:");
    for c in checks {
        println!(
            "  [{}] {} — {}",
            if c.passed { " ok " } else { "FAIL" },
            c.name,
            c.detail
        );
    }
    let passed = checks.iter().filter(|c| c.passed).count();
    let mut report = json!({
        "seed": seed, "tookSecs": took.as_secs(), "faults": faults,
        "figures": figures, "checks": checks,
    });
    if let (Some(report), serde_json::Value::Object(setup)) = (report.as_object_mut(), setup) {
        report.extend(setup);
    }
    let path = dir.join("report.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&report)?)?;
    println!("\nreport: {}  (reproduce: {reproduce})", path.display());
    println!("{name}: {passed} passed, {} failed", checks.len() - passed);
    Ok(())
}
