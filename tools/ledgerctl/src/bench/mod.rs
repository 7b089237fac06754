//! `ledgerctl bench`: the load generator (`load`), the socket fan-out probe
//! (`fanout`) and the standard scenarios of `make bench` (`suite`), which
//! writes `bench/results/<date>.md` and `.json`. See bench/README.md.

mod counters;
mod fanout;
mod flush;
mod load;
mod plot;
mod stats;
mod suite;
mod summary;
mod system;

use std::path::PathBuf;

pub use load::LoadArgs;

#[derive(clap::Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub what: What,
}

#[derive(clap::Subcommand)]
pub enum What {
    /// Load a Ledgerline (at --url, or a private one with --private) and
    /// report 202 and POST → status latency, throughput and exactly-once.
    Load {
        #[command(flatten)]
        load: LoadArgs,
        #[command(flatten)]
        private: PrivateArgs,
    },
    /// Open N sockets to one server and time one message to all of them.
    Fanout(fanout::FanoutArgs),
    /// Every scenario of `make bench`, on private NATS and PostgreSQL.
    Suite(suite::SuiteArgs),
}

#[derive(clap::Args, Clone)]
pub struct PrivateArgs {
    /// Start a private Ledgerline (`ledgerline all`) on its own NATS and
    /// PostgreSQL (fsync on) instead of using --url.
    #[arg(long)]
    pub private: bool,
    /// The `ledgerline` binary (default: next to this one).
    #[arg(long)]
    pub ledgerline: Option<PathBuf>,
    #[arg(long, default_value = "target/bench")]
    pub work_dir: PathBuf,
    /// PostgreSQL, NATS, then Ledgerline on the ports after it.
    #[arg(long, default_value_t = 17_600)]
    pub base_port: u16,
}

pub async fn run(url: &str, args: BenchArgs) -> anyhow::Result<bool> {
    match args.what {
        What::Load { load, private } => {
            let result = if private.private {
                let infra =
                    system::Infra::start(&private.work_dir, private.base_port, true).await?;
                let binary = system::ledgerline_binary(private.ledgerline.clone())?;
                let process = system::spawn_ledgerline(
                    &binary,
                    &infra,
                    "ledgerline",
                    &["all"],
                    private.base_port + 10,
                    &[],
                )
                .await?;
                let before = counters::Counters::read(&infra).await;
                let result = load::run(&process.url(), &load).await;
                // PostgreSQL publishes its statistics about once a second.
                tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
                let after = counters::Counters::read(&infra).await;
                process.stop().await;
                let result = result?;
                if let (Ok(before), Ok(after)) = (before, after) {
                    let costs = after.per_command(&before, result.accepted);
                    println!("per command (setup included): {costs}");
                }
                result
            } else {
                load::run(url, &load).await?
            };
            println!("{}", result.table());
            if let Some(path) = &load.json {
                std::fs::write(path, serde_json::to_vec_pretty(&result)?)?;
            }
            if let Some(dir) = &load.plots {
                let written = plot::load_run(dir, "load", &[("", &result)])?;
                println!("plots: {}", written.join(", "));
            }
            Ok(result.exactly_one_outcome_each)
        }
        What::Fanout(args) => {
            let result = fanout::run(&args).await?;
            println!("{}", serde_json::to_string_pretty(&result)?);
            Ok(true)
        }
        What::Suite(args) => suite::run(args).await,
    }
}
