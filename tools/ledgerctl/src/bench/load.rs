//! The load generator: many users, one socket each, posting deposits and
//! withdrawals open-loop at a target rate or closed-loop at saturation; the
//! 202 latency and the POST → status-envelope latency of every command,
//! and a check that every accepted command got exactly one outcome.
//!
//! Coordinated omission: in open-loop mode every command has an *intended*
//! send time on a fixed schedule (`start + i / rate`), each is posted by its
//! own task, and both latencies are measured from that intended time — a
//! stalled system is charged for every command that should have gone out
//! meanwhile, which is what HdrHistogram's `record_correct` with the
//! expected interval approximates for a blocking sender. Closed-loop
//! latencies are service times (a saturation measurement, not a latency one).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use anyhow::Context;
use futures::StreamExt;
use hdrhistogram::Histogram;
use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::stats::{Latency, PercentilePoint, histogram, micros, percentiles};

#[derive(clap::Args, Clone, Debug)]
pub struct LoadArgs {
    /// `open` (a fixed rate, latency) or `closed` (saturation, throughput).
    #[arg(long, default_value = "open")]
    pub mode: Mode,
    /// Open loop: commands per second.
    #[arg(long, default_value_t = 1000)]
    pub rate: u32,
    /// Closed loop: commands in flight (each worker posts its next one as
    /// soon as its last got its 202).
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Seconds of measured load.
    #[arg(long, default_value_t = 20)]
    pub duration: u64,
    #[arg(long, default_value_t = 200)]
    pub users: usize,
    #[arg(long, default_value_t = 2)]
    pub accounts: usize,
    /// Seconds to wait for outstanding outcomes after the load.
    #[arg(long, default_value_t = 120)]
    pub drain: u64,
    /// Write the result as JSON here.
    #[arg(long)]
    pub json: Option<std::path::PathBuf>,
    /// Draw the run here: `load-latency.svg` (HdrHistogram percentile plot)
    /// and `load-throughput.svg` (per second).
    #[arg(long)]
    pub plots: Option<std::path::PathBuf>,
    /// Socket URL when it differs from the API's (`ws://host:port`).
    #[arg(long)]
    pub ws_url: Option<String>,
    /// User-name prefix (several runs against one system must not share accounts).
    #[arg(long, default_value = "bench")]
    pub prefix: String,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Open,
    Closed,
}

/// One command from post to outcome.
struct Track {
    intended: Instant,
    accepted: bool,
    outcomes: u32,
    measured: bool,
}

#[derive(Default)]
struct State {
    tracks: HashMap<Uuid, Track>,
    unknown_outcomes: u64,
    decided_in_window: u64,
    window: Option<(Instant, Instant)>,
    e2e: Option<Histogram<u64>>,
    /// The same, split at the decision (see `LoadResult::decided_latency`).
    to_decided: Option<Histogram<u64>>,
    decided_to_status: Option<Histogram<u64>>,
    /// One instant and the wall clock then: the decision's timestamp is
    /// wall-clock time.
    clock: Option<(Instant, OffsetDateTime)>,
    outcome_kinds: HashMap<String, u64>,
    /// 202s and first outcomes in each second of the window.
    accepted_each_second: Vec<u64>,
    decided_each_second: Vec<u64>,
}

impl State {
    /// Counts `at` in its second of the window, if it falls in it.
    fn count(window: Option<(Instant, Instant)>, seconds: &mut Vec<u64>, at: Instant) {
        let Some((from, _)) = window.filter(|(from, to)| at >= *from && at <= *to) else {
            return;
        };
        let second = usize::try_from((at - from).as_secs()).unwrap_or(usize::MAX);
        if seconds.len() <= second {
            seconds.resize(second + 1, 0);
        }
        seconds[second] += 1;
    }
}

#[derive(Clone, Default)]
struct Shared(Arc<Mutex<State>>);

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoadResult {
    pub mode: String,
    pub target_rate: Option<u32>,
    pub concurrency: Option<usize>,
    pub duration_secs: f64,
    pub users: usize,
    pub accounts: usize,
    pub sent: u64,
    pub accepted: u64,
    pub refused: HashMap<String, u64>,
    pub accepted_per_sec: f64,
    pub decided_per_sec: f64,
    pub accepted_latency: Latency,
    pub status_latency: Latency,
    /// POST → status envelope split at the decision, by the status's
    /// `timestamp` (when the processor decided): POST → decided (accepted,
    /// queued, delivered to the processor, decided) and decided → status
    /// envelope (committed, published, delivered to the socket). Read by
    /// the processor's clock, so only meaningful when the load generator
    /// runs on the processor's machine (as the suite's does).
    pub decided_latency: Latency,
    pub decided_to_status_latency: Latency,
    pub outcomes: HashMap<String, u64>,
    pub missing_outcomes: u64,
    pub doubled_outcomes: u64,
    pub outcomes_without_202: u64,
    pub unknown_outcomes: u64,
    pub exactly_one_outcome_each: bool,
    pub drain_secs: f64,
    /// The distributions behind `acceptedLatency` and `statusLatency`, for
    /// the percentile plots.
    pub accepted_percentiles: Vec<PercentilePoint>,
    pub status_percentiles: Vec<PercentilePoint>,
    /// Second by second through the run: 202s, and first outcomes.
    pub accepted_each_second: Vec<u64>,
    pub decided_each_second: Vec<u64>,
}

#[derive(Deserialize)]
struct Frame {
    #[serde(rename = "type")]
    kind: String,
    #[serde(rename = "commandId")]
    command_id: Option<Uuid>,
    status: Option<String>,
    /// When the processor decided (its clock).
    #[serde(default, with = "time::serde::rfc3339::option")]
    timestamp: Option<OffsetDateTime>,
}

pub async fn login(http: &reqwest::Client, url: &str, user: &str) -> anyhow::Result<String> {
    let answer: serde_json::Value = http
        .post(format!("{url}/auth/demo-login"))
        .json(&json!({"userId": user}))
        .send()
        .await
        .with_context(|| format!("demo login at {url}"))?
        .json()
        .await?;
    answer["token"]
        .as_str()
        .map(str::to_owned)
        .context("no token (is DEMO_LOGIN on?)")
}

/// One socket per user: records every status frame against its command.
async fn socket(
    ws_url: String,
    state: Shared,
    ready: tokio::sync::mpsc::Sender<()>,
    stop: CancellationToken,
) -> anyhow::Result<()> {
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_url)
        .await
        .context("socket")?;
    loop {
        let message = tokio::select! {
            () = stop.cancelled() => return Ok(()),
            m = ws.next() => m,
        };
        let text = match message {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(_)) => continue,
            _ => anyhow::bail!("socket closed during the run"),
        };
        let now = Instant::now();
        let Ok(frame) = serde_json::from_str::<Frame>(text.as_str()) else {
            continue;
        };
        match frame.kind.as_str() {
            "welcome" => {
                let _ = ready.send(()).await;
            }
            "status" => {
                let Some(id) = frame.command_id else { continue };
                let mut s = state.lock();
                let s = &mut *s;
                match s.tracks.get_mut(&id) {
                    Some(track) => {
                        track.outcomes += 1;
                        if track.outcomes == 1 && track.measured {
                            if let Some(h) = s.e2e.as_mut() {
                                let _ = h.record(micros(now - track.intended));
                            }
                            if let (Some(decided), Some(clock)) = (frame.timestamp, s.clock) {
                                let (to, after) = split_at(clock, track.intended, decided, now);
                                if let Some(h) = s.to_decided.as_mut() {
                                    let _ = h.record(to);
                                }
                                if let Some(h) = s.decided_to_status.as_mut() {
                                    let _ = h.record(after);
                                }
                            }
                            *s.outcome_kinds
                                .entry(frame.status.unwrap_or_default())
                                .or_default() += 1;
                            if let Some((from, to)) = s.window
                                && now >= from
                                && now <= to
                            {
                                s.decided_in_window += 1;
                            }
                            State::count(s.window, &mut s.decided_each_second, now);
                        }
                    }
                    None => s.unknown_outcomes += 1,
                }
            }
            _ => {}
        }
    }
}

/// A command's POST → status envelope in microseconds, split at `decided`
/// (wall-clock time, from the status): before it and after it. `clock`
/// ties the monotonic instants to the wall clock.
fn split_at(
    clock: (Instant, OffsetDateTime),
    intended: Instant,
    decided: OffsetDateTime,
    arrived: Instant,
) -> (u64, u64) {
    let (at, wall) = clock;
    let wall_of = |i: Instant| {
        if i >= at {
            wall + (i - at)
        } else {
            wall - (at - i)
        }
    };
    let micros_between = |from: OffsetDateTime, to: OffsetDateTime| {
        u64::try_from((to - from).whole_microseconds()).map_or(1, |us| us.max(1))
    };
    (
        micros_between(wall_of(intended), decided),
        micros_between(decided, wall_of(arrived)),
    )
}

struct Client {
    http: reqwest::Client,
    api: String,
    tokens: Vec<String>,
    accounts: Vec<Vec<String>>,
    state: Shared,
    accepted_latency: Mutex<Histogram<u64>>,
    refused: Mutex<HashMap<String, u64>>,
}

impl Client {
    /// Posts one command whose intended send time was `intended`.
    async fn post(
        &self,
        user: usize,
        kind: &str,
        body: serde_json::Value,
        id: Uuid,
        intended: Instant,
        measured: bool,
    ) {
        self.state.lock().tracks.insert(
            id,
            Track {
                intended,
                accepted: false,
                outcomes: 0,
                measured,
            },
        );
        let response = self
            .http
            .post(format!("{}/commands/{kind}", self.api))
            .bearer_auth(&self.tokens[user])
            .json(&body)
            .send()
            .await;
        let now = Instant::now();
        match response {
            Ok(r) if r.status().as_u16() == 202 => {
                {
                    let mut s = self.state.lock();
                    let s = &mut *s;
                    if let Some(t) = s.tracks.get_mut(&id) {
                        t.accepted = true;
                    }
                    if measured {
                        State::count(s.window, &mut s.accepted_each_second, now);
                    }
                }
                if measured {
                    let mut h = self
                        .accepted_latency
                        .lock()
                        .unwrap_or_else(|p| p.into_inner());
                    let _ = h.record(micros(now - intended));
                }
            }
            Ok(r) => {
                *self
                    .refused
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .entry(r.status().as_u16().to_string())
                    .or_default() += 1;
            }
            Err(e) => {
                let what = if e.is_timeout() { "timeout" } else { "network" };
                *self
                    .refused
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .entry(what.to_owned())
                    .or_default() += 1;
            }
        }
    }

    /// A deposit or withdrawal of 1–50 on a random account of a random user
    /// (withdrawals beyond the balance are rejected: both roads are exercised).
    async fn random_command(&self, intended: Instant) {
        let (user, account, kind, amount) = {
            let mut rng = rand::rng();
            let user = rng.random_range(0..self.tokens.len());
            let account = rng.random_range(0..self.accounts[user].len());
            let kind = if rng.random_bool(0.5) {
                "deposit"
            } else {
                "withdraw"
            };
            (user, account, kind, rng.random_range(1..=50u32))
        };
        let id = Uuid::now_v7();
        let body =
            json!({"commandId": id, "accountId": self.accounts[user][account], "amount": amount});
        self.post(user, kind, body, id, intended, true).await;
    }
}

#[allow(clippy::float_arithmetic)]
pub async fn run(api: &str, args: &LoadArgs) -> anyhow::Result<LoadResult> {
    let api = api.trim_end_matches('/').to_owned();
    let ws_base = args
        .ws_url
        .clone()
        .unwrap_or_else(|| api.replacen("http", "ws", 1));
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(1024)
        .build()?;
    eprintln!("bench: signing in {} users", args.users);
    let names: Vec<String> = (0..args.users)
        .map(|u| format!("{}{u}", args.prefix))
        .collect();
    let tokens: Vec<String> = futures::stream::iter(names.iter().map(|n| login(&http, &api, n)))
        .buffered(16)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<anyhow::Result<_>>()?;
    let state = Shared::default();
    let stop = CancellationToken::new();
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel(args.users.max(1));
    let mut sockets = tokio::task::JoinSet::new();
    for token in &tokens {
        sockets.spawn(socket(
            format!("{ws_base}/ws?access_token={token}"),
            state.clone(),
            ready_tx.clone(),
            stop.clone(),
        ));
    }
    for _ in 0..args.users {
        tokio::time::timeout(Duration::from_secs(60), ready_rx.recv())
            .await
            .context("sockets did not all get their welcome")?;
    }
    let accounts: Vec<Vec<String>> = (0..args.users)
        .map(|u| {
            (0..args.accounts)
                .map(|a| format!("{}-{u}-{a}-{}", args.prefix, Uuid::now_v7().simple()))
                .collect()
        })
        .collect();
    let client = Arc::new(Client {
        http,
        api,
        tokens,
        accounts,
        state: state.clone(),
        accepted_latency: Mutex::new(histogram()),
        refused: Mutex::default(),
    });

    eprintln!("bench: opening {} accounts", args.users * args.accounts);
    let opens = (0..args.users).flat_map(|u| (0..args.accounts).map(move |a| (u, a)));
    futures::stream::iter(opens.map(|(u, a)| {
        let client = client.clone();
        async move {
            let id = Uuid::now_v7();
            let body = json!({"commandId": id, "accountId": client.accounts[u][a], "initialBalance": 1000});
            client.post(u, "open-account", body, id, Instant::now(), false).await;
        }
    }))
    .buffer_unordered(32)
    .collect::<Vec<_>>()
    .await;
    wait_for_outcomes(&state, Duration::from_secs(args.drain)).await;
    {
        let s = state.lock();
        let not_opened = s
            .tracks
            .values()
            .filter(|t| !t.accepted || t.outcomes != 1)
            .count();
        anyhow::ensure!(not_opened == 0, "{not_opened} accounts were not opened");
    }

    let duration = Duration::from_secs(args.duration);
    let start = Instant::now() + Duration::from_millis(100);
    let end = start + duration;
    {
        let mut s = state.lock();
        s.window = Some((start, end));
        s.e2e = Some(histogram());
        s.to_decided = Some(histogram());
        s.decided_to_status = Some(histogram());
        s.clock = Some((Instant::now(), OffsetDateTime::now_utc()));
    }
    eprintln!("bench: {:?} load for {} s", args.mode, args.duration);
    let mut sent = 0u64;
    let mut inflight = tokio::task::JoinSet::new();
    match args.mode {
        Mode::Open => {
            let interval = Duration::from_secs(1) / args.rate.max(1);
            loop {
                let intended = start + interval * u32::try_from(sent).unwrap_or(u32::MAX);
                if intended >= end {
                    break;
                }
                tokio::time::sleep_until(intended).await;
                let client = client.clone();
                inflight.spawn(async move { client.random_command(intended).await });
                sent += 1;
                while inflight.try_join_next().is_some() {}
            }
        }
        Mode::Closed => {
            tokio::time::sleep_until(start).await;
            let counter = Arc::new(std::sync::atomic::AtomicU64::new(0));
            for _ in 0..args.concurrency {
                let (client, counter) = (client.clone(), counter.clone());
                inflight.spawn(async move {
                    while Instant::now() < end {
                        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        client.random_command(Instant::now()).await;
                    }
                });
            }
            while inflight.join_next().await.is_some() {}
            sent = counter.load(std::sync::atomic::Ordering::Relaxed);
        }
    }
    while inflight.join_next().await.is_some() {}
    let load_end = Instant::now();
    let drained = wait_for_outcomes(&state, Duration::from_secs(args.drain)).await;
    // Anything doubled arrives close behind its first copy.
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.cancel();
    while let Some(r) = sockets.join_next().await {
        if let Ok(Err(e)) = r {
            eprintln!("bench: a socket failed: {e:#}");
        }
    }

    let s = state.lock();
    let measured: Vec<&Track> = s.tracks.values().filter(|t| t.measured).collect();
    let accepted = measured.iter().filter(|t| t.accepted).count() as u64;
    let accepted_in_window = {
        let h = client
            .accepted_latency
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        h.len()
    };
    let secs = duration.as_secs_f64();
    // One lock: a guard taken inside the literal below would live to its end.
    let (accepted_latency, accepted_percentiles) = {
        let h = client
            .accepted_latency
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        (Latency::of(&h), percentiles(&h))
    };
    let result = LoadResult {
        mode: format!("{:?}", args.mode).to_lowercase(),
        target_rate: (args.mode == Mode::Open).then_some(args.rate),
        concurrency: (args.mode == Mode::Closed).then_some(args.concurrency),
        duration_secs: secs,
        users: args.users,
        accounts: args.users * args.accounts,
        sent,
        accepted,
        refused: client
            .refused
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone(),
        accepted_per_sec: accepted_in_window as f64 / (load_end - start).as_secs_f64().max(secs),
        decided_per_sec: s.decided_in_window as f64 / secs,
        accepted_latency,
        status_latency: s.e2e.as_ref().map(Latency::of).unwrap_or_default(),
        decided_latency: s.to_decided.as_ref().map(Latency::of).unwrap_or_default(),
        decided_to_status_latency: s
            .decided_to_status
            .as_ref()
            .map(Latency::of)
            .unwrap_or_default(),
        outcomes: s.outcome_kinds.clone(),
        missing_outcomes: measured
            .iter()
            .filter(|t| t.accepted && t.outcomes == 0)
            .count() as u64,
        doubled_outcomes: s.tracks.values().filter(|t| t.outcomes > 1).count() as u64,
        outcomes_without_202: measured
            .iter()
            .filter(|t| !t.accepted && t.outcomes > 0)
            .count() as u64,
        unknown_outcomes: s.unknown_outcomes,
        exactly_one_outcome_each: false,
        drain_secs: drained.as_secs_f64(),
        accepted_percentiles,
        status_percentiles: s.e2e.as_ref().map(percentiles).unwrap_or_default(),
        accepted_each_second: s.accepted_each_second.clone(),
        decided_each_second: s.decided_each_second.clone(),
    };
    let ok = result.missing_outcomes == 0
        && result.doubled_outcomes == 0
        && result.unknown_outcomes == 0;
    Ok(LoadResult {
        exactly_one_outcome_each: ok,
        ..result
    })
}

/// Waits until every accepted command has an outcome (or `patience` runs out).
async fn wait_for_outcomes(state: &Shared, patience: Duration) -> Duration {
    let began = Instant::now();
    while began.elapsed() < patience {
        let waiting = state
            .lock()
            .tracks
            .values()
            .filter(|t| t.accepted && t.outcomes == 0)
            .count();
        if waiting == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    began.elapsed()
}

impl LoadResult {
    pub fn table(&self) -> String {
        let shape = match self.mode.as_str() {
            "open" => format!(
                "open loop at {} cmd/s",
                self.target_rate.unwrap_or_default()
            ),
            _ => format!(
                "closed loop, {} in flight",
                self.concurrency.unwrap_or_default()
            ),
        };
        let refused: u64 = self.refused.values().sum();
        format!(
            "{shape}, {:.0} s, {} users, {} accounts\n\n| throughput | value |\n|---|---:|\n| sent | {} |\n| accepted (202) | {} |\n| refused / errors | {refused} {:?} |\n| accepted/s | {:.0} |\n| decided/s (outcomes on sockets) | {:.0} |\n| outcomes | {:?} |\n| exactly one outcome per 202 | {} (missing {}, doubled {}, without 202 {}, unknown {}) |\n\n{}\n{}\n{}\n{}\n{}\n",
            self.duration_secs,
            self.users,
            self.accounts,
            self.sent,
            self.accepted,
            self.refused,
            self.accepted_per_sec,
            self.decided_per_sec,
            self.outcomes,
            if self.exactly_one_outcome_each {
                "yes"
            } else {
                "NO"
            },
            self.missing_outcomes,
            self.doubled_outcomes,
            self.outcomes_without_202,
            self.unknown_outcomes,
            Latency::HEADER,
            self.accepted_latency.row("POST → 202"),
            self.status_latency.row("POST → status envelope"),
            self.decided_latency.row("… POST → decided"),
            self.decided_to_status_latency
                .row("… decided → status envelope"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_latency_is_split_at_the_decision_by_the_wall_clock() {
        let at = Instant::now();
        let wall = OffsetDateTime::now_utc();
        // Intended 5 ms before the clock was read, decided 3 ms after it,
        // the status seen 10 ms after it.
        let intended = at - Duration::from_millis(5);
        let decided = wall + Duration::from_millis(3);
        let arrived = at + Duration::from_millis(10);
        assert_eq!(
            split_at((at, wall), intended, decided, arrived),
            (8_000, 7_000)
        );
        // A decision stamped before the POST (another machine's clock) is
        // clamped, not wrapped.
        let early = wall - Duration::from_millis(50);
        assert_eq!(split_at((at, wall), intended, early, arrived).0, 1);
    }
}
