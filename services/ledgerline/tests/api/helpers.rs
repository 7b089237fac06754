use std::time::Duration;

use futures::{SinkExt, StreamExt};
use ledgerline::{Application, Target};
use ledgerline_bus::Bus;
use ledgerline_runtime::{Config, Shutdown};
use ledgerline_testkit::{Answer, TestDatabase, TestPrefix};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};
use uuid::Uuid;

pub const JWT_SECRET: &str = "integration-test-secret";

/// A running Ledgerline with its own database and NATS prefix; both are
/// removed when it is dropped (also when a test fails).
pub struct TestApp {
    pub base: String,
    pub port: u16,
    pub config: Config,
    pub http: reqwest::Client,
    shutdown: Shutdown,
    // Dropped in this order, after the services were told to stop.
    _prefix: TestPrefix,
    _database: TestDatabase,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(tune: impl FnOnce(&mut Config)) -> TestApp {
    spawn_services(&[Target::All], tune).await
}

/// Only `targets` of Ledgerline (start the rest later with
/// [`TestApp::spawn_service`]).
pub async fn spawn_services(targets: &[Target], tune: impl FnOnce(&mut Config)) -> TestApp {
    let mut config = Config::from_env().expect("configuration");
    let (database, prefix) = (TestDatabase::named("test"), TestPrefix::new("t"));
    config.database_url = database.url();
    config.nats_prefix = prefix.to_string();
    config.http_addr = "127.0.0.1:0".parse().expect("addr");
    config.jwt_secret = Some(JWT_SECRET.to_owned());
    config.demo_login = true;
    config.command_partitions = 4;
    config.db_pool_size = 3;
    config.web_dir = "/nonexistent".to_owned();
    tune(&mut config);
    // Cleaned up where the services run (a test's private NATS, maybe).
    let prefix = prefix.on(&config.nats_url);
    let shutdown = Shutdown::new();
    let app = Application::build(config.clone(), targets, shutdown.clone())
        .await
        .expect("application starts");
    let port = app.port();
    tokio::spawn(async move {
        app.run().await.expect("application runs");
    });
    TestApp {
        base: format!("http://127.0.0.1:{port}"),
        port,
        config,
        http: reqwest::Client::new(),
        shutdown,
        _prefix: prefix,
        _database: database,
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Reads an HTTP answer: its status, content type and JSON body.
pub async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let body = response.json().await.unwrap_or(Value::Null);
    Answer {
        status,
        content_type,
        body,
    }
}

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn token(&self, user: &str) -> String {
        self.token_with_role(user, None).await
    }

    pub async fn token_with_role(&self, user: &str, role: Option<&str>) -> String {
        let mut body = json!({ "userId": user });
        if let Some(role) = role {
            body["role"] = json!(role);
        }
        let response = self
            .http
            .post(self.url("/auth/demo-login"))
            .json(&body)
            .send()
            .await
            .expect("login");
        assert_eq!(response.status(), 200);
        response.json::<Value>().await.expect("json")["token"]
            .as_str()
            .expect("token")
            .to_owned()
    }

    /// POSTs a command; returns the status and the JSON answer.
    pub async fn command(
        &self,
        token: &str,
        kind: &str,
        body: Value,
        idempotency_key: Option<&str>,
    ) -> (u16, Value) {
        let mut request = self
            .http
            .post(self.url(&format!("/commands/{kind}")))
            .bearer_auth(token)
            .json(&body);
        if let Some(key) = idempotency_key {
            request = request.header("Idempotency-Key", key);
        }
        let response = request.send().await.expect("post command");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// POSTs a command that must be accepted; returns its command id.
    pub async fn accepted(&self, token: &str, kind: &str, body: Value) -> String {
        let (status, answer) = self.command(token, kind, body, None).await;
        assert_eq!(status, 202, "{answer}");
        answer["commandId"].as_str().expect("commandId").to_owned()
    }

    /// Opens `account` (empty) for `token`'s user; returns the command id.
    pub async fn open_account(&self, token: &str, account: &str) -> String {
        self.accepted(token, "open-account", json!({ "accountId": account }))
            .await
    }

    /// Opens `account` with `initial` for `token`'s user; returns the
    /// command id.
    pub async fn open_account_with(&self, token: &str, account: &str, initial: i64) -> String {
        let body = json!({ "accountId": account, "initialBalance": initial });
        self.accepted(token, "open-account", body).await
    }

    /// Deposits `amount` (a number or a decimal string) into `account`;
    /// returns the command id.
    pub async fn deposit(&self, token: &str, account: &str, amount: impl Into<Value>) -> String {
        let body = json!({ "accountId": account, "amount": amount.into() });
        self.accepted(token, "deposit", body).await
    }

    /// The account's balance and version as the event store answers them.
    pub async fn balance_and_version(
        &self,
        token: &str,
        account: &str,
    ) -> (Option<i64>, Option<i64>) {
        let (_, state) = self
            .get(token, &format!("/queries/account/{account}"))
            .await;
        (minor(&state["balance"]), state["version"].as_i64())
    }

    pub async fn get(&self, token: &str, path: &str) -> (u16, Value) {
        self.get_on(self.port, token, path).await
    }

    /// GET of `path` from the service on `port` (one started with
    /// [`TestApp::spawn_service`]).
    pub async fn get_on(&self, port: u16, token: &str, path: &str) -> (u16, Value) {
        let response = self
            .http
            .get(format!("http://127.0.0.1:{port}{path}"))
            .bearer_auth(token)
            .send()
            .await
            .expect("get");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Polls `path` until `done` holds for its JSON (10 s at most).
    pub async fn eventually(
        &self,
        token: &str,
        path: &str,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        self.eventually_on(self.port, Duration::from_secs(10), token, path, done)
            .await
    }

    /// The event types of `account`'s transaction history, newest first,
    /// once it holds `count` entries.
    pub async fn history_kinds(&self, token: &str, account: &str, count: usize) -> Vec<String> {
        let path = format!("/projections/TransactionHistory?accountId={account}");
        let history = self
            .eventually(token, &path, |b| {
                b["items"].as_array().map_or(0, Vec::len) == count
            })
            .await;
        history["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|i| i["eventType"].as_str().expect("eventType").to_owned())
            .collect()
    }

    /// Polls `path` on the service on `port` until `done` holds for its
    /// JSON (`within` at most).
    pub async fn eventually_on(
        &self,
        port: u16,
        within: Duration,
        token: &str,
        path: &str,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let (status, body) = self.get_on(port, token, path).await;
            if status == 200 && done(&body) {
                return body;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{path} never converged; last: {status} {body}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Opens a socket with the token in `?access_token=` and waits for the
    /// welcome frame (after which every new frame of the user arrives).
    pub async fn socket(&self, token: &str) -> Socket {
        connect_socket(self.port, token, "").await
    }

    /// Starts a second, socket-service-only process on this run's NATS and
    /// database: a socket service that knows nothing of earlier sockets.
    pub async fn spawn_socket_service(&self) -> (u16, Shutdown) {
        self.spawn_service(Target::SocketService).await
    }

    /// Starts one more service, in a process of its own, on this run's NATS
    /// and database; it stops with the returned token.
    pub async fn spawn_service(&self, target: Target) -> (u16, Shutdown) {
        let mut config = self.config.clone();
        config.http_addr = "127.0.0.1:0".parse().expect("addr");
        let shutdown = Shutdown::new();
        let app = Application::build(config, &[target], shutdown.clone())
            .await
            .expect("service starts");
        let port = app.port();
        tokio::spawn(async move { app.run().await.expect("service runs") });
        (port, shutdown)
    }

    /// Empties this run's command stream, as a broker that lost it would;
    /// returns how many messages it held.
    pub async fn purge_commands(&self) -> u64 {
        let bus = self.bus().await;
        let stream = bus
            .js
            .get_stream(bus.subjects.commands_stream())
            .await
            .expect("stream");
        stream.purge().await.expect("purge").purged
    }

    /// How many messages were ever published on this run's command stream.
    pub async fn commands_published(&self) -> u64 {
        let bus = Bus::connect(&self.config.nats_url, &self.config.nats_prefix, 1)
            .await
            .expect("nats");
        let mut stream = bus
            .js
            .get_stream(bus.subjects.commands_stream())
            .await
            .expect("stream");
        stream.info().await.expect("info").state.last_sequence
    }
}

impl TestApp {
    /// The event store of this run, to act as the processor would —
    /// including crashing between its commit and its publish.
    pub async fn event_store(&self) -> ledgerline_store::PostgresEventStore {
        let pool = ledgerline_runtime::connect_schema(
            &self.config.database_url,
            ledgerline_store::SCHEMA,
            &ledgerline_store::MIGRATOR,
            2,
        )
        .await
        .expect("event store");
        ledgerline_store::PostgresEventStore::new(pool)
    }

    pub async fn bus(&self) -> Bus {
        Bus::connect(
            &self.config.nats_url,
            &self.config.nats_prefix,
            self.config.command_partitions,
        )
        .await
        .expect("nats")
    }
}

/// Opens a socket (with extra query parameters such as resume positions)
/// and waits for the welcome frame.
pub async fn connect_socket(port: u16, token: &str, query: &str) -> Socket {
    let url = format!("ws://127.0.0.1:{port}/ws?access_token={token}{query}");
    let (mut socket, _) = connect_async(url).await.expect("socket connects");
    let welcome = next_frame(&mut socket, Duration::from_secs(5))
        .await
        .expect("welcome");
    assert_eq!(welcome["type"], "welcome");
    socket
}

/// Every non-heartbeat frame until `quiet` passes without one.
pub async fn frames_until_quiet(socket: &mut Socket, quiet: Duration) -> Vec<Value> {
    let mut frames = Vec::new();
    while let Some(frame) = next_frame(socket, quiet).await {
        frames.push(frame);
    }
    frames
}

/// The next JSON text frame that is not a heartbeat, or `None` on timeout.
pub async fn next_frame(socket: &mut Socket, wait: Duration) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let message = tokio::time::timeout_at(deadline, socket.next())
            .await
            .ok()??
            .ok()?;
        if let Message::Text(text) = message {
            let frame: Value = serde_json::from_str(text.as_str()).expect("frames are JSON");
            if frame["type"] != "heartbeat" {
                return Some(frame);
            }
        }
    }
}

/// Collects the status frames that arrive within `wait`, stopping early
/// once `count` have arrived.
pub async fn status_frames(socket: &mut Socket, count: usize, wait: Duration) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + wait;
    let mut frames = Vec::new();
    while frames.len() < count {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match next_frame(socket, left).await {
            Some(frame) if frame["type"] == "status" => frames.push(frame),
            Some(_) => {}
            None => break,
        }
    }
    frames
}

pub async fn send_text(socket: &mut Socket, text: &str) {
    socket
        .send(Message::Text(text.into()))
        .await
        .expect("send frame");
}

impl TestApp {
    /// Polls `GET /commands/{id}` (as `token`'s user) until the command has
    /// an outcome (30 s at most); returns the answer.
    pub async fn outcome(&self, token: &str, command_id: &str) -> Value {
        let path = format!("/commands/{command_id}");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let (status, body) = self.get(token, &path).await;
            if status == 200 && body["status"] != "accepted" {
                return body;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{path} never got an outcome; last: {status} {body}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// A NATS server of the test's own, on a free port with its own store
/// directory: for tests that break the broker (purge a stream) or must not
/// share it.
pub struct PrivateNats {
    pub port: u16,
    dir: std::path::PathBuf,
    child: std::process::Child,
}

impl PrivateNats {
    pub async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let dir = std::env::temp_dir().join(format!("ledgerline-nats-{}", Uuid::now_v7().simple()));
        let child = std::process::Command::new("nats-server")
            .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
            .arg(&dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("nats-server runs (it is installed where the tests run)");
        for _ in 0..100 {
            if TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Self { port, dir, child }
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }
}

impl Drop for PrivateNats {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Money as the API writes it — a major-unit string with two decimals
/// (`"130.25"`) — in minor units (13025); `None` for anything else (a
/// number included: money never goes out as one).
pub fn minor(value: &Value) -> Option<i64> {
    let text = value.as_str()?;
    let (sign, digits) = match text.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, text),
    };
    let (whole, cents) = digits.split_once('.')?;
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(whole) || cents.len() != 2 || !all_digits(cents) {
        return None;
    }
    Some(sign * (whole.parse::<i64>().ok()? * 100 + cents.parse::<i64>().ok()?))
}
