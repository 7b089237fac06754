//! `ledgerctl chaos-cluster` (`make chaos-cluster`): the scaled-out shape
//! of `k8s/` on one machine, sized by `deploy/topology.json` — three
//! clustered nats-servers with every stream kept on each, the replicas k8s
//! runs of every service (two of each: the processors sharing the
//! partitions by lease, the projectors their durable consumers), clients
//! spread over the replicas — under load while NATS
//! nodes and replicas are SIGKILLed and every service is restarted one
//! replica at a time; then the same guarantees as the single-node run, and
//! what only a cluster can break: the order of each account's commands,
//! one owner per partition at a time, readiness.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio_util::sync::CancellationToken;

use super::infra::Nats;
use super::load::Record;
use super::services::{SERVICES, Services, wait_ready};
use super::verify::{Check, Figures, check};
use super::{Run, Shape, report};

#[derive(clap::Args)]
pub struct ClusterArgs {
    /// Seconds of load while faults are injected (the rolling restart
    /// follows, under load too).
    #[arg(long, default_value_t = 90)]
    duration: u64,
    /// Commands per second.
    #[arg(long, default_value_t = 30)]
    rate: u32,
    #[arg(long, default_value_t = 4)]
    users: usize,
    /// Accounts per user.
    #[arg(long, default_value_t = 2)]
    accounts: usize,
    /// Seed for the fault schedule (random when absent; printed).
    #[arg(long)]
    seed: Option<u64>,
    /// The scaled-out settings shared with `k8s/` (NATS servers, stream
    /// replicas, partitions, lease TTL).
    #[arg(long, default_value = "deploy/topology.json")]
    topology: PathBuf,
    /// The `ledgerline` binary (default: next to this one).
    #[arg(long)]
    ledgerline: Option<PathBuf>,
    #[arg(long, default_value = "target/chaos-cluster")]
    work_dir: PathBuf,
    /// First of the ports the run uses.
    #[arg(long, default_value_t = 17_700)]
    base_port: u16,
}

/// The part of `deploy/topology.json` the run takes.
#[derive(Debug, Deserialize)]
struct Topology {
    nats: NatsTopology,
    command_partitions: u32,
    partition_lease_secs: u64,
    replicas: HashMap<String, Replicas>,
}

/// A service's replicas in k8s: a fixed count, or an autoscaler's range
/// (the run uses its minimum).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Replicas {
    Fixed(usize),
    Autoscaled { min: usize },
}

impl Topology {
    /// At least one of every service, as k8s runs them.
    fn replicas(&self, service: &str) -> usize {
        match self.replicas.get(service) {
            Some(Replicas::Fixed(n) | Replicas::Autoscaled { min: n }) => (*n).max(1),
            None => 1,
        }
    }
}

#[derive(Debug, Deserialize)]
struct NatsTopology {
    cluster_size: u16,
    stream_replicas: u64,
}

#[derive(Debug, Clone, Copy)]
enum Fault {
    /// SIGKILL one NATS node; restarted after 3 s.
    KillNats,
    /// SIGKILL one replica of a service; restarted after 1 s.
    Kill(&'static str),
}

/// A span of time during which a replica (or NATS node) was meant to be
/// down or coming back.
#[derive(Debug, Clone)]
struct Window {
    who: String,
    from: Instant,
    to: Instant,
    /// Wall clock, for the processors' logs.
    wall_from: SystemTime,
}

/// One `/readyz` answer of one replica.
struct Sample {
    at: Instant,
    instance: String,
    ready: bool,
}

pub async fn run(args: ClusterArgs) -> anyhow::Result<bool> {
    let topology: Topology = serde_json::from_str(
        &std::fs::read_to_string(&args.topology)
            .with_context(|| format!("reading {}", args.topology.display()))?,
    )
    .with_context(|| format!("parsing {}", args.topology.display()))?;
    let partitions = topology.command_partitions.to_string();
    let stream_replicas = topology.nats.stream_replicas.to_string();
    let lease = topology.partition_lease_secs.to_string();
    let nodes = topology.nats.cluster_size;
    let shape = Shape {
        name: "chaos-cluster",
        seed: args.seed,
        work_dir: &args.work_dir,
        ledgerline: args.ledgerline.clone(),
        base_port: args.base_port,
        users: args.users,
        accounts: args.accounts,
        replicas: &|service| topology.replicas(service),
    };
    let env = [
        ("COMMAND_PARTITIONS", partitions.as_str()),
        ("STREAM_REPLICAS", stream_replicas.as_str()),
        ("PARTITION_LEASE_SECS", lease.as_str()),
        // JSON logs: the lease audit reads the processors' own.
        ("LOG_FORMAT", "json"),
        (
            "RUST_LOG",
            "warn,ledgerline=info,ledgerline_leases=info,command_processor=info",
        ),
    ];
    let (mut run, mut cluster) = Run::start(shape, &env, async |dir, port| {
        let cluster = Nats::start_cluster(dir, port, nodes).await?;
        let url = cluster.iter().map(Nats::url).collect::<Vec<_>>().join(",");
        Ok((cluster, url))
    })
    .await?;
    println!(
        "chaos-cluster: {} s at {} commands/s, {nodes} NATS servers, streams × {stream_replicas}, {partitions} partitions, lease {lease} s",
        args.duration, args.rate
    );

    // Readiness of every replica, sampled twice a second all along.
    let samples = Arc::new(Mutex::new(Vec::<Sample>::new()));
    let stop_sampling = CancellationToken::new();
    let sampler = tokio::spawn(sample_readiness(
        run.services
            .all
            .iter()
            .map(|s| (s.instance(), s.port))
            .collect(),
        samples.clone(),
        stop_sampling.clone(),
    ));

    let (stop_load, generator) = run.load(args.rate);
    let mut rng = StdRng::seed_from_u64(run.seed);
    let mut faults = vec![Fault::KillNats, Fault::KillNats];
    faults.extend(
        [
            "command-processor",
            "balance-service",
            "history-service",
            "audit-service",
            "command-api",
            "socket-service",
        ]
        .map(Fault::Kill),
    );
    faults.shuffle(&mut rng);
    let slot = Duration::from_secs(args.duration) / (faults.len() as u32 + 1);
    let mut log = Vec::new();
    let mut windows: Vec<Window> = Vec::new();
    let mut nats_windows: Vec<Window> = Vec::new();
    let mut last_node = None;
    // Each fault's name and moment, for the outage figures.
    let mut marks: Vec<(String, Instant)> = Vec::new();
    let load_started = Instant::now();
    for (i, fault) in faults.iter().enumerate() {
        let jitter = slot.mul_f64(rng.random_range(0.0..0.5));
        let at = slot * (i as u32 + 1) + jitter;
        if let Some(wait) = at.checked_sub(load_started.elapsed()) {
            tokio::time::sleep(wait).await;
        }
        let when = load_started.elapsed().as_secs_f32();
        let (from, wall_from) = (Instant::now(), SystemTime::now());
        marks.push((fault_name(*fault), from));
        match *fault {
            Fault::KillNats => {
                // Never the same node twice in a row: "one, later another".
                let node = loop {
                    let n = rng.random_range(0..cluster.len());
                    if Some(n) != last_node {
                        break n;
                    }
                };
                last_node = Some(node);
                cluster[node].kill().await;
                tokio::time::sleep(Duration::from_secs(3)).await;
                cluster[node].restart().await?;
                nats_windows.push(Window {
                    who: format!("nats n{node}"),
                    from,
                    to: Instant::now(),
                    wall_from,
                });
                log.push(format!(
                    "{when:>5.1} s  SIGKILL nats-server n{node}, restarted after 3 s"
                ));
            }
            Fault::Kill(name) => {
                let replica = rng.random_range(0..run.services.replicas(name).max(1));
                run.services.kill(name, replica).await;
                tokio::time::sleep(Duration::from_secs(1)).await;
                let (window, ready) =
                    bring_back(&mut run.services, name, replica, from, wall_from).await?;
                windows.push(window);
                log.push(format!(
                    "{when:>5.1} s  SIGKILL {name}-{replica}, restarted after 1 s{}",
                    if ready {
                        ""
                    } else {
                        " (not ready within 30 s)"
                    }
                ));
            }
        }
    }
    if let Some(wait) = Duration::from_secs(args.duration).checked_sub(load_started.elapsed()) {
        tokio::time::sleep(wait).await;
    }

    // A rolling restart of every service, one replica at a time, under load.
    let rolling_started = load_started.elapsed().as_secs_f32();
    let rolling_began = Instant::now();
    marks.push(("rolling restart".to_owned(), rolling_began));
    let mut rolling_unclean = Vec::new();
    let mut rolling_unready = Vec::new();
    for name in SERVICES {
        for replica in 0..run.services.replicas(name) {
            let (from, wall_from) = (Instant::now(), SystemTime::now());
            if !run.services.stop(name, replica).await {
                rolling_unclean.push(format!("{name}-{replica}"));
            }
            let (window, ready) =
                bring_back(&mut run.services, name, replica, from, wall_from).await?;
            if !ready {
                rolling_unready.push(window.who.clone());
            }
            windows.push(window);
        }
    }
    log.push(format!(
        "{rolling_started:>5.1} s  rolling restart of every service, one replica at a time (SIGTERM, start, wait until ready): {:.1} s",
        rolling_began.elapsed().as_secs_f32()
    ));
    stop_load.cancel();
    generator.await?;

    let mut figures = Figures::default();
    let (mut checks, record) = run.verify(&mut figures).await?;
    stop_sampling.cancel();
    let _ = sampler.await;
    let events = run.reader.all_events().await?;
    checks.push(decided_in_accepted_order(&record, &events));
    checks.push(check(
        "rolling restart: every replica drained on SIGTERM and was ready again",
        rolling_unclean.is_empty() && rolling_unready.is_empty(),
        format!("unclean: {rolling_unclean:?}, not ready: {rolling_unready:?}"),
    ));
    // The processors' tasks end when their process does.
    let mut ends = windows.clone();
    ends.push(Window {
        who: "end".to_owned(),
        from: Instant::now(),
        to: Instant::now(),
        wall_from: SystemTime::now(),
    });
    let logs: Vec<PathBuf> = (0..run.services.replicas("command-processor"))
        .map(|r| run.services.log_path("command-processor", r))
        .collect();
    checks.push(one_owner_per_partition(&logs, &ends)?);
    checks.push(readiness(
        &samples.lock().unwrap_or_else(|p| p.into_inner()),
        &windows,
        &nats_windows,
    ));
    checks.push(run.stop().await);
    for node in &mut cluster {
        node.kill().await;
    }

    let outages = outages(&record, &marks, load_started);
    // The log has one line per mark, in the same order.
    for (line, outage) in log.iter_mut().zip(&outages) {
        line.push_str(&format!(
            " — then no 202 for {:.1} s, no outcome for {:.1} s",
            outage["noAcceptSecs"].as_f64().unwrap_or_default(),
            outage["noDecisionSecs"].as_f64().unwrap_or_default()
        ));
    }
    let mut figures = serde_json::to_value(&figures)?;
    figures["outages"] = json!(outages);
    let setup = json!({
        "durationSecs": args.duration, "rate": args.rate, "users": args.users,
        "accountsPerUser": args.accounts,
        "replicas": SERVICES.iter().map(|s| (s.to_string(), run.services.replicas(s))).collect::<HashMap<_, _>>(),
        "natsServers": nodes,
        "streamReplicas": topology.nats.stream_replicas, "partitions": topology.command_partitions,
        "leaseSecs": topology.partition_lease_secs,
    });
    report(
        "chaos-cluster",
        &run.dir,
        run.seed,
        setup,
        &log,
        &figures,
        &checks,
        run.started.elapsed(),
        &format!(
            "ledgerctl chaos-cluster --seed {} --duration {} --rate {} --users {} --accounts {}",
            run.seed, args.duration, args.rate, args.users, args.accounts
        ),
    )?;
    Ok(checks.iter().all(|c| c.passed))
}

/// Starts a replica that was stopped or killed at `from` and waits until
/// it is ready (at most 30 s): the span it was away, and whether it came
/// back ready.
async fn bring_back(
    services: &mut Services,
    name: &'static str,
    replica: usize,
    from: Instant,
    wall_from: SystemTime,
) -> anyhow::Result<(Window, bool)> {
    services.start(name, replica).await?;
    let ready = wait_ready(services.port(name, replica), Duration::from_secs(30)).await;
    let window = Window {
        who: format!("{name}-{replica}"),
        from,
        to: Instant::now(),
        wall_from,
    };
    Ok((window, ready))
}

async fn sample_readiness(
    instances: Vec<(String, u16)>,
    samples: Arc<Mutex<Vec<Sample>>>,
    stop: CancellationToken,
) {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_millis(800))
        .build()
        .unwrap_or_default();
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    while !stop.is_cancelled() {
        tick.tick().await;
        let answers = futures::future::join_all(instances.iter().map(|(instance, port)| {
            let http = http.clone();
            async move {
                let ready = http
                    .get(format!("http://127.0.0.1:{port}/readyz"))
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success());
                (instance.clone(), ready)
            }
        }))
        .await;
        let at = Instant::now();
        let mut samples = samples.lock().unwrap_or_else(|p| p.into_inner());
        samples.extend(answers.into_iter().map(|(instance, ready)| Sample {
            at,
            instance,
            ready,
        }));
    }
}

/// A replica may be red while it is down or coming back, and while a NATS
/// node it may be connected to is (its client then reconnects to another);
/// red at any other moment is a failure. And every replica that was killed
/// or restarted was seen red.
fn readiness(samples: &[Sample], windows: &[Window], nats: &[Window]) -> Check {
    const GRACE: Duration = Duration::from_secs(5);
    const RECONNECT: Duration = Duration::from_secs(15);
    let mut unexpected: HashMap<&str, usize> = HashMap::new();
    for sample in samples.iter().filter(|s| !s.ready) {
        let own = windows
            .iter()
            .any(|w| w.who == sample.instance && sample.at >= w.from && sample.at <= w.to + GRACE);
        let broker = nats
            .iter()
            .any(|w| sample.at >= w.from && sample.at <= w.to + RECONNECT);
        if !(own || broker) {
            *unexpected.entry(&sample.instance).or_default() += 1;
        }
    }
    let unseen: Vec<&str> = windows
        .iter()
        .filter(|w| {
            !samples
                .iter()
                .any(|s| s.instance == w.who && !s.ready && s.at >= w.from && s.at <= w.to)
        })
        .map(|w| w.who.as_str())
        .collect();
    let red = samples.iter().filter(|s| !s.ready).count();
    check(
        "readiness red only where it should be (a replica down or restarting, a NATS node down)",
        unexpected.is_empty(),
        format!(
            "{} samples, {red} red; red elsewhere: {unexpected:?}; restarts never seen red (too quick for a 500 ms sample): {unseen:?}",
            samples.len()
        ),
    )
}

/// Of two commands on one account, one accepted (202) before the other was
/// sent is decided first: its event has the lower version. Deposits and
/// withdrawals that succeeded (one event each, on their account).
fn decided_in_accepted_order(record: &Record, events: &[Value]) -> Check {
    let version_of: HashMap<&str, i64> = events
        .iter()
        .filter_map(|e| Some((e["metadata"]["commandId"].as_str()?, e["version"].as_i64()?)))
        .collect();
    let mut by_account: HashMap<&str, Vec<(Instant, Instant, i64)>> = HashMap::new();
    for (id, a) in &record.accepted {
        if !matches!(a.kind, "deposit" | "withdraw") {
            continue;
        }
        if let Some(version) = version_of.get(id.as_str()) {
            by_account
                .entry(a.account.as_str())
                .or_default()
                .push((a.sent, a.accepted, *version));
        }
    }
    let (mut pairs, mut wrong) = (0usize, Vec::new());
    for (account, commands) in &by_account {
        let mut by_accepted = commands.clone();
        by_accepted.sort_by_key(|c| c.1);
        let mut by_sent = commands.clone();
        by_sent.sort_by_key(|c| c.0);
        // For each command in order of sending, the highest version among
        // those accepted before it was sent.
        let (mut i, mut highest) = (0, None::<i64>);
        for (sent, _, version) in &by_sent {
            while i < by_accepted.len() && by_accepted[i].1 < *sent {
                highest = highest.max(Some(by_accepted[i].2));
                i += 1;
            }
            pairs += i;
            if let Some(before) = highest.filter(|h| h >= version) {
                wrong.push(format!("{account}: v{version} after v{before}"));
            }
        }
    }
    check(
        "each account's commands decided in the order they were accepted",
        wrong.is_empty(),
        format!(
            "{} accounts, {pairs} ordered pairs; out of order: {wrong:?}",
            by_account.len()
        ),
    )
}

/// One processor log line that matters to the audit.
#[derive(Deserialize)]
struct LogLine {
    timestamp: String,
    fields: LogFields,
}

#[derive(Deserialize)]
struct LogFields {
    message: String,
    replica: Option<String>,
    partition: Option<u32>,
}

/// From the processors' own logs: each partition's task ran on one replica
/// at a time — a task "started" after the previous owner's "stopped" (or
/// after that replica was killed: its tasks die with it).
fn one_owner_per_partition(logs: &[PathBuf], ends: &[Window]) -> anyhow::Result<Check> {
    // (partition) → [(replica, started, stopped)]
    let mut runs: HashMap<u32, Vec<(String, OffsetDateTime, Option<OffsetDateTime>)>> =
        HashMap::new();
    let mut lines = 0usize;
    for path in logs {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        for line in text.lines() {
            let Ok(entry) = serde_json::from_str::<LogLine>(line) else {
                continue;
            };
            let (Some(replica), Some(partition)) = (entry.fields.replica, entry.fields.partition)
            else {
                continue;
            };
            let Ok(at) = OffsetDateTime::parse(&entry.timestamp, &Rfc3339) else {
                continue;
            };
            let list = runs.entry(partition).or_default();
            match entry.fields.message.as_str() {
                "partition started" => {
                    lines += 1;
                    list.push((replica, at, None));
                }
                "partition stopped" => {
                    lines += 1;
                    if let Some(open) = list
                        .iter_mut()
                        .rev()
                        .find(|(r, _, end)| *r == replica && end.is_none())
                    {
                        open.2 = Some(at);
                    }
                }
                _ => {}
            }
        }
    }
    // A run never stopped ended when its process was killed next (or at
    // the end of the run).
    let kill_times: Vec<(String, OffsetDateTime)> = ends
        .iter()
        .map(|w| (w.who.clone(), OffsetDateTime::from(w.wall_from)))
        .collect();
    let end_of_run = kill_times
        .iter()
        .find(|(who, _)| who == "end")
        .map_or(OffsetDateTime::now_utc(), |(_, t)| *t);
    let mut overlaps = Vec::new();
    let mut count = 0;
    for (partition, list) in &mut runs {
        let mut spans: Vec<(String, OffsetDateTime, OffsetDateTime)> = list
            .iter()
            .map(|(replica, start, stop)| {
                let end = stop.unwrap_or_else(|| {
                    // A replica id is the instance's name and a suffix
                    // of its own for each process.
                    kill_times
                        .iter()
                        .filter(|(who, at)| replica.starts_with(&format!("{who}-")) && at > start)
                        .map(|(_, at)| *at)
                        .min()
                        .unwrap_or(end_of_run)
                });
                (replica.clone(), *start, end)
            })
            .collect();
        spans.sort_by_key(|s| s.1);
        count += spans.len();
        for pair in spans.windows(2) {
            if pair[1].1 < pair[0].2 && pair[0].0 != pair[1].0 {
                overlaps.push(format!(
                    "partition {partition}: {} from {} while {} held it until {}",
                    pair[1].0, pair[1].1, pair[0].0, pair[0].2
                ));
            }
        }
    }
    Ok(check(
        "never two owners of one partition at the same moment (lease history from the processors' logs)",
        overlaps.is_empty() && count > 0,
        format!(
            "{count} ownership spans over {} partitions ({lines} log lines); overlaps: {overlaps:?}",
            runs.len()
        ),
    ))
}

fn fault_name(fault: Fault) -> String {
    match fault {
        Fault::KillNats => "SIGKILL a NATS node".to_owned(),
        Fault::Kill(name) => format!("SIGKILL a {name} replica"),
    }
}

/// For each fault, how long the load saw no 202 and no outcome, from the
/// fault until the next one (at most 30 s): the longest gap between
/// consecutive ones.
fn outages(record: &Record, marks: &[(String, Instant)], load_started: Instant) -> Vec<Value> {
    let mut accepted: Vec<Instant> = record.accepted.values().map(|a| a.accepted).collect();
    accepted.sort();
    let mut decided: HashMap<&str, Instant> = HashMap::new();
    for socket in &record.sockets {
        for (id, at) in &socket.first_seen {
            let entry = decided.entry(id.as_str()).or_insert(*at);
            *entry = (*entry).min(*at);
        }
    }
    let mut decided: Vec<Instant> = decided.into_values().collect();
    decided.sort();
    marks
        .iter()
        .enumerate()
        .map(|(i, (fault, from))| {
            let mut until = *from + Duration::from_secs(30);
            if let Some((_, next)) = marks.get(i + 1) {
                until = until.min(*next);
            }
            json!({
                "fault": fault,
                "atSecs": from.saturating_duration_since(load_started).as_secs_f32(),
                "noAcceptSecs": longest_gap(&accepted, *from, until),
                "noDecisionSecs": longest_gap(&decided, *from, until),
            })
        })
        .collect()
}

/// The longest time within `[from, until]` with no instant of `sorted`.
fn longest_gap(sorted: &[Instant], from: Instant, until: Instant) -> f32 {
    let mut last = from;
    let mut longest = Duration::ZERO;
    for at in sorted.iter().filter(|at| **at > from && **at <= until) {
        longest = longest.max(at.saturating_duration_since(last));
        last = *at;
    }
    longest.as_secs_f32()
}
