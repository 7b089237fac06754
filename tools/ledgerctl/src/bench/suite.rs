//! `make bench`: every scenario of issues 7 and 15 in one run on one private NATS
//! and PostgreSQL (fsync on), then `bench/results/<date>.md` and `.json`
//! with the machine's facts and each figure beside its target.
//!
//! A scenario that fails is recorded as failed (with its error) and the
//! run goes on: the summary says what was measured and what was not.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::Context;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use super::counters::Counters;
use super::fanout::{self, FanoutArgs};
use super::load::{self, LoadArgs, Mode};
use super::system::{self, Infra};

#[derive(clap::Args, Clone, Debug)]
pub struct SuiteArgs {
    /// Where `<date>.md` and `<date>.json` go.
    #[arg(long, default_value = "bench/results")]
    pub out: PathBuf,
    #[arg(long, default_value = "target/bench")]
    pub work_dir: PathBuf,
    #[arg(long, default_value_t = 17_600)]
    pub base_port: u16,
    /// The `ledgerline` binary (default: next to this one, as are the
    /// bench-* binaries).
    #[arg(long)]
    pub ledgerline: Option<PathBuf>,
    #[arg(long, default_value = "bench/node-ws-hub/hub.mjs")]
    pub node_hub: PathBuf,
    /// Seconds of each pipeline run.
    #[arg(long, default_value_t = 20)]
    pub duration: u64,
    /// Open-loop rate of the latency run.
    #[arg(long, default_value_t = 1000)]
    pub rate: u32,
    /// Commands in flight in the saturation run.
    #[arg(long, default_value_t = 256)]
    pub concurrency: usize,
    #[arg(long, default_value_t = 200)]
    pub users: usize,
    /// Socket counts to try, in order (a count above what `ulimit -n`
    /// allows is skipped and said so).
    #[arg(long, value_delimiter = ',', default_value = "2000,10000")]
    pub connections: Vec<usize>,
    #[arg(long, default_value_t = 100_000)]
    pub baseline_messages: usize,
    /// Only these scenarios (a,b,c,d,e,f; e and f run together).
    #[arg(long, value_delimiter = ',', default_value = "b,a,d,e,c")]
    pub only: Vec<String>,
}

/// 8 KiB flushes timed before the scenarios (a few seconds on a slow disk).
const FLUSHES: u32 = 1_000;

pub async fn run(args: SuiteArgs) -> anyhow::Result<bool> {
    let date = command_line("date", &["-u", "+%Y-%m-%d"])
        .await
        .unwrap_or_else(|| "undated".into());
    let bin_dir = std::env::current_exe()?
        .parent()
        .context("no exe dir")?
        .to_owned();
    let ledgerline = system::ledgerline_binary(args.ledgerline.clone())?;
    let infra = Infra::start(&args.work_dir, args.base_port, true).await?;
    let flush = super::flush::flush_latency(&infra.postgres.dir, FLUSHES)
        .map_or_else(|e| json!({"error": format!("{e:#}")}), |l| json!(l));
    let mut report = json!({
        "date": date,
        "machine": machine_facts(&infra).await,
        "diskFlush": flush,
        "settings": {
            "postgres": "private cluster, fsync on, synchronous_commit on, shared_buffers 256MB",
            "nats": "private nats-server -js, file storage",
            "ledgerline": "defaults (DB_POOL_SIZE 5, COMMAND_PARTITIONS 8, SNAPSHOT_EVERY 10), RUST_LOG=warn, release build",
            "duration": args.duration, "rate": args.rate, "concurrency": args.concurrency, "users": args.users,
        },
        "scenarios": {},
    });
    let wants = |s: &str| args.only.iter().any(|o| o == s);
    let mut ok = true;
    let mut record = |name: &str, result: anyhow::Result<Value>| {
        let value = match result {
            Ok(v) => v,
            Err(e) => {
                ok = false;
                eprintln!("bench: scenario {name} failed: {e:#}");
                json!({"error": format!("{e:#}")})
            }
        };
        report["scenarios"][name] = value;
    };

    if wants("b") {
        eprintln!("bench: (b) baseline pipe");
        record(
            "b",
            baseline(&bin_dir, &infra, args.baseline_messages).await,
        );
    }
    if wants("a") {
        eprintln!("bench: (a) pipeline");
        record("a", pipeline(&ledgerline, &infra, &args, &date).await);
    }
    if wants("d") {
        eprintln!("bench: (d) socket fan-out");
        record("d", fan_out(&ledgerline, &bin_dir, &infra, &args).await);
    }
    if wants("e") || wants("f") {
        eprintln!("bench: (e) loading 100,000 events, (f) rebuild");
        let db = create_database(&infra, "store").await?;
        let store = bench_binary(&bin_dir, "bench-store", &["--database-url", &db]).await;
        let rebuild = match &store {
            Ok(_) => rebuild(&ledgerline, &infra, &args).await,
            Err(_) => Err(anyhow::anyhow!("no event store to rebuild from")),
        };
        record("ef", store);
        record("rebuild", rebuild);
    }
    if wants("c") {
        eprintln!("bench: (c) decide-and-append vs cqrs-es");
        let ours = create_database(&infra, "decide").await?;
        let theirs = create_database(&infra, "cqrs").await?;
        record(
            "c",
            bench_binary(
                &bin_dir,
                "bench-cqrs-es",
                &["--database-url", &ours, "--cqrs-database-url", &theirs],
            )
            .await,
        );
    }

    std::fs::create_dir_all(&args.out)?;
    let json_path = args.out.join(format!("{date}.json"));
    let md_path = args.out.join(format!("{date}.md"));
    std::fs::write(&json_path, serde_json::to_vec_pretty(&report)?)?;
    let summary = super::summary::markdown(&report);
    std::fs::write(&md_path, &summary)?;
    println!("{summary}");
    println!(
        "bench: wrote {} and {}",
        md_path.display(),
        json_path.display()
    );
    Ok(ok)
}

async fn command_line(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().await.ok()?;
    let text = String::from_utf8_lossy(if out.stdout.is_empty() {
        &out.stderr
    } else {
        &out.stdout
    })
    .trim()
    .to_owned();
    (!text.is_empty()).then_some(text)
}

fn proc_field(path: &str, key: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()?
        .lines()
        .find(|l| l.starts_with(key))
        .map(|l| {
            l[key.len()..]
                .trim_start_matches([':', ' ', '\t'])
                .trim()
                .to_owned()
        })
}

async fn machine_facts(infra: &Infra) -> Value {
    let postgres = infra.postgres.bin.join("postgres");
    json!({
        "nproc": command_line("nproc", &[]).await,
        "cpu": proc_field("/proc/cpuinfo", "model name"),
        "memTotal": proc_field("/proc/meminfo", "MemTotal"),
        "kernel": command_line("uname", &["-r"]).await,
        "rustc": command_line("rustc", &["--version"]).await,
        "natsServer": command_line(&std::env::var("NATS_SERVER").unwrap_or_else(|_| "nats-server".into()), &["--version"]).await,
        "postgres": command_line(&postgres.to_string_lossy(), &["--version"]).await,
        "node": command_line("node", &["--version"]).await,
        "openFilesLimit": proc_field("/proc/self/limits", "Max open files"),
    })
}

pub(crate) async fn psql(infra: &Infra, database: &str, sql: &str) -> anyhow::Result<String> {
    let out = Command::new("psql")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &infra.postgres.port.to_string(),
            "-U",
            "postgres",
            "-d",
            database,
            "-Atc",
            sql,
        ])
        .output()
        .await
        .context("psql")?;
    anyhow::ensure!(
        out.status.success(),
        "psql: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

async fn create_database(infra: &Infra, name: &str) -> anyhow::Result<String> {
    let _ = psql(
        infra,
        "postgres",
        &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
    )
    .await;
    psql(infra, "postgres", &format!("CREATE DATABASE {name}")).await?;
    Ok(infra.postgres.url(name))
}

/// Runs `bin_dir/name args…`; its last stdout line is its JSON result.
async fn bench_binary(bin_dir: &Path, name: &str, args: &[&str]) -> anyhow::Result<Value> {
    let out = Command::new(bin_dir.join(name))
        .args(args)
        .stderr(Stdio::inherit())
        .output()
        .await
        .with_context(|| format!("running {name}"))?;
    anyhow::ensure!(out.status.success(), "{name} exited with {}", out.status);
    let text = String::from_utf8_lossy(&out.stdout);
    let last = text.lines().last().context("no output")?;
    serde_json::from_str(last).with_context(|| format!("{name} printed {last}"))
}

async fn baseline(bin_dir: &Path, infra: &Infra, messages: usize) -> anyhow::Result<Value> {
    let db = create_database(infra, "baseline").await?;
    bench_binary(
        bin_dir,
        "bench-baseline",
        &[
            "--nats-url",
            &infra.nats.url(),
            "--database-url",
            &db,
            "--count",
            &messages.to_string(),
        ],
    )
    .await
}

/// The machine's CPU time so far, in clock ticks summed over its cores
/// (`/proc/stat`).
#[derive(Debug, Clone, Copy)]
struct MachineTicks {
    /// Running anything (idle, iowait and steal are not busy).
    busy: u64,
    /// Taken by the hypervisor for other guests while this one wanted to
    /// run: on a shared host, time the run waited for no reason of its own.
    stolen: u64,
    all: u64,
}

fn machine_ticks() -> Option<MachineTicks> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let cpu = stat.lines().next()?.strip_prefix("cpu ")?;
    let ticks: Vec<u64> = cpu
        .split_whitespace()
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    let all: u64 = ticks.iter().take(8).sum();
    let (idle, stolen) = (ticks.get(3)? + ticks.get(4)?, *ticks.get(7)?);
    Some(MachineTicks {
        busy: all - idle - stolen,
        stolen,
        all,
    })
}

/// The shares of the machine's CPU that were busy and stolen between two
/// readings.
#[allow(clippy::float_arithmetic, clippy::cast_precision_loss)]
fn shares_between(before: Option<MachineTicks>, after: Option<MachineTicks>) -> Option<(f64, f64)> {
    let (before, after) = before.zip(after)?;
    let all = after.all.checked_sub(before.all).filter(|&t| t > 0)? as f64;
    Some((
        after.busy.saturating_sub(before.busy) as f64 / all,
        after.stolen.saturating_sub(before.stolen) as f64 / all,
    ))
}

/// CPU seconds (user + system) a process has used so far.
#[allow(clippy::float_arithmetic)]
fn cpu_secs(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

#[allow(clippy::float_arithmetic)]
async fn pipeline(
    ledgerline: &Path,
    infra: &Infra,
    args: &SuiteArgs,
    date: &str,
) -> anyhow::Result<Value> {
    create_database(infra, "ledgerline").await?;
    let process = system::spawn_ledgerline(
        ledgerline,
        infra,
        "ledgerline",
        &["all"],
        args.base_port + 10,
        &[],
    )
    .await?;
    let pid = process.pid().unwrap_or_default();
    let mut runs = Vec::new();
    let mut results = Vec::new();
    for (mode, prefix) in [(Mode::Closed, "sat"), (Mode::Open, "lat")] {
        let (run, result) = measured_run(&process, pid, infra, args, mode, prefix).await?;
        runs.push(run);
        results.push(result);
    }
    // (f) on the events the load just wrote (all of them went through the
    // stream, so the live read models are caught up): the real rebuild,
    // beside a plain sequential read of the same table.
    let rebuild = timed_rebuild(&process.url())
        .await
        .map_err(|e| format!("{e:#}"));
    let read = sequential_read(infra, "ledgerline")
        .await
        .map_err(|e| format!("{e:#}"));
    // The fixed rate again with PostgreSQL acknowledging commits before
    // they are flushed: what the flushes on the command's path cost. For
    // comparison only: a crash could then lose commands already answered 202.
    let unflushed = unflushed_run(&process, pid, infra, args)
        .await
        .map_err(|e| format!("{e:#}"));
    process.stop().await;
    let labels = [
        format!("{} in flight", args.concurrency),
        format!("{}/s", args.rate),
    ];
    let plotted: Vec<(&str, &load::LoadResult)> =
        labels.iter().map(String::as_str).zip(&results).collect();
    let plots = super::plot::load_run(&args.out, &format!("{date}-pipeline"), &plotted)
        .unwrap_or_else(|e| {
            eprintln!("bench: {e}");
            Vec::new()
        });
    Ok(json!({
        "plots": plots,
        "saturation": runs[0], "fixedRate": runs[1],
        "fixedRateUnflushed": unflushed.unwrap_or_else(|e| json!({"error": e})),
        "rebuild": rebuild.unwrap_or_else(|e| json!({"error": e})),
        "sequentialRead": read.unwrap_or_else(|e| json!({"error": e})),
    }))
}

/// The wait before each measured run: the reconciler's delay (ledgerline's
/// default `RECONCILE_AFTER_SECS`, 10 s) and the few seconds it takes to
/// look at 80,000 commands at its pace.
const SETTLE: Duration = Duration::from_secs(20);

/// One load run against `process`, with what it cost: ledgerline's CPU,
/// PostgreSQL's commits and NATS's messages per command.
#[allow(clippy::float_arithmetic)]
async fn measured_run(
    process: &system::Process,
    pid: u32,
    infra: &Infra,
    args: &SuiteArgs,
    mode: Mode,
    prefix: &str,
) -> anyhow::Result<(Value, load::LoadResult)> {
    let load = LoadArgs {
        mode,
        rate: args.rate,
        concurrency: args.concurrency,
        duration: args.duration,
        users: args.users,
        accounts: 2,
        drain: 300,
        json: None,
        plots: None,
        ws_url: None,
        prefix: prefix.into(),
    };
    // The commands of a run before this one come of age for the API's
    // reconciler RECONCILE_AFTER_SECS (10) after their 202s, and it then
    // looks each of them up: work that belongs to that run, not this one.
    tokio::time::sleep(SETTLE).await;
    let (cpu0, before) = (cpu_secs(pid), Counters::read(infra).await);
    let machine0 = machine_ticks();
    let result = load::run(&process.url(), &load).await;
    let machine = shares_between(machine0, machine_ticks());
    // PostgreSQL publishes its statistics about once a second.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (cpu1, after) = (cpu_secs(pid), Counters::read(infra).await);
    let result = result?;
    eprintln!("{}", result.table());
    let decided = result.accepted.max(1) as f64;
    let mut run = json!({
        "result": result,
        "ledgerlineCpuSecs": cpu1.zip(cpu0).map(|(a, b)| a - b),
        "ledgerlineCpuMsPerCommand": cpu1.zip(cpu0).map(|(a, b)| (a - b) * 1000.0 / decided),
        // Everything on the machine (Ledgerline, PostgreSQL, NATS, this
        // load generator), from the first request to the last outcome.
        "machineCpuBusy": machine.map(|(busy, _)| busy),
        "machineCpuStolen": machine.map(|(_, stolen)| stolen),
    });
    match (before, after) {
        (Ok(before), Ok(after)) => {
            let costs = after.per_command(&before, decided as u64);
            eprintln!("bench: per command {costs}");
            if let (Some(run), Some(costs)) = (run.as_object_mut(), costs.as_object()) {
                run.extend(costs.clone());
            }
        }
        (Err(e), _) | (_, Err(e)) => eprintln!("bench: counters not read: {e:#}"),
    }
    Ok((run, result))
}

/// The fixed-rate run with `synchronous_commit = off` on the whole private
/// server (a reload reaches the sessions already open), set back after.
async fn unflushed_run(
    process: &system::Process,
    pid: u32,
    infra: &Infra,
    args: &SuiteArgs,
) -> anyhow::Result<Value> {
    psql(
        infra,
        "postgres",
        "ALTER SYSTEM SET synchronous_commit = off",
    )
    .await?;
    psql(infra, "postgres", "SELECT pg_reload_conf()").await?;
    let run = measured_run(process, pid, infra, args, Mode::Open, "unflushed").await;
    psql(infra, "postgres", "ALTER SYSTEM RESET synchronous_commit").await?;
    psql(infra, "postgres", "SELECT pg_reload_conf()").await?;
    Ok(run?.0)
}

/// A child that prints `listening <port>` when ready.
async fn spawn_hub(program: &Path, args: &[String]) -> anyhow::Result<Child> {
    let mut child = Command::new(program)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {}", program.display()))?;
    let stdout = child.stdout.take().context("no stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .context("hub did not start")??;
    anyhow::ensure!(
        line.is_some_and(|l| l.starts_with("listening")),
        "hub did not say it listens"
    );
    Ok(child)
}

fn open_files_limit() -> usize {
    proc_field("/proc/self/limits", "Max open files")
        .and_then(|l| l.split_whitespace().next().and_then(|n| n.parse().ok()))
        .unwrap_or(1024)
}

async fn fan_out(
    ledgerline: &Path,
    bin_dir: &Path,
    infra: &Infra,
    args: &SuiteArgs,
) -> anyhow::Result<Value> {
    create_database(infra, "fanout").await?;
    let core = system::spawn_ledgerline(
        ledgerline,
        infra,
        "fanout",
        &[
            "event-store",
            "command-api",
            "command-processor",
            "balance-service",
            "history-service",
            "audit-service",
        ],
        args.base_port + 10,
        &[],
    )
    .await?;
    let limit = open_files_limit();
    let mut rows = Vec::new();
    for &n in &args.connections {
        if n + 200 > limit {
            rows.push(json!({"connections": n, "skipped": format!("ulimit -n is {limit}")}));
            continue;
        }
        let mut row = json!({"connections": n});
        // Ledgerline's socket service, alone in its process.
        let socket = system::spawn_ledgerline(
            ledgerline,
            infra,
            "fanout",
            &["socket-service"],
            args.base_port + 11,
            &[],
        )
        .await?;
        let result = fanout::run(&FanoutArgs {
            ws_url: format!("ws://127.0.0.1:{}", args.base_port + 11),
            api: Some(core.url()),
            connections: n,
            rounds: 5,
            pid: socket.pid(),
        })
        .await;
        socket.stop().await;
        row["ledgerline"] = to_value(result);
        // The bare tokio-tungstenite hub and the Node ws hub.
        let port = args.base_port + 20;
        let hubs: [(&str, PathBuf, Vec<String>); 2] = [
            (
                "bareTungstenite",
                bin_dir.join("bench-ws-broadcast"),
                vec![port.to_string()],
            ),
            (
                "nodeWs",
                PathBuf::from("node"),
                vec![
                    args.node_hub.to_string_lossy().into_owned(),
                    (port + 1).to_string(),
                ],
            ),
        ];
        for (i, (name, program, hub_args)) in hubs.into_iter().enumerate() {
            let result = async {
                let hub = spawn_hub(&program, &hub_args).await?;
                let r = fanout::run(&FanoutArgs {
                    ws_url: format!("ws://127.0.0.1:{}", port + i as u16),
                    api: None,
                    connections: n,
                    rounds: 5,
                    pid: hub.id(),
                })
                .await;
                drop(hub);
                r
            }
            .await;
            row[name] = to_value(result);
        }
        eprintln!("{}", serde_json::to_string(&row).unwrap_or_default());
        rows.push(row);
    }
    core.stop().await;
    Ok(Value::Array(rows))
}

fn to_value<T: serde::Serialize>(r: anyhow::Result<T>) -> Value {
    match r {
        Ok(v) => serde_json::to_value(v).unwrap_or_default(),
        Err(e) => json!({"error": format!("{e:#}")}),
    }
}

/// (f) The real rebuild: `ledgerline all` on the database bench-store
/// filled (its `balances` schema dropped first, so the live read model
/// starts empty), left to go idle, then `POST /projections/rebuild
/// {"name": "AccountBalances"}` as an operator, timed until `GET
/// /projections/AccountBalances` reports that rebuild ended.
#[allow(clippy::float_arithmetic)]
async fn rebuild(ledgerline: &Path, infra: &Infra, args: &SuiteArgs) -> anyhow::Result<Value> {
    psql(infra, "store", "DROP SCHEMA IF EXISTS balances CASCADE").await?;
    let events: i64 = psql(infra, "store", "SELECT count(*) FROM es.events")
        .await?
        .parse()?;
    let process = system::spawn_ledgerline(
        ledgerline,
        infra,
        "store",
        &["all"],
        args.base_port + 12,
        &[],
    )
    .await?;
    let pid = process.pid().unwrap_or_default();
    // Whatever the services do at start (a bootstrap from the store) ends first.
    let busy_from = tokio::time::Instant::now();
    let mut last = cpu_secs(pid).unwrap_or_default();
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = cpu_secs(pid).unwrap_or_default();
        if now - last < 0.05 || busy_from.elapsed() > Duration::from_secs(60) {
            break;
        }
        last = now;
    }
    let startup_busy_secs = busy_from.elapsed().as_secs_f64();
    let timed = timed_rebuild(&process.url()).await;
    process.stop().await;
    let timed = timed?;
    Ok(json!({
        "events": events,
        "replayed": timed["replayed"],
        "secs": timed["secs"],
        "eventsPerSec": timed["eventsPerSec"],
        "startupBusySecs": startup_busy_secs,
        "outcome": timed["outcome"],
    }))
}

/// `POST /projections/rebuild {"name": "AccountBalances"}` as an operator,
/// timed until `GET /projections/AccountBalances` reports it ended (asked
/// every 10 ms: a rebuild of the load's events takes under a second, and
/// a coarser poll would add up to its interval).
#[allow(clippy::float_arithmetic)]
async fn timed_rebuild(url: &str) -> anyhow::Result<Value> {
    let http = reqwest::Client::new();
    let answer: Value = http
        .post(format!("{url}/auth/demo-login"))
        .json(&json!({"userId": "ops", "role": "operator"}))
        .send()
        .await?
        .json()
        .await?;
    let token = answer["token"]
        .as_str()
        .context("no operator token")?
        .to_owned();
    let started = tokio::time::Instant::now();
    let response = http
        .post(format!("{url}/projections/rebuild"))
        .bearer_auth(&token)
        .json(&json!({"name": "AccountBalances"}))
        .send()
        .await?;
    anyhow::ensure!(
        response.status().as_u16() == 202,
        "rebuild refused: {}",
        response.status()
    );
    let id = response.json::<Value>().await?["rebuildId"].clone();
    let outcome = loop {
        tokio::time::sleep(Duration::from_millis(10)).await;
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(300),
            "the rebuild did not end in 5 min"
        );
        let view: Value = http
            .get(format!("{url}/projections/AccountBalances"))
            .bearer_auth(&token)
            .send()
            .await?
            .json()
            .await?;
        if view["lastRebuild"]["id"] == id {
            break view["lastRebuild"].clone();
        }
    };
    let took = started.elapsed().as_secs_f64();
    anyhow::ensure!(outcome["outcome"] == "completed", "rebuild ended {outcome}");
    let replayed = outcome["replayed"].as_f64().unwrap_or_default();
    Ok(
        json!({"replayed": replayed, "secs": took, "eventsPerSec": replayed / took, "outcome": outcome}),
    )
}

/// Every row of `es.events`, read in order by one `SELECT` (psql, output
/// discarded), timed: the plain sequential read a rebuild is compared with.
#[allow(clippy::float_arithmetic)]
async fn sequential_read(infra: &Infra, database: &str) -> anyhow::Result<Value> {
    let events: f64 = psql(infra, database, "SELECT count(*) FROM es.events")
        .await?
        .parse()?;
    let started = tokio::time::Instant::now();
    let out = Command::new("psql")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &infra.postgres.port.to_string(),
            "-U",
            "postgres",
            "-d",
            database,
            "-Atc",
            "SELECT * FROM es.events ORDER BY global_position",
        ])
        .stdout(Stdio::null())
        .status()
        .await?;
    let took = started.elapsed().as_secs_f64();
    anyhow::ensure!(out.success(), "psql failed");
    Ok(json!({"events": events, "secs": took, "eventsPerSec": events / took}))
}
