//! `vane-bench`: Vane's benchmark tool. It drives any FeatBit-compatible node as real SDK fleets do and writes what
//! it measured as JSON (`--json FILE`) and a short report on stdout.
//!
//! One subcommand per scenario (each in its own module): `storm` (connection storm), `held` (idle sessions and the
//! server's RSS slope), `fanout` (change → every client session), `large` (3,000-flag environment, reconnect storm),
//! `ingest` (track → broker → Postgres, loss counted in the database) and `polling` (`latest-all`). Every loop is
//! bounded in count and time, and only the URL given is targeted (use a loopback address). The tool raises its own
//! open-file limit to the hard limit, spreads sockets over several loopback source addresses, and `--procs N`
//! splits throughput scenarios over N processes (it re-executes itself and merges the summaries).

mod admin;
mod common;
mod fanout;
mod fixtures;
mod held;
mod hist;
mod http;
mod ingest;
mod large;
mod net;
mod polling;
mod procs;
mod raw;
mod sdk;
mod server;
mod storm;
mod summary;

use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::common::Common;
use crate::summary::Summary;

#[derive(Debug, Parser)]
#[command(name = "vane-bench", about = "Benchmark tool for FeatBit-compatible evaluation servers")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Connection storm: connect, data-sync, full reply, close; rate and latency.
    Storm(Scenario<storm::Args>),
    /// Idle server sessions held with pings; the server's RSS per session from several sizes.
    Held(Scenario<held::Args>),
    /// REST change → push latency over many client sessions with distinct users.
    Fanout(Scenario<fanout::Args>),
    /// 3,000-flag environment: many server sessions full-syncing at once, and client sync latency.
    Large(Scenario<large::Args>),
    /// Track events over HTTP until stored in Postgres; loss counted in the database.
    Ingest(Scenario<ingest::Args>),
    /// `latest-all` polling throughput.
    Polling(Scenario<polling::Args>),
}

/// A scenario's own options and the common ones.
#[derive(Debug, clap::Args)]
struct Scenario<A: clap::Args> {
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    args: A,
}

async fn dispatch(command: &Command) -> anyhow::Result<Summary> {
    match command {
        Command::Storm(s) => storm::run(&s.common, &s.args).await,
        Command::Held(s) => held::run(&s.common, &s.args).await,
        Command::Fanout(s) => fanout::run(&s.common, &s.args).await,
        Command::Large(s) => large::run(&s.common, &s.args).await,
        Command::Ingest(s) => ingest::run(&s.common, &s.args).await,
        Command::Polling(s) => polling::run(&s.common, &s.args).await,
    }
}

fn common(command: &Command) -> &Common {
    match command {
        Command::Storm(s) => &s.common,
        Command::Held(s) => &s.common,
        Command::Fanout(s) => &s.common,
        Command::Large(s) => &s.common,
        Command::Ingest(s) => &s.common,
        Command::Polling(s) => &s.common,
    }
}

/// Whether a scenario's work splits into independent shares (the others need one process to coordinate).
fn splits(command: &Command) -> bool {
    matches!(command, Command::Storm(_) | Command::Ingest(_) | Command::Polling(_))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let common = common(&cli.command);
    common::raise_nofile();
    let limit = Duration::from_secs(common.max_seconds);
    let summary = if common.procs > 1 && procs::part().is_none() {
        anyhow::ensure!(splits(&cli.command), "--procs applies to storm, ingest and polling only");
        // The parent watches the server over the whole run; the parts only saw their own share of it.
        let sampler = server::Sampler::start(common.server_pid);
        let mut merged = tokio::time::timeout(limit, procs::run_split(common.procs)).await??;
        merged.server = sampler.map(server::Sampler::finish);
        merged
    } else {
        tokio::time::timeout(limit, dispatch(&cli.command)).await??
    };
    let summary = summary.finish(procs::out_path().as_deref().or(common.json.as_deref()))?;
    if procs::part().is_none() {
        print!("{}", summary.report());
    }
    Ok(())
}
