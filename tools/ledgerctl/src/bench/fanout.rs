//! Socket fan-out: N connections to one server, then one message to all of
//! them, timed at every receiver. Two shapes of server:
//!
//! - `echo` hubs (the bare tokio-tungstenite server, the Node `ws` hub): one
//!   extra client sends a frame, the hub sends it to everyone;
//! - `ledgerline`: all N sockets belong to one user, and a deposit is posted
//!   on the command API: its status envelope goes to every socket. The clock
//!   starts at the POST, so the pipeline (≈ one POST → status latency) is
//!   inside these figures; `spread` (receipt − first receipt of that round)
//!   is the fan-out alone.

use std::time::Duration;

use anyhow::Context;
use futures::{SinkExt, StreamExt};
use serde::Serialize;
use serde_json::json;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use super::stats::{Latency, histogram, micros};

#[derive(clap::Args, Clone, Debug)]
pub struct FanoutArgs {
    /// `ws://127.0.0.1:PORT` of an echo hub, or Ledgerline's socket URL.
    #[arg(long)]
    pub ws_url: String,
    /// Ledgerline's HTTP API (makes this a Ledgerline run: demo login,
    /// one user, a deposit as the trigger).
    #[arg(long)]
    pub api: Option<String>,
    #[arg(long, default_value_t = 2_000)]
    pub connections: usize,
    /// Messages sent to all, one after the other.
    #[arg(long, default_value_t = 5)]
    pub rounds: usize,
    /// Process whose RSS to report before and after connecting.
    #[arg(long)]
    pub pid: Option<u32>,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FanoutResult {
    pub connections: usize,
    pub connected: usize,
    pub connect_secs: f64,
    pub rss_before_kib: Option<u64>,
    pub rss_after_kib: Option<u64>,
    pub rss_per_connection_kib: Option<f64>,
    pub rounds: usize,
    pub delivered: u64,
    pub expected: u64,
    /// From the trigger to each receipt.
    pub latency: Latency,
    /// From the first receipt of a round to each receipt.
    pub spread: Latency,
}

/// Connects one socket; Ledgerline's is ready at its `welcome` frame.
async fn connect(
    url: String,
    ledgerline: bool,
    received: mpsc::UnboundedSender<Instant>,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let (ws, _) = tokio_tungstenite::connect_async(url).await?;
    let (_sink, mut source) = ws.split();
    if ledgerline {
        loop {
            match source.next().await {
                Some(Ok(Message::Text(t))) if t.as_str().contains("\"welcome\"") => break,
                Some(Ok(_)) => {}
                other => anyhow::bail!("no welcome: {other:?}"),
            }
        }
    }
    Ok(tokio::spawn(async move {
        let _sink = _sink;
        while let Some(Ok(message)) = source.next().await {
            if let Message::Text(text) = message {
                let counts = !ledgerline
                    || text.as_str().starts_with("{\"type\":\"status\"")
                    || text.as_str().contains("\"type\":\"status\"");
                if counts {
                    let _ = received.send(Instant::now());
                }
            }
        }
    }))
}

#[allow(clippy::float_arithmetic)]
pub async fn run(args: &FanoutArgs) -> anyhow::Result<FanoutResult> {
    let http = reqwest::Client::new();
    let (url, ledgerline) = match &args.api {
        Some(api) => {
            let token = super::load::login(&http, api, "fanout").await?;
            (
                format!("{}/ws?access_token={token}", args.ws_url),
                Some((api.clone(), token)),
            )
        }
        None => (args.ws_url.clone(), None),
    };
    let rss_before = args.pid.and_then(super::system::rss_kib);
    let (tx, mut rx) = mpsc::unbounded_channel();
    let started = Instant::now();
    let readers: Vec<_> = futures::stream::iter(
        (0..args.connections).map(|_| connect(url.clone(), ledgerline.is_some(), tx.clone())),
    )
    .buffer_unordered(64)
    .collect()
    .await;
    let connect_secs = started.elapsed().as_secs_f64();
    let failures: Vec<String> = readers
        .iter()
        .filter_map(|r| r.as_ref().err().map(|e| format!("{e:#}")))
        .take(3)
        .collect();
    let readers: Vec<_> = readers.into_iter().filter_map(Result::ok).collect();
    if !failures.is_empty() {
        eprintln!(
            "fanout: {} of {} failed to connect, e.g. {failures:?}",
            args.connections - readers.len(),
            args.connections
        );
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_after = args.pid.and_then(super::system::rss_kib);
    let account = format!("fan-{}", uuid::Uuid::now_v7().simple());
    let mut trigger = None;
    match &ledgerline {
        Some((api, token)) => {
            let r = http
                .post(format!("{api}/commands/open-account"))
                .bearer_auth(token)
                .json(&json!({"accountId": account, "initialBalance": 100}))
                .send()
                .await?;
            anyhow::ensure!(r.status().as_u16() == 202, "open-account: {}", r.status());
            // Its status reaches every socket too: let it pass.
            collect(&mut rx, readers.len(), Instant::now()).await;
        }
        None => {
            let (ws, _) = tokio_tungstenite::connect_async(args.ws_url.clone())
                .await
                .context("trigger socket")?;
            trigger = Some(ws);
        }
    }
    let (mut latency, mut spread) = (histogram(), histogram());
    let mut delivered = 0u64;
    for round in 0..args.rounds {
        while rx.try_recv().is_ok() {}
        let sent = Instant::now();
        match (&ledgerline, trigger.as_mut()) {
            (Some((api, token)), _) => {
                let r = http
                    .post(format!("{api}/commands/deposit"))
                    .bearer_auth(token)
                    .json(&json!({"accountId": account, "amount": 1}))
                    .send()
                    .await?;
                anyhow::ensure!(r.status().as_u16() == 202, "deposit: {}", r.status());
            }
            (None, Some(ws)) => {
                ws.send(Message::text(format!("{{\"round\":{round}}}")))
                    .await?
            }
            (None, None) => unreachable!(),
        }
        let times = collect(&mut rx, readers.len(), sent).await;
        delivered += times.len() as u64;
        if let Some(first) = times.iter().min() {
            for t in &times {
                let _ = latency.record(micros(*t - sent));
                let _ = spread.record(micros(*t - *first));
            }
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    for reader in &readers {
        reader.abort();
    }
    Ok(FanoutResult {
        connections: args.connections,
        connected: readers.len(),
        connect_secs,
        rss_before_kib: rss_before,
        rss_after_kib: rss_after,
        rss_per_connection_kib: match (rss_before, rss_after) {
            (Some(b), Some(a)) if !readers.is_empty() => {
                Some((a as f64 - b as f64) / readers.len() as f64)
            }
            _ => None,
        },
        rounds: args.rounds,
        delivered,
        expected: (args.rounds * readers.len()) as u64,
        latency: Latency::of(&latency),
        spread: Latency::of(&spread),
    })
}

/// Receipts of one round: `expected` of them, or what came within 30 s.
async fn collect(
    rx: &mut mpsc::UnboundedReceiver<Instant>,
    expected: usize,
    since: Instant,
) -> Vec<Instant> {
    let mut times = Vec::with_capacity(expected);
    let deadline = since + Duration::from_secs(30);
    while times.len() < expected {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(t)) => times.push(t),
            _ => break,
        }
    }
    times
}
