//! ledgerctl: a command-line client for a running Ledgerline.
//!
//! `ledgerctl login alice` prints a demo token; `ledgerctl watch alice`
//! signs in and prints every frame pushed to alice's socket, one JSON
//! object per line — the terminal twin of the browser app.

mod bench;
mod chaos;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use futures::StreamExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

#[derive(Parser)]
#[command(name = "ledgerctl", version, about = "Talk to a running Ledgerline")]
struct Cli {
    /// Where Ledgerline listens.
    #[arg(
        long,
        env = "LEDGERLINE_URL",
        default_value = "http://127.0.0.1:8080",
        global = true
    )]
    url: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Demo sign-in: print a bearer token for USER.
    Login {
        user: String,
        /// Ask for the operator role.
        #[arg(long)]
        operator: bool,
    },
    /// Print every frame pushed to USER's socket (signs in with demo login
    /// unless --token is given).
    Watch {
        user: Option<String>,
        #[arg(long, env = "TOKEN")]
        token: Option<String>,
    },
    /// The chaos run: services as separate processes on their own NATS and
    /// PostgreSQL, under load, while they are killed and restarted; then
    /// every guarantee is checked. Exits non-zero if one does not hold.
    Chaos(chaos::ChaosArgs),
    /// The chaos run on the scaled-out shape of k8s/: three clustered NATS
    /// servers, two replicas of every service, NATS nodes and replicas
    /// killed, a rolling restart; then every guarantee is checked.
    ChaosCluster(chaos::cluster::ClusterArgs),
    /// Benchmarks: the load generator, socket fan-out, `make bench` (bench/README.md).
    Bench(bench::BenchArgs),
}

async fn login(url: &str, user: &str, operator: bool) -> anyhow::Result<String> {
    let mut body = json!({ "userId": user });
    if operator {
        body["role"] = json!("operator");
    }
    let response = reqwest::Client::new()
        .post(format!("{url}/auth/demo-login"))
        .json(&body)
        .send()
        .await
        .with_context(|| format!("cannot reach {url}"))?;
    let status = response.status();
    let answer: Value = response.json().await.context("reading the answer")?;
    if !status.is_success() {
        bail!("demo login refused ({status}): {answer}");
    }
    answer["token"]
        .as_str()
        .map(str::to_owned)
        .context("no token in the answer")
}

async fn watch(url: &str, token: &str) -> anyhow::Result<()> {
    let ws_url = format!("{}/ws?access_token={token}", url.replacen("http", "ws", 1));
    let (mut socket, _) = tokio_tungstenite::connect_async(ws_url)
        .await
        .context("opening the socket")?;
    while let Some(message) = socket.next().await {
        match message.context("reading the socket")? {
            Message::Text(text) => println!("{}", text.as_str()),
            Message::Close(frame) => {
                eprintln!("closed: {frame:?}");
                break;
            }
            _ => {}
        }
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let url = cli.url.trim_end_matches('/');
    match cli.command {
        Command::Login { user, operator } => println!("{}", login(url, &user, operator).await?),
        Command::Chaos(args) => {
            if !chaos::run(args).await? {
                std::process::exit(1);
            }
        }
        Command::ChaosCluster(args) => {
            if !chaos::cluster::run(args).await? {
                std::process::exit(1);
            }
        }
        Command::Bench(args) => {
            if !bench::run(url, args).await? {
                std::process::exit(1);
            }
        }
        Command::Watch { user, token } => {
            let token = match (token, user) {
                (Some(token), _) => token,
                (None, Some(user)) => login(url, &user, false).await?,
                (None, None) => bail!("give a USER (demo sign-in) or --token"),
            };
            watch(url, &token).await?;
        }
    }
    Ok(())
}
