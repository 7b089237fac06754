//! Load for the chaos run: users post commands (retrying through faults
//! with one Idempotency-Key per command), and every user keeps two sockets
//! open that reconnect and resume whenever they drop.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use futures::StreamExt;
use rand::Rng;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

/// A command the API accepted (202).
#[derive(Debug, Clone)]
pub struct Accepted {
    pub user: usize,
    pub account: String,
    pub kind: &'static str,
    pub minor: i64,
    /// For a transfer: the target account (maybe another user's).
    pub to: Option<String>,
    /// When it was first sent, and when its 202 came back.
    pub sent: Instant,
    pub accepted: Instant,
}

/// What one socket saw: status frames per command id, and how often it
/// had to reconnect.
#[derive(Debug, Default)]
pub struct SocketLog {
    pub user: usize,
    pub statuses: HashMap<String, Vec<Value>>,
    /// When each command's first status frame arrived.
    pub first_seen: HashMap<String, Instant>,
    pub reconnects: u32,
    pub resume_incomplete: u32,
}

#[derive(Default)]
pub struct Record {
    pub accepted: HashMap<String, Accepted>,
    pub refused: Vec<String>,
    pub gave_up: u32,
    pub posts: u64,
    pub retries: u64,
    pub sockets: Vec<SocketLog>,
}

#[derive(Clone, Default)]
pub struct Shared(Arc<Mutex<Record>>);

impl Shared {
    pub fn lock(&self) -> MutexGuard<'_, Record> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Where the load goes: every replica of the API and of the socket
/// service (a client moves to the next replica when one fails it).
pub struct Target {
    pub apis: Vec<String>,
    pub socket_ports: Vec<u16>,
    pub tokens: Vec<String>,
}

pub fn account_name(user: usize, account: usize) -> String {
    format!("u{user}-a{account}")
}

/// Posts one command until it is accepted or refused, retrying network
/// errors and 5xx (the API or its dependencies are down) with backoff and
/// the same Idempotency-Key, for at most `patience`.
pub async fn post(
    http: &reqwest::Client,
    target: &Target,
    record: &Shared,
    user: usize,
    kind: &'static str,
    body: Value,
    patience: Duration,
) -> Option<String> {
    let key = uuid::Uuid::now_v7().to_string();
    let deadline = tokio::time::Instant::now() + patience;
    let mut delay = Duration::from_millis(100);
    for attempt in 0usize.. {
        record.lock().posts += 1;
        let api = &target.apis[(user + attempt) % target.apis.len().max(1)];
        let response = http
            .post(format!("{api}/commands/{kind}"))
            .bearer_auth(&target.tokens[user])
            .header("Idempotency-Key", &key)
            .json(&body)
            .send()
            .await;
        match response {
            Ok(r) if r.status().as_u16() == 202 => {
                let answer: Value = r.json().await.unwrap_or_default();
                return answer["commandId"].as_str().map(str::to_owned);
            }
            Ok(r) if r.status().is_client_error() => {
                let text = r.text().await.unwrap_or_default();
                record.lock().refused.push(format!("{kind} {body}: {text}"));
                return None;
            }
            _ => {}
        }
        if tokio::time::Instant::now() > deadline {
            record.lock().gave_up += 1;
            return None;
        }
        record.lock().retries += 1;
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(2));
    }
    None
}

/// Commands at `rate` per second until `stop`: deposits and withdrawals of
/// 1 to 50 on random accounts (some withdrawals will be rejected).
pub async fn generate(
    target: Arc<Target>,
    record: Shared,
    accounts: usize,
    rate: u32,
    stop: CancellationToken,
) {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap_or_default();
    let mut tick = tokio::time::interval(Duration::from_secs(1) / rate.max(1));
    let mut inflight = tokio::task::JoinSet::new();
    while !stop.is_cancelled() {
        tick.tick().await;
        // Deposits and withdrawals, and one command in five a transfer to
        // any account of any user.
        let (user, account, kind, minor, to) = {
            let mut rng = rand::rng();
            let users = target.tokens.len();
            let user = rng.random_range(0..users);
            let account = rng.random_range(0..accounts);
            let to = (
                user,
                (account + rng.random_range(1..accounts.max(2))) % accounts.max(1),
            );
            let to = if rng.random_bool(0.5) {
                (rng.random_range(0..users), to.1)
            } else {
                to
            };
            let kind = match rng.random_range(0..10) {
                0..=3 => "deposit",
                4..=7 => "withdraw",
                _ => "transfer",
            };
            let to =
                (kind == "transfer" && to != (user, account)).then(|| account_name(to.0, to.1));
            let kind = if kind == "transfer" && to.is_none() {
                "deposit"
            } else {
                kind
            };
            (
                user,
                account_name(user, account),
                kind,
                rng.random_range(1..=50i64) * 100,
                to,
            )
        };
        let (target, record, http) = (target.clone(), record.clone(), http.clone());
        inflight.spawn(async move {
            let sent = Instant::now();
            let body = match &to {
                Some(to) => {
                    json!({"fromAccountId": account, "toAccountId": to, "amount": minor / 100})
                }
                None => json!({"accountId": account, "amount": minor / 100}),
            };
            if let Some(id) = post(
                &http,
                &target,
                &record,
                user,
                kind,
                body,
                Duration::from_secs(120),
            )
            .await
            {
                record.lock().accepted.insert(
                    id,
                    Accepted {
                        user,
                        account,
                        kind,
                        minor,
                        to,
                        sent,
                        accepted: Instant::now(),
                    },
                );
            }
        });
    }
    while inflight.join_next().await.is_some() {}
}

/// One socket of `user`: reads frames, and on any drop reconnects with
/// `statusSeq` / `eventPosition` of what it has seen, until `stop`.
pub async fn socket(
    target: Arc<Target>,
    record: Shared,
    user: usize,
    index: usize,
    stop: CancellationToken,
) {
    let (mut status_seq, mut event_position) = (0u64, 0i64);
    let mut first = true;
    let mut attempt = index;
    while !stop.is_cancelled() {
        let port = target.socket_ports[attempt % target.socket_ports.len().max(1)];
        attempt += 1;
        let resume = if first {
            String::new()
        } else {
            format!("&statusSeq={status_seq}&eventPosition={event_position}")
        };
        let url = format!(
            "ws://127.0.0.1:{port}/ws?access_token={}{resume}",
            target.tokens[user]
        );
        let connected = tokio::select! {
            () = stop.cancelled() => return,
            c = tokio_tungstenite::connect_async(url) => c,
        };
        if let Ok((mut ws, _)) = connected {
            if !first {
                record.lock().sockets[index].reconnects += 1;
            }
            first = false;
            loop {
                let message = tokio::select! {
                    () = stop.cancelled() => return,
                    m = ws.next() => m,
                };
                let Some(Ok(Message::Text(text))) = message else {
                    if matches!(message, Some(Ok(_))) {
                        continue;
                    }
                    break;
                };
                let Ok(frame) = serde_json::from_str::<Value>(text.as_str()) else {
                    continue;
                };
                let events = match frame["type"].as_str() {
                    Some("status") => {
                        status_seq = status_seq.max(frame["seq"].as_u64().unwrap_or(0));
                        let id = frame["commandId"].as_str().unwrap_or_default().to_owned();
                        let events = frame["events"].as_array().cloned().unwrap_or_default();
                        let mut record = record.lock();
                        let log = &mut record.sockets[index];
                        log.first_seen
                            .entry(id.clone())
                            .or_insert_with(Instant::now);
                        log.statuses.entry(id).or_default().push(frame);
                        events
                    }
                    Some("event") => vec![frame["event"].clone()],
                    Some("error") if frame["code"] == "RESUME_INCOMPLETE" => {
                        record.lock().sockets[index].resume_incomplete += 1;
                        vec![]
                    }
                    _ => vec![],
                };
                for event in events {
                    event_position =
                        event_position.max(event["globalPosition"].as_i64().unwrap_or(0));
                }
            }
        }
        let pause = Duration::from_millis(rand::rng().random_range(100..400));
        tokio::select! { () = stop.cancelled() => return, () = tokio::time::sleep(pause) => {} }
    }
}
