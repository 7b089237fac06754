//! `ledgerctl chaos`: the services as separate processes under steady load,
//! with sockets connected and resuming, while processes are SIGKILLed, NATS
//! is restarted, the broker loses queued commands it had acknowledged and
//! PostgreSQL is stopped for 10 s; then every guarantee is checked and the
//! figures printed.

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
use load::{Accepted, Shared, SocketLog, Target};
use services::Services;
use verify::{Figures, Reader, check};

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
    /// The processor is down for 3 s while commands are accepted, then the
    /// command stream is purged: acknowledged commands the broker lost (what
    /// a single server's unflushed writes or an operator's purge do).
    LoseCommands,
}

pub async fn run(args: ChaosArgs) -> anyhow::Result<bool> {
    let seed = args.seed.unwrap_or_else(|| rand::rng().random());
    let started = Instant::now();
    let dir = args.work_dir.join(format!("run-{seed}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let dir = std::fs::canonicalize(&dir)?;
    let binary = match args.ledgerline.clone() {
        Some(path) => path,
        None => std::env::current_exe()?.with_file_name("ledgerline"),
    };
    println!(
        "chaos: seed {seed}, {} s at {} commands/s, {} users × {} accounts, work dir {}",
        args.duration,
        args.rate,
        args.users,
        args.accounts,
        dir.display()
    );

    let postgres = Postgres::init(&dir, args.base_port)
        .await
        .context("starting PostgreSQL for the run")?;
    let mut nats = Nats::start(&dir, args.base_port + 1)
        .await
        .context("starting NATS for the run")?;
    let env = vec![
        ("DATABASE_URL".to_owned(), postgres.url("ledgerline")),
        ("NATS_URL".to_owned(), nats.url()),
        ("NATS_PREFIX".to_owned(), PREFIX.to_owned()),
        ("JWT_SECRET".to_owned(), "chaos-secret".to_owned()),
        ("DEMO_LOGIN".to_owned(), "true".to_owned()),
        ("COMMAND_PARTITIONS".to_owned(), "4".to_owned()),
        ("COMMAND_DEADLINE_SECS".to_owned(), "120".to_owned()),
        ("DB_POOL_SIZE".to_owned(), "4".to_owned()),
        ("WEB_DIR".to_owned(), "/nonexistent".to_owned()),
        ("RUST_LOG".to_owned(), "warn,ledgerline=info".to_owned()),
    ];
    let mut services = Services::new(binary, &dir, env, args.base_port + 10);
    for name in services::SERVICES {
        services.start(name).await?;
    }
    let ports: std::collections::HashMap<&str, u16> = services::SERVICES
        .iter()
        .map(|n| (*n, services.port(n)))
        .collect();
    let url = |name: &str| {
        format!(
            "http://127.0.0.1:{}",
            ports.get(name).copied().unwrap_or_default()
        )
    };
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    let mut tokens = Vec::new();
    for user in 0..args.users {
        tokens.push(login(&http, &url("command-api"), &format!("chaos{user}"), false).await?);
    }
    let operator = login(&http, &url("command-api"), "ops", true).await?;
    let target = Arc::new(Target {
        api: url("command-api"),
        socket_port: services.port("socket-service"),
        tokens: tokens.clone(),
    });
    let record = Shared::default();
    let stop_sockets = CancellationToken::new();
    let mut sockets = Vec::new();
    for user in 0..args.users {
        for _ in 0..2 {
            let index = {
                let mut r = record.lock();
                r.sockets.push(SocketLog {
                    user,
                    ..Default::default()
                });
                r.sockets.len() - 1
            };
            sockets.push(tokio::spawn(load::socket(
                target.clone(),
                record.clone(),
                user,
                index,
                stop_sockets.clone(),
            )));
        }
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    for user in 0..args.users {
        for account in 0..args.accounts {
            let id = load::account_name(user, account);
            let body = json!({"accountId": id, "initialBalance": 100});
            if let Some(cid) = load::post(
                &http,
                &target,
                &record,
                user,
                "open-account",
                body,
                Duration::from_secs(30),
            )
            .await
            {
                record.lock().accepted.insert(
                    cid,
                    Accepted {
                        user,
                        account: id,
                        kind: "open-account",
                        minor: 10_000,
                        to: None,
                    },
                );
            }
        }
    }

    // Load and faults.
    let stop_load = CancellationToken::new();
    let generator = tokio::spawn(load::generate(
        target.clone(),
        record.clone(),
        args.accounts,
        args.rate,
        stop_load.clone(),
    ));
    let mut rng = StdRng::seed_from_u64(seed);
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
                services.kill(name).await;
                tokio::time::sleep(Duration::from_secs(1)).await;
                services.start(name).await?;
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
                services.kill("command-processor").await;
                tokio::time::sleep(Duration::from_secs(3)).await;
                let lost = purge_commands(&nats.url()).await?;
                figures_lost_by_broker += lost;
                services.start("command-processor").await?;
                log.push(format!(
                    "{when:>5.1} s  processor down 3 s, then the command stream purged: {lost} accepted commands lost by the broker"
                ));
            }
            Fault::StopPostgres => {
                postgres.stop().await?;
                let red_until = Instant::now() + Duration::from_secs(10);
                while Instant::now() < red_until {
                    let ready = http
                        .get(format!("{}/readyz", url("command-processor")))
                        .send()
                        .await;
                    readiness_red |= matches!(ready, Ok(r) if r.status().as_u16() == 503);
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                postgres.start().await?;
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

    // Let every outcome arrive (a killed processor's commands come back after AckWait).
    let drain_deadline = Instant::now() + Duration::from_secs(120);
    while verify::undelivered(&record.lock()) > 0 && Instant::now() < drain_deadline {
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let reader = Reader {
        http: http.clone(),
        store: url("event-store"),
        balances: url("balance-service"),
        history: url("history-service"),
        audit: url("audit-service"),
        operator,
        tokens,
    };
    reader.converge(args.users, args.accounts).await;
    stop_sockets.cancel();
    for s in sockets {
        let _ = s.await;
    }

    let mut figures = Figures {
        lost_by_broker: figures_lost_by_broker,
        ..Figures::default()
    };
    // Every socket and load task has ended: take the record out of its lock.
    let record_snapshot = std::mem::take(&mut *record.lock());
    let record_ref = &record_snapshot;
    figures.refused_4xx = record_ref.refused.len();
    figures.gave_up = record_ref.gave_up;
    figures.http_posts = record_ref.posts;
    figures.http_retries = record_ref.retries;
    figures.sockets = record_ref.sockets.len();
    figures.socket_reconnects = record_ref.sockets.iter().map(|s| s.reconnects).sum();
    let mut checks = vec![
        verify::envelopes(record_ref, &mut figures),
        verify::one_outcome_each(record_ref, &mut figures),
    ];
    checks.push(check(
        "no command refused with 4xx, none given up",
        figures.refused_4xx == 0 && figures.gave_up == 0,
        format!(
            "{} refused {:?}, {} gave up",
            figures.refused_4xx,
            record_ref.refused.iter().take(3).collect::<Vec<_>>(),
            figures.gave_up
        ),
    ));
    let resume_incomplete: u32 = record_ref.sockets.iter().map(|s| s.resume_incomplete).sum();
    checks.push(check(
        "every resume completed",
        resume_incomplete == 0,
        format!("{resume_incomplete} incomplete"),
    ));
    checks.extend(
        reader
            .read_models(&record_snapshot, args.users, args.accounts, &mut figures)
            .await?,
    );
    checks.push(check(
        "readiness went red while PostgreSQL was down",
        readiness_red,
        format!("{readiness_red}"),
    ));
    let exits = services.stop_all().await;
    let unclean: Vec<_> = exits
        .iter()
        .filter(|(_, clean)| !clean)
        .map(|(n, _)| *n)
        .collect();
    checks.push(check(
        "SIGTERM: every service drained and exited cleanly",
        unclean.is_empty(),
        format!("unclean: {unclean:?}"),
    ));
    nats.kill().await;
    drop(postgres);

    report(
        &dir,
        seed,
        &args,
        &log,
        &figures,
        &checks,
        started.elapsed(),
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

fn report(
    dir: &std::path::Path,
    seed: u64,
    args: &ChaosArgs,
    faults: &[String],
    figures: &Figures,
    checks: &[verify::Check],
    took: Duration,
) -> anyhow::Result<()> {
    println!("\nfaults injected:");
    for f in faults {
        println!("  {f}");
    }
    println!("\nfigures:");
    let value = serde_json::to_value(figures)?;
    if let Some(map) = value.as_object() {
        for (k, v) in map {
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
    let report = json!({
        "seed": seed, "durationSecs": args.duration, "rate": args.rate, "users": args.users, "accountsPerUser": args.accounts,
        "tookSecs": took.as_secs(), "faults": faults, "figures": figures, "checks": checks,
    });
    let path = dir.join("report.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&report)?)?;
    println!(
        "\nreport: {}  (reproduce: ledgerctl chaos --seed {seed} --duration {} --rate {})",
        path.display(),
        args.duration,
        args.rate
    );
    println!("chaos: {passed} passed, {} failed", checks.len() - passed);
    Ok(())
}
