use std::process::ExitCode;

use clap::Parser;
use ledgerline::{Application, Target};
use ledgerline_bus::Bus;
use ledgerline_runtime::{Config, Shutdown, wait_for_signal};

/// mimalloc instead of glibc's malloc: at 1,000 commands/s glibc's
/// `malloc`/`free` (and its consolidation of freed chunks) took about a
/// seventh of the process's CPU, spread over many small short-lived
/// buffers (frames, JSON, rows) freed on another thread than the one that
/// made them.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Ledgerline: run any set of its services.
#[derive(Parser)]
#[command(name = "ledgerline", version)]
struct Cli {
    /// What to run: `all`, or any of the services; `cleanup-streams` deletes
    /// this prefix's JetStream streams.
    #[arg(value_enum, default_value = "all")]
    targets: Vec<Target>,
    #[command(flatten)]
    config: Config,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let service = match cli.targets.as_slice() {
        [one] if *one != Target::All => format!("{one:?}"),
        _ => "ledgerline".to_owned(),
    };
    let _telemetry = ledgerline_telemetry::init(&service);
    let result = if cli.targets.contains(&Target::CleanupStreams) {
        cleanup_streams(&cli.config).await
    } else {
        serve(cli).await
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error:#}");
            eprintln!("ledgerline: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(cli: Cli) -> anyhow::Result<()> {
    let shutdown = Shutdown::new();
    let app = Application::build(cli.config.clone(), &cli.targets, shutdown.clone()).await?;
    let host = cli.config.http_addr.ip();
    println!("ledgerline listening on http://{host}:{}", app.port());
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutting down: finishing in-flight work");
        shutdown.cancel();
    });
    app.run().await
}

async fn cleanup_streams(config: &Config) -> anyhow::Result<()> {
    let bus = Bus::connect(
        &config.nats_url,
        &config.nats_prefix,
        config.command_partitions,
    )
    .await?;
    bus.delete_streams().await?;
    println!("deleted the {} streams", config.nats_prefix);
    Ok(())
}
