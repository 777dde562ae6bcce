//! The Vane server: process wiring, settings, telemetry and the HTTP surface. Runtime behaviour (evaluation,
//! actors, storage) lives in `vane-actors`; data shapes in `vane-schema`.

pub mod admin_auth;
pub mod bootstrap;
pub mod cli;
pub mod error;
pub mod routes;
pub mod settings;
pub mod startup;
pub mod telemetry;

use anyhow::Context as _;

use vane_actors::ingest::amqp::dead_letter;
use vane_schema::wire::message::{END_USERS_QUEUE, INSIGHTS_QUEUE};

use crate::cli::{Cli, Command};
use crate::settings::Settings;
use crate::startup::Application;

/// Runs the commands that need no runtime or telemetry (`health`, `ready`, `config`); `None` for the others.
pub fn run_tool(cli: &Cli, settings: &Settings) -> Option<std::process::ExitCode> {
    let url = || cli.url.clone().unwrap_or_else(|| cli::probe::local_url(&settings.http.addr));
    let code = match cli.command? {
        Command::Health => match cli::probe::readiness(&url()) {
            Ok((status, body)) => {
                println!("{status} {body}");
                status == 200
            }
            Err(e) => {
                eprintln!("vane: {}: {e}", url());
                false
            }
        },
        Command::Ready => matches!(cli::probe::readiness(&url()), Ok((200, _))),
        Command::Config => {
            // `SecretString` prints as `[REDACTED]`: URLs with passwords, tokens and keys never reach the output.
            println!("{settings:#?}");
            true
        }
        Command::Serve | Command::Migrate | Command::Secrets | Command::ReplayDeadLetters => return None,
    };
    Some(if code { std::process::ExitCode::SUCCESS } else { std::process::ExitCode::FAILURE })
}

/// Runs one CLI command to completion.
pub async fn run(cli: &Cli, settings: Settings) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Health | Command::Ready | Command::Config => Ok(()),
        Command::Serve => {
            let app = Application::build_with(settings, !cli.no_migrate).await?;
            app.run_until_stopped().await.context("HTTP server")
        }
        Command::Migrate => {
            let store = startup::connect_store(&settings).await?;
            let pending = store.pending_migrations().await?;
            store.migrate().await.context("applying migrations")?;
            println!("applied {} migration(s): {}", pending.len(), pending.join(", "));
            Ok(())
        }
        Command::Secrets => {
            let store = startup::connect_store(&settings).await?;
            store.migrate().await.context("applying migrations")?;
            bootstrap::print_secrets(&store, &settings).await
        }
        Command::ReplayDeadLetters => {
            let amqp = startup::amqp_ingest_config(&settings).context("replay needs bus.amqp_url (cluster mode)")?;
            for queue in [END_USERS_QUEUE, INSIGHTS_QUEUE] {
                let moved = dead_letter::replay(&amqp, queue).await.with_context(|| format!("replaying {queue}"))?;
                println!("{queue}: {moved} dead-lettered message(s) moved back");
            }
            Ok(())
        }
    }
}
