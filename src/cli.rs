//! Command line: process-level flags and subcommands only; everything else is in the settings tree.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Vane — a FeatBit-compatible feature-flag evaluation server. Point unmodified FeatBit SDKs at it.
///
/// Configuration: compiled-in defaults, then `--config FILE`, then `VANE__SECTION__KEY` environment variables
/// (e.g. VANE__HTTP__ADDR, VANE__DATABASE__URL, VANE__BUS__AMQP_URL, VANE__CACHE__REDIS_URL,
/// VANE__CACHE__KEY_PREFIX, VANE__ADMIN__TOKEN). With none, Vane runs embedded: SQLite, in-process bus and cache.
#[derive(Debug, Parser)]
#[command(name = "vane", version, about, long_about)]
pub struct Cli {
    /// A TOML file layered over the defaults (see config/cluster.toml).
    #[arg(long, short, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// What to do; `serve` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Debug, Clone, Copy, Subcommand, PartialEq, Eq)]
pub enum Command {
    /// Run the server (applies pending migrations first). The default.
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print every environment's SDK secrets and the admin token, then exit.
    Secrets,
    /// Move every dead-lettered ingestion message (RabbitMQ `featbit-*.dead-letter` queues) back into its queue,
    /// e.g. once every node runs a version that reads them; prints how many moved.
    ReplayDeadLetters,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn no_subcommand_means_serve() {
        let cli = Cli::parse_from(["vane"]);
        assert_eq!(cli.command.unwrap_or(Command::Serve), Command::Serve);
        let cli = Cli::parse_from(["vane", "migrate", "--config", "x.toml"]);
        assert_eq!(cli.command, Some(Command::Migrate));
        assert_eq!(cli.config.as_deref(), Some(std::path::Path::new("x.toml")));
    }
}
