//! `vane-load`: Vane's own load tool. It drives a running node the way SDK fleets do and measures what users feel.
//!
//! `vane-load fanout --url http://127.0.0.1:5100 --admin-token T --sessions 10000 --changes 20` opens that many
//! client-SDK WebSocket sessions (distinct users, full data-sync each), then changes a flag through the management
//! API and measures, per change, the time from the REST call to each session's receipt of the re-evaluated flag:
//! p50/p99/max over all (change, session) pairs. Every loop is bounded in count and time and it targets only the
//! URL given (use a loopback address).

mod fanout;
mod stats;

use std::time::Duration;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "vane-load", about = "Load tool for Vane nodes")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// REST change → push latency over many client sessions.
    Fanout(fanout::Args),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Fanout(args) => {
            let report = tokio::time::timeout(Duration::from_secs(args.max_seconds), fanout::run(&args)).await??;
            println!("{report}");
        }
    }
    Ok(())
}
